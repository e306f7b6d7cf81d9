//! Runtime proof: harden the runtime_app fixture with the real binary, then run the app with
//! real Flask (the venv from tests/run.sh, named by FLASK_HARDEN_TEST_PYTHON): its own pytest
//! suite still passes, and probes (tests/runtime/probes.py) show each hardening at work.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const PROBES: &str = include_str!("runtime/probes.py");
const FACTORY_PROBES: &str = include_str!("runtime/factory_probes.py");

fn fixture() -> PathBuf {
    fixture_named("runtime_app")
}

fn fixture_named(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" || name == ".pytest_cache" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

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

fn flask_harden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("flask-harden runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The venv python, or `None` (with a message) when the suite runs without tests/run.sh.
fn test_python() -> Option<PathBuf> {
    match std::env::var_os("FLASK_HARDEN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIPPED runtime test: FLASK_HARDEN_TEST_PYTHON is not set; run tests/run.sh, \
                 which creates .venv-tests with Flask and sets it"
            );
            None
        }
    }
}

fn python(py: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(py)
        .args(args)
        .current_dir(dir)
        .env_remove("SECRET_KEY")
        .env_remove("FLASK_SECRET_KEY")
        .env_remove("FLASK_DEBUG")
        .env_remove("FLASK_CONFIG")
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the test python runs")
}

/// A fixture copied into a fresh repository and committed.
fn committed(name: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    copy_dir(&fixture_named(name), p);
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["config", "user.name", "Test"]);
    git(p, &["config", "user.email", "test@example.com"]);
    git(p, &["config", "core.autocrlf", "false"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "fixture app"]);
    dir
}

/// The fixture, committed in a fresh repository, hardened with `fix --apply --unsafe`.
fn hardened() -> TempDir {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    copy_dir(&fixture(), p);
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["config", "user.name", "Test"]);
    git(p, &["config", "user.email", "test@example.com"]);
    git(p, &["config", "core.autocrlf", "false"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "notes app"]);

    let before = flask_harden(p, &["check", "."]);
    assert_eq!(before.status.code(), Some(1), "{}", text(&before.stdout));

    let fix = flask_harden(p, &["fix", "--apply", "--unsafe", "."]);
    let stdout = text(&fix.stdout);
    assert!(
        fix.status.success(),
        "fix failed:\n{stdout}\n{}",
        text(&fix.stderr)
    );
    assert!(
        // app.py, its template, .env.example, .gitignore, and the tests' conftest.py with
        // their own SECRET_KEY (app.py now reads it when it is imported).
        stdout.contains("Wrote 6 files in the working tree"),
        "{stdout}"
    );
    assert!(!stdout.contains("not offered"), "{stdout}");
    dir
}

#[test]
fn hardened_app_passes_its_suite_and_the_probes() {
    let dir = hardened();
    let p = dir.path();

    // The scan now passes every item.
    let check = flask_harden(p, &["check", ".", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json report");
    let statuses: Vec<(String, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for id in [
        "secret-key",
        "debug",
        "xss",
        "csrf",
        "session",
        "input-validation",
    ] {
        assert!(
            statuses.contains(&(id.to_string(), "pass".to_string())),
            "{id} does not pass after the fixes: {statuses:?}\n{}",
            text(&check.stdout)
        );
    }
    assert_eq!(check.status.code(), Some(0), "{statuses:?}");

    // The source: no debug=True left, SECRET_KEY from the environment.
    let app = fs::read_to_string(p.join("app.py")).unwrap();
    assert!(!app.contains("debug=True"), "{app}");
    assert!(app.contains("    app.run()\n"), "{app}");
    assert!(
        app.contains("app.config[\"SECRET_KEY\"] = os.environ[\"SECRET_KEY\"]"),
        "{app}"
    );
    let requirements = fs::read_to_string(p.join("requirements.txt")).unwrap();
    assert!(requirements.contains("flask-wtf"), "{requirements}");
    assert!(requirements.contains("pydantic"), "{requirements}");

    let Some(py) = test_python() else {
        return;
    };

    // (a) The app's own suite still passes.
    let suite = python(
        &py,
        p,
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
    );
    assert!(
        suite.status.success(),
        "the app's pytest suite fails after hardening:\n{}\n{}",
        text(&suite.stdout),
        text(&suite.stderr)
    );
    assert!(
        text(&suite.stdout).contains("8 passed"),
        "{}",
        text(&suite.stdout)
    );

    // (b) The probes.
    fs::write(p.join("probes.py"), PROBES).unwrap();
    let probes = python(&py, p, &["probes.py"]);
    let out = text(&probes.stdout);
    assert!(
        probes.status.success(),
        "a probe fails on the hardened app:\n{out}\n{}",
        text(&probes.stderr)
    );
    assert!(out.contains("all probes passed"), "{out}");
    eprintln!("{out}");
}

/// The probes are not vacuous: the fixture as committed fails the first of them, and its own
/// suite passes before hardening too.
#[test]
fn unhardened_app_fails_the_probes() {
    let Some(py) = test_python() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    copy_dir(&fixture(), p);
    let suite = python(
        &py,
        p,
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
    );
    assert!(suite.status.success(), "{}", text(&suite.stdout));
    fs::write(p.join("probes.py"), PROBES).unwrap();
    let probes = python(&py, p, &["probes.py"]);
    assert!(!probes.status.success(), "{}", text(&probes.stdout));
    assert!(
        text(&probes.stderr).contains("the app imported without SECRET_KEY"),
        "{}",
        text(&probes.stderr)
    );
}

fn pytest(py: &Path, dir: &Path) -> Output {
    python(
        py,
        dir,
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
    )
}

/// The factory app with development, testing and production configs, hardened with `fix
/// --commit --unsafe`: its suite (a conftest building `create_app({"TESTING": True, ...})`)
/// passes on the fix branch with no key exported, and the probes show, with real Flask, that
/// production refuses to start without SECRET_KEY, development starts without one, and with
/// CSRF on every login, form and the header-authenticated API still works.
#[test]
fn factory_app_keeps_its_setups_working() {
    let dir = committed("factory_configs");
    let p = dir.path();
    let fix = flask_harden(
        p,
        &["fix", "--unsafe", "--commit", "--branch", "hardened", "."],
    );
    let stdout = text(&fix.stdout);
    assert!(
        fix.status.success(),
        "fix failed:\n{stdout}\n{}",
        text(&fix.stderr)
    );
    assert!(!stdout.contains("not offered"), "{stdout}");
    git(p, &["switch", "-q", "hardened"]);
    let check = flask_harden(p, &["check", "."]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));

    let Some(py) = test_python() else {
        return;
    };
    let suite = pytest(&py, p);
    assert!(
        suite.status.success(),
        "the app's suite fails on the fix branch:\n{}\n{}",
        text(&suite.stdout),
        text(&suite.stderr)
    );
    assert!(
        text(&suite.stdout).contains("7 passed"),
        "{}",
        text(&suite.stdout)
    );
    fs::write(p.join("factory_probes.py"), FACTORY_PROBES).unwrap();
    let probes = python(&py, p, &["factory_probes.py"]);
    let out = text(&probes.stdout);
    assert!(
        probes.status.success(),
        "a probe fails on the hardened factory app:\n{out}\n{}",
        text(&probes.stderr)
    );
    assert!(out.contains("all probes passed"), "{out}");
}

/// The factory probes are not vacuous: as committed, production starts without a key (its
/// literal fallback ships), while its own suite passes.
#[test]
fn unhardened_factory_app_fails_the_probes() {
    let Some(py) = test_python() else {
        return;
    };
    let dir = committed("factory_configs");
    let p = dir.path();
    assert!(pytest(&py, p).status.success());
    fs::write(p.join("factory_probes.py"), FACTORY_PROBES).unwrap();
    let probes = python(&py, p, &["factory_probes.py"]);
    assert!(!probes.status.success(), "{}", text(&probes.stdout));
    assert!(
        text(&probes.stderr).contains("the production app started without SECRET_KEY"),
        "{}",
        text(&probes.stderr)
    );
}
