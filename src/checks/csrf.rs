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
use crate::python::request_sources;
use crate::python::taint::ProjectFunctions;
use crate::python::taint::REQUEST_SOURCES;
use rustc_hash::FxHashMap;

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
        for t in facts.templates.iter().filter(|t| t.rendered_by_flask()) {
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
    } else {
        // Cross-site request forgery rides on the victim's cookies; in an app that keeps no
        // session and reads no cookie of its own, only the routes that take a form's data
        // or files change state on a forged post.
        let cookies = facts.uses.session || facts.uses.flask_login || facts.uses.cookies;
        let forms = FormClasses::of(facts);
        let before_routes = findings.len();
        if cookies {
            get_changes_state(facts, &mut findings);
        }
        for route in facts.routes.iter().filter(|r| r.is_state_changing()) {
            if facts.module(route.module).is_test {
                continue;
            }
            match csrf_prone(facts, route, &forms) {
                Prone::No => continue,
                Prone::ByCookies if !cookies => continue,
                Prone::ByCookies | Prone::ByForm => {}
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
        if !cookies && findings.len() == before_routes {
            let mut outcome = CheckOutcome::findings(findings);
            outcome.notes.push(
                "no session, Flask-Login or cookie authentication found, and no post route takes \
                 form data or files: form posts are not CSRF-prone"
                    .to_string(),
            );
            return outcome;
        }
    }
    CheckOutcome::findings(findings)
}

/// `CSRFProtect(app)`, or `csrf = CSRFProtect()` with `csrf.init_app(app)` somewhere; the
/// project's own subclasses of CSRFProtect count too.
pub fn csrf_protect_enabled(facts: &Facts) -> bool {
    let subclasses = request_sources::project_subclasses(facts.modules, PROTECTORS);
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

/// The project's WTForms forms: those that check a CSRF token (FlaskForm subclasses whose
/// Meta, or a base form's Meta, does not set `csrf = False`) and all of them.
struct FormClasses {
    with_token: HashSet<String>,
    all: rustc_hash::FxHashSet<String>,
}

impl FormClasses {
    fn of(facts: &Facts) -> Self {
        let all = request_sources::form_classes(facts.modules);
        let flask_forms = request_sources::project_subclasses(
            facts.modules,
            &[
                "flask_wtf.FlaskForm",
                "flask_wtf.Form",
                "flask_wtf.form.FlaskForm",
            ],
        );
        // A form's own `class Meta: csrf = ...` decides; without one, its bases' do.
        let mut own: FxHashMap<String, Option<bool>> = FxHashMap::default();
        let mut bases: FxHashMap<String, Vec<String>> = FxHashMap::default();
        for idx in 0..facts.modules.len() {
            for class in facts.top_classes(idx) {
                // Only forms' trees are read.
                if !all.contains(class.name.as_str()) {
                    continue;
                }
                let setting = facts.class_def(idx, class).and_then(meta_csrf);
                own.insert(class.name.clone(), setting);
                bases.insert(
                    class.name.clone(),
                    class
                        .bases
                        .iter()
                        .map(|b| last_segment(b).to_string())
                        .collect(),
                );
            }
        }
        fn token_on(
            name: &str,
            own: &FxHashMap<String, Option<bool>>,
            bases: &FxHashMap<String, Vec<String>>,
            depth: usize,
        ) -> bool {
            if let Some(Some(on)) = own.get(name) {
                return *on;
            }
            depth < 16
                && bases.get(name).is_none_or(|bs| {
                    bs.iter()
                        .filter(|b| own.contains_key(b.as_str()))
                        .all(|b| token_on(b, own, bases, depth + 1))
                })
        }
        let with_token = flask_forms
            .iter()
            .filter(|f| token_on(f, &own, &bases, 0))
            .cloned()
            .collect();
        Self { with_token, all }
    }
}

/// `class Meta: csrf = False` in a form's body.
pub(crate) fn meta_disables_csrf(class: &ruff_python_ast::StmtClassDef) -> bool {
    meta_csrf(class) == Some(false)
}

/// `class Meta: csrf = <literal>` in a form's body: the literal's truth.
fn meta_csrf(class: &ruff_python_ast::StmtClassDef) -> Option<bool> {
    class.body.iter().find_map(|s| {
        match s {
        Stmt::ClassDef(meta) if meta.name.as_str() == "Meta" => meta.body.iter().find_map(|m| {
            match m {
                Stmt::Assign(a)
                    if matches!(a.targets.as_slice(), [Expr::Name(n)] if n.id.as_str() == "csrf") =>
                {
                    crate::python::expr::literal_truth(&a.value)
                }
                _ => None,
            }
        }),
        _ => None,
    }
    })
}

/// Why a state-changing route is open to a forged cross-site post, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prone {
    No,
    /// It takes form data or files (from the request or through a form without a token).
    ByForm,
    /// It acts on the logged-in user or the session.
    ByCookies,
}

/// A state-changing view a cross-site form can trigger: not a JSON or raw-body endpoint, not
/// authenticated by a header token, and not validating a FlaskForm (which carries a token).
fn csrf_prone(facts: &Facts, route: &Route, forms: &FormClasses) -> Prone {
    let imports = &facts.imports[route.module];
    let mut reads_form = false;
    let mut reads_json_or_raw = false;
    let mut header_auth = false;
    let mut uses_flask_form = false;
    let mut auth_state = false;
    let calls = calls_in_body(&route.func.body);
    // A FlaskForm checks its token when it is validated, not when it is created.
    let validates = calls.iter().any(|c| {
        matches!(
            method_name(c),
            Some("validate_on_submit" | "validate" | "is_submitted")
        )
    });
    for call in &calls {
        // Writing a cookie changes what the browser holds for this user.
        if matches!(method_name(call), Some("set_cookie" | "delete_cookie")) {
            auth_state = true;
        }
        if !request_sources::creates_form(imports, &forms.all, call) {
            continue;
        }
        let tail = imports.tail(&call.func).unwrap_or("");
        if forms.with_token.contains(tail) && !disables_csrf(call) {
            uses_flask_form |= validates;
        } else {
            // A form without a token still takes the posted fields.
            reads_form = true;
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
        return Prone::No;
    }
    if reads_json_or_raw && !reads_form {
        return Prone::No;
    }
    // A form post changes state; so does a post that acts on the logged-in user, unless all it
    // does is answer with a page.
    if reads_form {
        Prone::ByForm
    } else if (auth_state || login_decorated) && !only_answers(imports, &route.func.body, &calls) {
        Prone::ByCookies
    } else {
        Prone::No
    }
}

/// GET views that change what is stored for the logged-in user: GET requests are safe by
/// definition (a link, an image, a prefetch sends one from any site), so CSRFProtect does not
/// check them. A view changes what is stored when it commits a transaction, directly or in a
/// project function it calls.
fn get_changes_state(facts: &Facts, findings: &mut Vec<crate::finding::Finding>) {
    let project = ProjectFunctions::new(facts.modules);
    let commits = |body: &[Stmt]| {
        calls_in_body(body)
            .iter()
            .any(|c| method_name(c) == Some("commit"))
    };
    for route in &facts.routes {
        let only_get =
            !route.methods.is_empty() && route.methods.iter().all(|m| m == "GET" || m == "HEAD");
        // A link that carries a secret (an e-mail confirmation token) cannot be forged by a
        // site that does not know it.
        let secret_in_url = route
            .url_params
            .iter()
            .any(|(name, _)| name.to_ascii_lowercase().contains("token"));
        let hook = route.path.is_none() && route.class.is_none();
        if !only_get || hook || secret_in_url || facts.module(route.module).is_test {
            continue;
        }
        let imports = &facts.imports[route.module];
        let mut acts_on_user = route.func.decorator_list.iter().any(|d| {
            facts
                .module(route.module)
                .text(ruff_text_size::Ranged::range(d))
                .contains("login_required")
        });
        if !acts_on_user {
            walk_attrs(&route.func.body, &mut |e| {
                if imports.root_imported(e)
                    && imports.qualified(e).is_some_and(|q| {
                        q.starts_with("flask_login.current_user") || q.starts_with("flask.session")
                    })
                {
                    acts_on_user = true;
                }
            });
        }
        if !acts_on_user {
            continue;
        }
        let calls = calls_in_body(&route.func.body);
        let changes = commits(&route.func.body)
            || calls.iter().any(|c| {
                project
                    .resolve(route.module, imports, c)
                    .is_some_and(|(_, f)| commits(&f.body))
            });
        if !changes {
            continue;
        }
        findings.push(facts.module(route.module).finding(
            "csrf/state-change-on-get",
            Severity::Medium,
            route.range,
            format!(
                "GET {} ({}) commits a change for the logged-in user: any page can trigger it                  with a link or an image, and CSRF protection does not check GET; make it a                  POST from a form with a CSRF token",
                route.path.as_deref().unwrap_or(""),
                route.func.name
            ),
        ));
    }
}

/// Flask's functions (from `flask` or its submodules) that only build an answer: they change
/// nothing on the server.
const FLASK_ANSWERS: &[&str] = &[
    "render_template",
    "render_template_string",
    "redirect",
    "url_for",
    "flash",
    "abort",
    "jsonify",
    "make_response",
    "get_flashed_messages",
];
/// Other calls that change nothing.
const ANSWERS: &[&str] = &[
    "werkzeug.exceptions.abort",
    "print",
    "str",
    "int",
    "len",
    "dict",
];

fn answers(q: &str) -> bool {
    ANSWERS.contains(&q)
        || (q.starts_with("flask.") || q.starts_with("werkzeug."))
            && FLASK_ANSWERS.contains(&last_segment(q))
}

/// A view that renders a page and whose every other call only builds the answer (a redirect,
/// a message), assigning to no attribute or item: it reads state but changes none.
fn only_answers(
    imports: &crate::python::imports::Imports,
    body: &[Stmt],
    calls: &[&ruff_python_ast::ExprCall],
) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Stores(bool);
    impl<'a> Visitor<'a> for Stores {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            let targets: Vec<&Expr> = match stmt {
                Stmt::Assign(a) => a.targets.iter().collect(),
                Stmt::AugAssign(a) => vec![&a.target],
                Stmt::AnnAssign(a) => vec![&a.target],
                Stmt::Delete(d) => d.targets.iter().collect(),
                _ => Vec::new(),
            };
            if targets
                .iter()
                .any(|t| matches!(t, Expr::Attribute(_) | Expr::Subscript(_)))
            {
                self.0 = true;
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    let mut stores = Stores(false);
    stores.visit_body(body);
    let qualified: Vec<Option<String>> = calls.iter().map(|c| imports.qualified(&c.func)).collect();
    !stores.0
        && qualified.iter().all(|q| q.as_deref().is_some_and(answers))
        && qualified.iter().any(|q| {
            q.as_deref().is_some_and(|q| {
                answers(q)
                    && matches!(
                        last_segment(q),
                        "render_template" | "render_template_string"
                    )
            })
        })
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
