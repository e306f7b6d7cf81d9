//! session: cookie flags in the production config and on set_cookie(), and the session reset
//! at login.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::Module;
use crate::python::expr::{dotted, literal_truth, method_name, receiver, str_value};
use crate::python::facts::Facts;
use crate::python::imports::Imports;

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let mut findings = Vec::new();
    if facts.uses.session || facts.uses.flask_login || facts.uses.flask_wtf {
        cookie_config(facts, &mut findings);
    }
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        let imports = &facts.imports[idx];
        for call in facts.calls_named(idx, "set_cookie") {
            if method_name(call) == Some("set_cookie") {
                set_cookie(module, call, &mut findings);
            }
        }
        // A login goes through flask.session or Flask-Login: other modules have none.
        if imports.may_name("flask.session") || imports.may_name("flask_login") {
            login_without_reset(imports, module, module.body(), &mut findings);
        }
        let managers = facts.calls_to(idx, &["flask_login.LoginManager"]);
        login_protection(module, &managers, &mut findings);
    }
    CheckOutcome::findings(findings)
}

/// Where a finding about an unset key goes: the production config class, else the app.
fn config_anchor<'m>(facts: &Facts<'m>) -> Option<(&'m Module, TextRange)> {
    if let Some(&c) = facts.production.first() {
        let class = &facts.classes[c];
        return Some((facts.module(class.module), class.range));
    }
    facts
        .apps
        .iter()
        .find(|a| facts.is_production_module(a.module))
        .map(|a| (facts.module(a.module), a.range))
}

fn cookie_config(facts: &Facts, out: &mut Vec<Finding>) {
    // SESSION_COOKIE_SECURE: must be set true (Flask's default is False).
    let secure = facts.production_writes("SESSION_COOKIE_SECURE");
    let falsy: Vec<_> = secure
        .iter()
        .filter(|w| literal_truth(facts.resolve_const(w.module, w.value)) == Some(false))
        .collect();
    for w in &falsy {
        out.push(facts.module(w.module).finding(
            "session/cookie-secure",
            Severity::Medium,
            w.range,
            "SESSION_COOKIE_SECURE is false in production, so the session cookie is also sent \
             over plain HTTP; set it to True",
        ));
    }
    if secure.is_empty()
        && !talisman_sets_secure(facts)
        && let Some((m, r)) = config_anchor(facts)
    {
        out.push(m.finding(
            "session/cookie-secure",
            Severity::Medium,
            r,
            "SESSION_COOKIE_SECURE is never set (Flask defaults to False), so the session cookie \
             is also sent over plain HTTP; set SESSION_COOKIE_SECURE = True in the production config",
        ));
    }
    for w in facts.production_writes("SESSION_COOKIE_HTTPONLY") {
        if literal_truth(facts.resolve_const(w.module, w.value)) == Some(false) {
            out.push(facts.module(w.module).finding(
                "session/cookie-httponly",
                Severity::Medium,
                w.range,
                "SESSION_COOKIE_HTTPONLY is false, so any script on the page can read the session \
                 cookie; remove this (Flask's default is True)",
            ));
        }
    }
    let samesite = facts.production_writes("SESSION_COOKIE_SAMESITE");
    for w in &samesite {
        let value = facts.resolve_const(w.module, w.value);
        let weak = match value {
            Expr::NoneLiteral(_) => true,
            other => str_value(other)
                .is_some_and(|s| !matches!(s.to_ascii_lowercase().as_str(), "lax" | "strict")),
        };
        if weak {
            out.push(facts.module(w.module).finding(
                "session/cookie-samesite",
                Severity::Medium,
                w.range,
                "SESSION_COOKIE_SAMESITE lets browsers send the session cookie on cross-site \
                 requests; set it to \"Lax\"",
            ));
        }
    }
    if samesite.is_empty()
        && let Some((m, r)) = config_anchor(facts)
    {
        out.push(m.finding(
            "session/cookie-samesite",
            Severity::Medium,
            r,
            "SESSION_COOKIE_SAMESITE is never set (Flask defaults to None), so the session cookie \
             rides along on cross-site requests; set SESSION_COOKIE_SAMESITE = \"Lax\"",
        ));
    }
}

/// flask-talisman sets SESSION_COOKIE_SECURE (and HTTPONLY) unless told not to.
fn talisman_sets_secure(facts: &Facts) -> bool {
    facts.modules.iter().enumerate().any(|(idx, m)| {
        !m.is_test
            && facts
                .calls_to(idx, &["flask_talisman.Talisman"])
                .iter()
                .any(|c| {
                    !c.arguments.is_empty()
                        && c.arguments
                            .find_keyword("session_cookie_secure")
                            .is_none_or(|k| literal_truth(&k.value) != Some(false))
                })
    })
}

fn set_cookie(module: &Module, call: &ExprCall, out: &mut Vec<Finding>) {
    let mut missing = Vec::new();
    for flag in ["secure", "httponly"] {
        match call.arguments.find_keyword(flag) {
            None => missing.push(flag),
            Some(k) if literal_truth(&k.value) == Some(false) => missing.push(flag),
            Some(_) => {}
        }
    }
    match call.arguments.find_keyword("samesite") {
        None => missing.push("samesite"),
        Some(k) if matches!(k.value, Expr::NoneLiteral(_)) => missing.push("samesite"),
        Some(_) => {}
    }
    if missing.is_empty() {
        return;
    }
    let name = call
        .arguments
        .find_argument_value("key", 0)
        .and_then(str_value)
        .map(|k| format!("cookie {k:?}"))
        .unwrap_or_else(|| "this cookie".to_string());
    out.push(module.finding(
        "session/set-cookie-flags",
        Severity::Medium,
        call.range(),
        format!(
            "{name} is set without {}; pass secure=True, httponly=True, samesite=\"Lax\"",
            missing.join(", ")
        ),
    ));
}

/// Session keys that say "this user is logged in".
fn is_login_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "user", "logged", "auth", "account", "uid", "login", "member",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// A function that stores the user in the session (or calls Flask-Login's login_user) with
/// no session.clear() before it.
fn login_without_reset(imports: &Imports, module: &Module, body: &[Stmt], out: &mut Vec<Finding>) {
    let mut v = LoginFinder {
        imports,
        funcs: Vec::new(),
    };
    v.visit_body(body);
    for (logins, cleared_at) in v.funcs {
        for (range, what) in logins {
            let reset_before = cleared_at.iter().any(|c| *c < range.start());
            if !reset_before {
                out.push(module.finding(
                    "session/no-reset-at-login",
                    Severity::Medium,
                    range,
                    format!(
                        "{what} without clearing the session first, so whatever the session held \
                         before login stays in the logged-in session; call session.clear() just \
                         before (Flask has no session.regenerate_id())"
                    ),
                ));
            }
        }
    }
}

type Login = (TextRange, String);

struct LoginFinder<'a> {
    imports: &'a Imports,
    /// Per function: login points, and where the session is cleared.
    funcs: Vec<(Vec<Login>, Vec<ruff_text_size::TextSize>)>,
}

impl<'a> Visitor<'a> for LoginFinder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::FunctionDef(f) = stmt {
            let mut logins = Vec::new();
            let mut clears = Vec::new();
            let mut inner = InnerLogin {
                imports: self.imports,
                logins: &mut logins,
                clears: &mut clears,
            };
            inner.visit_body(&f.body);
            if !logins.is_empty() {
                self.funcs.push((logins, clears));
            }
        }
        visitor::walk_stmt(self, stmt);
    }
}

struct InnerLogin<'a, 'o> {
    imports: &'a Imports,
    logins: &'o mut Vec<Login>,
    clears: &'o mut Vec<ruff_text_size::TextSize>,
}

impl<'a> Visitor<'a> for InnerLogin<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(a) => {
                for t in &a.targets {
                    // `session['logged_in'] = False` / `= None` is a logout, not a login.
                    let clears = matches!(a.value.as_ref(), Expr::NoneLiteral(_))
                        || matches!(a.value.as_ref(), Expr::BooleanLiteral(b) if !b.value);
                    if let Expr::Subscript(s) = t
                        && !clears
                        && self.imports.is(&s.value, &["flask.session"])
                        && let Some(key) = str_value(&s.slice)
                        && is_login_key(&key)
                    {
                        self.logins
                            .push((a.range, format!("session[{key:?}] is set")));
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            if self.imports.is(
                &call.func,
                &["flask_login.login_user", "flask_login.utils.login_user"],
            ) {
                self.logins
                    .push((call.range(), "login_user() logs the user in".to_string()));
            }
            let is_session_reset = matches!(method_name(call), Some("clear" | "regenerate"))
                && receiver(call).is_some_and(|r| {
                    self.imports.is(r, &["flask.session"])
                        || dotted(r).is_some_and(|d| d.ends_with("session_interface"))
                });
            if is_session_reset {
                self.clears.push(call.start());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

/// `LoginManager()` without `session_protection = "strong"`: an assignment of another value
/// is reported where it is, a missing one at the LoginManager.
fn login_protection(module: &Module, managers: &[&ExprCall], out: &mut Vec<Finding>) {
    // The attribute name has to be in the text for an assignment to it to be in the tree.
    if managers.is_empty() && !module.source.text.contains("session_protection") {
        return;
    }
    let assignments = protection_assignments(module.body());
    let kwarg = managers.iter().find_map(|c| {
        c.arguments
            .find_keyword("session_protection")
            .map(|k| (&k.value, k.range))
    });
    let all: Vec<(&Expr, TextRange)> = assignments.into_iter().chain(kwarg).collect();
    if all
        .iter()
        .any(|(v, _)| str_value(v).is_some_and(|s| s == "strong"))
    {
        return;
    }
    if let Some((value, range)) = all.first() {
        let shown = str_value(value)
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|| module.text(value.range()).to_string());
        out.push(module.finding(
            "session/login-protection",
            Severity::Low,
            *range,
            format!(
                "Flask-Login's session protection is {shown}: set it to \"strong\" so a session \
                 used from another client is dropped"
            ),
        ));
        return;
    }
    if let Some(first) = managers.first() {
        out.push(module.finding(
            "session/login-protection",
            Severity::Low,
            first.range(),
            "Flask-Login's session protection is \"basic\" by default: set \
             login_manager.session_protection = \"strong\" so a session used from another client \
             is dropped",
        ));
    }
}

/// `x.session_protection = value` statements anywhere in a module.
fn protection_assignments(body: &[Stmt]) -> Vec<(&Expr, TextRange)> {
    struct V<'a> {
        out: Vec<(&'a Expr, TextRange)>,
    }
    impl<'a> Visitor<'a> for V<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::Assign(a) = stmt
                && a.targets.iter().any(
                    |t| matches!(t, Expr::Attribute(at) if at.attr.as_str() == "session_protection"),
                )
            {
                self.out.push((&a.value, a.range));
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    let mut v = V { out: Vec::new() };
    v.visit_body(body);
    v.out
}
