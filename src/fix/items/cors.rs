//! Fix for the cors item: Flask-CORS allows only the origins listed in the `CORS_ORIGINS`
//! environment variable (comma-separated; none when it is unset), so the production origin is
//! set where the app is deployed. supports_credentials stays as it was. Unsafe: sites that
//! call the app today stop being allowed until they are listed.

use ruff_text_size::Ranged;

use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{ensure_imports, keyword_insertion};
use crate::checks::cors::cors_calls;
use crate::finding::Finding;

/// The origins expression written into the code.
const ORIGINS: &str = "[o for o in os.environ.get(\"CORS_ORIGINS\", \"\").split(\",\") if o]";

pub fn any_origin(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let calls = cors_calls(ctx.facts);
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (idx, module) = ctx
                .module(&f.path)
                .ok_or_else(|| no("not a Flask-CORS call"))?;
            let range = ctx.range_of(f).ok_or_else(|| no("bad position"))?;
            let call = calls
                .iter()
                .find(|c| c.module == idx && (c.origins == Some(range) || c.call.range() == range))
                .ok_or_else(|| {
                    no(
                        "the origin is set by hand: compare request.origin with a list of allowed \
                        origins from configuration before echoing it",
                    )
                })?;
            let mut patch = ctx.patch_for(f)?;
            match call.origins {
                Some(r) => {
                    let text = module.text(r);
                    // `origins="*"` (a keyword) or the value in a resources entry.
                    let value_start = match text.find('=') {
                        Some(eq) if text.starts_with("origins") => {
                            r.start().to_usize()
                                + eq
                                + 1
                                + (text[eq + 1..].len() - text[eq + 1..].trim_start().len())
                        }
                        _ => r.start().to_usize(),
                    };
                    patch
                        .replace(value_start..r.end().to_usize(), ORIGINS)
                        .map_err(|e| no(&e.to_string()))?;
                }
                None => {
                    let (at, text) =
                        keyword_insertion(call.call, patch.text(), &[format!("origins={ORIGINS}")])
                            .ok_or_else(|| no("the call's arguments could not be read"))?;
                    patch.insert(at, text).map_err(|e| no(&e.to_string()))?;
                }
            }
            ensure_imports(&mut patch, &["import os"]).map_err(|e| no(&e))?;
            Ok(FixPlan::new(
                &f.rule,
                "allow only the origins listed in the CORS_ORIGINS environment variable",
                Applicability::Unsafe,
            )
            .fixing(f)
            .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}
