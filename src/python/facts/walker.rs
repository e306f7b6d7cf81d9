//! One walk over a module: the Flask apps it creates, the config writes and loads it makes,
//! the routes it registers, and what it uses (the session, Flask-Login, Flask-WTF).

use super::*;

/// Flask's application class, by its two import paths.
pub(super) const FLASK_CLASSES: &[&str] = &["flask.Flask", "flask.app.Flask"];

/// [`FLASK_CLASSES`] and their last segments, as [`walk_module`] takes them.
pub(super) static FLASK_OWN: LazyLock<(HashSet<String>, HashSet<&'static str>)> =
    LazyLock::new(|| {
        (
            FLASK_CLASSES.iter().map(|c| c.to_string()).collect(),
            FLASK_CLASSES.iter().map(|q| last_segment(q)).collect(),
        )
    });

/// What walking one module finds: feature use, apps, config writes, routes, config loads.
pub(super) type Walked<'m> = (
    Uses,
    Vec<AppObject>,
    Vec<ConfigWrite<'m>>,
    Vec<Route<'m>>,
    Vec<PendingLoad<'m>>,
);

/// Walk module `idx` for apps (calls to one of `flask_classes`, whose last segments are
/// `tails`), config writes, routes and config loads.
pub(super) fn walk_module<'m>(
    idx: usize,
    module: &'m Module,
    imports: &Imports,
    flask_classes: &HashSet<String>,
    tails: &HashSet<&str>,
) -> Walked<'m> {
    let uses = module_uses(module.body(), imports);
    // Calls give the walk apps, config calls and `add_url_rule` routes, by name: a module that
    // makes none of those calls has nothing for the call scan.
    let summary = &module.summary;
    let scan_calls = WALKED_CALLS.iter().any(|n| summary.may_call(n))
        || tails.iter().any(|t| summary.may_call(t))
        || imports
            .renamed()
            .any(|(local, tail)| tails.contains(tail) && summary.may_call(local));
    let mut walker = ModuleWalker {
        module_idx: idx,
        scan_calls,
        other_framework: ModuleWalker::detect_other_framework(imports),
        body: module.body(),
        imports,
        flask_classes,
        flask_class_tails: tails,
        call_buf: Vec::new(),
        functions: Vec::new(),
        class_stack: Vec::new(),
        production: true,
        out_apps: Vec::new(),
        out_writes: Vec::new(),
        out_loads: Vec::new(),
        out_routes: Vec::new(),
    };
    walker.walk_body(module.body());
    (
        uses,
        walker.out_apps,
        walker.out_writes,
        walker.out_routes,
        walker.out_loads,
    )
}

/// The name a call is written with: `f` of `f(...)`, `m` of `x.m(...)`.
pub(in crate::python) fn call_name(call: &ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// What the detectors that walk every function of a module look for: the request (views and
/// the functions they call), the session and Flask-Login (logins), yaml (unsafe loads).
pub(super) const WHOLE_MODULE_READS: &[&str] =
    &["flask.request", "flask.session", "flask_login", "yaml"];

/// What a module uses. A bare `from flask import session` that nothing reads is not session
/// use, so the code is searched, but only in modules that import from flask at all.
pub(super) fn module_uses(body: &[Stmt], imports: &Imports) -> Uses {
    use ruff_python_ast::visitor::{self, Visitor};
    let mut uses = Uses {
        flask_login: imports.imports_from("flask_login"),
        flask_wtf: imports.imports_from("flask_wtf"),
        ..Uses::default()
    };
    if !imports.imports_from("flask")
        || !(imports.may_name("flask.session") || imports.may_name("flask.request.cookies"))
    {
        return uses;
    }
    struct V<'i> {
        imports: &'i Imports,
        /// The local names bound to `flask.session` (compared in place of a lookup per name).
        session_names: Vec<&'i str>,
        session: bool,
        cookies: bool,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.session && self.cookies {
                return;
            }
            match expr {
                Expr::Name(n) if self.session_names.contains(&n.id.as_str()) => {
                    self.session = true;
                }
                Expr::Attribute(a)
                    if a.attr.as_str() == "session" || a.attr.as_str() == "cookies" =>
                {
                    match self.imports.qualified(expr).as_deref() {
                        Some("flask.session") => self.session = true,
                        Some("flask.request.cookies") => self.cookies = true,
                        _ => {}
                    }
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut v = V {
        imports,
        session_names: imports.locals_bound_to("flask.session").collect(),
        session: false,
        cookies: false,
    };
    v.visit_body(body);
    uses.session = v.session;
    uses.cookies = v.cookies;
    uses
}

pub(super) fn is_config_key(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// UPPERCASE `NAME = value` assignments of a class body or module.
pub(in crate::python) fn uppercase_assignments(stmt: &Stmt) -> Vec<(String, &Expr, TextRange)> {
    let mut out = Vec::new();
    match stmt {
        Stmt::Assign(a) => {
            for t in &a.targets {
                if let Expr::Name(n) = t
                    && is_config_key(n.id.as_str())
                {
                    out.push((n.id.to_string(), a.value.as_ref(), a.range));
                }
            }
        }
        Stmt::AnnAssign(a) => {
            if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), a.value.as_deref())
                && is_config_key(n.id.as_str())
            {
                out.push((n.id.to_string(), v, a.range));
            }
        }
        // `if os.environ.get("K"): SECRET_KEY = … else: SECRET_KEY = "…"` sets it in either
        // branch; so does a `try` block.
        Stmt::If(i) => {
            for body in std::iter::once(&i.body).chain(i.elif_else_clauses.iter().map(|c| &c.body))
            {
                out.extend(body.iter().flat_map(uppercase_assignments));
            }
        }
        Stmt::Try(t) => {
            for body in [&t.body, &t.orelse, &t.finalbody] {
                out.extend(body.iter().flat_map(uppercase_assignments));
            }
            for h in &t.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                out.extend(h.body.iter().flat_map(uppercase_assignments));
            }
        }
        _ => {}
    }
    out
}

/// The methods the walk reads calls of: on `app.config`, and `add_url_rule`.
pub(super) const WALKED_CALLS: &[&str] = &[
    "update",
    "from_mapping",
    "setdefault",
    "from_object",
    "from_pyfile",
    "from_envvar",
    "from_prefixed_env",
    "from_file",
    ADD_URL_RULE,
];
pub(super) const ADD_URL_RULE: &str = "add_url_rule";

pub(super) struct PendingLoad<'m> {
    pub(super) module: usize,
    pub(super) kind: LoadKind,
    pub(super) production: bool,
    pub(super) range: TextRange,
    pub(super) arg: Option<&'m Expr>,
    pub(super) param_defaults: Option<HashMap<String, Option<&'m Expr>>>,
    /// The enclosing function's name and its parameters in order.
    pub(super) function: Option<(String, Vec<String>)>,
}

pub(super) struct ModuleWalker<'a, 'm> {
    module_idx: usize,
    /// Whether the module makes any call the walk looks at (see `walk_module`).
    scan_calls: bool,
    /// The module is written for another web framework (see `detect_other_framework`).
    other_framework: bool,
    /// The module's top-level statements, where `add_url_rule` finds its view functions.
    body: &'m [Stmt],
    imports: &'a Imports,
    flask_classes: &'a HashSet<String>,
    /// The last segments of `flask_classes`, to rule out most calls without building names.
    flask_class_tails: &'a HashSet<&'a str>,
    call_buf: Vec<&'m ExprCall>,
    functions: Vec<&'m StmtFunctionDef>,
    class_stack: Vec<&'m StmtClassDef>,
    production: bool,
    out_apps: Vec<AppObject>,
    out_writes: Vec<ConfigWrite<'m>>,
    out_loads: Vec<PendingLoad<'m>>,
    out_routes: Vec<Route<'m>>,
}

impl<'a, 'm> ModuleWalker<'a, 'm> {
    fn walk_body(&mut self, body: &'m [Stmt]) {
        for stmt in body {
            self.walk_stmt(stmt);
        }
    }

    fn with_production<F: FnOnce(&mut Self)>(&mut self, production: bool, f: F) {
        let saved = self.production;
        self.production = saved && production;
        f(self);
        self.production = saved;
    }

    fn walk_stmt(&mut self, stmt: &'m Stmt) {
        match stmt {
            Stmt::FunctionDef(func) => {
                for d in &func.decorator_list {
                    self.scan_exprs(&d.expression);
                }
                self.route_from_decorators(func);
                self.functions.push(func);
                self.walk_body(&func.body);
                self.functions.pop();
            }
            Stmt::ClassDef(class) => {
                self.class_view_routes(class);
                self.class_stack.push(class);
                self.walk_body(&class.body);
                self.class_stack.pop();
            }
            Stmt::If(if_stmt) => {
                self.scan_exprs(&if_stmt.test);
                let (body_prod, else_prod) = branch_environment(&if_stmt.test, self.imports);
                self.with_production(body_prod, |w| w.walk_body(&if_stmt.body));
                for clause in &if_stmt.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.scan_exprs(test);
                        let (p, _) = branch_environment(test, self.imports);
                        self.with_production(else_prod && p, |w| w.walk_body(&clause.body));
                    } else {
                        self.with_production(else_prod, |w| w.walk_body(&clause.body));
                    }
                }
            }
            Stmt::For(s) => {
                self.scan_exprs(&s.iter);
                self.walk_body(&s.body);
                self.walk_body(&s.orelse);
            }
            Stmt::While(s) => {
                self.scan_exprs(&s.test);
                self.walk_body(&s.body);
                self.walk_body(&s.orelse);
            }
            Stmt::With(s) => {
                for item in &s.items {
                    self.scan_exprs(&item.context_expr);
                }
                self.walk_body(&s.body);
            }
            Stmt::Try(s) => {
                self.walk_body(&s.body);
                for h in &s.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    self.walk_body(&h.body);
                }
                self.walk_body(&s.orelse);
                self.walk_body(&s.finalbody);
            }
            Stmt::Match(s) => {
                self.scan_exprs(&s.subject);
                for case in &s.cases {
                    self.walk_body(&case.body);
                }
            }
            Stmt::Assign(a) => {
                self.scan_exprs(&a.value);
                for t in &a.targets {
                    self.config_assignment(t, &a.value, a.range);
                }
                if let Expr::Call(call) = a.value.as_ref()
                    && self.is_flask_call(call)
                {
                    let var = a.targets.first().and_then(dotted);
                    self.push_app(var, call.range());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.scan_exprs(v);
                    self.config_assignment(&a.target, v, a.range);
                    if let Expr::Call(call) = v.as_ref()
                        && self.is_flask_call(call)
                    {
                        self.push_app(dotted(&a.target), call.range());
                    }
                }
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.scan_exprs(v);
                }
            }
            Stmt::Expr(e) => self.scan_exprs(&e.value),
            _ => {}
        }
    }

    fn push_app(&mut self, var: Option<String>, range: TextRange) {
        self.out_apps.push(AppObject {
            module: self.module_idx,
            var,
            factory: self.functions.last().map(|f| f.name.to_string()),
            range,
        });
    }

    fn is_flask_call(&self, call: &ExprCall) -> bool {
        self.imports
            .tail(&call.func)
            .is_some_and(|t| self.flask_class_tails.contains(t))
            && self
                .imports
                .qualified(&call.func)
                .is_some_and(|q| self.flask_classes.contains(&q))
    }

    /// `x.config['K'] = v`, `app.secret_key = v`.
    fn config_assignment(&mut self, target: &'m Expr, value: &'m Expr, range: TextRange) {
        match target {
            Expr::Subscript(sub) if is_config_attr(&sub.value) => {
                if let Some(key) = str_value(&sub.slice) {
                    self.push_write(key, value, range);
                }
            }
            Expr::Attribute(attr) => {
                let key = match attr.attr.id.as_str() {
                    "secret_key" => "SECRET_KEY",
                    "debug" => "DEBUG",
                    "testing" => "TESTING",
                    _ => return,
                };
                let Some(owner) = dotted(&attr.value) else {
                    return;
                };
                if self.class_stack.is_empty() && owner.to_ascii_lowercase().contains("app") {
                    self.push_write(key.to_string(), value, range);
                }
            }
            _ => {}
        }
    }

    fn push_write(&mut self, key: String, value: &'m Expr, range: TextRange) {
        self.out_writes.push(ConfigWrite {
            module: self.module_idx,
            key,
            value,
            range,
            scope: WriteScope::App {
                production: self.production,
            },
        });
    }

    /// Look for config calls (`update`, `from_mapping`, `from_object`…) and app creation
    /// anywhere inside an expression.
    fn scan_exprs(&mut self, expr: &'m Expr) {
        if !self.scan_calls {
            return;
        }
        // One buffer for the whole module: this runs for every statement.
        let mut calls = std::mem::take(&mut self.call_buf);
        calls.clear();
        crate::python::expr::collect_calls(expr, &mut calls);
        for &call in &calls {
            self.config_call(call);
            if method_name(call) == Some(ADD_URL_RULE) {
                self.route_from_add_url_rule(call);
            }
            if self.is_flask_call(call) && !self.out_apps.iter().any(|a| a.range == call.range()) {
                self.push_app(None, call.range());
            }
        }
        self.call_buf = calls;
    }

    fn config_call(&mut self, call: &'m ExprCall) {
        let Some(method) = method_name(call) else {
            return;
        };
        if !WALKED_CALLS.contains(&method) {
            return;
        }
        let Some(recv) = receiver(call) else { return };
        if !is_config_attr(recv) {
            return;
        }
        match method {
            "update" | "from_mapping" | "setdefault" => {
                if method == "setdefault" {
                    if let (Some(k), Some(v)) = (
                        call.arguments.args.first().and_then(str_value),
                        call.arguments.args.get(1),
                    ) {
                        self.push_write(k, v, call.range());
                    }
                    return;
                }
                for kw in &call.arguments.keywords {
                    if let Some(arg) = &kw.arg {
                        self.push_write(arg.id.to_string(), &kw.value, kw.range);
                    }
                }
                for arg in &call.arguments.args {
                    self.mapping_writes(arg);
                }
            }
            "from_object" | "from_pyfile" | "from_envvar" | "from_prefixed_env" | "from_file" => {
                let kind = match method {
                    "from_object" => LoadKind::Object,
                    "from_pyfile" => LoadKind::Pyfile,
                    "from_envvar" => LoadKind::Envvar,
                    "from_prefixed_env" => LoadKind::PrefixedEnv,
                    _ => LoadKind::File,
                };
                // The enclosing function's parameters (their defaults are what a plain
                // `create_app()` uses) and its local `name = value` bindings.
                let param_defaults = self.functions.last().map(|f| {
                    let mut names: HashMap<String, Option<&'m Expr>> = f
                        .parameters
                        .iter_non_variadic_params()
                        .map(|p| (p.parameter.name.to_string(), p.default.as_deref()))
                        .collect();
                    local_bindings(&f.body, &mut names);
                    names
                });
                let function = self.functions.last().map(|f| {
                    (
                        f.name.to_string(),
                        f.parameters
                            .iter_non_variadic_params()
                            .map(|p| p.parameter.name.to_string())
                            .collect(),
                    )
                });
                self.out_loads.push(PendingLoad {
                    module: self.module_idx,
                    kind,
                    production: self.production,
                    range: call.range(),
                    arg: call.arguments.args.first(),
                    param_defaults,
                    function,
                });
            }
            _ => {}
        }
    }

    /// `{'K': v}` and `dict(K=v)` given to `update`/`from_mapping`.
    fn mapping_writes(&mut self, arg: &'m Expr) {
        match arg {
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(k) = item.key.as_ref().and_then(str_value) {
                        let range = TextRange::new(
                            item.key
                                .as_ref()
                                .map(|k| k.start())
                                .unwrap_or(item.value.start()),
                            item.value.end(),
                        );
                        self.push_write(k, &item.value, range);
                    }
                }
            }
            Expr::Call(c) if self.imports.is(&c.func, &["dict"]) => {
                for kw in &c.arguments.keywords {
                    if let Some(a) = &kw.arg {
                        self.push_write(a.id.to_string(), &kw.value, kw.range);
                    }
                }
            }
            _ => {}
        }
    }

    /// A module written for another web framework (FastAPI, Starlette, Sanic…) and not for
    /// Flask: its `@app.post(...)` decorators are not Flask routes.
    fn other_framework(&self) -> bool {
        self.other_framework
    }

    fn detect_other_framework(imports: &Imports) -> bool {
        const OTHERS: &[&str] = &[
            "fastapi",
            "starlette",
            "sanic",
            "litestar",
            "aiohttp",
            "django",
            "tornado",
            "falcon",
            "bottle",
        ];
        OTHERS.iter().any(|m| imports.imports_from(m))
            && !imports.imports_from("flask")
            && !imports.imports_from("quart")
    }

    fn route_from_decorators(&mut self, func: &'m StmtFunctionDef) {
        if self.other_framework() {
            return;
        }
        // Error handlers and request hooks run on requests too: they are walked like views
        // (request data in them is just as dangerous), but change no state of their own.
        let is_handler = func.decorator_list.iter().any(|d| {
            let name = match &d.expression {
                Expr::Call(c) => method_name(c).map(str::to_string),
                Expr::Attribute(a) => Some(a.attr.to_string()),
                _ => None,
            };
            matches!(
                name.as_deref(),
                Some(
                    "errorhandler"
                        | "app_errorhandler"
                        | "before_request"
                        | "before_app_request"
                        | "after_request"
                )
            )
        });
        if is_handler {
            self.out_routes.push(Route {
                module: self.module_idx,
                func,
                class: None,
                path: None,
                methods: vec!["GET".to_string()],
                range: func
                    .decorator_list
                    .first()
                    .map(|d| d.range)
                    .unwrap_or(func.range),
                url_params: Vec::new(),
            });
            return;
        }
        for d in &func.decorator_list {
            let Expr::Call(call) = &d.expression else {
                continue;
            };
            let Some(method) = method_name(call) else {
                continue;
            };
            let methods: Vec<String> = match method {
                "route" => route_methods(call).unwrap_or_else(|| vec!["GET".to_string()]),
                "get" | "post" | "put" | "patch" | "delete" => vec![method.to_ascii_uppercase()],
                _ => continue,
            };
            let Some(path) = call.arguments.args.first().and_then(str_value) else {
                continue;
            };
            if !path.starts_with('/') && method != "route" {
                continue;
            }
            self.out_routes.push(Route {
                module: self.module_idx,
                func,
                class: None,
                url_params: url_params(&path),
                path: Some(path),
                methods,
                range: d.range,
            });
        }
        // `app.add_url_rule('/x', view_func=func, methods=[...])` is handled where the call is
        // seen (below), by name.
    }

    /// `app.add_url_rule('/path', 'endpoint', view, methods=[...])` with a function of this
    /// module as the view.
    fn route_from_add_url_rule(&mut self, call: &'m ExprCall) {
        let Some(path) = call
            .arguments
            .find_argument_value("rule", 0)
            .and_then(str_value)
        else {
            return;
        };
        let Some(Expr::Name(view)) = call.arguments.find_argument_value("view_func", 2) else {
            return;
        };
        let func = self.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if f.name.as_str() == view.id.as_str() => Some(f),
            _ => None,
        });
        let Some(func) = func else { return };
        self.out_routes.push(Route {
            module: self.module_idx,
            func,
            class: None,
            url_params: url_params(&path),
            path: Some(path),
            methods: route_methods(call).unwrap_or_else(|| vec!["GET".to_string()]),
            range: call.range(),
        });
    }

    fn class_view_routes(&mut self, class: &'m StmtClassDef) {
        let is_view = class.bases().iter().any(|b| {
            self.imports
                .qualified(b)
                .is_some_and(|q| matches!(last_segment(&q), "MethodView" | "View" | "Resource"))
        });
        if !is_view || self.other_framework() {
            return;
        }
        for stmt in &class.body {
            let Stmt::FunctionDef(func) = stmt else {
                continue;
            };
            let name = func.name.as_str();
            if !matches!(
                name,
                "get" | "post" | "put" | "patch" | "delete" | "dispatch_request"
            ) {
                continue;
            }
            let methods = if name == "dispatch_request" {
                vec!["GET".to_string()]
            } else {
                vec![name.to_ascii_uppercase()]
            };
            self.out_routes.push(Route {
                module: self.module_idx,
                func,
                class: Some(class.name.to_string()),
                path: None,
                methods,
                range: TextRange::new(func.start(), func.name.end()),
                url_params: Vec::new(),
            });
        }
    }
}

/// `methods=['GET', 'POST']` of a `route` call.
pub(super) fn route_methods(call: &ExprCall) -> Option<Vec<String>> {
    let kw = call.arguments.find_keyword("methods")?;
    let elts = match &kw.value {
        Expr::List(l) => &l.elts,
        Expr::Tuple(t) => &t.elts,
        Expr::Set(s) => &s.elts,
        _ => return Some(vec!["GET".into(), "POST".into()]),
    };
    Some(
        elts.iter()
            .filter_map(str_value)
            .map(|m| m.to_ascii_uppercase())
            .collect(),
    )
}

/// `<int:id>` → ("id", Some("int")); `<name>` → ("name", None).
pub fn url_params(path: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let inner = &after[..end];
        match inner.split_once(':') {
            Some((conv, name)) => {
                let conv = conv.split('(').next().unwrap_or(conv);
                out.push((name.trim().to_string(), Some(conv.trim().to_string())));
            }
            None => out.push((inner.trim().to_string(), None)),
        }
        rest = &after[end + 1..];
    }
    out
}

/// Whether the body and the else branch of an `if` run in production. `if app.debug:`,
/// `if config_name == 'development':` and `if test_config:` guard development-only code;
/// `if test_config is None:` guards production code.
pub(super) fn branch_environment(test: &Expr, imports: &Imports) -> (bool, bool) {
    match dev_condition(test, imports) {
        Some(true) => (false, true),
        Some(false) => (true, false),
        None => (true, true),
    }
}

/// Some(true) when the condition holds only in development or testing, Some(false) when it
/// holds only outside them, None when it says nothing about the environment.
pub(super) fn dev_condition(test: &Expr, imports: &Imports) -> Option<bool> {
    match test {
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => dev_condition(&u.operand, imports).map(|b| !b),
        Expr::Compare(c) if c.ops.len() == 1 => {
            let right = &c.comparators[0];
            let negated = matches!(c.ops[0], CmpOp::NotEq | CmpOp::IsNot | CmpOp::NotIn);
            if matches!(right, Expr::NoneLiteral(_)) {
                // `test_config is None` holds when there is no test config.
                return mentions_dev(&c.left).then_some(negated);
            }
            if let Some(s) = str_value(right).or_else(|| str_value(&c.left)) {
                return match env_kind(&s) {
                    EnvKind::Development => Some(!negated),
                    EnvKind::Production => Some(negated),
                    // `os.environ.get("FLASK_DEBUG") == "1"`
                    EnvKind::Other if mentions_dev(&c.left) => {
                        match s.to_ascii_lowercase().as_str() {
                            "1" | "true" | "yes" | "on" => Some(!negated),
                            "0" | "false" | "no" | "off" | "" => Some(negated),
                            _ => None,
                        }
                    }
                    EnvKind::Other => None,
                };
            }
            None
        }
        Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_) | Expr::Call(_) => {
            let _ = imports;
            mentions_dev(test).then_some(true)
        }
        _ => None,
    }
}

pub(super) fn mentions_dev(expr: &Expr) -> bool {
    // A string names its last dotted segment too (`"app.debug"`); names are looked at in
    // place, as this runs for most `if` tests of every module.
    let literal = match expr {
        Expr::Subscript(s) => str_value(&s.slice),
        Expr::Call(c) => c.arguments.args.first().and_then(str_value),
        _ => None,
    };
    let last = match &literal {
        Some(t) => t.rsplit('.').next(),
        None => match expr {
            Expr::Subscript(s) => dotted_last(&s.value),
            Expr::Call(c) => dotted_last(&c.func),
            other => dotted_last(other),
        },
    };
    last.is_some_and(|last| {
        let has = |word: &str| {
            last.as_bytes()
                .windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
        };
        has("debug")
            || has("test")
            || last.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("dev"))
            || has("development")
    })
}
