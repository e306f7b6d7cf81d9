//! The report for people: each item with its status, then its findings as
//! `path:line:col rule message` with the code under it, then a summary.

use std::fmt::Write;

use crate::finding::{Severity, Status};
use crate::scan::ScanResult;
use crate::text::escape_line as esc;

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
pub struct Style {
    color: bool,
    show_suppressed: bool,
}

impl Style {
    pub fn new(color: bool) -> Self {
        Self {
            color,
            show_suppressed: false,
        }
    }

    /// Also list the findings suppression comments hid, with their reasons.
    pub fn with_suppressed(mut self, show: bool) -> Self {
        self.show_suppressed = show;
        self
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{}\x1b[0m", esc(text))
        } else {
            esc(text).into_owned()
        }
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotApplicable => "N/A ",
        Status::Error => "ERR ",
    }
}

fn status_color(s: Status) -> &'static str {
    match s {
        Status::Pass => "1;32",
        Status::Fail => "1;31",
        Status::NotApplicable => "2",
        Status::Error => "1;33",
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
    }
}

pub fn render(result: &ScanResult, style: Style) -> String {
    let mut out = String::new();
    for r in result.all_items() {
        let status = r.status();
        let count = match r.outcome.findings.len() {
            0 => String::new(),
            1 => " (1 finding)".to_string(),
            n => format!(" ({n} findings)"),
        };
        let _ = writeln!(
            out,
            "{} {} — {}{}",
            style.paint(status_color(status), status_label(status)),
            style.paint("1", &r.item.id),
            r.item.title,
            count
        );
        if let Some(reason) = &r.outcome.not_applicable
            && status == Status::NotApplicable
        {
            let _ = writeln!(out, "     {}", style.paint("2", reason));
        }
        if let Some(err) = &r.outcome.error {
            let _ = writeln!(out, "     error: {}", esc(err));
        }
        for note in &r.outcome.notes {
            let _ = writeln!(out, "     {}", style.paint("2", note));
        }
        for f in &r.outcome.findings {
            let _ = writeln!(
                out,
                "  {}:{}:{} {} {}",
                esc(&f.path),
                f.line,
                f.column,
                style.paint(severity_color(f.severity), &f.rule),
                esc(&f.message)
            );
            for (i, line) in f.code.lines().take(3).enumerate() {
                let _ = writeln!(
                    out,
                    "     {:>5} | {}",
                    f.line + i,
                    style.paint("2", line.trim_end())
                );
            }
        }
        if style.show_suppressed {
            for s in &r.suppressed {
                let f = &s.finding;
                let reason = if s.reason.is_empty() {
                    "no reason given"
                } else {
                    &s.reason
                };
                let _ = writeln!(
                    out,
                    "  {} {}:{}:{} {} ({})",
                    style.paint("2", "suppressed"),
                    esc(&f.path),
                    f.line,
                    f.column,
                    esc(&f.rule),
                    esc(reason)
                );
            }
        }
    }
    if !result.diagnostics.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint("1", "Files not analysed:"));
        for d in &result.diagnostics {
            let path = if d.path.is_empty() {
                "(repository)"
            } else {
                &d.path
            };
            let _ = writeln!(out, "  {}: {}", esc(path), esc(&d.message));
        }
    }
    let count = |s: Status| result.all_items().filter(|r| r.status() == s).count();
    let findings: Vec<_> = result
        .all_items()
        .flat_map(|r| &r.outcome.findings)
        .collect();
    let suppressed: usize = result.all_items().map(|r| r.suppressed.len()).sum();
    let baselined: usize = result.all_items().map(|r| r.baselined.len()).sum();
    let mut hidden = String::new();
    if suppressed > 0 {
        hidden.push_str(&format!(" · {suppressed} suppressed"));
    }
    if baselined > 0 {
        hidden.push_str(&format!(" · {baselined} in the baseline"));
    }
    let by_sev = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let mut parts = vec![
        format!("{} failed", count(Status::Fail)),
        format!("{} passed", count(Status::Pass)),
    ];
    if count(Status::NotApplicable) > 0 {
        parts.push(format!("{} not applicable", count(Status::NotApplicable)));
    }
    if count(Status::Error) > 0 {
        parts.push(format!("{} errors", count(Status::Error)));
    }
    let _ = writeln!(
        out,
        "\n{} {} · {} findings ({} high, {} medium, {} low){hidden} · {} files scanned{}",
        style.paint("1", "Summary:"),
        parts.join(", "),
        findings.len(),
        by_sev(Severity::High),
        by_sev(Severity::Medium),
        by_sev(Severity::Low),
        result.files_scanned,
        if result.diagnostics.is_empty() {
            String::new()
        } else {
            format!(", {} not analysed", result.diagnostics.len())
        }
    );
    out
}
