//! Hostile repositories, git side: invalid branch names, locked indexes, bare repositories,
//! odd paths in HEAD's tree. Every test builds a real repository in a temp dir.

mod common;

use std::path::Path;
use std::process::Command;

use common::repo;

pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flask-harden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const APP: &str = "from flask import Flask\n\napp = Flask(__name__)\napp.secret_key = \"dev\"\n\nif __name__ == \"__main__\":\n    app.run(debug=True)\n";

/// A committed repository with an identity configured.
fn committed(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = repo(files);
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["config", "user.name", "T"]);
    git(p, &["config", "user.email", "t@example.com"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "init"]);
    dir
}

fn refs(p: &Path) -> String {
    git(p, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

#[test]
fn invalid_branch_names_are_refused_with_the_rule() {
    let dir = committed(&[("app.py", APP)]);
    let p = dir.path();
    let before = refs(p);
    for (name, words) in [
        ("HEAD", "HEAD"),
        ("-x", "start with -"),
        ("a..b", ".."),
        ("x.lock", ".lock"),
        ("a b", "space"),
        ("a/", "end with /"),
        ("a\x1b]0;pwned\x07", "control"),
    ] {
        let arg = format!("--branch={name}");
        let (code, out, err) = run_in(p, &["fix", "--commit", &arg]);
        assert_eq!(code, 2, "{name:?}: {out}{err}");
        assert!(
            err.contains("not a valid branch name") && err.contains(words),
            "{name:?}: {err}"
        );
        assert!(!err.contains('\x1b'), "{err:?}");
    }
    assert_eq!(refs(p), before, "no ref was created");
}
