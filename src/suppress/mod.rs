//! Inline suppressions: `# flask-harden: ignore[csrf/missing-protect] reason` on the line of a
//! finding or on the line above it (`{# flask-harden: ignore[xss] reason #}` in templates).
//!
//! Applied after the checks, over the text of every file the scan read. A suppression names
//! rules (`item/rule`) or whole items (`item`). One without a reason, or one that suppresses
//! nothing, is itself reported under the `suppression` pseudo-item, so the run fails until it
//! is justified or removed.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;
use serde::Serialize;

use crate::checklist::{self, ChecklistError, Item};
use crate::finding::{CheckOutcome, Finding};

pub const ITEM_ID: &str = "suppression";
pub const MISSING_REASON: &str = "suppression/missing-reason";
pub const UNUSED: &str = "suppression/unused";

/// A finding a suppression comment hid, with the comment's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    /// The reason written after the brackets (empty when none was given).
    pub reason: String,
    /// 1-based line of the comment.
    pub comment_line: usize,
}

/// One `flask-harden: ignore[...]` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub path: String,
    /// 1-based line and column of the comment.
    pub line: usize,
    pub column: usize,
    /// Rule ids or item ids, as written.
    pub targets: Vec<String>,
    pub reason: String,
    /// The whole source line, as evidence.
    pub code: String,
    /// Nothing but the comment on its line: it then applies to the line below too.
    pub own_line: bool,
}

impl Comment {
    fn covers(&self, f: &Finding) -> bool {
        f.path == self.path
            && ((f.line <= self.line && self.line <= f.end_line.max(f.line))
                || (self.own_line && self.line + 1 == f.line))
            && self
                .targets
                .iter()
                .any(|t| *t == f.rule || t.as_str() == f.item())
    }

    fn targets_label(&self) -> String {
        self.targets.join(", ")
    }
}

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\{#-?|#)\s*flask-harden:\s*ignore\[([^\]\n]*)\]([^\n]*)").expect("valid regex")
});

/// Whether `text` can hold a suppression comment at all (a fast test before [`parse`]).
pub fn may_hold_suppression(text: &str) -> bool {
    text.contains("flask-harden:")
}

/// The suppression comments of one file.
pub fn parse(path: &str, text: &str) -> Vec<Comment> {
    if !may_hold_suppression(text) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(caps) = PATTERN.captures(line) else {
            continue;
        };
        let (Some(whole), Some(list), Some(rest)) = (caps.get(0), caps.get(2), caps.get(3)) else {
            continue;
        };
        let mut reason = rest.as_str().trim();
        for close in ["-#}", "#}"] {
            if let Some(r) = reason.strip_suffix(close) {
                reason = r.trim_end();
                break;
            }
        }
        let targets: Vec<String> = list
            .as_str()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        out.push(Comment {
            path: path.to_string(),
            line: i + 1,
            column: line[..whole.start()].chars().count() + 1,
            targets,
            reason: reason.to_string(),
            code: line.trim_end_matches('\r').to_string(),
            own_line: line[..whole.start()].trim().is_empty(),
        });
    }
    out
}

/// The `suppression` pseudo-item: not part of the checklist, shown only when a repository
/// has suppression comments.
pub fn item() -> Result<&'static Item, &'static ChecklistError> {
    static ITEM: OnceLock<Result<Item, ChecklistError>> = OnceLock::new();
    ITEM.get_or_init(|| checklist::parse_item("suppression.toml", include_str!("item.toml")))
        .as_ref()
}

/// Whether `target` names a known item or rule.
fn known(target: &str) -> bool {
    checklist::item(target).is_some() || checklist::rule(target).is_some()
}

fn item_of(target: &str) -> &str {
    target.split('/').next().unwrap_or(target)
}

/// Move the findings the comments in `texts` (path → text) cover from each item's outcome to
/// its suppressed list. Returns the `suppression` pseudo-item and its outcome when there is any
/// comment: failing with the comments that have no reason or suppress nothing. `ran` are the
/// ids of the items that ran; a comment for an item that did not run is not called unused.
pub fn apply(
    items: &mut [(&mut CheckOutcome, &mut Vec<Suppressed>)],
    texts: &BTreeMap<String, &str>,
    ran: &[&str],
) -> Option<(&'static Item, CheckOutcome)> {
    use rayon::prelude::*;
    // Every text of the repository is searched: in parallel, in path order.
    let comments: Vec<Comment> = texts
        .par_iter()
        .flat_map_iter(|(path, text)| parse(path, text))
        .collect();
    if comments.is_empty() {
        return None;
    }
    let mut used = vec![false; comments.len()];
    // The comments of each file by line: a finding is matched only against those on its
    // lines or the line before, so thousands of suppressions in one file stay cheap.
    let mut by_line: std::collections::HashMap<&str, BTreeMap<usize, Vec<usize>>> =
        Default::default();
    for (i, c) in comments.iter().enumerate() {
        by_line
            .entry(c.path.as_str())
            .or_default()
            .entry(c.line)
            .or_default()
            .push(i);
    }
    for (outcome, suppressed) in items.iter_mut() {
        let findings = std::mem::take(&mut outcome.findings);
        for f in findings {
            let covering = by_line.get(f.path.as_str()).and_then(|lines| {
                let first = f.line.saturating_sub(1);
                let last = f.end_line.max(f.line);
                lines
                    .range(first..=last)
                    .flat_map(|(_, at)| at.iter().copied())
                    .find(|&i| comments[i].covers(&f))
            });
            match covering {
                Some(i) => {
                    used[i] = true;
                    suppressed.push(Suppressed {
                        reason: comments[i].reason.clone(),
                        comment_line: comments[i].line,
                        finding: f,
                    });
                }
                None => outcome.findings.push(f),
            }
        }
    }
    let item = item().ok()?;
    let severity = |id: &str| item.rule(id).map(|r| r.severity).unwrap_or(item.severity);
    let mut problems = Vec::new();
    for (c, used) in comments.iter().zip(used) {
        let finding = |rule: &str, message: String| Finding {
            rule: rule.to_string(),
            path: c.path.clone(),
            line: c.line,
            end_line: c.line,
            column: c.column,
            end_column: c.code.chars().count() + 1,
            code: c.code.clone(),
            message,
            severity: severity(rule),
        };
        if c.reason.is_empty() {
            problems.push(finding(
                MISSING_REASON,
                format!(
                    "suppression of {} gives no reason: write why after the closing bracket",
                    c.targets_label()
                ),
            ));
        }
        if used {
            continue;
        }
        if c.targets.is_empty() {
            problems.push(finding(
                UNUSED,
                "suppression names no rule: write ignore[item/rule] or ignore[item]".to_string(),
            ));
        } else if let Some(unknown) = c.targets.iter().find(|t| !known(t)) {
            problems.push(finding(
                UNUSED,
                format!("suppression names {unknown:?}, which is no rule or item of the checklist"),
            ));
        } else if c.targets.iter().all(|t| ran.contains(&item_of(t))) {
            problems.push(finding(
                UNUSED,
                format!(
                    "suppression of {} suppresses no finding: remove it",
                    c.targets_label()
                ),
            ));
        }
    }
    Some((item, CheckOutcome::findings(problems)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_template_and_env_comments() {
        let c = parse(
            "a.py",
            "x = 1  # flask-harden: ignore[debug/app-run, csrf] local tool only\n",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].targets, ["debug/app-run", "csrf"]);
        assert_eq!(c[0].reason, "local tool only");
        assert!(!c[0].own_line);
        let c = parse(
            "t.html",
            "<p>\n  {# flask-harden: ignore[xss/safe-filter] sanitised by bleach #}\n",
        );
        assert_eq!(c[0].line, 2);
        assert_eq!(c[0].reason, "sanitised by bleach");
        assert!(c[0].own_line);
        let c = parse(".env", "# flask-harden: ignore[debug]\nFLASK_DEBUG=1\n");
        assert_eq!(c[0].reason, "");
        assert!(item().is_ok());
    }
}
