//! Hostile repositories, git side: invalid branch names, locked indexes, bare repositories,
//! odd paths in HEAD's tree. Every test builds a real repository in a temp dir.

mod common;

use std::path::Path;
use std::process::Command;

use common::{git, repo};

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

/// What the README promises: `--commit` stops on a locked index; `check` refuses a bare
/// repository or a `.git` folder; `check --help` lists every item of the checklist.
#[test]
fn readme_promises_hold() {
    let dir = committed(&[("app.py", APP)]);
    let p = dir.path();
    let before = refs(p);
    std::fs::write(p.join(".git/index.lock"), b"").expect("lock");
    let (code, out, err) = run_in(p, &["fix", "--commit"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("index is locked") && err.contains("index.lock"),
        "{err}"
    );
    assert_eq!(refs(p), before);
    std::fs::remove_file(p.join(".git/index.lock")).expect("unlock");

    let bare = tempfile::tempdir().expect("temp dir");
    let b = bare.path().join("app.git");
    let out = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(p)
        .arg(&b)
        .output()
        .expect("clone");
    assert!(out.status.success());
    for target in [b.as_path(), &p.join(".git")] {
        let (code, out, err) = run_in(p, &["check", &target.to_string_lossy()]);
        assert_eq!(code, 2, "{}: {out}{err}", target.display());
        assert!(err.contains("without a working tree"), "{err}");
    }

    let (code, out, _) = run_in(p, &["check", "--help"]);
    assert_eq!(code, 0);
    for (id, _) in flask_harden::checks::CHECKS {
        assert!(out.contains(id), "check --help lacks {id}: {out}");
    }
}

/// A symbolic link to a folder outside the repository is not followed, and said.
#[cfg(unix)]
#[test]
fn folder_links_out_of_the_repository_are_diagnostics() {
    let outside = tempfile::tempdir().expect("temp dir");
    common::write(outside.path(), "secret.py", b"app.secret_key = 'leaked'\n");
    let dir = repo(&[("app.py", APP), ("pkg/inner.py", "x = 1\n")]);
    let p = dir.path();
    std::os::unix::fs::symlink(outside.path(), p.join("vendor")).expect("symlink");
    std::os::unix::fs::symlink(p.join("pkg"), p.join("alias")).expect("symlink");
    let (code, out, _) = run_in(p, &["check", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
    assert!(
        diags.iter().any(|d| d["path"] == "vendor"
            && d["message"]
                .as_str()
                .unwrap_or("")
                .contains("outside the repository")),
        "{diags:?}"
    );
    assert!(!diags.iter().any(|d| d["path"] == "alias"), "{diags:?}");
    assert!(
        !out.contains("leaked") && !out.contains("secret.py"),
        "{out}"
    );
}

/// Escape sequences in file names and code never reach the terminal raw: human check, fix's
/// diffs and commit summary, the report, GitHub annotations, errors.
#[test]
fn control_characters_are_escaped_everywhere() {
    let evil_name = "ev\x1b]0;pwned\x07il.py";
    let app = "from flask import Flask\n\napp = Flask(__name__)\napp.secret_key = \"dev\x1b[2J\"  # \u{202e}x\n\nif __name__ == \"__main__\":\n    app.run(debug=True)\n";
    let dir = committed(&[
        (evil_name, app),
        ("templates/t\x1b[31m.html", "{{ x|safe }}\x1b[0m\n"),
    ]);
    let p = dir.path();
    let raw = |s: &str| s.contains('\x1b') || s.contains('\x07') || s.contains('\u{202e}');
    for args in [
        &["check"][..],
        &["check", "--format", "github"],
        &["fix"],
        &["fix", "--commit", "--branch", "hardening"],
        &["report", "--format", "markdown"],
        &["report", "--format", "html"],
        &["config"],
    ] {
        let (code, out, err) = run_in(p, args);
        assert!(code <= 2, "{args:?}");
        assert!(!raw(&out) && !raw(&err), "{args:?}: {out:?} {err:?}");
    }
    let (_, out, _) = run_in(p, &["check"]);
    assert!(out.contains("ev^[]0;pwned^Gil.py"), "{out}");
    // Colour is ours only: the repository's sequences are still escaped.
    let (_, out, _) = run_in(p, &["check", "--color", "always"]);
    assert!(!out.contains("\x1b]") && !out.contains('\x07') && !out.contains("\x1b[2J"));
    // The commits' messages hold no raw control characters either.
    let log = git(p, &["log", "--format=%B", "hardening"]);
    assert!(!raw(&log), "{log:?}");
}

/// A committed folder whose name is not UTF-8 is noted; the rest is still fixed.
#[cfg(target_os = "linux")]
#[test]
fn non_utf8_folder_names_do_not_stop_the_fixes() {
    use std::os::unix::ffi::OsStrExt;
    let dir = repo(&[("app.py", APP)]);
    let p = dir.path();
    let odd = p.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&odd).expect("mkdir");
    std::fs::write(odd.join("views.py"), "x = 1\n").expect("write");
    std::fs::write(
        p.join(std::ffi::OsStr::from_bytes(b"r\xe9sum\xe9.py")),
        "y = 2\n",
    )
    .expect("write");
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["config", "user.name", "T"]);
    git(p, &["config", "user.email", "t@example.com"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "init"]);
    let (code, out, err) = run_in(p, &["fix", "--commit", "--branch", "hardening"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("callback returned"), "{err}");
    assert!(
        out.contains("name is not UTF-8") && out.contains("caf"),
        "{out}"
    );
    assert!(out.contains("Created branch hardening"), "{out}");
    let files = git(p, &["show", "hardening:app.py"]);
    assert!(
        !files.contains("\"dev\""),
        "the secret key was fixed: {files}"
    );
    let (code, _, err) = run_in(p, &["check"]);
    assert!(code == 1, "{err}");
}

fn test_python() -> Option<std::path::PathBuf> {
    match std::env::var_os("FLASK_HARDEN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Some(p.into()),
        _ => {
            eprintln!(
                "SKIPPED import check: FLASK_HARDEN_TEST_PYTHON is not set; run tests/run.sh, \
                 which creates .venv-tests with Flask and sets it"
            );
            None
        }
    }
}

/// Lone-CR and mixed line endings: line numbers count every kind of line end, and the fixes
/// committed by `fix --commit` put imports and config lines where Python reads them, so the
/// fixed module imports under CPython without a NameError; kept lines keep their endings.
#[test]
fn lone_cr_and_mixed_line_endings_are_fixed_correctly() {
    let lines = [
        "from flask import Flask, request, session",
        "",
        "app = Flask(__name__)",
        "app.secret_key = \"dev\"",
        "",
        "",
        "@app.route(\"/login\", methods=[\"POST\"])",
        "def login():",
        "    session[\"user\"] = request.form[\"user\"]",
        "    return \"ok\"",
        "",
        "",
        "if __name__ == \"__main__\":",
        "    app.run(debug=True)",
    ];
    let lone_cr = lines.join("\r") + "\r";
    // Every kind in turn; a lone CR is never followed by an empty LF line (that would make
    // a CRLF).
    let ending = |i: usize| match ["\r", "\n", "\r\n"][i % 3] {
        "\r" if lines.get(i + 1).is_some_and(|l| l.is_empty()) => "\r\n",
        e => e,
    };
    let mixed: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{l}{}", ending(i)))
        .collect();
    for (name, text) in [("lone_cr", lone_cr), ("mixed", mixed)] {
        let dir = committed(&[("app.py", text.as_str())]);
        let p = dir.path();
        let (code, out, _) = run_in(p, &["check", "--format", "json"]);
        assert_eq!(code, 1, "{name}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let lines_of = |rule: &str| -> Vec<u64> {
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
                .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with(rule)))
                .filter_map(|f| f["line"].as_u64())
                .collect()
        };
        assert_eq!(lines_of("secret-key/"), vec![4], "{name}: {out}");
        assert_eq!(lines_of("debug/app-run"), vec![14], "{name}: {out}");

        let (code, out, err) = run_in(p, &["fix", "--commit", "--branch", "hardening"]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.contains("Created branch hardening"), "{name}: {out}");
        let fixed = Command::new("git")
            .args(["show", "hardening:app.py"])
            .current_dir(p)
            .output()
            .expect("git show")
            .stdout;
        let fixed_text = String::from_utf8_lossy(&fixed).into_owned();
        assert!(fixed_text.contains("os.environ"), "{name}: {fixed_text:?}");
        // The lines the fixes kept keep their endings.
        let kept = match name {
            "lone_cr" => "app = Flask(__name__)\r".to_string(),
            _ => format!("app = Flask(__name__){}", ending(2)),
        };
        assert!(fixed_text.contains(&kept), "{name}: {fixed_text:?}");
        if name == "lone_cr" {
            assert!(
                !fixed_text.contains('\n'),
                "{name}: only CRs: {fixed_text:?}"
            );
        }
        let Some(py) = test_python() else {
            continue;
        };
        let run_dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(run_dir.path().join("app.py"), &fixed).expect("write");
        let out = Command::new(py)
            .args(["-c", "import app; assert app.app.secret_key == 'k' * 32"])
            .current_dir(run_dir.path())
            .env("SECRET_KEY", "k".repeat(32))
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{name}: the fixed module does not import: {}\n{fixed_text:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every entry under `dir`, with its mode.
#[cfg(unix)]
fn entries_with_modes(dir: &Path) -> Vec<(std::path::PathBuf, u32, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                pending.push(e.path());
            }
            out.push((e.path(), m.permissions().mode() & 0o777, m.is_dir()));
        }
    }
    out
}

/// `fix` verifies its fixes in memory: nothing of the repository (committed `.env` included)
/// is written to the temporary folder.
#[cfg(target_os = "linux")]
#[test]
fn fix_writes_no_temporary_copy() {
    let mut files: Vec<(String, String)> = vec![
        ("app.py".into(), APP.into()),
        (".env".into(), "SECRET_KEY=hunter2hunter2hunter2\n".into()),
    ];
    for i in 0..400 {
        files.push((
            format!("pkg/m{i}.py"),
            format!("def f{i}(x):\n    return x + {i}\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = committed(&refs);
    let tmp = tempfile::tempdir().expect("temp dir");
    let t = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .arg("fix")
        .current_dir(dir.path())
        .env("TMPDIR", t)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    while child.try_wait().expect("wait").is_none() {
        assert_eq!(entries_with_modes(t), Vec::new());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let out = child.wait_with_output().expect("output");
    assert_eq!(out.status.code(), Some(0));
    // It did plan fixes: the diff of the debug fix.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("+++ b/app.py"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(entries_with_modes(t), Vec::new());
}

/// The temporary checkout `fix --verify` runs the tests in (committed `.env` included) is
/// private while it runs, removed when it ends, when SIGTERM or SIGINT stops it, and, after a
/// `kill -9`, by the next run.
#[cfg(target_os = "linux")]
#[test]
fn temporary_checkouts_are_private_and_cleaned_up() {
    let Some(python) = std::env::var_os("FLASK_HARDEN_TEST_PYTHON").filter(|p| !p.is_empty())
    else {
        eprintln!(
            "SKIPPED: FLASK_HARDEN_TEST_PYTHON is not set (tests/run.sh sets it to a venv with \
             pytest, which `fix --verify` needs)"
        );
        return;
    };
    let bin = Path::new(&python)
        .parent()
        .expect("bin folder")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A suite that takes a while: the signal comes while it runs in the checkout.
    let dir = committed(&[
        ("app.py", APP),
        (".env", "SECRET_KEY=hunter2hunter2hunter2\n"),
        (
            "tests/test_slow.py",
            "import time\n\n\ndef test_slow():\n    time.sleep(3)\n",
        ),
    ]);
    let p = dir.path();
    let tmp = tempfile::tempdir().expect("temp dir");
    let t = tmp.path();
    let spawn = |verify: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flask-harden"));
        cmd.arg("fix");
        if verify {
            cmd.args(["--verify", "--verify-timeout", "60"]);
        }
        cmd.current_dir(p)
            .env("TMPDIR", t)
            .env("PATH", &path)
            // The tests' venv, as an activated one: the suite runs with it.
            .env("VIRTUAL_ENV", bin.parent().expect("venv"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let wait_for_copy = |child: &mut std::process::Child| {
        for _ in 0..6000 {
            if entries_with_modes(t)
                .iter()
                .any(|(path, _, _)| path.ends_with(".env"))
            {
                return true;
            }
            if child.try_wait().expect("wait").is_some() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    };

    // While it runs: nothing readable by others (the folder it makes is the user's alone,
    // whatever the suite writes inside it).
    let mut child = spawn(true);
    let mut seen = 0;
    while child.try_wait().expect("wait").is_none() {
        for (path, mode, _) in entries_with_modes(t) {
            if path.parent() == Some(t) {
                seen += 1;
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(seen > 0, "no temporary file was observed");
    let leftover = |t: &Path| -> Vec<std::path::PathBuf> {
        // Only flask-harden's own folders count: pytest's runs may leave its cache folders.
        entries_with_modes(t)
            .into_iter()
            .map(|(path, _, _)| path)
            .filter(|path| {
                path.strip_prefix(t).ok().is_some_and(|rel| {
                    rel.components().next().is_some_and(|c| {
                        c.as_os_str().to_string_lossy().starts_with("flask-harden-")
                    })
                })
            })
            .collect()
    };
    assert_eq!(leftover(t), Vec::<std::path::PathBuf>::new());

    // Stopped by a signal: cleaned up, exit 2.
    for signal in ["-TERM", "-INT"] {
        let mut child = spawn(true);
        assert!(wait_for_copy(&mut child), "the checkout was never made");
        let _ = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status();
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(2), "{signal}");
        assert_eq!(leftover(t), Vec::<std::path::PathBuf>::new(), "{signal}");
    }

    // Killed outright: the next run removes what the dead process left.
    let mut child = spawn(true);
    assert!(wait_for_copy(&mut child), "the checkout was never made");
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    assert!(!leftover(t).is_empty());
    let status = spawn(false).wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_eq!(leftover(t), Vec::<std::path::PathBuf>::new(), "stale");
}

/// Every file under `.git/objects`, relative to it.
fn object_files(p: &Path) -> std::collections::BTreeSet<String> {
    let root = p.join(".git/objects");
    entries_with_modes(&root)
        .into_iter()
        .filter(|(path, _, is_dir)| !is_dir && path.is_file())
        .filter_map(|(path, _, _)| {
            Some(
                path.strip_prefix(&root)
                    .ok()?
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

/// `fix --commit` writes its objects as one pack (no loose objects, so none of libgit2's
/// `tmp_object_git2_*` files), and a `kill -9` at any moment of it leaves none behind, leaves
/// the user's branch where it was, and leaves a repository `git fsck` accepts.
#[cfg(target_os = "linux")]
#[test]
fn commits_are_one_pack_and_a_kill_leaves_no_temporary_object() {
    let dir = committed(&[("app.py", APP)]);
    let p = dir.path();
    let head = git(p, &["rev-parse", "HEAD"]);
    let before = object_files(p);
    let started = std::time::Instant::now();
    let (code, _, err) = run_in(p, &["fix", "--commit", "--branch", "hardened"]);
    let whole = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let added: Vec<String> = object_files(p).difference(&before).cloned().collect();
    assert!(!added.is_empty(), "no object was written");
    for name in &added {
        assert!(
            name.starts_with("pack/pack-") && (name.ends_with(".pack") || name.ends_with(".idx")),
            "not part of a pack: {name}"
        );
    }
    assert!(
        git(p, &["log", "--oneline", "main..hardened"])
            .lines()
            .count()
            >= 2
    );
    git(p, &["fsck", "--strict", "--no-dangling"]);

    // Kills spread over the length of a whole run, the last ones near its end, where the
    // objects are written.
    let delays: Vec<std::time::Duration> = (0..16).map(|k| whole * k / 16).collect();
    for (i, delay) in delays.iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
            .args(["fix", "--commit", "--branch", &format!("killed-{i}")])
            .current_dir(p)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(*delay);
        child.kill().expect("kill -9");
        child.wait().expect("wait");
        let temporary: Vec<String> = object_files(p)
            .into_iter()
            .filter(|name| name.contains("tmp_object"))
            .collect();
        assert_eq!(temporary, Vec::<String>::new(), "after {delay:?}");
        assert_eq!(git(p, &["rev-parse", "main"]), head);
        assert_eq!(git(p, &["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
        git(p, &["fsck", "--no-dangling"]);
    }
}
