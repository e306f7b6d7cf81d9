//! input-validation: request data that reaches SQL, file paths, shell commands, deserialisers,
//! redirects, outgoing requests or `eval` without being validated, and JSON bodies read without
//! a schema.
//!
//! Flows are followed through each view (seeded with its URL parameters), into the project's own
//! functions the view calls with request data (across modules, a few calls deep), and through
//! every other function that reads the request itself. A sink is reported once, at its line,
//! naming the source and the view.

pub mod json;
pub mod sinks;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Stmt, StmtFunctionDef};
use ruff_text_size::Ranged;

use super::{Context, no_flask_app};
use crate::finding::{CheckOutcome, Finding};
use crate::python::Module;
use crate::python::expr::calls_in_expr;
use crate::python::facts::Facts;
use crate::python::imports::Imports;
use crate::python::taint::{
    CalleesIn, Event, ProjectFunctions, RequestFlow, Sink, view_flow, walk_function,
};

pub use sinks::Rule;

/// How many project-function calls deep a flow is followed from a view.
const MAX_CALL_DEPTH: usize = 3;

/// What a fix for one finding starts from: the sink call and the value that reaches it, or
/// the view reading a JSON body. The fix generator (`fix::items::input_validation`) turns
/// it into a plan.
#[derive(Debug, Clone)]
pub enum FixSite<'m> {
    Sink {
        module: usize,
        func: &'m StmtFunctionDef,
        rule: Rule,
        call: &'m ExprCall,
        arg: &'m Expr,
    },
    Yaml {
        module: usize,
        call: &'m ExprCall,
    },
    Json(json::UnvalidatedJson<'m>),
}

/// The check's findings, and for each finding a fix could start from, that site.
#[derive(Debug, Clone, Default)]
pub struct Report<'m> {
    pub outcome: CheckOutcome,
    pub sites: Vec<(Finding, FixSite<'m>)>,
}

pub fn check(ctx: &Context) -> CheckOutcome {
    analyse(ctx).outcome
}

/// Run the check, and keep where each finding's fix would start.
pub fn analyse<'m>(ctx: &Context<'_, 'm>) -> Report<'m> {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return Report {
            outcome: no_flask_app(),
            sites: Vec::new(),
        };
    }
    let project = ProjectFunctions::new(facts.modules);
    // The walks, in the order their findings are reported: each view (seeded with its URL
    // parameters), then module by module every function that reads the request itself, and
    // unsafe yaml loads. Without seeds a function's only source is the request, and without
    // `yaml` a module cannot call yaml.load: most modules of a large project need neither.
    let mut steps: Vec<Step> = Vec::new();
    for route in &facts.routes {
        if facts.module(route.module).is_test {
            continue;
        }
        let flow_seed = view_flow(facts.imports[route.module], &route.url_params);
        steps.push(Step::Walk {
            module: route.module,
            func: route.func,
            seeds: seeds_of(&flow_seed, route),
            view: Some(route.func.name.id.to_string()),
        });
    }
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        let imports = facts.imports[idx];
        if imports.may_name("flask.request") {
            let mut defs = FunctionDefs::default();
            defs.visit_body(module.body());
            // A walk without seeds starts from the request, which the function can only read
            // through a name imported for it (`request`, `flask`): a function whose text
            // mentions none has nothing to follow. (Python folds non-ASCII identifiers to
            // other letters, so only ASCII text is ruled out.)
            let locals: Vec<&str> = imports.locals_naming("flask.request").collect();
            for func in defs.found {
                let text = module.text(func.range);
                if text.is_ascii() && !locals.iter().any(|l| text.contains(l)) {
                    continue;
                }
                steps.push(Step::Walk {
                    module: idx,
                    func,
                    seeds: Vec::new(),
                    view: None,
                });
            }
        }
        if sinks::YAML_LOAD.iter().any(|q| imports.may_name(q)) {
            steps.push(Step::Yaml(idx));
        }
    }
    // The walks only read the facts: they run in parallel (beside the search for unvalidated
    // JSON bodies), and their hits are then reported in the order above, each sink once, as
    // one walk after the other would.
    let walks = || -> Vec<Vec<Hit>> {
        steps
            .par_iter()
            .map(|step| match step {
                Step::Walk {
                    module,
                    func,
                    seeds,
                    view,
                } => {
                    let mut walker = Walker {
                        facts,
                        project: &project,
                        walked: HashSet::new(),
                        hits: Vec::new(),
                    };
                    let origin = Origin {
                        view: view.clone(),
                        function: func.name.id.to_string(),
                        via: Vec::new(),
                    };
                    walker.walk(*module, func, seeds, &origin, 0);
                    walker.hits
                }
                Step::Yaml(_) => Vec::new(),
            })
            .collect()
    };
    let (hits, json_findings) = rayon::join(walks, || json::findings(ctx));
    let mut an = Analyser {
        facts,
        seen: HashSet::new(),
        report: Report::default(),
    };
    for (step, hits) in steps.iter().zip(hits) {
        match step {
            Step::Walk { .. } => {
                for hit in hits {
                    an.report_hit(hit);
                }
            }
            Step::Yaml(idx) => an.unsafe_yaml(*idx, facts.module(*idx)),
        }
    }
    for (finding, view) in json_findings {
        an.push(finding, Some(FixSite::Json(view)));
    }
    an.stored_commands();
    an.report
}

/// A walk to make, or a module to search for unsafe yaml loads.
enum Step<'m> {
    Walk {
        module: usize,
        func: &'m StmtFunctionDef,
        seeds: Vec<(String, String)>,
        view: Option<String>,
    },
    Yaml(usize),
}

/// The URL parameters a view's flow starts with.
fn seeds_of(flow: &RequestFlow, route: &crate::python::facts::Route) -> Vec<(String, String)> {
    route
        .url_params
        .iter()
        .filter(|(name, _)| flow.is_tainted_name(name))
        .map(|(name, _)| (name.clone(), format!("URL parameter `{name}`")))
        .collect()
}

/// Where a walk started: the view (if any) and the functions it went through.
#[derive(Debug, Clone)]
struct Origin {
    view: Option<String>,
    function: String,
    /// `helper()` (app/views.py:12) for each call followed from the view.
    via: Vec<String>,
}

impl Origin {
    fn describe(&self) -> String {
        match (&self.view, self.via.is_empty()) {
            (Some(v), true) => format!(" in view `{v}`"),
            (Some(v), false) => format!(", passed by view `{v}` through {}", self.via.join(" → ")),
            (None, _) => format!(" in `{}`", self.function),
        }
    }
}

/// Reports the hits of the walks, each sink once, with where its fix starts.
struct Analyser<'a, 'm> {
    facts: &'a Facts<'m>,
    /// (module, offset, rule) of each sink reported, so that it is reported once.
    seen: HashSet<(usize, u32, Rule)>,
    report: Report<'m>,
}

/// Follows request data through one function and the project functions it passes it to.
struct Walker<'a, 'm> {
    facts: &'a Facts<'m>,
    project: &'a ProjectFunctions<'m>,
    /// Functions walked with the same seeds, so that recursion ends.
    walked: HashSet<WalkKey>,
    /// Sinks reached, in the order a walk reaches them.
    hits: Vec<Hit<'m>>,
}

/// A function walk: module, definition offset, seeds, view.
type WalkKey = (usize, u32, Vec<(String, String)>, Option<String>);

/// A project function to follow a flow into: module, definition, seeds, how it was reached.
type PendingCall<'m> = (usize, &'m StmtFunctionDef, Vec<(String, String)>, String);

/// A sink that request data reaches: where, and what the finding says.
struct Hit<'m> {
    module: usize,
    func: &'m StmtFunctionDef,
    rule: Rule,
    call: &'m ExprCall,
    arg: &'m Expr,
    message: String,
}

impl<'m> Walker<'_, 'm> {
    fn walk(
        &mut self,
        module: usize,
        func: &'m StmtFunctionDef,
        seeds: &[(String, String)],
        origin: &Origin,
        depth: usize,
    ) {
        let key = (
            module,
            u32::from(func.range.start()),
            seeds.to_vec(),
            origin.view.clone(),
        );
        if !self.walked.insert(key) {
            return;
        }
        let facts = self.facts;
        let imports: &Imports = facts.imports[module];
        let callees = CalleesIn {
            project: self.project,
            module,
        };
        let mut flow = RequestFlow::new(imports).with_callees(&callees);
        for (name, source) in seeds {
            flow.taint(name, source.clone());
        }
        let lists = list_bindings(func);
        let hits = &mut self.hits;
        let mut calls: Vec<PendingCall<'m>> = Vec::new();
        let project = self.project;
        let module_ref = facts.module(module);
        walk_function(func, &mut flow, &mut |event, state| {
            let expr = match event {
                Event::Expr(e) | Event::Return(e) => e,
            };
            for call in calls_in_expr(expr) {
                let around = Around {
                    lists: &lists,
                    flow: state,
                };
                if let Some(sink) = sinks::classify(imports, call, &around) {
                    for (arg, what) in &sink.args {
                        if let Some(src) = state.source_of(arg, sink.sink) {
                            hits.push(Hit {
                                module,
                                func,
                                rule: sink.rule,
                                call,
                                arg,
                                message: format!(
                                    "`{}` gets {what} from {src}{}: {}",
                                    sink.name,
                                    origin.describe(),
                                    sink.rule.advice()
                                ),
                            });
                            break;
                        }
                    }
                }
                // A flow goes into the callee only through an argument that carries request
                // data; a call with none is not resolved (which may read another module).
                let carries = || {
                    call.arguments
                        .args
                        .iter()
                        .chain(call.arguments.keywords.iter().map(|k| &k.value))
                        .any(|arg| state.binding_of(arg, Sink::Any).is_some())
                };
                if depth < MAX_CALL_DEPTH
                    && project.may_resolve(imports, call)
                    && carries()
                    && let Some((callee_module, callee)) = project.resolve(module, imports, call)
                {
                    let seeds: Vec<(String, String)> = ProjectFunctions::bind_args(callee, call)
                        .into_iter()
                        .filter_map(|(param, arg)| {
                            state.binding_of(arg, Sink::Any).map(|s| (param, s))
                        })
                        .collect();
                    if !seeds.is_empty() {
                        let line = module_ref.source.span(call.range()).start.line;
                        calls.push((
                            callee_module,
                            callee,
                            seeds,
                            format!("`{}()` ({}:{line})", callee.name.id, module_ref.path),
                        ));
                    }
                }
            }
        });
        for (callee_module, callee, seeds, via) in calls {
            let mut next = origin.clone();
            next.via.push(via);
            next.function = callee.name.id.to_string();
            self.walk(callee_module, callee, &seeds, &next, depth + 1);
        }
    }
}

impl<'m> Analyser<'_, 'm> {
    fn report_hit(&mut self, hit: Hit<'m>) {
        if !self
            .seen
            .insert((hit.module, u32::from(hit.call.range().start()), hit.rule))
        {
            return;
        }
        let finding = self.facts.module(hit.module).finding(
            hit.rule.id(),
            hit.rule.severity(),
            hit.call.range(),
            hit.message,
        );
        let site = FixSite::Sink {
            module: hit.module,
            func: hit.func,
            rule: hit.rule,
            call: hit.call,
            arg: hit.arg,
        };
        self.push(finding, Some(site));
    }

    /// `yaml.load` without a safe loader runs constructors named in the document, whatever
    /// the document's origin.
    fn unsafe_yaml(&mut self, idx: usize, module: &'m Module) {
        let imports = &self.facts.imports[idx];
        for call in self.facts.calls(idx) {
            if !imports.is(&call.func, sinks::YAML_LOAD)
                || sinks::yaml_loader_is_safe(imports, call)
            {
                continue;
            }
            let rule = Rule::UnsafeDeserialization;
            if !self
                .seen
                .insert((idx, u32::from(call.range().start()), rule))
            {
                continue;
            }
            let finding = module.finding(
                rule.id(),
                rule.severity(),
                call.range(),
                format!(
                    "`{}` without Loader=SafeLoader can build arbitrary Python objects from the \
                     document: use yaml.safe_load()",
                    sinks::call_name(call)
                ),
            );
            self.push(finding, Some(FixSite::Yaml { module: idx, call }));
        }
    }

    /// Second order: a view runs a shell command formatted from a value that is neither a
    /// constant nor request data (then it is command injection, reported above): what it
    /// read back from the database or a file. Whatever a user once stored there (an upload's
    /// name, a title) reaches the shell.
    fn stored_commands(&mut self) {
        let facts = self.facts;
        for route in &facts.routes {
            let module = facts.module(route.module);
            if module.is_test {
                continue;
            }
            let imports = facts.imports[route.module];
            if !sinks::SHELL_ALWAYS
                .iter()
                .chain(sinks::SUBPROCESS)
                .any(|q| imports.may_name(q))
            {
                continue;
            }
            let locals = local_values(route.func);
            for call in crate::python::expr::calls_in_body(&route.func.body) {
                let Some(callee) = imports.qualified(&call.func) else {
                    continue;
                };
                let shell = sinks::SHELL_ALWAYS.contains(&callee.as_str())
                    || sinks::SUBPROCESS.contains(&callee.as_str())
                        && call.arguments.find_keyword("shell").is_some_and(|k| {
                            crate::python::expr::literal_truth(&k.value) == Some(true)
                        });
                if !shell {
                    continue;
                }
                let Some(command) = call.arguments.args.first() else {
                    continue;
                };
                let command = match command {
                    Expr::Name(n) => locals.get(n.id.as_str()).copied().unwrap_or(command),
                    c => c,
                };
                let Some(value) = formatted_value(facts, route.module, command) else {
                    continue;
                };
                let at = u32::from(call.range().start());
                if self
                    .seen
                    .contains(&(route.module, at, Rule::CommandInjection))
                    || !self.seen.insert((route.module, at, Rule::StoredCommand))
                {
                    continue;
                }
                let rule = Rule::StoredCommand;
                let finding = module.finding(
                    rule.id(),
                    rule.severity(),
                    call.range(),
                    format!(
                        "the view runs a shell command formatted from `{value}`, which it read \
                         back rather than from the request: whatever a user once stored there \
                         (an upload's file name, a title) reaches the shell (second-order \
                         command injection); {}",
                        rule.advice()
                    ),
                );
                self.push(finding, None);
            }
        }
    }

    fn push(&mut self, finding: Finding, site: Option<FixSite<'m>>) {
        if let Some(site) = site {
            self.report.sites.push((finding.clone(), site));
        }
        self.report.outcome.findings.push(finding);
    }
}

struct Around<'l, 'm, 'f, 'a> {
    lists: &'l HashMap<String, &'m Expr>,
    flow: &'f RequestFlow<'a>,
}

impl<'m> sinks::Surroundings<'m> for Around<'_, 'm, '_, '_> {
    fn list_value(&self, name: &str) -> Option<&'m Expr> {
        self.lists.get(name).copied()
    }

    /// Request data with a `save` method is an uploaded file (`request.files[...]`, or the
    /// data of a form's `FileField`): werkzeug's FileStorage.
    fn is_upload(&self, expr: &Expr) -> bool {
        self.flow.source_of(expr, Sink::Any).is_some()
    }
}

/// `name = value` at the top of a function's body (the last binding of each name).
fn local_values(func: &StmtFunctionDef) -> HashMap<&str, &Expr> {
    let mut out = HashMap::new();
    for stmt in &func.body {
        if let Stmt::Assign(a) = stmt {
            for t in &a.targets {
                if let Expr::Name(n) = t {
                    out.insert(n.id.as_str(), a.value.as_ref());
                }
            }
        }
    }
    out
}

/// A string formatted (f-string, `%`, `+`, `.format()`) with a value that is not a constant
/// and not made safe for a shell (`shlex.quote`, `int()`, `secure_filename`): that value, as
/// written.
fn formatted_value<'m>(facts: &Facts<'m>, module: usize, expr: &'m Expr) -> Option<String> {
    let imports = facts.imports[module];
    let risky = |e: &'m Expr| -> bool {
        if crate::python::expr::is_constant(facts.resolve_const(module, e)) {
            return false;
        }
        if let Expr::Call(c) = e
            && let Some(q) = imports.qualified(&c.func)
            && (crate::python::taint::sanitises(&q, Sink::Shell)
                || crate::python::taint::sanitises(&q, Sink::Path))
        {
            return false;
        }
        true
    };
    let shown = |e: &Expr| -> String {
        let text = facts.module(module).text(e.range());
        text.chars().take(40).collect()
    };
    crate::python::expr::formatted_part(expr, risky).map(shown)
}

/// Names bound to a list or tuple literal in a function (`cmd = ['git', 'log', ref]`).
fn list_bindings(func: &StmtFunctionDef) -> HashMap<String, &Expr> {
    let mut out = HashMap::new();
    for stmt in &func.body {
        if let Stmt::Assign(a) = stmt
            && matches!(a.value.as_ref(), Expr::List(_) | Expr::Tuple(_))
        {
            for t in &a.targets {
                if let Expr::Name(n) = t {
                    out.entry(n.id.to_string()).or_insert(a.value.as_ref());
                }
            }
        }
    }
    out
}

/// Every function definition of a module: top level, methods, nested.
#[derive(Default)]
struct FunctionDefs<'m> {
    found: Vec<&'m StmtFunctionDef>,
}

impl<'m> Visitor<'m> for FunctionDefs<'m> {
    fn visit_stmt(&mut self, stmt: &'m Stmt) {
        if let Stmt::FunctionDef(f) = stmt {
            self.found.push(f);
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, _expr: &'m Expr) {}
}
