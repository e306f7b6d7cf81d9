//! Packaging, run for real with the tools from the package index: the wheel maturin builds from
//! pyproject.toml (its files and metadata) installed into a fresh virtualenv, the source
//! distribution, `pipx install .` and `uv tool install .` of a clone, the pre-commit hook through
//! `pre-commit try-repo`, and the composite GitHub Action, whose steps run the way a runner runs
//! them and are compared with the commands README.md shows.
//!
//! tests/run.sh installs tests/requirements-packaging.txt into .venv-packaging and sets
//! FLASK_HARDEN_PACKAGING_VENV; without it each test says plainly that it was skipped.
//!
//! Every build shares this test run's target directory (CARGO_TARGET_DIR, which pip's isolated
//! builds pass on to cargo), so the release binary is compiled once. cargo decides freshness by
//! modification times, so the newest copies of the sources must be built first: those are the
//! clones `pre-commit try-repo` makes (one per run, each in a store of its own). Both hook runs
//! start together, so both clones are older than the binary the first one builds; every later
//! build reads the snapshot, older still.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const HOME_URL: &str = "https://github.com/flask-harden/flask-harden";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The target directory of this run: the test binary's `flask-harden` is `<target>/debug/…`.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_flask-harden"))
        .parent()
        .and_then(Path::parent)
        .expect("the target directory")
        .to_path_buf()
}

/// Says that a test was skipped, on the process's stderr: the harness captures `eprintln!`,
/// and a skip must show in the run's output.
fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED packaging::{test}: {why}");
}

/// The packaging tools' virtualenv, or why the tests are skipped.
fn tools() -> Result<PathBuf, String> {
    let Some(venv) = std::env::var_os("FLASK_HARDEN_PACKAGING_VENV") else {
        return Err(
            "FLASK_HARDEN_PACKAGING_VENV is not set: tests/run.sh sets it once it has \
                    installed tests/requirements-packaging.txt (maturin, pre-commit, pipx, uv, \
                    PyYAML) from the package index; it prints why when it could not"
                .into(),
        );
    };
    let venv = PathBuf::from(venv);
    for tool in ["python", "maturin", "pre-commit", "pipx", "uv"] {
        if !venv.join("bin").join(tool).exists() {
            return Err(format!("{} has no bin/{tool}", venv.display()));
        }
    }
    Ok(venv)
}

/// Builds (maturin, pip, pipx, uv, pre-commit's install) take turns: they share the target
/// directory and maturin writes its wheels to the same `wheels/` folder there.
fn building<T>(f: impl FnOnce() -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _turn = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// A command with the environment the packaging tests share: the tools first on PATH, the
/// shared target directory, and every cache and install folder inside `scratch` so nothing
/// from the machine's own installs or advisory cache leaks in.
fn command(venv: &Path, scratch: &Path, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PATH", search_path(&[venv.join("bin")]))
        .env("CARGO_TARGET_DIR", target_dir())
        .env("FLASK_HARDEN_CACHE_DIR", scratch.join("advisory-cache"))
        .env("PRE_COMMIT_HOME", scratch.join("pre-commit"))
        .env("PIPX_HOME", scratch.join("pipx"))
        .env("PIPX_BIN_DIR", scratch.join("pipx-bin"))
        .env("PIPX_MAN_DIR", scratch.join("pipx-man"))
        // pipx installs with uv when it finds one; pip is what it uses on a machine without
        // uv (GitHub's runners among them), and uv has its own test below.
        .env("PIPX_DEFAULT_BACKEND", "pip")
        .env("UV_TOOL_DIR", scratch.join("uv-tools"))
        .env("UV_TOOL_BIN_DIR", scratch.join("uv-bin"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONHOME");
    cmd
}

/// `first` then the machine's PATH without the folders that hold a `flask-harden` (a
/// `cargo install`ed one must not stand in for the one under test).
fn search_path(first: &[PathBuf]) -> std::ffi::OsString {
    let system = std::env::var_os("PATH").unwrap_or_default();
    let rest = std::env::split_paths(&system).filter(|d| !d.join("flask-harden").exists());
    std::env::join_paths(first.iter().cloned().chain(rest)).expect("a PATH")
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Runs `cmd` and fails the test with its output unless it exits 0.
fn ok(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let (code, text) = run(cmd);
    assert_eq!(code, 0, "{shown} exited {code}:\n{text}");
    text
}

/// Copies `files` (relative paths) from `from` into `to`.
fn copy_files(from: &Path, files: &[String], to: &Path) {
    for rel in files {
        let src = from.join(rel);
        if !src.is_file() {
            continue; // deleted in the working tree
        }
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().expect("a parent")).expect("create dirs");
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let files: Vec<String> = walk(from)
        .into_iter()
        .map(|p| {
            p.strip_prefix(from)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    copy_files(from, &files, to);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// This repository's files as they are now (tracked and new, not ignored).
fn source_files() -> Vec<String> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    out.stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Makes `dir` a git repository with everything in it committed.
fn commit_all(venv: &Path, scratch: &Path, dir: &Path) {
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "initial"],
    ] {
        ok(command(venv, scratch, "git").args(args).current_dir(dir));
    }
}

/// A git repository in `scratch` holding a copy of a fixture app.
fn app_repo(venv: &Path, scratch: &Path, fixture_name: &str, name: &str) -> PathBuf {
    let dir = scratch.join(name);
    copy_dir(&fixture(fixture_name), &dir);
    commit_all(venv, scratch, &dir);
    dir
}

struct Ready {
    venv: PathBuf,
    scratch: tempfile::TempDir,
    /// A committed copy of this repository as it is now: what `pre-commit try-repo`, `pipx
    /// install .` and the Action's checkout install.
    snapshot: PathBuf,
    /// `pre-commit try-repo` on the example app and on the hardened app.
    example_hook: (i32, String),
    hardened_hook: (i32, String),
    wheel: PathBuf,
}

enum Setup {
    Ready(Box<Ready>),
    Skipped(String),
    Failed(String),
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let venv = match tools() {
            Ok(v) => v,
            Err(why) => return Setup::Skipped(why),
        };
        match std::panic::catch_unwind(|| prepare(venv)) {
            Ok(ready) => Setup::Ready(Box::new(ready)),
            Err(e) => Setup::Failed(
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the packaging set-up panicked".into()),
            ),
        }
    })
}

/// The set-up every test but the source distribution's needs, or `None` when skipped.
fn ready(test: &str) -> Option<&'static Ready> {
    match setup() {
        Setup::Ready(r) => Some(r),
        Setup::Skipped(why) => {
            skipped(test, why);
            None
        }
        Setup::Failed(why) => panic!("packaging set-up failed: {why}"),
    }
}

fn prepare(venv: PathBuf) -> Ready {
    let scratch = tempfile::tempdir().expect("temp dir");
    let s = scratch.path();
    let snapshot = s.join("flask-harden");
    copy_files(root(), &source_files(), &snapshot);
    commit_all(&venv, s, &snapshot);

    // Each run clones the snapshot and pip-installs it: the release build.
    let example = app_repo(&venv, s, "example_app", "example-app");
    let hardened = app_repo(&venv, s, "hardened", "hardened-app");
    let started = Instant::now();
    // One after the other: maturin moves the binary it built out of the shared target folder,
    // so two builds at once take it from each other. The second build recompiles only the
    // crate (pre-commit's fresh clone has new file times); the dependencies are fresh.
    let (example_hook, hardened_hook) = building(|| {
        let first = try_repo(&venv, s, &snapshot, &example);
        (first, try_repo(&venv, s, &snapshot, &hardened))
    });
    eprintln!(
        "pre-commit installs and runs: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let wheels = s.join("wheels");
    building(|| {
        ok(command(&venv, s, venv.join("bin/maturin"))
            .args(["build", "--release", "--out"])
            .arg(&wheels)
            .current_dir(&snapshot))
    });
    eprintln!("wheel build: {:.1} s", started.elapsed().as_secs_f64());
    let built: Vec<PathBuf> = walk(&wheels)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(built.len(), 1, "one wheel: {built:?}");
    Ready {
        wheel: built[0].clone(),
        venv,
        scratch,
        snapshot,
        example_hook,
        hardened_hook,
    }
}

/// `pre-commit try-repo <snapshot> flask-harden --all-files` in `repo`. Its wheel goes to a
/// folder of its own (maturin's default is one `wheels/` in the shared target directory).
fn try_repo(venv: &Path, scratch: &Path, snapshot: &Path, repo: &Path) -> (i32, String) {
    let wheels = repo.with_extension("wheels");
    run(command(venv, scratch, venv.join("bin/pre-commit"))
        .env("MATURIN_PEP517_ARGS", format!("--out {}", wheels.display()))
        .arg("try-repo")
        .arg(snapshot)
        .args(["flask-harden", "--all-files", "--verbose"])
        .current_dir(repo))
}

impl Ready {
    fn path(&self) -> &Path {
        self.scratch.path()
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        command(&self.venv, self.path(), program)
    }

    fn tool(&self, name: &str) -> Command {
        self.cmd(self.venv.join("bin").join(name))
    }

    /// Parses YAML with PyYAML into JSON.
    fn yaml(&self, text: &str) -> Value {
        parse_yaml(&self.venv, text)
    }
}

fn parse_yaml(venv: &Path, text: &str) -> Value {
    let mut child = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write yaml");
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success(), "PyYAML rejected:\n{text}");
    serde_json::from_slice(&out.stdout).expect("json")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn the_wheel_holds_only_the_binary_with_cargo_toml_s_version_and_the_readme() {
    let Some(r) = ready("the_wheel_holds_only_the_binary_with_cargo_toml_s_version_and_the_readme")
    else {
        return;
    };
    let name = r.wheel.file_name().expect("name").to_string_lossy();
    assert!(
        name.starts_with(&format!("flask_harden-{VERSION}-py3-none-")),
        "{name}"
    );
    let script = "import email.parser, json, sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))\n\
        msg = email.parser.Parser().parsestr(z.read(meta).decode())\n\
        headers = {}\n\
        for k, v in msg.items(): headers.setdefault(k, []).append(v)\n\
        json.dump({'names': z.namelist(), 'headers': headers, 'body': msg.get_payload()}, sys.stdout)\n";
    let out = ok(r.tool("python").args(["-c", script]).arg(&r.wheel));
    let v = json_of(&out);

    let data = format!("flask_harden-{VERSION}.data/scripts/");
    let info = format!("flask_harden-{VERSION}.dist-info/");
    let names: Vec<&str> = v["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let scripts: Vec<&str> = names.iter().filter_map(|n| n.strip_prefix(&data)).collect();
    assert_eq!(
        scripts,
        [format!("flask-harden{}", std::env::consts::EXE_SUFFIX)],
        "only the flask-harden command (osv-convert needs a feature): {names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&data) || n.starts_with(&info)),
        "nothing but the command and the metadata: {names:?}"
    );

    let header = |k: &str| -> Vec<String> {
        v["headers"][k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(header("Name"), ["flask-harden"]);
    assert_eq!(header("Version"), [VERSION], "the version is Cargo.toml's");
    let summary = header("Summary").join("");
    assert!(
        summary.contains("Flask") && summary.contains("hardening"),
        "{summary}"
    );
    assert!(!header("Requires-Python").is_empty());
    assert!(
        header("Description-Content-Type")
            .join("")
            .starts_with("text/markdown"),
        "{:?}",
        header("Description-Content-Type")
    );
    let classifiers = header("Classifier");
    for c in [
        "Framework :: Flask",
        "Topic :: Security",
        "Programming Language :: Rust",
    ] {
        assert!(classifiers.iter().any(|x| x == c), "{c}: {classifiers:?}");
    }
    let urls = header("Project-URL");
    for url in [
        format!("Homepage, {HOME_URL}"),
        format!("Repository, {HOME_URL}"),
        format!("Issues, {HOME_URL}/issues"),
    ] {
        assert!(urls.contains(&url), "{url}: {urls:?}");
    }
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    assert_eq!(
        v["body"].as_str().expect("long description").trim(),
        readme.trim(),
        "the long description is README.md"
    );
}

#[test]
fn the_wheel_installs_into_a_fresh_virtualenv_and_audits_the_fixtures() {
    let Some(r) = ready("the_wheel_installs_into_a_fresh_virtualenv_and_audits_the_fixtures")
    else {
        return;
    };
    let venv = r.path().join("fresh-venv");
    ok(r.tool("python").args(["-m", "venv"]).arg(&venv));
    ok(r.cmd(venv.join("bin/python"))
        .args(["-m", "pip", "install", "-q", "--no-index"])
        .arg(&r.wheel));
    let fh = venv.join("bin/flask-harden");
    assert_eq!(
        ok(r.cmd(&fh).arg("--version")).trim(),
        format!("flask-harden {VERSION}")
    );

    let (code, out) = run(r.cmd(&fh).arg("check").arg(fixture("example_app")));
    assert_eq!(code, 1, "the example app fails:\n{out}");
    assert!(out.contains("FAIL secret-key"), "{out}");
    let (code, out) = run(r
        .cmd(&fh)
        .args(["check", "--format", "json"])
        .arg(fixture("example_app")));
    assert_eq!(code, 1, "{out}");
    let findings: usize = json_of(&out)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["findings"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(findings > 0, "{out}");

    let (code, out) = run(r
        .cmd(&fh)
        .args(["check", "--format", "json"])
        .arg(fixture("hardened")));
    assert_eq!(code, 0, "the hardened app passes:\n{out}");
    let v = json_of(&out);
    let items = v["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for item in items {
        // The deployment items have nothing to look at in an app without deployment files.
        assert!(
            item["status"] == "pass" || item["status"] == "not-applicable",
            "{item}"
        );
    }
    assert!(items.iter().any(|i| i["status"] == "pass"), "{out}");
}

#[test]
fn the_source_distribution_holds_what_cargo_builds_from_and_nothing_else() {
    const TEST: &str = "the_source_distribution_holds_what_cargo_builds_from_and_nothing_else";
    let venv = match tools() {
        Ok(v) => v,
        Err(why) => return skipped(TEST, &why),
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    let s = scratch.path();
    // A copy that is not a git repository, with build output, virtualenvs and a benchmark
    // corpus in it: what is left out must be left out by pyproject.toml, not by .gitignore.
    let tree = s.join("tree");
    let files = source_files();
    copy_files(root(), &files, &tree);
    for junk in [
        "target/release/flask-harden",
        ".venv-tests/bin/python",
        ".venv-packaging/bin/python",
        "bench/corpus/app/app.py",
    ] {
        let p = tree.join(junk);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(p, "junk").expect("write");
    }
    building(|| {
        ok(command(&venv, s, venv.join("bin/maturin"))
            .args(["sdist", "--out"])
            .arg(s.join("dist"))
            .current_dir(&tree))
    });
    let sdist = s.join(format!("dist/flask_harden-{VERSION}.tar.gz"));
    let listing = ok(Command::new("tar").arg("tzf").arg(&sdist));
    let prefix = format!("flask_harden-{VERSION}/");
    let inside: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|l| !l.is_empty() && !l.ends_with('/'))
        .collect();
    for f in &files {
        let needed = ["src/", "checklists/", "templates/"]
            .iter()
            .any(|d| f.starts_with(d))
            || ["Cargo.toml", "Cargo.lock", "pyproject.toml", "README.md"].contains(&f.as_str());
        if needed {
            assert!(inside.contains(&f.as_str()), "{f} is missing: {inside:?}");
        }
    }
    for f in &inside {
        assert!(
            ![
                "target/",
                ".venv",
                "bench/",
                "tests/",
                "screenshots/",
                ".ci/"
            ]
            .iter()
            .any(|d| f.starts_with(d)),
            "{f} does not belong in the source distribution"
        );
    }
}

#[test]
fn pipx_and_uv_tool_install_a_clone() {
    let Some(r) = ready("pipx_and_uv_tool_install_a_clone") else {
        return;
    };
    let started = Instant::now();
    building(|| {
        ok(r.tool("pipx")
            .args(["install", "."])
            .current_dir(&r.snapshot))
    });
    eprintln!("pipx install .: {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    building(|| {
        ok(r.tool("uv")
            .args(["tool", "install", "."])
            .current_dir(&r.snapshot))
    });
    eprintln!(
        "uv tool install .: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for bin in ["pipx-bin", "uv-bin"] {
        let fh = r.path().join(bin).join("flask-harden");
        assert_eq!(
            ok(r.cmd(&fh).arg("--version")).trim(),
            format!("flask-harden {VERSION}"),
            "{}",
            fh.display()
        );
    }
}

#[test]
fn the_pre_commit_hook_fails_on_the_example_app() {
    let Some(r) = ready("the_pre_commit_hook_fails_on_the_example_app") else {
        return;
    };
    let (code, out) = &r.example_hook;
    // 1 is a hook that failed; an install that failed is 3.
    assert_eq!(*code, 1, "{out}");
    assert!(
        out.contains("flask-harden") && out.contains("Failed"),
        "{out}"
    );
    assert!(out.contains("- exit code: 1"), "{out}");
    assert!(out.contains("FAIL secret-key"), "{out}");
    assert!(
        out.contains("Summary: ") && !out.contains("Summary: 0 failed"),
        "{out}"
    );
}

#[test]
fn the_pre_commit_hook_passes_on_the_hardened_app() {
    let Some(r) = ready("the_pre_commit_hook_passes_on_the_hardened_app") else {
        return;
    };
    let (code, out) = &r.hardened_hook;
    assert_eq!(*code, 0, "{out}");
    assert!(out.contains("Passed"), "{out}");
    assert!(out.contains("Summary: 0 failed"), "{out}");
}

/// Runs workflow or composite-action steps the way a GitHub runner does, for what these steps
/// use: `run` steps in bash with their `env`, `$GITHUB_PATH`, `$GITHUB_OUTPUT` and step
/// outputs; `if:` conditions made of `==`/`!=` comparisons joined by `&&`, or `always()`;
/// `uses:` steps are recorded, not run. Any other expression fails the test.
struct Runner<'a> {
    r: &'a Ready,
    home: PathBuf,
    workspace: PathBuf,
    inputs: BTreeMap<String, String>,
    /// Extra environment (where pip finds the "published" wheel).
    env: Vec<(String, String)>,
    /// The runner's PATH before `$GITHUB_PATH`.
    path: Vec<PathBuf>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The exit code of the step that failed.
    failed: Option<i32>,
    uses: Vec<(String, BTreeMap<String, String>)>,
    ran: Vec<String>,
    log: String,
}

impl<'a> Runner<'a> {
    fn new(r: &'a Ready, name: &str, workspace: PathBuf) -> Self {
        let home = r.path().join(name);
        std::fs::create_dir_all(&home).expect("runner dir");
        Runner {
            r,
            path: vec![r.venv.join("bin")],
            home,
            workspace,
            inputs: BTreeMap::new(),
            env: Vec::new(),
            outputs: BTreeMap::new(),
            failed: None,
            uses: Vec::new(),
            ran: Vec::new(),
            log: String::new(),
        }
    }

    /// `flask-harden` as a PyPI release: pip finds the built wheel in its folder (the index
    /// stays on, pipx upgrades pip from it).
    fn published(mut self) -> Self {
        let wheels = self.r.wheel.parent().expect("wheels").to_path_buf();
        self.env
            .push(("PIP_FIND_LINKS".into(), wheels.to_string_lossy().into()));
        self
    }

    /// An output of the check step; the log when the step did not run.
    fn check_output(&self, name: &str) -> &str {
        self.outputs
            .get("check")
            .and_then(|o| o.get(name))
            .unwrap_or_else(|| panic!("no check output {name}:\n{}", self.log))
    }

    fn pipx_bin(&self) -> PathBuf {
        self.home.join("pipx-bin")
    }

    fn with_inputs(mut self, action: &Value, given: &[(&str, &str)]) -> Self {
        let declared = action["inputs"].as_object().expect("inputs");
        for (name, input) in declared {
            let default = match &input["default"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => panic!("input {name}: a default that is not a string: {other}"),
            };
            self.inputs.insert(name.clone(), default);
        }
        for (name, value) in given {
            assert!(declared.contains_key(*name), "no input {name}");
            self.inputs.insert(name.to_string(), value.to_string());
        }
        self
    }

    fn expr(&self, e: &str) -> String {
        let e = e.trim();
        if let Some(name) = e.strip_prefix("inputs.") {
            return self
                .inputs
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("an undeclared input: {e}"));
        }
        if e == "github.action_path" {
            return self.r.snapshot.to_string_lossy().into_owned();
        }
        if let Some((id, name)) = e
            .strip_prefix("steps.")
            .and_then(|s| s.split_once(".outputs."))
        {
            return self
                .outputs
                .get(id)
                .and_then(|o| o.get(name))
                .cloned()
                .unwrap_or_default();
        }
        panic!("an expression this runner does not know: {e}");
    }

    fn substitute(&self, s: &str) -> String {
        let re = regex::Regex::new(r"\$\{\{(.*?)\}\}").expect("regex");
        re.replace_all(s, |c: &regex::Captures| self.expr(&c[1]))
            .into_owned()
    }

    fn condition(&self, c: &str) -> bool {
        let c = c.trim();
        let c = c
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(c)
            .trim();
        if c == "always()" {
            return true;
        }
        // Without a status function a condition means `success() && …`.
        if self.failed.is_some() {
            return false;
        }
        c.split("&&").all(|part| {
            let (lhs, equal, rhs) = if let Some((l, r)) = part.split_once("!=") {
                (l, false, r)
            } else if let Some((l, r)) = part.split_once("==") {
                (l, true, r)
            } else {
                panic!("a condition this runner does not know: {c}")
            };
            let literal = rhs
                .trim()
                .strip_prefix('\'')
                .and_then(|r| r.strip_suffix('\''))
                .unwrap_or_else(|| panic!("not a quoted literal: {rhs}"));
            (self.expr(lhs) == literal) == equal
        })
    }

    fn steps(&mut self, steps: &Value) {
        for (i, step) in steps.as_array().expect("steps").iter().enumerate() {
            let go = match &step["if"] {
                Value::String(c) => self.condition(c),
                Value::Null => self.failed.is_none(),
                other => panic!("step {i}: if is {other}"),
            };
            let name = step["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("step {i}"));
            if !go {
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                let with = step["with"]
                    .as_object()
                    .map(|w| {
                        w.iter()
                            .map(|(k, v)| {
                                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                                (k.clone(), self.substitute(&v))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.uses.push((uses.to_string(), with));
                self.ran.push(name);
                continue;
            }
            let script = step["run"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: neither run nor uses"));
            // GitHub's bash: `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`, no
            // shell in a workflow step is `bash -e {0}`.
            let mut args: Vec<&str> = match step["shell"].as_str() {
                Some("bash") => vec!["--noprofile", "--norc", "-eo", "pipefail"],
                None => vec!["-e"],
                Some(other) => panic!("{name}: shell {other}"),
            };
            let file = self.home.join(format!("step-{}.sh", self.ran.len()));
            std::fs::write(&file, script).expect("script");
            let output_file = self.home.join(format!("output-{}", self.ran.len()));
            std::fs::write(&output_file, "").expect("output file");
            let github_path = self.home.join("github-path");
            if !github_path.exists() {
                std::fs::write(&github_path, "").expect("path file");
            }
            let added: Vec<PathBuf> = std::fs::read_to_string(&github_path)
                .expect("path file")
                .lines()
                .rev()
                .map(PathBuf::from)
                .collect();
            let file_arg = file.to_string_lossy().into_owned();
            args.push(&file_arg);
            let mut cmd = self.r.cmd("bash");
            cmd.args(&args)
                .current_dir(&self.workspace)
                .env("PATH", search_path(&[added, self.path.clone()].concat()))
                .env("PIPX_HOME", self.home.join("pipx"))
                .env("PIPX_BIN_DIR", self.pipx_bin())
                .env("PIPX_MAN_DIR", self.home.join("pipx-man"))
                .env("GITHUB_WORKSPACE", &self.workspace)
                .env("GITHUB_ACTION_PATH", &self.r.snapshot)
                .env("GITHUB_PATH", &github_path)
                .env("GITHUB_OUTPUT", &output_file)
                .env("RUNNER_TEMP", &self.home);
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            if let Some(env) = step["env"].as_object() {
                for (k, v) in env {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    cmd.env(k, self.substitute(&v));
                }
            }
            let (code, text) = building(|| run(&mut cmd));
            self.log
                .push_str(&format!("## {name} (exit {code})\n{text}\n"));
            if let Some(id) = step["id"].as_str() {
                let written = std::fs::read_to_string(&output_file).expect("outputs");
                let outputs = self.outputs.entry(id.to_string()).or_default();
                for line in written.lines() {
                    let (k, v) = line
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{name}: an output line {line:?}"));
                    outputs.insert(k.to_string(), v.to_string());
                }
            }
            self.ran.push(name);
            if code != 0 {
                self.failed = Some(code);
            }
        }
    }

    fn sarif(&self, file: &str) -> Value {
        let path = self.workspace.join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.log));
        json_of(&text)
    }
}

/// The yaml blocks of README.md, parsed (they sit in list items, indented).
fn readme_yaml_blocks(r: &Ready) -> Vec<Value> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match current.as_mut() {
            None if trimmed == "```yaml" => current = Some((indent, Vec::new())),
            None => {}
            Some((_, body)) if trimmed == "```" => {
                blocks.push(r.yaml(&body.join("\n")));
                current = None;
            }
            Some((ind, body)) => body.push(line.get(*ind..).unwrap_or("")),
        }
    }
    blocks
}

/// The steps in `v` (a list of steps, or a workflow's jobs), with their job's name.
fn steps_in(v: &Value) -> Vec<Value> {
    if let Some(list) = v.as_array() {
        return list.clone();
    }
    v["jobs"]
        .as_object()
        .map(|jobs| {
            jobs.values()
                .flat_map(|j| j["steps"].as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn rules(sarif: &Value) -> Vec<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["ruleId"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_action_is_valid_and_runs_the_readme_commands() {
    let Some(r) = ready("the_action_is_valid_and_runs_the_readme_commands") else {
        return;
    };
    let action = r.yaml(&std::fs::read_to_string(root().join("action.yml")).expect("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    assert!(action["name"].is_string() && action["description"].is_string());
    for input in ["path", "items", "exit-zero", "version"] {
        assert!(
            action["inputs"][input]["description"].is_string(),
            "input {input}"
        );
    }
    let steps = &action["runs"]["steps"];
    for step in steps.as_array().expect("steps") {
        if step["run"].is_string() {
            assert_eq!(
                step["shell"], "bash",
                "a composite run step names its shell"
            );
        }
    }
    assert!(
        steps
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["uses"] == "github/codeql-action/upload-sarif@v3"),
        "the action uploads to code scanning"
    );

    // Where the README and docs/github-actions.yml use the action, they give inputs it has.
    let blocks = readme_yaml_blocks(r);
    let docs = r.yaml(
        &std::fs::read_to_string(root().join("docs/github-actions.yml")).expect("docs workflow"),
    );
    let mut uses_action = 0;
    for v in blocks.iter().chain([&docs]) {
        for step in steps_in(v) {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("flask-harden/flask-harden@"))
            {
                uses_action += 1;
                for key in step["with"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    assert!(action["inputs"][key].is_object(), "no input {key}");
                }
            }
        }
    }
    assert!(
        uses_action >= 2,
        "the README and docs/github-actions.yml use the action"
    );
    assert_eq!(docs["permissions"]["security-events"], "write");

    // The README's steps, written out, and the action with its defaults (a release from the
    // "index"), on the example app: the same report, the same upload, the same failure.
    let manual = blocks
        .iter()
        .map(steps_in)
        .find(|s| s.iter().any(|st| st["run"] == "pipx install flask-harden"))
        .expect("README shows the commands the action runs");
    let ws = app_repo(&r.venv, r.path(), "example_app", "ws-readme");
    let mut by_hand = Runner::new(r, "runner-readme", ws).published();
    by_hand.path.insert(0, by_hand.pipx_bin()); // on a runner's PATH already
    by_hand.steps(&Value::Array(manual));
    assert_eq!(by_hand.failed, Some(1), "{}", by_hand.log);
    assert_eq!(
        by_hand.uses,
        [(
            "github/codeql-action/upload-sarif@v3".to_string(),
            BTreeMap::from([
                ("category".to_string(), "flask-harden".to_string()),
                ("sarif_file".to_string(), "results.sarif".to_string()),
            ])
        )]
    );

    let ws = app_repo(&r.venv, r.path(), "example_app", "ws-action");
    let mut act = Runner::new(r, "runner-action", ws)
        .published()
        .with_inputs(&action, &[("version", VERSION)]);
    act.steps(steps);
    assert_eq!(act.failed, Some(1), "{}", act.log);
    assert_eq!(act.check_output("exit-code"), "1", "{}", act.log);
    assert_eq!(act.check_output("sarif-file"), "results.sarif");
    assert_eq!(act.uses, by_hand.uses, "the same upload");
    assert_eq!(
        std::fs::read_to_string(act.home.join("github-path"))
            .expect("GITHUB_PATH")
            .trim(),
        act.pipx_bin().to_string_lossy(),
        "the action puts pipx's bin folder on PATH"
    );
    let (mut a, mut b) = (act.sarif("results.sarif"), by_hand.sarif("results.sarif"));
    assert!(!rules(&a).is_empty());
    // Each run names its own workspace as the root; the rest is the same report.
    for (v, runner) in [(&mut a, &act), (&mut b, &by_hand)] {
        let base = v["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].take();
        assert!(
            base.as_str().is_some_and(|u| u.contains(
                runner
                    .workspace
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .as_ref()
            )),
            "{base}"
        );
    }
    assert_eq!(a, b, "the action reports what the README's commands report");

    // The action's checkout, some items, --exit-zero, no upload.
    let ws = app_repo(&r.venv, r.path(), "example_app", "ws-items");
    let mut items = Runner::new(r, "runner-items", ws).with_inputs(
        &action,
        &[
            ("items", "csrf, secret-key"),
            ("exit-zero", "true"),
            ("upload", "false"),
            ("sarif-file", "flask-harden.sarif"),
        ],
    );
    items.steps(steps);
    assert_eq!(items.failed, None, "{}", items.log);
    assert_eq!(items.check_output("exit-code"), "0");
    assert!(items.uses.is_empty(), "no upload");
    let found = rules(&items.sarif("flask-harden.sarif"));
    assert!(found.iter().any(|r| r.starts_with("csrf/")), "{found:?}");
    assert!(
        found.iter().any(|r| r.starts_with("secret-key/")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .all(|r| r.starts_with("csrf/") || r.starts_with("secret-key/")),
        "{found:?}"
    );

    // The hardened app passes: uploaded, job green.
    let ws = app_repo(&r.venv, r.path(), "hardened", "ws-hardened");
    let mut pass = Runner::new(r, "runner-hardened", ws)
        .published()
        .with_inputs(&action, &[("version", VERSION)]);
    pass.steps(steps);
    assert_eq!(pass.failed, None, "{}", pass.log);
    assert_eq!(pass.check_output("exit-code"), "0");
    assert_eq!(pass.uses.len(), 1);
    assert!(rules(&pass.sarif("results.sarif")).is_empty());

    // A scan that cannot run: nothing uploaded, the job fails with 2.
    let ws = app_repo(&r.venv, r.path(), "hardened", "ws-missing");
    let mut missing = Runner::new(r, "runner-missing", ws)
        .published()
        .with_inputs(&action, &[("version", VERSION), ("path", "no-such-folder")]);
    missing.steps(steps);
    assert_eq!(missing.failed, Some(2), "{}", missing.log);
    assert!(missing.uses.is_empty());
}
