//! Hostile repositories, scan side: deep nesting, special files, odd line endings, escape
//! sequences, broken configuration. Every test builds the repository in a temp dir and runs
//! the real binary, whose exit code must be 0, 1 or 2.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{git, repo, write};

/// How long any run may take: these repositories are small, so a run past it hangs.
const TIMEOUT: Duration = Duration::from_secs(60);

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(args)
        .arg(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run flask-harden");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let Ok(out) = rx.recv_timeout(TIMEOUT) else {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        panic!("{args:?} still running after {TIMEOUT:?}: it hangs");
    };
    let out = out.expect("output");
    let code = out.status.code().unwrap_or(-1);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        (0..=2).contains(&code),
        "{args:?} exited with {code} (or a signal): {stderr}"
    );
    (code, stdout, stderr)
}

fn commit_all(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
}

const APP: &str = "from flask import Flask\n\napp = Flask(__name__)\napp.secret_key = \"dev\"\n";

fn diagnostics(json: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or("").to_string(),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Deep nesting at several depths, of every kind: files past CPython's limits are diagnostics,
/// files below them are analysed, and `check`, `fix` and `report` finish with 0, 1 or 2.
#[test]
fn deep_nesting_is_a_diagnostic_at_every_depth() {
    let dir = repo(&[("app.py", APP)]);
    let p = dir.path();
    let mut refused = Vec::new();
    let mut analysed = Vec::new();
    for n in [500, 990, 5_000, 40_000] {
        let files = [
            (
                format!("chain_{n}.py"),
                format!("x = {}\n", vec!["a"; n].join("+")),
            ),
            (format!("attr_{n}.py"), format!("x = a{}\n", ".b".repeat(n))),
            (format!("unary_{n}.py"), format!("x = {}a\n", "-".repeat(n))),
            (
                format!("not_{n}.py"),
                format!("x = {}a\n", "not ".repeat(n)),
            ),
        ];
        for (name, text) in files {
            write(p, &name, text.as_bytes());
            if n < 1000 {
                analysed.push(name)
            } else {
                refused.push(name)
            }
        }
    }
    for n in [150, 50_000] {
        let files = [
            (
                format!("lists_{n}.py"),
                format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
            ),
            (
                format!("dicts_{n}.py"),
                format!("x = {}{}\n", "{".repeat(n), "}".repeat(n)),
            ),
            (
                format!("calls_{n}.py"),
                format!("x = {}1{}\n", "f(".repeat(n), ")".repeat(n)),
            ),
        ];
        for (name, text) in files {
            write(p, &name, text.as_bytes());
            if n < 200 {
                analysed.push(name)
            } else {
                refused.push(name)
            }
        }
    }
    commit_all(p);
    let (code, out, _) = run(p, &["check", "--format", "json"]);
    assert_eq!(code, 1, "the secret key still fails: the rest was scanned");
    let diags = diagnostics(&out);
    for name in &refused {
        assert!(
            diags
                .iter()
                .any(|(path, m)| path == name && m.contains("nested")),
            "{name}: {diags:?}"
        );
    }
    for name in &analysed {
        assert!(
            !diags.iter().any(|(path, _)| path == name),
            "{name}: {diags:?}"
        );
    }
    let (code, out, _) = run(p, &["check"]);
    assert_eq!(code, 1);
    assert!(out.contains("too many nested parentheses"), "{out}");
    let (code, out, _) = run(p, &["fix"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("secret-key"), "{out}");
    let (code, out, _) = run(p, &["report", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(out.contains("secret-key"), "{out}");
}

/// Jinja nests without limit in the text; the template front end reads it without recursion.
#[test]
fn deeply_nested_templates_are_scanned() {
    let n = 50_000;
    let template = format!(
        "{}{{{{ bio|safe }}}}{}\n{}x{}\n",
        "{% if a %}".repeat(n),
        "{% endif %}".repeat(n),
        "{{ (".repeat(n),
        ") }}".repeat(n)
    );
    let app = format!(
        "{APP}\n@app.route('/')\ndef index():\n    return render_template('index.html', bio=request.args['b'])\n"
    );
    let dir = repo(&[("app.py", &app), ("templates/index.html", &template)]);
    commit_all(dir.path());
    let (code, out, _) = run(dir.path(), &["check", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(out.contains("xss/safe-filter"), "{out}");
}

/// FIFOs where the scan expects source files, templates, dependency and env files: listed as
/// diagnostics, never opened, and the scan finishes.
#[cfg(unix)]
#[test]
fn fifos_are_not_opened() {
    let dir = repo(&[("app.py", APP), ("templates/base.html", "<p>{{ x }}</p>\n")]);
    let p = dir.path();
    let fifos = [
        "views.py",
        "templates/x.html",
        "requirements.txt",
        ".env",
        "pyproject.toml",
    ];
    for f in fifos {
        let status = Command::new("mkfifo")
            .arg(p.join(f))
            .status()
            .expect("mkfifo");
        assert!(status.success());
    }
    let (code, out, err) = run(p, &["check", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let diags = diagnostics(&out);
    for f in fifos {
        assert!(
            diags
                .iter()
                .any(|(path, m)| path == f && m.contains("not a regular file")),
            "{f}: {diags:?}"
        );
    }
    assert!(out.contains("secret-key/placeholder"), "{out}");
    let (code, _, _) = run(p, &["check"]);
    assert_eq!(code, 1);
    // A FIFO in place of the configuration file is an error, not a hang.
    let status = Command::new("mkfifo")
        .arg(p.join("flask-harden.toml"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let (code, _, err) = run(p, &["check"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("flask-harden.toml") && err.contains("not a regular file"),
        "{err}"
    );
}

/// A broken pyproject.toml that does not configure flask-harden stops only what needs it; a
/// binary or non-UTF-8 flask-harden.toml is an error.
#[test]
fn broken_configuration_files() {
    let dir = repo(&[
        ("app.py", APP),
        ("pyproject.toml", "[project\nname = = 1\n"),
    ]);
    let p = dir.path();
    let (code, out, err) = run(p, &["check", "--format", "json"]);
    assert_eq!(code, 1, "the scan ran: {err}");
    assert!(out.contains("secret-key/placeholder"), "{out}");
    assert!(
        diagnostics(&out)
            .iter()
            .any(|(path, m)| path == "pyproject.toml" && m.contains("default settings")),
        "{out}"
    );
    write(p, "pyproject.toml", b"[tool.flask-harden]\ndisable = [\n");
    let (code, _, err) = run(p, &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("pyproject.toml"), "{err}");
    write(p, "pyproject.toml", b"[project]\nname = \"x\"\n");
    for bytes in [
        &b"\x7fELF\x02\x01\x01\x00\x00"[..],
        b"disable = [\"\xe9\"]\n",
    ] {
        write(p, "flask-harden.toml", bytes);
        let (code, _, err) = run(p, &["check"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("flask-harden.toml"), "{err}");
    }
}
