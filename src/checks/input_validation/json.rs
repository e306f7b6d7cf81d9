//! input-validation/unvalidated-json: views that read keys of the JSON body without a schema.

use super::fix::FixPlan;
use crate::checks::Context;
use crate::finding::Finding;

pub fn findings(_ctx: &Context) -> Vec<(Finding, Option<FixPlan>)> {
    Vec::new()
}
