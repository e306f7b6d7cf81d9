//! What a module's tree says that other modules and the detectors' lookups need, kept as owned
//! data so the tree itself can be freed (and parsed again on demand) on large repositories.
//!
//! Every query here is a necessary condition: when the summary says a module has no call named
//! `x`, its tree has none. Hashes of names stand in for the names (a collision only costs a
//! needless look at the tree).

use std::hash::{Hash, Hasher};

use ruff_python_ast::{Expr, Stmt};
use rustc_hash::FxHasher;

use super::imports::Imports;

/// A class defined at a module's top level.
#[derive(Debug, Clone)]
pub struct TopClass {
    pub name: String,
    /// The qualified names of its bases, as the module's imports resolve them.
    pub bases: Vec<String>,
    /// Index of the class statement in the module's body.
    pub stmt: u32,
    /// It may be a config class: UPPERCASE attributes, or a name ending in Config/Settings.
    pub config_like: bool,
    /// Methods defined in its body: name and index of the definition in the class's body.
    pub methods: Vec<(String, u32)>,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub imports: Imports,
    /// Hashes of the names calls are written with (`f` of `f(...)`, `m` of `x.m(...)`), sorted;
    /// recorded for the modules whose tree the scan may free (see [`Summary::record_calls`]).
    call_names: Option<Vec<u64>>,
    /// Hashes of the names bound at module level (`NAME = value`), sorted.
    const_names: Vec<u64>,
    pub classes: Vec<TopClass>,
    /// Top-level functions: name and index of the statement in the body.
    pub functions: Vec<(String, u32)>,
}

pub fn name_hash(name: &str) -> u64 {
    let mut h = FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

impl Summary {
    pub fn new(body: &[Stmt], module: &str, is_package: bool) -> Self {
        let imports = Imports::collect(body, module, is_package);
        let mut const_names = Vec::new();
        let mut classes = Vec::new();
        let mut functions = Vec::new();
        for (i, stmt) in body.iter().enumerate() {
            match stmt {
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            const_names.push(name_hash(n.id.as_str()));
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(_)) = (a.target.as_ref(), &a.value) {
                        const_names.push(name_hash(n.id.as_str()));
                    }
                }
                Stmt::ClassDef(c) => {
                    let name = c.name.as_str();
                    let config_like = name.ends_with("Config")
                        || name.ends_with("Settings")
                        || c.body
                            .iter()
                            .any(|s| !super::facts::uppercase_assignments(s).is_empty());
                    classes.push(TopClass {
                        name: name.to_string(),
                        bases: c
                            .bases()
                            .iter()
                            .filter_map(|b| imports.qualified(b))
                            .collect(),
                        stmt: i as u32,
                        config_like,
                        methods: c
                            .body
                            .iter()
                            .enumerate()
                            .filter_map(|(j, s)| match s {
                                Stmt::FunctionDef(f) => Some((f.name.to_string(), j as u32)),
                                _ => None,
                            })
                            .collect(),
                    });
                }
                Stmt::FunctionDef(f) => functions.push((f.name.to_string(), i as u32)),
                _ => {}
            }
        }
        const_names.sort_unstable();
        const_names.dedup();
        Self {
            imports,
            call_names: None,
            const_names,
            classes,
            functions,
        }
    }

    /// Record the names the module's calls are written with.
    pub fn record_calls(&mut self, body: &[Stmt]) {
        let mut names: Vec<u64> = super::expr::calls_in_body(body)
            .into_iter()
            .filter_map(|c| super::facts::call_name(c).map(name_hash))
            .collect();
        names.sort_unstable();
        names.dedup();
        self.call_names = Some(names);
    }

    /// False when no call of the module is written with `name` (always true until the calls
    /// are recorded).
    pub fn may_call(&self, name: &str) -> bool {
        self.call_names
            .as_ref()
            .is_none_or(|names| names.binary_search(&name_hash(name)).is_ok())
    }

    /// False when the module binds no `name` at its top level.
    pub fn may_bind(&self, name: &str) -> bool {
        self.const_names.binary_search(&name_hash(name)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(src: &str) -> Summary {
        let parsed = ruff_python_parser::parse_module(src).expect("valid python");
        let mut s = Summary::new(&parsed.syntax().body, "app", false);
        s.record_calls(&parsed.syntax().body);
        s
    }

    #[test]
    fn records_calls_bindings_classes_and_functions() {
        let s = summary(
            "import flask\nKEY = 'x'\nclass ProdConfig(Base):\n    DEBUG = False\nclass Helper:\n    pass\ndef f():\n    g(x.run(1))\n",
        );
        assert!(s.may_call("run") && s.may_call("g"));
        assert!(!s.may_call("execute"));
        assert!(s.may_bind("KEY") && !s.may_bind("DEBUG"));
        let names: Vec<(&str, bool)> = s
            .classes
            .iter()
            .map(|c| (c.name.as_str(), c.config_like))
            .collect();
        assert_eq!(names, vec![("ProdConfig", true), ("Helper", false)]);
        assert_eq!(s.classes[0].bases, vec!["Base".to_string()]);
        assert_eq!(s.functions, vec![("f".to_string(), 4)]);
    }
}
