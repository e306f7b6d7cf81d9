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

/// A `python3` in the repository, reachable through an empty or relative PATH entry or an
/// absolute entry inside the repository, is never run: `fix` uses the real CPython.
#[cfg(unix)]
#[test]
fn the_repository_python3_is_never_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = committed(&[("app.py", APP)]);
    let p = dir.path();
    let marker = p.join("PWNED");
    let shim = format!("#!/bin/sh\ntouch '{}'\nexit 0\n", marker.display());
    for shim_at in ["python3", "bin/python3"] {
        common::write(p, shim_at, shim.as_bytes());
        std::fs::set_permissions(p.join(shim_at), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let path = std::env::var("PATH").unwrap_or_default();
    for path in [
        format!(":{path}"),
        format!(".:{path}"),
        format!("bin:{path}"),
        format!("{}:{path}", p.join("bin").display()),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
            .arg("fix")
            .current_dir(p)
            .env("PATH", &path)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !marker.exists(),
            "the repository's python3 ran with PATH={path}"
        );
    }
    for args in [&["report"][..], &["check", "--format", "sarif"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
            .args(args)
            .current_dir(p)
            .env("PATH", format!(":.:{path}"))
            .output()
            .expect("run");
        assert!(out.status.code().is_some_and(|c| c <= 2));
        assert!(
            !marker.exists(),
            "the repository's python3 ran for {args:?}"
        );
    }
}
