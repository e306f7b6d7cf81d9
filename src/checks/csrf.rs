//! csrf: state-changing routes without CSRF protection, CSRF switched off in production, and
//! forms without a token once protection is on.

use std::collections::HashSet;

use ruff_python_ast::{Expr, Stmt};

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Severity};
use crate::python::expr::{
    calls_in_body, dotted, last_segment, literal_truth, method_name, receiver,
};
use crate::python::facts::{Facts, Route};
use crate::python::taint::REQUEST_SOURCES;

pub(crate) const PROTECTORS: &[&str] = &[
    "flask_wtf.CSRFProtect",
    "flask_wtf.csrf.CSRFProtect",
    "flask_wtf.CsrfProtect",
    "flask_seasurf.SeaSurf",
];

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let mut findings = Vec::new();
    for w in facts.production_writes("WTF_CSRF_ENABLED") {
        if literal_truth(facts.resolve_const(w.module, w.value)) == Some(false) {
            findings.push(facts.module(w.module).finding(
                "csrf/disabled",
                Severity::High,
                w.range,
                "WTF_CSRF_ENABLED is false in the configuration production uses, so no form is \
                 checked for a CSRF token; keep it to the testing config",
            ));
        }
    }
    if csrf_protect_enabled(facts) {
        for t in facts
            .templates
            .iter()
            .filter(|t| crate::python::templates::rendered_by_flask(&t.path))
        {
            for form in t.post_forms().into_iter().filter(|f| !f.has_token) {
                findings.push(t.finding(
                    "csrf/form-missing-token",
                    Severity::Medium,
                    form.range,
                    "this form posts without a CSRF token, so CSRFProtect rejects it with 400; add \
                     <input type=\"hidden\" name=\"csrf_token\" value=\"{{ csrf_token() }}\">",
                ));
            }
        }
    } else if !(facts.uses.session || facts.uses.flask_login || facts.uses.cookies) {
        // Cross-site request forgery rides on the victim's cookies; an app that keeps no session
        // and reads no cookie of its own has none to ride on.
        let mut outcome = CheckOutcome::findings(findings);
        outcome.notes.push(
            "no session, Flask-Login or cookie authentication found: form posts are not CSRF-prone"
                .to_string(),
        );
        return outcome;
    } else {
        let forms = flask_form_classes(facts);
        for route in facts.routes.iter().filter(|r| r.is_state_changing()) {
            if facts.module(route.module).is_test || !csrf_prone(facts, route, &forms) {
                continue;
            }
            let what = route
                .path
                .as_deref()
                .map(|p| format!("route {p}"))
                .unwrap_or_else(|| format!("view {}", route.class.as_deref().unwrap_or("")));
            findings.push(facts.module(route.module).finding(
                "csrf/missing-protect",
                Severity::High,
                route.range,
                format!(
                    "{} {what} ({}) changes state with no CSRF protection: any site the user visits \
                     can submit it; enable Flask-WTF's CSRFProtect and add the token to its form",
                    route.methods.join("/"),
                    route.func.name
                ),
            ));
        }
    }
    CheckOutcome::findings(findings)
}

/// `CSRFProtect(app)`, or `csrf = CSRFProtect()` with `csrf.init_app(app)` somewhere; the
/// project's own subclasses of CSRFProtect count too.
pub fn csrf_protect_enabled(facts: &Facts) -> bool {
    let subclasses = subclasses_of(facts, PROTECTORS);
    let is_protector = |idx: usize, func: &Expr| {
        facts.imports[idx].is(func, PROTECTORS)
            || !subclasses.is_empty()
                && facts.imports[idx]
                    .tail(func)
                    .is_some_and(|t| subclasses.contains(t))
    };
    let mut unbound = HashSet::new();
    for (idx, module) in facts.modules.iter().enumerate() {
        // Only a module that imports a protector (or when the project subclasses one) can
        // create one.
        if module.is_test
            || subclasses.is_empty() && !PROTECTORS.iter().any(|p| facts.imports[idx].may_name(p))
        {
            continue;
        }
        let imports = &facts.imports[idx];
        let mut calls = facts.calls_to(idx, PROTECTORS);
        // Calls to the project's subclasses, by their name or a local alias of it.
        let names = subclasses.iter().map(String::as_str).chain(
            imports
                .renamed()
                .filter(|(_, tail)| subclasses.contains(*tail))
                .map(|(local, _)| local),
        );
        for name in names {
            calls.extend(facts.calls_named(idx, name));
        }
        // Every call that can create a protector is in `calls`: without one, the module
        // assigns none either, and its tree is not read.
        if calls.is_empty() {
            continue;
        }
        for stmt in module.body() {
            if let Stmt::Assign(a) = stmt
                && let Expr::Call(call) = a.value.as_ref()
                && is_protector(idx, &call.func)
                && call.arguments.is_empty()
                && let Some(name) = a.targets.first().and_then(dotted)
            {
                unbound.insert(name);
            }
        }
        if calls
            .iter()
            .any(|c| is_protector(idx, &c.func) && !c.arguments.is_empty())
        {
            return true;
        }
    }
    if unbound.is_empty() {
        return false;
    }
    let mut init_receivers = HashSet::new();
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        for call in facts.calls_named(idx, "init_app") {
            if method_name(call) == Some("init_app")
                && let Some(recv) = receiver(call).and_then(dotted)
            {
                // `from .extensions import csrf` keeps the name; `ext.csrf.init_app` ends in it.
                init_receivers.insert(last_segment(&recv).to_string());
            }
        }
    }
    unbound
        .iter()
        .any(|n| init_receivers.contains(last_segment(n)))
}

/// Names of the project's classes deriving from one of `roots`, directly or through each
/// other.
pub(crate) fn subclasses_of(facts: &Facts, roots: &[&str]) -> HashSet<String> {
    let mut found: HashSet<String> = HashSet::new();
    loop {
        let before = found.len();
        for idx in 0..facts.modules.len() {
            for class in facts.top_classes(idx) {
                let derives = class
                    .bases
                    .iter()
                    .any(|q| roots.contains(&q.as_str()) || found.contains(last_segment(q)));
                if derives {
                    found.insert(class.name.clone());
                }
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Classes deriving from FlaskForm (directly or through the project's own base forms), less
/// those that switch their token off (`class Meta: csrf = False`).
fn flask_form_classes(facts: &Facts) -> HashSet<String> {
    let mut forms = subclasses_of(
        facts,
        &[
            "flask_wtf.FlaskForm",
            "flask_wtf.Form",
            "flask_wtf.form.FlaskForm",
        ],
    );
    for idx in 0..facts.modules.len() {
        for class in facts.top_classes(idx) {
            // Only a form's own Meta matters: other classes' trees are not read.
            if forms.contains(class.name.as_str())
                && facts.class_def(idx, class).is_some_and(meta_disables_csrf)
            {
                forms.remove(class.name.as_str());
            }
        }
    }
    forms
}

pub(crate) fn meta_disables_csrf(class: &ruff_python_ast::StmtClassDef) -> bool {
    class.body.iter().any(|s| match s {
        Stmt::ClassDef(meta) if meta.name.as_str() == "Meta" => meta.body.iter().any(|m| {
            matches!(m, Stmt::Assign(a)
                if matches!(a.targets.as_slice(), [Expr::Name(n)] if n.id.as_str() == "csrf")
                    && crate::python::expr::literal_truth(&a.value) == Some(false))
        }),
        _ => false,
    })
}

/// A state-changing view a cross-site form can trigger: not a JSON or raw-body endpoint, not
/// authenticated by a header token, and not validating a FlaskForm (which carries a token).
fn csrf_prone(facts: &Facts, route: &Route, forms: &HashSet<String>) -> bool {
    let imports = &facts.imports[route.module];
    let mut reads_form = false;
    let mut reads_json_or_raw = false;
    let mut header_auth = false;
    let mut uses_flask_form = false;
    let mut auth_state = false;
    if !forms.is_empty() {
        for call in calls_in_body(&route.func.body) {
            if imports.tail(&call.func).is_some_and(|t| forms.contains(t)) && !disables_csrf(call) {
                uses_flask_form = true;
            }
        }
    }
    let mut visit = |expr: &Expr| {
        // Everything looked for below is imported (flask, flask_login).
        if !imports.root_imported(expr) {
            return;
        }
        let Some(q) = imports.qualified(expr) else {
            return;
        };
        if q.starts_with("flask.session")
            || q.starts_with("flask_login.current_user")
            || q.starts_with("flask.g.user")
            || q == "flask.request.cookies"
        {
            auth_state = true;
        }
        let Some(rest) = q.strip_prefix("flask.request.") else {
            return;
        };
        let attr = rest.split('.').next().unwrap_or("");
        match attr {
            "form" | "values" | "files" => reads_form = true,
            "json" | "get_json" | "data" | "get_data" | "stream" => reads_json_or_raw = true,
            "headers" | "authorization" => header_auth = true,
            a if REQUEST_SOURCES.contains(&a) => {}
            _ => {}
        }
    };
    walk_attrs(&route.func.body, &mut visit);
    let login_decorated = route.func.decorator_list.iter().any(|d| {
        let text = facts
            .module(route.module)
            .text(ruff_text_size::Ranged::range(d))
            .to_ascii_lowercase();
        text.contains("login_required")
            || text.contains("admin_required")
            || text.contains("roles_required")
    });
    let decorated_with_token = route.func.decorator_list.iter().any(|d| {
        let text = facts
            .module(route.module)
            .text(ruff_text_size::Ranged::range(d))
            .to_ascii_lowercase();
        text.contains("token")
            || text.contains("jwt")
            || text.contains("api_key")
            || text.contains("apikey")
            || text.contains("csrf.exempt")
    });
    if uses_flask_form || decorated_with_token || header_auth {
        return false;
    }
    if reads_json_or_raw && !reads_form {
        return false;
    }
    // A form post changes state; so does a post that acts on the logged-in user.
    reads_form || auth_state || login_decorated
}

/// A state-changing view that a browser's cross-site form cannot drive: it is authenticated
/// by a header (`Authorization`, an API key) or reads only a JSON or raw body. CSRFProtect
/// would reject its clients' requests, so it is exempted rather than broken.
pub(crate) fn header_or_json_api(facts: &Facts, route: &Route) -> bool {
    let imports = &facts.imports[route.module];
    let (mut header_auth, mut json, mut form) = (false, false, false);
    walk_attrs(&route.func.body, &mut |expr: &Expr| {
        if !imports.root_imported(expr) {
            return;
        }
        let Some(q) = imports.qualified(expr) else {
            return;
        };
        let Some(rest) = q.strip_prefix("flask.request.") else {
            return;
        };
        match rest.split('.').next().unwrap_or("") {
            "headers" | "authorization" => header_auth = true,
            "json" | "get_json" | "data" | "get_data" | "stream" => json = true,
            "form" | "values" | "files" => form = true,
            _ => {}
        }
    });
    header_auth || json && !form
}

/// `MyForm(meta={"csrf": False})`: a form built with its token switched off.
fn disables_csrf(call: &ruff_python_ast::ExprCall) -> bool {
    call.arguments
        .find_keyword("meta")
        .is_some_and(|k| match &k.value {
            Expr::Dict(d) => d.items.iter().any(|i| {
                i.key
                    .as_ref()
                    .and_then(crate::python::expr::str_value)
                    .as_deref()
                    == Some("csrf")
                    && crate::python::expr::literal_truth(&i.value) == Some(false)
            }),
            _ => false,
        })
}

/// Call `f` on every name and attribute expression in a body (`session`, `request.form`).
fn walk_attrs(body: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    use ruff_python_ast::visitor::{self, Visitor};
    struct V<'f> {
        f: &'f mut dyn FnMut(&Expr),
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if matches!(expr, Expr::Attribute(_) | Expr::Name(_)) {
                (self.f)(expr);
            }
            visitor::walk_expr(self, expr);
        }
    }
    V { f }.visit_body(body);
}
