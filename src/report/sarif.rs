//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

use serde_json::{Value, json};

use super::{TOOL_NAME, TOOL_URI, TOOL_VERSION};
use crate::checklist::{Item, Rule};
use crate::finding::{Finding, Severity};
use crate::scan::ScanResult;

pub fn render(result: &ScanResult) -> String {
    let mut out = serde_json::to_string_pretty(&to_value(result)).unwrap_or_default();
    out.push('\n');
    out
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
        .items
        .iter()
        .flat_map(|r| r.item.rules.iter().map(move |rule| (r.item, rule)))
        .collect();
    let descriptors: Vec<Value> = rules.iter().map(|(i, r)| rule_descriptor(i, r)).collect();
    let results: Vec<Value> = result
        .items
        .iter()
        .flat_map(|r| r.outcome.findings.iter())
        .map(|f| {
            let index = rules.iter().position(|(_, r)| r.id == f.rule);
            sarif_result(f, index)
        })
        .collect();
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
