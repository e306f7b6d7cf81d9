//! End to end: the real binary in a real terminal (tmux), on a fixture copied into a fresh git
//! repository. Moves through the checklist, opens the help, accepts the fixes, commits them on
//! a new branch, quits; then checks the branch and its commits with the git command line.

mod common;

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn send(&self, keys: &[&str]) {
        for key in keys {
            let out = self.cmd(&["send-keys", "-t", "e2e", key]);
            assert!(out.status.success(), "send-keys {key}: {out:?}");
            sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-t", "e2e", "-p"]).stdout).into_owned()
    }

    /// Wait until the screen shows `text`; the screen is printed when it never does.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("waited for {text:?}; the screen shows:\n{screen}");
            }
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh git repository holding a copy of the fixture, with one commit.
fn repo_of(fixture: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("temp dir");
    copy_dir(&common::fixture(fixture), repo.path());
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["config", "user.name", "Test"]);
    git(repo.path(), &["config", "user.email", "test@example.com"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "initial"]);
    repo
}

/// The binary in a detached tmux session of `size` in `dir`, with `env` (`NAME=value`); the
/// shell prints `EXITED <code>` after it.
fn start(name: &str, dir: &Path, size: (u16, u16), env: &[&str]) -> Tmux {
    let tmux = Tmux {
        socket: format!("flask-harden-{name}-{}", std::process::id()),
    };
    let bin = env!("CARGO_BIN_EXE_flask-harden");
    let script = format!("'{bin}'; echo EXITED $?; sleep 60");
    let (x, y) = (size.0.to_string(), size.1.to_string());
    let dir = dir.to_str().expect("utf-8 temp path");
    let mut args = vec![
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        &x,
        "-y",
        &y,
        "-c",
        dir,
    ];
    for e in std::iter::once(&"NO_COLOR=").chain(env) {
        args.extend(["-e", e]);
    }
    args.push(&script);
    let out = tmux.cmd(&args);
    assert!(out.status.success(), "tmux new-session: {out:?}");
    tmux
}

#[test]
fn navigate_accept_commit_and_quit_in_a_real_terminal() {
    if tmux_missing() {
        return;
    }
    let repo = repo_of("example_app");
    // Uncommitted work: shown as a banner, and left alone.
    std::fs::write(repo.path().join("notes.txt"), "my notes\n").expect("write");
    // The milestones bench/ times the interface by, written outside the repository.
    let traces = tempfile::tempdir().expect("temp dir");
    let trace = traces.path().join("trace.log");
    let trace_env = format!("FLASK_HARDEN_TRACE_FILE={}", trace.display());
    let tmux = start("e2e", repo.path(), (100, 30), &[trace_env.as_str()]);

    let screen = tmux.wait_for("Checklist (13)");
    assert!(screen.contains("uncommitted changes"), "{screen}");
    // The fixes are ready when the debug item shows its checkbox.
    tmux.wait_for("[ ] ✗ fail  H  3 debug");
    let milestones: Vec<String> = std::fs::read_to_string(&trace)
        .expect("the trace file")
        .lines()
        .map(|l| l.split_once(' ').expect("<ms> <event>").1.to_string())
        .collect();
    assert_eq!(milestones.first().map(String::as_str), Some("start"));
    let at = |event: &str| milestones.iter().position(|m| m == event);
    let scanned = at("scanned").expect("scanned");
    let debug_ready = at("fix-ready debug").expect("the debug item's fix");
    assert!(scanned < debug_ready, "{milestones:?}");

    // Move through the checklist and the panes.
    tmux.send(&["G"]);
    tmux.wait_for("Committed web server configs use modern TLS");
    tmux.send(&["g", "j"]);
    tmux.wait_for("Debug mode is off in production");
    tmux.send(&["Enter", "j", "Tab", "Tab"]);
    tmux.send(&["v"]);
    tmux.wait_for("side by side");
    tmux.send(&["v"]);
    tmux.send(&["?"]);
    tmux.wait_for("undo the last choice");
    tmux.send(&["Escape"]);

    // Accept two items: the secret key's fix, then the debug item's two fixes.
    tmux.send(&["g"]);
    tmux.wait_for("fixed by this fix: read SECRET_KEY from the");
    tmux.send(&["Space"]);
    tmux.wait_for("1 accepted");
    tmux.send(&["j"]);
    tmux.wait_for("drop debug=True from app.run()");
    tmux.send(&["Space"]);
    tmux.wait_for("2 accepted");
    // Skip and undo leave it accepted.
    tmux.send(&["s", "u"]);
    tmux.wait_for("2 accepted");

    // Commit on a branch named in the dialog.
    tmux.send(&["c"]);
    tmux.wait_for("Commit the accepted fixes");
    tmux.send(&["BSpace"; 10]);
    tmux.send(&["tui-e2e"]);
    tmux.wait_for("flask-harden/tui-e2e");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("The checklist on the new branch");
    assert!(
        screen.contains("git switch flask-harden/tui-e2e"),
        "{screen}"
    );
    assert!(
        screen.contains("git push -u origin flask-harden/tui-e2e"),
        "{screen}"
    );
    assert!(screen.contains("now passing"), "{screen}");
    tmux.send(&["Escape"]);

    // The committed items are marked; accept again, quit: asked first; n stays, y quits.
    tmux.wait_for("[c] ✗ fail  H  3 debug");
    // The fixes are ready again when the (uncommitted) xss item shows its mark.
    tmux.wait_for("[!] ✗ fail  H  2 xss");
    tmux.send(&["Space", "q"]);
    tmux.wait_for("not committed yet");
    tmux.send(&["n"]);
    tmux.send(&["q"]);
    tmux.wait_for("Quit?");
    tmux.send(&["y"]);
    // The terminal is back to the shell's screen, with what was committed and what was not.
    let screen = tmux.wait_for("EXITED 0");
    assert!(
        screen.contains("committed on branch flask-harden/tui-e2e"),
        "{screen}"
    );
    assert!(
        screen.contains("1 accepted change was not committed"),
        "{screen}"
    );

    let branches = git(repo.path(), &["branch", "--list", "flask-harden/*"]);
    assert_eq!(branches.trim(), "flask-harden/tui-e2e");
    let log = git(
        repo.path(),
        &[
            "log",
            "--reverse",
            "--format=%s",
            "main..flask-harden/tui-e2e",
        ],
    );
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(subjects.len(), 2, "one commit per accepted item: {log}");
    assert!(subjects[0].starts_with("harden(secret-key):"), "{log}");
    assert!(subjects[1].starts_with("harden(debug):"), "{log}");
    let changed = git(
        repo.path(),
        &["diff", "--name-only", "main", "flask-harden/tui-e2e"],
    );
    assert_eq!(
        changed.lines().collect::<Vec<_>>(),
        vec![
            ".env.example",
            ".flaskenv",
            ".gitignore",
            // The factory refuses to start without a key outside development and tests.
            "bookclub/__init__.py",
            "bookclub/views.py",
            "config.py"
        ]
    );
    let diff = git(repo.path(), &["diff", "main", "flask-harden/tui-e2e"]);
    assert!(
        diff.contains("-    app.run(host=\"0.0.0.0\", debug=True)"),
        "{diff}"
    );
    assert!(diff.contains("-    DEBUG = True"), "{diff}");
    assert!(
        // Read from the environment; the factory refuses to start without it in production.
        diff.contains("+    SECRET_KEY = os.environ.get(\"SECRET_KEY\")")
            && diff.contains("raise RuntimeError(\"SECRET_KEY is not set"),
        "{diff}"
    );
    // The user's checkout is untouched: same branch, only their own untracked file.
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "main"
    );
    assert_eq!(
        git(repo.path(), &["status", "--porcelain"]),
        "?? notes.txt\n"
    );
}

fn tmux_missing() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!(
            "SKIPPED: tmux is not installed (tests/run.sh installs it); the terminal test did not run"
        );
        return true;
    }
    false
}

/// One finding of a multi-finding item is accepted alone and committed: the branch holds only
/// its change. On the way `e` opens a (fake) editor with `+LINE path`, and after quitting the
/// summary with the switch and push commands is on the terminal.
#[test]
fn one_finding_alone_editor_and_exit_summary() {
    if tmux_missing() {
        return;
    }
    let repo = repo_of("single_file");
    // The editor records its arguments and returns at once.
    let tools = tempfile::tempdir().expect("temp dir");
    let record = tools.path().join("editor-args");
    let editor = tools.path().join("fake-editor");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", record.display()),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let visual = format!("VISUAL={}", editor.display());
    let tmux = start("e2e1", repo.path(), (120, 35), &[&visual]);
    tmux.wait_for("Checklist (13)");
    // The session item has fixes for its four findings.
    tmux.wait_for("[ ] ✗ fail  M  4 session");
    // Session is fifth from the end: headers, request-limits, proxy and tls follow it.
    tmux.send(&["G", "k", "k", "k", "k"]);
    tmux.wait_for("Session cookies are locked down");
    tmux.send(&["Tab", "Tab"]);
    tmux.wait_for("▶ Fix");
    // The fourth finding: set_cookie without its flags.
    tmux.send(&["j", "j", "j"]);
    tmux.wait_for(">[ ] app.py:33 session/set-cookie-flags");
    // `e` opens the editor at the finding's line, then the interface comes back.
    tmux.send(&["e"]);
    tmux.wait_for("Back from the editor");
    let args = std::fs::read_to_string(&record).expect("the editor ran");
    let app_py = repo
        .path()
        .canonicalize()
        .expect("real path")
        .join("app.py");
    assert_eq!(args.trim(), format!("+33 {}", app_py.display()));
    // Space checks this finding's fix only.
    tmux.send(&["Space"]);
    let screen = tmux.wait_for(">[x] app.py:33 session/set-cookie-flags");
    assert!(screen.contains("[~] ✗ fail  M 1/4 session"), "{screen}");
    tmux.send(&["c"]);
    tmux.wait_for("Commit the accepted fixes");
    tmux.send(&["C-u"]);
    tmux.send(&["harden/cookie"]);
    tmux.wait_for("Branch: harden/cookie");
    tmux.send(&["Enter"]);
    tmux.wait_for("The checklist on the new branch");
    tmux.send(&["Escape"]);
    tmux.wait_for("[c] ✗ fail  M  4 session");
    tmux.send(&["q"]);
    let screen = tmux.wait_for("EXITED 0");
    assert!(
        screen.contains("committed on branch harden/cookie"),
        "{screen}"
    );
    assert!(screen.contains("git switch harden/cookie"), "{screen}");
    assert!(
        screen.contains("git push -u origin harden/cookie"),
        "{screen}"
    );

    // The branch holds the set_cookie change and nothing else.
    let log = git(repo.path(), &["log", "--format=%s", "main..harden/cookie"]);
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.starts_with("harden(session):"), "{log}");
    let diff = git(repo.path(), &["diff", "-U0", "main", "harden/cookie"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed.len(), 2, "{diff}");
    assert!(
        changed[0].starts_with("-    resp.set_cookie(\"theme\""),
        "{diff}"
    );
    assert!(changed[1].contains("secure=True"), "{diff}");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
}

#[test]
fn refuses_without_a_terminal_and_on_a_missing_folder() {
    let bin = env!("CARGO_BIN_EXE_flask-harden");
    let out = Command::new(bin)
        .arg("/no/such/folder")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such directory"));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(bin).arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs a terminal"),
        "{out:?}"
    );
}

/// The guestbook app with one more test file, committed in a fresh repository whose `.venv`
/// is the tests' venv (Flask and pytest): `None`, said on stderr, without that venv.
fn guestbook_with_venv(test_file: &str, test: &str) -> Option<tempfile::TempDir> {
    let python = match std::env::var_os("FLASK_HARDEN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => {
            eprintln!(
                "SKIPPED: FLASK_HARDEN_TEST_PYTHON is not set (tests/run.sh sets it); the tests' \
                 run from the interface was not tried"
            );
            return None;
        }
    };
    let repo = tempfile::tempdir().expect("temp dir");
    copy_dir(&common::fixture("apps/guestbook"), repo.path());
    std::fs::write(repo.path().join(test_file), test).expect("write");
    std::fs::write(repo.path().join(".gitignore"), ".venv\n__pycache__/\n").expect("write");
    let venv = python.parent().and_then(Path::parent).expect("a venv");
    std::os::unix::fs::symlink(venv, repo.path().join(".venv")).expect("symlink");
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["config", "user.name", "Test"]);
    git(repo.path(), &["config", "user.email", "test@example.com"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "initial"]);
    Some(repo)
}

/// `T` in a real terminal: the guestbook app with a test that asserts the old behaviour (a
/// script reads the theme cookie, so it must not be HttpOnly) and its `.venv` (the tests'
/// Flask and pytest). The dialog says the tests run the project's code; the live output shows
/// pytest; the session fix breaks that test and is accepted no more, the debug fix stays; the
/// commit then holds only the debug fix.
#[test]
fn tests_run_on_the_accepted_fixes_in_a_real_terminal() {
    if tmux_missing() {
        return;
    }
    let Some(repo) = guestbook_with_venv(
        "tests/test_theme_script.py",
        "import app as guestbook\n\n\ndef test_the_theme_script_can_read_the_cookie():\n    \
         client = guestbook.app.test_client()\n    response = client.get(\"/theme/dark\")\n    \
         assert \"HttpOnly\" not in response.headers[\"Set-Cookie\"]\n",
    ) else {
        return;
    };

    let tmux = start("verify", repo.path(), (100, 30), &["VIRTUAL_ENV="]);
    tmux.wait_for("Checklist (13)");
    // Nothing accepted yet: T says what it needs.
    tmux.wait_for("[ ] ✗ fail  H  1 debug");
    tmux.send(&["T"]);
    tmux.wait_for("Accept a fix first");

    tmux.send(&["/", "debug", "Enter", "Space"]);
    tmux.wait_for("1 accepted");
    tmux.send(&["/"]);
    tmux.send(&["BSpace"; 5]);
    tmux.send(&["session", "Enter", "Space"]);
    tmux.wait_for("2 accepted");

    tmux.send(&["T"]);
    let screen = tmux.wait_for("own test suite, which executes");
    assert!(screen.contains("each of the 2 accepted"), "{screen}");
    tmux.send(&["y"]);
    let screen = tmux.wait_for("T run them again");
    assert!(
        screen.contains("`pytest` in .venv in the repository"),
        "{screen}"
    );
    assert!(screen.contains("on HEAD: 10 passed (exit 0)"), "{screen}");
    assert!(screen.contains("✓ debug: no test newly broken"), "{screen}");
    assert!(screen.contains("✗ session: newly breaks tests"), "{screen}");
    assert!(
        screen.contains("test_the_theme_script_can_read_the_cookie: failed"),
        "{screen}"
    );
    // pytest's own lines came through.
    assert!(screen.contains("[with the session fix]"), "{screen}");
    tmux.send(&["Escape"]);
    tmux.wait_for("1 accepted");

    tmux.send(&["c"]);
    tmux.wait_for("Commit the accepted fixes");
    tmux.send(&["BSpace"; 10]);
    tmux.send(&["tested"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("The checklist on the new branch");
    tmux.send(&["Escape", "q"]);
    tmux.wait_for("EXITED 0");
    let log = git(
        repo.path(),
        &["log", "--format=%s", "main..flask-harden/tested"],
    );
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.starts_with("harden(debug)"), "{log}");
    // Nothing of the test runs is left in the working tree.
    let status = git(repo.path(), &["status", "--porcelain", "--ignored"]);
    assert_eq!(status, "!! .venv\n", "{status}");
}

/// Quitting while the tests run stops them: the suite's processes are killed before the
/// program exits, so nothing goes on running the project's code behind the user's back.
#[test]
fn quitting_stops_the_tests() {
    if tmux_missing() {
        return;
    }
    let marks = tempfile::tempdir().expect("temp dir");
    let pid_file = marks.path().join("pid");
    let Some(repo) = guestbook_with_venv(
        "tests/test_slow.py",
        &format!(
            "import os\nimport time\n\n\ndef test_slow():\n    with open({:?}, \"w\") as f:\n        \
             f.write(str(os.getpid()))\n    time.sleep(300)\n",
            pid_file.display().to_string()
        ),
    ) else {
        return;
    };

    let tmux = start("verify-quit", repo.path(), (100, 30), &["VIRTUAL_ENV="]);
    tmux.wait_for("[ ] ✗ fail  H  1 debug");
    tmux.send(&["/", "debug", "Enter", "Space"]);
    tmux.wait_for("1 accepted");
    tmux.send(&["T", "y"]);
    tmux.wait_for("running the tests on HEAD");
    let start = Instant::now();
    let pid = loop {
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && !pid.is_empty()
        {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the slow test never started"
        );
        sleep(Duration::from_millis(100));
    };
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    // Hidden, then quit: asked first, because the tests run.
    tmux.send(&["Escape", "q"]);
    tmux.wait_for("quitting stops them");
    tmux.send(&["y"]);
    tmux.wait_for("EXITED 0");
    let gone = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie waits only for its parent to reap it: it runs nothing.
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        if gone.elapsed() > Duration::from_secs(5) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the test process {pid} still ran after the interface quit");
        }
        sleep(Duration::from_millis(100));
    }
}
