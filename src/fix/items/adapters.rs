//! Generators for the checks whose own modules describe their fixes as data: the
//! input-validation plans. They read the repository through `ProjectFiles`, so the snapshot is
//! written to a temporary folder for them ([`with_files`], which the dependency fixes share).

use std::collections::BTreeMap;

use super::super::plan::{FilePatch, PatchBuilder, PatchKind};
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::fail_all;
use crate::checks::Context;
use crate::checks::input_validation;
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

/// `input-validation/*`: the check's own plans (parameterised SQL, safe_join, argument lists,
/// yaml.safe_load, a pydantic model), turned into patches.
pub fn input_validation(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let result = with_files(ctx, |files| {
        let check_ctx = Context {
            facts: ctx.facts,
            files,
            offline: true,
        };
        let report = input_validation::analyse(&check_ctx);
        findings
            .iter()
            .map(|f| {
                let no = |r: &str| Unfixable::new(f, r);
                let planned = report
                    .plans
                    .iter()
                    .find(|p| p.finding == **f)
                    .ok_or_else(|| no("no mechanical fix for this flow; see the message"))?;
                let applicability = match planned.plan.applicability {
                    input_validation::fix::Applicability::Safe => Applicability::Safe,
                    input_validation::fix::Applicability::Unsafe => Applicability::Unsafe,
                };
                let mut by_path: BTreeMap<&str, Vec<&input_validation::fix::Edit>> =
                    BTreeMap::new();
                for e in &planned.plan.edits {
                    by_path.entry(e.path.as_str()).or_default().push(e);
                }
                let mut plan =
                    FixPlan::new(&f.rule, planned.plan.title.clone(), applicability).fixing(f);
                for (path, edits) in by_path {
                    match ctx.snapshot.get(path) {
                        Some(text) => {
                            let mut patch = PatchBuilder::new(path, text);
                            for e in edits {
                                patch
                                    .replace(e.start..e.end, e.replacement.clone())
                                    .map_err(|err| no(&err.to_string()))?;
                            }
                            plan = plan.with_patch(patch.finish().map_err(|e| no(&e.to_string()))?);
                        }
                        None => {
                            let text: String =
                                edits.iter().map(|e| e.replacement.as_str()).collect();
                            plan = plan.with_patch(FilePatch {
                                path: path.to_string(),
                                kind: PatchKind::Create { text },
                            });
                        }
                    }
                }
                Ok(plan)
            })
            .collect::<Vec<_>>()
    });
    result.unwrap_or_else(|e| fail_all(findings, &e))
}
