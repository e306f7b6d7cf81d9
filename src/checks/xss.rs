//! xss: templates and code that bypass Jinja's autoescaping.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Operator, Stmt};

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::Module;
use crate::python::expr::{calls_in_expr, formatted_part, is_constant, literal_truth, method_name};
use crate::python::facts::Facts;
use crate::python::imports::Imports;
use crate::python::taint::{Event, Sink, sanitises, view_flow, walk_function};

pub(crate) const MARKUP: &[&str] = &[
    "markupsafe.Markup",
    "flask.Markup",
    "jinja2.Markup",
    "jinja2.utils.Markup",
];
pub(crate) const JINJA_ENVIRONMENT: &[&str] =
    &["jinja2.Environment", "jinja2.environment.Environment"];
const RENDER_STRING: &[&str] = &[
    "flask.render_template_string",
    "flask.templating.render_template_string",
];

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() && facts.templates.is_empty() {
        return no_flask_app();
    }
    let mut findings = Vec::new();
    let mut stored = StoredAttributes::new(facts);
    for t in &facts.templates {
        for u in t.safe_uses() {
            // `post.body_html|safe` where the code only ever stores sanitiser output there.
            if let Some(attr) = attribute_of(&u.expr)
                && stored.always_sanitised(attr)
            {
                continue;
            }
            findings.push(t.finding(
                "xss/safe-filter",
                Severity::Medium,
                u.range,
                format!(
                    "`{}|safe` renders the value as raw HTML; if users can influence it this is \
                     stored XSS: drop |safe, or sanitize with nh3 in a |sanitize filter",
                    u.expr
                ),
            ));
        }
        for u in t.safe_columns() {
            findings.push(t.finding(
                "xss/safe-columns",
                Severity::Medium,
                u.range,
                format!(
                    "`{}` renders those columns as raw HTML (Bootstrap-Flask marks them |safe); \
                     if users write them this is stored XSS: leave them out of safe_columns, or \
                     sanitize the values with nh3 when they are stored",
                    u.expr
                ),
            ));
        }
        for r in t.autoescape_off() {
            findings.push(t.finding(
                "xss/autoescape-off",
                Severity::Medium,
                r,
                "{% autoescape false %} renders every variable in the block as raw HTML; remove \
                 the block and mark only sanitized values",
            ));
        }
    }
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        let imports = &facts.imports[idx];
        let sinks = facts.calls_to(idx, MARKUP);
        for call in sinks
            .into_iter()
            .chain(facts.calls_to(idx, JINJA_ENVIRONMENT))
        {
            code_sink(imports, module, call, &mut findings);
        }
        let mut assignments = AutoescapeAssignments::default();
        // `x.jinja_env.autoescape = ...` needs the attribute's name in the text.
        if module.source.text.contains("jinja_env") {
            assignments.visit_body(module.body());
        }
        for (value, range) in assignments.found {
            if literal_truth(value) == Some(false) {
                findings.push(module.finding(
                    "xss/autoescape-off",
                    Severity::Medium,
                    range,
                    "autoescaping is switched off for the app's templates; remove this line",
                ));
            }
        }
    }
    view_findings(facts, &mut findings);
    CheckOutcome::findings(findings)
}

/// The last attribute of a plain dotted value (`post.body_html`), the kind of value a model
/// column holds.
fn attribute_of(expr: &str) -> Option<&str> {
    let expr = expr.trim();
    let (_, attr) = expr.rsplit_once('.')?;
    let plain = expr
        .split('.')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    plain.then_some(attr)
}

/// What the project's code stores in an attribute (`x.attr = value`, `Model(attr=value)`):
/// what a model column is given before a template shows it. Worked out per attribute, in the
/// modules whose text names it.
struct StoredAttributes<'a, 'm> {
    facts: &'a Facts<'m>,
    verdicts: std::collections::HashMap<String, bool>,
}

impl<'a, 'm> StoredAttributes<'a, 'm> {
    fn new(facts: &'a Facts<'m>) -> Self {
        Self {
            facts,
            verdicts: Default::default(),
        }
    }

    /// The code stores something in `attr`, and every value it stores is an HTML sanitiser's
    /// output (`bleach.clean(...)`, `nh3.clean(...)`, `escape(...)`, or `bleach.linkify` of
    /// one).
    fn always_sanitised(&mut self, attr: &str) -> bool {
        if let Some(v) = self.verdicts.get(attr) {
            return *v;
        }
        struct Stores<'s, 'm> {
            attr: &'s str,
            out: Vec<&'m Expr>,
        }
        impl<'m> Visitor<'m> for Stores<'_, 'm> {
            fn visit_stmt(&mut self, stmt: &'m Stmt) {
                if let Stmt::Assign(a) = stmt {
                    for t in &a.targets {
                        if matches!(t, Expr::Attribute(x) if x.attr.as_str() == self.attr) {
                            self.out.push(&a.value);
                        }
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            // `Post(body_html=...)`: a model built with the value.
            fn visit_expr(&mut self, expr: &'m Expr) {
                if let Expr::Call(call) = expr {
                    for k in &call.arguments.keywords {
                        if k.arg.as_ref().is_some_and(|a| a.as_str() == self.attr) {
                            self.out.push(&k.value);
                        }
                    }
                }
                visitor::walk_expr(self, expr);
            }
        }
        let facts = self.facts;
        let mut any = false;
        let mut all = true;
        for (idx, module) in facts.modules.iter().enumerate() {
            if module.is_test || !module.source.text.contains(attr) {
                continue;
            }
            let mut v = Stores {
                attr,
                out: Vec::new(),
            };
            v.visit_body(module.body());
            any |= !v.out.is_empty();
            all &= v.out.iter().all(|e| sanitised(facts.imports[idx], e));
            if !all {
                break;
            }
        }
        let verdict = any && all;
        self.verdicts.insert(attr.to_string(), verdict);
        verdict
    }
}

/// A call to an HTML sanitiser, or `bleach.linkify` of one.
fn sanitised(imports: &Imports, value: &Expr) -> bool {
    let Expr::Call(call) = value else {
        return false;
    };
    let Some(callee) = imports.qualified(&call.func) else {
        return false;
    };
    sanitises(&callee, Sink::Html)
        || callee == "bleach.linkify"
            && call
                .arguments
                .args
                .first()
                .is_some_and(|a| sanitised(imports, a))
}

/// `Markup(variable)` and `jinja2.Environment(...)` without autoescape, anywhere.
fn code_sink(imports: &Imports, module: &Module, call: &ExprCall, out: &mut Vec<Finding>) {
    // Most calls are neither: compare names in place before anything else.
    if imports.is(&call.func, MARKUP) {
        let Some(arg) = call.arguments.args.first() else {
            return;
        };
        if is_constant(arg) || is_escaping_call(imports, arg) {
            return;
        }
        out.push(module.finding(
            "xss/markup",
            Severity::Medium,
            call.range(),
            "Markup() marks this value as safe HTML, so Jinja will not escape it; use \
             markupsafe.escape(), or sanitize user HTML with nh3 first",
        ));
    } else if imports.is(&call.func, JINJA_ENVIRONMENT) {
        // Without the keyword, autoescape is off; that matters where the environment renders
        // HTML (a config file or an email body in plain text is fine).
        let renders_html =
            module.source.text.contains(".html") || module.source.text.contains(".htm\"");
        let autoescape = call.arguments.find_keyword("autoescape");
        let off = match autoescape {
            None => renders_html,
            Some(k) => literal_truth(&k.value) == Some(false),
        };
        if off {
            out.push(module.finding(
                "xss/autoescape-off",
                Severity::Medium,
                call.range(),
                "a jinja2 Environment escapes nothing unless autoescape is set; pass \
                 autoescape=select_autoescape() or autoescape=True",
            ));
        }
    }
}

fn is_escaping_call(imports: &Imports, expr: &Expr) -> bool {
    let Expr::Call(c) = expr else { return false };
    imports.qualified(&c.func).is_some_and(|q| {
        matches!(
            q.rsplit('.').next(),
            Some("escape" | "render_template" | "clean" | "sanitize" | "Markup")
        )
    })
}

/// Views that render request data as a template, or return HTML built from it.
fn view_findings(facts: &Facts, out: &mut Vec<Finding>) {
    for route in &facts.routes {
        let module = facts.module(route.module);
        if module.is_test {
            continue;
        }
        let imports = &facts.imports[route.module];
        let html_names = html_built_names(&route.func.body);
        let mut formatted = std::collections::HashMap::new();
        formatted_names(&route.func.body, &mut formatted);
        let mut flow = view_flow(imports, &route.url_params);
        walk_function(route.func, &mut flow, &mut |event, flow| {
            let expr = match event {
                Event::Expr(e) | Event::Return(e) => e,
            };
            for call in calls_in_expr(expr) {
                if imports.is(&call.func, RENDER_STRING)
                    && let Some(arg) = call.arguments.args.first()
                    && let Some(src) = flow.source_of(arg, Sink::Code)
                {
                    out.push(module.finding(
                        "xss/render-template-string",
                        Severity::High,
                        call.range(),
                        format!(
                            "render_template_string() compiles a template built from {src}: \
                             that is server-side template injection (code execution) and XSS; \
                             keep the template constant and pass the value as a variable"
                        ),
                    ));
                } else if imports.is(&call.func, RENDER_STRING)
                    && let Some(arg) = call.arguments.args.first()
                    && let Some(what) = formatted_from(facts, route.module, arg, &formatted)
                {
                    out.push(module.finding(
                        "xss/render-template-string",
                        Severity::High,
                        call.range(),
                        format!(
                            "render_template_string() compiles a template formatted from {what}, \
                             which is not constant: whatever that value holds (an error message \
                             quoting the input, a stored value) is run as template code, which \
                             is server-side template injection and XSS; keep the template \
                             constant and pass the value as a variable"
                        ),
                    ));
                }
            }
            if let Event::Return(ret) = event {
                let body = response_body(imports, ret);
                let html = builds_html(body)
                    || matches!(body, Expr::Name(n) if html_names.contains(n.id.as_str()));
                if html && let Some(src) = flow.source_of(body, Sink::Html) {
                    out.push(module.finding(
                        "xss/html-from-request",
                        Severity::High,
                        ret.range(),
                        format!(
                            "the view returns HTML with {src} formatted into it, unescaped: \
                             render a template with the value as a variable, or wrap it in \
                             markupsafe.escape()"
                        ),
                    ));
                }
            }
        });
    }
}

use ruff_text_size::Ranged;

/// The body of `make_response(body, ...)` / `Response(body)`, or the value itself.
fn response_body<'e>(imports: &Imports, expr: &'e Expr) -> &'e Expr {
    match expr {
        Expr::Call(c)
            if imports.qualified(&c.func).is_some_and(|q| {
                matches!(
                    q.as_str(),
                    "flask.make_response"
                        | "flask.Response"
                        | "werkzeug.Response"
                        | "werkzeug.wrappers.Response"
                )
            }) =>
        {
            c.arguments.args.first().unwrap_or(expr)
        }
        Expr::Tuple(t) => t.elts.first().unwrap_or(expr),
        _ => expr,
    }
}

/// Local names assigned an HTML-building expression (`body = "<p>{}</p>".format(q)`).
fn html_built_names(body: &[Stmt]) -> std::collections::HashSet<&str> {
    let mut names = std::collections::HashSet::new();
    for stmt in body {
        match stmt {
            Stmt::Assign(a) if builds_html(&a.value) => {
                names.extend(a.targets.iter().filter_map(|t| match t {
                    Expr::Name(n) => Some(n.id.as_str()),
                    _ => None,
                }));
            }
            Stmt::AugAssign(a)
                if builds_html(&a.value)
                    || matches!(a.value.as_ref(), Expr::StringLiteral(s) if s.value.to_str().contains('<')) =>
            {
                if let Expr::Name(n) = a.target.as_ref() {
                    names.insert(n.id.as_str());
                }
            }
            Stmt::If(s) => {
                names.extend(html_built_names(&s.body));
                for c in &s.elif_else_clauses {
                    names.extend(html_built_names(&c.body));
                }
            }
            Stmt::For(s) => names.extend(html_built_names(&s.body)),
            Stmt::With(s) => names.extend(html_built_names(&s.body)),
            Stmt::Try(s) => names.extend(html_built_names(&s.body)),
            _ => {}
        }
    }
    names
}

/// Local names assigned a string formatted with something not constant, anywhere in the body
/// (`template = '<h3>%s</h3>' % str(e)` in an `except` clause too).
fn formatted_names<'m>(body: &'m [Stmt], out: &mut std::collections::HashMap<&'m str, &'m Expr>) {
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        out.insert(n.id.as_str(), &a.value);
                    }
                }
            }
            Stmt::If(s) => {
                formatted_names(&s.body, out);
                for c in &s.elif_else_clauses {
                    formatted_names(&c.body, out);
                }
            }
            Stmt::For(s) => formatted_names(&s.body, out),
            Stmt::While(s) => formatted_names(&s.body, out),
            Stmt::With(s) => formatted_names(&s.body, out),
            Stmt::Try(s) => {
                formatted_names(&s.body, out);
                for h in &s.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    formatted_names(&h.body, out);
                }
                formatted_names(&s.orelse, out);
                formatted_names(&s.finalbody, out);
            }
            _ => {}
        }
    }
}

/// A template string formatted (`%`, `+`, an f-string, `.format()`) with a value that is not
/// a constant: what that value is, as written (`str(e)`).
fn formatted_from<'m>(
    facts: &Facts<'m>,
    module: usize,
    arg: &'m Expr,
    names: &std::collections::HashMap<&'m str, &'m Expr>,
) -> Option<String> {
    let constant = |e: &'m Expr| is_constant(facts.resolve_const(module, e));
    let shown = |e: &Expr| {
        let text = &facts.module(module).source.text;
        let r = ruff_text_size::Ranged::range(e);
        let s = text
            .get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or("a value");
        let s: String = s.chars().take(40).collect();
        format!("`{s}`")
    };
    let expr = match arg {
        Expr::Name(n) => *names.get(n.id.as_str())?,
        e => e,
    };
    formatted_part(expr, |e| !constant(e)).map(shown)
}

/// A string built by formatting whose literal parts contain markup.
fn builds_html(expr: &Expr) -> bool {
    fn literal_has_tag(e: &Expr) -> bool {
        match e {
            Expr::StringLiteral(s) => s.value.to_str().contains('<'),
            Expr::FString(f) => f.value.elements().any(|el| match el {
                ruff_python_ast::InterpolatedStringElement::Literal(l) => l.value.contains('<'),
                ruff_python_ast::InterpolatedStringElement::Interpolation(_) => false,
            }),
            Expr::BinOp(b) => literal_has_tag(&b.left) || literal_has_tag(&b.right),
            _ => false,
        }
    }
    match expr {
        Expr::FString(_) => literal_has_tag(expr),
        Expr::BinOp(b) if matches!(b.op, Operator::Mod | Operator::Add) => literal_has_tag(expr),
        Expr::Call(c) if method_name(c) == Some("format") => {
            matches!(c.func.as_ref(), Expr::Attribute(a) if literal_has_tag(&a.value))
        }
        _ => false,
    }
}

/// `*.jinja_env.autoescape = value` assignments.
#[derive(Default)]
struct AutoescapeAssignments<'m> {
    found: Vec<(&'m Expr, ruff_text_size::TextRange)>,
}

impl<'m> Visitor<'m> for AutoescapeAssignments<'m> {
    fn visit_stmt(&mut self, stmt: &'m Stmt) {
        if let Stmt::Assign(a) = stmt {
            for t in &a.targets {
                if let Expr::Attribute(attr) = t
                    && attr.attr.id.as_str() == "autoescape"
                    && matches!(attr.value.as_ref(), Expr::Attribute(j) if j.attr.id.as_str() == "jinja_env")
                {
                    self.found.push((&a.value, a.range));
                }
            }
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, _expr: &'m Expr) {}
}
