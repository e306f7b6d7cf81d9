//! Fixes for the production-server item: the deployment file starts gunicorn instead of the
//! development server, bound to the same host and port and serving the same application
//! object (`module:app`, `module:create_app()`), and gunicorn is added to the dependencies in
//! the project's own format.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use super::super::plan::PatchBuilder;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::add_dependency;
use crate::checks::production_server::{
    DevLaunch, DevServer, app_run_calls, dev_launches, launch_range,
};
use crate::deploy::shell::quote;
use crate::deploy::{Command, Deployment, Form, Format};
use crate::finding::Finding;
use crate::python::expr::str_value;
use crate::python::facts::Facts;

/// A name the module binds at its top level (assignment, import, def).
fn binds_at_top(body: &[Stmt], name: &str) -> bool {
    body.iter().any(|s| match s {
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)),
        Stmt::AnnAssign(a) => matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == name),
        Stmt::FunctionDef(f) => f.name.as_str() == name,
        Stmt::ImportFrom(i) => i
            .names
            .iter()
            .any(|n| n.asname.as_ref().unwrap_or(&n.name).as_str() == name),
        _ => false,
    })
}

/// What Flask's app discovery finds in a module: `app`, `application`, or a factory.
fn discovered_object(facts: &Facts, module_name: &str) -> Option<String> {
    let idx = facts
        .modules
        .iter()
        .position(|m| m.name == module_name && !m.is_test)?;
    let body = facts.module(idx).body();
    for name in ["app", "application"] {
        if binds_at_top(body, name) {
            return Some(name.to_string());
        }
    }
    ["create_app", "make_app"]
        .into_iter()
        .find(|f| binds_at_top(body, f))
        .map(|f| format!("{f}()"))
}

/// The gunicorn target for FLASK_APP / `--app` (`shop`, `wsgi.py`, `shop:create_app()`).
fn flask_app_target(facts: &Facts, app: Option<&str>) -> Result<String, String> {
    let Some(app) = app else {
        // `flask run` without an app looks for wsgi.py, then app.py.
        return ["wsgi", "app"]
            .into_iter()
            .find_map(|m| discovered_object(facts, m).map(|o| format!("{m}:{o}")))
            .ok_or_else(|| {
                "the command names no app and there is no wsgi.py or app.py with one".to_string()
            });
    };
    let (module, object) = match app.split_once(':') {
        Some((m, o)) => (m, Some(o)),
        None => (app, None),
    };
    let module = module
        .trim_end_matches(".py")
        .trim_start_matches("./")
        .replace('/', ".");
    let object = match object {
        Some(o) => o.to_string(),
        None => discovered_object(facts, &module)
            .ok_or_else(|| format!("no app object or factory found in {module}"))?,
    };
    Ok(format!("{module}:{object}"))
}

/// A gunicorn target, the folder to run it from, and the host and port to bind.
type Serving = (String, Option<String>, Option<String>, Option<String>);

/// The gunicorn target, and the folder to run it from, for a script calling `app.run()`.
fn script_target(facts: &Facts, launch: &DevLaunch, module: usize) -> Result<Serving, String> {
    let m = facts.module(module);
    let calls = app_run_calls(facts, module);
    let call = calls.first().ok_or("no app.run() call")?;
    let Some(Expr::Attribute(attr)) = Some(call.func.as_ref()) else {
        return Err("app.run() is not called on an object".into());
    };
    let object = match attr.value.as_ref() {
        Expr::Name(n) if binds_at_top(m.body(), n.id.as_str()) => n.id.to_string(),
        Expr::Call(c) => match c.func.as_ref() {
            Expr::Name(f) if binds_at_top(m.body(), f.id.as_str()) && c.arguments.is_empty() => {
                format!("{}()", f.id)
            }
            _ => return Err("the app is made by a call gunicorn cannot repeat".into()),
        },
        _ => return Err("the app that runs is not bound at the module's top level".into()),
    };
    let (dir, name) = match &launch.started.launch {
        crate::deploy::Launch::Python {
            module: Some(name), ..
        } => (None, name.clone()),
        crate::deploy::Launch::Python {
            script: Some(script),
            ..
        } => {
            let s = script.trim_start_matches("./").trim_end_matches(".py");
            match s.rsplit_once('/') {
                Some((d, n)) => (Some(d.to_string()), n.to_string()),
                None => (None, s.to_string()),
            }
        }
        _ => return Err("not a Python launch".into()),
    };
    let literal = |key: &str, pos: usize| {
        call.arguments.find_argument_value(key, pos).and_then(|v| {
            let v = facts.resolve_const(module, v);
            let lit = |e: &Expr| match e {
                Expr::NumberLiteral(n) => Some(m.text(n.range()).to_string()),
                other => str_value(other),
            };
            lit(v).or_else(|| {
                // `int(os.environ.get("PORT", 5000))`
                let inner = match v {
                    Expr::Call(c) if c.arguments.args.len() == 1 => &c.arguments.args[0],
                    other => other,
                };
                facts.env_fallback(module, inner).and_then(lit)
            })
        })
    };
    Ok((
        format!("{name}:{object}"),
        dir,
        literal("host", 0),
        literal("port", 1),
    ))
}

/// The new command's words.
fn gunicorn_words(bind: &str, chdir: Option<&str>, target: &str) -> Vec<String> {
    let mut words = vec![
        "gunicorn".to_string(),
        "--bind".to_string(),
        bind.to_string(),
    ];
    if let Some(d) = chdir {
        words.push("--chdir".to_string());
        words.push(d.to_string());
    }
    words.push(target.to_string());
    words
}

/// The edit that serves one launch with gunicorn: the file, the bytes, the new command, and
/// what it serves.
fn edit_for(
    ctx: &FixContext,
    deployment: &Deployment,
    launch: &DevLaunch,
) -> Result<(String, std::ops::Range<usize>, String, String), String> {
    let facts = ctx.facts;
    let command: &Command = &deployment.commands[launch.command];
    let file = deployment.file(command.file);
    let (target, chdir, host, port) = match &launch.server {
        DevServer::FlaskRun { app, host, port } => (
            flask_app_target(facts, app.as_deref())?,
            None,
            host.clone(),
            port.clone(),
        ),
        DevServer::Script { module } => script_target(facts, launch, *module)?,
    };
    let shell = command.form == Form::Shell;
    let port = match (port, file.format) {
        (Some(p), _) => p,
        (None, Format::Procfile) => "$PORT".to_string(),
        (None, _) => "5000".to_string(),
    };
    if port.contains('$') && !shell {
        return Err("the port comes from a variable an exec-form command does not expand".into());
    }
    let host = host.unwrap_or_else(|| "127.0.0.1".to_string());
    let words = gunicorn_words(&format!("{host}:{port}"), chdir.as_deref(), &target);
    let text = file.text();
    let (range, replacement) = match &command.form {
        Form::Shell => {
            let span = launch
                .started
                .span
                .clone()
                .ok_or("the command sits in an sh -c string with escapes")?;
            let line: Vec<String> = words.iter().map(|w| quote(w)).collect();
            (span, line.join(" "))
        }
        Form::Exec(argv) => {
            if command.what.contains(" and ") {
                return Err("the command is split between ENTRYPOINT and CMD".into());
            }
            if launch.started.span != Some(0..argv.len()) {
                return Err("the dev server is started inside an sh -c string".into());
            }
            let list: Vec<String> = words
                .iter()
                .map(|w| serde_json::to_string(w).unwrap_or_default())
                .collect();
            let lead = if text
                .get(..command.range.start)
                .is_some_and(|t| t.ends_with(':'))
            {
                " "
            } else {
                ""
            };
            (
                command.range.clone(),
                format!("{lead}[{}]", list.join(", ")),
            )
        }
    };
    Ok((file.path.clone(), range, replacement, target))
}

/// One plan for every launch the findings point at (one dependency edit for all of them);
/// findings whose launch cannot be rewritten are refused one by one.
fn plan_all(
    ctx: &FixContext,
    deployment: &Deployment,
    targets: Vec<(&Finding, Option<&DevLaunch>)>,
) -> Vec<Generated> {
    let mut out: Vec<Generated> = Vec::new();
    let mut edits: Vec<(&Finding, String, std::ops::Range<usize>, String, String)> = Vec::new();
    for (f, launch) in targets {
        let Some(launch) = launch else {
            out.push(Err(Unfixable::new(f, "no deployment command starts this")));
            continue;
        };
        match edit_for(ctx, deployment, launch) {
            Ok((path, range, replacement, target)) => {
                edits.push((f, path, range, replacement, target))
            }
            Err(r) => out.push(Err(Unfixable::new(f, r))),
        }
    }
    let Some(first) = edits.first().map(|e| e.0) else {
        return out;
    };
    let mut paths: Vec<&str> = edits.iter().map(|e| e.1.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut plan = FixPlan::new(&first.rule, String::new(), Applicability::Safe);
    for path in &paths {
        let Some(text) = ctx.snapshot.get(path) else {
            return super::common::fail_all(&[first], "the file is not in the snapshot");
        };
        let mut patch = PatchBuilder::new(path, text);
        let mut done: Vec<std::ops::Range<usize>> = Vec::new();
        for (_, p, range, replacement, _) in &edits {
            // Two findings on one command (the command and its app.run) share its edit.
            if p == path && !done.contains(range) {
                if let Err(e) = patch.replace(range.clone(), replacement.clone()) {
                    return super::common::fail_all(&[first], &e.to_string());
                }
                done.push(range.clone());
            }
        }
        match patch.finish() {
            Ok(p) => plan = plan.with_patch(p),
            Err(e) => return super::common::fail_all(&[first], &e.to_string()),
        }
    }
    if let Some(dep) = add_dependency(ctx, "gunicorn", ">=23.0") {
        plan = plan.with_patch(dep);
    }
    let mut served: Vec<&str> = edits.iter().map(|e| e.4.as_str()).collect();
    served.dedup();
    plan.title = format!(
        "serve {} with gunicorn in {}",
        served.join(", "),
        paths.join(", ")
    );
    for (f, ..) in &edits {
        plan = plan.fixing(f);
    }
    out.push(Ok(plan));
    out
}

/// The findings with the launch each points at, planned together.
fn plan_matching(
    ctx: &FixContext,
    findings: &[&Finding],
    matches: impl Fn(&Deployment, &DevLaunch, &Finding) -> bool,
) -> Vec<Generated> {
    let deployment = Deployment::from_snapshot(ctx.snapshot);
    let launches = dev_launches(ctx.facts, &deployment);
    let targets = findings
        .iter()
        .map(|f| (*f, launches.iter().find(|l| matches(&deployment, l, f))))
        .collect();
    plan_all(ctx, &deployment, targets)
}

pub fn dev_server(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    plan_matching(ctx, findings, |deployment, l, f| {
        let c = &deployment.commands[l.command];
        let file = deployment.file(c.file);
        file.path == f.path && file.line_of(launch_range(c, &l.started).start) == f.line
    })
}

/// `app.run(host="0.0.0.0")` reached from a deployment file: fixed by the same edit as the
/// command that starts it.
pub fn exposed(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    plan_matching(
        ctx,
        findings,
        |_, l, f| matches!(l.server, DevServer::Script { module } if ctx.facts.module(module).path == f.path),
    )
}
