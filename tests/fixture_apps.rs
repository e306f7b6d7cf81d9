//! Fixture apps shaped like real ones (tests/fixtures/apps/), each with its own test suite.
//! Each is committed in a fresh repository and hardened with `fix --unsafe --commit`; its suite
//! must then pass on the branch exactly as on HEAD, run in an environment built by uv from the
//! branch's own requirements files with nothing else set (no SECRET_KEY, no extra packages),
//! and every requirements file the branch changes must still resolve (`uv pip compile`).
//! `fix --verify` runs end to end, and `check`, `report` and plain `fix` are shown never to run
//! the project's code.
//!
//! Needs the tests' venv (FLASK_HARDEN_TEST_PYTHON) with uv in it; tests/run.sh sets both up.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use flask_harden::verify::outcome::{self, Outcome, Runner, SuiteResult};
use tempfile::TempDir;

fn fixture(app: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apps")
        .join(app)
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The tests' python and the uv beside it.
struct Tools {
    python: PathBuf,
    uv: PathBuf,
    /// The venv's bin folder, put first on PATH for `fix --verify`.
    bin: PathBuf,
}

fn tools() -> Option<Tools> {
    let python = match std::env::var_os("FLASK_HARDEN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            eprintln!(
                "SKIPPED fixture app test: FLASK_HARDEN_TEST_PYTHON is not set; run tests/run.sh, \
                 which creates .venv-tests with Flask and uv and sets it"
            );
            return None;
        }
    };
    let bin = python
        .parent()
        .expect("python in a bin folder")
        .to_path_buf();
    let uv = bin.join("uv");
    assert!(
        uv.is_file(),
        "{} is missing: tests/requirements-runtime.txt names uv, and tests/run.sh installs it",
        uv.display()
    );
    Some(Tools { python, uv, bin })
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The binary under test: this build's, or FLASK_HARDEN_BIN (an installed or copied binary).
fn flask_harden_bin() -> PathBuf {
    match std::env::var_os("FLASK_HARDEN_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_flask-harden")),
    }
}

/// The app committed on `main` in a fresh repository (`repo/`), with room beside it for
/// worktrees.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new(app: &str, extra: &[(&str, &str)]) -> Self {
        let dir = TempDir::new().unwrap();
        let root = dir.path().join("repo");
        // The fixtures' .gitignore keeps caches a local pytest run leaves out of the commit.
        let copied = Command::new("cp")
            .arg("-R")
            .arg(fixture(app))
            .arg(&root)
            .status()
            .expect("cp runs");
        assert!(copied.success(), "copying {app}");
        for (path, content) in extra {
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["config", "user.name", "Test"]);
        git(&root, &["config", "user.email", "test@example.com"]);
        git(&root, &["config", "core.autocrlf", "false"]);
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", app]);
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// A worktree of `rev` beside the repository.
    fn worktree(&self, rev: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(format!("wt-{}", rev.replace('/', "-")));
        git(
            &self.root(),
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                path.to_str().unwrap(),
                rev,
            ],
        );
        path
    }

    fn flask_harden(&self, args: &[&str], path_first: Option<&Path>) -> Output {
        let mut cmd = Command::new(flask_harden_bin());
        cmd.args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("VIRTUAL_ENV")
            .env_remove("SECRET_KEY");
        if let Some(bin) = path_first {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", bin.display()));
        }
        cmd.output().expect("flask-harden runs")
    }
}

/// Held while a venv is built: one uv at a time on a small machine, and none built twice.
fn venv_lock() -> &'static Mutex<()> {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| Mutex::new(()))
}

/// A venv with `file` (and what it includes) installed by uv from the package index. Venvs
/// live in Cargo's temporary folder for tests, named by the interpreter and the content of the
/// requirements files, so each set is built once (uv's cache makes that quick) and reused by
/// later runs.
fn venv_for(tools: &Tools, tree: &Path, file: &str) -> Result<PathBuf, String> {
    let mut key = format!("{}\0{file}", tools.python.display());
    let mut names: Vec<_> = fs::read_dir(tree)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("requirements") && n.ends_with(".txt"))
        .collect();
    names.sort();
    for n in &names {
        key.push_str(&format!(
            "\0{n}\0{}",
            fs::read_to_string(tree.join(n)).unwrap()
        ));
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&key, &mut hasher);
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fixture-app-venvs")
        .join(format!("{:016x}", std::hash::Hasher::finish(&hasher)));
    let complete = venv.join(".complete");
    let _held = venv_lock().lock().unwrap_or_else(|e| e.into_inner());
    if complete.is_file() {
        return Ok(venv);
    }
    let _ = fs::remove_dir_all(&venv);
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(&tools.uv)
            .args(args)
            .current_dir(tree)
            .output()
            .map_err(|e| format!("uv: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("uv {}:\n{}", args.join(" "), text(&out.stderr)))
        }
    };
    let venv_s = venv.to_str().unwrap().to_string();
    run(&[
        "venv",
        "-q",
        "--python",
        tools.python.to_str().unwrap(),
        &venv_s,
    ])?;
    run(&[
        "pip",
        "install",
        "-q",
        "--python",
        &format!("{venv_s}/bin/python"),
        "-r",
        file,
    ])?;
    fs::write(&complete, &key).map_err(|e| format!("{}: {e}", complete.display()))?;
    Ok(venv)
}

/// Run the app's pytest suite in `tree` with the venv's python and nothing else in the
/// environment.
fn run_suite(venv: &Path, tree: &Path) -> (SuiteResult, String) {
    let out = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-rA", "-p", "no:cacheprovider"])
        .current_dir(tree)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", venv.join("bin").display()),
        )
        .env("HOME", tree)
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("pytest runs");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let lines: Vec<String> = all.lines().map(str::to_string).collect();
    let result = SuiteResult {
        tests: outcome::parse(Runner::Pytest, &lines),
        exit_code: out.status.code(),
        timed_out: false,
    };
    (result, all)
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Ids of the checklist items `check` fails.
fn failing_items(repo: &Repo) -> Vec<String> {
    let check = repo.flask_harden(&["check", ".", "--format", "json", "--no-fixes"], None);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["status"] == "fail")
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Harden `app` with `fix --unsafe --commit` and hold the branch to HEAD's suite result;
/// `install` is the requirements file that sets up its tests.
fn suite_passes_on_the_fix_branch(app: &str, install: &str) {
    let Some(tools) = tools() else {
        return;
    };
    let repo = Repo::new(app, &[]);
    let failing = failing_items(&repo);
    assert!(
        failing.len() >= 3,
        "{app} should fail several checklist items: {failing:?}"
    );

    let head_tree = repo.worktree("main");
    let head_venv = venv_for(&tools, &head_tree, install)
        .unwrap_or_else(|e| panic!("{app}: HEAD's requirements do not install: {e}"));
    let (head, head_out) = run_suite(&head_venv, &head_tree);
    assert!(
        head.succeeded() && head.count(Outcome::Passed) >= 8,
        "{app}: the suite must pass on HEAD:\n{head_out}"
    );
    assert_eq!(head.count(Outcome::Passed), head.tests.len(), "{head_out}");

    let fix = repo.flask_harden(
        &["fix", "--unsafe", "--commit", "--branch", "hardened", "."],
        None,
    );
    let fix_out = text(&fix.stdout);
    assert!(fix.status.success(), "{fix_out}\n{}", text(&fix.stderr));
    let commits = git(&repo.root(), &["log", "--format=%s", "main..hardened"]);

    let branch_tree = repo.worktree("hardened");
    let mut problems = Vec::new();
    let changed = git(&repo.root(), &["diff", "--name-only", "main", "hardened"]);
    for file in changed.lines().filter(|f| {
        let name = f.rsplit('/').next().unwrap_or(f);
        name.starts_with("requirements") && name.ends_with(".txt")
    }) {
        let out = Command::new(&tools.uv)
            .args(["pip", "compile", "-q", "--python"])
            .arg(&tools.python)
            .args([file, "-o", "/dev/null"])
            .current_dir(&branch_tree)
            .output()
            .expect("uv runs");
        if !out.status.success() {
            problems.push(format!(
                "{file} as changed on the branch does not resolve (uv pip compile):\n{}",
                tail(&text(&out.stderr), 6)
            ));
        }
    }
    match venv_for(&tools, &branch_tree, install) {
        Err(e) => problems.push(format!(
            "the branch's requirements do not install: {}",
            tail(&e, 6)
        )),
        Ok(venv) => {
            let (after, out) = run_suite(&venv, &branch_tree);
            let broken = outcome::newly_broken(&head, &after, Runner::Pytest);
            if !broken.is_empty() || after.tests != head.tests {
                let list: Vec<String> = broken
                    .iter()
                    .map(|b| format!("  {}: {}", b.id, b.now))
                    .collect();
                let errors: Vec<&str> = out
                    .lines()
                    .filter(|l| {
                        l.starts_with("E ") || l.starts_with("FAILED") || l.starts_with("ERROR")
                    })
                    .take(12)
                    .collect();
                problems.push(format!(
                    "the suite no longer passes as on HEAD ({} on HEAD, {} on the branch); \
                     newly broken:\n{}\nfirst errors:\n{}",
                    head.summary(),
                    after.summary(),
                    list.join("\n"),
                    errors.join("\n")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{app} after `fix --unsafe --commit` (commits: {}):\n{}",
        commits.trim().replace('\n', " | "),
        problems.join("\n\n")
    );
}

#[test]
fn factory_with_config_classes_passes_its_suite_on_the_fix_branch() {
    suite_passes_on_the_fix_branch("factory_notes", "requirements-dev.txt");
}

#[test]
fn single_module_app_passes_its_suite_on_the_fix_branch() {
    suite_passes_on_the_fix_branch("guestbook", "requirements.txt");
}

#[test]
fn pinned_flask1_stack_passes_its_suite_on_the_fix_branch() {
    suite_passes_on_the_fix_branch("legacy_shop", "requirements-test.txt");
}

#[test]
fn forms_built_in_views_pass_their_suite_on_the_fix_branch() {
    suite_passes_on_the_fix_branch("helpdesk", "requirements-dev.txt");
}

#[test]
fn json_api_beside_forms_passes_its_suite_on_the_fix_branch() {
    suite_passes_on_the_fix_branch("inventory", "requirements-dev.txt");
}

/// The verdict lines of `fix --verify`: item → kept.
fn verdicts(stdout: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut in_verify = false;
    for line in stdout.lines() {
        if line.starts_with("== verify:") {
            in_verify = true;
            continue;
        }
        if in_verify && line.is_empty() {
            break;
        }
        let Some(rest) = line.strip_prefix("  ") else {
            continue;
        };
        if rest.starts_with(' ') || rest.starts_with("on HEAD") || rest.starts_with("planned") {
            continue;
        }
        if let Some((item, verdict)) = rest.split_once(": ") {
            out.insert(
                item.to_string(),
                verdict.ends_with("; kept") || verdict.ends_with("kept (--keep-breaking)"),
            );
        }
    }
    out
}

/// `fix --verify --commit` on an app without a virtualenv: it says plainly that it runs the
/// project's code, builds a temporary venv from the requirements, runs the suite on HEAD and
/// after each fix, commits exactly the fixes it reports as kept, and the branch it makes
/// passes the suite as HEAD does, whatever the generators of the day do.
#[test]
fn verify_commits_only_fixes_that_keep_the_suite_passing() {
    let Some(tools) = tools() else {
        return;
    };
    let repo = Repo::new("guestbook", &[]);
    let out = repo.flask_harden(
        &[
            "fix",
            "--unsafe",
            "--commit",
            "--branch",
            "verified",
            "--verify",
            "--verify-timeout",
            "120",
            ".",
        ],
        Some(&tools.bin),
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.starts_with("flask-harden: --verify runs this project's own test suite"),
        "{stderr}"
    );
    assert!(
        stderr.contains("verify: building a temporary virtualenv from requirements.txt"),
        "{stderr}"
    );
    // Output is streamed, labelled by run.
    assert!(stderr.contains("  [on HEAD] "), "{stderr}");
    assert!(
        stdout.contains("  on HEAD: 9 passed (exit 0)\n"),
        "{stdout}"
    );
    let verdicts = verdicts(&stdout);
    assert!(verdicts.len() >= 3, "{verdicts:?}\n{stdout}");
    let kept: Vec<String> = verdicts
        .iter()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i.clone())
        .collect();
    assert!(!kept.is_empty(), "{stdout}");
    let mut committed: Vec<String> = git(&repo.root(), &["log", "--format=%s", "main..verified"])
        .lines()
        .filter_map(|s| {
            s.strip_prefix("harden(")
                .and_then(|s| s.split_once(')'))
                .map(|(i, _)| i.to_string())
        })
        .collect();
    committed.sort();
    assert_eq!(committed, kept, "{stdout}");
    // The user's checkout is as it was.
    assert_eq!(git(&repo.root(), &["status", "--porcelain"]), "");
    assert_eq!(
        git(&repo.root(), &["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );

    let branch = repo.worktree("verified");
    let venv = venv_for(&tools, &branch, "requirements.txt").expect("the branch installs");
    let (after, suite) = run_suite(&venv, &branch);
    assert!(after.succeeded(), "{suite}");
    assert_eq!(after.count(Outcome::Passed), 9, "{suite}");
}

/// A test that asserts the insecure old behaviour (a script reads the theme cookie, so it must
/// not be HttpOnly): the session fix breaks it, `--verify` names the test and leaves the fix
/// off the branch; `--keep-breaking` keeps it and still names the test.
#[test]
fn verify_leaves_out_a_fix_that_breaks_a_test() {
    let Some(tools) = tools() else {
        return;
    };
    const SCRIPT_TEST: &str = r#"import app as guestbook


def test_the_theme_script_can_read_the_cookie():
    """static/theme.js reads the theme cookie before the page renders."""
    client = guestbook.app.test_client()
    response = client.get("/theme/dark")
    assert "HttpOnly" not in response.headers["Set-Cookie"]
"#;
    let repo = Repo::new("guestbook", &[("tests/test_theme_script.py", SCRIPT_TEST)]);
    let args = [
        "fix",
        "--item",
        "session",
        "--commit",
        "--branch",
        "session-only",
        "--verify",
        ".",
    ];
    let out = repo.flask_harden(&args, Some(&tools.bin));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("  on HEAD: 10 passed (exit 0)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  session: newly breaks 1 test (9 passed, 1 failed (exit 1)); left out (rerun with \
             --keep-breaking to keep it)\n      \
             tests/test_theme_script.py::test_the_theme_script_can_read_the_cookie: failed\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Nothing to commit: no fix applies."),
        "{stdout}"
    );
    let branches = git(&repo.root(), &["branch", "--list", "session-only"]);
    assert_eq!(branches, "", "no branch for a fix that was left out");

    let mut keep = args.to_vec();
    keep.insert(1, "--keep-breaking");
    let out = repo.flask_harden(&keep, Some(&tools.bin));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "  session: newly breaks 1 test (9 passed, 1 failed (exit 1)); kept (--keep-breaking)\n"
        ),
        "{stdout}"
    );
    let log = git(&repo.root(), &["log", "--format=%s", "main..session-only"]);
    assert!(log.starts_with("harden(session)"), "{log}");
}

/// `check`, `report` and `fix` (diff, --commit, --apply) never run the project's code: a
/// conftest.py and the app module write a marker file when Python loads them. `fix --verify`
/// does load them, which shows the marker works.
#[test]
fn only_verify_runs_the_project_code() {
    let marker_dir = TempDir::new().unwrap();
    let marker = marker_dir.path().join("ran");
    let write_marker = format!(
        "with open({:?}, \"a\") as _marker:\n    _marker.write(__name__ + \"\\n\")\n",
        marker.to_str().unwrap()
    );
    let app = fs::read_to_string(fixture("guestbook").join("app.py")).unwrap();
    let app = app.replace("ENTRIES = []\n", &format!("ENTRIES = []\n\n{write_marker}"));
    let repo = Repo::new(
        "guestbook",
        &[("tests/conftest.py", &write_marker), ("app.py", &app)],
    );
    for args in [
        &["check", "."][..],
        &["check", ".", "--format", "json"],
        &["report", ".", "--format", "html"],
        &["fix", "."],
        &["fix", "--unsafe", "--commit", "--branch", "plain"],
        &["fix", "--unsafe", "--apply", "."],
    ] {
        let out = repo.flask_harden(args, None);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !marker.exists(),
            "`flask-harden {}` ran the project's code",
            args.join(" ")
        );
    }
    let Some(tools) = tools() else {
        return;
    };
    git(&repo.root(), &["checkout", "-q", "--", "."]);
    let out = repo.flask_harden(
        &["fix", "--item", "debug", "--verify", "."],
        Some(&tools.bin),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ran = fs::read_to_string(&marker).expect("--verify ran the suite");
    assert!(ran.contains("conftest"), "{ran}");
    assert!(ran.contains("app"), "{ran}");
}

/// Without a tests/ folder or a conftest.py the suite is `python -m unittest`, run with the
/// repository's `.venv`; each test's outcome is read from its verbose output.
#[test]
fn verify_runs_unittest_in_the_repository_venv() {
    let Some(tools) = tools() else {
        return;
    };
    const APP: &str = r#"from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def index():
    return "hello"


@app.route("/echo", methods=["POST"])
def echo():
    return request.get_json()["word"]


if __name__ == "__main__":
    app.run(debug=True)
"#;
    const TESTS: &str = r#"import unittest

from app import app


class AppTests(unittest.TestCase):
    def setUp(self):
        self.client = app.test_client()

    def test_index(self):
        self.assertEqual(self.client.get("/").data, b"hello")

    def test_echo(self):
        self.assertEqual(self.client.post("/echo", json={"word": "hi"}).data, b"hi")

    @unittest.skip("needs a browser")
    def test_in_a_browser(self):
        pass
"#;
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("app.py"), APP).unwrap();
    fs::write(root.join("test_app.py"), TESTS).unwrap();
    fs::write(root.join(".gitignore"), ".venv\n__pycache__/\n").unwrap();
    let venv = tools.python.parent().and_then(Path::parent).unwrap();
    std::os::unix::fs::symlink(venv, root.join(".venv")).unwrap();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["config", "user.name", "Test"]);
    git(&root, &["config", "user.email", "test@example.com"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "app"]);
    let repo = Repo { dir };
    let out = repo.flask_harden(&["fix", "--item", "debug", "--verify", "."], None);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== verify: `python -m unittest` in .venv in the repository ==\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  on HEAD: 2 passed, 1 skipped (exit 0)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  debug: no test newly broken (2 passed, 1 skipped (exit 0)); kept\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("test_echo (test_app.AppTests.test_echo) ... ok"),
        "{stderr}"
    );
}
