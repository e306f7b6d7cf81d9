//! The JSON report. Other programs read it: the shape of the documented fields is fixed, and
//! new fields are only ever added.

use serde_json::{Value, json};

use super::{TOOL_NAME, TOOL_VERSION};
use crate::finding::Finding;
use crate::fix::{FixAvailability, FixOffers};
use crate::scan::ScanResult;

pub fn render(result: &ScanResult, fixes: &FixOffers) -> String {
    let mut out = serde_json::to_string_pretty(&to_value(result, fixes)).unwrap_or_default();
    out.push('\n');
    out
}

/// The report; `fixes` says which findings a fix generator offers a plan for
/// ([`crate::fix::offered_fixes`]).
pub fn to_value(result: &ScanResult, fixes: &FixOffers) -> Value {
    let items: Vec<Value> = result
        .items
        .iter()
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
        "fix": FixAvailability::to_json(fixes.get(&f.fingerprint())),
    })
}
