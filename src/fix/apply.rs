//! Applying plans in turn to an in-memory [`Overlay`] of a [`Snapshot`].
//!
//! Plans are applied one after the other on the result of the previous ones, never merged
//! blindly: a plan's edits are mapped through the edits already applied to the same file, and
//! a plan whose ranges touch an edited region is a [`ApplyStatus::Conflict`], to be regenerated
//! against the new text in another round (as ruff does). A plan is all or nothing.
//!
//! Applying a plan to a file it already fixed changes nothing ([`ApplyStatus::AlreadyApplied`]);
//! a file that changed in another way is [`ApplyStatus::Stale`] and left alone.

use std::collections::BTreeMap;
use std::ops::Range;

use super::plan::{Edit, FixPlan, PatchKind, fingerprint, splice};
use super::snapshot::{SnapFile, Snapshot};

/// Base ranges replaced in one file, how much each changed its length, and the text put there.
type AppliedEdits = Vec<(Range<usize>, isize, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyStatus {
    Applied,
    /// Every patch of the plan is already in place.
    AlreadyApplied,
    /// The plan touches text an earlier plan of this batch changed; regenerate and retry.
    Conflict {
        path: String,
    },
    /// The file is not what the plan was made for (and not its result either).
    Stale {
        path: String,
        reason: String,
    },
}

/// New texts of the files a plan changes, checked and ready to be committed to the overlay.
#[derive(Debug, Clone)]
pub struct Pending {
    pub files: Vec<(String, SnapFile)>,
    /// Applied edits per path, in the coordinates of the overlay's base.
    edits: Vec<(String, AppliedEdits)>,
}

/// A snapshot plus the plans applied to it so far.
#[derive(Debug, Clone)]
pub struct Overlay {
    base: Snapshot,
    current: Snapshot,
    /// Per path: base ranges already replaced and how much each changed the length.
    applied: BTreeMap<String, AppliedEdits>,
}

enum PatchOutcome {
    Fresh(SnapFile, AppliedEdits),
    Already,
    /// Every edit is one an earlier plan of the overlay made: nothing to write.
    Duplicate,
    Conflict,
    Stale(String),
}

impl Overlay {
    /// Plans to apply must have been generated from `base`.
    pub fn new(base: Snapshot) -> Self {
        Self {
            current: base.clone(),
            base,
            applied: BTreeMap::new(),
        }
    }

    pub fn base(&self) -> &Snapshot {
        &self.base
    }

    pub fn current(&self) -> &Snapshot {
        &self.current
    }

    pub fn into_current(self) -> Snapshot {
        self.current
    }

    /// Apply a plan, all or nothing.
    pub fn apply(&mut self, plan: &FixPlan) -> ApplyStatus {
        match self.prepare(plan) {
            Ok(pending) => {
                self.commit(pending);
                ApplyStatus::Applied
            }
            Err(status) => status,
        }
    }

    /// Work out what a plan would write, without changing the overlay. `Err` holds every
    /// outcome but [`ApplyStatus::Applied`].
    pub fn prepare(&self, plan: &FixPlan) -> Result<Pending, ApplyStatus> {
        let mut pending = Pending {
            files: Vec::new(),
            edits: Vec::new(),
        };
        let mut already = 0;
        let mut duplicates = 0;
        for patch in &plan.patches {
            match self.prepare_patch(&patch.path, &patch.kind) {
                PatchOutcome::Fresh(file, edits) => {
                    pending.files.push((patch.path.clone(), file));
                    pending.edits.push((patch.path.clone(), edits));
                }
                PatchOutcome::Already => already += 1,
                PatchOutcome::Duplicate => duplicates += 1,
                PatchOutcome::Conflict => {
                    return Err(ApplyStatus::Conflict {
                        path: patch.path.clone(),
                    });
                }
                PatchOutcome::Stale(reason) => {
                    return Err(ApplyStatus::Stale {
                        path: patch.path.clone(),
                        reason,
                    });
                }
            }
        }
        if already + duplicates == plan.patches.len() {
            return Err(ApplyStatus::AlreadyApplied);
        }
        if already > 0 {
            let path = plan.paths().next().unwrap_or_default().to_string();
            return Err(ApplyStatus::Stale {
                path,
                reason: "the fix is only partly in place".to_string(),
            });
        }
        Ok(pending)
    }

    pub fn commit(&mut self, pending: Pending) {
        for (path, file) in pending.files {
            self.current.insert(path, file);
        }
        for (path, edits) in pending.edits {
            self.applied.entry(path).or_default().extend(edits);
        }
    }

    fn prepare_patch(&self, path: &str, kind: &PatchKind) -> PatchOutcome {
        let current = self.current.files.get(path);
        match kind {
            PatchKind::Create { text } => match current {
                None => PatchOutcome::Fresh(SnapFile::new(text.clone()), Vec::new()),
                Some(f) if &f.text == text => PatchOutcome::Already,
                Some(_) if !self.base.files.contains_key(path) => PatchOutcome::Conflict,
                Some(_) => PatchOutcome::Stale(format!("{path} already exists")),
            },
            PatchKind::Edit {
                base,
                result,
                edits,
            } => {
                let Some(current) = current else {
                    return PatchOutcome::Stale(format!("{path} does not exist"));
                };
                let now = fingerprint(&current.text);
                if now == *result && now != *base {
                    return PatchOutcome::Already;
                }
                let made_for_base = self
                    .base
                    .files
                    .get(path)
                    .is_some_and(|f| fingerprint(&f.text) == *base);
                if !made_for_base {
                    return PatchOutcome::Stale(format!("{path} changed since the fix was made"));
                }
                let done = self.applied.get(path).map(Vec::as_slice).unwrap_or(&[]);
                match rebase(edits, done, &current.text) {
                    Ok((mapped, fresh)) => {
                        let text = splice(&current.text, &mapped);
                        let record = edits
                            .iter()
                            .zip(&fresh)
                            .filter(|(_, fresh)| **fresh)
                            .map(|(e, _)| {
                                let delta =
                                    e.replacement.len() as isize - e.original.len() as isize;
                                (e.range.clone(), delta, e.replacement.clone())
                            })
                            .collect();
                        let file = SnapFile {
                            text,
                            ..(**current).clone()
                        };
                        PatchOutcome::Fresh(file, record)
                    }
                    Err(outcome) => outcome,
                }
            }
        }
    }
}

/// Map edits made against the base through the edits already applied (`done`, base
/// coordinates). Touching counts as overlapping: two insertions at one offset, or an edit that
/// starts where another ends, are retried against the new text rather than guessed at. An
/// edit identical to one already applied (the same import two fixes add at the top of a
/// file) is already in place: it is left out, and the second element says which were kept.
fn rebase(
    edits: &[Edit],
    done: &[(Range<usize>, isize, String)],
    current: &str,
) -> Result<(Vec<Edit>, Vec<bool>), PatchOutcome> {
    let mut mapped = Vec::with_capacity(edits.len());
    let mut fresh = Vec::with_capacity(edits.len());
    for e in edits {
        if done
            .iter()
            .any(|(r, _, text)| *r == e.range && *text == e.replacement)
        {
            fresh.push(false);
            continue;
        }
        fresh.push(true);
        let mut shift: isize = 0;
        for (r, delta, _) in done {
            if r.start <= e.range.end && e.range.start <= r.end {
                return Err(PatchOutcome::Conflict);
            }
            if r.end <= e.range.start {
                shift += delta;
            }
        }
        let start = e.range.start as isize + shift;
        let end = e.range.end as isize + shift;
        if start < 0 || end < start {
            return Err(PatchOutcome::Conflict);
        }
        let range = start as usize..end as usize;
        if current.get(range.clone()) != Some(e.original.as_str()) {
            return Err(PatchOutcome::Stale(
                "the text the fix replaces has changed".to_string(),
            ));
        }
        mapped.push(Edit {
            range,
            original: e.original.clone(),
            replacement: e.replacement.clone(),
        });
    }
    if !fresh.iter().any(|f| *f) {
        // Every edit is in place already (an earlier plan of the batch made the same ones).
        return Err(PatchOutcome::Duplicate);
    }
    Ok((mapped, fresh))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::plan::{Applicability, PatchBuilder};

    fn snap(path: &str, text: &str) -> Snapshot {
        let mut s = Snapshot::default();
        s.insert(path.to_string(), SnapFile::new(text));
        s
    }

    fn plan(path: &str, text: &str, edits: &[(Range<usize>, &str)]) -> FixPlan {
        let mut b = PatchBuilder::new(path, text);
        for (r, t) in edits {
            b.replace(r.clone(), *t).unwrap();
        }
        FixPlan::new("t/t", "test", Applicability::Safe).with_patch(b.finish().unwrap())
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let text = "app.run(debug=True)\n";
        let p = plan("a.py", text, &[(8..18, "")]);
        let mut o = Overlay::new(snap("a.py", text));
        assert_eq!(o.apply(&p), ApplyStatus::Applied);
        assert_eq!(o.current().get("a.py"), Some("app.run()\n"));
        assert_eq!(o.apply(&p), ApplyStatus::AlreadyApplied);
        // A new overlay on the fixed tree: still nothing to do.
        let mut again = Overlay::new(o.into_current());
        assert_eq!(again.apply(&p), ApplyStatus::AlreadyApplied);
        assert_eq!(again.current().get("a.py"), Some("app.run()\n"));
    }

    #[test]
    fn non_overlapping_plans_are_applied_in_turn() {
        let text = "a = 1\nb = 2\nc = 3\n";
        let p1 = plan("m.py", text, &[(0..5, "a = 10")]);
        let p2 = plan("m.py", text, &[(12..17, "c = 30")]);
        let mut o = Overlay::new(snap("m.py", text));
        assert_eq!(o.apply(&p1), ApplyStatus::Applied);
        assert_eq!(o.apply(&p2), ApplyStatus::Applied);
        assert_eq!(o.current().get("m.py"), Some("a = 10\nb = 2\nc = 30\n"));
    }

    #[test]
    fn an_edit_two_plans_share_is_made_once() {
        // Two fixes in one file, each adding the same import at the top.
        let text = "import os\nx = a\ny = b\n";
        let p1 = plan("m.py", text, &[(10..10, "import nh3\n"), (14..15, "f(a)")]);
        let p2 = plan("m.py", text, &[(10..10, "import nh3\n"), (20..21, "f(b)")]);
        let mut o = Overlay::new(snap("m.py", text));
        assert_eq!(o.apply(&p1), ApplyStatus::Applied);
        assert_eq!(o.apply(&p2), ApplyStatus::Applied);
        assert_eq!(
            o.current().get("m.py"),
            Some("import os\nimport nh3\nx = f(a)\ny = f(b)\n")
        );
        // A plan whose only edit is in place already has nothing left to do.
        let p3 = plan("m.py", text, &[(10..10, "import nh3\n")]);
        assert_eq!(o.apply(&p3), ApplyStatus::AlreadyApplied);
    }

    #[test]
    fn overlapping_plans_conflict_instead_of_merging() {
        let text = "import os\nx = 1\n";
        let p1 = plan("m.py", text, &[(10..10, "import sys\n")]);
        let same = plan("m.py", text, &[(10..10, "import sys\n")]);
        let p2 = plan("m.py", text, &[(10..10, "import json\n")]);
        let p3 = plan("m.py", text, &[(10..15, "x = 2")]);
        let mut o = Overlay::new(snap("m.py", text));
        assert_eq!(o.apply(&p1), ApplyStatus::Applied);
        assert_eq!(o.apply(&same), ApplyStatus::AlreadyApplied);
        assert!(matches!(o.apply(&p2), ApplyStatus::Conflict { .. }));
        assert!(matches!(o.apply(&p3), ApplyStatus::Conflict { .. }));
        assert_eq!(
            o.current().get("m.py"),
            Some("import os\nimport sys\nx = 1\n")
        );
    }

    #[test]
    fn stale_file_is_left_alone() {
        let p = plan("a.py", "x = 1\n", &[(4..5, "2")]);
        let mut o = Overlay::new(snap("a.py", "y = 1\n"));
        assert!(matches!(o.apply(&p), ApplyStatus::Stale { .. }));
        assert_eq!(o.current().get("a.py"), Some("y = 1\n"));
    }

    #[test]
    fn created_file_is_idempotent() {
        let p = FixPlan::new("t/t", "add", Applicability::Safe).with_patch(
            crate::fix::plan::FilePatch {
                path: ".env.example".into(),
                kind: PatchKind::Create {
                    text: "SECRET_KEY=\n".into(),
                },
            },
        );
        let mut o = Overlay::new(Snapshot::default());
        assert_eq!(o.apply(&p), ApplyStatus::Applied);
        assert_eq!(o.apply(&p), ApplyStatus::AlreadyApplied);
    }
}
