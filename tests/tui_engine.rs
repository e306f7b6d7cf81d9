//! The interactive mode's adapter on the real fix engine: plans, commit, and the export of the
//! new branch that the after-commit rescan reads, on a repository opened at a subfolder.

mod common;

use std::path::Path;
use std::process::Command;

use flask_harden::finding::Status;
use flask_harden::scan::{ScanOptions, scan};
use flask_harden::tui::fixes::{EngineFixes, FixSource};

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

    let view = source.plans().expect("plans");
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
        .commit(&["debug".to_string()], "harden/test")
        .expect("commit");
    assert_eq!(done.branch, "harden/test");
    assert_eq!(done.commits.len(), 1);
    assert_eq!(
        git(repo.path(), &["diff", "--name-only", "main", "harden/test"]).trim(),
        "web/app.py"
    );
    // A second commit on the same branch name is refused, with the reason.
    let err = source
        .commit(&["debug".to_string()], "harden/test")
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
