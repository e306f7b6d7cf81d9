//! Run one command with a time limit, handing each output line to the caller as it comes.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a finished (or killed) command left.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Every line of stdout and stderr, in the order they arrived.
    pub lines: Vec<String>,
    /// `None` when the command was killed.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Killed because the caller asked it to stop.
    pub stopped: bool,
}

/// Run `command` (already given its arguments, folder and environment) until it exits or
/// `timeout` passes or `stop` is set (looked at every 200 ms), calling `on_line` for each
/// line. On timeout or stop the command's whole process group is killed, so test workers it
/// started do not linger.
pub fn run(
    mut command: Command,
    timeout: Duration,
    stop: Option<&AtomicBool>,
    on_line: &mut dyn FnMut(Stream, &str),
) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let (tx, rx) = mpsc::channel::<(Stream, String)>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, Stream::Stdout, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, Stream::Stderr, tx.clone()));
    }
    drop(tx);

    let deadline = Instant::now() + timeout;
    let mut finished = Finished::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            finished.timed_out = true;
            kill_group(&mut child);
            break;
        }
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            finished.stopped = true;
            kill_group(&mut child);
            break;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok((stream, line)) => {
                on_line(stream, &line);
                finished.lines.push(line);
            }
            // Both pipes closed: the command (and whatever held its output) is done.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let status = child.wait()?;
    // What was still buffered when the pipes closed or the command was killed.
    while let Ok((stream, line)) = rx.try_recv() {
        on_line(stream, &line);
        finished.lines.push(line);
    }
    for r in readers {
        let _ = r.join();
    }
    finished.exit_code = if finished.timed_out || finished.stopped {
        None
    } else {
        status.code()
    };
    Ok(finished)
}

fn spawn_reader(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Kill the command and its process group (it leads one: `process_group(0)`).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

/// Whether `program` can be found on PATH (or is a path to an existing file).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_lines_and_exit_code() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; exit 3"]);
        let mut seen = Vec::new();
        let done = run(cmd, Duration::from_secs(20), None, &mut |s, l| {
            seen.push((s, l.to_string()))
        })
        .expect("sh runs");
        assert_eq!(done.exit_code, Some(3));
        assert!(!done.timed_out);
        assert!(seen.contains(&(Stream::Stdout, "one".to_string())));
        assert!(seen.contains(&(Stream::Stderr, "two".to_string())));
    }

    #[test]
    fn kills_on_timeout_with_its_children() {
        let mut cmd = Command::new("sh");
        // A child that keeps the pipe open: the whole group must go.
        cmd.args(["-c", "echo started; sleep 30 & sleep 30"]);
        let start = Instant::now();
        let done = run(cmd, Duration::from_millis(500), None, &mut |_, _| {}).expect("sh runs");
        assert!(done.timed_out);
        assert_eq!(done.exit_code, None);
        assert_eq!(done.lines, ["started"]);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn stops_when_asked_with_its_children() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; sleep 30 & sleep 30"]);
        let stop = AtomicBool::new(false);
        let start = Instant::now();
        let done = run(cmd, Duration::from_secs(60), Some(&stop), &mut |_, line| {
            if line == "started" {
                stop.store(true, Ordering::Relaxed);
            }
        })
        .expect("sh runs");
        assert!(done.stopped);
        assert!(!done.timed_out);
        assert_eq!(done.exit_code, None);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }
}
