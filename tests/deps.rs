//! The dependencies item on real files: every format, against a small advisory set
//! (tests/fixtures/deps/advisories, OSV JSON) and against the embedded snapshot.

use std::path::{Path, PathBuf};

use flask_harden::deps::advisories::{AdvisoryDb, Database, embedded};
use flask_harden::deps::osv::{OsvRecord, build_database};
use flask_harden::deps::{Audit, FixAction, audit};
use flask_harden::finding::Severity;
use flask_harden::project::discover;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deps")
}

fn test_database() -> Database {
    let mut records = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(fixtures().join("advisories"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let record: OsvRecord = serde_json::from_str(&text).unwrap();
        records.push(record);
    }
    build_database(&records, "test advisories", None, "2100-01-01").database
}

/// Copy a fixture folder into a fresh temporary repository.
fn repo(fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join(fixture)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn run(fixture: &str, db: &AdvisoryDb) -> (tempfile::TempDir, Audit) {
    let dir = repo(fixture);
    let files = discover(dir.path()).unwrap();
    let audit = audit(&files, db);
    (dir, audit)
}

/// (rule, path, line, fixed version) of each finding.
fn summary(audit: &Audit) -> Vec<(String, String, usize, Option<String>)> {
    let mut out: Vec<_> = audit
        .vulnerable
        .iter()
        .map(|v| {
            (
                v.finding.rule.clone(),
                v.finding.path.clone(),
                v.finding.line,
                v.fixed_version.clone(),
            )
        })
        .chain(
            audit
                .unreadable
                .iter()
                .map(|f| (f.rule.clone(), f.path.clone(), f.line, None)),
        )
        .collect();
    out.sort();
    out
}

fn assert_rows(audit: &Audit, mut expected: Vec<(String, String, usize, Option<String>)>) {
    expected.sort();
    assert_eq!(summary(audit), expected);
}

fn row(
    rule: &str,
    path: &str,
    line: usize,
    fix: Option<&str>,
) -> (String, String, usize, Option<String>) {
    (
        format!("dependencies/{rule}"),
        path.to_string(),
        line,
        fix.map(str::to_string),
    )
}

/// Apply every edit of the audit to the files and return the new texts by path.
fn apply_edits(dir: &Path, audit: &Audit) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut edits: Vec<_> = audit
        .vulnerable
        .iter()
        .filter_map(|v| match &v.fix.action {
            FixAction::Edit {
                byte_range,
                replacement,
            } => Some((v.fix.path.clone(), byte_range.clone(), replacement.clone())),
            _ => None,
        })
        .collect();
    edits.sort_by(|a, b| (&a.0, b.1.start).cmp(&(&b.0, a.1.start)));
    for (path, range, replacement) in edits {
        let text = out
            .entry(path.clone())
            .or_insert_with(|| std::fs::read_to_string(dir.join(&path)).unwrap());
        text.replace_range(range, &replacement);
    }
    out
}

#[test]
fn requirements_files_with_includes_and_awkward_lines() {
    let db = AdvisoryDb::new(test_database());
    let (dir, audit) = run("requirements", &db);
    assert_rows(
        &audit,
        vec![
            // Flask_WTF is flask-wtf; 0.14.2 is the last affected version, with no fix.
            row("vulnerable-pin", "base.txt", 1, None),
            row("unreadable", "requirements.txt", 12, None),
            // Flask 0.12.2: TEST-1 is fixed in 1.0, but 1.0 has TEST-2, fixed in 1.2.
            row("vulnerable-pin", "requirements.txt", 6, Some("1.2")),
            row("vulnerable-pin", "requirements.txt", 7, Some("2.11.3")),
            row("vulnerable-range", "requirements.txt", 10, Some("0.15.3")),
            // A pre-release inside the affected range; the fix is itself a pre-release.
            row("vulnerable-pin", "requirements.txt", 14, Some("2.0.0rc2")),
            // Affected by an explicit versions list, no fix known.
            row("vulnerable-pin", "requirements.txt", 15, None),
        ],
    );
    let flask = &audit
        .vulnerable
        .iter()
        .find(|v| v.package == "flask")
        .unwrap();
    assert_eq!(flask.advisories, vec!["TEST-1".to_string()]);
    assert!(flask.finding.message.contains("TEST-1 (CVE-2000-0001)"));
    assert!(flask.finding.message.contains("upgrade to 1.2"));
    assert_eq!(
        flask.finding.severity,
        Severity::Medium,
        "a denial of service without a score"
    );
    assert_eq!(
        flask.finding.code,
        "Flask[async] == 0.12.2 ; python_version >= \"3.6\"  # the web framework"
    );
    let wtf = audit
        .vulnerable
        .iter()
        .find(|v| v.package == "flask-wtf")
        .unwrap();
    assert_eq!(
        wtf.finding.severity,
        Severity::Low,
        "GitHub's database_specific severity"
    );
    let jinja = audit
        .vulnerable
        .iter()
        .find(|v| v.package == "jinja2")
        .unwrap();
    assert!(jinja.fix.note.contains("--hash"), "{}", jinja.fix.note);
    // Withdrawn advisories (requests), versions outside the ranges (flask-wtf 0.8, prepkg
    // 2.0.0, listed 1.2) and unknown packages are not reported.
    assert!(audit.vulnerable.iter().all(|v| v.package != "requests"));
    assert!(audit.notes.iter().any(|n| n.contains("test advisories")));
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("requirements.txt:16 (an editable install)"))
    );
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("requirements.txt:17 (a URL or local path)"))
    );

    let fixed = apply_edits(dir.path(), &audit);
    let req = &fixed["requirements.txt"];
    assert!(req.contains("Flask[async] == 1.2 ; python_version >= \"3.6\"  # the web framework\n"));
    assert!(req.contains("jinja2==2.11.3 \\\n    --hash=sha256:0000"));
    assert!(req.contains("\nwerkzeug>=0.15.3\n"));
    assert!(req.contains("prepkg==2.0.0rc2\n"));
    assert!(req.contains("listed==1.1\n"), "no fix, no edit");
}

#[test]
fn pep621_optional_dependencies_and_groups() {
    let db = AdvisoryDb::new(test_database());
    let (dir, audit) = run("pep621", &db);
    assert_rows(
        &audit,
        vec![
            row("unreadable", "pyproject.toml", 13, None),
            row("vulnerable-pin", "pyproject.toml", 9, Some("1.2")),
            row("vulnerable-pin", "pyproject.toml", 17, Some("2.0.3")),
            row("vulnerable-pin", "pyproject.toml", 18, Some("1.2")),
            row("vulnerable-pin", "pyproject.toml", 21, Some("2.0.0rc2")),
            row("vulnerable-pin", "pyproject.toml", 22, None),
            row("vulnerable-range", "pyproject.toml", 10, Some("2.11.3")),
        ],
    );
    let flask = audit
        .vulnerable
        .iter()
        .find(|v| v.finding.line == 9)
        .unwrap();
    assert_eq!(flask.finding.severity, Severity::High, "CVSS 9.8");
    assert!(
        flask
            .finding
            .message
            .contains("TEST-2 (CVE-2000-0002, GHSA-aaaa-bbbb-cccc)")
    );
    let text = &apply_edits(dir.path(), &audit)["pyproject.toml"];
    assert!(text.contains("\"flask==1.2\",          # pinned on purpose\n"));
    assert!(text.contains("'jinja2 (>=2.11.3)',\n"));
    assert!(text.contains("async = [\"Flask[async]==2.0.3\"]"));
    // A string with escapes is rewritten whole, through toml_edit.
    let doc = toml_edit::DocumentMut::from_str(text).unwrap();
    let web = doc["project"]["optional-dependencies"]["web"][0].as_str();
    assert_eq!(web, Some("flask==1.2 ; python_version >= \"3.6\""));
    assert!(toml_edit::DocumentMut::from_str(text).is_ok());
}

use std::str::FromStr;

#[test]
fn poetry_manifest_and_lock() {
    let db = AdvisoryDb::new(test_database());
    let (dir, audit) = run("poetry", &db);
    assert_rows(
        &audit,
        vec![
            row("vulnerable-lock", "poetry.lock", 5, Some("1.2")),
            row("vulnerable-pin", "pyproject.toml", 7, Some("1.2")),
            row("vulnerable-pin", "pyproject.toml", 13, Some("2.0.0rc2")),
        ],
    );
    let lock = audit
        .vulnerable
        .iter()
        .find(|v| v.finding.path == "poetry.lock")
        .unwrap();
    assert_eq!(
        lock.fix.action,
        FixAction::Regenerate {
            command: "poetry update flask".into()
        }
    );
    let text = &apply_edits(dir.path(), &audit)["pyproject.toml"];
    assert!(text.contains("Flask = \"1.2\"\n"));
    assert!(text.contains("prepkg = \"==2.0.0rc2\"\n"));
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("pyproject.toml:10 (a git dependency)"))
    );
}

#[test]
fn pipfile_and_pipfile_lock() {
    let db = AdvisoryDb::new(test_database());
    let (dir, audit) = run("pipenv", &db);
    assert_rows(
        &audit,
        vec![
            row("vulnerable-lock", "Pipfile.lock", 10, Some("1.2")),
            row("vulnerable-lock", "Pipfile.lock", 14, Some("2.11.3")),
            row("vulnerable-lock", "Pipfile.lock", 23, None),
            row("vulnerable-pin", "Pipfile", 7, Some("1.2")),
            row("vulnerable-pin", "Pipfile", 13, None),
            row("vulnerable-range", "Pipfile", 8, Some("2.11.3")),
        ],
    );
    let text = &apply_edits(dir.path(), &audit)["Pipfile"];
    assert!(text.contains("flask = \"==1.2\"\n"));
    assert!(text.contains("jinja2 = {version = \">=2.11.3\", extras = [\"i18n\"]}\n"));
    let lock = audit
        .vulnerable
        .iter()
        .find(|v| v.finding.line == 10)
        .unwrap();
    assert!(
        matches!(&lock.fix.action, FixAction::Regenerate { command } if command == "pipenv update flask")
    );
}

#[test]
fn uv_lock_and_pylock() {
    let db = AdvisoryDb::new(test_database());
    let (_dir, uv) = run("uv", &db);
    assert_eq!(
        summary(&uv),
        vec![row("vulnerable-lock", "uv.lock", 6, Some("2.0.3"))]
    );
    assert!(matches!(&uv.vulnerable[0].fix.action,
        FixAction::Regenerate { command } if command == "uv lock --upgrade-package flask==2.0.3"));
    let (_dir, pylock) = run("pylock", &db);
    assert_eq!(
        summary(&pylock),
        vec![row("vulnerable-lock", "pylock.toml", 6, Some("2.0.3"))]
    );
    assert!(
        pylock
            .notes
            .iter()
            .any(|n| n.contains("pylock.toml:13 (a VCS or directory package)"))
    );
}

fn found<'a>(audit: &'a Audit, package: &str) -> Option<&'a flask_harden::deps::Vulnerable> {
    audit.vulnerable.iter().find(|v| v.package == package)
}

#[test]
fn uv_lock_pins_are_reported_in_every_format_uv_writes() {
    let db = AdvisoryDb::new(embedded());
    // Written by uv 0.9 (`revision = 5`, resolution markers, sdist and wheel tables).
    let (_dir, current) = run("uv-current", &db);
    let locked: Vec<_> = summary(&current)
        .into_iter()
        .filter(|r| r.1 == "uv.lock")
        .collect();
    assert_eq!(
        locked,
        vec![
            row("vulnerable-lock", "uv.lock", 11, Some("3.1.3")),
            row("vulnerable-lock", "uv.lock", 51, Some("3.1.6")),
        ]
    );
    // Written before uv 0.3: `[[distribution]]` entries.
    let (_dir, legacy) = run("uv-legacy", &db);
    assert_eq!(
        summary(&legacy),
        vec![
            row("vulnerable-lock", "uv.lock", 6, Some("3.1.3")),
            row("vulnerable-lock", "uv.lock", 19, Some("3.1.6")),
        ]
    );
}

#[test]
fn the_embedded_snapshot_finds_known_vulnerable_pins() {
    let db = AdvisoryDb::new(embedded());
    // The PyPA database of 2026-07-23: 7,080 records, of which 269 are withdrawn.
    assert!(db.len() > 6500, "{}", db.len());
    assert_eq!(db.date, "2026-07-23");
    let audit = audit_requirements(
        "flask==0.12.2\njinja2==2.10\nFlask-Caching==1.10.1\nitsdangerous==2.2.0\n",
        &db,
    );
    let flask = found(&audit, "flask").unwrap();
    assert!(flask.advisories.contains(&"PYSEC-2018-66".to_string()));
    assert!(flask.finding.message.contains("CVE-2018-1000656"));
    assert!(flask.finding.message.contains("GHSA-562c-5r94-xh97"));
    // 0.12.3 fixes CVE-2018-1000656, but later advisories (CVE-2026-27205) also affect it.
    assert_eq!(flask.fixed_version.as_deref(), Some("3.1.3"));
    let jinja = found(&audit, "jinja2").unwrap();
    assert!(jinja.advisories.contains(&"PYSEC-2019-217".to_string()));
    // CVE-2024-56201 / CVE-2025-27516 are fixed in 3.1.5 / 3.1.6.
    assert_eq!(jinja.fixed_version.as_deref(), Some("3.1.6"));
    assert!(jinja.finding.message.contains("CVE-2025-27516"));
    // Flask-Caching's PYSEC-2021-13 was withdrawn: not reported.
    assert!(found(&audit, "flask-caching").is_none());
    assert!(found(&audit, "itsdangerous").is_none());
    assert!(audit.notes[0].contains("2026-07-23"), "{:?}", audit.notes);
}

#[test]
fn the_snapshot_holds_the_2025_and_2026_advisories() {
    let db = AdvisoryDb::new(embedded());
    let audit = audit_requirements(
        "Flask==3.1.2\nWerkzeug==3.0.6\nJinja2==3.1.6\nFlask-Cors==6.0.0\ngunicorn==21.2.0\nrlask==3.1.5\n",
        &db,
    );
    let werkzeug = found(&audit, "werkzeug").unwrap();
    for cve in ["CVE-2025-66221", "CVE-2026-21860", "CVE-2026-27199"] {
        assert!(
            werkzeug.finding.message.contains(cve),
            "{cve}: {}",
            werkzeug.finding.message
        );
    }
    assert_eq!(werkzeug.fixed_version.as_deref(), Some("3.1.6"));
    let flask = found(&audit, "flask").unwrap();
    assert!(
        flask.finding.message.contains("CVE-2026-27205"),
        "{}",
        flask.finding.message
    );
    assert_eq!(flask.fixed_version.as_deref(), Some("3.1.3"));
    let gunicorn = found(&audit, "gunicorn").unwrap();
    assert!(gunicorn.finding.message.contains("CVE-2024-1135"));
    assert!(gunicorn.finding.message.contains("CVE-2024-6827"));
    // Jinja2's PYSEC-2025-74 (a Nautobot issue filed against every Jinja2 version) and
    // Flask-Cors' PYSEC-2024-260 are withdrawn: 3.1.6 and 6.0.0 are not reported.
    assert!(found(&audit, "jinja2").is_none());
    assert!(found(&audit, "flask-cors").is_none());
    // PYSEC-2026-584 lists rlask's malicious releases as `versions` only, with no range.
    let rlask = found(&audit, "rlask").unwrap();
    assert!(rlask.advisories.contains(&"PYSEC-2026-584".to_string()));
    assert_eq!(
        found(&audit, "rlask").and_then(|v| v.fixed_version.clone()),
        None
    );
}

#[test]
fn an_unreadable_file_does_not_stop_the_others() {
    let db = AdvisoryDb::new(test_database());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project\ndependencies = [",
    )
    .unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "flask==0.12.2\n").unwrap();
    std::fs::write(dir.path().join("poetry.lock"), [0xff, 0xfe, 0x00]).unwrap();
    let audit = audit(&discover(dir.path()).unwrap(), &db);
    assert_rows(
        &audit,
        vec![
            row("unreadable", "poetry.lock", 1, None),
            row("unreadable", "pyproject.toml", 1, None),
            row("vulnerable-pin", "requirements.txt", 1, Some("1.2")),
        ],
    );
}

#[test]
fn includes_never_leave_the_repository() {
    let db = AdvisoryDb::new(test_database());
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret.txt"), "flask==0.12.2\n").unwrap();
    let inner = outer.path().join("repo");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(
        inner.join("requirements.txt"),
        "-r ../secret.txt\n-r missing.txt\njinja2==2.10\n",
    )
    .unwrap();
    let audit = audit(&discover(&inner).unwrap(), &db);
    assert_eq!(
        summary(&audit),
        vec![row("vulnerable-pin", "requirements.txt", 3, Some("2.11.3"))]
    );
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("outside the repository"))
    );
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("missing.txt: not found"))
    );
}

#[test]
fn pins_that_cannot_be_installed_together_fail_the_check() {
    let db = AdvisoryDb::new(test_database());
    let audit = audit_requirements(
        "Flask==2.2.5\nclick==7.1.1\nJinja2==2.11.3\nitsdangerous==1.1.0\nWerkzeug==2.3.8\nMarkupSafe==2.0.1\nFlask-Login==0.5.0\n",
        &db,
    );
    let mut lines: Vec<(usize, &str)> = audit
        .incompatible
        .iter()
        .map(|f| (f.line, f.message.as_str()))
        .collect();
    lines.sort();
    let at: Vec<usize> = lines.iter().map(|l| l.0).collect();
    // click, Jinja2, itsdangerous (Flask 2.2), MarkupSafe (Werkzeug 2.3.8), Flask-Login
    // (Werkzeug >= 2.1 removed safe_str_cmp).
    assert_eq!(at, [2, 3, 4, 6, 7], "{lines:?}");
    assert!(
        lines[0]
            .1
            .contains("click 7.1.1 cannot be installed with Flask 2.2.5")
    );
    assert!(lines[4].1.contains("safe_str_cmp"), "{}", lines[4].1);
    assert!(
        audit
            .findings()
            .iter()
            .any(|f| f.rule == "dependencies/incompatible-pins")
    );
    // A consistent set is quiet.
    let quiet = audit_requirements(
        "Flask==3.1.3\nclick==8.1.8\nJinja2==3.1.6\nitsdangerous==2.2.0\nWerkzeug==3.1.6\nMarkupSafe==3.0.2\nFlask-Login==0.6.3\n",
        &db,
    );
    assert!(quiet.incompatible.is_empty());
}

fn audit_of(root: &Path, db: &AdvisoryDb) -> Audit {
    audit(&discover(root).unwrap(), db)
}

/// The audit of a repository holding only this requirements.txt.
fn audit_requirements(text: &str, db: &AdvisoryDb) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), text).unwrap();
    audit_of(dir.path(), db)
}

/// A git repository holding `files`, committed.
fn git_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "init",
        ],
    ] {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }
    dir
}

/// The folder holding `uv`: the tests' venv (tests/run.sh installs it there), else PATH.
fn uv_dir() -> Option<PathBuf> {
    let venv = std::env::var_os("FLASK_HARDEN_TEST_PYTHON")
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| d.join("uv").is_file());
    venv.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join("uv").is_file())
    })
}

fn path_with(dir: Option<&Path>) -> std::ffi::OsString {
    let mut parts: Vec<PathBuf> = dir.into_iter().map(Path::to_path_buf).collect();
    if let Some(p) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(parts).unwrap()
}

/// `flask-harden fix --item dependencies --unsafe --apply` on `root`; (stdout, stderr).
fn fix_deps(root: &Path, cache: &Path, offline: bool, path: &std::ffi::OsStr) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_flask-harden"));
    cmd.args(["fix", "--item", "dependencies", "--unsafe", "--apply"])
        .arg(root)
        .env("FLASK_HARDEN_CACHE_DIR", cache)
        .env("PATH", path)
        .env_remove("FLASK_HARDEN_OFFLINE");
    if offline {
        cmd.env("FLASK_HARDEN_OFFLINE", "1");
    }
    let out = cmd.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const OLD_FLASK_STACK: &str = "Flask==1.1.2\nWerkzeug==1.0.1\nJinja2==2.11.3\nitsdangerous==1.1.0\nclick==7.1.1\nFlask-Login==0.5.0\nFlask-WTF==0.14.3\nMarkupSafe==1.1.1\n";

const OLD_APP: &str = "from flask import Flask\nfrom flask_login import LoginManager\nfrom werkzeug.security import safe_str_cmp\n\napp = Flask(__name__)\nlogin = LoginManager(app)\n\n\n@app.before_first_request\ndef setup():\n    pass\n";

#[test]
fn offline_the_set_moves_together_and_the_note_says_it_was_not_checked() {
    let repo = git_repo(&[
        ("requirements.txt", OLD_FLASK_STACK),
        ("app.py", OLD_APP),
        (
            "Pipfile",
            "[packages]\nflask = \"==2.2.5\"\nclick = \"==7.1.1\"\n",
        ),
        ("Pipfile.lock", "{\"_meta\": {}, \"default\": {}}\n"),
        ("runtime.txt", "python-3.9.18\n"),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let out = fix_deps(repo.path(), cache.path(), true, &path_with(None));
    let req = std::fs::read_to_string(repo.path().join("requirements.txt")).unwrap();
    for pin in [
        "Flask==3.1.3\n",
        "Werkzeug==3.1.6\n",
        "Jinja2==3.1.6\n",
        "Flask-Login==0.6.3\n",
        "Flask-WTF==1.2.0\n",
        "MarkupSafe==2.1.1\n",
    ] {
        assert!(req.contains(pin), "{pin} missing from\n{req}\n{out}");
    }
    assert!(!req.contains("click==7.1.1"), "{req}");
    assert!(
        out.contains("the set was not resolver-checked (offline)"),
        "{out}"
    );
    assert!(out.contains("metadata could not be read"), "{out}");
    assert!(out.contains("Python 3.9 (runtime.txt)"), "{out}");
    // The code uses what the raise removes: flagged in the note.
    assert!(out.contains("app.py:3 (Werkzeug 2.1 removed"), "{out}");
    assert!(
        out.contains("app.py:9 (Flask 2.3 removed before_first_request"),
        "{out}"
    );
    // The Pipfile is raised as a set too, and its lock is named.
    let pipfile = std::fs::read_to_string(repo.path().join("Pipfile")).unwrap();
    assert!(!pipfile.contains("click = \"==7.1.1\""), "{pipfile}\n{out}");
    assert!(
        out.contains("Pipfile.lock still holds the old versions: run `pipenv lock`"),
        "{out}"
    );
}

/// A real resolver and the real index: skipped, with the reason printed, when either is
/// missing.
fn online_uv() -> Option<PathBuf> {
    let Some(dir) = uv_dir() else {
        eprintln!("SKIPPED: no uv in the tests' venv or on PATH (tests/run.sh installs it)");
        return None;
    };
    let probe = tempfile::tempdir().unwrap();
    std::fs::write(probe.path().join("r.in"), "flask==3.1.3\n").unwrap();
    let ok = std::process::Command::new(dir.join("uv"))
        .args([
            "pip",
            "compile",
            "--no-build",
            "--quiet",
            "--no-config",
            "r.in",
        ])
        .current_dir(probe.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: uv cannot reach the package index (offline?)");
        return None;
    }
    Some(dir)
}

fn uv_resolves(uv_dir: &Path, root: &Path, file: &str) -> Result<(), String> {
    let out = std::process::Command::new(uv_dir.join("uv"))
        .args([
            "pip",
            "compile",
            "--no-build",
            "--quiet",
            "--no-config",
            file,
        ])
        .args(["--python-version", "3.11"])
        .current_dir(root)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn online_an_old_flask_stack_gets_a_fix_whose_whole_set_resolves_with_uv() {
    let Some(uv) = online_uv() else { return };
    let repo = git_repo(&[
        ("requirements.txt", OLD_FLASK_STACK),
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (".python-version", "3.11\n"),
        (
            "api/requirements.txt",
            "Flask==2.2.5\nWerkzeug==2.3.8\nMarkupSafe==2.0.1\nclick==7.1.1\nJinja2==2.11.3\nitsdangerous==1.1.0\n",
        ),
    ]);
    // HEAD's sets do not resolve with wheels for Python 3.11 (or at all): that is the bug.
    assert!(uv_resolves(&uv, &repo.path().join("api"), "requirements.txt").is_err());
    let cache = tempfile::tempdir().unwrap();
    let out = fix_deps(repo.path(), cache.path(), false, &path_with(Some(&uv)));
    for file in ["requirements.txt", "api/requirements.txt"] {
        let text = std::fs::read_to_string(repo.path().join(file)).unwrap();
        assert_ne!(text, OLD_FLASK_STACK, "{file} unchanged:\n{out}");
        uv_resolves(&uv, repo.path(), file)
            .unwrap_or_else(|e| panic!("{file} does not resolve:\n{text}\n{e}\n{out}"));
    }
    let req = std::fs::read_to_string(repo.path().join("requirements.txt")).unwrap();
    assert!(
        req.contains("Flask==3.1.3\n") && req.contains("Flask-Login==0.6.3\n"),
        "{req}"
    );
    assert!(
        out.contains("resolves with uv pip compile --no-build"),
        "{out}"
    );
    assert!(
        out.contains("checked against the packages' metadata"),
        "{out}"
    );
    // And the branch's check no longer reports the set.
    let db = AdvisoryDb::new(embedded());
    let after = audit_of(repo.path(), &db);
    assert!(after.incompatible.is_empty(), "{:?}", after.incompatible);
    assert!(after.vulnerable.is_empty(), "{:?}", after.vulnerable);
}

#[test]
fn a_raised_pyproject_names_the_uv_lock_it_leaves_behind() {
    let dir = fixtures().join("uv-current");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (pyproject, lock) = (read("pyproject.toml"), read("uv.lock"));
    let repo = git_repo(&[("pyproject.toml", &pyproject), ("uv.lock", &lock)]);
    let cache = tempfile::tempdir().unwrap();
    let out = fix_deps(repo.path(), cache.path(), true, &path_with(None));
    let after = std::fs::read_to_string(repo.path().join("pyproject.toml")).unwrap();
    assert!(
        after.contains("\"flask==3.1.3\", \"werkzeug==3.1.6\""),
        "{after}\n{out}"
    );
    assert!(
        out.contains("uv.lock still holds the old versions: run `uv lock`"),
        "{out}"
    );
    // requires-python = ">=3.9" bounds the choice.
    assert!(
        out.contains("Python 3.9 (requires-python in pyproject.toml)"),
        "{out}"
    );
    // The lock itself is never edited; its findings name the command.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("uv.lock")).unwrap(),
        lock
    );
    assert!(
        out.contains("uv lock --upgrade-package flask==3.1.3"),
        "{out}"
    );
}

#[test]
fn online_both_resolvers_tell_a_set_that_installs_from_one_that_does_not() {
    use flask_harden::deps::resolve::{Resolution, Resolver, check_with};
    let Some(uv) = online_uv() else { return };
    let python = std::env::var_os("FLASK_HARDEN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let py = "3.11".parse().unwrap();
    let good: Vec<String> = ["Flask==3.1.3", "Werkzeug==3.1.6", "MarkupSafe==2.1.2"]
        .map(String::from)
        .into();
    let bad: Vec<String> = ["Flask==2.2.5", "click==7.1.1"].map(String::from).into();
    for resolver in [Resolver::Uv(uv.join("uv")), Resolver::Pip(python)] {
        let ok = check_with(&resolver, &good, Some(&py));
        assert!(
            matches!(ok, Resolution::Resolves { .. }),
            "{resolver:?}: {ok:?}"
        );
        let no = check_with(&resolver, &bad, Some(&py));
        assert!(
            matches!(&no, Resolution::Fails { message, .. } if message.contains("click")),
            "{resolver:?}: {no:?}"
        );
    }
}

/// Requirements files joined by `-r` are installed together: raising Flask in base.txt raises
/// the Jinja2, itsdangerous and click that prod.txt and dev.txt pin beside it, each in its own
/// file, and the note says which file each pin is in. With uv and the index, both top files
/// resolve afterwards (they did not before).
#[test]
fn pins_in_included_requirements_files_move_with_the_set() {
    const BASE: &str = "Flask==1.1.2\nWerkzeug==1.0.1\nMarkupSafe==1.1.1\n";
    const PROD: &str = "-r base.txt\nJinja2==2.11.3\nitsdangerous==1.1.0\nsix==1.16.0\n";
    const DEV: &str = "-r base.txt\nclick==7.1.1\ncoverage==7.6.1\n";
    let repo = git_repo(&[
        ("requirements/base.txt", BASE),
        ("requirements/prod.txt", PROD),
        ("requirements/dev.txt", DEV),
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (".python-version", "3.11\n"),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let out = fix_deps(repo.path(), cache.path(), true, &path_with(None));
    let read = |f: &str| std::fs::read_to_string(repo.path().join(f)).unwrap();
    let (base, prod, dev) = (
        read("requirements/base.txt"),
        read("requirements/prod.txt"),
        read("requirements/dev.txt"),
    );
    assert!(base.contains("Flask==3.1.3\n"), "{base}\n{out}");
    assert!(base.contains("Werkzeug==3.1.6\n"), "{base}\n{out}");
    assert!(prod.starts_with("-r base.txt\n"), "{prod}");
    assert!(prod.contains("Jinja2==3.1.6\n"), "{prod}\n{out}");
    assert!(!prod.contains("itsdangerous==1.1.0"), "{prod}\n{out}");
    assert!(prod.contains("six==1.16.0\n"), "untouched: {prod}");
    assert!(!dev.contains("click==7.1.1"), "{dev}\n{out}");
    assert!(dev.contains("coverage==7.6.1\n"), "untouched: {dev}");
    assert!(
        out.contains("Jinja2 (in requirements/prod.txt) 2.11.3 -> 3.1.6"),
        "{out}"
    );
    // One fix for the set, not one per file that could clash.
    assert_eq!(out.matches("fix: raise ").count(), 1, "{out}");
    assert!(
        out.contains("Flask (in requirements/base.txt) 1.1.2 -> 3.1.3"),
        "{out}"
    );

    let Some(uv) = online_uv() else { return };
    let fresh = git_repo(&[
        ("requirements/base.txt", BASE),
        ("requirements/prod.txt", PROD),
        ("requirements/dev.txt", DEV),
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (".python-version", "3.11\n"),
    ]);
    let dir = fresh.path().join("requirements");
    assert!(
        uv_resolves(&uv, &dir, "prod.txt").is_err(),
        "HEAD's set must not install"
    );
    let out = fix_deps(fresh.path(), cache.path(), false, &path_with(Some(&uv)));
    for file in ["prod.txt", "dev.txt"] {
        uv_resolves(&uv, &dir, file)
            .unwrap_or_else(|e| panic!("{file} does not resolve:\n{}\n{e}\n{out}", read(file)));
    }
    assert!(out.contains("resolves with uv pip compile"), "{out}");
}
