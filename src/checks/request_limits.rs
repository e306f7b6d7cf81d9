//! request-limits: uploads or form posts accepted with no MAX_CONTENT_LENGTH, and Flask 3.1's
//! form limits turned off (FLASK_FACTS §7). A body limit set by a committed web server config
//! (nginx `client_max_body_size`, Apache `LimitRequestBody`) counts.

use ruff_python_ast::Expr;
use ruff_text_size::TextRange;

use super::{Context, no_flask_app};
use crate::deploy::{Deployment, Format};
use crate::finding::{CheckOutcome, Severity};
use crate::python::Module;
use crate::python::facts::Facts;

/// Whether the app reads request bodies from forms or uploads: a view that takes POST, PUT or
/// PATCH, or production code reading `request.files` / `request.form`.
pub fn accepts_bodies(facts: &Facts) -> bool {
    facts
        .routes
        .iter()
        .any(|r| !facts.modules[r.module].is_test && r.is_state_changing())
        || facts.modules.iter().enumerate().any(|(idx, m)| {
            !m.is_test
                && facts.imports[idx].imports_from("flask")
                && (m.source.text.contains("request.files")
                    || m.source.text.contains("request.form"))
        })
}

/// Where a missing setting is reported: the production config class, else the app.
pub fn config_anchor<'m>(facts: &Facts<'m>) -> Option<(&'m Module, TextRange)> {
    if let Some(&c) = facts.production.first() {
        let class = &facts.classes[c];
        return Some((facts.module(class.module), class.range));
    }
    super::headers::app_anchor(facts)
}

/// A body limit in a committed web server config.
fn server_limit(deployment: &Deployment) -> bool {
    deployment.server_configs().any(|(file, cfg)| {
        cfg.directives.iter().any(|d| match file.format {
            Format::Nginx => {
                d.name == "client_max_body_size" && d.args.first().is_some_and(|a| a != "0")
            }
            Format::Apache => {
                d.name.eq_ignore_ascii_case("LimitRequestBody")
                    && d.args.first().is_some_and(|a| a != "0")
            }
            _ => d.name == "request_body",
        })
    })
}

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    if !accepts_bodies(facts) {
        return CheckOutcome::not_applicable("the app accepts no uploads or form posts");
    }
    let mut findings = Vec::new();
    let writes = facts.production_writes("MAX_CONTENT_LENGTH");
    let is_none = |m: usize, v| matches!(facts.resolve_const(m, v), Expr::NoneLiteral(_));
    for w in &writes {
        if is_none(w.module, w.value) {
            findings.push(facts.module(w.module).finding(
                "request-limits/max-content-length",
                Severity::Medium,
                w.range,
                "MAX_CONTENT_LENGTH = None lets clients send request bodies of any size; set a \
                 limit (16 MB unless uploads need more)",
            ));
        }
    }
    let per_request = facts
        .modules
        .iter()
        .any(|m| !m.is_test && m.source.text.contains(".max_content_length ="));
    let deployment = Deployment::read(ctx.files);
    if writes.is_empty()
        && !per_request
        && !server_limit(&deployment)
        && let Some((m, range)) = config_anchor(facts)
    {
        findings.push(m.finding(
            "request-limits/max-content-length",
            Severity::Medium,
            range,
            "the app accepts uploads or form posts but MAX_CONTENT_LENGTH is never set (Flask \
             defaults to no limit), so one request can fill memory or disk; set \
             MAX_CONTENT_LENGTH in the production config",
        ));
    }
    for key in ["MAX_FORM_MEMORY_SIZE", "MAX_FORM_PARTS"] {
        for w in facts.production_writes(key) {
            if is_none(w.module, w.value) {
                findings.push(facts.module(w.module).finding(
                    "request-limits/form-limits-disabled",
                    Severity::Medium,
                    w.range,
                    format!(
                        "{key} = None turns off Flask's limit on form fields; remove it to keep \
                         the default, or set a number"
                    ),
                ));
            }
        }
    }
    CheckOutcome::findings(findings)
}
