//! Values derived from the request inside a view: where they come from and where they go.
//!
//! The walk goes through a view's statements in order, keeping the names that hold request
//! data. Each expression a statement evaluates is handed to the caller together with the state
//! at that point, so a detector asks "is this argument request data, and from where?".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use ruff_python_ast::{Expr, ExprCall, InterpolatedStringElement, Stmt, StmtFunctionDef};

use super::Module;
use super::expr::{dotted, last_segment, method_name, receiver};
use super::imports::Imports;
use super::request_sources::{self, FORM_MARK};

/// Attributes of `flask.request` that carry what the client sent.
pub const REQUEST_SOURCES: &[&str] = &[
    "args",
    "form",
    "values",
    "json",
    "get_json",
    "data",
    "get_data",
    "cookies",
    "headers",
    "files",
    "view_args",
    "stream",
    "query_string",
    "url",
    "full_path",
    "path",
    "referrer",
];

/// What a value flows into; sanitisers differ by sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Html,
    Sql,
    Path,
    Shell,
    Url,
    Code,
    Any,
}

impl Sink {
    /// The sinks a sanitiser can be specific to.
    const SPECIFIC: [Sink; 4] = [Sink::Html, Sink::Path, Sink::Shell, Sink::Url];

    fn bit(self) -> u8 {
        match self {
            Sink::Html => 1,
            Sink::Path => 2,
            Sink::Shell => 4,
            Sink::Url => 8,
            Sink::Sql | Sink::Code | Sink::Any => 0,
        }
    }
}

/// Request data held by a name: where it came from, and the sinks it was sanitised for
/// (`name = secure_filename(f.filename)` still holds request data, but not for a path).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    source: String,
    clean_for: u8,
}

/// Calls whose result carries no request data, whatever they are given.
const CASTS: &[&str] = &[
    "int",
    "float",
    "bool",
    "len",
    "abs",
    "round",
    "hash",
    "isinstance",
    "uuid.UUID",
    "UUID",
    "decimal.Decimal",
    "datetime.date.fromisoformat",
    "datetime.datetime.fromisoformat",
];

/// Functions whose result carries the request data of their arguments.
const PASS_THROUGH: &[&str] = &[
    "str",
    "format",
    "dict",
    "list",
    "tuple",
    "set",
    "sorted",
    "reversed",
    "bytes",
    "json.loads",
    "pathlib.Path",
    "pathlib.PurePath",
    "Path",
    "os.path.join",
    "os.path.normpath",
    "os.path.abspath",
    "os.path.realpath",
    "os.path.expanduser",
    "posixpath.join",
    "os.fspath",
    "urllib.parse.unquote",
    "urllib.parse.unquote_plus",
    "urllib.parse.urljoin",
    "html.unescape",
    "base64.b64decode",
    "base64.urlsafe_b64decode",
    "codecs.decode",
];

/// Whether a call to `callee` makes a value safe for `sink`.
pub fn sanitises(callee: &str, sink: Sink) -> bool {
    if CASTS.contains(&callee) {
        return true;
    }
    let last = last_segment(callee);
    match sink {
        Sink::Html => {
            matches!(
                callee,
                "markupsafe.escape"
                    | "flask.escape"
                    | "html.escape"
                    | "jinja2.escape"
                    | "nh3.clean"
                    | "bleach.clean"
                    | "werkzeug.utils.escape"
                    | "escape"
                    | "markupsafe.Markup.escape"
            ) || last == "render_template"
        }
        Sink::Path => matches!(
            callee,
            "werkzeug.utils.secure_filename"
                | "secure_filename"
                | "werkzeug.security.safe_join"
                | "flask.safe_join"
                | "safe_join"
                | "os.path.basename"
        ),
        Sink::Shell => matches!(callee, "shlex.quote" | "pipes.quote" | "quote"),
        Sink::Url => matches!(callee, "url_for" | "flask.url_for"),
        Sink::Sql | Sink::Code | Sink::Any => false,
    }
}

/// The flow state at a point of a view: which local names hold request data.
#[derive(Clone)]
pub struct RequestFlow<'a> {
    imports: &'a Imports,
    /// Local names (and dotted paths such as `self.path`) holding request data, with the
    /// source each came from (or [`FORM_MARK`] for a form instance).
    names: HashMap<String, Held>,
    callees: Option<&'a dyn Callees>,
}

impl std::fmt::Debug for RequestFlow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFlow")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// What the flow knows about the project's own functions: which arguments of a call reach the
/// called function's return value.
pub trait Callees {
    /// The arguments of `call` whose data the called project function returns, or None when
    /// `call` does not call a project function the summary knows.
    fn returned_args<'e>(&self, imports: &Imports, call: &'e ExprCall) -> Option<Vec<&'e Expr>>;

    /// Whether `call` creates a WTForms form (a project class deriving from one).
    fn creates_form(&self, _imports: &Imports, _call: &ExprCall) -> bool {
        false
    }
}

impl<'a> RequestFlow<'a> {
    pub fn new(imports: &'a Imports) -> Self {
        Self {
            imports,
            names: HashMap::new(),
            callees: None,
        }
    }

    /// Let calls of the project's functions carry request data through to their results.
    pub fn with_callees(mut self, callees: &'a dyn Callees) -> Self {
        self.callees = Some(callees);
        self
    }

    pub fn imports(&self) -> &'a Imports {
        self.imports
    }

    /// Seed a name as request data (a URL parameter, a parameter fed by a caller).
    pub fn taint(&mut self, name: &str, source: impl Into<String>) {
        self.names.insert(
            name.to_string(),
            Held {
                source: source.into(),
                clean_for: 0,
            },
        );
    }

    pub fn is_tainted_name(&self, name: &str) -> bool {
        self.names
            .get(name)
            .is_some_and(|h| !h.source.starts_with(FORM_MARK))
    }

    /// Where the request data in `expr` comes from (`request.args`, `URL parameter id`),
    /// or None when `expr` carries none that reaches `sink` unsanitised.
    pub fn source_of(&self, expr: &Expr, sink: Sink) -> Option<String> {
        self.binding_of(expr, sink)
            .filter(|s| !s.starts_with(FORM_MARK))
    }

    /// What binding `expr` to a name makes the name hold: its request data, or the mark of a
    /// form instance (whose fields' `.data` are request data).
    pub fn binding_of(&self, expr: &Expr, sink: Sink) -> Option<String> {
        match expr {
            Expr::Name(n) => self.held(n.id.as_str(), sink),
            Expr::Attribute(a) => {
                if let Some(src) = self.request_attr(expr) {
                    return Some(src);
                }
                let is_form = |e: &Expr| {
                    dotted(e)
                        .and_then(|d| self.names.get(&d))
                        .is_some_and(|h| h.source.starts_with(FORM_MARK))
                };
                if let Some(src) = request_sources::form_field_read(expr, &is_form) {
                    return Some(src);
                }
                if let Some(src) = request_sources::framework_attr_source(self.imports, expr) {
                    return Some(src);
                }
                if let Some(d) = dotted(expr)
                    && self.names.contains_key(&d)
                {
                    return self.held(&d, sink);
                }
                self.binding_of(&a.value, sink)
            }
            Expr::Await(a) => self.source_of(&a.value, sink),
            Expr::Subscript(s) => self.source_of(&s.value, sink),
            Expr::Call(call) => self.call_source(call, sink),
            Expr::BinOp(b) => self
                .source_of(&b.left, sink)
                .or_else(|| self.source_of(&b.right, sink)),
            Expr::BoolOp(b) => b.values.iter().find_map(|v| self.source_of(v, sink)),
            Expr::If(i) => self
                .source_of(&i.body, sink)
                .or_else(|| self.source_of(&i.orelse, sink)),
            Expr::FString(f) => f.value.elements().find_map(|e| match e {
                InterpolatedStringElement::Interpolation(i) => self.source_of(&i.expression, sink),
                InterpolatedStringElement::Literal(_) => None,
            }),
            Expr::List(l) => l.elts.iter().find_map(|e| self.source_of(e, sink)),
            Expr::Tuple(t) => t.elts.iter().find_map(|e| self.source_of(e, sink)),
            Expr::Set(s) => s.elts.iter().find_map(|e| self.source_of(e, sink)),
            Expr::Dict(d) => d.items.iter().find_map(|i| self.source_of(&i.value, sink)),
            Expr::Starred(s) => self.source_of(&s.value, sink),
            Expr::Named(n) => self.source_of(&n.value, sink),
            Expr::ListComp(c) => self.source_of(&c.elt, sink).or_else(|| {
                c.generators
                    .iter()
                    .find_map(|g| self.source_of(&g.iter, sink))
            }),
            Expr::Generator(c) => self.source_of(&c.elt, sink).or_else(|| {
                c.generators
                    .iter()
                    .find_map(|g| self.source_of(&g.iter, sink))
            }),
            _ => None,
        }
    }

    /// `request.args`, `request.form['x']`'s base, `request.get_json`.
    fn request_attr(&self, expr: &Expr) -> Option<String> {
        if !self.imports.root_imported(expr) {
            return None;
        }
        let q = self.imports.qualified(expr)?;
        let rest = q.strip_prefix("flask.request.")?;
        let attr = rest.split('.').next()?;
        REQUEST_SOURCES
            .contains(&attr)
            .then(|| format!("request.{attr}"))
    }

    /// The request data a name holds, unless it was sanitised for `sink`.
    fn held(&self, name: &str, sink: Sink) -> Option<String> {
        let h = self.names.get(name)?;
        (h.clean_for & sink.bit() == 0).then(|| h.source.clone())
    }

    fn call_source(&self, call: &ExprCall, sink: Sink) -> Option<String> {
        let callee = self.imports.qualified(&call.func).unwrap_or_default();
        if sanitises(&callee, sink) {
            return None;
        }
        if let Some(src) = request_sources::framework_call_source(self.imports, call) {
            return Some(src);
        }
        if let Some(callees) = self.callees
            && callees.creates_form(self.imports, call)
        {
            return Some(format!("{FORM_MARK}{}", callee));
        }
        // `request.args.get('n', type=int)` converts before it returns.
        if call.arguments.find_keyword("type").is_some_and(|k| {
            self.imports
                .qualified(&k.value)
                .is_some_and(|q| CASTS.contains(&q.as_str()))
        }) {
            return None;
        }
        if let Some(src) = self.request_attr(&call.func) {
            return Some(if src.ends_with("get_json") || src.ends_with("get_data") {
                format!("{src}()")
            } else {
                src
            });
        }
        if PASS_THROUGH.contains(&callee.as_str()) {
            return self.args_source(call, sink);
        }
        if let Some(recv) = receiver(call) {
            // A method of request data returns request data (`.strip()`, `.get('k')`); a
            // method of a literal passes on its arguments (`", ".join(x)`, `"{}".format(x)`).
            if let Some(src) = self.source_of(recv, sink) {
                return Some(src);
            }
            if matches!(
                method_name(call),
                Some("join" | "format" | "format_map" | "replace")
            ) {
                return self.args_source(call, sink);
            }
        }
        let returned = self.callees?.returned_args(self.imports, call)?;
        returned.into_iter().find_map(|a| self.source_of(a, sink))
    }

    fn args_source(&self, call: &ExprCall, sink: Sink) -> Option<String> {
        call.arguments
            .args
            .iter()
            .find_map(|a| self.source_of(a, sink))
            .or_else(|| {
                call.arguments
                    .keywords
                    .iter()
                    .find_map(|k| self.source_of(&k.value, sink))
            })
    }

    /// What a name bound to `value` holds: its source, and the sinks it is clean for.
    fn held_value(&self, value: &Expr) -> Option<Held> {
        let source = self.binding_of(value, Sink::Any)?;
        let mut clean_for = 0;
        if !source.starts_with(FORM_MARK) {
            for sink in Sink::SPECIFIC {
                if self.source_of(value, sink).is_none() {
                    clean_for |= sink.bit();
                }
            }
        }
        Some(Held { source, clean_for })
    }

    /// Bind `target` to `value`'s taint. Inside a branch an assignment only adds taint (the
    /// other branch may have kept it); at the top level it replaces it.
    fn assign(&mut self, target: &Expr, source: Option<String>, strong: bool) {
        self.assign_held(
            target,
            source.map(|source| Held {
                source,
                clean_for: 0,
            }),
            strong,
        );
    }

    fn assign_held(&mut self, target: &Expr, source: Option<Held>, strong: bool) {
        match target {
            Expr::Name(n) => self.bind(n.id.to_string(), source, strong),
            Expr::Attribute(_) => {
                if let Some(d) = dotted(target) {
                    self.bind(d, source, strong);
                }
            }
            // `d['k'] = value` puts request data into the container; it never cleans it.
            Expr::Subscript(s) if source.is_some() => self.assign_held(&s.value, source, false),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .for_each(|e| self.assign_held(e, source.clone(), strong)),
            Expr::List(l) => l
                .elts
                .iter()
                .for_each(|e| self.assign_held(e, source.clone(), strong)),
            Expr::Starred(s) => self.assign_held(&s.value, source, strong),
            _ => {}
        }
    }

    fn bind(&mut self, name: String, source: Option<Held>, strong: bool) {
        match source {
            Some(s) => {
                self.names.insert(name, s);
            }
            None if strong => {
                self.names.remove(&name);
            }
            None => {}
        }
    }

    /// `a, b = x, y` binds element by element; any other value taints every target.
    fn assign_value(&mut self, target: &Expr, value: &Expr, strong: bool) {
        let pairs = match (target, value) {
            (Expr::Tuple(t), Expr::Tuple(v)) => Some((&t.elts, &v.elts)),
            (Expr::List(t), Expr::List(v)) => Some((&t.elts, &v.elts)),
            (Expr::Tuple(t), Expr::List(v)) => Some((&t.elts, &v.elts)),
            (Expr::List(t), Expr::Tuple(v)) => Some((&t.elts, &v.elts)),
            _ => None,
        };
        if let Some((targets, values)) = pairs
            && targets.len() == values.len()
            && !targets.iter().any(|t| matches!(t, Expr::Starred(_)))
        {
            for (t, v) in targets.iter().zip(values.iter()) {
                self.assign_value(t, v, strong);
            }
            return;
        }
        let held = self.held_value(value);
        self.assign_held(target, held, strong);
    }

    /// Bind the targets of the assignment expressions (`(q := request.args.get('q'))`) that
    /// `expr` evaluates; they bind in the enclosing function, as statements do.
    fn bind_named(&mut self, expr: &Expr, strong: bool) {
        use ruff_python_ast::visitor::{self, Visitor};
        struct Named<'e> {
            found: Vec<&'e ruff_python_ast::ExprNamed>,
        }
        impl<'e> Visitor<'e> for Named<'e> {
            fn visit_expr(&mut self, expr: &'e Expr) {
                match expr {
                    Expr::Named(n) => {
                        self.found.push(n);
                        visitor::walk_expr(self, expr);
                    }
                    Expr::Lambda(_) => {}
                    _ => visitor::walk_expr(self, expr),
                }
            }
        }
        let mut v = Named { found: Vec::new() };
        v.visit_expr(expr);
        for n in v.found {
            // Inside a condition the binding may not happen: it only adds taint.
            self.assign_value(&n.target, &n.value, strong);
        }
    }

    /// `items.append(x)`, `d.update(x)`, `d.setdefault(k, x)`: request data put into a
    /// container taints it.
    fn mutate(&mut self, expr: &Expr) {
        let Expr::Call(call) = expr else { return };
        if !matches!(
            method_name(call),
            Some("append" | "extend" | "insert" | "add" | "update" | "setdefault" | "appendleft")
        ) {
            return;
        }
        let Some(recv) = receiver(call) else { return };
        if let Some(src) = self.args_source(call, Sink::Any) {
            self.assign(recv, Some(src), false);
        }
    }
}

/// One place a view evaluates an expression.
#[derive(Debug, Clone, Copy)]
pub enum Event<'m> {
    /// An expression evaluated by a statement (a call, an assignment's value, a condition).
    Expr(&'m Expr),
    /// The value a view returns.
    Return(&'m Expr),
}

/// Walk a view's body in order, calling `visit` with each expression it evaluates and the
/// flow state just before it. `seed` sets up the state (URL parameters and the like).
pub fn walk_function<'m, 'a>(
    func: &'m StmtFunctionDef,
    flow: &mut RequestFlow<'a>,
    visit: &mut dyn FnMut(Event<'m>, &RequestFlow<'a>),
) {
    walk_body(&func.body, flow, 0, visit);
}

fn walk_body<'m, 'a>(
    body: &'m [Stmt],
    flow: &mut RequestFlow<'a>,
    depth: usize,
    visit: &mut dyn FnMut(Event<'m>, &RequestFlow<'a>),
) {
    for stmt in body {
        walk_stmt(stmt, flow, depth, visit);
    }
}

fn walk_stmt<'m, 'a>(
    stmt: &'m Stmt,
    flow: &mut RequestFlow<'a>,
    depth: usize,
    visit: &mut dyn FnMut(Event<'m>, &RequestFlow<'a>),
) {
    let strong = depth == 0;
    match stmt {
        Stmt::Assign(a) => {
            visit(Event::Expr(&a.value), flow);
            flow.bind_named(&a.value, strong);
            for t in &a.targets {
                flow.assign_value(t, &a.value, strong);
            }
        }
        Stmt::AnnAssign(a) => {
            if let Some(v) = &a.value {
                visit(Event::Expr(v), flow);
                flow.bind_named(v, strong);
                flow.assign_value(&a.target, v, strong);
            }
        }
        Stmt::AugAssign(a) => {
            visit(Event::Expr(&a.value), flow);
            flow.bind_named(&a.value, strong);
            if let Some(src) = flow.source_of(&a.value, Sink::Any) {
                flow.assign(&a.target, Some(src), false);
            }
        }
        Stmt::Expr(e) => {
            visit(Event::Expr(&e.value), flow);
            flow.bind_named(&e.value, strong);
            flow.mutate(&e.value);
        }
        Stmt::Assert(a) => visit(Event::Expr(&a.test), flow),
        Stmt::Return(r) => {
            if let Some(v) = &r.value {
                visit(Event::Return(v), flow);
                flow.bind_named(v, strong);
            }
        }
        Stmt::If(s) => {
            visit(Event::Expr(&s.test), flow);
            flow.bind_named(&s.test, strong);
            walk_body(&s.body, flow, depth + 1, visit);
            for clause in &s.elif_else_clauses {
                if let Some(t) = &clause.test {
                    visit(Event::Expr(t), flow);
                    flow.bind_named(t, false);
                }
                walk_body(&clause.body, flow, depth + 1, visit);
            }
        }
        Stmt::For(s) => {
            visit(Event::Expr(&s.iter), flow);
            flow.bind_named(&s.iter, strong);
            let src = flow.source_of(&s.iter, Sink::Any);
            flow.assign(&s.target, src, false);
            // Twice, so that taint assigned late in the loop reaches its start.
            for _ in 0..2 {
                walk_body(&s.body, flow, depth + 1, visit);
            }
            walk_body(&s.orelse, flow, depth + 1, visit);
        }
        Stmt::While(s) => {
            visit(Event::Expr(&s.test), flow);
            flow.bind_named(&s.test, strong);
            walk_body(&s.body, flow, depth + 1, visit);
            walk_body(&s.orelse, flow, depth + 1, visit);
        }
        Stmt::With(s) => {
            for item in &s.items {
                visit(Event::Expr(&item.context_expr), flow);
                flow.bind_named(&item.context_expr, strong);
                if let Some(v) = &item.optional_vars {
                    let src = flow.source_of(&item.context_expr, Sink::Any);
                    flow.assign(v, src, strong);
                }
            }
            walk_body(&s.body, flow, depth, visit);
        }
        Stmt::Try(s) => {
            walk_body(&s.body, flow, depth + 1, visit);
            for h in &s.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                walk_body(&h.body, flow, depth + 1, visit);
            }
            walk_body(&s.orelse, flow, depth + 1, visit);
            walk_body(&s.finalbody, flow, depth, visit);
        }
        Stmt::Match(s) => {
            visit(Event::Expr(&s.subject), flow);
            flow.bind_named(&s.subject, strong);
            for case in &s.cases {
                walk_body(&case.body, flow, depth + 1, visit);
            }
        }
        Stmt::Raise(r) => {
            if let Some(e) = &r.exc {
                visit(Event::Expr(e), flow);
                flow.bind_named(e, strong);
            }
        }
        // Nested functions and classes run later, if at all; their bodies are not this flow.
        _ => {}
    }
}

/// A flow seeded with a route's URL parameters (`<int:id>` is converted, so not seeded).
pub fn view_flow<'a>(
    imports: &'a Imports,
    url_params: &[(String, Option<String>)],
) -> RequestFlow<'a> {
    let mut flow = RequestFlow::new(imports);
    for (name, conv) in url_params {
        let converted = matches!(conv.as_deref(), Some("int" | "float" | "uuid"));
        if !converted {
            flow.taint(name, format!("URL parameter `{name}`"));
        }
    }
    flow
}

/// A function of the project: its module's index and the offset where its definition starts.
type FunctionKey = (usize, u32);

/// Where a function of the project is defined: its module, the class whose body holds it (the
/// class statement's index in the module's body), and its index in that body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Def {
    module: usize,
    class: Option<u32>,
    stmt: u32,
}

/// The project's own functions and methods, so that a call can be followed into them: which
/// function a call reaches, which parameter each argument binds, and which parameters reach the
/// function's return value. Also the project's form classes, whose fields are request data.
pub struct ProjectFunctions<'m> {
    /// Function name → where each definition of that name is, with its owner's dotted name
    /// (the module, or the module and class for a method), in module order. Trees are only read
    /// for the functions a flow reaches.
    by_short_name: FxHashMap<&'m str, Vec<(Def, String)>>,
    modules: &'m [Arc<Module>],
    /// Parameters whose data each function returns, keyed by module and the definition's start
    /// offset; worked out the first time a flow reaches the function (most never are).
    returns: Mutex<HashMap<FunctionKey, Arc<[String]>>>,
    /// The project's WTForms form classes.
    forms: rustc_hash::FxHashSet<String>,
}

impl<'m> ProjectFunctions<'m> {
    /// Index the top-level functions and the methods of top-level classes of `modules` (from
    /// their summaries).
    pub fn new(modules: &'m [Arc<Module>]) -> Self {
        let mut by_short_name: FxHashMap<&'m str, Vec<(Def, String)>> = FxHashMap::default();
        for (idx, module) in modules.iter().enumerate() {
            for (func, stmt) in &module.summary.functions {
                by_short_name.entry(func.as_str()).or_default().push((
                    Def {
                        module: idx,
                        class: None,
                        stmt: *stmt,
                    },
                    module.name.clone(),
                ));
            }
            for class in &module.summary.classes {
                for (method, stmt) in &class.methods {
                    by_short_name.entry(method.as_str()).or_default().push((
                        Def {
                            module: idx,
                            class: Some(class.stmt),
                            stmt: *stmt,
                        },
                        format!("{}.{}", module.name, class.name),
                    ));
                }
            }
        }
        Self {
            by_short_name,
            modules,
            returns: Mutex::new(HashMap::new()),
            forms: request_sources::form_classes(modules),
        }
    }

    /// Whether `call` creates one of the project's forms (or a WTForms form).
    pub fn creates_form(&self, imports: &Imports, call: &ExprCall) -> bool {
        request_sources::creates_form(imports, &self.forms, call)
    }

    /// The parameters of `func` (in `module`) that reach one of its `return` values.
    fn passed_params(&self, module: usize, func: &StmtFunctionDef) -> Vec<String> {
        let Some(imports) = self.modules.get(module).map(|m| &m.summary.imports) else {
            return Vec::new();
        };
        let mut passed = Vec::new();
        for param in param_names(func) {
            let mut flow = RequestFlow::new(imports);
            flow.taint(&param, PARAM_MARK);
            let mut reaches = false;
            walk_function(func, &mut flow, &mut |ev, st| {
                if let Event::Return(e) = ev {
                    reaches |= st.source_of(e, Sink::Any).as_deref() == Some(PARAM_MARK);
                }
            });
            if reaches {
                passed.push(param);
            }
        }
        passed
    }

    /// Whether `call` may reach a project function: its name ends in one's name. Rules out
    /// most calls without building their qualified name.
    pub fn may_resolve(&self, imports: &Imports, call: &ExprCall) -> bool {
        imports
            .tail(&call.func)
            .is_some_and(|t| self.by_short_name.contains_key(t))
    }

    /// The project function `call` (made in module `module`) reaches: a module's function
    /// (`helper(x)`, `db.helper(x)`), a class's method called through the class
    /// (`UserRepo.find(x)`), or a method of a class of the calling module called through
    /// `self` / `cls` when one class there defines it.
    pub fn resolve(
        &self,
        module: usize,
        imports: &Imports,
        call: &ExprCall,
    ) -> Option<(usize, &'m StmtFunctionDef)> {
        if !self.may_resolve(imports, call) {
            return None;
        }
        let q = imports.qualified(&call.func)?;
        let defs = self.by_short_name.get(imports.tail(&call.func)?)?;
        if let Some(method) = q.strip_prefix("self.").or_else(|| q.strip_prefix("cls.")) {
            if method.contains('.') {
                return None;
            }
            let mut here = defs
                .iter()
                .filter(|(d, _)| d.module == module && d.class.is_some());
            let found = here.next()?;
            if here.any(|(_, owner)| *owner != found.1) {
                return None;
            }
            return self.definition(found.0);
        }
        // `package.module.function`: a bare name is a function of the calling module.
        let (prefix, _) = match q.rsplit_once('.') {
            Some(split) => split,
            None => (self.modules.get(module)?.name.as_str(), q.as_str()),
        };
        // A later definition of a name replaces an earlier one, as in Python.
        if let Some((found, _)) = defs.iter().rev().find(|(_, owner)| owner == prefix) {
            return self.definition(*found);
        }
        // Imports written against another root (`import db` for `app/db.py`) or star imports:
        // match on the trailing segments when exactly one owner fits.
        let fits = |(d, owner): &&(Def, String)| {
            if !q.contains('.') {
                return d.class.is_none();
            }
            owner.len() > prefix.len()
                && owner.ends_with(prefix)
                && owner.as_bytes()[owner.len() - prefix.len() - 1] == b'.'
        };
        let mut matches = defs.iter().rev().filter(fits);
        let found = matches.next()?;
        if matches.any(|(_, owner)| *owner != found.1) {
            return None;
        }
        self.definition(found.0)
    }

    fn definition(&self, def: Def) -> Option<(usize, &'m StmtFunctionDef)> {
        let modules: &'m [Arc<Module>] = self.modules;
        let body = modules.get(def.module)?.body();
        let body = match def.class {
            None => body,
            Some(class) => match body.get(class as usize) {
                Some(Stmt::ClassDef(c)) => &c.body[..],
                _ => return None,
            },
        };
        match body.get(def.stmt as usize) {
            Some(Stmt::FunctionDef(f)) => Some((def.module, f)),
            _ => None,
        }
    }

    /// Which parameter of `func` each argument of `call` binds. A method's `self` / `cls` is
    /// bound by the call's receiver, not by an argument.
    pub fn bind_args<'e>(func: &StmtFunctionDef, call: &'e ExprCall) -> Vec<(String, &'e Expr)> {
        let p = &func.parameters;
        let is_static = func
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
        let mut positional: Vec<&str> = p
            .posonlyargs
            .iter()
            .chain(p.args.iter())
            .map(|a| a.parameter.name.id.as_str())
            .collect();
        if !is_static && matches!(positional.first(), Some(&"self" | &"cls")) {
            positional.remove(0);
        }
        let mut out = Vec::new();
        for (i, arg) in call.arguments.args.iter().enumerate() {
            if matches!(arg, Expr::Starred(_)) {
                break;
            }
            match positional.get(i) {
                Some(name) => out.push((name.to_string(), arg)),
                None => {
                    if let Some(v) = &p.vararg {
                        out.push((v.name.id.to_string(), arg));
                    }
                }
            }
        }
        for kw in &call.arguments.keywords {
            let Some(name) = &kw.arg else { continue };
            let known = p
                .args
                .iter()
                .chain(p.kwonlyargs.iter())
                .any(|a| a.parameter.name.id == name.id);
            if known {
                out.push((name.id.to_string(), &kw.value));
            } else if let Some(k) = &p.kwarg {
                out.push((k.name.id.to_string(), &kw.value));
            }
        }
        out
    }

    /// The parameters of `func` (in `module`) whose data it returns.
    pub fn returned_params(&self, module: usize, func: &StmtFunctionDef) -> Arc<[String]> {
        let key = (module, u32::from(func.range.start()));
        let cached = |returns: &HashMap<FunctionKey, Arc<[String]>>| returns.get(&key).cloned();
        // Walks run on several threads; a poisoned lock only means another walk panicked.
        let lock = || self.returns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = cached(&lock()) {
            return found;
        }
        // Worked out without the lock (two threads may both do it; they get the same answer).
        let passed: Arc<[String]> = self.passed_params(module, func).into();
        lock().entry(key).or_insert(passed).clone()
    }
}

const PARAM_MARK: &str = "\u{0}parameter";

fn param_names(func: &StmtFunctionDef) -> Vec<String> {
    let p = &func.parameters;
    p.posonlyargs
        .iter()
        .chain(p.args.iter())
        .chain(p.kwonlyargs.iter())
        .map(|a| a.parameter.name.id.to_string())
        .chain(p.vararg.iter().map(|v| v.name.id.to_string()))
        .chain(p.kwarg.iter().map(|v| v.name.id.to_string()))
        .collect()
}

/// The project's functions as seen from one module: what a flow there consults for calls.
pub struct CalleesIn<'p, 'm> {
    pub project: &'p ProjectFunctions<'m>,
    pub module: usize,
}

impl Callees for CalleesIn<'_, '_> {
    fn creates_form(&self, imports: &Imports, call: &ExprCall) -> bool {
        self.project.creates_form(imports, call)
    }

    fn returned_args<'e>(&self, imports: &Imports, call: &'e ExprCall) -> Option<Vec<&'e Expr>> {
        let (module, func) = self.project.resolve(self.module, imports, call)?;
        let passed = self.project.returned_params(module, func);
        Some(
            ProjectFunctions::bind_args(func, call)
                .into_iter()
                .filter(|(name, _)| passed.contains(name))
                .map(|(_, e)| e)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(src: &str) -> Vec<(String, Option<String>)> {
        let parsed = ruff_python_parser::parse_module(src).expect("valid python");
        let body = &parsed.syntax().body;
        let imports = Imports::collect(body, "app", false);
        let Some(Stmt::FunctionDef(func)) = body.iter().find(|s| matches!(s, Stmt::FunctionDef(_)))
        else {
            return Vec::new();
        };
        let mut flow = view_flow(&imports, &[("slug".to_string(), None)]);
        let mut out = Vec::new();
        walk_function(func, &mut flow, &mut |ev, st| {
            if let Event::Return(e) = ev {
                out.push((format!("{:?}", e.range()), st.source_of(e, Sink::Html)));
            }
        });
        out
    }

    use ruff_text_size::Ranged;

    #[test]
    fn tracks_assignments_formatting_and_casts() {
        let out = flows(
            "from flask import request\ndef v(slug):\n    name = request.args.get('n', '')\n    greeting = f'<p>{name}</p>'\n    return greeting\n",
        );
        assert_eq!(out[0].1.as_deref(), Some("request.args"));
        let out = flows(
            "from flask import request\ndef v(slug):\n    n = int(request.args['n'])\n    return '<p>%s</p>' % n\n",
        );
        assert_eq!(out[0].1, None);
        let out = flows("def v(slug):\n    return 'x' + slug\n");
        assert_eq!(out[0].1.as_deref(), Some("URL parameter `slug`"));
        let out = flows(
            "from flask import request\nfrom markupsafe import escape\ndef v(slug):\n    return '<p>{}</p>'.format(escape(request.form['q']))\n",
        );
        assert_eq!(out[0].1, None);
    }

    #[test]
    fn reassignment_to_clean_value_clears() {
        let out = flows(
            "from flask import request\ndef v(slug):\n    x = request.args['a']\n    x = 'fixed'\n    return x\n",
        );
        assert_eq!(out[0].1, None);
    }
}
