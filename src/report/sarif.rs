//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

use serde_json::{Value, json};

use super::{TOOL_NAME, TOOL_URI, TOOL_VERSION};
use crate::checklist::{Item, Rule};
use std::collections::BTreeMap;

use crate::finding::{Finding, Severity};
use crate::fix::plan::fingerprint;
use crate::fix::{FixPlan, FixRun, PatchKind, Snapshot, offer_key};
use crate::scan::ScanResult;
use crate::source::LineIndex;

pub fn render(result: &ScanResult) -> String {
    render_with_fixes(result, &SarifFixes::new())
}

/// SARIF `fix` objects by finding ([`crate::fix::offer_key`]).
pub type SarifFixes = BTreeMap<String, Vec<Value>>;

/// The log with `fixes` on the results a verified fix removes.
pub fn render_with_fixes(result: &ScanResult, fixes: &SarifFixes) -> String {
    let mut value = to_value(result);
    if let Some(results) = value["runs"][0]["results"].as_array_mut() {
        for r in results {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            let key = format!(
                "{}@{}:{}",
                r["partialFingerprints"]["flaskHarden/v1"]
                    .as_str()
                    .unwrap_or_default(),
                region["startLine"].as_u64().unwrap_or(0),
                region["startColumn"].as_u64().unwrap_or(0),
            );
            if let Some(f) = fixes.get(&key)
                && r.get("suppressions").is_none()
            {
                r["fixes"] = json!(f);
            }
        }
    }
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

/// SARIF fixes from a fix run: for each verified plan (applied or held back as unsafe), its
/// edits as `artifactChanges`. Only plans made against the files as they are on disk (the
/// run's base) are expressible as regions of the analysed files; the others are left out.
pub fn fixes_of(run: &FixRun) -> SarifFixes {
    let mut out = SarifFixes::new();
    for item in &run.items {
        for plan in item.applied.iter().chain(&item.needs_unsafe) {
            let Some(fix) = sarif_fix(&run.base, plan) else {
                continue;
            };
            for f in &plan.fixes {
                out.entry(offer_key(f)).or_default().push(fix.clone());
            }
        }
    }
    out
}

/// The items of `run` with a fix that edits a file an earlier item had changed: such a fix is
/// not a set of regions of the analysed files.
pub fn items_on_changed_files(run: &FixRun) -> Vec<String> {
    run.items
        .iter()
        .filter(|item| {
            item.applied
                .iter()
                .chain(&item.needs_unsafe)
                .any(|plan| sarif_fix(&run.base, plan).is_none())
        })
        .map(|item| item.item.clone())
        .collect()
}

fn sarif_fix(base: &Snapshot, plan: &FixPlan) -> Option<Value> {
    let mut changes = Vec::new();
    for patch in &plan.patches {
        let replacements: Vec<Value> = match &patch.kind {
            PatchKind::Create { text } => {
                if base.get(&patch.path).is_some() {
                    return None;
                }
                vec![json!({
                    "deletedRegion": {"charOffset": 0, "charLength": 0},
                    "insertedContent": {"text": text},
                })]
            }
            PatchKind::Edit {
                base: made_for,
                edits,
                ..
            } => {
                let text = base.get(&patch.path)?;
                if fingerprint(text) != *made_for {
                    return None;
                }
                let lines = LineIndex::new(text);
                let mut out = Vec::new();
                for e in edits {
                    let at = |o: usize| -> Option<crate::source::Position> {
                        let o = u32::try_from(o).ok()?;
                        (o as usize <= text.len()).then(|| lines.position(text, o.into()))
                    };
                    let (start, end) = (at(e.range.start)?, at(e.range.end)?);
                    out.push(json!({
                        "deletedRegion": {
                            "startLine": start.line,
                            "startColumn": start.column,
                            "endLine": end.line,
                            "endColumn": end.column,
                        },
                        "insertedContent": {"text": e.replacement},
                    }));
                }
                out
            }
        };
        changes.push(json!({
            "artifactLocation": {"uri": patch.path, "uriBaseId": "%SRCROOT%"},
            "replacements": replacements,
        }));
    }
    if changes.is_empty() {
        return None;
    }
    Some(json!({
        "description": {"text": format!("{} ({})", plan.title, plan.applicability.as_str())},
        "artifactChanges": changes,
    }))
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub ranks alerts by `security-severity` (0–10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn rule_descriptor(item: &Item, rule: &Rule) -> Value {
    let refs: Vec<String> = item
        .references
        .iter()
        .map(|r| format!("- [{}]({})", r.title, r.url))
        .collect();
    let markdown = format!(
        "**{}**\n\n{}\n\n**Fix.** {}\n\n**References**\n\n{}",
        item.title,
        item.why.trim(),
        item.fix.trim(),
        refs.join("\n")
    );
    let text = format!("{}\n\nFix: {}", item.why.trim(), item.fix.trim());
    let mut tags = vec!["security".to_string(), "flask".to_string(), item.id.clone()];
    if let Some(cwe) = rule.cwe {
        tags.push(format!("external/cwe/cwe-{cwe}"));
    }
    json!({
        "id": rule.id,
        "name": rule.id.replace(['/', '-'], "_"),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": item.why.trim()},
        "help": {"text": text, "markdown": markdown},
        "helpUri": item.references.first().map(|r| r.url.as_str()).unwrap_or(TOOL_URI),
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": security_severity(rule.severity),
        },
    })
}

pub fn to_value(result: &ScanResult) -> Value {
    // Every rule of every item that ran, so rule indexes stay stable between runs.
    let rules: Vec<(&Item, &Rule)> = result
        .all_items()
        .flat_map(|r| r.item.rules.iter().map(move |rule| (r.item, rule)))
        .collect();
    let descriptors: Vec<Value> = rules.iter().map(|(i, r)| rule_descriptor(i, r)).collect();
    let index = |f: &Finding| rules.iter().position(|(_, r)| r.id == f.rule);
    let mut results: Vec<Value> = result
        .all_items()
        .flat_map(|r| r.outcome.findings.iter())
        .map(|f| sarif_result(f, index(f)))
        .collect();
    // Suppressed findings stay in the log, marked as suppressed in the source with the
    // comment's reason, as SARIF consumers (GitHub code scanning) expect.
    results.extend(result.all_items().flat_map(|r| &r.suppressed).map(|s| {
        let mut v = sarif_result(&s.finding, index(&s.finding));
        let mut suppression = json!({"kind": "inSource", "status": "accepted"});
        if !s.reason.is_empty() {
            suppression["justification"] = json!(s.reason);
        }
        v["suppressions"] = json!([suppression]);
        v
    }));
    let notifications: Vec<Value> = result
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "level": "warning",
                "message": {"text": d.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": d.path, "uriBaseId": "%SRCROOT%"}}}],
            })
        })
        .collect();
    let root_uri = format!(
        "file://{}/",
        result.root.to_string_lossy().trim_end_matches('/')
    );
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "semanticVersion": TOOL_VERSION,
                "informationUri": TOOL_URI,
                "rules": descriptors,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
        }],
    })
}

fn sarif_result(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
            "region": {
                "startLine": f.line,
                "startColumn": f.column,
                "endLine": f.end_line,
                "endColumn": f.end_column.max(1),
                "snippet": {"text": f.code},
            },
        }}],
        "partialFingerprints": {"flaskHarden/v1": f.fingerprint()},
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    r
}
