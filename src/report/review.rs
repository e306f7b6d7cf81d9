//! The review report: a self-contained summary for a person reviewing the repository, in
//! Markdown or as one HTML file (inline CSS, no scripts, nothing loaded from the network).
//! Each item's status, its findings linked to `path#Lline` (relative to the repository root),
//! and the fixes flask-harden can make, each with its diff.

use std::fmt::Write;

use super::{TOOL_NAME, TOOL_VERSION};
use crate::finding::Status;
use crate::fix::{Applicability, FixRun};
use crate::scan::{ItemResult, ScanResult};

/// The fixes for one item: titles and the unified diffs of its changes.
struct ItemFixes {
    titles: Vec<String>,
    diffs: Vec<String>,
}

fn fixes_for(run: Option<&FixRun>, item: &str) -> ItemFixes {
    let mut out = ItemFixes {
        titles: Vec::new(),
        diffs: Vec::new(),
    };
    let Some(fix) = run.and_then(|r| r.items.iter().find(|i| i.item == item)) else {
        return out;
    };
    for plan in fix.applied.iter().chain(&fix.needs_unsafe) {
        let note = if plan.applicability == Applicability::Unsafe {
            " (changes behaviour: review)"
        } else {
            ""
        };
        out.titles.push(format!("{}{note}", plan.title));
    }
    out.diffs = fix.changes.iter().map(|c| c.unified_diff()).collect();
    out
}

fn status_word(r: &ItemResult) -> &'static str {
    match r.status() {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotApplicable => "N/A",
        Status::Error => "ERROR",
    }
}

fn link(path: &str, line: usize) -> String {
    let encoded = path
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('#', "%23");
    format!("{encoded}#L{line}")
}

/// Markdown. `fixes` is a fix run over the same files (with unsafe fixes included).
pub fn markdown(result: &ScanResult, fixes: Option<&FixRun>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# flask-harden review\n");
    let _ = writeln!(
        out,
        "{TOOL_NAME} {TOOL_VERSION} · {} · {}\n",
        crate::date::today_utc(),
        summary(result)
    );
    let _ = writeln!(out, "| item | status | findings |\n|---|---|---|");
    for r in result.all_items() {
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} |",
            r.item.id,
            r.item.id,
            status_word(r),
            r.outcome.findings.len()
        );
    }
    for r in result.all_items() {
        let _ = writeln!(
            out,
            "\n<a id=\"{}\"></a>\n## {} {} — {}\n",
            r.item.id,
            status_word(r),
            r.item.id,
            r.item.title
        );
        if let Some(reason) = r
            .outcome
            .not_applicable
            .as_ref()
            .or(r.outcome.error.as_ref())
        {
            let _ = writeln!(out, "_{reason}_\n");
        }
        for f in &r.outcome.findings {
            let _ = writeln!(
                out,
                "- [{}:{}]({}) `{}` ({}): {}",
                f.path,
                f.line,
                link(&f.path, f.line),
                f.rule,
                f.severity.as_str(),
                f.message
            );
        }
        let fx = fixes_for(fixes, &r.item.id);
        if !fx.titles.is_empty() {
            let _ = writeln!(out, "\n### Fixes available\n");
            for t in &fx.titles {
                let _ = writeln!(out, "- {t}");
            }
            for d in &fx.diffs {
                let _ = writeln!(out, "\n```diff\n{}```", ensure_newline(d));
            }
        }
    }
    out
}

fn ensure_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

fn summary(result: &ScanResult) -> String {
    let count = |s: Status| result.all_items().filter(|r| r.status() == s).count();
    let findings: usize = result.all_items().map(|r| r.outcome.findings.len()).sum();
    let suppressed: usize = result.all_items().map(|r| r.suppressed.len()).sum();
    format!(
        "{} failed, {} passed · {findings} findings · {suppressed} suppressed",
        count(Status::Fail),
        count(Status::Pass)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}\
.s{font-weight:bold;padding:0 .4rem;border-radius:3px;color:#fff}.PASS{background:#2a7d2a}\
.FAIL{background:#b02a2a}.NA{background:#888}.ERROR{background:#b07a00}\
code,pre{font-family:ui-monospace,monospace;font-size:13px}\
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;border:1px solid #e2e2e2}\
.add{color:#1a661a}.del{color:#a31515}.hunk{color:#555}li{margin:.2rem 0}";

/// One HTML file: inline CSS, no scripts, no external resources.
pub fn html(result: &ScanResult, fixes: Option<&FixRun>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>flask-harden review</title><style>{CSS}</style></head><body>\n"
    );
    let _ = writeln!(
        out,
        "<h1>flask-harden review</h1><p>{} {} · {} · {}</p>",
        TOOL_NAME,
        TOOL_VERSION,
        crate::date::today_utc(),
        esc(&summary(result))
    );
    let class = |r: &ItemResult| match status_word(r) {
        "N/A" => "NA",
        w => w,
    };
    let _ = writeln!(
        out,
        "<table><tr><th>item</th><th>status</th><th>findings</th></tr>"
    );
    for r in result.all_items() {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td><span class=\"s {1}\">{2}</span></td><td>{3}</td></tr>",
            esc(&r.item.id),
            class(r),
            status_word(r),
            r.outcome.findings.len()
        );
    }
    let _ = writeln!(out, "</table>");
    for r in result.all_items() {
        let _ = writeln!(
            out,
            "<h2 id=\"{0}\"><span class=\"s {1}\">{2}</span> {0} — {3}</h2>",
            esc(&r.item.id),
            class(r),
            status_word(r),
            esc(&r.item.title)
        );
        if let Some(reason) = r
            .outcome
            .not_applicable
            .as_ref()
            .or(r.outcome.error.as_ref())
        {
            let _ = writeln!(out, "<p><em>{}</em></p>", esc(reason));
        }
        if !r.outcome.findings.is_empty() {
            let _ = writeln!(out, "<ul>");
            for f in &r.outcome.findings {
                let _ = writeln!(
                    out,
                    "<li><a href=\"{}\">{}:{}</a> <code>{}</code> ({}): {}<pre>{}</pre></li>",
                    esc(&link(&f.path, f.line)),
                    esc(&f.path),
                    f.line,
                    esc(&f.rule),
                    f.severity.as_str(),
                    esc(&f.message),
                    esc(&f.code)
                );
            }
            let _ = writeln!(out, "</ul>");
        }
        let fx = fixes_for(fixes, &r.item.id);
        if !fx.titles.is_empty() {
            let _ = writeln!(out, "<h3>Fixes available</h3><ul>");
            for t in &fx.titles {
                let _ = writeln!(out, "<li>{}</li>", esc(t));
            }
            let _ = writeln!(out, "</ul>");
            for d in &fx.diffs {
                let _ = write!(out, "<pre>");
                for line in d.lines() {
                    let class = match line.chars().next() {
                        _ if line.starts_with("+++") || line.starts_with("---") => "hunk",
                        Some('+') => "add",
                        Some('-') => "del",
                        Some('@') => "hunk",
                        _ => "",
                    };
                    let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(line));
                }
                let _ = writeln!(out, "</pre>");
            }
        }
    }
    let _ = writeln!(out, "</body></html>");
    out
}
