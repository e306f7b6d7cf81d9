//! Part of an item's fix: the verified plans of the findings a user checked, combined.
//!
//! [`super::pipeline`] applies every verified plan of an item, round after round: a plan of a
//! later round was made against the text the earlier rounds produced. [`combine`] replays the
//! kept plans in the same order on the item's starting files, opening a new round where a plan
//! was made for the text the previous plans left. A plan made on top of a plan that is not kept
//! cannot be applied alone: [`SubsetError`] says which one it builds on.

use super::apply::{ApplyStatus, Overlay};
use super::pipeline::FileChange;
use super::plan::FixPlan;
use super::snapshot::Snapshot;

/// Why the kept plans cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SubsetError {
    /// Index of the plan that does not apply.
    pub plan: usize,
    /// Earlier plans (indices) on the same files, which the plan may build on.
    pub builds_on: Vec<usize>,
    pub reason: String,
}

/// Apply `plans[i]` for every `i` with `keep[i]`, in order, to `start`.
pub fn combine(
    start: &Snapshot,
    plans: &[FixPlan],
    keep: &[bool],
) -> Result<Snapshot, SubsetError> {
    let mut overlay = Overlay::new(start.clone());
    for (i, plan) in plans.iter().enumerate() {
        if !keep.get(i).copied().unwrap_or(false) {
            continue;
        }
        let status = match overlay.prepare(plan) {
            Ok(pending) => {
                overlay.commit(pending);
                continue;
            }
            Err(status) => status,
        };
        match status {
            ApplyStatus::AlreadyApplied | ApplyStatus::Applied => {}
            ApplyStatus::Conflict { path } | ApplyStatus::Stale { path, .. } => {
                // Made in a later round: against the text the plans so far produced.
                let next = Overlay::new(overlay.current().clone());
                match next.prepare(plan) {
                    Ok(pending) => {
                        overlay = next;
                        overlay.commit(pending);
                    }
                    Err(_) => {
                        let builds_on = plans[..i]
                            .iter()
                            .enumerate()
                            .filter(|(_, p)| p.paths().any(|q| plan.paths().any(|r| r == q)))
                            .map(|(j, _)| j)
                            .collect();
                        return Err(SubsetError {
                            plan: i,
                            builds_on,
                            reason: format!(
                                "the fix \"{}\" builds on another fix of {path}",
                                plan.title
                            ),
                        });
                    }
                }
            }
        }
    }
    Ok(overlay.into_current())
}

/// The files `changes` start from (their `before` texts): the snapshot an item's plans were
/// applied to, as far as they touch it.
pub fn start_of(changes: &[FileChange]) -> Snapshot {
    let mut snap = Snapshot::default();
    for c in changes {
        if let Some(before) = &c.before {
            snap.insert(c.path.clone(), before.clone());
        }
    }
    snap
}

/// The file changes from `start` to `result`, in path order.
pub fn changes_between(start: &Snapshot, result: &Snapshot) -> Vec<FileChange> {
    result
        .changes_since(start)
        .into_iter()
        .map(|(path, before, after)| FileChange {
            path: path.to_string(),
            before: before.cloned(),
            after: after.clone(),
        })
        .collect()
}

/// The changes of the kept plans of an item whose full changes are `changes`.
pub fn subset_changes(
    changes: &[FileChange],
    plans: &[FixPlan],
    keep: &[bool],
) -> Result<Vec<FileChange>, SubsetError> {
    let start = start_of(changes);
    let result = combine(&start, plans, keep)?;
    Ok(changes_between(&start, &result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Severity};
    use crate::fix::plan::{Applicability, PatchBuilder};
    use crate::fix::snapshot::SnapFile;

    fn plan(text: &str, path: &str, at: &str, insert: &str) -> FixPlan {
        let mut b = PatchBuilder::new(path, text);
        let pos = text.find(at).expect("anchor") + at.len();
        b.replace(pos..pos, insert).expect("edit");
        FixPlan::new(
            "csrf/form-missing-token",
            insert.trim(),
            Applicability::Safe,
        )
        .fixing(&Finding {
            rule: "csrf/form-missing-token".to_string(),
            path: path.to_string(),
            line: 1,
            end_line: 1,
            column: 1,
            end_column: 1,
            code: at.to_string(),
            message: String::new(),
            severity: Severity::Medium,
        })
        .with_patch(b.finish().expect("patch"))
    }

    #[test]
    fn one_plan_of_three_alone_and_in_rounds() {
        let text = "<form>a</form>\n<form>b</form>\n<form>c</form>\n";
        let mut start = Snapshot::default();
        start.insert("t.html".to_string(), SnapFile::new(text));
        let plans = vec![
            plan(text, "t.html", "<form>a", "[A]"),
            plan(text, "t.html", "<form>b", "[B]"),
            plan(text, "t.html", "<form>c", "[C]"),
        ];
        let only_b = combine(&start, &plans, &[false, true, false]).expect("combines");
        assert_eq!(
            only_b.get("t.html"),
            Some("<form>a</form>\n<form>b[B]</form>\n<form>c</form>\n")
        );
        let all = combine(&start, &plans, &[true, true, true]).expect("combines");
        assert_eq!(
            all.get("t.html"),
            Some("<form>a[A]</form>\n<form>b[B]</form>\n<form>c[C]</form>\n")
        );
        // A second-round plan, made on the text the first plan left: applies after it, and
        // names it when it is left out.
        let after_a = all.get("t.html").map(str::to_string).unwrap_or_default();
        let first = combine(&start, &plans, &[true, false, false]).expect("combines");
        let round2 = plan(first.get("t.html").unwrap_or(""), "t.html", "[A]", "!");
        let plans = vec![plans[0].clone(), round2];
        let both = combine(&start, &plans, &[true, true]).expect("combines");
        assert_eq!(
            both.get("t.html"),
            Some("<form>a[A]!</form>\n<form>b</form>\n<form>c</form>\n")
        );
        let err = combine(&start, &plans, &[false, true]).expect_err("builds on plan 0");
        assert_eq!((err.plan, err.builds_on.clone()), (1, vec![0]));
        assert!(!after_a.is_empty());
        let changes = changes_between(&start, &only_b);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].unified_diff().contains("+<form>b[B]</form>"));
    }
}
