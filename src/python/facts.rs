//! Facts every detector shares, computed once per scan: Flask app objects, routes, every
//! configuration source (see FLASK_FACTS.md "Where configuration comes from"), which config
//! production uses, committed env files and templates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::{LazyLock, OnceLock};

use rustc_hash::FxHashMap;

use ruff_python_ast::{
    BoolOp, CmpOp, Expr, ExprCall, Stmt, StmtClassDef, StmtFunctionDef, UnaryOp,
};
use ruff_text_size::{Ranged, TextRange};

use super::Module;
use super::expr::{
    dotted, dotted_last, is_config_attr, is_constant, last_segment, method_name, receiver,
    str_value,
};
use super::imports::Imports;
pub use super::summary::TopClass;
use super::templates::Template;
use crate::source::SourceText;

/// A `Flask(...)` object.
#[derive(Debug, Clone)]
pub struct AppObject {
    pub module: usize,
    /// The name it is bound to (`app`), when it is bound to one.
    pub var: Option<String>,
    /// The function it is created in (an app factory), if any.
    pub factory: Option<String>,
    /// The `Flask(...)` call.
    pub range: TextRange,
}

/// Where a config write applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
    /// Written on the app object; `production` is false inside a branch that only runs in
    /// development or testing (`if app.debug:`, `if test_config:`).
    App { production: bool },
    /// An attribute of a config class or config module (index into `Facts::classes`).
    Class(usize),
}

/// `SECRET_KEY = value` through any of Flask's spellings.
#[derive(Debug, Clone)]
pub struct ConfigWrite<'m> {
    pub module: usize,
    pub key: String,
    pub value: &'m Expr,
    /// What a finding points at: the assignment, keyword or dict entry.
    pub range: TextRange,
    pub scope: WriteScope,
}

/// A class (or module) whose UPPERCASE attributes `from_object` copies into the config.
#[derive(Debug, Clone)]
pub struct ConfigClass<'m> {
    pub module: usize,
    pub name: String,
    /// `module.Class`, or the module's name for a config module.
    pub qualname: String,
    /// Qualified names of the base classes.
    pub bases: Vec<String>,
    pub attrs: Vec<(String, &'m Expr, TextRange)>,
    /// The class header (or the module's first line).
    pub range: TextRange,
    pub is_module: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    Object,
    Pyfile,
    Envvar,
    PrefixedEnv,
    File,
}

/// A config object `from_object` may load, with its environment label if any.
pub type Candidate = (Option<String>, usize);

/// A `app.config.from_*` call.
#[derive(Debug, Clone)]
pub struct ConfigLoad {
    pub module: usize,
    pub kind: LoadKind,
    /// False inside a development-only branch (`if app.debug: app.config.from_object(Dev)`).
    pub production: bool,
    pub range: TextRange,
    /// For `from_object`: the config objects it may load, with the environment label of each
    /// when it comes from a dict (`{'production': ProdConfig}`) or a fallback.
    pub candidates: Vec<(Option<String>, usize)>,
    /// The argument could not be followed: `candidates` are every config-like class.
    pub guessed: bool,
    /// For `from_object(configs[name])`: the environment variable that picks the entry and
    /// the label of the entry loaded when it is unset (`os.getenv('FLASK_CONFIG') or
    /// 'default'`, here or at the factory's call sites).
    pub when_unset: Option<(String, String)>,
}

/// A view function (or a method of a class-based view).
#[derive(Debug, Clone)]
pub struct Route<'m> {
    pub module: usize,
    pub func: &'m StmtFunctionDef,
    /// The class of a class-based view.
    pub class: Option<String>,
    pub path: Option<String>,
    /// Upper-case HTTP methods.
    pub methods: Vec<String>,
    /// The decorator (or `add_url_rule` call, or method header) that makes it a route.
    pub range: TextRange,
    /// `<converter:name>` parts of the path.
    pub url_params: Vec<(String, Option<String>)>,
}

impl Route<'_> {
    pub fn is_state_changing(&self) -> bool {
        self.methods
            .iter()
            .any(|m| matches!(m.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
    }
}

/// A committed `.env` / `.flaskenv` file.
#[derive(Debug, Clone)]
pub struct EnvFile {
    pub path: String,
    pub source: SourceText,
    /// Key, value (quotes removed), 1-based line.
    pub entries: Vec<(String, String, usize)>,
}

impl EnvFile {
    pub fn parse(path: &str, text: String) -> Self {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let key = k.trim().to_string();
            let mut value = v.trim().to_string();
            if let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') {
                value = value[1..].split(q).next().unwrap_or("").to_string();
            } else if let Some((before, _)) = value.split_once(" #") {
                value = before.trim().to_string();
            }
            entries.push((key, value, i + 1));
        }
        Self {
            path: path.to_string(),
            source: SourceText::new(text),
            entries,
        }
    }

    pub fn get(&self, key: &str) -> Option<&(String, String, usize)> {
        self.entries.iter().rev().find(|(k, _, _)| k == key)
    }
}

/// Which extensions and features the code uses.
#[derive(Debug, Clone, Default)]
pub struct Uses {
    pub session: bool,
    /// `request.cookies` is read somewhere: the app authenticates by a cookie of its own.
    pub cookies: bool,
    pub flask_login: bool,
    pub flask_wtf: bool,
}

pub struct Facts<'m> {
    pub modules: &'m [Arc<Module>],
    /// Each module's imports (from its summary).
    pub imports: Vec<&'m Imports>,
    /// Per module, its constants and calls, worked out when first asked for a module whose
    /// tree was freed (see [`release_if_cold`]), up front for the others.
    index: Vec<OnceLock<ModuleIndex<'m>>>,
    pub apps: Vec<AppObject>,
    pub writes: Vec<ConfigWrite<'m>>,
    pub classes: Vec<ConfigClass<'m>>,
    pub loads: Vec<ConfigLoad>,
    /// Indexes into `classes` of the config objects production loads.
    pub production: Vec<usize>,
    /// `production` is a guess: a `from_object` argument could not be followed, so every
    /// config-like class was a candidate. A fix does not write configuration into a guess.
    pub production_guessed: bool,
    /// Set while a load's candidates are resolved, when one could not be followed.
    guessing: bool,
    /// Each config class and its bases, depth first (see [`Facts::mro`]).
    mros: Vec<Vec<usize>>,
    /// Indexes into `writes` by key.
    writes_by_key: HashMap<String, Vec<usize>>,
    pub routes: Vec<Route<'m>>,
    pub env_files: Vec<EnvFile>,
    pub templates: Vec<Template>,
    pub uses: Uses,
}

impl<'m> Facts<'m> {
    pub fn compute(
        modules: &'m [Arc<Module>],
        templates: Vec<Template>,
        env_files: Vec<EnvFile>,
    ) -> Self {
        use rayon::prelude::*;
        // One pass over each module (in parallel, while its tree is in cache) for everything
        // that needs no other module: imports, constants, calls, candidate config classes, and
        // the walk for apps, config writes, loads and routes, which knows Flask's own classes.
        // A project's subclasses of Flask are only known once every module is read; the
        // modules that may call one are walked again below.
        let (flask_own, flask_own_tails) = &*FLASK_OWN;
        // A cold module's walk found nothing when it was parsed (that is why its tree was
        // freed): it is not walked again.
        let first: Vec<(Option<ModuleIndex<'m>>, Walked<'m>)> = modules
            .par_iter()
            .enumerate()
            .map(|(idx, module)| {
                if module.cold {
                    return (None, Walked::default());
                }
                let imports = &module.summary.imports;
                let walked = walk_module(idx, module, imports, flask_own, flask_own_tails);
                (Some(ModuleIndex::new(module)), walked)
            })
            .collect();
        let imports: Vec<&'m Imports> = modules.iter().map(|m| &m.summary.imports).collect();
        let mut index = Vec::with_capacity(first.len());
        let mut walked = Vec::with_capacity(first.len());
        for (i, w) in first {
            index.push(match i {
                Some(i) => OnceLock::from(i),
                None => OnceLock::new(),
            });
            walked.push(w);
        }
        let mut facts = Facts {
            modules,
            imports,
            index,
            apps: Vec::new(),
            writes: Vec::new(),
            classes: Vec::new(),
            loads: Vec::new(),
            production: Vec::new(),
            production_guessed: false,
            guessing: false,
            mros: Vec::new(),
            writes_by_key: HashMap::new(),
            routes: Vec::new(),
            env_files,
            templates,
            uses: Uses::default(),
        };
        facts.collect_classes();
        let flask_subclasses = facts.flask_subclasses();
        if flask_subclasses.len() > flask_own.len() {
            let tails: HashSet<&str> = flask_subclasses.iter().map(|q| last_segment(q)).collect();
            // The last segments of the project's subclasses (one may be called `Flask` too).
            let mut new_tails: Vec<&str> = flask_subclasses
                .difference(flask_own)
                .map(|q| last_segment(q))
                .collect();
            new_tails.sort_unstable();
            new_tails.dedup();
            // A module can only call a subclass by its name or a local alias of it.
            let again: Vec<usize> = (0..modules.len())
                .filter(|&idx| {
                    new_tails
                        .iter()
                        .any(|t| facts.calls_named(idx, t).next().is_some())
                        || facts.imports[idx].renamed().any(|(local, tail)| {
                            tails.contains(tail) && facts.calls_named(idx, local).next().is_some()
                        })
                })
                .collect();
            let rewalked: Vec<(usize, Walked<'m>)> = again
                .par_iter()
                .map(|&idx| {
                    let w = walk_module(
                        idx,
                        &modules[idx],
                        facts.imports[idx],
                        &flask_subclasses,
                        &tails,
                    );
                    (idx, w)
                })
                .collect();
            for (idx, w) in rewalked {
                walked[idx] = w;
            }
        }
        let mut pending_objects = Vec::new();
        for (uses, apps, writes, routes, loads) in walked {
            facts.uses.session |= uses.session;
            facts.uses.cookies |= uses.cookies;
            facts.uses.flask_login |= uses.flask_login;
            facts.uses.flask_wtf |= uses.flask_wtf;
            facts.apps.extend(apps);
            facts.writes.extend(writes);
            facts.routes.extend(routes);
            pending_objects.extend(loads);
        }
        facts.resolve_loads(pending_objects);
        facts.choose_production();
        // Classes and writes are all known now: index them for the detectors' lookups.
        facts.mros = facts.compute_mros();
        for (i, w) in facts.writes.iter().enumerate() {
            facts
                .writes_by_key
                .entry(w.key.clone())
                .or_default()
                .push(i);
        }
        facts
    }

    /// Production loads the config class `qualname` (`config.ProductionConfig`), as the
    /// project's configuration says, when the code has such a class. Returns whether it did.
    pub fn use_production_config(&mut self, qualname: &str) -> bool {
        let found = self
            .classes
            .iter()
            .position(|c| c.qualname == qualname || (!c.is_module && c.name == qualname));
        if let Some(idx) = found {
            self.production = vec![idx];
            self.production_guessed = false;
        }
        found.is_some()
    }

    pub fn module(&self, idx: usize) -> &'m Module {
        &self.modules[idx]
    }

    /// Modules of production code (not tests).
    pub fn is_production_module(&self, idx: usize) -> bool {
        !self.modules[idx].is_test
    }

    /// Whether the repository has a Flask application at all.
    pub fn has_flask(&self) -> bool {
        !self.apps.is_empty() || self.imports.iter().any(|i| i.imports_from("flask"))
    }

    /// Config comes (also) from a file or the environment that the repository does not show.
    pub fn has_external_config(&self) -> bool {
        self.loads.iter().any(|l| {
            self.is_production_module(l.module)
                && matches!(
                    l.kind,
                    LoadKind::Pyfile | LoadKind::Envvar | LoadKind::PrefixedEnv | LoadKind::File
                )
        })
    }

    /// Every write of `key` that takes effect in production: on the app outside dev/test
    /// branches, and the effective value of `key` in each production config object.
    pub fn production_writes(&self, key: &str) -> Vec<&ConfigWrite<'m>> {
        let mut out: Vec<&ConfigWrite<'m>> = self
            .writes_of(key)
            .filter(|w| {
                matches!(w.scope, WriteScope::App { production: true })
                    && self.is_production_module(w.module)
            })
            .collect();
        let mut seen = HashSet::new();
        for &class in &self.production {
            if let Some(w) = self.effective_write(class, key)
                && seen.insert((w.module, w.range.start()))
            {
                out.push(w);
            }
        }
        out
    }

    /// Every write of `key` anywhere in production code, whatever the environment.
    pub fn all_writes(&self, key: &str) -> impl Iterator<Item = &ConfigWrite<'m>> {
        self.writes_of(key)
            .filter(move |w| self.is_production_module(w.module))
    }

    /// Every write of `key`, in the order they were found.
    fn writes_of(&self, key: &str) -> impl Iterator<Item = &ConfigWrite<'m>> {
        self.writes_by_key
            .get(key)
            .into_iter()
            .flatten()
            .map(|&i| &self.writes[i])
    }

    /// A write inside a development or testing config class that production does not load,
    /// or inside a development-only branch.
    pub fn is_dev_only(&self, w: &ConfigWrite) -> bool {
        match w.scope {
            WriteScope::App { production } => !production,
            WriteScope::Class(c) => {
                let reaches_production = self.production.iter().any(|p| self.mro(*p).contains(&c));
                !reaches_production && env_kind(&self.classes[c].name) == EnvKind::Development
            }
        }
    }

    /// The write that gives `key` its value in config class `class`, through inheritance.
    pub fn effective_write(&self, class: usize, key: &str) -> Option<&ConfigWrite<'m>> {
        for &c in self.mro(class) {
            if let Some(w) = self
                .writes_of(key)
                .find(|w| w.scope == WriteScope::Class(c))
            {
                return Some(w);
            }
        }
        None
    }

    /// The class and its bases, depth first, left to right, each once.
    pub fn mro(&self, class: usize) -> &[usize] {
        &self.mros[class]
    }

    /// [`Facts::mro`] of every class, resolving each base once.
    fn compute_mros(&self) -> Vec<Vec<usize>> {
        let lookup = ClassLookup::new(&self.classes);
        let bases: Vec<Vec<usize>> = self
            .classes
            .iter()
            .map(|c| {
                c.bases
                    .iter()
                    .filter_map(|b| lookup.resolve(b, &self.modules[c.module].name))
                    .collect()
            })
            .collect();
        (0..self.classes.len())
            .map(|class| {
                let mut order = Vec::new();
                let mut stack = vec![class];
                while let Some(c) = stack.pop() {
                    if order.contains(&c) {
                        continue;
                    }
                    order.push(c);
                    stack.extend(bases[c].iter().rev());
                }
                order
            })
            .collect()
    }

    /// Resolve a qualified name to a config object: a class, or a module of UPPERCASE names.
    fn config_object(&mut self, qualname: &str, from_module: usize) -> Option<usize> {
        let from_name = &self.modules[from_module].name;
        if let Some(c) = ClassLookup::new(&self.classes).resolve(qualname, from_name) {
            return Some(c);
        }
        let module = self
            .modules
            .iter()
            .position(|m| m.name == qualname || m.name.ends_with(&format!(".{qualname}")))?;
        if let Some(existing) = self
            .classes
            .iter()
            .position(|c| c.is_module && c.module == module)
        {
            return Some(existing);
        }
        let body = self.modules[module].body();
        let idx = self.classes.len();
        let mut attrs = Vec::new();
        for stmt in body {
            for (name, value, range) in uppercase_assignments(stmt) {
                attrs.push((name.clone(), value, range));
                self.writes.push(ConfigWrite {
                    module,
                    key: name,
                    value,
                    range,
                    scope: WriteScope::Class(idx),
                });
            }
        }
        let first = body.first().map(|s| s.range()).unwrap_or_default();
        self.classes.push(ConfigClass {
            module,
            name: self.modules[module].name.clone(),
            qualname: self.modules[module].name.clone(),
            bases: Vec::new(),
            attrs,
            range: first,
            is_module: true,
        });
        Some(idx)
    }

    fn collect_classes(&mut self) {
        for (idx, module) in self.modules.iter().enumerate() {
            for top in &module.summary.classes {
                // UPPERCASE attributes, or a name ending in Config/Settings.
                if !top.config_like {
                    continue;
                }
                let Some(class) = self.class_def(idx, top) else {
                    continue;
                };
                let attrs: Vec<_> = class.body.iter().flat_map(uppercase_assignments).collect();
                let class_idx = self.classes.len();
                for (name, value, range) in &attrs {
                    self.writes.push(ConfigWrite {
                        module: idx,
                        key: name.clone(),
                        value,
                        range: *range,
                        scope: WriteScope::Class(class_idx),
                    });
                }
                self.classes.push(ConfigClass {
                    module: idx,
                    name: class.name.to_string(),
                    qualname: format!("{}.{}", module.name, class.name),
                    bases: top.bases.clone(),
                    attrs,
                    range: class_header(class),
                    is_module: false,
                });
            }
        }
    }

    /// The classes at the top level of module `idx`.
    pub fn top_classes(&self, idx: usize) -> &'m [TopClass] {
        &self.modules[idx].summary.classes
    }

    /// The definition of a top-level class of module `idx`.
    pub fn class_def(&self, idx: usize, class: &TopClass) -> Option<&'m StmtClassDef> {
        match self.modules[idx].body().get(class.stmt as usize) {
            Some(Stmt::ClassDef(c)) => Some(c),
            _ => None,
        }
    }

    fn index(&self, idx: usize) -> &ModuleIndex<'m> {
        self.index[idx].get_or_init(|| ModuleIndex::new(&self.modules[idx]))
    }

    /// Module-level `NAME = value` bindings of module `idx`, for resolving constants.
    pub fn consts(&self, idx: usize) -> &FxHashMap<&'m str, &'m Expr> {
        &self.index(idx).consts
    }

    /// Whether module `idx` binds `name` at its top level.
    pub fn binds(&self, idx: usize, name: &str) -> bool {
        self.modules[idx].summary.may_bind(name) && self.consts(idx).contains_key(name)
    }

    /// The calls of module `idx` written with `name` as the function or method name
    /// (`name(...)`, `x.name(...)`), in source order.
    pub fn calls_named<'s>(
        &'s self,
        idx: usize,
        name: &'s str,
    ) -> impl Iterator<Item = &'m ExprCall> + 's {
        let (calls, index): (&[&'m ExprCall], &[u32]) = if self.modules[idx].summary.may_call(name)
        {
            let i = self.index(idx);
            (&i.calls, &i.by_name)
        } else {
            (&[], &[])
        };
        let start = index.partition_point(|&i| call_name(calls[i as usize]) < Some(name));
        index[start..]
            .iter()
            .map(move |&i| calls[i as usize])
            .take_while(move |c| call_name(c) == Some(name))
    }

    /// The calls of module `idx` to one of `targets` (qualified names), through any import
    /// alias, in source order.
    pub fn calls_to(&self, idx: usize, targets: &[&str]) -> Vec<&'m ExprCall> {
        let imports = &self.imports[idx];
        let mut names: Vec<&str> = targets.iter().map(|t| last_segment(t)).collect();
        names.extend(imports.aliases_of(targets));
        names.sort_unstable();
        names.dedup();
        let mut out: Vec<&'m ExprCall> = names
            .iter()
            .flat_map(|n| self.calls_named(idx, n))
            .filter(|c| imports.is(&c.func, targets))
            .collect();
        out.sort_by_key(|c| c.range().start());
        out
    }

    /// Every call of module `idx`, nested bodies included, in source order.
    pub fn calls(&self, idx: usize) -> &[&'m ExprCall] {
        &self.index(idx).calls
    }

    /// Names of classes that subclass `flask.Flask`, qualified.
    fn flask_subclasses(&self) -> HashSet<String> {
        let mut out = FLASK_OWN.0.clone();
        for module in self.modules {
            for class in &module.summary.classes {
                if class
                    .bases
                    .iter()
                    .any(|b| FLASK_CLASSES.contains(&b.as_str()))
                {
                    out.insert(format!("{}.{}", module.name, class.name));
                    out.insert(class.name.clone());
                }
            }
        }
        out
    }

    fn resolve_loads(&mut self, pending: Vec<PendingLoad<'m>>) {
        for p in pending {
            let mut candidates = Vec::new();
            self.guessing = false;
            if p.kind == LoadKind::Object
                && let Some(arg) = p.arg
            {
                self.object_candidates(
                    p.module,
                    arg,
                    p.param_defaults.as_ref(),
                    None,
                    &mut candidates,
                );
            }
            // `from_pyfile('settings.py')` of a file that is committed: its UPPERCASE names are
            // configuration, as a module's are. (Usually the file lives in the instance folder,
            // outside the repository, and stays an external source.)
            if p.kind == LoadKind::Pyfile
                && let Some(name) = p.arg.and_then(str_value)
                && name.ends_with(".py")
                && let Some(target) = self
                    .modules
                    .iter()
                    .position(|m| m.path == name || m.path.ends_with(&format!("/{name}")))
                && !self.modules[target].is_test
            {
                let module_name = self.modules[target].name.clone();
                if let Some(c) = self.config_object(&module_name, p.module) {
                    candidates.push((None, c));
                }
            }
            let when_unset = match (p.kind, p.arg) {
                (LoadKind::Object, Some(arg)) => self.selection_when_unset(
                    p.module,
                    arg,
                    p.param_defaults.as_ref(),
                    p.function.as_ref(),
                    0,
                ),
                _ => None,
            };
            self.loads.push(ConfigLoad {
                module: p.module,
                kind: p.kind,
                production: p.production,
                range: p.range,
                candidates,
                guessed: self.guessing,
                when_unset,
            });
        }
    }

    /// `from_object(configs[key])` / `configs.get(key)` (or a local bound to one): the
    /// variable `key` is read from and the entry chosen when it is unset.
    fn selection_when_unset(
        &self,
        module: usize,
        arg: &'m Expr,
        locals: Option<&HashMap<String, Option<&'m Expr>>>,
        function: Option<&(String, Vec<String>)>,
        depth: usize,
    ) -> Option<(String, String)> {
        if depth > 4 {
            return None;
        }
        match arg {
            Expr::Subscript(sub) => self.env_default(module, &sub.slice, locals, function, depth),
            Expr::Call(call) if method_name(call) == Some("get") => {
                let key = call.arguments.args.first()?;
                self.env_default(module, key, locals, function, depth)
            }
            Expr::Name(n) => {
                let value = (*locals?.get(n.id.as_str())?)?;
                self.selection_when_unset(module, value, locals, function, depth + 1)
            }
            _ => None,
        }
    }

    /// What `key` is when the environment sets nothing: `os.getenv('X', 'dev')`,
    /// `os.getenv('X') or 'dev'`, a local bound to one, or a parameter that every call site
    /// passes one for. Returns the variable and the literal.
    fn env_default(
        &self,
        module: usize,
        key: &'m Expr,
        locals: Option<&HashMap<String, Option<&'m Expr>>>,
        function: Option<&(String, Vec<String>)>,
        depth: usize,
    ) -> Option<(String, String)> {
        if depth > 4 {
            return None;
        }
        let env_var = |e: &'m Expr| -> Option<(String, Option<&'m Expr>)> {
            let Expr::Call(call) = e else { return None };
            let callee = self.imports[module].qualified(&call.func)?;
            if !ENV_GETTERS.contains(&callee.as_str()) {
                return None;
            }
            let var = call.arguments.args.first().and_then(str_value)?;
            Some((
                var.to_string(),
                call.arguments.find_argument_value("default", 1),
            ))
        };
        match key {
            Expr::Call(_) => {
                let (var, fallback) = env_var(key)?;
                Some((var, str_value(fallback?)?.to_string()))
            }
            Expr::BoolOp(b) if b.op == ruff_python_ast::BoolOp::Or => {
                // `os.getenv('X') or 'dev'`.
                if let [.., read, last] = b.values.as_slice()
                    && let Some((var, None)) = env_var(read)
                    && let Some(label) = str_value(last)
                {
                    return Some((var, label.to_string()));
                }
                b.values
                    .iter()
                    .find_map(|v| self.env_default(module, v, locals, function, depth + 1))
            }
            Expr::Name(n) => {
                if let Some(Some(value)) = locals.and_then(|l| l.get(n.id.as_str()))
                    && !matches!(value, Expr::Name(v) if v.id == n.id)
                {
                    return self.env_default(module, value, locals, function, depth + 1);
                }
                // A parameter of the factory: what its callers pass.
                let (name, params) = function?;
                let position = params.iter().position(|p| p == n.id.as_str())?;
                (0..self.modules.len()).find_map(|idx| {
                    self.calls_named(idx, name).find_map(|call| {
                        let passed = call
                            .arguments
                            .find_argument_value(n.id.as_str(), position)?;
                        self.env_default(idx, passed, None, None, depth + 1)
                    })
                })
            }
            _ => None,
        }
    }

    /// What `from_object(arg)` may load.
    fn object_candidates(
        &mut self,
        module: usize,
        arg: &'m Expr,
        params: Option<&HashMap<String, Option<&'m Expr>>>,
        label: Option<String>,
        out: &mut Vec<(Option<String>, usize)>,
    ) {
        match arg {
            Expr::StringLiteral(s) => {
                if let Some(c) = self.config_object(s.value.to_str(), module) {
                    out.push((label, c));
                }
            }
            // `from_object(__name__)`: the module's own UPPERCASE names.
            Expr::Name(n) if n.id.as_str() == "__name__" => {
                let own = self.modules[module].name.clone();
                if let Some(c) = self.config_object(&own, module) {
                    out.push((label, c));
                }
            }
            Expr::Name(n) => {
                // A parameter of the enclosing factory: its default is what `create_app()` uses.
                if let Some(params) = params
                    && let Some(default) = params.get(n.id.as_str())
                {
                    if let Some(default) = default {
                        self.object_candidates(module, default, None, label, out);
                    } else {
                        self.unresolved_candidates(out);
                    }
                    return;
                }
                if let Some(q) = self.imports[module].qualified(arg)
                    && let Some(c) = self.config_object(&q, module)
                {
                    out.push((label, c));
                    return;
                }
                if let Some(value) = self.consts(module).get(n.id.as_str()).copied()
                    && !matches!(value, Expr::Name(v) if v.id == n.id)
                {
                    self.object_candidates(module, value, None, label, out);
                    return;
                }
                self.unresolved_candidates(out);
            }
            Expr::Attribute(_) => {
                if let Some(q) = self.imports[module].qualified(arg)
                    && let Some(c) = self.config_object(&q, module)
                {
                    out.push((label, c));
                } else {
                    self.unresolved_candidates(out);
                }
            }
            // `config[name]`, `config.get(name)`, `config.get(name, default)`.
            Expr::Subscript(sub) => self.dict_candidates(module, &sub.value, out),
            // `name or os.environ.get("APP_CONFIG", "app.config")`: any of them.
            Expr::BoolOp(b) => {
                for v in &b.values {
                    self.object_candidates(module, v, params, label.clone(), out);
                }
            }
            Expr::Call(call) => {
                let callee = self.imports[module]
                    .qualified(&call.func)
                    .unwrap_or_default();
                if matches!(
                    callee.as_str(),
                    "os.environ.get" | "os.getenv" | "getenv" | "environ.get"
                ) {
                    if let Some(fallback) = call.arguments.find_argument_value("default", 1) {
                        self.object_candidates(
                            module,
                            fallback,
                            params,
                            Some("default".into()),
                            out,
                        );
                    } else {
                        self.unresolved_candidates(out);
                    }
                } else if method_name(call) == Some("get")
                    && let Some(dict) = receiver(call)
                {
                    self.dict_candidates(module, dict, out);
                } else {
                    self.unresolved_candidates(out);
                }
            }
            _ => self.unresolved_candidates(out),
        }
    }

    fn dict_candidates(
        &mut self,
        module: usize,
        dict: &'m Expr,
        out: &mut Vec<(Option<String>, usize)>,
    ) {
        let dict_expr = match dict {
            Expr::Dict(_) => Some((module, dict)),
            Expr::Name(n) => self
                .consts(module)
                .get(n.id.as_str())
                .map(|v| (module, *v))
                .or_else(|| {
                    let q = self.imports[module].qualified(dict)?;
                    let (m, name) = q.rsplit_once('.')?;
                    let target = self
                        .modules
                        .iter()
                        .position(|x| x.name == m || x.name.ends_with(&format!(".{m}")))?;
                    self.consts(target).get(name).map(|v| (target, *v))
                }),
            _ => None,
        };
        let Some((dict_module, Expr::Dict(d))) = dict_expr else {
            self.unresolved_candidates(out);
            return;
        };
        for item in &d.items {
            let label = item.key.as_ref().and_then(str_value);
            self.object_candidates(dict_module, &item.value, None, label, out);
        }
    }

    /// `from_object` with something we cannot follow: every config class may be the one.
    fn unresolved_candidates(&mut self, out: &mut Vec<(Option<String>, usize)>) {
        self.guessing = true;
        for (i, c) in self.classes.iter().enumerate() {
            if !c.is_module && !self.modules[c.module].is_test {
                out.push((None, i));
            }
        }
    }

    /// Which config objects production loads. Each load outside development-only code
    /// contributes: the entry labelled `production`, else a `Prod*` class, else its only
    /// candidate, else the `default` entry, else every candidate not named for development.
    fn choose_production(&mut self) {
        let mut chosen = Vec::new();
        for load in &self.loads {
            if !load.production
                || !self.is_production_module(load.module)
                || load.candidates.is_empty()
            {
                continue;
            }
            let picked = self.production_candidates(&load.candidates);
            // A labelled `production` entry or a `Prod*` class is no guess even among
            // candidates that could not all be followed.
            if load.guessed
                && !picked
                    .iter()
                    .all(|c| env_kind(&self.classes[*c].name) == EnvKind::Production)
            {
                self.production_guessed = true;
            }
            chosen.extend(picked);
        }
        chosen.sort_unstable();
        chosen.dedup();
        self.production = chosen;
    }

    fn production_candidates(&self, candidates: &[Candidate]) -> Vec<usize> {
        let pick = |f: &dyn Fn(&Candidate) -> bool| -> Vec<usize> {
            candidates
                .iter()
                .filter(|c| f(c))
                .map(|(_, c)| *c)
                .collect()
        };
        let labelled = pick(&|(l, _)| {
            l.as_deref()
                .is_some_and(|l| env_kind(l) == EnvKind::Production)
        });
        if !labelled.is_empty() {
            return labelled;
        }
        let named = pick(&|(_, c)| env_kind(&self.classes[*c].name) == EnvKind::Production);
        if !named.is_empty() {
            return named;
        }
        let mut unique: Vec<usize> = candidates.iter().map(|(_, c)| *c).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() == 1 {
            return unique;
        }
        let defaults = pick(&|(l, _)| l.as_deref() == Some("default"));
        if !defaults.is_empty() {
            return defaults;
        }
        unique
            .into_iter()
            .filter(|c| env_kind(&self.classes[*c].name) == EnvKind::Other)
            .collect()
    }

    /// The literal fallback of an environment read: `os.environ.get('K', 'x')`,
    /// `os.getenv('K') or 'x'`, `config('K', default='x')`.
    pub fn env_fallback(&self, module: usize, value: &'m Expr) -> Option<&'m Expr> {
        match value {
            Expr::Call(call) => {
                let callee = self.imports[module]
                    .qualified(&call.func)
                    .unwrap_or_default();
                let fallback = if ENV_GETTERS.contains(&callee.as_str()) {
                    call.arguments.find_argument_value("default", 1)
                } else if matches!(
                    callee.rsplit('.').next(),
                    Some("config" | "env" | "str" | "get")
                ) && call.arguments.args.first().and_then(str_value).is_some()
                {
                    call.arguments.find_keyword("default").map(|k| &k.value)
                } else {
                    None
                }?;
                (is_constant(fallback) && !matches!(fallback, Expr::NoneLiteral(_)))
                    .then_some(fallback)
            }
            Expr::BoolOp(b) if b.op == BoolOp::Or => {
                let reads_env = b.values.iter().any(|v| self.is_env_read(module, v));
                let literal = b
                    .values
                    .iter()
                    .rev()
                    .map(|v| self.resolve_const(module, v))
                    .find(|v| is_constant(v) && !matches!(v, Expr::NoneLiteral(_)))?;
                reads_env.then_some(literal)
            }
            _ => None,
        }
    }

    pub fn is_env_read(&self, module: usize, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => self.imports[module]
                .qualified(&call.func)
                .is_some_and(|q| ENV_GETTERS.contains(&q.as_str())),
            Expr::Subscript(s) => self.imports[module]
                .qualified(&s.value)
                .is_some_and(|q| q == "os.environ" || q == "environ"),
            _ => false,
        }
    }

    /// Resolve a name to a module-level constant of `module`, following imports once.
    pub fn resolve_const(&self, module: usize, expr: &'m Expr) -> &'m Expr {
        let Expr::Name(n) = expr else { return expr };
        if let Some(v) = self.consts(module).get(n.id.as_str()) {
            return v;
        }
        if let Some(q) = self.imports[module].get(n.id.as_str())
            && let Some((m, name)) = q.rsplit_once('.')
            && let Some(target) = self.modules.iter().position(|x| x.name == m)
            && let Some(v) = self.consts(target).get(name)
        {
            return v;
        }
        expr
    }
}

/// Ways of reading the environment: os.environ.get / os.getenv (and setdefault).
pub const ENV_GETTERS: &[&str] = &[
    "os.environ.get",
    "os.getenv",
    "environ.get",
    "getenv",
    "os.environ.setdefault",
];

/// What an environment name or a class name says about where it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Production,
    Development,
    Other,
}

pub fn env_kind(name: &str) -> EnvKind {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("prod") || lower.contains("production") || lower.contains("prodconfig") {
        EnvKind::Production
    } else if ["dev", "test", "local", "debug", "ci", "unittest"]
        .iter()
        .any(|w| {
            lower.starts_with(w)
                || lower.contains(&format!("_{w}"))
                || lower.contains(&format!("{w}config"))
                || lower.contains("testing")
                || lower.contains("development")
        })
    {
        EnvKind::Development
    } else {
        EnvKind::Other
    }
}

fn class_header(class: &StmtClassDef) -> TextRange {
    let end = class.body.first().map(|s| s.start()).unwrap_or(class.end());
    let header = TextRange::new(class.start(), end);
    // Up to the colon's line: the name is enough for a location.
    TextRange::new(header.start(), class.name.end())
}

/// `NAME = value` at module level (the last binding wins).
fn module_bindings(body: &[Stmt]) -> FxHashMap<&str, &Expr> {
    let mut out = FxHashMap::default();
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        out.insert(n.id.as_str(), a.value.as_ref());
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), a.value.as_deref()) {
                    out.insert(n.id.as_str(), v);
                }
            }
            _ => {}
        }
    }
    out
}

/// `name = value` bindings anywhere in a function body (inside `try`, `if`, `with`…), not in
/// nested functions or classes.
fn local_bindings<'m>(body: &'m [Stmt], out: &mut HashMap<String, Option<&'m Expr>>) {
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => {
                if let [Expr::Name(n)] = a.targets.as_slice() {
                    out.insert(n.id.to_string(), Some(a.value.as_ref()));
                }
            }
            Stmt::If(s) => {
                local_bindings(&s.body, out);
                for c in &s.elif_else_clauses {
                    local_bindings(&c.body, out);
                }
            }
            Stmt::Try(s) => {
                local_bindings(&s.body, out);
                local_bindings(&s.orelse, out);
                local_bindings(&s.finalbody, out);
            }
            Stmt::With(s) => local_bindings(&s.body, out),
            _ => {}
        }
    }
}

/// Config classes by qualified name and by name, to resolve the names code gives them.
struct ClassLookup<'c> {
    /// The first class of each qualified name.
    by_qualname: HashMap<&'c str, usize>,
    /// Classes (not modules) by name.
    by_name: HashMap<&'c str, Vec<usize>>,
}

impl<'c> ClassLookup<'c> {
    fn new(classes: &'c [ConfigClass]) -> Self {
        let mut by_qualname: HashMap<&str, usize> = HashMap::new();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, c) in classes.iter().enumerate() {
            by_qualname.entry(c.qualname.as_str()).or_insert(i);
            if !c.is_module {
                by_name.entry(c.name.as_str()).or_default().push(i);
            }
        }
        Self {
            by_qualname,
            by_name,
        }
    }

    /// The class `qualname` names in module `from_name`: by its qualified name; else, for a
    /// base named without its module, a class of that module; else (imports the module-name
    /// guess did not resolve: a `src/` layout, a package imported under another root) the
    /// only class of that name.
    fn resolve(&self, qualname: &str, from_name: &str) -> Option<usize> {
        if let Some(&i) = self.by_qualname.get(qualname) {
            return Some(i);
        }
        let local = format!("{from_name}.{qualname}");
        if let Some(&i) = self.by_qualname.get(local.as_str()) {
            return Some(i);
        }
        match self.by_name.get(last_segment(qualname)).map(Vec::as_slice) {
            Some(&[only]) => Some(only),
            _ => None,
        }
    }
}

/// Flask's application class, by its two import paths.
const FLASK_CLASSES: &[&str] = &["flask.Flask", "flask.app.Flask"];

/// [`FLASK_CLASSES`] and their last segments, as [`walk_module`] takes them.
static FLASK_OWN: LazyLock<(HashSet<String>, HashSet<&'static str>)> = LazyLock::new(|| {
    (
        FLASK_CLASSES.iter().map(|c| c.to_string()).collect(),
        FLASK_CLASSES.iter().map(|q| last_segment(q)).collect(),
    )
});

/// What walking one module finds: feature use, apps, config writes, routes, config loads.
type Walked<'m> = (
    Uses,
    Vec<AppObject>,
    Vec<ConfigWrite<'m>>,
    Vec<Route<'m>>,
    Vec<PendingLoad<'m>>,
);

/// Walk module `idx` for apps (calls to one of `flask_classes`, whose last segments are
/// `tails`), config writes, routes and config loads.
fn walk_module<'m>(
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
pub(super) fn call_name(call: &ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// A module's constants and calls, with references into its tree.
struct ModuleIndex<'m> {
    consts: FxHashMap<&'m str, &'m Expr>,
    calls: Vec<&'m ExprCall>,
    by_name: Vec<u32>,
}

impl<'m> ModuleIndex<'m> {
    fn new(module: &'m Module) -> Self {
        let body = module.body();
        let calls = super::expr::calls_in_body(body);
        // The name each call is written with (`f` of `f(...)`, `m` of `x.m(...)`), sorted:
        // detectors look up the few calls they care about instead of reading every call.
        let mut by_name: Vec<u32> = (0..calls.len() as u32)
            .filter(|&i| call_name(calls[i as usize]).is_some())
            .collect();
        by_name.sort_by_key(|&i| call_name(calls[i as usize]));
        Self {
            consts: module_bindings(body),
            calls,
            by_name,
        }
    }
}

/// Free the tree of a module in which nothing needs it after parsing: its walk for apps,
/// config and routes finds nothing, it has no class that may be a config class, and it cannot
/// name what the detectors that read whole modules look for. Whatever still asks for the tree
/// parses it again (see [`Module::tree`]), so this saves memory on large repositories without
/// changing what a scan finds; the detectors look modules up by their summaries first.
///
/// A module that makes a call named in `looked_up` keeps its tree too: the detectors that
/// look those calls up would parse it again.
pub fn release_if_cold(module: &mut Module, looked_up: &[&str]) {
    let summary = &module.summary;
    let hot = WHOLE_MODULE_READS
        .iter()
        .any(|q| summary.imports.may_name(q))
        || summary.classes.iter().any(|c| c.config_like);
    if hot {
        return;
    }
    module.record_calls();
    let summary = &module.summary;
    if looked_up.iter().any(|n| summary.may_call(n)) {
        return;
    }
    let (flask_own, tails) = &*FLASK_OWN;
    let (uses, apps, writes, routes, loads) =
        walk_module(0, module, &summary.imports, flask_own, tails);
    let found = uses.session
        || uses.cookies
        || uses.flask_login
        || uses.flask_wtf
        || !apps.is_empty()
        || !writes.is_empty()
        || !routes.is_empty()
        || !loads.is_empty();
    if !found {
        module.release_tree();
        module.cold = true;
    }
}

/// What the detectors that walk every function of a module look for: the request (views and
/// the functions they call), the session and Flask-Login (logins), yaml (unsafe loads).
const WHOLE_MODULE_READS: &[&str] = &["flask.request", "flask.session", "flask_login", "yaml"];

/// What a module uses. A bare `from flask import session` that nothing reads is not session
/// use, so the code is searched, but only in modules that import from flask at all.
fn module_uses(body: &[Stmt], imports: &Imports) -> Uses {
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

fn is_config_key(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// UPPERCASE `NAME = value` assignments of a class body or module.
pub(super) fn uppercase_assignments(stmt: &Stmt) -> Vec<(String, &Expr, TextRange)> {
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
const WALKED_CALLS: &[&str] = &[
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
const ADD_URL_RULE: &str = "add_url_rule";

struct PendingLoad<'m> {
    module: usize,
    kind: LoadKind,
    production: bool,
    range: TextRange,
    arg: Option<&'m Expr>,
    param_defaults: Option<HashMap<String, Option<&'m Expr>>>,
    /// The enclosing function's name and its parameters in order.
    function: Option<(String, Vec<String>)>,
}

struct ModuleWalker<'a, 'm> {
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
        super::expr::collect_calls(expr, &mut calls);
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
fn route_methods(call: &ExprCall) -> Option<Vec<String>> {
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
fn branch_environment(test: &Expr, imports: &Imports) -> (bool, bool) {
    match dev_condition(test, imports) {
        Some(true) => (false, true),
        Some(false) => (true, false),
        None => (true, true),
    }
}

/// Some(true) when the condition holds only in development or testing, Some(false) when it
/// holds only outside them, None when it says nothing about the environment.
fn dev_condition(test: &Expr, imports: &Imports) -> Option<bool> {
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

fn mentions_dev(expr: &Expr) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_params_with_converters() {
        assert_eq!(
            url_params("/u/<int:id>/<name>/<path:p>"),
            vec![
                ("id".to_string(), Some("int".to_string())),
                ("name".to_string(), None),
                ("p".to_string(), Some("path".to_string())),
            ]
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(env_kind("ProductionConfig"), EnvKind::Production);
        assert_eq!(env_kind("production"), EnvKind::Production);
        assert_eq!(env_kind("DevelopmentConfig"), EnvKind::Development);
        assert_eq!(env_kind("TestingConfig"), EnvKind::Development);
        assert_eq!(env_kind("Config"), EnvKind::Other);
        assert_eq!(env_kind("default"), EnvKind::Other);
    }

    #[test]
    fn env_file_values() {
        let f = EnvFile::parse(
            ".env",
            "# c\nexport FLASK_DEBUG=1\nSECRET_KEY='abc' \nX=y # note\n".into(),
        );
        assert_eq!(f.get("FLASK_DEBUG").map(|e| e.1.as_str()), Some("1"));
        assert_eq!(
            f.get("SECRET_KEY").map(|e| (e.1.as_str(), e.2)),
            Some(("abc", 3))
        );
        assert_eq!(f.get("X").map(|e| e.1.as_str()), Some("y"));
    }

    fn modules_of(files: &[(&str, &str)]) -> Vec<Arc<Module>> {
        files
            .iter()
            .map(|(path, src)| {
                Arc::new(super::super::parse(path, src.to_string()).expect("parses"))
            })
            .collect()
    }

    #[test]
    fn apps_of_project_flask_subclasses_by_name_and_alias() {
        let modules = modules_of(&[
            (
                "pkg/base.py",
                "from flask import Flask\nclass MyApp(Flask):\n    pass\n",
            ),
            (
                "pkg/app.py",
                "from pkg.base import MyApp\napp = MyApp(__name__)\napp.config['DEBUG'] = True\n",
            ),
            (
                "pkg/other.py",
                "from pkg.base import MyApp as A\nother = A(__name__)\n",
            ),
            (
                "pkg/plain.py",
                "from flask import Flask\nplain = Flask(__name__)\n",
            ),
        ]);
        let facts = Facts::compute(&modules, Vec::new(), Vec::new());
        let mut vars: Vec<&str> = facts.apps.iter().filter_map(|a| a.var.as_deref()).collect();
        vars.sort_unstable();
        assert_eq!(vars, ["app", "other", "plain"]);
        assert!(
            facts
                .writes
                .iter()
                .any(|w| w.key == "DEBUG" && w.module == 1)
        );
    }

    #[test]
    fn calls_named_and_calls_to_follow_aliases() {
        let modules = modules_of(&[(
            "app.py",
            "from flask_wtf import CSRFProtect as C\nimport flask_wtf\nC(app)\nflask_wtf.CSRFProtect(app)\nx.CSRFProtect()\nrun()\napp.run()\n",
        )]);
        let facts = Facts::compute(&modules, Vec::new(), Vec::new());
        assert_eq!(facts.calls_named(0, "run").count(), 2);
        let lines: Vec<usize> = facts
            .calls_to(0, &["flask_wtf.CSRFProtect"])
            .iter()
            .map(|c| modules[0].source.span(c.range()).start.line)
            .collect();
        assert_eq!(lines, [3, 4]);
    }

    #[test]
    fn freed_trees_give_the_same_facts() {
        let files = [
            (
                "pkg/base.py",
                "from flask import Flask\nclass MyApp(Flask):\n    pass\n",
            ),
            // Nothing here is a Flask app until the project's subclass is known.
            (
                "pkg/app.py",
                "from pkg.base import MyApp\napp = MyApp(__name__)\napp.config.from_object('pkg.settings')\n",
            ),
            ("pkg/settings.py", "SECRET_KEY = 'x'\nDEBUG = True\n"),
            ("pkg/tasks.py", "def helper(x):\n    return x.run()\n"),
            // Walked again once the subclass is known, from a freed tree.
            (
                "pkg/wsgi.py",
                "from pkg.base import MyApp\nserver = MyApp(__name__)\n",
            ),
        ];
        let all = modules_of(&files);
        let freed: Vec<Arc<Module>> = files
            .iter()
            .map(|(path, src)| {
                let mut m = super::super::parse(path, src.to_string()).expect("parses");
                release_if_cold(&mut m, &[]);
                Arc::new(m)
            })
            .collect();
        let cold: Vec<&str> = freed
            .iter()
            .filter(|m| m.cold)
            .map(|m| m.path.as_str())
            .collect();
        assert_eq!(
            cold,
            [
                "pkg/base.py",
                "pkg/settings.py",
                "pkg/tasks.py",
                "pkg/wsgi.py"
            ]
        );
        let a = Facts::compute(&all, Vec::new(), Vec::new());
        let b = Facts::compute(&freed, Vec::new(), Vec::new());
        let apps = |f: &Facts| {
            f.apps
                .iter()
                .map(|a| (a.module, a.var.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(apps(&a), apps(&b));
        assert!(apps(&b).contains(&(4, Some("server".to_string()))));
        let writes = |f: &Facts| {
            f.writes
                .iter()
                .map(|w| (w.module, w.key.clone(), w.range))
                .collect::<Vec<_>>()
        };
        assert_eq!(writes(&a), writes(&b));
        assert!(
            writes(&b)
                .iter()
                .any(|(m, k, _)| *m == 2 && k == "SECRET_KEY")
        );
        assert_eq!(a.production, b.production);
        assert_eq!(b.calls_named(3, "run").count(), 1);
        assert!(b.binds(2, "DEBUG") && !b.binds(3, "DEBUG"));
    }
}
