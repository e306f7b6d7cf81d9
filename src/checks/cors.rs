//! cors: Flask-CORS (or a hand-set Access-Control-Allow-Origin) that allows every origin
//! together with credentials, or every origin on an app that reads the session
//! (FLASK_FACTS "Deployment").

use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{Context, no_flask_app};
use crate::deploy::{Deployment, Format};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::{literal_truth, str_value};
use crate::python::facts::Facts;

pub const FLASK_CORS: &[&str] = &[
    "flask_cors.CORS",
    "flask_cors.cross_origin",
    "flask_cors.extension.CORS",
    "flask_cors.decorator.cross_origin",
];

/// `"*"`, `[".*"]`, `r".*"`: every origin.
fn any_origin<'m>(facts: &Facts<'m>, idx: usize, value: &'m Expr) -> bool {
    let value = facts.resolve_const(idx, value);
    let is_any = |s: &str| matches!(s.trim(), "*" | ".*" | "^.*$" | ".*$" | "^.*");
    match value {
        Expr::List(l) => l
            .elts
            .iter()
            .any(|e| str_value(e).is_some_and(|s| is_any(&s))),
        Expr::Tuple(t) => t
            .elts
            .iter()
            .any(|e| str_value(e).is_some_and(|s| is_any(&s))),
        other => str_value(other).is_some_and(|s| is_any(&s)),
    }
}

/// A Flask-CORS setup: a `CORS(app, …)` / `cross_origin(…)` call, or `init_app(app, …)` on a
/// `CORS()` made without an app.
#[derive(Debug, Clone)]
pub struct CorsCall<'m> {
    pub module: usize,
    pub call: &'m ExprCall,
    /// Every origin is allowed (the default, or "*").
    pub any_origin: bool,
    pub credentials: bool,
    /// The `origins=` keyword (or the `resources` entry) that says "*", if written.
    pub origins: Option<TextRange>,
}

pub fn cors_calls<'m>(facts: &Facts<'m>) -> Vec<CorsCall<'m>> {
    let config_any = facts
        .production_writes("CORS_ORIGINS")
        .iter()
        .map(|w| any_origin(facts, w.module, w.value))
        .next_back();
    let config_credentials = facts
        .production_writes("CORS_SUPPORTS_CREDENTIALS")
        .iter()
        .any(|w| literal_truth(facts.resolve_const(w.module, w.value)) == Some(true));
    let mut out = Vec::new();
    for (idx, m) in facts.modules.iter().enumerate() {
        if m.is_test || !facts.imports[idx].imports_from("flask_cors") {
            continue;
        }
        let calls = facts.calls_to(idx, FLASK_CORS);
        let deferred = calls.iter().any(|c| c.arguments.is_empty());
        let mut wired: Vec<&'m ExprCall> = calls
            .into_iter()
            .filter(|c| {
                // `CORS()` alone configures nothing until init_app; `cross_origin()` alone is a
                // decorator with the defaults.
                !c.arguments.is_empty() || m.text(c.func.range()).ends_with("cross_origin")
            })
            .collect();
        if deferred {
            wired.extend(super::headers::init_app_calls(facts, idx, "cors"));
        }
        for call in wired {
            let mut origins_kw = call
                .arguments
                .find_keyword("origins")
                .map(|k| (&k.value, k.range()));
            if origins_kw.is_none()
                && let Some(res) = call.arguments.find_keyword("resources")
                && let Expr::Dict(d) = &res.value
            {
                for item in &d.items {
                    if let Expr::Dict(inner) = &item.value {
                        for entry in &inner.items {
                            if entry.key.as_ref().and_then(str_value).as_deref() == Some("origins")
                            {
                                origins_kw = Some((&entry.value, entry.value.range()));
                            }
                        }
                    }
                }
            }
            let any = match origins_kw {
                Some((v, _)) => any_origin(facts, idx, v),
                None => config_any.unwrap_or(true),
            };
            let credentials = match call.arguments.find_keyword("supports_credentials") {
                Some(k) => literal_truth(facts.resolve_const(idx, &k.value)) == Some(true),
                None => config_credentials,
            };
            out.push(CorsCall {
                module: idx,
                call,
                any_origin: any,
                credentials,
                origins: origins_kw.map(|(_, r)| r),
            });
        }
    }
    out
}

/// Lines of production code that set Access-Control-Allow-Origin by hand to "*" or to the
/// request's own Origin: (module, range of the line, reflects the origin, module sets
/// credentials).
fn manual_headers(facts: &Facts) -> Vec<(usize, TextRange, bool, bool)> {
    let mut out = Vec::new();
    for (idx, m) in facts.modules.iter().enumerate() {
        let text = &m.source.text;
        if m.is_test || !text.contains("Access-Control-Allow-Origin") {
            continue;
        }
        let credentials = text.lines().any(|l| {
            l.contains("Access-Control-Allow-Credentials")
                && l.to_ascii_lowercase().contains("true")
        });
        let mut offset = 0usize;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let code = line.split('#').next().unwrap_or("");
            if !code.contains("Access-Control-Allow-Origin") {
                continue;
            }
            let star = code.contains("\"*\"") || code.contains("'*'");
            let reflects = code.contains("request.origin")
                || code.contains("\"Origin\"")
                || code.contains("'Origin'")
                || code.contains("HTTP_ORIGIN");
            if star || reflects {
                let trimmed = line.trim_end();
                let lead = trimmed.len() - trimmed.trim_start().len();
                let to = |n: usize| TextSize::from(u32::try_from(n).unwrap_or(u32::MAX));
                out.push((
                    idx,
                    TextRange::new(to(start + lead), to(start + trimmed.len())),
                    reflects,
                    credentials,
                ));
            }
        }
    }
    out
}

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let calls = cors_calls(facts);
    let manual = manual_headers(facts);
    let deployment = Deployment::read(ctx.files);
    let server: Vec<_> = deployment
        .server_configs()
        .flat_map(|(file, cfg)| {
            let credentials = cfg.directives.iter().any(|d| {
                d.args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case("Access-Control-Allow-Credentials"))
                    && d.args
                        .get(1)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            });
            cfg.directives
                .iter()
                .filter(move |d| {
                    (file.format == Format::Nginx && d.name == "add_header")
                        && d.args
                            .first()
                            .is_some_and(|a| a.eq_ignore_ascii_case("Access-Control-Allow-Origin"))
                        && d.args
                            .get(1)
                            .is_some_and(|v| v == "*" || v == "$http_origin")
                })
                .map(move |d| {
                    (
                        file,
                        d.range.clone(),
                        d.args.get(1).is_some_and(|v| v == "$http_origin"),
                        credentials,
                    )
                })
        })
        .collect();
    if calls.is_empty() && manual.is_empty() && server.is_empty() {
        return CheckOutcome::not_applicable(
            "the app sets no CORS policy (browsers keep it same-origin)",
        );
    }
    let session = facts.uses.session || facts.uses.flask_login;
    let mut findings: Vec<Finding> = Vec::new();
    for c in &calls {
        if !c.any_origin {
            continue;
        }
        let m = facts.module(c.module);
        let range = c.origins.unwrap_or_else(|| c.call.range());
        if c.credentials {
            findings.push(m.finding(
                "cors/any-origin-with-credentials",
                Severity::High,
                range,
                "Flask-CORS allows every origin with supports_credentials=True, so it answers any \
                 site with that site's origin and Allow-Credentials: any page a logged-in user \
                 visits can read their data; read the allowed origins from configuration",
            ));
        } else if session {
            findings.push(m.finding(
                "cors/any-origin-with-session",
                Severity::Medium,
                range,
                "Flask-CORS allows every origin on an app that keeps users in the session; list \
                 the origins that may call it (from configuration) instead of \"*\"",
            ));
        }
    }
    for (idx, range, reflects, credentials) in manual {
        let m = facts.module(idx);
        if credentials {
            findings.push(m.finding(
                "cors/any-origin-with-credentials",
                Severity::High,
                range,
                format!(
                    "Access-Control-Allow-Origin is set to {} together with \
                     Access-Control-Allow-Credentials: true, so any site can read authenticated \
                     responses; allow only origins from configuration",
                    if reflects {
                        "the request's own Origin"
                    } else {
                        "\"*\""
                    }
                ),
            ));
        } else if session {
            findings.push(m.finding(
                "cors/any-origin-with-session",
                Severity::Medium,
                range,
                "Access-Control-Allow-Origin lets every site read these responses, on an app that \
                 reads the session; allow only origins from configuration",
            ));
        }
    }
    for (file, range, reflects, credentials) in server {
        if credentials {
            findings.push(file.finding(
                "cors/any-origin-with-credentials",
                Severity::High,
                range,
                format!(
                    "the server sets Access-Control-Allow-Origin to {} with \
                     Access-Control-Allow-Credentials true: any site can read authenticated \
                     responses; allow only known origins",
                    if reflects {
                        "the request's Origin"
                    } else {
                        "*"
                    }
                ),
            ));
        } else if session {
            findings.push(file.finding(
                "cors/any-origin-with-session",
                Severity::Medium,
                range,
                "the server allows every origin on an app that reads the session; allow only \
                 known origins",
            ));
        }
    }
    CheckOutcome::findings(findings)
}
