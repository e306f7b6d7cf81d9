//! Fixes for the secret-key item (FLASK_FACTS §1): read the key from the environment with no
//! fallback, list it in `.env.example`, keep `.env` out of git.
//!
//! - `hardcoded`, `placeholder`, `weak`, `env-fallback`: the value becomes
//!   `os.environ["SECRET_KEY"]` (the variable the code already reads, if any), so the app
//!   refuses to start without it. Where the config is overridden later from a file
//!   (`from_pyfile`, the tutorial's instance config), `os.environ.get("SECRET_KEY")` keeps that
//!   override path working.
//! - `missing`: set it right after the app is created.
//! - `committed-env`: not fixable by a patch: the file must leave git and the key be rotated.

use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use super::super::imports::ensure_import;
use super::super::plan::{FilePatch, PatchBuilder, PatchKind};
use super::super::style::{LineEnding, preferred_quote};
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{app_site, insert_after, located, quoted};
use crate::finding::Finding;
use crate::python::expr::str_value;

pub fn value(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| value_one(ctx, f)).collect()
}

fn value_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let write = ctx
        .facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == "SECRET_KEY" && w.range == range)
        .ok_or_else(|| no("the SECRET_KEY setting is not where the finding says"))?;
    let quote = preferred_quote(module.tree());
    let var = env_var_read(write.value).unwrap_or_else(|| "SECRET_KEY".to_string());
    let overridden = ctx.facts.has_external_config();
    let read = if overridden {
        format!("os.environ.get({})", quoted(quote, &var))
    } else {
        format!("os.environ[{}]", quoted(quote, &var))
    };
    patch
        .replace(
            write.value.start().to_usize()..write.value.end().to_usize(),
            read,
        )
        .map_err(|e| no(&e.to_string()))?;
    if let Some(edit) = ensure_import(patch.text(), "import os").map_err(|e| no(&e.to_string()))? {
        patch.push(edit).map_err(|e| no(&e.to_string()))?;
    }
    let mut plan = FixPlan::new(
        &finding.rule,
        format!("read SECRET_KEY from the {var} environment variable, with no fallback"),
        Applicability::Safe,
    )
    .fixing(finding)
    .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?);
    for p in env_example_and_gitignore(ctx, &var) {
        plan = plan.with_patch(p);
    }
    Ok(plan)
}

/// The variable an environment read names: `os.environ.get("APP_SECRET", "x")` → APP_SECRET.
fn env_var_read(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Call(c) => c.arguments.args.first().and_then(str_value).filter(|v| {
            v.chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
        }),
        Expr::BoolOp(b) => b.values.iter().find_map(env_var_read),
        Expr::Subscript(s) => str_value(&s.slice),
        _ => None,
    }
}

/// `.env.example` lists the variable (with how to make a key) and `.gitignore` has `.env`.
fn env_example_and_gitignore(ctx: &FixContext, var: &str) -> Vec<FilePatch> {
    let mut out = Vec::new();
    let entry = format!(
        "# Generate one with: python -c \"import secrets; print(secrets.token_hex(32))\"\n{var}=\n"
    );
    match ctx.snapshot.get(".env.example") {
        Some(text)
            if text
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{var}="))) => {}
        Some(text) => {
            let eol = LineEnding::detect(text);
            let mut p = PatchBuilder::new(".env.example", text);
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                eol.as_str()
            };
            if p.insert(text.len(), format!("{sep}{}", eol.apply(&entry)))
                .is_ok()
                && let Ok(f) = p.finish()
            {
                out.push(f);
            }
        }
        None => out.push(FilePatch {
            path: ".env.example".to_string(),
            kind: PatchKind::Create { text: entry },
        }),
    }
    match ctx.snapshot.get(".gitignore") {
        Some(text)
            if text
                .lines()
                .any(|l| matches!(l.trim(), ".env" | "/.env" | ".env*" | "*.env")) => {}
        Some(text) => {
            let eol = LineEnding::detect(text);
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                eol.as_str()
            };
            let mut p = PatchBuilder::new(".gitignore", text);
            if p.insert(text.len(), format!("{sep}.env{}", eol.as_str()))
                .is_ok()
                && let Ok(f) = p.finish()
            {
                out.push(f);
            }
        }
        None => out.push(FilePatch {
            path: ".gitignore".to_string(),
            kind: PatchKind::Create {
                text: ".env\n".to_string(),
            },
        }),
    }
    out
}

pub fn missing(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| missing_one(ctx, f)).collect()
}

fn missing_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let site = app_site(ctx).ok_or_else(|| no("the app is not bound to a name"))?;
    if site.module.path != finding.path {
        return Err(no("the app is created elsewhere than the finding says"));
    }
    let mut patch = ctx.patch_for(finding)?;
    let quote = preferred_quote(site.module.tree());
    let line = format!(
        "{}.config[{}] = os.environ[{}]",
        site.var,
        quoted(quote, "SECRET_KEY"),
        quoted(quote, "SECRET_KEY")
    );
    insert_after(&mut patch, site.stmt.range(), &line).map_err(|e| no(&e))?;
    if let Some(edit) = ensure_import(patch.text(), "import os").map_err(|e| no(&e.to_string()))? {
        patch.push(edit).map_err(|e| no(&e.to_string()))?;
    }
    let mut plan = FixPlan::new(
        &finding.rule,
        "set SECRET_KEY from the environment",
        Applicability::Safe,
    )
    .fixing(finding)
    .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?);
    for p in env_example_and_gitignore(ctx, "SECRET_KEY") {
        plan = plan.with_patch(p);
    }
    Ok(plan)
}

pub fn committed_env(_ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            Err(Unfixable::new(
                f,
                "a committed .env is not fixed by a patch: run `git rm --cached .env`, add .env to \
                 .gitignore, and rotate the key (it is public now)",
            ))
        })
        .collect()
}
