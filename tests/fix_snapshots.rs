//! Every fix on the fixture apps, snapshotted: per item the plans' titles, the per-file
//! unified diffs, what was rejected and why, what has no generator and what remains. Plus the
//! properties every run must have: patched Python compiles with CPython, and fixing the result
//! again finds nothing to change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use flask_harden::fix::{Applicability, FixOptions, FixRun, Snapshot, plan_fixes};
use tempfile::TempDir;

const FIXTURES: &[&str] = &[
    "single_file",
    "factory_blueprints",
    "config_classes",
    "dotted_string",
    "tutorial",
    "example_app",
    "runtime_app",
    "factory_configs",
];

/// Fixtures whose findings all have their fixes declined, each for a reason the user reads.
const DECLINED: &[&str] = &["declined"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn options() -> FixOptions {
    FixOptions {
        include_unsafe: true,
        ..FixOptions::default()
    }
}

fn run(snapshot: Snapshot) -> FixRun {
    // Snapshots must not depend on the package index of the day.
    flask_harden::deps::index::force_offline();
    plan_fixes(snapshot, &options()).expect("plan_fixes runs")
}

fn fixture_run(name: &str) -> FixRun {
    run(Snapshot::from_dir(&fixture(name)).expect("fixture readable"))
}

fn python3() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The run as text: stable, readable in a review.
fn describe(run: &FixRun) -> String {
    let mut out = String::new();
    for item in &run.items {
        let worth = !item.changes.is_empty()
            || !item.rejected.is_empty()
            || !item.needs_unsafe.is_empty()
            || !item.without_fix.is_empty()
            || !item.remaining.is_empty();
        if !worth {
            continue;
        }
        writeln!(out, "== {} ==", item.item).unwrap();
        for plan in &item.applied {
            let tag = match plan.applicability {
                Applicability::Safe => "safe",
                Applicability::Unsafe => "unsafe",
            };
            writeln!(out, "fix [{tag}]: {}", plan.title).unwrap();
            for f in &plan.fixes {
                writeln!(out, "  fixes {} at {}:{}", f.rule, f.path, f.line).unwrap();
            }
        }
        for r in &item.rejected {
            let title = r.title.as_deref().unwrap_or("(no plan)");
            writeln!(out, "rejected: {title}: {}", r.reason).unwrap();
            for f in &r.findings {
                writeln!(out, "  for {} at {}:{}", f.rule, f.path, f.line).unwrap();
            }
        }
        for f in &item.without_fix {
            writeln!(out, "no generator: {} at {}:{}", f.rule, f.path, f.line).unwrap();
        }
        for f in &item.remaining {
            writeln!(out, "remaining: {} at {}:{}", f.rule, f.path, f.line).unwrap();
        }
        for change in &item.changes {
            out.push_str(&change.unified_diff());
        }
        out.push('\n');
    }
    out
}

#[test]
fn fix_diffs_per_fixture() {
    for name in FIXTURES.iter().chain(DECLINED) {
        let run = fixture_run(name);
        insta::assert_snapshot!(*name, describe(&run));
    }
}

#[test]
fn patched_python_compiles_with_cpython() {
    if !python3() {
        eprintln!("SKIPPED: python3 not found; patched files were checked with our parser only");
        return;
    }
    for name in FIXTURES {
        let run = fixture_run(name);
        // The pipeline checked every plan with CPython: none was rejected for it.
        for item in &run.items {
            for r in &item.rejected {
                assert!(
                    !r.reason.contains("does not compile") && !r.reason.contains("does not parse"),
                    "{name}: {}: {}",
                    item.item,
                    r.reason
                );
            }
        }
        // And every patched Python file, written out, compiles.
        let dir = TempDir::new().unwrap();
        run.result.materialize(dir.path()).unwrap();
        let changed: Vec<String> = run
            .changes()
            .into_iter()
            .map(|c| c.path)
            .filter(|p| p.ends_with(".py"))
            .collect();
        assert!(!changed.is_empty(), "{name}: no Python file changed");
        let out = Command::new("python3")
            .args(["-I", "-m", "py_compile"])
            .args(changed.iter().map(|p| dir.path().join(p)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {changed:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn fixing_twice_changes_nothing() {
    for name in FIXTURES {
        let first = fixture_run(name);
        assert!(!first.is_empty(), "{name}: the first run changes nothing");
        let second = run(first.result.clone());
        assert!(
            second.is_empty(),
            "{name}: a second run still changes files:\n{}",
            describe(&second)
        );
        assert_eq!(second.result, first.result, "{name}");
    }
}

const APP_CRLF: &str = "from flask import Flask, session\r\n\r\napp = Flask(__name__)\r\napp.config.from_object(\"config.ProductionConfig\")\r\n\r\n\r\n@app.route(\"/\")\r\ndef index():\r\n    session[\"visits\"] = session.get(\"visits\", 0) + 1\r\n    return str(session[\"visits\"])\r\n";

#[test]
fn session_cookie_flags_keep_crlf() {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    // The app uses the session (else the session item does not apply).
    std::fs::write(p.join("app.py"), APP_CRLF).unwrap();
    std::fs::write(
        p.join("config.py"),
        "import os\r\n\r\n\r\nclass Config:\r\n    SECRET_KEY = os.environ[\"SECRET_KEY\"]\r\n\r\n\r\nclass ProductionConfig(Config):\r\n    DEBUG = False\r\n    SESSION_COOKIE_SECURE = False\r\n",
    )
    .unwrap();
    let base = Snapshot::from_dir(p).unwrap();
    let run = plan_fixes(
        base,
        &FixOptions {
            items: vec!["session".to_string()],
            ..options()
        },
    )
    .unwrap();
    let session = run.items.iter().find(|i| i.item == "session").unwrap();
    assert!(session.rejected.is_empty(), "{:#?}", session.rejected);
    assert!(session.remaining.is_empty(), "{:?}", session.remaining);
    let config = run.result.get("config.py").unwrap();
    assert_eq!(
        config,
        "import os\r\n\r\n\r\nclass Config:\r\n    SECRET_KEY = os.environ[\"SECRET_KEY\"]\r\n\r\n\r\nclass ProductionConfig(Config):\r\n    DEBUG = False\r\n    SESSION_COOKIE_SECURE = True\r\n    SESSION_COOKIE_SAMESITE = \"Lax\"\r\n",
    );
    assert!(
        !config.replace("\r\n", "").contains('\n'),
        "a bare LF: {config:?}"
    );
    assert_eq!(run.result.get("app.py"), Some(APP_CRLF));
}

fn binary(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .output()
        .expect("flask-harden runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One pipeline for offers: what `check --format json` says about each finding's fix is what
/// `fix --unsafe` does with it. An available fix appears in `fix` with the same title; a
/// finding without one is named by `fix` as not offered (or without a generator) at the very
/// line `check` reports, and SARIF attaches fixes to exactly the available findings.
#[test]
fn json_sarif_and_fix_agree_on_every_finding() {
    for name in ["factory_configs", "declined"] {
        let tmp = TempDir::new().unwrap();
        copy_dir(&fixture(name), tmp.path());
        let report: serde_json::Value =
            serde_json::from_str(&binary(tmp.path(), &["check", ".", "--format", "json"]))
                .expect("json report");
        let fix = binary(tmp.path(), &["fix", "--unsafe", "."]);
        let sarif: serde_json::Value =
            serde_json::from_str(&binary(tmp.path(), &["check", ".", "--format", "sarif"]))
                .expect("sarif log");
        let mut with_fix = 0;
        // What "declined" is for: the items it fails are the ones whose every fix must be
        // declined with a reason (the deployment items it also fails have fixes).
        let mut declined_items_fixed = 0;
        for item in report["items"].as_array().unwrap() {
            for f in item["findings"].as_array().unwrap() {
                let (rule, path, line) = (
                    f["rule"].as_str().unwrap(),
                    f["path"].as_str().unwrap(),
                    f["line"].as_u64().unwrap(),
                );
                if f["fix"]["available"] == true {
                    with_fix += 1;
                    if ["secret-key", "csrf", "session"]
                        .iter()
                        .any(|i| item["id"] == *i)
                    {
                        declined_items_fixed += 1;
                    }
                    let title = f["fix"]["title"].as_str().unwrap();
                    assert!(
                        fix.contains(&format!("  fix: {title}\n"))
                            || fix.contains(&format!("  fix: {title} [unsafe: review]\n")),
                        "{name}: {rule} at {path}:{line} is available as {title:?}, which fix \
                         does not offer:\n{fix}"
                    );
                    assert!(
                        !fix.contains(&format!("for {rule} at {path}:{line}:")),
                        "{name}: {rule} at {path}:{line} is available and declined:\n{fix}"
                    );
                } else {
                    let declined = format!("not offered for {rule} at {path}:{line}: ");
                    let without = format!("no automatic fix yet for {rule} at {path}:{line}");
                    assert!(
                        fix.contains(&declined) || fix.contains(&without),
                        "{name}: {rule} at {path}:{line} has no fix in the report, and fix does \
                         not say why at that line:\n{fix}"
                    );
                }
            }
        }
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let sarif_fixed = results.iter().filter(|r| r.get("fixes").is_some()).count();
        assert!(
            sarif_fixed <= with_fix,
            "{name}: {sarif_fixed} > {with_fix}"
        );
        if name == "declined" {
            assert_eq!(declined_items_fixed, 0, "{fix}");
            assert!(
                fix.contains("the form built in Python at app.py:17"),
                "{fix}"
            );
        } else {
            assert!(with_fix > 0 && sarif_fixed > 0, "{name}: no fix offered");
        }
    }
}
