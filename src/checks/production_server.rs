//! production-server: a deployment file that starts Flask's development server (`flask run`,
//! or a script or module that calls `app.run()`), and `app.run(host="0.0.0.0")` reached that
//! way (FLASK_FACTS "Deployment").

use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

use super::{Context, no_flask_app};
use crate::deploy::{Command, Deployment, Form, Format, Launch, Started};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::{dotted, method_name, receiver, str_value};
use crate::python::facts::Facts;

/// What a deployment command starts, when it is the development server.
#[derive(Debug, Clone)]
pub enum DevServer {
    /// `flask run`, with what the command line and the file's environment say.
    FlaskRun {
        app: Option<String>,
        host: Option<String>,
        port: Option<String>,
    },
    /// A module of the project whose run calls `app.run()` (index into `facts.modules`).
    Script { module: usize },
}

/// One development-server launch: the command, the simple command within it, and what it
/// starts.
#[derive(Debug, Clone)]
pub struct DevLaunch {
    /// Index into [`Deployment::commands`].
    pub command: usize,
    pub started: Started,
    pub server: DevServer,
}

/// The `X.run(...)` calls of a module that start Werkzeug's server: on a Flask app (a name
/// bound to `Flask(...)` or one with `app` in it), not Flask-SocketIO's `socketio.run`,
/// which picks eventlet or gevent when installed.
pub fn app_run_calls<'m>(facts: &Facts<'m>, idx: usize) -> Vec<&'m ExprCall> {
    facts
        .calls_named(idx, "run")
        .filter(|call| {
            if method_name(call) != Some("run") {
                return false;
            }
            let Some(recv) = receiver(call) else {
                return false;
            };
            let text = match recv {
                Expr::Call(c) => dotted(&c.func).unwrap_or_default(),
                other => dotted(other).unwrap_or_default(),
            };
            let lower = text.to_ascii_lowercase();
            let is_app = facts
                .apps
                .iter()
                .any(|a| a.module == idx && a.var.as_deref() == Some(text.as_str()))
                || lower.contains("app");
            is_app && !lower.contains("socketio")
        })
        .collect()
}

/// The project module a `python script.py` / `python -m module` runs, resolved against the
/// command's working directory and the deployment file's folder.
pub fn resolve_module(
    facts: &Facts,
    deploy_path: &str,
    workdir: Option<&str>,
    script: Option<&str>,
    module: Option<&str>,
) -> Option<usize> {
    let production = |i: &usize| !facts.modules[*i].is_test;
    if let Some(name) = module {
        let main = format!("{name}.__main__");
        let exact = (0..facts.modules.len())
            .filter(production)
            .find(|&i| facts.modules[i].name == name || facts.modules[i].name == main);
        return exact.or_else(|| {
            let suffix = format!(".{name}");
            let mut found = (0..facts.modules.len())
                .filter(production)
                .filter(|&i| facts.modules[i].name.ends_with(&suffix));
            let first = found.next();
            first.filter(|_| found.next().is_none())
        });
    }
    let mut path = script?.trim_start_matches("./").to_string();
    if let Some(w) = workdir
        && let Some(rest) = path.strip_prefix(&format!("{}/", w.trim_end_matches('/')))
    {
        path = rest.to_string();
    }
    let path = path.trim_start_matches('/').to_string();
    let folder = deploy_path.rsplit_once('/').map(|(d, _)| d);
    let candidates: Vec<String> = std::iter::once(path.clone())
        .chain(folder.map(|d| format!("{d}/{path}")))
        .collect();
    for c in &candidates {
        if let Some(i) = (0..facts.modules.len())
            .filter(production)
            .find(|&i| facts.modules[i].path == *c)
        {
            return Some(i);
        }
    }
    // `/srv/app/run.py` in an image: the longest path of the project that ends the same.
    let mut best: Option<(usize, usize)> = None;
    for i in (0..facts.modules.len()).filter(production) {
        let p = &facts.modules[i].path;
        if path.ends_with(&format!("/{p}")) || p.ends_with(&format!("/{path}")) {
            let len = p.len();
            if best.is_none_or(|(_, l)| len > l) {
                best = Some((i, len));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// Every development-server launch in the deployment files, following the shell scripts
/// they run (`ENTRYPOINT ["./boot.sh"]`) one level deep. A script no deployment file runs is
/// not looked at.
pub fn dev_launches(facts: &Facts, deployment: &Deployment) -> Vec<DevLaunch> {
    let mut out = Vec::new();
    for (ci, command) in deployment.commands.iter().enumerate() {
        if deployment.file(command.file).format == Format::Script {
            continue;
        }
        let file = deployment.file(command.file);
        for started in command.started(file.text()) {
            if let Launch::Script(script) = &started.launch {
                let Some(si) = deployment.script_command(command, script) else {
                    continue;
                };
                let inner = &deployment.commands[si];
                let inner_file = deployment.file(inner.file);
                // The script runs with the environment and folder of what started it.
                let mut env = started.env.clone();
                env.extend(command.env.iter().cloned());
                for s in inner.started(inner_file.text()) {
                    let mut s = s;
                    s.env.extend(env.iter().cloned());
                    if let Some(server) = dev_server(facts, command, &inner_file.path, &s) {
                        out.push(DevLaunch {
                            command: si,
                            started: s,
                            server,
                        });
                    }
                }
                continue;
            }
            if let Some(server) = dev_server(facts, command, &file.path, &started) {
                out.push(DevLaunch {
                    command: ci,
                    started,
                    server,
                });
            }
        }
    }
    out
}

/// What one simple command starts, when it is the development server.
fn dev_server(
    facts: &Facts,
    command: &Command,
    path: &str,
    started: &Started,
) -> Option<DevServer> {
    match &started.launch {
        Launch::FlaskRun { app, host, port } => {
            let env = |k: &str| {
                started
                    .env
                    .iter()
                    .chain(&command.env)
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            Some(DevServer::FlaskRun {
                app: app.clone().or_else(|| env("FLASK_APP")),
                host: host.clone().or_else(|| env("FLASK_RUN_HOST")),
                port: port.clone().or_else(|| env("FLASK_RUN_PORT")),
            })
        }
        Launch::Python { script, module } => {
            let idx = resolve_module(
                facts,
                path,
                command.workdir.as_deref(),
                script.as_deref(),
                module.as_deref(),
            )?;
            (!app_run_calls(facts, idx).is_empty()).then_some(DevServer::Script { module: idx })
        }
        Launch::Server(_) | Launch::Script(_) | Launch::Other => None,
    }
}

/// The bytes a finding about a launch points at: the simple command, or the whole command
/// when its bytes are not known (exec form, `sh -c` with escapes).
pub fn launch_range(command: &Command, started: &Started) -> std::ops::Range<usize> {
    match (&command.form, &started.span) {
        (Form::Shell, Some(span)) => span.clone(),
        _ => command.range.clone(),
    }
}

/// `host="0.0.0.0"` (or the first positional argument), through a module constant or an
/// environment read's fallback.
pub fn run_host<'m>(facts: &Facts<'m>, idx: usize, call: &'m ExprCall) -> Option<String> {
    let value = call.arguments.find_argument_value("host", 0)?;
    let value = facts.resolve_const(idx, value);
    str_value(value).or_else(|| facts.env_fallback(idx, value).and_then(str_value))
}

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let deployment = Deployment::read(ctx.files);
    if deployment.commands.is_empty() {
        return CheckOutcome::not_applicable(
            "no deployment file (Dockerfile, Procfile, docker-compose, supervisord, systemd) \
             starts the app",
        );
    }
    let mut findings: Vec<Finding> = Vec::new();
    for launch in dev_launches(facts, &deployment) {
        let command = &deployment.commands[launch.command];
        let file = deployment.file(command.file);
        let range = launch_range(command, &launch.started);
        let place = match file.format {
            Format::Script => format!("shell script {}", file.path),
            other => format!("{} {}", other.label(), command.what),
        };
        let message = match &launch.server {
            DevServer::FlaskRun { host, .. } => format!(
                "the {place} starts the app with `flask run`, Werkzeug's development server, \
                 which is not for production{}; start it with gunicorn instead",
                if host.as_deref() == Some("0.0.0.0") {
                    " and here listens on every interface"
                } else {
                    ""
                }
            ),
            DevServer::Script { module, .. } => {
                let m = facts.module(*module);
                for call in app_run_calls(facts, *module) {
                    if run_host(facts, *module, call).as_deref() == Some("0.0.0.0") {
                        findings.push(m.finding(
                            "production-server/exposed-dev-server",
                            Severity::High,
                            call.range(),
                            format!(
                                "app.run(host=\"0.0.0.0\") puts the development server on every \
                                 interface, and the {place} ({}) starts it this way",
                                file.path
                            ),
                        ));
                    }
                }
                format!(
                    "the {place} runs {}, which serves the app with app.run(), Werkzeug's \
                     development server, which is not for production; start it with gunicorn \
                     instead",
                    m.path
                )
            }
        };
        findings.push(file.finding(
            "production-server/dev-server",
            Severity::High,
            range,
            message,
        ));
    }
    CheckOutcome::findings(findings)
}
