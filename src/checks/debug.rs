//! debug: debug mode switched on in code production runs, in the production config, or in a
//! committed .flaskenv/.env.

use ruff_text_size::Ranged;

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::{dotted, literal_truth, method_name, receiver};
use crate::python::facts::Facts;

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let mut findings = app_run_findings(facts);
    for w in facts.production_writes("DEBUG") {
        let value = facts.resolve_const(w.module, w.value);
        // `DEBUG = os.environ.get("DEBUG", True)`: on wherever the variable is missing.
        let fallback_on = facts
            .env_fallback(w.module, value)
            .is_some_and(|f| literal_truth(f) == Some(true) && is_true_word(f));
        if literal_truth(value) == Some(true) || fallback_on {
            findings.push(facts.module(w.module).finding(
                "debug/config",
                Severity::High,
                w.range,
                "DEBUG is on in the configuration production uses: the Werkzeug debugger lets \
                 anyone run code on the server; remove it here and keep it to a development config",
            ));
        }
    }
    for env in &facts.env_files {
        for (key, value, line) in &env.entries {
            let on = match key.as_str() {
                "FLASK_DEBUG" => !matches!(
                    value.to_ascii_lowercase().as_str(),
                    "" | "0" | "false" | "no" | "off"
                ),
                "FLASK_ENV" => value.eq_ignore_ascii_case("development"),
                _ => false,
            };
            if on {
                let code = env
                    .source
                    .lines()
                    .line_text(&env.source.text, *line)
                    .to_string();
                findings.push(Finding {
                    rule: "debug/env-file".into(),
                    path: env.path.clone(),
                    line: *line,
                    end_line: *line,
                    column: 1,
                    end_column: code.chars().count() + 1,
                    code,
                    message: format!(
                        "{key}={value} in committed {} turns debug mode on wherever the app is \
                         started with the flask command; remove it and use `flask run --debug` locally",
                        env.path
                    ),
                    severity: Severity::High,
                });
            }
        }
    }
    CheckOutcome::findings(findings)
}

/// `app.run(debug=True)` and `app.run(host, port, True)`, also `socketio.run(app, debug=True)`.
fn app_run_findings(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        for call in facts.calls_named(idx, "run") {
            if method_name(call) != Some("run") {
                continue;
            }
            let Some(recv) = receiver(call).and_then(dotted) else {
                continue;
            };
            let is_app = facts
                .apps
                .iter()
                .any(|a| a.module == idx && a.var.as_deref() == Some(recv.as_str()))
                || recv.to_ascii_lowercase().contains("app")
                || recv.to_ascii_lowercase().contains("socketio");
            if !is_app {
                continue;
            }
            let socketio = recv.to_ascii_lowercase().contains("socketio");
            let debug = call
                .arguments
                .find_keyword("debug")
                .map(|k| &k.value)
                .or_else(|| {
                    // app.run(host, port, debug): the third positional argument.
                    if socketio {
                        None
                    } else {
                        call.arguments.args.get(2)
                    }
                });
            let Some(debug) = debug else { continue };
            if literal_truth(facts.resolve_const(idx, debug)) == Some(true) {
                out.push(module.finding(
                    "debug/app-run",
                    Severity::High,
                    call.range(),
                    "app.run() starts the server with the Werkzeug debugger on, which lets anyone \
                     who can reach it run code; call app.run() without debug, or derive it with \
                     debug=os.environ.get(\"FLASK_DEBUG\") == \"1\"",
                ));
            }
        }
    }
    out
}

/// `True`, `1`, or a string Flask users mean as true ("1", "true", "yes", "on").
fn is_true_word(expr: &ruff_python_ast::Expr) -> bool {
    match crate::python::expr::str_value(expr) {
        Some(s) => matches!(s.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"),
        None => true,
    }
}
