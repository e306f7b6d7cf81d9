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
use ruff_text_size::{Ranged, TextRange};

use super::super::imports::ensure_import;
use super::super::plan::{FilePatch, PatchBuilder, PatchKind};
use super::super::style::{LineEnding, indent_unit, preferred_quote};
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    AppSite, Patches, app_site, append_to_class, dict_entry_insertion, dict_has_key,
    ensure_imports, insert_after, last_config_stmt, loaded_config_classes, located,
    production_unknown, quoted, stmt_at, test_config_dicts,
};
use crate::finding::Finding;
use crate::python::expr::str_value;
use crate::python::facts::{ConfigWrite, EnvKind, WriteScope, env_kind};

/// A pydantic-settings field's default: not fixed. Without it the settings refuse to load
/// wherever SECRET_KEY is unset, which stops the development and test setups as well.
pub fn settings_default(_: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            Err(Unfixable::new(
                f,
                "removing the field's default stops every setup that does not set SECRET_KEY \
                 (development, the tests): give those a key of their own first (a .env they \
                 load, the test configuration), then drop the default",
            ))
        })
        .collect()
}

pub fn value(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| value_one(ctx, f)).collect()
}

/// The key development and testing config classes get, so that they keep working once the
/// shared value reads the environment.
const DEV_KEY: &str = "dev-only-insecure-key";
/// The key testing config classes and a test suite's own configuration mapping get.
pub const TEST_KEY: &str = "test-only-insecure-key";

fn value_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let facts = ctx.facts;
    let write = facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == "SECRET_KEY" && w.range == range)
        .ok_or_else(|| no("the SECRET_KEY setting is not where the finding says"))?;
    let quote = preferred_quote(module.tree());
    let var = env_var_read(write.value).unwrap_or_else(|| "SECRET_KEY".to_string());
    // Where the strict check goes: the scope that configures the app, when the value is not
    // read at import time of a module every setup imports.
    let strict = match write.scope {
        WriteScope::Class(class) => Some(class_setup(ctx, finding, class)?),
        WriteScope::App { .. } => {
            let site = app_of(ctx, idx, range);
            match site {
                Some(site) if site.factory.is_some() || facts.has_external_config() => Some(site),
                _ => None,
            }
        }
    };
    let read = if strict.is_some() {
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
    let mut patches = Patches::default();
    patches.insert(patch);
    // A strict read at import time: a test suite that imports the module needs the variable
    // set before it does, which pytest's conftest.py can do; a suite it cannot reach is left
    // working by offering no fix.
    let suite_key = if strict.is_none() {
        test_suite_key(ctx, &var).map_err(|r| no(&r))?
    } else {
        None
    };
    if let Some(site) = &strict {
        add_strict_check(ctx, &mut patches, site, &var).map_err(|e| no(&e))?;
        if let WriteScope::Class(class) = write.scope {
            dev_keys(ctx, &mut patches, class, write).map_err(|e| no(&e))?;
        }
        if let Some(factory) = site.factory {
            test_mapping_keys(ctx, &mut patches, factory.name.as_str()).map_err(|e| no(&e))?;
        }
    }
    let file = patches
        .get_mut(&finding.path)
        .ok_or_else(|| no("the finding's file has no patch"))?;
    if let Some(edit) = ensure_import(file.text(), "import os").map_err(|e| no(&e.to_string()))? {
        file.push(edit).map_err(|e| no(&e.to_string()))?;
    }
    let title = if strict.is_some() {
        format!(
            "read SECRET_KEY from the {var} environment variable with no fallback; refuse to \
             start without it outside development and tests"
        )
    } else {
        format!("read SECRET_KEY from the {var} environment variable, with no fallback")
    };
    let mut plan = FixPlan::new(&finding.rule, title, Applicability::Safe).fixing(finding);
    for p in patches.finish().map_err(|e| no(&e))? {
        plan = plan.with_patch(p);
    }
    for p in env_example_and_gitignore(ctx, &var) {
        plan = plan.with_patch(p);
    }
    if let Some(p) = suite_key {
        plan = plan.with_patch(p);
    }
    Ok(plan)
}

/// Whether a path names a test module: `test_*.py` or `*_test.py`.
fn is_test_module(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// For a key read strictly at import time: the test suite's own key, set in its conftest.py
/// before any test module imports the app (`os.environ.setdefault`, so an exported key still
/// wins). `Ok(None)` when the repository has no tests; an error, the reason to offer no fix,
/// when its tests are not run by pytest (nothing would set the key for them).
fn test_suite_key(ctx: &FixContext, var: &str) -> Result<Option<FilePatch>, String> {
    let tests: Vec<&str> = ctx
        .snapshot
        .files
        .keys()
        .map(String::as_str)
        .filter(|p| is_test_module(p))
        .collect();
    let conftests: Vec<&str> = ctx
        .snapshot
        .files
        .keys()
        .map(String::as_str)
        .filter(|p| p.rsplit('/').next() == Some("conftest.py"))
        .collect();
    if tests.is_empty() && conftests.is_empty() {
        return Ok(None);
    }
    let line = format!("os.environ.setdefault(\"{var}\", \"{TEST_KEY}\")");
    if let Some(conftest) = conftests
        .iter()
        .min_by_key(|p| (p.matches('/').count(), **p))
    {
        let text = ctx.snapshot.get(conftest).unwrap_or_default();
        if text.contains(&line) {
            return Ok(None);
        }
        let mut p = PatchBuilder::new(conftest, text);
        let eol = LineEnding::detect(text);
        let comment =
            format!("# The app reads {var} when it is imported; the tests get their own.");
        // Right after the conftest's own `import os` when it has one at the top level, else
        // first: before anything it imports from the app.
        let after_import = text
            .match_indices("import os")
            .find(|&(at, _)| {
                (at == 0 || text[..at].ends_with('\n'))
                    && text[at + "import os".len()..].starts_with(['\n', '\r'])
            })
            .and_then(|(at, _)| text[at..].find('\n').map(|n| at + n + 1));
        match after_import {
            Some(at) => p.insert(at, eol.apply(&format!("{comment}\n{line}\n"))),
            None => p.insert(
                0,
                format!(
                    "{}{}",
                    eol.apply(&format!("import os\n\n{comment}\n{line}\n")),
                    if text.is_empty() { "" } else { eol.as_str() }
                ),
            ),
        }
        .map_err(|e| e.to_string())?;
        return p.finish().map(Some).map_err(|e| e.to_string());
    }
    let uses_pytest = tests.iter().any(|t| {
        ctx.snapshot
            .get(t)
            .is_some_and(|text| text.contains("import pytest") || text.contains("from pytest"))
    }) || ctx.snapshot.files.iter().any(|(path, f)| {
        (path.ends_with(".txt") || path.ends_with(".toml") || path.ends_with(".cfg"))
            && f.text.to_ascii_lowercase().contains("pytest")
    });
    if !uses_pytest {
        return Err(format!(
            "the tests ({}) import the app, which would then need {var} exported before they \
             run; set it for them and read os.environ[\"{var}\"] by hand",
            tests[0]
        ));
    }
    let dir = tests
        .iter()
        .map(|t| t.rsplit_once('/').map_or("", |(d, _)| d))
        .min_by_key(|d| (d.matches('/').count(), d.len()))
        .unwrap_or("");
    let path = if dir.is_empty() {
        "conftest.py".to_string()
    } else {
        format!("{dir}/conftest.py")
    };
    Ok(Some(FilePatch {
        path,
        kind: PatchKind::Create {
            text: format!(
                "import os\n\n# The app reads {var} when it is imported; the tests get their own.\n{line}\n"
            ),
        },
    }))
}

/// Where the app is configured for a key set in config class `class`: the function (or
/// module) that loads the production config with `from_object`. Without a production config
/// that the code selects, the fix is not guessed.
fn class_setup<'m>(
    ctx: &FixContext<'_, 'm>,
    finding: &Finding,
    class: usize,
) -> Result<AppSite<'m>, Unfixable> {
    let facts = ctx.facts;
    let no = |r: &str| Unfixable::new(finding, r);
    if let Some(reason) = production_unknown(ctx) {
        return Err(no(&reason));
    }
    if facts.production.is_empty() {
        return Err(no(&format!(
            "flask-harden cannot tell which configuration production loads (no from_object call \
             selects {} or a production class), so it does not guess where a strict SECRET_KEY \
             belongs; name the class with production-config in flask-harden.toml",
            facts.classes[class].name
        )));
    }
    let load = facts
        .loads
        .iter()
        .find(|l| {
            l.production
                && facts.is_production_module(l.module)
                && l.candidates
                    .iter()
                    .any(|(_, c)| facts.production.contains(c))
        })
        .ok_or_else(|| {
            no("the production config is not loaded by a from_object call flask-harden can see")
        })?;
    app_of(ctx, load.module, load.range).ok_or_else(|| {
        no("the app that loads the production config is not bound to a name in its function")
    })
}

/// The app object of module `idx` configured at `range`: the one created in the same function
/// (an app factory), else the module's own.
fn app_of<'m>(ctx: &FixContext<'_, 'm>, idx: usize, range: TextRange) -> Option<AppSite<'m>> {
    let facts = ctx.facts;
    let module = facts.module(idx);
    let (_, func) = stmt_at(module.body(), range, None)?;
    facts.apps.iter().find_map(|app| {
        if app.module != idx {
            return None;
        }
        let var = app.var.clone()?;
        let (stmt, factory) = stmt_at(module.body(), app.range, None)?;
        let same = match (factory, func) {
            (Some(a), Some(b)) => a.range() == b.range(),
            (None, None) => true,
            _ => false,
        };
        same.then_some(AppSite {
            module,
            stmt,
            var,
            factory,
        })
    })
}

/// `if not app.config.get("SECRET_KEY"): raise …` after the last statement that configures the
/// app: production refuses to start without the key; development (`app.debug`) and tests
/// (`app.testing`) get a throwaway one.
fn add_strict_check<'a>(
    ctx: &FixContext<'a, '_>,
    patches: &mut Patches<'a>,
    site: &AppSite,
    var: &str,
) -> Result<(), String> {
    let path = site.module.path.clone();
    let idx = ctx
        .module(&path)
        .map(|(i, _)| i)
        .ok_or("the app's module is not parsed")?;
    let body = match site.factory {
        Some(f) => &f.body[..],
        None => site.module.body(),
    };
    let after = last_config_stmt(ctx, idx, body, &site.var).unwrap_or(site.stmt);
    let patch = patches.for_path(ctx, &path)?;
    if patch.text().contains("secrets.token_hex(32)") && patch.text().contains("raise RuntimeError")
    {
        return Ok(());
    }
    let quote = preferred_quote(site.module.tree());
    let message = quoted(
        quote,
        &format!("{var} is not set: export it (see .env.example)"),
    );
    let key = quoted(quote, "SECRET_KEY");
    let snippet = templates::render_python(
        "secret_key/strict_check.py",
        &[("app", &site.var), ("key", &key), ("message", &message)],
        &indent_unit(patch.text()),
    )
    .map_err(|e| e.to_string())?;
    insert_after(patch, after.range(), &snippet)?;
    ensure_imports(patch, &["import secrets"])
}

/// Development and testing config classes that `from_object` may load and that would inherit
/// the strict value get an explicit development key of their own.
fn dev_keys<'a>(
    ctx: &FixContext<'a, '_>,
    patches: &mut Patches<'a>,
    fixed_class: usize,
    fixed: &ConfigWrite,
) -> Result<(), String> {
    let facts = ctx.facts;
    for c in loaded_config_classes(facts) {
        let class = &facts.classes[c];
        if class.is_module
            || facts.production.contains(&c)
            || env_kind(&class.name) != EnvKind::Development
            || !facts.mro(c).contains(&fixed_class)
        {
            continue;
        }
        // Inherited from the fixed class (any of its writes: a conditional sets it in
        // several branches).
        let inherits = facts
            .effective_write(c, "SECRET_KEY")
            .is_none_or(|w| w.scope == fixed.scope);
        if !inherits {
            continue;
        }
        let module = facts.module(class.module);
        let quote = preferred_quote(module.tree());
        let key = if class.name.to_ascii_lowercase().contains("test") {
            TEST_KEY
        } else {
            DEV_KEY
        };
        let patch = patches.for_path(ctx, &module.path)?;
        append_to_class(
            patch,
            module,
            &class.name,
            &format!("SECRET_KEY = {}", quoted(quote, key)),
        )?;
    }
    Ok(())
}

/// A test suite that builds the app with its own mapping (`create_app({"TESTING": True})`)
/// gets a key in that mapping.
fn test_mapping_keys<'a>(
    ctx: &FixContext<'a, '_>,
    patches: &mut Patches<'a>,
    factory: &str,
) -> Result<(), String> {
    for (module, dict) in test_config_dicts(ctx, factory) {
        if dict_has_key(dict, "SECRET_KEY") {
            continue;
        }
        let quote = preferred_quote(module.tree());
        let patch = patches.for_path(ctx, &module.path)?;
        let entry = format!(
            "{}: {}",
            quoted(quote, "SECRET_KEY"),
            quoted(quote, TEST_KEY)
        );
        if let Some((at, text)) = dict_entry_insertion(dict, patch.text(), &entry) {
            patch.insert(at, text).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::super::common::fix_item;

    #[test]
    fn a_conditional_key_is_understood_and_the_test_mapping_gets_its_own() {
        let config = "import os\n\n\nclass Config:\n\
            \x20   if os.environ.get('SECRET_KEY'):\n        SECRET_KEY = os.environ['SECRET_KEY']\n\
            \x20   else:\n        SECRET_KEY = 'dev'\n\n\n\
            class DevelopmentConfig(Config):\n    DEBUG = True\n\n\n\
            class ProductionConfig(Config):\n    pass\n\n\n\
            config = {'development': DevelopmentConfig, 'production': ProductionConfig}\n";
        let factory = "import os\n\nfrom flask import Flask\n\nfrom config import config\n\n\n\
            def create_app(test_config=None):\n    app = Flask(__name__)\n\
            \x20   app.config.from_object(config[os.environ.get('FLASK_CONFIG', 'development')])\n\
            \x20   if test_config:\n        app.config.from_mapping(test_config)\n    return app\n";
        let conftest = "from app import create_app\n\n\ndef test_app():\n\
            \x20   assert create_app({'TESTING': True})\n";
        let (item, result) = fix_item(
            &[
                ("config.py", config),
                ("app/__init__.py", factory),
                ("tests/conftest.py", conftest),
            ],
            "secret-key",
        );
        // The literal in the else branch is the finding (not "never set"), and it is fixed.
        assert_eq!(item.applied.len(), 1, "{item:#?}");
        assert_eq!(item.applied[0].fixes[0].rule, "secret-key/placeholder");
        let config = result.get("config.py").expect("config.py");
        assert!(
            config.contains("        SECRET_KEY = os.environ.get('SECRET_KEY')\n"),
            "{config}"
        );
        assert!(
            config.contains("    DEBUG = True\n    SECRET_KEY = 'dev-only-insecure-key'\n"),
            "{config}"
        );
        let factory = result.get("app/__init__.py").expect("factory");
        assert!(factory.contains("raise RuntimeError"), "{factory}");
        let conftest = result.get("tests/conftest.py").expect("conftest");
        assert!(
            conftest
                .contains("create_app({'TESTING': True, 'SECRET_KEY': 'test-only-insecure-key'})"),
            "{conftest}"
        );
    }
}
