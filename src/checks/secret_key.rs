//! secret-key: SECRET_KEY hardcoded, a placeholder, weak, an env read with a literal fallback
//! (or a pydantic-settings field with a default), committed in a .env file, or never set while
//! sessions are used.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::{is_constant, str_value};
use crate::python::facts::{ConfigWrite, Facts};

const PLACEHOLDERS: &[&str] = &[
    "dev",
    "development",
    "secret",
    "secretkey",
    "secret_key",
    "secret-key",
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "your-secret-key",
    "your_secret_key",
    "yoursecretkey",
    "your-secret-key-here",
    "mysecret",
    "my-secret-key",
    "mysecretkey",
    "supersecret",
    "super-secret",
    "super_secret",
    "supersecretkey",
    "default",
    "password",
    "test",
    "testing",
    "key",
    "flask",
    "xxx",
    "todo",
    "replace-me",
    "replaceme",
    "hard to guess string",
    "hard-to-guess-string",
    "you-will-never-guess",
    "this-really-needs-to-be-changed",
    "not-so-secret",
    "notsecret",
    "abc123",
    "123456",
    "qwerty",
    "s3cr3t",
    "insecure",
];

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let mut findings = Vec::new();
    // A secret in code ships wherever the code goes; only a development or testing config
    // that production never loads is exempt.
    for w in facts
        .all_writes("SECRET_KEY")
        .filter(|w| !facts.is_dev_only(w))
    {
        if let Some(f) = judge_write(facts, w) {
            findings.push(f);
        }
    }
    for env in &facts.env_files {
        for key in ["SECRET_KEY", "FLASK_SECRET_KEY"] {
            if let Some((_, value, line)) = env.get(key)
                && !value.is_empty()
            {
                findings.push(env_finding(env, *line, key));
            }
        }
    }
    // Config loading can be too dynamic to follow: a SECRET_KEY constant anywhere in
    // production code counts as set.
    let any_secret = facts.all_writes("SECRET_KEY").next().is_some()
        || facts
            .env_files
            .iter()
            .any(|e| e.get("SECRET_KEY").is_some())
        || facts
            .modules
            .iter()
            .enumerate()
            .any(|(i, m)| !m.is_test && facts.binds(i, "SECRET_KEY"));
    let needs_secret = facts.uses.session || facts.uses.flask_login || facts.uses.flask_wtf;
    if !any_secret
        && needs_secret
        && !facts.has_external_config()
        && let Some(app) = facts
            .apps
            .iter()
            .find(|a| facts.is_production_module(a.module))
    {
        let m = facts.module(app.module);
        findings.push(m.finding(
            "secret-key/missing",
            Severity::Medium,
            app.range,
            "the app uses sessions but never sets SECRET_KEY: every request that touches the \
             session fails; read it with os.environ[\"SECRET_KEY\"]",
        ));
    }
    CheckOutcome::findings(findings)
}

fn env_finding(env: &crate::python::facts::EnvFile, line: usize, key: &str) -> Finding {
    let code = env
        .source
        .lines()
        .line_text(&env.source.text, line)
        .to_string();
    Finding {
        rule: "secret-key/committed-env".into(),
        path: env.path.clone(),
        line,
        end_line: line,
        column: 1,
        end_column: code.chars().count() + 1,
        code,
        message: format!(
            "{key} is committed in {}: remove the file from git (and add it to .gitignore), \
             rotate the key, and set it in the deployment's environment",
            env.path
        ),
        severity: Severity::High,
    }
}

fn judge_write<'m>(facts: &Facts<'m>, w: &ConfigWrite<'m>) -> Option<Finding> {
    let module = facts.module(w.module);
    let value = facts.resolve_const(w.module, w.value);
    if let Some(f) = settings_fallback(facts, value) {
        return Some(f);
    }
    if let Some(fallback) = facts.env_fallback(w.module, value) {
        let shown = str_value(fallback)
            .map(|s| format!(" {s:?}"))
            .unwrap_or_default();
        return Some(module.finding(
            "secret-key/env-fallback",
            Severity::High,
            w.range,
            format!(
                "SECRET_KEY falls back to the literal{shown} when the environment variable is \
                 missing, and that fallback ships to production; read os.environ[\"SECRET_KEY\"] \
                 with no fallback"
            ),
        ));
    }
    if !is_constant(value) || matches!(value, Expr::NoneLiteral(_)) {
        return None;
    }
    let literal = str_value(value).unwrap_or_default();
    let (rule, what) = if is_placeholder(&literal) {
        (
            "secret-key/placeholder",
            format!("the well-known placeholder {literal:?}"),
        )
    } else if is_weak(&literal) {
        ("secret-key/weak", "a short, guessable literal".to_string())
    } else {
        (
            "secret-key/hardcoded",
            "a literal in the source code".to_string(),
        )
    };
    Some(module.finding(
        rule,
        Severity::High,
        w.range,
        format!(
            "SECRET_KEY is {what}: anyone who reads the code can forge sessions; read it with \
             os.environ[\"SECRET_KEY\"] and rotate the key"
        ),
    ))
}

/// The settings classes pydantic-settings fills from the environment.
const SETTINGS_BASES: &[&str] = &[
    "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings",
    "pydantic.v1.BaseSettings",
];

/// `SECRET_KEY = settings.secret_key` where `secret_key: str = "literal"` is a field of a
/// pydantic-settings class: the field reads SECRET_KEY from the environment (or a `.env`),
/// case-insensitively, and falls back to its literal default when it is missing, the same as
/// `os.environ.get("SECRET_KEY", "literal")`. The finding is on the field.
fn settings_fallback(facts: &Facts, value: &Expr) -> Option<Finding> {
    let Expr::Attribute(attr) = value else {
        return None;
    };
    let field = attr.attr.as_str();
    for (idx, module) in facts.modules.iter().enumerate() {
        let imports = facts.imports[idx];
        if module.is_test || !SETTINGS_BASES.iter().any(|b| imports.may_name(b)) {
            continue;
        }
        for stmt in &module.tree().body {
            let Stmt::ClassDef(class) = stmt else {
                continue;
            };
            let is_settings = class.bases().iter().any(|b| imports.is(b, SETTINGS_BASES));
            if !is_settings {
                continue;
            }
            for item in &class.body {
                let Stmt::AnnAssign(a) = item else { continue };
                let (Expr::Name(target), Some(default)) = (a.target.as_ref(), a.value.as_deref())
                else {
                    continue;
                };
                if !target.id.as_str().eq_ignore_ascii_case(field) {
                    continue;
                }
                let Some(literal) = str_value(default) else {
                    continue;
                };
                return Some(module.finding(
                    "secret-key/settings-default",
                    Severity::High,
                    a.range(),
                    format!(
                        "the settings field {} falls back to {literal:?} when {} is not in the \
                         environment (or .env), and SECRET_KEY is set from it: that fallback \
                         ships to production; give the field no default, so that a missing key \
                         stops the app",
                        target.id,
                        target.id.to_ascii_uppercase()
                    ),
                ));
            }
        }
    }
    None
}

fn is_placeholder(s: &str) -> bool {
    let norm = s.trim().to_ascii_lowercase();
    let squashed: String = norm.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    norm.is_empty()
        || PLACEHOLDERS.contains(&norm.as_str())
        || PLACEHOLDERS.iter().any(|p| {
            p.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                == squashed
        })
        || norm.contains("change")
            && (norm.contains("me") || norm.contains("this") || norm.contains("production"))
        || norm.starts_with("your") && norm.contains("secret")
        || norm.contains("replace") && norm.contains("secret")
}

/// Short, or made of few distinct characters.
fn is_weak(s: &str) -> bool {
    let distinct: std::collections::HashSet<char> = s.chars().collect();
    s.chars().count() < 24 || distinct.len() < 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_weak_keys() {
        assert!(is_placeholder("dev"));
        assert!(is_placeholder("Change-Me-In-Production"));
        assert!(is_placeholder("your-secret-key-here"));
        assert!(!is_placeholder("9f2c1e7a4b8d3f6e0a5c2b9d8e7f1a3c"));
        assert!(is_placeholder("secret key"));
        assert!(is_placeholder("Super Secret"));
        assert!(is_weak("s3cr3tk3y"));
        assert!(is_weak("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!is_weak("9f2c1e7a4b8d3f6e0a5c2b9d8e7f1a3c"));
    }
}
