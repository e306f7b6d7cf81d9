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
pub mod strings;
pub mod theme;
pub mod ui;
pub mod worker;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use anyhow::Context;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use app::App;
use fixes::EngineFixes;
use theme::Theme;
use worker::{Worker, WorkerMsg};

/// How long to wait for a key before looking at the workers again.
const TICK: Duration = Duration::from_millis(50);

/// Run the interface on the repository at `path` until the user quits.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let label = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string());
    let (tx, rx) = mpsc::channel();
    let worker = Worker::new(path, Arc::new(EngineFixes::new(path)), tx);
    let mut app = App::new(&label, Theme::from_env());
    // `init` enters the alternate screen and installs a panic hook that restores the terminal.
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app, &worker, &rx);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    worker: &Worker,
    rx: &Receiver<WorkerMsg>,
) -> anyhow::Result<()> {
    let size = terminal.size().context("reading the terminal size")?;
    app.size = (size.width, size.height);
    for effect in app.start() {
        worker.run(effect, &app.progress);
    }
    loop {
        terminal
            .draw(|frame| ui::draw(frame, app))
            .context("drawing")?;
        if app.quit {
            return Ok(());
        }
        let mut effects = Vec::new();
        if event::poll(TICK).context("reading input")? {
            match event::read().context("reading input")? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    effects.extend(app.update_key(key));
                }
                Event::Resize(width, height) => app.size = (width, height),
                _ => {}
            }
        }
        while let Ok(msg) = rx.try_recv() {
            effects.extend(app.update_worker(msg));
        }
        for effect in effects {
            worker.run(effect, &app.progress);
        }
    }
}

#[cfg(test)]
mod tests;
