//! Fix plans: the edits that remove each kind of finding, as data for the fix engine.

use ruff_python_ast::{Expr, ExprCall, StmtFunctionDef};

use super::sinks::Rule;
use crate::checks::Context;

/// Replace `range` (byte offsets) of the file at `path` with `replacement`. An empty range
/// inserts; `create` marks a file that does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    pub rule: Rule,
    pub title: String,
    pub edits: Vec<Edit>,
}

pub fn plan_for_sink(
    _ctx: &Context,
    _module: usize,
    _func: &StmtFunctionDef,
    _rule: Rule,
    _call: &ExprCall,
    _arg: &Expr,
) -> Option<FixPlan> {
    None
}

pub fn yaml_safe_load(_ctx: &Context, _module: usize, _call: &ExprCall) -> Option<FixPlan> {
    None
}
