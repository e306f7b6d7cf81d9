//! The JSON report. Other programs read it: the shape of the documented fields is fixed, and
//! new fields are only ever added.

use serde_json::{Value, json};

use super::{TOOL_NAME, TOOL_VERSION};
use crate::finding::Finding;
use crate::fix::{FixAvailability, FixOffers, offer_key};
use crate::scan::ScanResult;

pub fn render(result: &ScanResult, fixes: &FixOffers) -> String {
    render_with(result, fixes, false)
}

/// The report with a `summary` (findings reported, suppressed, baselined), and each item's
/// suppressed findings (`items[].suppressed[]`) when
/// `show_suppressed` is set.
pub fn render_with(result: &ScanResult, fixes: &FixOffers, show_suppressed: bool) -> String {
    let mut value = to_value(result, fixes);
    value["summary"] = json!({
        "findings": result.all_items().map(|r| r.outcome.findings.len()).sum::<usize>(),
        "suppressed": result.all_items().map(|r| r.suppressed.len()).sum::<usize>(),
        "baselined": result.all_items().map(|r| r.baselined.len()).sum::<usize>(),
    });
    if show_suppressed && let Some(items) = value["items"].as_array_mut() {
        for (item, r) in items.iter_mut().zip(result.all_items()) {
            item["suppressed"] = r
                .suppressed
                .iter()
                .map(|s| {
                    let mut v = finding(&s.finding, fixes);
                    v["reason"] = json!(s.reason);
                    v["comment_line"] = json!(s.comment_line);
                    v
                })
                .collect();
        }
    }
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

/// The report; `fixes` says which findings a fix generator offers a plan for
/// ([`crate::fix::offered_fixes`]).
pub fn to_value(result: &ScanResult, fixes: &FixOffers) -> Value {
    let items: Vec<Value> = result
        .all_items()
        .map(|r| {
            let mut item = json!({
                "id": r.item.id,
                "title": r.item.title,
                "severity": r.item.severity,
                "status": r.status().as_str(),
                "findings": r.outcome.findings.iter().map(|f| finding(f, fixes)).collect::<Vec<_>>(),
            });
            if let Some(reason) = r
                .outcome
                .not_applicable
                .as_ref()
                .or(r.outcome.error.as_ref())
            {
                item["reason"] = json!(reason);
            }
            if !r.outcome.notes.is_empty() {
                item["notes"] = json!(r.outcome.notes);
            }
            item
        })
        .collect();
    json!({
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "root": result.root.to_string_lossy(),
        "items": items,
        "diagnostics": result.diagnostics,
    })
}

fn finding(f: &Finding, fixes: &FixOffers) -> Value {
    json!({
        "rule": f.rule,
        "path": f.path,
        "line": f.line,
        "end_line": f.end_line,
        "column": f.column,
        "end_column": f.end_column,
        "message": f.message,
        "severity": f.severity,
        "code": f.code,
        "fingerprint": f.fingerprint(),
        "fix": FixAvailability::to_json(fixes.get(&offer_key(f))),
    })
}
