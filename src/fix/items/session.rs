//! Fixes for the session item (FLASK_FACTS §5): cookie flags in the production config and on
//! set_cookie(), session.clear() before the login assignment, Flask-Login's strong protection.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use super::super::imports::ensure_import;
use super::super::style::{LineEnding, preferred_quote};
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    app_site, assigned_name, insert_after, insert_before, located, quoted, stmt_at,
};
use crate::finding::Finding;
use crate::python::expr::calls_in_body;

/// The setting each cookie rule wants, as Python source (quote filled in).
fn wanted(rule: &str, quote: char) -> Option<(&'static str, String)> {
    match rule {
        "session/cookie-secure" => Some(("SESSION_COOKIE_SECURE", "True".to_string())),
        "session/cookie-httponly" => Some(("SESSION_COOKIE_HTTPONLY", "True".to_string())),
        "session/cookie-samesite" => Some(("SESSION_COOKIE_SAMESITE", quoted(quote, "Lax"))),
        _ => None,
    }
}

pub fn cookie_config(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| cookie_config_one(ctx, f)).collect()
}

fn cookie_config_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let quote = preferred_quote(module.tree());
    let (key, value) = wanted(&finding.rule, quote).ok_or_else(|| no("not a cookie setting"))?;
    let facts = ctx.facts;
    // A setting that is there with the wrong value: change the value.
    if let Some(w) = facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == key && w.range == range)
    {
        patch
            .replace(
                w.value.start().to_usize()..w.value.end().to_usize(),
                value.clone(),
            )
            .map_err(|e| bug(e.to_string()))?;
        let plan = FixPlan::new(
            &finding.rule,
            format!("set {key} = {value}"),
            Applicability::Safe,
        );
        return Ok(plan
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    // Not set: add it to the production config class or module the finding points at…
    if let Some(&c) = facts.production.iter().find(|&&c| {
        let class = &facts.classes[c];
        class.module == idx && class.range.start() == range.start()
    }) {
        let class = &facts.classes[c];
        let text = patch.text();
        let eol = LineEnding::detect(text);
        let line = format!("{key} = {value}");
        if class.is_module {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                eol.as_str()
            };
            patch
                .insert(text.len(), format!("{sep}{line}{}", eol.as_str()))
                .map_err(|e| bug(e.to_string()))?;
        } else {
            let def = module
                .body()
                .iter()
                .find_map(|s| match s {
                    Stmt::ClassDef(cd) if cd.name.as_str() == class.name => Some(cd),
                    _ => None,
                })
                .ok_or_else(|| no("the config class is not at module level"))?;
            let last = def.body.last().ok_or_else(|| no("the class has no body"))?;
            // `pass` as the only statement stays valid with a line after it.
            insert_after(&mut patch, last.range(), &line).map_err(bug)?;
        }
        let plan = FixPlan::new(
            &finding.rule,
            format!("set {key} = {value} in {}", class.name),
            Applicability::Safe,
        );
        return Ok(plan
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    // …or right after the app is created.
    let site = app_site(ctx).ok_or_else(|| no("no app bound to a name to configure"))?;
    if site.module.path != finding.path {
        return Err(no("the app is created elsewhere than the finding says"));
    }
    let line = format!("{}.config[{}] = {value}", site.var, quoted(quote, key));
    insert_after(&mut patch, site.stmt.range(), &line).map_err(bug)?;
    let plan = FixPlan::new(
        &finding.rule,
        format!("set {key} = {value} on the app"),
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

pub fn set_cookie(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| set_cookie_one(ctx, f)).collect()
}

fn set_cookie_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (_, module, range, mut patch) = located(ctx, finding)?;
    let call = calls_in_body(module.body())
        .into_iter()
        .find(|c| c.range() == range)
        .ok_or_else(|| no("the set_cookie() call is not where the finding says"))?;
    let quote = preferred_quote(module.tree());
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut added = Vec::new();
    for (flag, good) in [
        ("secure", "True".to_string()),
        ("httponly", "True".to_string()),
        ("samesite", quoted(quote, "Lax")),
    ] {
        match call.arguments.find_keyword(flag) {
            Some(k) => {
                let weak = match &k.value {
                    Expr::BooleanLiteral(b) => !b.value,
                    Expr::NoneLiteral(_) => true,
                    _ => false,
                };
                if weak {
                    edits.push((k.value.start().to_usize()..k.value.end().to_usize(), good));
                }
            }
            None => added.push(format!("{flag}={good}")),
        }
    }
    if !added.is_empty() {
        // Before the closing parenthesis, after the last argument (and its trailing comma).
        let last_end = call
            .arguments
            .args
            .iter()
            .map(Ranged::end)
            .chain(call.arguments.keywords.iter().map(Ranged::end))
            .max()
            .ok_or_else(|| no("set_cookie() without arguments"))?
            .to_usize();
        let close = call.arguments.end().to_usize().saturating_sub(1);
        let between = patch.text().get(last_end..close).unwrap_or("");
        let text = if between.contains(',') {
            format!(" {},", added.join(", "))
        } else {
            format!(", {}", added.join(", "))
        };
        let at = if between.contains(',') {
            last_end + between.find(',').unwrap_or(0) + 1
        } else {
            last_end
        };
        edits.push((at..at, text));
    }
    for (r, t) in edits {
        patch.replace(r, t).map_err(|e| bug(e.to_string()))?;
    }
    let plan = FixPlan::new(
        &finding.rule,
        "pass secure=True, httponly=True, samesite=\"Lax\" to set_cookie()",
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

pub fn reset_at_login(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| reset_one(ctx, f)).collect()
}

fn reset_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (_, module, range, mut patch) = located(ctx, finding)?;
    let (stmt, _) =
        stmt_at(module.body(), range, None).ok_or_else(|| no("no statement at the finding"))?;
    insert_before(&mut patch, stmt.range(), "session.clear()").map_err(bug)?;
    if let Some(edit) =
        ensure_import(patch.text(), "from flask import session").map_err(|e| bug(e.to_string()))?
    {
        patch.push(edit).map_err(|e| bug(e.to_string()))?;
    }
    let plan = FixPlan::new(
        &finding.rule,
        "clear the session before logging the user in",
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

pub fn login_protection(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| login_protection_one(ctx, f))
        .collect()
}

fn login_protection_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (_, module, range, mut patch) = located(ctx, finding)?;
    let (stmt, _) =
        stmt_at(module.body(), range, None).ok_or_else(|| no("no statement at the finding"))?;
    let var = assigned_name(stmt).ok_or_else(|| no("the LoginManager is not bound to a name"))?;
    let quote = preferred_quote(module.tree());
    insert_after(
        &mut patch,
        stmt.range(),
        &format!("{var}.session_protection = {}", quoted(quote, "strong")),
    )
    .map_err(bug)?;
    let plan = FixPlan::new(
        &finding.rule,
        "set Flask-Login's session protection to strong",
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}
