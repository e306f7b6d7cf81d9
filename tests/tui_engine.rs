//! The interactive mode's adapter on the real fix engine: plans, commit, and the export of the
//! new branch that the after-commit rescan reads, on a repository opened at a subfolder.

mod common;

use std::path::Path;
use std::process::Command;

use flask_harden::finding::Status;
use flask_harden::scan::{ScanOptions, scan};
use std::collections::BTreeSet;

use flask_harden::tui::fixes::{
    CommitRequest, EngineFixes, FindingNote, FixSource, FixesView, PlanEvent,
};

/// Every item's fix, as the interface receives them one by one.
fn plans(source: &EngineFixes) -> (FixesView, usize) {
    let mut view = FixesView::default();
    let mut started = 0;
    source
        .plans(&mut |event| match event {
            PlanEvent::Started {
                items,
                default_branch,
            } => {
                started = items.len();
                view.default_branch = default_branch;
            }
            PlanEvent::Item(item) => view.items.push(*item),
        })
        .expect("plans");
    (view, started)
}

fn whole(items: &[&str]) -> CommitRequest {
    CommitRequest {
        items: items
            .iter()
            .map(|i| (i.to_string(), BTreeSet::new()))
            .collect(),
        exceptions: Vec::new(),
    }
}

fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        common::write(repo.path(), path, text.as_bytes());
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["config", "user.name", "Test"]);
    git(repo.path(), &["config", "user.email", "test@example.com"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "initial"]);
    repo
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plans_commit_and_export_on_a_subfolder() {
    let repo = tempfile::tempdir().expect("temp dir");
    let web = repo.path().join("web");
    let app = std::fs::read_to_string(common::fixture("single_file").join("app.py")).expect("read");
    common::write(&web, "app.py", app.as_bytes());
    common::write(repo.path(), "README.md", b"not part of the app\n");
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["config", "user.name", "Test"]);
    git(repo.path(), &["config", "user.email", "test@example.com"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "initial"]);
    // Uncommitted work is reported, and never makes it into a fix.
    common::write(&web, "app.py", format!("{app}\n# local edit\n").as_bytes());

    let source = EngineFixes::new(&web);
    let state = source.git_state();
    assert!(state.is_repo && state.dirty && !state.unborn, "{state:?}");

    let (view, started) = plans(&source);
    assert_eq!(started, view.items.len(), "every item reported");
    let debug = view.item("debug").expect("a debug item");
    assert!(debug.has_fix());
    assert!(!debug.is_unsafe());
    assert!(debug.diff.contains("+++ b/web/app.py"), "{}", debug.diff);
    assert!(
        debug.diff.contains("-    app.run(debug=True)"),
        "{}",
        debug.diff
    );
    assert!(!debug.diff.contains("local edit"), "{}", debug.diff);
    assert!(debug.commit_subject.starts_with("harden(debug):"));
    assert!(view.default_branch.starts_with("flask-harden/"));
    let secret = view.item("secret-key").expect("secret-key item");
    assert!(secret.has_fix(), "{secret:?}");
    assert!(
        secret.diff.contains("os.environ[\"SECRET_KEY\"]"),
        "{}",
        secret.diff
    );

    let done = source
        .commit(&whole(&["debug"]), "harden/test")
        .expect("commit");
    assert_eq!(done.branch, "harden/test");
    assert_eq!(done.commits.len(), 1);
    assert_eq!(
        git(repo.path(), &["diff", "--name-only", "main", "harden/test"]).trim(),
        "web/app.py"
    );
    // A second commit on the same branch name is refused, with the reason.
    let err = source
        .commit(&whole(&["debug"]), "harden/test")
        .expect_err("branch exists");
    assert!(err.contains("already exists"), "{err}");

    let out = tempfile::tempdir().expect("temp dir");
    source
        .export_branch("harden/test", out.path())
        .expect("export");
    assert!(
        out.path().join("app.py").is_file(),
        "exported relative to web/"
    );
    assert!(!out.path().join("README.md").exists());
    let after = scan(out.path(), &ScanOptions::default()).expect("scan");
    let status = |id: &str| {
        after
            .items
            .iter()
            .find(|i| i.item.id == id)
            .map(|i| i.status())
    };
    assert_eq!(status("debug"), Some(Status::Pass));
    assert_eq!(status("secret-key"), Some(Status::Fail));
    // The user's files are as they left them.
    assert!(
        std::fs::read_to_string(web.join("app.py"))
            .expect("read")
            .contains("local edit")
    );
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "main"
    );
}

/// One finding of a multi-finding item, committed alone: the branch holds its change only, and
/// the finding's neighbours are still reported on it. A suppression is committed after it.
#[test]
fn one_finding_of_an_item_and_a_suppression() {
    let app = std::fs::read_to_string(common::fixture("single_file").join("app.py")).expect("read");
    let repo = repo_with(&[("app.py", &app)]);
    let source = EngineFixes::new(repo.path());
    let (view, _) = plans(&source);
    let session = view.item("session").expect("session");
    assert!(session.plans.len() >= 2, "{:#?}", session.plans);
    // The set_cookie finding's plan, and every other finding's fingerprint unchecked.
    let target = session
        .findings
        .iter()
        .find(|f| f.rule == "session/set-cookie-flags")
        .expect("set-cookie finding");
    let FindingNote::Fixed { plan } = target.note else {
        panic!("set_cookie has a fix: {target:?}");
    };
    let unchecked: BTreeSet<String> = session
        .findings
        .iter()
        .filter(|f| !matches!(f.note, FindingNote::Fixed { plan: p } if p == plan))
        .map(|f| f.fingerprint.clone())
        .collect();
    let keep = session.kept(&unchecked);
    assert_eq!(keep.iter().filter(|k| **k).count(), 1, "{keep:?}");
    // Every finding has its note; the preview shows only the kept plan's change.
    assert!(session.findings.len() >= 3);
    let preview = session.diff_for(&keep).expect("combines");
    assert!(preview.contains("set_cookie"), "{preview}");
    assert!(!preview.contains("SESSION_COOKIE_SECURE"), "{preview}");

    let request = CommitRequest {
        items: vec![("session".to_string(), unchecked)],
        exceptions: vec![flask_harden::tui::fixes::Exception::Ignore {
            rule: "debug/app-run".into(),
            path: "app.py".into(),
            line: 45,
            code: "    app.run(debug=True)".into(),
            reason: "local development only".into(),
        }],
    };
    let done = source.commit(&request, "harden/one").expect("commit");
    assert_eq!(done.commits.len(), 2, "{done:?}");
    assert!(
        done.commits.iter().all(|(_, s)| s.chars().count() < 72),
        "{done:?}"
    );
    let diff = git(repo.path(), &["diff", "main", "harden/one"]);
    assert!(diff.contains("secure=True"), "{diff}");
    assert!(!diff.contains("SESSION_COOKIE_SECURE"), "{diff}");
    assert!(!diff.contains("session.clear()"), "{diff}");
    assert!(
        diff.contains("+    # flask-harden: ignore[debug/app-run] local development only"),
        "{diff}"
    );
    let out = tempfile::tempdir().expect("temp dir");
    source
        .export_branch("harden/one", out.path())
        .expect("export");
    let after = scan(out.path(), &ScanOptions::default()).expect("scan");
    let rules: Vec<&str> = after
        .items
        .iter()
        .flat_map(|i| &i.outcome.findings)
        .map(|f| f.rule.as_str())
        .collect();
    assert!(!rules.contains(&"session/set-cookie-flags"), "{rules:?}");
    assert!(rules.contains(&"session/cookie-secure"), "{rules:?}");
    assert!(!rules.contains(&"debug/app-run"), "suppressed: {rules:?}");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
    // A clean work tree can switch to the branch.
    source.switch("harden/one").expect("switch");
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "harden/one"
    );
}
