//! Fixes for the session item (FLASK_FACTS §5): cookie flags in the production config and on
//! set_cookie(), session.clear() before the login assignment, Flask-Login's strong protection.

use std::collections::HashSet;

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::super::imports::ensure_import;
use super::super::style::{LineEnding, preferred_quote};
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    app_site, assigned_name, insert_after, insert_before, keyword_insertion, located,
    nested_blocks, production_unknown, quoted, stmt_at,
};
use crate::finding::Finding;
use crate::python::expr::{method_name, receiver};

/// The setting each cookie rule wants, as Python source (quote filled in).
fn wanted(rule: &str, quote: char) -> Option<(&'static str, String)> {
    match rule {
        "session/cookie-secure" => Some(("SESSION_COOKIE_SECURE", "True".to_string())),
        "session/cookie-httponly" => Some(("SESSION_COOKIE_HTTPONLY", "True".to_string())),
        "session/cookie-samesite" => Some(("SESSION_COOKIE_SAMESITE", quoted(quote, "Lax"))),
        _ => None,
    }
}

pub fn cookie_config(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| cookie_config_one(ctx, f)).collect()
}

fn cookie_config_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let quote = preferred_quote(module.tree());
    let (key, value) = wanted(&finding.rule, quote).ok_or_else(|| no("not a cookie setting"))?;
    let facts = ctx.facts;
    // A setting that is there with the wrong value: change the value.
    if let Some(w) = facts
        .writes
        .iter()
        .find(|w| w.module == idx && w.key == key && w.range == range)
    {
        patch
            .replace(
                w.value.start().to_usize()..w.value.end().to_usize(),
                value.clone(),
            )
            .map_err(|e| bug(e.to_string()))?;
        let plan = FixPlan::new(
            &finding.rule,
            format!("set {key} = {value}"),
            Applicability::Safe,
        );
        return Ok(plan
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    // Not set: add it to the production config class or module the finding points at…
    if let Some(&c) = facts.production.iter().find(|&&c| {
        let class = &facts.classes[c];
        class.module == idx && class.range.start() == range.start()
    }) {
        if let Some(reason) = production_unknown(ctx) {
            return Err(no(&reason));
        }
        let class = &facts.classes[c];
        let text = patch.text();
        let eol = LineEnding::detect(text);
        let line = format!("{key} = {value}");
        if class.is_module {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                eol.as_str()
            };
            patch
                .insert(text.len(), format!("{sep}{line}{}", eol.as_str()))
                .map_err(|e| bug(e.to_string()))?;
        } else {
            let def = module
                .body()
                .iter()
                .find_map(|s| match s {
                    Stmt::ClassDef(cd) if cd.name.as_str() == class.name => Some(cd),
                    _ => None,
                })
                .ok_or_else(|| no("the config class is not at module level"))?;
            let last = def.body.last().ok_or_else(|| no("the class has no body"))?;
            // `pass` as the only statement stays valid with a line after it.
            insert_after(&mut patch, last.range(), &line).map_err(bug)?;
        }
        let plan = FixPlan::new(
            &finding.rule,
            format!("set {key} = {value} in {}", class.name),
            Applicability::Safe,
        );
        return Ok(plan
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    // …or right after the app is created.
    let site = app_site(ctx).ok_or_else(|| no("no app bound to a name to configure"))?;
    if site.module.path != finding.path {
        return Err(no("the app is created elsewhere than the finding says"));
    }
    let line = format!("{}.config[{}] = {value}", site.var, quoted(quote, key));
    insert_after(&mut patch, site.stmt.range(), &line).map_err(bug)?;
    let plan = FixPlan::new(
        &finding.rule,
        format!("set {key} = {value} on the app"),
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

pub fn set_cookie(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings.iter().map(|f| set_cookie_one(ctx, f)).collect()
}

fn set_cookie_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let call = ctx
        .facts
        .calls(idx)
        .iter()
        .find(|c| c.range() == range)
        .ok_or_else(|| no("the set_cookie() call is not where the finding says"))?;
    if call.arguments.keywords.iter().any(|k| k.arg.is_none()) {
        return Err(no(
            "set_cookie() takes its options from **kwargs here, which may set the flags already; \
             pass secure=True, httponly=True, samesite=\"Lax\" where those options are built",
        ));
    }
    let quote = preferred_quote(module.tree());
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut added = Vec::new();
    for (flag, good) in [
        ("secure", "True".to_string()),
        ("httponly", "True".to_string()),
        ("samesite", quoted(quote, "Lax")),
    ] {
        match call.arguments.find_keyword(flag) {
            Some(k) => {
                let weak = match &k.value {
                    Expr::BooleanLiteral(b) => !b.value,
                    Expr::NoneLiteral(_) => true,
                    _ => false,
                };
                if weak {
                    edits.push((k.value.start().to_usize()..k.value.end().to_usize(), good));
                }
            }
            None => added.push(format!("{flag}={good}")),
        }
    }
    if !added.is_empty() {
        let (at, text) = keyword_insertion(call, patch.text(), &added)
            .ok_or_else(|| no("the set_cookie() call's arguments cannot be read"))?;
        edits.push((at..at, text));
    }
    for (r, t) in edits {
        patch.replace(r, t).map_err(|e| bug(e.to_string()))?;
    }
    let plan = FixPlan::new(
        &finding.rule,
        "pass secure=True, httponly=True, samesite=\"Lax\" to set_cookie()",
        Applicability::Safe,
    );
    Ok(plan
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

/// One `session.clear()` per login path: the findings of one function that a single clear
/// dominates share it, placed before the path's first write to Flask's session (so that a
/// second write is not wiped by a second clear).
pub fn reset_at_login(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let mut sorted: Vec<&Finding> = findings.to_vec();
    sorted.sort_by_key(|f| (f.path.clone(), f.line, f.column));
    let mut out = Vec::new();
    let mut covered: Vec<bool> = vec![false; sorted.len()];
    for i in 0..sorted.len() {
        if covered[i] {
            continue;
        }
        match reset_one(ctx, sorted[i]) {
            Ok((plan, scope)) => {
                let mut plan = plan;
                for j in i + 1..sorted.len() {
                    if !covered[j]
                        && sorted[j].path == sorted[i].path
                        && ctx
                            .range_of(sorted[j])
                            .is_some_and(|r| scope.contains_range(r))
                    {
                        covered[j] = true;
                        plan = plan.fixing(sorted[j]);
                    }
                }
                out.push(Ok(plan));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

/// The plan for one login, and the range its clear covers (from the clear to the end of its
/// block).
fn reset_one(ctx: &FixContext, finding: &Finding) -> Result<(FixPlan, TextRange), Unfixable> {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let (_, func) =
        stmt_at(module.body(), range, None).ok_or_else(|| no("no statement at the finding"))?;
    let func = func.ok_or_else(|| no("the login is not inside a function"))?;
    let (block, at) =
        enclosing_block(&func.body, range).ok_or_else(|| no("no statement at the finding"))?;
    let imports = &ctx.facts.imports[idx];
    let locals = local_names(func);
    let flask_session = |e: &Expr| {
        imports.is(e, &["flask.session"])
            && !matches!(e, Expr::Name(n) if locals.contains(n.id.as_str()))
    };
    // The first statement of the block, up to the login, that writes Flask's session.
    let first = block[..=at]
        .iter()
        .position(|s| writes_session(s, &flask_session))
        .unwrap_or(at);
    let stmt = &block[first];
    // The name Flask's session goes by here: the module's own import unless the function
    // binds that name to something else (`with Session() as session:`).
    let imported: Vec<&str> = imports.locals_bound_to("flask.session").collect();
    let (name, import) = match imported.iter().find(|n| !locals.contains(**n)) {
        Some(n) => ((*n).to_string(), None),
        None if !locals.contains("session") && imported.is_empty() => {
            ("session".to_string(), Some("from flask import session"))
        }
        None if !locals.contains("flask") => ("flask.session".to_string(), Some("import flask")),
        None => {
            return Err(no(
                "the function binds both `session` and `flask` to other objects, so Flask's \
                 session cannot be named there",
            ));
        }
    };
    insert_before(&mut patch, stmt.range(), &format!("{name}.clear()")).map_err(bug)?;
    if let Some(import) = import
        && let Some(edit) = ensure_import(patch.text(), import).map_err(|e| bug(e.to_string()))?
    {
        patch.push(edit).map_err(|e| bug(e.to_string()))?;
    }
    let scope_end = block.last().map_or(stmt.end(), Ranged::end);
    let title = if name == "session" {
        "clear the session before logging the user in".to_string()
    } else {
        format!("clear the session ({name}) before logging the user in")
    };
    let plan = FixPlan::new(&finding.rule, title, Applicability::Safe);
    Ok((
        plan.fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?),
        TextRange::new(stmt.start(), scope_end),
    ))
}

/// The innermost statement list of `body` holding `range`, and the index of the statement in
/// it that holds `range`.
fn enclosing_block(body: &[Stmt], range: TextRange) -> Option<(&[Stmt], usize)> {
    let at = body.iter().position(|s| s.range().contains_range(range))?;
    nested_blocks(&body[at])
        .into_iter()
        .find_map(|b| enclosing_block(b, range))
        .or(Some((body, at)))
}

/// Whether a statement writes to Flask's session: `session[k] = v`, `session.permanent = …`,
/// `session.update(…)`.
fn writes_session(stmt: &Stmt, is_session: &dyn Fn(&Expr) -> bool) -> bool {
    let target_is_session = |t: &Expr| match t {
        Expr::Subscript(s) => is_session(&s.value),
        Expr::Attribute(a) => is_session(&a.value),
        _ => false,
    };
    match stmt {
        Stmt::Assign(a) => a.targets.iter().any(target_is_session),
        Stmt::AugAssign(a) => target_is_session(&a.target),
        Stmt::AnnAssign(a) => target_is_session(&a.target),
        Stmt::Expr(e) => match e.value.as_ref() {
            Expr::Call(c) => {
                matches!(
                    method_name(c),
                    Some("update" | "setdefault" | "__setitem__")
                ) && receiver(c).is_some_and(is_session)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Names a function binds locally (parameters, assignments, `with … as`, `for` targets,
/// `except … as`, imports): anywhere in its body they shadow the module's names.
fn local_names(func: &ruff_python_ast::StmtFunctionDef) -> HashSet<String> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct V {
        names: HashSet<String>,
    }
    impl V {
        fn target(&mut self, e: &Expr) {
            match e {
                Expr::Name(n) => {
                    self.names.insert(n.id.to_string());
                }
                Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
                Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
                Expr::Starred(s) => self.target(&s.value),
                _ => {}
            }
        }
    }
    impl<'a> Visitor<'a> for V {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.names.insert(f.name.to_string());
                    return;
                }
                Stmt::ClassDef(c) => {
                    self.names.insert(c.name.to_string());
                    return;
                }
                Stmt::Assign(a) => a.targets.iter().for_each(|t| self.target(t)),
                Stmt::AnnAssign(a) => self.target(&a.target),
                Stmt::AugAssign(a) => self.target(&a.target),
                Stmt::For(f) => self.target(&f.target),
                Stmt::With(w) => {
                    for item in &w.items {
                        if let Some(v) = &item.optional_vars {
                            self.target(v);
                        }
                    }
                }
                Stmt::Try(t) => {
                    for h in &t.handlers {
                        let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                        if let Some(n) = &h.name {
                            self.names.insert(n.to_string());
                        }
                    }
                }
                Stmt::Import(i) => {
                    for a in &i.names {
                        let bound = a.asname.as_ref().unwrap_or(&a.name);
                        let first = bound.as_str().split('.').next().unwrap_or("");
                        self.names.insert(first.to_string());
                    }
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        self.names
                            .insert(a.asname.as_ref().unwrap_or(&a.name).to_string());
                    }
                }
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }

        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Named(n) = expr {
                self.target(&n.target);
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut v = V {
        names: HashSet::new(),
    };
    let params = &func.parameters;
    for p in params
        .posonlyargs
        .iter()
        .chain(&params.args)
        .chain(&params.kwonlyargs)
    {
        v.names.insert(p.parameter.name.to_string());
    }
    for p in params.vararg.iter().chain(params.kwarg.iter()) {
        v.names.insert(p.name.to_string());
    }
    v.visit_body(&func.body);
    v.names
}

pub fn login_protection(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| login_protection_one(ctx, f))
        .collect()
}

fn login_protection_one(ctx: &FixContext, finding: &Finding) -> Generated {
    let no = |r: &str| Unfixable::new(finding, r);
    let bug = |e: String| Unfixable::new(finding, e);
    let (idx, module, range, mut patch) = located(ctx, finding)?;
    let quote = preferred_quote(module.tree());
    let strong = quoted(quote, "strong");
    let title = "set Flask-Login's session protection to strong";
    // `login_manager.session_protection = "basic"` or `LoginManager(session_protection=…)`:
    // the value is replaced where it is.
    let (stmt, _) =
        stmt_at(module.body(), range, None).ok_or_else(|| no("no statement at the finding"))?;
    if let Stmt::Assign(a) = stmt
        && a.range == range
    {
        patch
            .replace(a.value.start().to_usize()..a.value.end().to_usize(), strong)
            .map_err(|e| bug(e.to_string()))?;
        return Ok(FixPlan::new(&finding.rule, title, Applicability::Safe)
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    if let Some(k) = ctx.facts.calls(idx).iter().find_map(|c| {
        c.arguments
            .keywords
            .iter()
            .find(|k| k.range == range && k.arg.as_ref().is_some_and(|a| a == "session_protection"))
    }) {
        patch
            .replace(k.value.start().to_usize()..k.value.end().to_usize(), strong)
            .map_err(|e| bug(e.to_string()))?;
        return Ok(FixPlan::new(&finding.rule, title, Applicability::Safe)
            .fixing(finding)
            .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?));
    }
    let var = assigned_name(stmt).ok_or_else(|| {
        no("the LoginManager() is not bound to a name, so its session_protection cannot be set")
    })?;
    insert_after(
        &mut patch,
        stmt.range(),
        &format!("{var}.session_protection = {strong}"),
    )
    .map_err(bug)?;
    Ok(FixPlan::new(&finding.rule, title, Applicability::Safe)
        .fixing(finding)
        .with_patch(patch.finish().map_err(|e| bug(e.to_string()))?))
}

#[cfg(test)]
mod tests {
    use super::super::common::fix_item;

    const APP: &str = "from flask import Flask, session, request, redirect\n\
        from flask_login import LoginManager, login_user\n\
        from db import Session\n\n\
        app = Flask(__name__)\n\
        app.secret_key = __import__('os').environ['SECRET_KEY']\n\
        login_manager = LoginManager(app)\n\
        login_manager.session_protection = 'basic'\n\n\n\
        @app.route('/login', methods=['POST'])\n\
        def login():\n\
        \x20   session['next'] = request.args.get('next')\n\
        \x20   session['user_id'] = request.form['name']\n\
        \x20   session['username'] = request.form['name']\n\
        \x20   return redirect('/')\n\n\n\
        @app.route('/login2', methods=['POST'])\n\
        def login2():\n\
        \x20   with Session() as session:\n\
        \x20       user = session.get(request.form['name'])\n\
        \x20       login_user(user)\n\
        \x20   return redirect('/')\n";

    #[test]
    fn one_clear_per_login_path_on_flasks_own_session() {
        let (item, result) = fix_item(
            &[("app.py", APP), ("db.py", "class Session: pass\n")],
            "session",
        );
        let app = result.get("app.py").expect("app.py");
        assert!(
            item.remaining
                .iter()
                .all(|f| f.rule != "session/no-reset-at-login"),
            "{:#?}",
            item
        );
        // Before the first session write of the path, once: the two login writes survive.
        assert!(
            app.contains("    session.clear()\n    session['next'] = request.args.get('next')\n    session['user_id']"),
            "{app}"
        );
        assert_eq!(app.matches("session.clear()").count(), 2, "{app}");
        // The local `session` is the database's: Flask's is named through its module.
        assert!(
            app.contains("        flask.session.clear()\n        login_user(user)"),
            "{app}"
        );
        assert!(app.contains("\nimport flask\n"), "{app}");
        // The bound login manager's protection is replaced in place.
        assert!(
            app.contains("login_manager.session_protection = 'strong'\n"),
            "{app}"
        );
        assert!(!app.contains("'basic'"), "{app}");
    }

    #[test]
    fn set_cookie_with_kwargs_is_declined_with_its_line() {
        let app = "import os\nfrom flask import Flask, make_response\n\
            app = Flask(__name__)\napp.secret_key = os.environ['SECRET_KEY']\nOPTS = {}\n\n\
            @app.route('/p')\ndef p():\n    r = make_response('x')\n    r.set_cookie('a', 'b', **OPTS)\n\
            \x20   r.set_cookie('c', 'd')\n    return r\n";
        let (item, result) = fix_item(&[("app.py", app)], "session");
        let text = result.get("app.py").expect("app.py");
        assert!(
            text.contains("r.set_cookie('c', 'd', secure=True, httponly=True, samesite='Lax')"),
            "{text}"
        );
        let declined = item
            .rejected
            .iter()
            .find(|r| r.reason.contains("**kwargs"))
            .expect("the **OPTS call is declined");
        assert_eq!(declined.findings[0].line, 10);
    }
}
