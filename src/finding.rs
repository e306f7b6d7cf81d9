//! What a scan produces: findings per checklist item, and diagnostics about files it could not
//! read. These types are the contract between the detectors, the reports, the fixes and the TUI.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

/// One problem found in the repository, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `item/rule`, e.g. `secret-key/hardcoded`. Stable: SARIF ruleIds and baselines use it.
    pub rule: String,
    /// Path relative to the repository root, with forward slashes.
    pub path: String,
    pub line: usize,
    pub end_line: usize,
    pub column: usize,
    pub end_column: usize,
    /// The source lines `line..=end_line`, as evidence.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
    pub severity: Severity,
}

impl Finding {
    /// The checklist item this finding belongs to: the part of the rule before the `/`.
    pub fn item(&self) -> &str {
        self.rule.split('/').next().unwrap_or(&self.rule)
    }
}

/// A file the scan could not use fully, and why. The scan goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotApplicable,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "not-applicable",
            Status::Error => "error",
        }
    }
}

/// What a check says about its item.
#[derive(Debug, Clone, Default)]
pub struct CheckOutcome {
    pub findings: Vec<Finding>,
    /// Set when the item does not apply to this repository (no Flask app, no dependency file…),
    /// with the reason shown to the user.
    pub not_applicable: Option<String>,
    /// Set when the check could not be evaluated, with the reason.
    pub error: Option<String>,
    /// Extra lines shown with the item (the advisory database date, say).
    pub notes: Vec<String>,
}

impl CheckOutcome {
    pub fn findings(findings: Vec<Finding>) -> Self {
        Self {
            findings,
            ..Self::default()
        }
    }

    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Self {
            not_applicable: Some(reason.into()),
            ..Self::default()
        }
    }

    pub fn status(&self) -> Status {
        if self.error.is_some() {
            Status::Error
        } else if !self.findings.is_empty() {
            Status::Fail
        } else if self.not_applicable.is_some() {
            Status::NotApplicable
        } else {
            Status::Pass
        }
    }
}

impl Finding {
    /// A fingerprint that survives unrelated edits: the rule, the path and the code with its
    /// whitespace folded, not the line number. Baselines and SARIF partialFingerprints use it.
    pub fn fingerprint(&self) -> String {
        let code: String = self.code.split_whitespace().collect::<Vec<_>>().join(" ");
        format!(
            "{:016x}",
            fnv1a(&[self.rule.as_bytes(), self.path.as_bytes(), code.as_bytes()])
        )
    }
}

/// FNV-1a, 64 bit: stable across versions and platforms, which std's hasher is not.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
