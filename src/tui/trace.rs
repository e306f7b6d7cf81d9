//! Timings of the interactive mode, for bench/: when `FLASK_HARDEN_TRACE_FILE` names a file,
//! each milestone (start, scan done, each item's fix ready, all fixes ready) is appended to it
//! as `<milliseconds since start> <event>`. The terminal is the interface's own, so nothing
//! is printed there.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Note that the interface has started: later events count from here.
pub fn start() {
    START.get_or_init(Instant::now);
    event("start");
}

/// Append `what` with the time since [`start`], when tracing is on.
pub fn event(what: &str) {
    let Some(path) = std::env::var_os("FLASK_HARDEN_TRACE_FILE").filter(|p| !p.is_empty()) else {
        return;
    };
    let ms = START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0;
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{ms:.1} {}", crate::text::escape_text(what));
    }
}
