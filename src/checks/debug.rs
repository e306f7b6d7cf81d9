//! debug: debug mode switched on in code production runs, in the production config (or in the
//! config the app falls back to when the deployment does not choose one), or in a committed
//! .flaskenv/.env.

use ruff_text_size::Ranged;

use super::{Context, no_flask_app};
use crate::deploy::{Deployment, Launch};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::{dotted, literal_truth, method_name, receiver};
use crate::python::facts::{EnvKind, Facts, env_kind};

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let mut findings = app_run_findings(facts);
    findings.extend(default_config_findings(ctx));
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

/// `DEBUG = True` in the config entry a factory loads for the environment a committed
/// deployment file starts the app with: `config[os.getenv('FLASK_CONFIG') or 'default']`
/// with `'default': DevelopmentConfig`, and a Procfile running gunicorn without FLASK_CONFIG.
/// The variable's value is the one the command sets, else the one a committed `.flaskenv` /
/// `.env` sets where it is loaded (by `flask run`, or by the code's `load_dotenv()`), else the
/// fallback.
fn default_config_findings(ctx: &Context) -> Vec<Finding> {
    let facts = ctx.facts;
    let mut out = Vec::new();
    let mut deployment: Option<Deployment> = None;
    let mut seen = std::collections::HashSet::new();
    let loads_dotenv = (0..facts.modules.len()).any(|idx| {
        !facts.modules[idx].is_test && facts.calls_named(idx, "load_dotenv").next().is_some()
    });
    for load in &facts.loads {
        let Some((var, fallback)) = &load.when_unset else {
            continue;
        };
        if !load.production || !facts.is_production_module(load.module) {
            continue;
        }
        let from_env_file = facts.env_files.iter().find_map(|e| {
            e.entries
                .iter()
                .find(|(k, _, _)| k == var)
                .map(|(_, v, _)| v.clone())
        });
        let deployment = deployment.get_or_insert_with(|| Deployment::read(ctx.files));
        for (place, flask_run, explicit) in launches(deployment, var) {
            let label = explicit
                .or_else(|| from_env_file.clone().filter(|_| flask_run || loads_dotenv))
                .unwrap_or_else(|| fallback.clone());
            if env_kind(&label) == EnvKind::Production {
                continue;
            }
            for (l, class) in &load.candidates {
                if l.as_deref() != Some(label.as_str())
                    || facts.production.contains(class)
                    || env_kind(&facts.classes[*class].name) == EnvKind::Production
                {
                    continue;
                }
                let Some(w) = facts.effective_write(*class, "DEBUG") else {
                    continue;
                };
                if literal_truth(facts.resolve_const(w.module, w.value)) != Some(true)
                    || !seen.insert((w.module, w.range.start()))
                {
                    continue;
                }
                let how = if label == *fallback {
                    format!("loads when {var} is unset (the '{label}' entry)")
                } else {
                    format!("loads for {var}={label}")
                };
                out.push(facts.module(w.module).finding(
                    "debug/default-config",
                    Severity::High,
                    w.range,
                    format!(
                        "DEBUG is on in {}, which the app {how}, and {place} starts the app that \
                         way: production runs with the Werkzeug debugger, which lets anyone run \
                         code; set {var} to the production config there",
                        facts.classes[*class].name
                    ),
                ));
            }
        }
    }
    out
}

/// Each deployment command that starts the app (a server, `flask run`, a Python script or a
/// start script): where (`Procfile:1 (web)`), whether it is `flask run`, and the value it
/// gives `var`, if any.
fn launches(deployment: &Deployment, var: &str) -> Vec<(String, bool, Option<String>)> {
    let mut out = Vec::new();
    for cmd in &deployment.commands {
        let file = deployment.file(cmd.file);
        if is_development_file(&file.path) {
            continue;
        }
        let set = cmd
            .env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone());
        for started in cmd.started(file.text()) {
            let flask_run = matches!(started.launch, Launch::FlaskRun { .. });
            if !flask_run
                && !matches!(
                    started.launch,
                    Launch::Server(_) | Launch::Python { .. } | Launch::Script(_)
                )
            {
                continue;
            }
            let value = started
                .env
                .iter()
                .find(|(k, _)| k == var)
                .map(|(_, v)| v.clone())
                .or_else(|| set.clone());
            out.push((
                format!(
                    "{}:{} ({})",
                    file.path,
                    file.line_of(cmd.range.start),
                    cmd.what
                ),
                flask_run,
                value,
            ));
        }
    }
    out
}

/// A deployment file named for development or tests (`docker-compose.dev.yml`,
/// `Dockerfile.local`, `docker-compose.override.yml`): what it starts is not production.
fn is_development_file(path: &str) -> bool {
    path.to_ascii_lowercase()
        .split(['/', '.', '-', '_'])
        .any(|w| {
            matches!(
                w,
                "dev" | "development" | "local" | "override" | "test" | "tests"
            )
        })
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
