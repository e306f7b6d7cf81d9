//! The hardening checklist, read from the TOML files in checklists/ that are embedded in the
//! binary. Each item says why it matters, how the fix works, and lists its rules.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::finding::Severity;

/// The checklist files, in checklist order.
pub const FILES: &[(&str, &str)] = &[
    (
        "checklists/secret-key.toml",
        include_str!("../checklists/secret-key.toml"),
    ),
    (
        "checklists/debug.toml",
        include_str!("../checklists/debug.toml"),
    ),
    (
        "checklists/xss.toml",
        include_str!("../checklists/xss.toml"),
    ),
    (
        "checklists/csrf.toml",
        include_str!("../checklists/csrf.toml"),
    ),
    (
        "checklists/session.toml",
        include_str!("../checklists/session.toml"),
    ),
    (
        "checklists/dependencies.toml",
        include_str!("../checklists/dependencies.toml"),
    ),
    (
        "checklists/input-validation.toml",
        include_str!("../checklists/input-validation.toml"),
    ),
    (
        "checklists/headers.toml",
        include_str!("../checklists/headers.toml"),
    ),
    (
        "checklists/production-server.toml",
        include_str!("../checklists/production-server.toml"),
    ),
    (
        "checklists/proxy.toml",
        include_str!("../checklists/proxy.toml"),
    ),
    (
        "checklists/request-limits.toml",
        include_str!("../checklists/request-limits.toml"),
    ),
    (
        "checklists/cors.toml",
        include_str!("../checklists/cors.toml"),
    ),
    (
        "checklists/tls.toml",
        include_str!("../checklists/tls.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `item/name`.
    pub id: String,
    #[serde(deserialize_with = "severity")]
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: String,
    /// CWE number, for SARIF tags.
    #[serde(default)]
    pub cwe: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub title: String,
    #[serde(deserialize_with = "severity")]
    pub severity: Severity,
    /// Why it matters, in a few sentences.
    pub why: String,
    /// How the fix works.
    pub fix: String,
    pub references: Vec<Reference>,
    pub rules: Vec<Rule>,
}

impl Item {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    Severity::parse(&s).ok_or_else(|| {
        serde::de::Error::custom(format!("severity must be high, medium or low, not {s:?}"))
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ChecklistError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Parse one checklist file; errors name the file and line.
pub fn parse_item(file: &str, text: &str) -> Result<Item, ChecklistError> {
    let item: Item = toml_edit::de::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        ChecklistError {
            file: file.to_string(),
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".toml");
    let problem = if item.id != stem {
        Some(format!(
            "item id {:?} does not match the file name",
            item.id
        ))
    } else {
        item.rules
            .iter()
            .find(|r| !r.id.starts_with(&format!("{}/", item.id)))
            .map(|r| format!("rule {:?} must start with \"{}/\"", r.id, item.id))
    };
    if let Some(message) = problem {
        let needle = message.split('"').nth(1).unwrap_or("");
        let line = text
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or(1);
        return Err(ChecklistError {
            file: file.to_string(),
            line,
            message,
        });
    }
    Ok(item)
}

/// The embedded checklist, parsed once.
pub fn checklist() -> Result<&'static [Item], &'static ChecklistError> {
    static ITEMS: OnceLock<Result<Vec<Item>, ChecklistError>> = OnceLock::new();
    ITEMS
        .get_or_init(|| FILES.iter().map(|(f, t)| parse_item(f, t)).collect())
        .as_ref()
        .map(Vec::as_slice)
}

/// The item with this id.
pub fn item(id: &str) -> Option<&'static Item> {
    checklist().ok()?.iter().find(|i| i.id == id)
}

/// The rule with this id, in any item.
pub fn rule(id: &str) -> Option<&'static Rule> {
    checklist().ok()?.iter().find_map(|i| i.rule(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_checklist_is_valid() {
        let items = checklist().expect("embedded checklist parses");
        assert!(items.len() >= 5);
        for item in items {
            assert!(!item.rules.is_empty(), "{} has rules", item.id);
            assert!(!item.references.is_empty(), "{} has references", item.id);
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "id = \"debug\"\ntitle = \"t\"\nseverity = \"urgent\"\nwhy = \"w\"\nfix = \"f\"\nreferences = []\nrules = []\n";
        let err = parse_item("checklists/debug.toml", text).expect_err("bad severity");
        assert_eq!(err.line, 3);
        assert!(
            err.to_string().starts_with("checklists/debug.toml:3:"),
            "{err}"
        );
        let text = "id = \"debug\"\ntitle = \"t\"\nseverity = \"high\"\nwhy = \"w\"\nfix = \"f\"\nreferences = []\n[[rules]]\nid = \"xss/x\"\nseverity = \"low\"\nsummary = \"s\"\n";
        let err = parse_item("checklists/debug.toml", text).expect_err("bad rule id");
        assert_eq!(err.line, 8);
    }
}
