//! From a snapshot to verified, applied fixes, one checklist item after the other.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};
use similar::TextDiff;

use super::apply::{ApplyStatus, Overlay};
use super::items;
use super::plan::{Applicability, FixPlan};
use super::snapshot::{SnapFile, Snapshot};
use super::templates;
use super::verify::{PyCompiler, Rejection, Workspace, check_files, findings, remaining};
use super::{Generated, generator, with_context};
use crate::checks::CHECKS;
use crate::finding::Finding;

/// Rounds of regenerate-and-apply per item before giving up on conflicting plans.
const MAX_ROUNDS: usize = 8;

#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Only these checklist items (all when empty).
    pub items: Vec<String>,
    /// Also apply plans marked [`Applicability::Unsafe`].
    pub include_unsafe: bool,
    pub compiler: PyCompiler,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            include_unsafe: false,
            compiler: PyCompiler::detect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("unknown checklist item {0:?} (known: {1})")]
    UnknownItem(String, String),
    #[error("could not prepare a temporary copy of the repository: {0}")]
    Workspace(#[from] std::io::Error),
    #[error("{0}")]
    Scan(String),
}

/// A fix that is not offered, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub title: Option<String>,
    pub findings: Vec<Finding>,
    pub reason: String,
}

/// One file a fix changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// `None` for a new file.
    pub before: Option<SnapFile>,
    pub after: SnapFile,
}

impl FileChange {
    /// A unified diff with `a/` and `b/` paths, as git prints them.
    pub fn unified_diff(&self) -> String {
        let before = self.before.as_ref().map_or("", |f| f.text.as_str());
        let old = if self.before.is_some() {
            format!("a/{}", self.path)
        } else {
            "/dev/null".to_string()
        };
        let diff = TextDiff::from_lines(before, self.after.text.as_str());
        diff.unified_diff()
            .context_radius(3)
            .header(&old, &format!("b/{}", self.path))
            .to_string()
    }
}

/// What happened to one checklist item.
#[derive(Debug, Clone, Default)]
pub struct ItemFix {
    pub item: String,
    /// Verified plans, applied in this order.
    pub applied: Vec<FixPlan>,
    /// Verified plans held back because they are unsafe and `include_unsafe` is off.
    pub needs_unsafe: Vec<FixPlan>,
    pub rejected: Vec<Rejected>,
    /// Findings of rules that have no generator.
    pub without_fix: Vec<Finding>,
    /// The item's file changes, relative to the previous item's result.
    pub changes: Vec<FileChange>,
    /// The item's findings a rescan still reports after its fixes.
    pub remaining: Vec<Finding>,
}

impl ItemFix {
    /// `harden(<item>): <summary>`, with a body listing the fixes and the findings fixed.
    pub fn commit_message(&self) -> String {
        let mut body = String::new();
        for plan in &self.applied {
            body.push_str(&format!("- {}", plan.title));
            if plan.applicability == Applicability::Unsafe {
                body.push_str(" (changes behaviour: review)");
            }
            body.push('\n');
            for f in &plan.fixes {
                let code = f.code.lines().next().unwrap_or("").trim();
                body.push_str(&format!(
                    "  fixes {} at {}:{}: {code}\n",
                    f.rule, f.path, f.line
                ));
            }
        }
        let summary = items::summary(&self.item, &self.applied);
        let message = templates::render(
            "commit_message.txt",
            &[
                ("item", &self.item),
                ("summary", &summary),
                ("body", body.trim_end()),
            ],
        )
        .unwrap_or_else(|_| format!("harden({}): {summary}\n\n{body}", self.item));
        format!("{}\n", message.trim_end())
    }
}

/// Fix availability by finding fingerprint.
pub type FixOffers = BTreeMap<String, FixAvailability>;

/// Whether a finding has a fix, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixAvailability {
    pub title: String,
    pub applicability: Applicability,
}

impl FixAvailability {
    /// The `fix` field of a finding in the JSON report.
    pub fn to_json(availability: Option<&FixAvailability>) -> Value {
        match availability {
            None => json!({"available": false}),
            Some(a) => json!({
                "available": true,
                "title": a.title,
                "applicability": a.applicability.as_str(),
            }),
        }
    }
}

/// The outcome of [`plan_fixes`].
#[derive(Debug, Clone)]
pub struct FixRun {
    pub base: Snapshot,
    /// `base` with every item's applied fixes.
    pub result: Snapshot,
    pub items: Vec<ItemFix>,
    /// The findings of the scan of `base`.
    pub findings_before: Vec<Finding>,
}

impl FixRun {
    /// Findings (by [`Finding::fingerprint`]) with a verified fix, applied or held back as
    /// unsafe.
    pub fn availability(&self) -> BTreeMap<String, FixAvailability> {
        let mut out = BTreeMap::new();
        for item in &self.items {
            for plan in item.applied.iter().chain(&item.needs_unsafe) {
                for f in &plan.fixes {
                    out.entry(f.fingerprint())
                        .or_insert_with(|| FixAvailability {
                            title: plan.title.clone(),
                            applicability: plan.applicability,
                        });
                }
            }
        }
        out
    }

    /// Every file change from `base` to `result`.
    pub fn changes(&self) -> Vec<FileChange> {
        changes(&self.base, &self.result)
    }

    pub fn is_empty(&self) -> bool {
        self.items.iter().all(|i| i.changes.is_empty())
    }
}

fn changes(base: &Snapshot, result: &Snapshot) -> Vec<FileChange> {
    result
        .changes_since(base)
        .into_iter()
        .map(|(path, before, after)| FileChange {
            path: path.to_string(),
            before: before.cloned(),
            after: after.clone(),
        })
        .collect()
}

/// Scan `base`, generate fixes for the selected items' findings, verify them and apply them in
/// turn. Nothing is written outside a temporary folder.
pub fn plan_fixes(base: Snapshot, options: &FixOptions) -> Result<FixRun, FixError> {
    for wanted in &options.items {
        if !CHECKS.iter().any(|(id, _)| id == wanted) {
            let known: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
            return Err(FixError::UnknownItem(wanted.clone(), known.join(", ")));
        }
    }
    let selected: Vec<String> = CHECKS
        .iter()
        .map(|(id, _)| id.to_string())
        .filter(|id| options.items.is_empty() || options.items.contains(id))
        .collect();
    let mut ws = Workspace::new(&base)?;
    let before = ws
        .scan(&base, &selected)
        .map_err(|e| FixError::Scan(e.to_string()))?;
    let findings_before: Vec<Finding> = findings(&before).into_iter().cloned().collect();

    let mut current = base.clone();
    let mut items = Vec::new();
    for item in &selected {
        let fix = fix_item(item, &current, &mut ws, options)?;
        current = fix.1;
        items.push(fix.0);
    }
    Ok(FixRun {
        base,
        result: current,
        items,
        findings_before,
    })
}

fn fix_item(
    item: &str,
    start: &Snapshot,
    ws: &mut Workspace,
    options: &FixOptions,
) -> Result<(ItemFix, Snapshot), FixError> {
    let only = [item.to_string()];
    let scan_item = |ws: &mut Workspace, snap: &Snapshot| -> Result<Vec<Finding>, FixError> {
        let r = ws
            .scan(snap, &only)
            .map_err(|e| FixError::Scan(e.to_string()))?;
        Ok(findings(&r).into_iter().cloned().collect())
    };
    let mut out = ItemFix {
        item: item.to_string(),
        ..ItemFix::default()
    };
    let mut current = start.clone();
    let mut settled: HashSet<String> = HashSet::new();
    let mut found = scan_item(ws, &current)?;
    for _round in 0..MAX_ROUNDS {
        let targets: Vec<&Finding> = found
            .iter()
            .filter(|f| !settled.contains(&f.fingerprint()))
            .collect();
        if targets.is_empty() {
            break;
        }
        let generated = generate(&current, &targets, &mut out, &mut settled);
        let mut overlay = Overlay::new(current.clone());
        let before: Vec<&Finding> = found.iter().collect();
        let mut progressed = false;
        for g in generated {
            let plan = match g {
                Ok(plan) => plan,
                Err(u) => {
                    settled.insert(u.finding.fingerprint());
                    out.rejected.push(Rejected {
                        title: None,
                        findings: vec![*u.finding],
                        reason: u.reason,
                    });
                    continue;
                }
            };
            let verdict = verify_plan(&current, &plan, ws, &before, &only, &options.compiler);
            if let Err(reason) = verdict {
                settle(&mut settled, &plan);
                out.rejected.push(Rejected {
                    title: Some(plan.title.clone()),
                    findings: plan.fixes.clone(),
                    reason: reason.to_string(),
                });
                continue;
            }
            if plan.applicability == Applicability::Unsafe && !options.include_unsafe {
                settle(&mut settled, &plan);
                out.needs_unsafe.push(plan);
                continue;
            }
            match overlay.prepare(&plan) {
                Ok(pending) => {
                    let checked = check_files(
                        &options.compiler,
                        pending.files.iter().map(|(p, f)| (p.as_str(), f)),
                    );
                    if let Err(reason) = checked {
                        settle(&mut settled, &plan);
                        out.rejected.push(Rejected {
                            title: Some(plan.title.clone()),
                            findings: plan.fixes.clone(),
                            reason: reason.to_string(),
                        });
                        continue;
                    }
                    overlay.commit(pending);
                    out.applied.push(plan);
                    progressed = true;
                }
                // Regenerated against the new text next round.
                Err(ApplyStatus::Conflict { .. }) | Err(ApplyStatus::AlreadyApplied) => {}
                Err(ApplyStatus::Stale { path, reason }) => {
                    settle(&mut settled, &plan);
                    out.rejected.push(Rejected {
                        title: Some(plan.title.clone()),
                        findings: plan.fixes.clone(),
                        reason: format!("{path}: {reason}"),
                    });
                }
                Err(ApplyStatus::Applied) => {}
            }
        }
        current = overlay.into_current();
        found = scan_item(ws, &current)?;
        if !progressed {
            break;
        }
    }
    out.remaining = found;
    out.changes = changes(start, &current);
    Ok((out, current))
}

fn settle(settled: &mut HashSet<String>, plan: &FixPlan) {
    settled.extend(plan.fixes.iter().map(Finding::fingerprint));
}

/// Run the generators of the targets' rules; findings of rules without one are recorded.
fn generate(
    snapshot: &Snapshot,
    targets: &[&Finding],
    out: &mut ItemFix,
    settled: &mut HashSet<String>,
) -> Vec<Generated> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in targets {
        by_rule.entry(f.rule.as_str()).or_default().push(f);
    }
    let mut plans = Vec::new();
    let mut runnable = Vec::new();
    for (rule, fs) in by_rule {
        match generator(rule) {
            Some(g) => runnable.push((g, fs)),
            None => {
                for f in fs {
                    settled.insert(f.fingerprint());
                    out.without_fix.push(f.clone());
                }
            }
        }
    }
    if !runnable.is_empty() {
        with_context(snapshot, |ctx| {
            for (g, fs) in &runnable {
                plans.extend(g(ctx, fs));
            }
        });
    }
    plans
}

/// A plan on its own: it applies, the patched files parse and compile, and a rescan no longer
/// reports its findings.
fn verify_plan(
    current: &Snapshot,
    plan: &FixPlan,
    ws: &mut Workspace,
    before: &[&Finding],
    items: &[String],
    compiler: &PyCompiler,
) -> Result<(), Rejection> {
    let mut overlay = Overlay::new(current.clone());
    let pending = overlay.prepare(plan).map_err(|status| {
        Rejection::NotApplicable(match status {
            ApplyStatus::Stale { path, reason } => format!("{path}: {reason}"),
            ApplyStatus::AlreadyApplied => "it is already in place".to_string(),
            other => format!("{other:?}"),
        })
    })?;
    check_files(compiler, pending.files.iter().map(|(p, f)| (p.as_str(), f)))?;
    overlay.commit(pending);
    let after = ws.scan(overlay.current(), items)?;
    let after = findings(&after);
    if let Some(f) = remaining(&plan.fixes, before, &after).first() {
        return Err(Rejection::StillReported {
            rule: f.rule.clone(),
            path: f.path.clone(),
            line: f.line,
        });
    }
    Ok(())
}

/// Which findings a fix generator offers a plan for, without verifying the plans: cheap
/// enough for every `check` (one more parse), where [`plan_fixes`] rescans per plan. Keyed
/// by [`Finding::fingerprint`]. `flask-harden fix` verifies before it offers anything.
pub fn offered_fixes(root: &std::path::Path, findings: &[&Finding]) -> FixOffers {
    let mut out = BTreeMap::new();
    if findings.is_empty() {
        return out;
    }
    let Ok(snapshot) = Snapshot::from_dir(root) else {
        return out;
    };
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_rule.entry(f.rule.as_str()).or_default().push(f);
    }
    with_context(&snapshot, |ctx| {
        for (rule, fs) in by_rule {
            let Some(generate) = generator(rule) else {
                continue;
            };
            for plan in generate(ctx, &fs).into_iter().flatten() {
                for fixed in &plan.fixes {
                    out.insert(
                        fixed.fingerprint(),
                        FixAvailability {
                            title: plan.title.clone(),
                            applicability: plan.applicability,
                        },
                    );
                }
            }
        }
    });
    out
}
