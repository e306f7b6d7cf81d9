//! Facts every detector shares, computed once per scan: Flask app objects, routes, every
//! configuration source (see FLASK_FACTS.md "Where configuration comes from"), which config
//! production uses, committed env files and templates.
//!
//! The rooms: this file holds the facts and their lookups (classes, writes, calls, constants);
//! `walker` walks each module once for apps, config writes and loads, routes and feature use;
//! `config_loads` works out what each `from_*` load may load and which config production uses.

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

mod config_loads;
mod walker;

pub use config_loads::{ENV_GETTERS, EnvKind, env_kind};
pub use walker::url_params;
use walker::*;
pub(in crate::python) use walker::{call_name, uppercase_assignments};

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

    /// Template files the code names (`render_template("page.tpl")`) that the walk did not
    /// classify as templates: a custom `template_folder`, an unusual extension. Returns paths
    /// relative to the root that may hold them, most likely first.
    pub fn referenced_template_paths(&self) -> Vec<String> {
        let facts = self;
        let mut out = Vec::new();
        for (idx, m) in facts.modules.iter().enumerate() {
            // Folders only matter to this module's own render_template calls.
            if m.is_test || facts.calls_named(idx, "render_template").next().is_none() {
                continue;
            }
            let dir = m.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let mut folders: Vec<String> = vec!["templates".to_string()];
            // The keyword has to be in the text for a call to pass it.
            let calls: &[&ruff_python_ast::ExprCall] = if m.source.text.contains("template_folder")
            {
                facts.calls(idx)
            } else {
                &[]
            };
            for c in calls {
                if let Some(folder) = c
                    .arguments
                    .find_keyword("template_folder")
                    .and_then(|k| super::expr::str_value(&k.value))
                {
                    folders.push(folder.trim_end_matches('/').to_string());
                }
            }
            for c in facts.calls_named(idx, "render_template") {
                let Some(name) = c.arguments.args.first().and_then(super::expr::str_value) else {
                    continue;
                };
                if name.contains("..") || name.starts_with('/') {
                    continue;
                }
                for folder in &folders {
                    let rel = [dir, folder.as_str(), name.as_str()]
                        .iter()
                        .filter(|p| !p.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("/");
                    out.push(rel);
                }
            }
        }
        out.sort();
        out.dedup();
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
