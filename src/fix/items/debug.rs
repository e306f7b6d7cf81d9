//! Fixes for the debug item (FLASK_FACTS §2).
//!
//! - `debug/app-run`: drop `debug=True` from `app.run(...)` (then `FLASK_DEBUG` decides, as
//!   Flask documents); a truthy third positional argument becomes
//!   `os.environ.get("FLASK_DEBUG") == "1"`, adding `import os` when missing.
//! - `debug/config`: remove the `DEBUG = True` line from the production config (or set it to
//!   `False` where a line cannot go: a keyword of `update()`, the only line of a class). Safe
//!   when only production uses that config; unsafe when other configs inherit it.

use ruff_python_ast::{ExprCall, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::super::imports::ensure_import;
use super::super::style::{line_end_inclusive, line_start, preferred_quote};
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::nested_blocks;
use crate::finding::Finding;
use crate::python::expr::calls_in_body;
use crate::python::facts::WriteScope;

pub fn app_run(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| app_run_one(ctx, f)).collect()
}

fn app_run_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |reason: &str| Unfixable::new(finding, reason);
    let (_, module) = ctx
        .module(&finding.path)
        .ok_or_else(|| no("the file is not parsed"))?;
    let range = ctx
        .range_of(finding)
        .ok_or_else(|| no("the finding's position is not in the file"))?;
    let call = calls_in_body(module.body())
        .into_iter()
        .find(|c| c.range() == range)
        .ok_or_else(|| no("the run() call is not where the finding says"))?;
    let mut patch = ctx.patch_for(finding)?;
    let text = patch.text();
    let bug = |e: super::super::plan::PatchError| no(&e.to_string());

    if let Some(kw) = call.arguments.find_keyword("debug") {
        patch
            .delete(argument_removal(call, kw.range(), text))
            .map_err(bug)?;
        let plan = FixPlan::new(
            &finding.rule,
            "drop debug=True from app.run()",
            Applicability::Safe,
        );
        return Ok(plan
            .fixing(finding)
            .with_patch(patch.finish().map_err(bug)?));
    }
    let Some(arg) = call.arguments.args.get(2) else {
        return Err(no("no debug argument found in the call"));
    };
    let quote = preferred_quote(module.tree()).to_string();
    let flag =
        templates::render("debug/env_flag.py", &[("q", &quote)]).map_err(|e| no(&e.to_string()))?;
    patch
        .replace(range_usize(arg.range()), flag.trim_end())
        .map_err(bug)?;
    if let Some(edit) = ensure_import(text, "import os").map_err(|e| no(&e.to_string()))? {
        patch.push(edit).map_err(bug)?;
    }
    let plan = FixPlan::new(
        &finding.rule,
        "derive app.run()'s debug flag from FLASK_DEBUG",
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(bug)?))
}

/// The bytes to delete to remove one argument of a call and its separating comma.
pub(crate) fn argument_removal(
    call: &ExprCall,
    target: TextRange,
    text: &str,
) -> std::ops::Range<usize> {
    let mut items: Vec<TextRange> = call
        .arguments
        .args
        .iter()
        .map(Ranged::range)
        .chain(call.arguments.keywords.iter().map(Ranged::range))
        .collect();
    items.sort_by_key(|r| r.start());
    let idx = items.iter().position(|r| *r == target).unwrap_or(0);
    let t = range_usize(target);
    if let Some(next) = items.get(idx + 1) {
        // `debug=True, host=h` → `host=h`
        t.start..next.start().to_usize()
    } else if idx > 0 {
        // `host=h, debug=True` → `host=h` (a trailing comma after it stays, which is valid)
        items[idx - 1].end().to_usize()..t.end
    } else {
        // The only argument: everything between the parentheses (a trailing comma too).
        let open = call.arguments.range.start().to_usize() + 1;
        let close = call.arguments.range.end().to_usize().saturating_sub(1);
        if text.get(open..close).is_some() && open <= close {
            open..close
        } else {
            t
        }
    }
}

fn range_usize(r: TextRange) -> std::ops::Range<usize> {
    r.start().to_usize()..r.end().to_usize()
}

pub fn config(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| config_one(ctx, f)).collect()
}

fn config_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |reason: &str| Unfixable::new(finding, reason);
    let bug = |e: super::super::plan::PatchError| no(&e.to_string());
    let (idx, module) = ctx
        .module(&finding.path)
        .ok_or_else(|| no("the file is not parsed"))?;
    let range = ctx
        .range_of(finding)
        .ok_or_else(|| no("the finding's position is not in the file"))?;
    let facts = ctx.facts;
    let write = facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == "DEBUG" && w.range == range)
        .ok_or_else(|| no("the DEBUG setting is not where the finding says"))?;
    // A guessed production class may be the development one: turning its DEBUG off there
    // would change the setup developers run, not production's.
    if matches!(write.scope, WriteScope::Class(_))
        && let Some(reason) = super::common::production_unknown(ctx)
    {
        return Err(no(&reason));
    }
    let mut patch = ctx.patch_for(finding)?;
    let text = patch.text();

    // A config class that other (non-production) configs inherit: changing it changes them.
    let (applicability, place) = match write.scope {
        WriteScope::Class(c) => {
            let heirs: Vec<&str> = (0..facts.classes.len())
                .filter(|&o| o != c && !facts.production.contains(&o) && facts.mro(o).contains(&c))
                .map(|o| facts.classes[o].name.as_str())
                .collect();
            let name = &facts.classes[c].name;
            if heirs.is_empty() {
                (Applicability::Safe, name.clone())
            } else {
                (
                    Applicability::Unsafe,
                    format!("{name} (also inherited by {})", heirs.join(", ")),
                )
            }
        }
        WriteScope::App { .. } => (Applicability::Safe, "the app".to_string()),
    };

    let title = match own_line_statement(module.body(), write.range, text) {
        Some(lines) => {
            patch.delete(lines).map_err(bug)?;
            format!("remove DEBUG = True from {place}")
        }
        None => {
            patch
                .replace(range_usize(write.value.range()), "False")
                .map_err(bug)?;
            format!("set DEBUG to False in {place}")
        }
    };
    let plan = FixPlan::new(&finding.rule, title, applicability);
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(bug)?))
}

/// The whole lines of a simple statement with exactly `range`, when it stands alone on them
/// (a trailing comment goes with it), assigns one target, and is not the only statement of its
/// block (an empty block would not parse).
fn own_line_statement(
    body: &[Stmt],
    range: TextRange,
    text: &str,
) -> Option<std::ops::Range<usize>> {
    let (stmt, siblings) = find_stmt(body, range)?;
    let single_target = match stmt {
        Stmt::Assign(a) => a.targets.len() == 1,
        Stmt::AnnAssign(_) => true,
        _ => false,
    };
    if !single_target || siblings < 2 {
        return None;
    }
    let r = range_usize(stmt.range());
    let start = line_start(text, r.start);
    let end = line_end_inclusive(text, r.end);
    let before = text.get(start..r.start)?;
    let after = text.get(r.end..end)?.trim();
    let alone = before.trim().is_empty() && (after.is_empty() || after.starts_with('#'));
    alone.then_some(start..end)
}

/// The statement with exactly `range`, searched through compound statements, and how many
/// statements its block holds.
fn find_stmt(body: &[Stmt], range: TextRange) -> Option<(&Stmt, usize)> {
    for stmt in body {
        if stmt.range() == range {
            return Some((stmt, body.len()));
        }
        if !stmt.range().contains_range(range) {
            continue;
        }
        let inner: Vec<&[Stmt]> = match stmt {
            Stmt::ClassDef(c) => vec![&c.body],
            Stmt::FunctionDef(f) => vec![&f.body],
            other => nested_blocks(other),
        };
        for block in inner {
            if let Some(found) = find_stmt(block, range) {
                return Some(found);
            }
        }
    }
    None
}

/// `debug/env-file`: remove the `FLASK_DEBUG=1` / `FLASK_ENV=development` line from the
/// committed `.flaskenv` or `.env` (developers pass `flask run --debug` instead).
pub fn env_file(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let mut offsets = super::common::TextOffsets::default();
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let text = ctx.text_for(f)?;
            let start = offsets
                .offset(&f.path, text, f.line, 1)
                .ok_or_else(|| no("the line is not in the file"))?;
            let end = line_end_inclusive(text, start);
            let mut patch = super::super::plan::PatchBuilder::new(&f.path, text);
            patch.delete(start..end).map_err(|e| no(&e.to_string()))?;
            let key = text
                .get(start..end)
                .and_then(|l| l.split('=').next())
                .map(|k| k.trim().trim_start_matches("export ").to_string())
                .unwrap_or_default();
            let plan = FixPlan::new(
                &f.rule,
                format!(
                    "remove {key} from {} (use `flask run --debug` locally)",
                    f.path
                ),
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}
