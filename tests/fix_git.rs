//! Fixes end to end on real git repositories in temporary folders, checked with the git
//! command line and CPython.

use std::fs;
use std::path::Path;
use std::process::Command;

use flask_harden::fix::{Applicability, FixOptions, FixRun, Snapshot, offer_key, plan_fixes};
use flask_harden::git::{GitError, GitRepo, Stage};
use tempfile::TempDir;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const APP: &str = "from flask import Flask\n\napp = Flask(__name__)\napp.config.from_object(\"config.ProductionConfig\")\n\n\n@app.route(\"/\")\ndef index():\n    return \"hi\"\n\n\nif __name__ == \"__main__\":\n    app.run(host='0.0.0.0', debug=True)\n";
const CONFIG: &str = "import os\n\n\nclass Config:\n    SECRET_KEY = os.environ[\"SECRET_KEY\"]\n\n\nclass ProductionConfig(Config):\n    DEBUG = True\n    TESTING = False\n\n\nclass DevelopmentConfig(Config):\n    DEBUG = True\n";

/// A repository with a first commit holding `files`.
fn repo(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["config", "user.name", "Test"]);
    git(p, &["config", "user.email", "test@example.com"]);
    git(p, &["config", "core.autocrlf", "false"]);
    for (rel, text) in files {
        write(p, rel, text);
    }
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "first"]);
    dir
}

/// The items whose fixes these tests follow through git (the deployment items, which also
/// fix these small apps, have tests/deploy_items.rs).
fn options() -> FixOptions {
    FixOptions {
        items: [
            "secret-key",
            "debug",
            "xss",
            "csrf",
            "session",
            "dependencies",
            "input-validation",
        ]
        .map(String::from)
        .to_vec(),
        ..FixOptions::default()
    }
}

fn head_run(dir: &Path) -> (GitRepo, FixRun) {
    let repo = GitRepo::open(dir).unwrap();
    let snap = repo.head_snapshot().unwrap();
    let run = plan_fixes(snap, &options()).unwrap();
    (repo, run)
}

fn stages(run: &FixRun) -> Vec<Stage> {
    run.items
        .iter()
        .map(|i| Stage {
            message: i.commit_message(),
            changes: i.changes.clone(),
        })
        .collect()
}

fn py_compiles(dir: &Path, rel: &str) {
    if Command::new("python3").arg("--version").output().is_err() {
        return;
    }
    let out = Command::new("python3")
        .args(["-I", "-m", "py_compile"])
        .arg(dir.join(rel))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Everything the user has that a commit must not change.
fn user_state(dir: &Path) -> (String, String, String, String, Vec<u8>, String) {
    (
        git(dir, &["status", "--porcelain=v1", "--untracked-files=all"]),
        git(dir, &["diff"]),
        git(dir, &["diff", "--cached"]),
        git(dir, &["rev-parse", "HEAD"]),
        fs::read(dir.join(".git/index")).unwrap(),
        git(dir, &["symbolic-ref", "-q", "HEAD"]),
    )
}

#[test]
fn debug_fixes_remove_the_findings_and_compile() {
    let dir = repo(&[("app.py", APP), ("config.py", CONFIG)]);
    let (_, run) = head_run(dir.path());
    let debug = run.items.iter().find(|i| i.item == "debug").unwrap();
    assert_eq!(debug.applied.len(), 2, "{:#?}", debug.rejected);
    assert!(debug.remaining.is_empty(), "{:?}", debug.remaining);
    let app = run.result.get("app.py").unwrap();
    assert!(app.contains("    app.run(host='0.0.0.0')\n"), "{app}");
    let config = run.result.get("config.py").unwrap();
    assert!(
        config.contains("class ProductionConfig(Config):\n    TESTING = False\n"),
        "{config}"
    );
    assert!(
        config.contains("class DevelopmentConfig(Config):\n    DEBUG = True\n"),
        "the development config keeps its debug mode"
    );
    // Every finding fixed has a verified fix to report.
    let available = run.availability();
    for f in run.findings_before.iter().filter(|f| f.item() == "debug") {
        let a = available.get(&offer_key(f)).expect("a verified fix");
        assert_eq!(a.applicability, Applicability::Safe);
    }
    let out = TempDir::new().unwrap();
    run.result.materialize(out.path()).unwrap();
    py_compiles(out.path(), "app.py");
    py_compiles(out.path(), "config.py");
}

#[test]
fn fixing_a_fixed_tree_changes_nothing() {
    let dir = repo(&[("app.py", APP), ("config.py", CONFIG)]);
    let (_, run) = head_run(dir.path());
    assert!(!run.is_empty());
    let again = plan_fixes(run.result.clone(), &options()).unwrap();
    assert!(again.is_empty(), "{:#?}", again.changes());
    assert_eq!(again.result, run.result);
}

#[test]
fn crlf_files_stay_crlf_and_import_os_is_added_once() {
    // Two calls in one file both need `import os`: the second plan conflicts with the first,
    // is regenerated against the new text, and does not import os again.
    let run_py = "from flask import Flask\r\napp = Flask(__name__)\r\nif app:\r\n    app.run('0.0.0.0', 5000, True)\r\nelse:\r\n    app.run('127.0.0.1', 5001, True)\r\n";
    let dir = repo(&[("run.py", run_py)]);
    let (_, run) = head_run(dir.path());
    let debug = run.items.iter().find(|i| i.item == "debug").unwrap();
    assert_eq!(debug.applied.len(), 2, "{:#?}", debug.rejected);
    let text = run.result.get("run.py").unwrap();
    assert_eq!(
        text,
        "from flask import Flask\r\nimport os\r\napp = Flask(__name__)\r\nif app:\r\n    app.run('0.0.0.0', 5000, os.environ.get('FLASK_DEBUG') == '1')\r\nelse:\r\n    app.run('127.0.0.1', 5001, os.environ.get('FLASK_DEBUG') == '1')\r\n"
    );
    assert_eq!(text.matches("import os").count(), 1);
}

#[test]
fn config_keyword_is_flipped_and_inherited_base_is_unsafe() {
    let app = "from flask import Flask\napp = Flask(__name__)\napp.config.update(DEBUG=True, TESTING=False)\n";
    let config = "class Config:\n    DEBUG = True\n    X = 1\n\nclass ProductionConfig(Config):\n    pass\n\nclass DevelopmentConfig(Config):\n    pass\n";
    let factory = "from flask import Flask\ndef create_app():\n    app = Flask(__name__)\n    app.config.from_object('settings.ProductionConfig')\n    return app\n";
    let dir = repo(&[
        ("app.py", app),
        ("settings.py", config),
        ("factory.py", factory),
    ]);
    let (_, run) = head_run(dir.path());
    let debug = run.items.iter().find(|i| i.item == "debug").unwrap();
    let fixed = run.result.get("app.py").unwrap();
    assert!(
        fixed.contains("app.config.update(DEBUG=False, TESTING=False)"),
        "{fixed}"
    );
    assert_eq!(
        run.result.get("settings.py"),
        Some(config),
        "unsafe fix held back"
    );
    assert_eq!(debug.needs_unsafe.len(), 1, "{debug:#?}");
    assert!(debug.needs_unsafe[0].title.contains("DevelopmentConfig"));

    let with_unsafe = FixOptions {
        include_unsafe: true,
        ..options()
    };
    let snap = GitRepo::open(dir.path()).unwrap().head_snapshot().unwrap();
    let run = plan_fixes(snap, &with_unsafe).unwrap();
    assert!(!run.result.get("settings.py").unwrap().contains("DEBUG"));
}

#[test]
fn commit_builds_from_head_and_leaves_the_user_state_alone() {
    let dir = repo(&[
        ("app.py", APP),
        ("config.py", CONFIG),
        ("README.md", "hi\n"),
    ]);
    let p = dir.path();
    // Uncommitted work: an edit in a file the fix touches, a staged edit, an untracked file.
    fs::write(p.join("app.py"), format!("{APP}# work in progress\n")).unwrap();
    fs::write(p.join("README.md"), "hello\n").unwrap();
    git(p, &["add", "README.md"]);
    write(p, "notes.txt", "untracked\n");
    let before = user_state(p);

    let (repo, run) = head_run(p);
    let done = repo.commit_stages("hardening", &stages(&run)).unwrap();
    assert_eq!(done.commits.len(), 1);
    assert_eq!(
        user_state(p),
        before,
        "status, diffs, HEAD and index unchanged"
    );

    let log = git(p, &["log", "--format=%s", "hardening"]);
    assert_eq!(
        log,
        "harden(debug): stop switching debug mode on in 2 places\nfirst\n"
    );
    let body = git(p, &["log", "-1", "--format=%b", "hardening"]);
    assert!(body.contains("fixes debug/app-run at app.py:13"), "{body}");
    let committed = git(p, &["show", "hardening:app.py"]);
    assert!(
        !committed.contains("work in progress"),
        "the dirty tree leaked"
    );
    assert!(committed.contains("app.run(host='0.0.0.0')"));
    assert_eq!(git(p, &["show", "hardening:README.md"]), "hi\n");
    assert_eq!(
        git(p, &["diff", "--name-only", "main", "hardening"]),
        "app.py\nconfig.py\n"
    );
    // The same name again is an error; the default name gets a suffix.
    assert!(matches!(
        repo.commit_stages("hardening", &stages(&run)),
        Err(GitError::BranchExists(_))
    ));
    let first = repo.default_branch_name();
    repo.commit_stages(&first, &stages(&run)).unwrap();
    assert_eq!(repo.default_branch_name(), format!("{first}-2"));
    assert!(matches!(
        repo.commit_stages("bad..name", &stages(&run)),
        Err(GitError::InvalidBranch { .. })
    ));
    for bad in [
        "HEAD", "-x", "a b", "x.lock", "a/.b", "a@{1}", "x/", "a\x1b[0m",
    ] {
        assert!(matches!(
            repo.commit_stages(bad, &stages(&run)),
            Err(GitError::InvalidBranch { .. })
        ));
    }
    assert!(repo.repository().find_reference("refs/heads/HEAD").is_err());
    assert_eq!(user_state(p), before);
}

#[test]
fn detached_head_commits_from_that_commit() {
    let dir = repo(&[("app.py", APP)]);
    let p = dir.path();
    write(p, "later.py", "x = 1\n");
    git(p, &["add", "later.py"]);
    git(p, &["commit", "-q", "-m", "second"]);
    git(p, &["checkout", "-q", "--detach", "HEAD~1"]);
    let repo = GitRepo::open(p).unwrap();
    assert_eq!(repo.head().unwrap().branch, None);
    let before = (
        git(p, &["status", "--porcelain=v1"]),
        git(p, &["rev-parse", "HEAD"]),
        fs::read(p.join(".git/index")).unwrap(),
    );
    let run = plan_fixes(repo.head_snapshot().unwrap(), &options()).unwrap();
    repo.commit_stages("fixes", &stages(&run)).unwrap();
    assert_eq!(
        git(p, &["log", "--format=%s", "fixes"]).lines().nth(1),
        Some("first")
    );
    let after = (
        git(p, &["status", "--porcelain=v1"]),
        git(p, &["rev-parse", "HEAD"]),
        fs::read(p.join(".git/index")).unwrap(),
    );
    assert_eq!(after, before);
}

#[test]
fn clear_errors_for_missing_repo_unborn_head_and_merges() {
    let plain = TempDir::new().unwrap();
    assert!(matches!(
        GitRepo::open(plain.path()),
        Err(GitError::NotARepository(_))
    ));
    // Without a repository the fixes can still be shown, built from the files on disk.
    write(plain.path(), "app.py", APP);
    let run = plan_fixes(Snapshot::from_dir(plain.path()).unwrap(), &options()).unwrap();
    assert!(!run.is_empty());

    let unborn = TempDir::new().unwrap();
    git(unborn.path(), &["init", "-q"]);
    let repo = GitRepo::open(unborn.path()).unwrap();
    assert!(matches!(repo.head(), Err(GitError::UnbornHead)));
    assert!(matches!(repo.head_snapshot(), Err(GitError::UnbornHead)));

    let dir = repo_with_conflict();
    let p = dir.path();
    let repo = GitRepo::open(p).unwrap();
    assert!(matches!(
        repo.ensure_no_operation_in_progress(),
        Err(GitError::InProgress("merge"))
    ));
    let run = plan_fixes(repo.head_snapshot().unwrap(), &options()).unwrap();
    assert!(matches!(
        repo.commit_stages("x", &stages(&run)),
        Err(GitError::InProgress("merge"))
    ));
    assert!(matches!(
        repo.apply_to_worktree(&run.changes()),
        Err(GitError::InProgress("merge"))
    ));
}

fn repo_with_conflict() -> TempDir {
    let dir = repo(&[("app.py", APP), ("notes.txt", "a\n")]);
    let p = dir.path();
    git(p, &["checkout", "-q", "-b", "other"]);
    fs::write(p.join("notes.txt"), "b\n").unwrap();
    git(p, &["commit", "-q", "-am", "b"]);
    git(p, &["checkout", "-q", "main"]);
    fs::write(p.join("notes.txt"), "c\n").unwrap();
    git(p, &["commit", "-q", "-am", "c"]);
    let status = Command::new("git")
        .args(["merge", "-q", "other"])
        .current_dir(p)
        .output()
        .unwrap();
    assert!(!status.status.success(), "the merge conflicts");
    dir
}

#[test]
fn apply_writes_the_working_tree_and_refuses_dirty_files() {
    let run_py =
        "from flask import Flask\r\napp = Flask(__name__)\r\napp.run('0.0.0.0', 5000, True)\r\n";
    let dir = repo(&[("app.py", APP), ("config.py", CONFIG), ("run.py", run_py)]);
    let p = dir.path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p.join("run.py"), fs::Permissions::from_mode(0o755)).unwrap();
        git(p, &["add", "run.py"]);
        git(p, &["commit", "-q", "-m", "executable"]);
    }
    // A dirty file the fixes touch: nothing at all is written.
    fs::write(p.join("config.py"), format!("{CONFIG}# mine\n")).unwrap();
    let before = user_state(p);
    let (repo, run) = head_run(p);
    let err = repo.apply_to_worktree(&run.changes()).unwrap_err();
    assert!(
        matches!(&err, GitError::Refused { path, .. } if path == "config.py"),
        "{err}"
    );
    assert_eq!(user_state(p), before, "nothing half-written");
    assert_eq!(fs::read_to_string(p.join("app.py")).unwrap(), APP);

    // A locked index is refused too.
    git(p, &["checkout", "--", "config.py"]);
    fs::write(p.join(".git/index.lock"), "").unwrap();
    assert!(matches!(
        repo.apply_to_worktree(&run.changes()),
        Err(GitError::IndexLocked(_))
    ));
    fs::remove_file(p.join(".git/index.lock")).unwrap();

    let index_before = fs::read(p.join(".git/index")).unwrap();
    repo.apply_to_worktree(&run.changes()).unwrap();
    let status = git(p, &["status", "--porcelain=v1"]);
    assert_eq!(status, " M app.py\n M config.py\n M run.py\n");
    assert_eq!(git(p, &["diff", "--cached"]), "", "nothing staged");
    assert_eq!(fs::read(p.join(".git/index")).unwrap(), index_before);
    let written = fs::read_to_string(p.join("run.py")).unwrap();
    assert!(written.contains("import os\r\n"), "{written:?}");
    assert_eq!(
        written.matches('\n').count(),
        written.matches("\r\n").count()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(p.join("run.py")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "the file mode is kept");
    }
    py_compiles(p, "run.py");
    // No temporary files left behind.
    let leftovers: Vec<_> = fs::read_dir(p)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".flask-harden-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn cli_fix_prints_diffs_and_commits() {
    let dir = repo(&[("app.py", APP), ("config.py", CONFIG)]);
    let p = dir.path();
    let before = user_state(p);
    let bin = env!("CARGO_BIN_EXE_flask-harden");
    let out = Command::new(bin).arg("fix").arg(p).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-    app.run(host='0.0.0.0', debug=True)\n+    app.run(host='0.0.0.0')\n"),
        "{text}"
    );
    let out = Command::new(bin)
        .args([
            "fix",
            "--commit",
            "--branch",
            "hardening",
            "--item",
            "debug",
        ])
        .arg(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(user_state(p), before);
    assert!(git(p, &["log", "--format=%s", "-1", "hardening"]).starts_with("harden(debug): "));

    let plain = TempDir::new().unwrap();
    let out = Command::new(bin)
        .args(["fix", "--apply"])
        .arg(plain.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}
