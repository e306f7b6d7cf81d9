//! Import resolution: which qualified name a local name stands for in a module.

use rustc_hash::FxHashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};

/// Local name → qualified name (`F` → `flask.Flask`, `req` → `flask.request`).
#[derive(Debug, Default, Clone)]
pub struct Imports {
    /// Looked up for most names of most modules: FxHash, not the DoS-resistant default (the keys
    /// are identifiers of one file).
    names: FxHashMap<String, String>,
}

impl Imports {
    /// Collect every import of a module, wherever it stands (app factories import inside
    /// functions). `module` is the importing module's dotted name, `is_package` whether it is an
    /// `__init__.py`, for relative imports.
    pub fn collect(body: &[Stmt], module: &str, is_package: bool) -> Self {
        let mut c = Collector {
            imports: Imports::default(),
            module,
            is_package,
        };
        c.visit_body(body);
        c.imports
    }

    pub fn get(&self, local: &str) -> Option<&str> {
        self.names.get(local).map(String::as_str)
    }

    /// The qualified name an expression refers to: `request.args` → `flask.request.args`.
    /// Names that are not imported stay bare (`open`, a local function).
    pub fn qualified(&self, expr: &Expr) -> Option<String> {
        super::expr::dotted_with(expr, |name| {
            self.names.get(name).map_or(name, String::as_str)
        })
    }

    /// Whether `expr` names one of `targets` (qualified names). Compares in place: detectors
    /// ask this of every call of every module, and building the name each time showed in
    /// profiles.
    pub fn is(&self, expr: &Expr, targets: &[&str]) -> bool {
        // The last segment rules out most expressions without a lookup.
        let last = match expr {
            Expr::Attribute(a) => a.attr.id.as_str(),
            Expr::Name(_) => return self.is_name(expr, targets),
            _ => return false,
        };
        targets.iter().any(|t| {
            t.rsplit('.').next() == Some(last) && self.rest_of(expr, t).is_some_and(str::is_empty)
        })
    }

    fn is_name(&self, expr: &Expr, targets: &[&str]) -> bool {
        let Expr::Name(n) = expr else { return false };
        let q = self
            .names
            .get(n.id.as_str())
            .map_or(n.id.as_str(), String::as_str);
        targets.contains(&q)
    }

    /// What is left of `target` once the qualified name of `expr` is taken off its front.
    fn rest_of<'t>(&self, expr: &Expr, target: &'t str) -> Option<&'t str> {
        match expr {
            Expr::Attribute(a) => self
                .rest_of(&a.value, target)?
                .strip_prefix('.')?
                .strip_prefix(a.attr.id.as_str()),
            Expr::Name(n) => {
                let head = self
                    .names
                    .get(n.id.as_str())
                    .map_or(n.id.as_str(), String::as_str);
                target.strip_prefix(head)
            }
            _ => None,
        }
    }

    /// Local names bound to one of `targets` (`C` of `from flask_wtf import CSRFProtect as C`):
    /// the names a call to a target can be written with, besides the target's last segment.
    pub fn aliases_of<'s>(&'s self, targets: &'s [&str]) -> impl Iterator<Item = &'s str> + 's {
        self.names
            .iter()
            .filter(|(_, q)| targets.contains(&q.as_str()))
            .map(|(local, _)| local.as_str())
    }

    /// Local names imported under another name than the last segment of what they stand for
    /// (`P` of `from .ext import MyProtect as P`), with that last segment.
    pub fn renamed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().filter_map(|(local, q)| {
            let tail = q.rsplit('.').next().unwrap_or(q);
            (tail != local).then_some((local.as_str(), tail))
        })
    }

    /// The last segment of the qualified name of `expr`, without building the name.
    pub fn tail<'e>(&'e self, expr: &'e Expr) -> Option<&'e str> {
        match expr {
            Expr::Attribute(a) => Some(a.attr.id.as_str()),
            Expr::Name(n) => Some(
                self.names
                    .get(n.id.as_str())
                    .map_or(n.id.as_str(), |q| q.rsplit('.').next().unwrap_or(q)),
            ),
            _ => None,
        }
    }

    /// Whether the name at the root of `expr` (`request` in `request.form.get`) is imported:
    /// only then can its qualified name start with a module's.
    pub fn root_imported(&self, expr: &Expr) -> bool {
        let mut current = expr;
        loop {
            match current {
                Expr::Attribute(a) => current = &a.value,
                Expr::Name(n) => return self.names.contains_key(n.id.as_str()),
                _ => return false,
            }
        }
    }

    /// Whether an expression of this module can qualify to `qualified` (`flask.request`): some
    /// import binds it or a module or attribute on its path. A module that cannot name
    /// `flask.request` cannot read the request.
    pub fn may_name(&self, qualified: &str) -> bool {
        self.names.values().any(|q| names_path(q, qualified))
    }

    /// The local names bound to exactly `qualified` (`session` for `flask.session`).
    pub fn locals_bound_to<'s>(&'s self, qualified: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.names
            .iter()
            .filter(move |(_, q)| q.as_str() == qualified)
            .map(|(local, _)| local.as_str())
    }

    /// The local names through which an expression can qualify to `qualified` (see
    /// [`Imports::may_name`]): code that mentions none of them cannot name it.
    pub fn locals_naming<'s>(&'s self, qualified: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.names
            .iter()
            .filter(move |(_, q)| names_path(q, qualified))
            .map(|(local, _)| local.as_str())
    }

    /// Whether any import of the module comes from `prefix` (`flask_login`).
    pub fn imports_from(&self, prefix: &str) -> bool {
        self.names.values().any(|q| {
            q == prefix || (q.starts_with(prefix) && q.as_bytes().get(prefix.len()) == Some(&b'.'))
        })
    }
}

/// Whether a name imported as `q` is `qualified`, a module or attribute on its path, or an
/// attribute of it.
fn names_path(q: &str, qualified: &str) -> bool {
    qualified == q
        || (qualified.starts_with(q) && qualified.as_bytes().get(q.len()) == Some(&b'.'))
        || (q.starts_with(qualified) && q.as_bytes().get(qualified.len()) == Some(&b'.'))
}

/// `flask.ext.wtf` is the old spelling of `flask_wtf` (removed in Flask 1.0, still in legacy
/// code).
fn modern(module: &str) -> String {
    match module.strip_prefix("flask.ext.") {
        Some(rest) => format!("flask_{rest}"),
        None if module == "flask.ext" => "flask_ext".to_string(),
        None => module.to_string(),
    }
}

struct Collector<'a> {
    imports: Imports,
    module: &'a str,
    is_package: bool,
}

impl Collector<'_> {
    fn resolve_relative(&self, level: u32, module: Option<&str>) -> String {
        let mut parts: Vec<&str> = self.module.split('.').collect();
        if !self.is_package {
            parts.pop();
        }
        for _ in 1..level {
            parts.pop();
        }
        let mut base = parts.join(".");
        if let Some(m) = module {
            if !base.is_empty() {
                base.push('.');
            }
            base.push_str(m);
        }
        base
    }
}

impl<'a> Visitor<'a> for Collector<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let full = modern(alias.name.id.as_str());
                    match &alias.asname {
                        Some(as_name) => {
                            self.imports.names.insert(as_name.id.to_string(), full);
                        }
                        None => {
                            let head = full.split('.').next().unwrap_or(&full).to_string();
                            self.imports.names.insert(head.clone(), head);
                        }
                    }
                }
            }
            Stmt::ImportFrom(imp) => {
                let module = imp.module.as_ref().map(|m| m.id.as_str());
                let base = if imp.level > 0 {
                    self.resolve_relative(imp.level, module)
                } else {
                    modern(module.unwrap_or(""))
                };
                for alias in &imp.names {
                    if alias.name.id.as_str() == "*" {
                        continue;
                    }
                    let local = alias
                        .asname
                        .as_ref()
                        .map(|a| a.id.to_string())
                        .unwrap_or_else(|| alias.name.id.to_string());
                    let full = if base == "flask_ext" {
                        format!("flask_{}", alias.name.id)
                    } else if base.is_empty() {
                        alias.name.id.to_string()
                    } else {
                        format!("{base}.{}", alias.name.id)
                    };
                    self.imports.names.insert(local, full);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, _expr: &'a Expr) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str, module: &str, is_package: bool) -> Imports {
        let parsed = ruff_python_parser::parse_module(src).expect("valid python");
        Imports::collect(&parsed.syntax().body, module, is_package)
    }

    #[test]
    fn resolves_aliases_and_relative_imports() {
        let i = imports(
            "import flask as fl\nfrom flask import request as req\nfrom .config import Prod\nfrom ..models import db\nimport os.path\ndef f():\n    from flask_wtf.csrf import CSRFProtect\n",
            "app.views.auth",
            false,
        );
        assert_eq!(i.get("fl"), Some("flask"));
        assert_eq!(i.get("req"), Some("flask.request"));
        assert_eq!(i.get("Prod"), Some("app.views.config.Prod"));
        assert_eq!(i.get("db"), Some("app.models.db"));
        assert_eq!(i.get("os"), Some("os"));
        assert_eq!(i.get("CSRFProtect"), Some("flask_wtf.csrf.CSRFProtect"));
        let legacy = imports(
            "from flask.ext.wtf import Form\nfrom flask.ext import login\n",
            "app",
            false,
        );
        assert_eq!(legacy.get("Form"), Some("flask_wtf.Form"));
        assert_eq!(legacy.get("login"), Some("flask_login"));
        let pkg = imports("from . import views\n", "app", true);
        assert_eq!(pkg.get("views"), Some("app.views"));
    }

    #[test]
    fn locals_that_can_name_the_request() {
        let i = imports(
            "import flask\nfrom flask import request as req, session\nimport os\n",
            "app",
            false,
        );
        let mut locals: Vec<&str> = i.locals_naming("flask.request").collect();
        locals.sort_unstable();
        assert_eq!(locals, ["flask", "req"]);
        assert!(i.may_name("flask.request") && !i.may_name("yaml"));
    }
}
