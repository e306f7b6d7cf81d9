//! Fixes for the csrf item (FLASK_FACTS §4): one multi-file plan adds flask-wtf to the
//! dependency file, wires CSRFProtect once (in the module, or with init_app in the factory),
//! and puts the token in every form that posts; CSRF back on in the production config.

use ruff_text_size::Ranged;

use super::super::plan::PatchBuilder;
use super::super::style::{LineEnding, line_indent, line_start};
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    add_dependency, app_site_patch, ensure_imports, fail_all, insert_after, insert_before, located,
    text_offset,
};
use crate::finding::Finding;

pub fn protect(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let Some(first) = findings.first() else {
        return Vec::new();
    };
    let fail = |r: String| fail_all(findings, &r);
    let (site, mut patch) = match app_site_patch(ctx, "protect") {
        Ok(found) => found,
        Err(e) => return fail(e),
    };
    let taken = |n: &str| (0..ctx.facts.modules.len()).any(|i| ctx.facts.binds(i, n));
    let name = if taken("csrf") {
        "csrf_protect"
    } else {
        "csrf"
    };
    let wired = match site.factory {
        None => insert_after(
            &mut patch,
            site.stmt.range(),
            &format!("{name} = CSRFProtect({})", site.var),
        ),
        Some(factory) => insert_after(
            &mut patch,
            site.stmt.range(),
            &format!("{name}.init_app({})", site.var),
        )
        .and_then(|()| {
            insert_before(
                &mut patch,
                factory.range(),
                // Two blank lines before the factory's `def` (PEP 8): `insert_before` writes
                // one line per `lines()` item, and a trailing "\n" does not make one.
                &format!("{name} = CSRFProtect()\n\n\n"),
            )
        }),
    };
    if let Err(e) = wired {
        return fail(e);
    }
    if let Err(e) = ensure_imports(&mut patch, &["from flask_wtf.csrf import CSRFProtect"]) {
        return fail(e);
    }
    let app_patch = match patch.finish() {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let mut plan =
        FixPlan::new(&first.rule, String::new(), Applicability::Safe).with_patch(app_patch);
    let mut forms = 0;
    for t in &ctx.facts.templates {
        let Some(text) = ctx.snapshot.get(&t.path) else {
            continue;
        };
        let mut tp = PatchBuilder::new(&t.path, text);
        for form in t.post_forms().into_iter().filter(|f| !f.has_token) {
            if add_token(&mut tp, form.range.end().to_usize()).is_ok() {
                forms += 1;
            }
        }
        if !tp.is_empty()
            && let Ok(p) = tp.finish()
        {
            plan = plan.with_patch(p);
        }
    }
    if let Some(dep) = add_dependency(ctx, "flask-wtf", ">=1.2") {
        plan = plan.with_patch(dep);
    }
    plan.title = match forms {
        0 => "enable CSRFProtect".to_string(),
        1 => "enable CSRFProtect and add the token to 1 form".to_string(),
        n => format!("enable CSRFProtect and add tokens to {n} forms"),
    };
    for f in findings {
        plan = plan.fixing(f);
    }
    vec![Ok(plan)]
}

/// Insert the hidden token field on its own line after a form's opening tag, indented like
/// the form's first line of content.
fn add_token(patch: &mut PatchBuilder, tag_end: usize) -> Result<(), String> {
    let text = patch.text();
    let eol = LineEnding::detect(text);
    let field = templates::get("csrf/token_field.html")
        .map_err(|e| e.to_string())?
        .trim_end();
    let form_indent = line_indent(text, line_start(text, tag_end.saturating_sub(1))).to_string();
    let next_line = text.get(tag_end..).and_then(|rest| {
        let after_eol = rest.find('\n')? + 1;
        let line = rest.get(after_eol..)?.lines().next()?;
        (!line.trim().is_empty()).then(|| line[..line.len() - line.trim_start().len()].to_string())
    });
    let indent = next_line.unwrap_or_else(|| format!("{form_indent}  "));
    patch
        .insert(tag_end, format!("{}{indent}{field}", eol.as_str()))
        .map_err(|e| e.to_string())?;
    Ok(())
}

pub fn form_token(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let text = ctx.text_for(f)?;
            let template = ctx
                .facts
                .templates
                .iter()
                .find(|t| t.path == f.path)
                .ok_or_else(|| no("the template was not read"))?;
            let start = text_offset(text, f.line, f.column).ok_or_else(|| no("bad position"))?;
            let form = template
                .post_forms()
                .into_iter()
                .find(|p| p.range.start().to_usize() == start)
                .ok_or_else(|| no("the form is not where the finding says"))?;
            let mut patch = PatchBuilder::new(&f.path, text);
            add_token(&mut patch, form.range.end().to_usize()).map_err(|e| no(&e))?;
            let plan = FixPlan::new(
                &f.rule,
                "add the CSRF token to the form",
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}

pub fn enable(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (idx, _, range, mut patch) = located(ctx, f)?;
            let w = ctx
                .facts
                .writes
                .iter()
                .find(|w| w.module == idx && w.key == "WTF_CSRF_ENABLED" && w.range == range)
                .ok_or_else(|| no("the setting is not where the finding says"))?;
            patch
                .replace(w.value.start().to_usize()..w.value.end().to_usize(), "True")
                .map_err(|e| no(&e.to_string()))?;
            let plan = FixPlan::new(
                &f.rule,
                "turn CSRF protection back on in production",
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}
