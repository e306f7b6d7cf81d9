//! The generator for the dependency audit, whose own module describes its fixes as data (pin
//! bumps). The audit reads the repository through `ProjectFiles`, so the snapshot is written
//! to a temporary folder for it ([`with_files`]).

use super::super::plan::PatchBuilder;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::fail_all;
use crate::deps::advisories::{DataSource, load};
use crate::deps::audit::FixAction;
use crate::finding::Finding;
use crate::project::{self, ProjectFiles};

/// Run `f` with the snapshot's files as the scan would find them on disk.
pub(super) fn with_files<R>(
    ctx: &FixContext,
    f: impl FnOnce(&ProjectFiles) -> R,
) -> Result<R, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    ctx.snapshot
        .materialize(dir.path())
        .map_err(|e| e.to_string())?;
    let files = project::discover(dir.path()).map_err(|e| e.to_string())?;
    Ok(f(&files))
}

/// `dependencies/vulnerable-*`: raise the version in the file that declares it; a lock file
/// names the command that regenerates it.
pub fn dependencies(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let result = with_files(ctx, |files| {
        let (db, _) = load(DataSource::Default);
        let audit = crate::deps::audit(files, db);
        findings
            .iter()
            .map(|f| {
                let no = |r: &str| Unfixable::new(f, r);
                let fix = audit
                    .fix_for(f)
                    .ok_or_else(|| no("the audit has no fix for this package"))?;
                match &fix.action {
                    FixAction::Edit {
                        byte_range,
                        replacement,
                    } => {
                        let text = ctx
                            .snapshot
                            .get(&fix.path)
                            .ok_or_else(|| no("the file is not in the snapshot"))?;
                        let mut patch = PatchBuilder::new(&fix.path, text);
                        patch
                            .replace(byte_range.clone(), replacement.clone())
                            .map_err(|e| no(&e.to_string()))?;
                        let plan = FixPlan::new(&f.rule, fix.note.clone(), Applicability::Safe);
                        Ok(plan
                            .fixing(f)
                            .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
                    }
                    FixAction::Regenerate { command } => Err(no(&format!(
                        "a lock file is regenerated, not edited: run `{command}`"
                    ))),
                    _ => Err(no(&fix.note)),
                }
            })
            .collect::<Vec<_>>()
    });
    result.unwrap_or_else(|e| fail_all(findings, &e))
}
