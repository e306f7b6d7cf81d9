//! Fixes for the request-limits item: MAX_CONTENT_LENGTH in the configuration production
//! uses, from the app's own upload limit where it has one (a `MAX_*_SIZE` constant or a size
//! comparison), else 16 MB; Flask's form limits back to their defaults.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Number, Operator, Stmt};
use ruff_text_size::Ranged;

use super::super::style::preferred_quote;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{app_site, insert_after, located, quoted};
use crate::finding::Finding;
use crate::python::facts::Facts;

const MIB: u64 = 1024 * 1024;

/// The value of an integer expression made of literals (`4 * 1024 * 1024`).
fn int_value(expr: &Expr) -> Option<u64> {
    match expr {
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_u64(),
            _ => None,
        },
        Expr::BinOp(b) => {
            let (l, r) = (int_value(&b.left)?, int_value(&b.right)?);
            match b.op {
                Operator::Mult => l.checked_mul(r),
                Operator::Add => l.checked_add(r),
                Operator::LShift => u32::try_from(r).ok().and_then(|r| l.checked_shl(r)),
                Operator::Pow => u32::try_from(r).ok().and_then(|r| l.checked_pow(r)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a constant's name says it is an upload size limit.
fn is_limit_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.contains("MAX")
        && ["SIZE", "BYTES", "LENGTH", "UPLOAD"]
            .iter()
            .any(|w| n.contains(w))
        && !n.starts_with("MAX_CONTENT_LENGTH")
        && !n.starts_with("MAX_FORM")
}

/// The largest upload limit the production code states, with where it says so.
pub fn app_upload_limit(facts: &Facts) -> Option<(u64, String)> {
    struct Sizes<'a> {
        found: Vec<(u64, String)>,
        path: &'a str,
    }
    impl<'a> Visitor<'a> for Sizes<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::Assign(a) = stmt
                && let [Expr::Name(n)] = a.targets.as_slice()
                && is_limit_name(n.id.as_str())
                && let Some(v) = int_value(&a.value)
            {
                self.found.push((v, format!("{} in {}", n.id, self.path)));
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Compare(c) = expr
                && let [right] = &c.comparators[..]
            {
                let left = &c.left;
                let sized = |e: &Expr| match e {
                    Expr::Call(call) => {
                        matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "len")
                    }
                    Expr::Attribute(a) => {
                        matches!(a.attr.as_str(), "content_length" | "size")
                    }
                    _ => false,
                };
                if sized(left)
                    && let Some(v) = int_value(right)
                    && v >= 1024
                {
                    self.found
                        .push((v, format!("the size check in {}", self.path)));
                }
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut best: Option<(u64, String)> = None;
    for (idx, m) in facts.modules.iter().enumerate() {
        if m.is_test || !facts.imports[idx].imports_from("flask") {
            continue;
        }
        let mut v = Sizes {
            found: Vec::new(),
            path: &m.path,
        };
        v.visit_body(m.body());
        for f in v.found {
            if best.as_ref().is_none_or(|b| f.0 > b.0) {
                best = Some(f);
            }
        }
    }
    best
}

/// `N * 1024 * 1024` when it is a whole number of MiB.
fn bytes_expr(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} * 1024 * 1024", bytes / MIB)
    } else {
        bytes.to_string()
    }
}

/// The limit to set, what it comes from, and whether it is the app's own.
fn limit(facts: &Facts) -> (String, String, bool) {
    match app_upload_limit(facts) {
        // The whole body holds the file and the form's other fields: 1 MB more.
        Some((v, from)) => (
            bytes_expr(v.saturating_add(MIB)),
            format!("{from}, plus 1 MB for the rest of the form"),
            true,
        ),
        None => (bytes_expr(16 * MIB), "16 MB".to_string(), false),
    }
}

pub fn max_content_length(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| max_content_length_one(ctx, f))
        .collect()
}

fn max_content_length_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let facts = ctx.facts;
    let (value, from, derived) = limit(facts);
    let applicability = if derived {
        Applicability::Safe
    } else {
        // 16 MB may be less than the app takes today: a change to review.
        Applicability::Unsafe
    };
    let key = "MAX_CONTENT_LENGTH";
    let title = format!("limit request bodies with {key} ({from})");
    let plan = |patch: super::super::plan::PatchBuilder| -> Generated {
        Ok(FixPlan::new(&finding.rule, title.clone(), applicability)
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
    };
    if let Some(w) = facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == key && w.range == range)
    {
        patch
            .replace(w.value.start().to_usize()..w.value.end().to_usize(), value)
            .map_err(|e| bug(e.to_string()))?;
        return plan(patch);
    }
    if let Some(reason) = super::common::production_unknown(ctx) {
        return Err(no(&reason));
    }
    if let Some(&c) = facts.production.iter().find(|&&c| {
        let class = &facts.classes[c];
        class.module == idx && class.range.start() == range.start()
    }) {
        let class = &facts.classes[c];
        if class.is_module {
            let text = patch.text();
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            patch
                .insert(text.len(), format!("{sep}{key} = {value}\n"))
                .map_err(|e| bug(e.to_string()))?;
            return plan(patch);
        }
        let def = module
            .body()
            .iter()
            .find_map(|s| match s {
                Stmt::ClassDef(cd) if cd.name.as_str() == class.name => Some(cd),
                _ => None,
            })
            .ok_or_else(|| no("the config class is not at module level"))?;
        let last = def.body.last().ok_or_else(|| no("the class has no body"))?;
        insert_after(&mut patch, last.range(), &format!("{key} = {value}")).map_err(bug)?;
        return plan(patch);
    }
    let site = app_site(ctx).ok_or_else(|| no("no app bound to a name to configure"))?;
    if site.module.path != finding.path {
        return Err(no("the app is created elsewhere than the finding says"));
    }
    let quote = preferred_quote(module.tree());
    let line = format!("{}.config[{}] = {value}", site.var, quoted(quote, key));
    insert_after(&mut patch, site.stmt.range(), &line).map_err(bug)?;
    plan(patch)
}

pub fn form_limits(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (idx, _, range, mut patch) = located(ctx, f)?;
            let w = ctx
                .facts
                .writes
                .iter()
                .find(|w| {
                    w.module == idx
                        && w.range == range
                        && matches!(w.key.as_str(), "MAX_FORM_MEMORY_SIZE" | "MAX_FORM_PARTS")
                })
                .ok_or_else(|| no("the setting is not where the finding says"))?;
            // Flask 3.1's defaults.
            let value = if w.key == "MAX_FORM_PARTS" {
                "1_000"
            } else {
                "500_000"
            };
            patch
                .replace(w.value.start().to_usize()..w.value.end().to_usize(), value)
                .map_err(|e| no(&e.to_string()))?;
            Ok(FixPlan::new(
                &f.rule,
                format!("set {} back to Flask's default ({value})", w.key),
                Applicability::Safe,
            )
            .fixing(f)
            .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}
