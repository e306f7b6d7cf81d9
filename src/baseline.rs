//! A baseline: the findings a repository had when it was written, by
//! [`Finding::fingerprint`] (rule, path and code, no line number, so it survives moved lines
//! and unrelated edits). Checks against it report only findings beyond it.
//!
//! The file is small JSON: `{"tool": {...}, "date": "YYYY-MM-DD", "findings": [{"fingerprint",
//! "rule", "path", "count"}]}`. Identical findings share a fingerprint, so each carries a count:
//! a third copy of a line baselined twice is new.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::report::{TOOL_NAME, TOOL_VERSION};
use crate::scan::ScanResult;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub tool: Tool,
    /// When it was written, `YYYY-MM-DD` (UTC).
    pub date: String,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    /// For people reading the file; matching uses the fingerprint alone.
    pub rule: String,
    pub path: String,
    pub count: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read the baseline: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a flask-harden baseline: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: cannot write the baseline: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Baseline {
    /// The baseline of a scan's reported findings (the `suppression` pseudo-item's too).
    pub fn of(result: &ScanResult) -> Self {
        let mut counts: BTreeMap<String, Entry> = BTreeMap::new();
        for f in result.all_items().flat_map(|i| &i.outcome.findings) {
            counts
                .entry(f.fingerprint())
                .and_modify(|e| e.count += 1)
                .or_insert_with(|| Entry {
                    fingerprint: f.fingerprint(),
                    rule: f.rule.clone(),
                    path: f.path.clone(),
                    count: 1,
                });
        }
        Self {
            tool: Tool {
                name: TOOL_NAME.to_string(),
                version: TOOL_VERSION.to_string(),
            },
            date: crate::date::today_utc(),
            findings: counts.into_values().collect(),
        }
    }

    pub fn read(path: &Path) -> Result<Self, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| BaselineError::Parse {
            path: shown,
            line: e.line(),
            message: e.to_string(),
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        std::fs::write(path, text).map_err(|source| BaselineError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Move the findings the baseline records from each item's `outcome` to its `baselined`,
    /// up to the recorded count per fingerprint.
    pub fn apply(&self, result: &mut ScanResult) {
        let mut left: BTreeMap<&str, usize> = self
            .findings
            .iter()
            .map(|e| (e.fingerprint.as_str(), e.count))
            .collect();
        let items = result.items.iter_mut().chain(result.suppression.as_mut());
        for r in items {
            let findings: Vec<Finding> = std::mem::take(&mut r.outcome.findings);
            for f in findings {
                match left.get_mut(f.fingerprint().as_str()) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        r.baselined.push(f);
                    }
                    _ => r.outcome.findings.push(f),
                }
            }
        }
    }
}
