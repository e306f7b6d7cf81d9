//! The user's repository is untrusted input: broken files become diagnostics, the scan goes
//! on, nothing outside the repository is read.

mod common;

use common::{repo, scan_dir, summary, write};

#[test]
fn python2_and_non_utf8_files_are_diagnostics_not_crashes() {
    let r = repo(&[
        (
            "legacy.py",
            "print 'hello'\nexcept Exception, e:\n    pass\n",
        ),
        ("broken.py", "def f(:\n    pass\n"),
        (
            "app.py",
            "from flask import Flask\napp = Flask(__name__)\napp.secret_key = 'dev'\n",
        ),
    ]);
    write(r.path(), "latin1.py", b"# caf\xe9\nx = '\xe9'\n");
    let result = scan_dir(r.path());
    let diag = |p: &str| {
        result
            .diagnostics
            .iter()
            .find(|d| d.path == p)
            .map(|d| d.message.clone())
            .unwrap_or_default()
    };
    assert!(
        diag("legacy.py").contains("Python 2"),
        "{}",
        diag("legacy.py")
    );
    assert!(
        diag("broken.py").contains("syntax error at line 1"),
        "{}",
        diag("broken.py")
    );
    assert!(diag("latin1.py").contains("UTF-8"), "{}", diag("latin1.py"));
    // The rest of the repository is still scanned.
    assert_eq!(
        summary(&result),
        vec![
            "headers/missing@app.py:2",
            "secret-key/placeholder@app.py:3"
        ]
    );
}

#[test]
fn huge_files_are_skipped_with_a_diagnostic() {
    let r = repo(&[("app.py", "from flask import Flask\napp = Flask(__name__)\n")]);
    let big = "x = 1\n".repeat(800_000);
    write(r.path(), "generated.py", big.as_bytes());
    let result = scan_dir(r.path());
    assert!(
        result
            .diagnostics
            .iter()
            .any(|d| d.path == "generated.py" && d.message.contains("too large"))
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_repository_are_not_followed() {
    let outside = repo(&[(
        "secret.py",
        "from flask import Flask\napp = Flask(__name__)\napp.secret_key = 'dev'\n",
    )]);
    let r = repo(&[("app.py", "from flask import Flask\napp = Flask(__name__)\n")]);
    std::os::unix::fs::symlink(outside.path().join("secret.py"), r.path().join("linked.py"))
        .expect("symlink");
    std::os::unix::fs::symlink(outside.path(), r.path().join("linked_dir")).expect("symlink");
    let result = scan_dir(r.path());
    // Only what app.py itself lacks: nothing of the linked file.
    assert_eq!(summary(&result), vec!["headers/missing@app.py:2"]);
    assert!(
        result
            .diagnostics
            .iter()
            .any(|d| d.path == "linked.py" && d.message.contains("outside"))
    );
}

#[test]
fn virtualenvs_and_ignored_folders_are_skipped() {
    let r = repo(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (".gitignore", "generated/\n"),
        (
            "generated/bad.py",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
        ),
        (
            "venv/lib/python3.11/site-packages/x.py",
            "app.run(debug=True)\n",
        ),
        ("env/pyvenv.cfg", "home = /usr\n"),
        (
            "env/lib/y.py",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
        ),
        (
            "node_modules/z.py",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
        ),
    ]);
    let result = scan_dir(r.path());
    assert!(
        summary(&result).iter().all(|s| !s.starts_with("debug/")),
        "{:?}",
        summary(&result)
    );
}

#[test]
fn a_missing_path_is_an_error() {
    let err = flask_harden::scan::scan(
        std::path::Path::new("/definitely/not/here"),
        &flask_harden::scan::ScanOptions::default(),
    )
    .expect_err("missing path");
    assert!(err.to_string().contains("no such directory"));
}
