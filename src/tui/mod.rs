//! The interactive mode: `flask-harden [PATH]`.
//!
//! The Elm architecture: [`app::App`] is the model, `update_key`/`update_worker` the update,
//! [`ui::draw`] the view. Scans and git work run on background threads ([`worker`]) and report
//! over a channel, so the first frame comes at once and the screen stays live.

pub mod app;
pub mod diff;
pub mod excerpt;
pub mod fixes;
pub mod keys;
pub mod line_edit;
pub mod strings;
pub mod theme;
pub mod trace;
pub mod ui;
pub mod worker;

use std::io::{self, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind,
};
use ratatui::crossterm::execute;

use app::App;
use fixes::EngineFixes;
use theme::Theme;
use worker::{Effect, Worker, WorkerMsg};

/// How long to wait for a key before looking at the workers again.
const TICK: Duration = Duration::from_millis(50);

/// Run the interface on the repository at `path` until the user quits; then print what was
/// committed (and the commands to switch to it and push it) on the terminal.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let label = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string());
    trace::start();
    let (tx, rx) = mpsc::channel();
    let worker = Worker::new(path, Arc::new(EngineFixes::new(path)), tx);
    let mut app = App::new(&label, Theme::from_env());
    // FLASK_HARDEN_NO_MOUSE=1 starts with the mouse off (the terminal's own selection works).
    app.mouse = std::env::var_os("FLASK_HARDEN_NO_MOUSE").is_none_or(|v| v.is_empty());
    // `init` enters the alternate screen and installs a panic hook that restores the terminal.
    let mut terminal = ratatui::init();
    set_mouse(app.mouse);
    let result = event_loop(&mut terminal, &mut app, &worker, &rx, path);
    set_mouse(false);
    ratatui::restore();
    // Tests still running are stopped, their processes killed, before the program ends.
    if app.verifying() {
        eprintln!("flask-harden: stopping the tests…");
    }
    worker.shutdown();
    if let Some(summary) = app.exit_summary() {
        print!("{summary}");
    }
    result
}

fn set_mouse(on: bool) {
    // Failing to switch the mouse only loses the mouse: the keys all work.
    let _ = if on {
        execute!(io::stdout(), EnableMouseCapture)
    } else {
        execute!(io::stdout(), DisableMouseCapture)
    };
}

/// Suspend the interface, run `$VISUAL` / `$EDITOR` with `+LINE path`, and come back.
fn open_editor(
    terminal: &mut DefaultTerminal,
    root: &Path,
    path: &str,
    line: usize,
    mouse: bool,
) -> Result<(), String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .ok_or_else(|| strings::NO_EDITOR.to_string())?;
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    set_mouse(false);
    ratatui::restore();
    let status = Command::new(program)
        .args(words)
        .arg(format!("+{line}"))
        .arg(
            root.canonicalize()
                .unwrap_or_else(|_| root.to_path_buf())
                .join(path),
        )
        .status();
    *terminal = ratatui::init();
    set_mouse(mouse);
    let _ = terminal.clear();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{program} exited with {s}")),
        Err(e) => Err(format!("could not run {program}: {e}")),
    }
}

/// OSC 52: the terminal puts the text on the clipboard (works over ssh; tmux passes it on
/// with `set-clipboard on`).
fn copy_to_clipboard(text: &str) {
    let mut out = io::stdout();
    let _ = out.write_all(osc52(text).as_bytes());
    let _ = out.flush();
}

/// The OSC 52 sequence that sets the clipboard to `text` (base64, so nothing in the text can
/// end the sequence early).
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    worker: &Worker,
    rx: &Receiver<WorkerMsg>,
    root: &Path,
) -> anyhow::Result<()> {
    let size = terminal.size().context("reading the terminal size")?;
    app.size = (size.width, size.height);
    let mut effects = app.start();
    loop {
        for effect in std::mem::take(&mut effects) {
            match effect {
                Effect::Edit { path, line } => {
                    let result = open_editor(terminal, root, &path, line, app.mouse);
                    effects.extend(app.edited(&path, result));
                }
                Effect::Copy(text) => copy_to_clipboard(&text),
                Effect::Mouse(on) => set_mouse(on),
                other => worker.run(other, &app.progress),
            }
        }
        if !effects.is_empty() {
            continue;
        }
        terminal
            .draw(|frame| ui::draw(frame, app))
            .context("drawing")?;
        app.on_tick();
        if app.quit {
            return Ok(());
        }
        if event::poll(TICK).context("reading input")? {
            match event::read().context("reading input")? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    effects.extend(app.update_key(key));
                }
                Event::Mouse(mouse) => effects.extend(app.update_mouse(mouse)),
                Event::Resize(width, height) => app.size = (width, height),
                _ => {}
            }
        }
        while let Ok(msg) = rx.try_recv() {
            effects.extend(app.update_worker(msg));
        }
    }
}

#[cfg(test)]
mod tests;
