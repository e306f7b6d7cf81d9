//! Python sources: parsing with ruff's parser, and the semantic facts detectors share.

pub mod depth;
pub mod expr;
pub mod facts;
pub mod imports;
pub mod request_sources;
pub mod summary;
pub mod taint;
pub mod templates;

use std::sync::OnceLock;

use ruff_python_ast::ModModule;
use ruff_python_parser::{Mode, ParseOptions};
use ruff_text_size::TextRange;

use crate::finding::{Diagnostic, Finding, Severity};
use crate::source::SourceText;

/// A parsed Python file of the repository.
pub struct Module {
    /// Relative path, forward slashes.
    pub path: String,
    /// Dotted module name (`app.views.auth`; a package's `__init__.py` is the package).
    pub name: String,
    pub source: SourceText,
    /// The syntax tree, when it is held (see [`Module::release_tree`]). The parser's tokens
    /// are not kept: nothing reads them, and on a large repository they cost more memory than
    /// the trees.
    tree: OnceLock<ModModule>,
    /// What other modules and the detectors' lookups need from the tree, always held.
    pub summary: summary::Summary,
    /// Tests, fixtures and conftest files: not production code.
    pub is_test: bool,
    /// The scan found nothing in this module's first walk and freed its tree
    /// ([`facts::release_if_cold`]).
    pub cold: bool,
}

impl Module {
    /// The syntax tree, parsed again from the source if it was freed. The source parsed
    /// without errors the first time, so it gives the same tree.
    pub fn tree(&self) -> &ModModule {
        self.tree.get_or_init(|| {
            ruff_python_parser::parse_unchecked(&self.source.text, ParseOptions::from(Mode::Module))
                .try_into_module()
                .map(|m| m.into_syntax())
                .unwrap_or_else(|| ModModule {
                    node_index: Default::default(),
                    range: TextRange::default(),
                    body: Default::default(),
                })
        })
    }

    pub fn body(&self) -> &[ruff_python_ast::Stmt] {
        &self.tree().body
    }

    /// Take the syntax tree out, to free it; [`Module::tree`] parses it again if anything
    /// asks.
    pub fn release_tree(&mut self) -> Option<ModModule> {
        self.tree.take()
    }

    /// Record in the summary the names the module's calls are written with (see
    /// [`summary::Summary::may_call`]), from the tree it holds.
    pub fn record_calls(&mut self) {
        if let Some(tree) = self.tree.get() {
            self.summary.record_calls(&tree.body);
        }
    }

    pub fn has_tree(&self) -> bool {
        self.tree.get().is_some()
    }

    pub fn text(&self, range: TextRange) -> &str {
        self.source
            .text
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    /// A finding at `range` of this module.
    pub fn finding(
        &self,
        rule: &str,
        severity: Severity,
        range: TextRange,
        message: impl Into<String>,
    ) -> Finding {
        self.source
            .finding(&self.path, rule, severity, range, message)
    }
}

/// Parse a file. A file with syntax errors is not analysed (its recovered tree would give
/// findings on code Python would never run); it becomes a diagnostic.
pub fn parse(path: &str, text: String) -> Result<Module, Diagnostic> {
    if let Err(too_deep) = depth::check(&text) {
        return Err(Diagnostic {
            path: path.to_string(),
            message: too_deep.to_string(),
        });
    }
    let parsed = ruff_python_parser::parse_unchecked(&text, ParseOptions::from(Mode::Module));
    let source = SourceText::new(text);
    if let Some(err) = parsed.errors().first() {
        let pos = source.lines().position(&source.text, err.location.start());
        let py2 = looks_like_python2(&source.text);
        let message = if py2 {
            format!(
                "syntax error at line {}: {} (this looks like Python 2, which flask-harden does not analyse)",
                pos.line, err.error
            )
        } else {
            format!(
                "syntax error at line {}:{}: {}; file not analysed",
                pos.line, pos.column, err.error
            )
        };
        return Err(Diagnostic {
            path: path.to_string(),
            message,
        });
    }
    let ast = match parsed.try_into_module() {
        Some(m) => m.into_syntax(),
        None => {
            return Err(Diagnostic {
                path: path.to_string(),
                message: "not a Python module".to_string(),
            });
        }
    };
    let name = module_name(path);
    let summary = summary::Summary::new(&ast.body, &name, path.ends_with("__init__.py"));
    Ok(Module {
        path: path.to_string(),
        name,
        is_test: is_test_path(path),
        source,
        tree: OnceLock::from(ast),
        summary,
        cold: false,
    })
}

fn looks_like_python2(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        (t.starts_with("print ") && !t.starts_with("print (") && !t.contains("print ="))
            || t.starts_with("exec ")
            || (t.starts_with("except ")
                && t.contains(", ")
                && t.ends_with(':')
                && !t.contains('('))
            || t.contains("ur\"")
            || t.contains(" <> ")
    })
}

/// Dotted module name of a path: `app/views/auth.py` → `app.views.auth`,
/// `app/__init__.py` → `app`. A leading `src/` folder is dropped.
pub fn module_name(path: &str) -> String {
    let trimmed = path.strip_prefix("src/").unwrap_or(path);
    let without_ext = trimmed
        .strip_suffix(".py")
        .or_else(|| trimmed.strip_suffix(".pyw"))
        .unwrap_or(trimmed);
    let without_init = without_ext.strip_suffix("/__init__").unwrap_or(without_ext);
    without_init.replace('/', ".")
}

/// Test code: a `tests`/`test` folder, `test_*.py`, `*_test.py`, `conftest.py`.
pub fn is_test_path(path: &str) -> bool {
    let mut parts = path.split('/').rev();
    let name = parts.next().unwrap_or("");
    if name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || name == "tests.py"
    {
        return true;
    }
    parts.any(|d| d == "tests" || d == "test" || d == "testing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(module_name("app/views/auth.py"), "app.views.auth");
        assert_eq!(module_name("app/__init__.py"), "app");
        assert_eq!(module_name("src/pkg/config.py"), "pkg.config");
        assert_eq!(module_name("wsgi.py"), "wsgi");
    }

    #[test]
    fn python2_file_is_a_diagnostic() {
        let err = parse("old.py", "print 'hello'\n".to_string())
            .err()
            .map(|d| d.message);
        assert!(err.is_some_and(|m| m.contains("Python 2")));
    }

    #[test]
    fn python312_fstrings_parse() {
        let m = parse("new.py", "x = f\"{'a' + f\"{1}\"}\"\n".to_string());
        assert!(m.is_ok());
    }

    #[test]
    fn a_freed_tree_is_parsed_again() {
        let mut m = parse(
            "lib.py",
            "import os\ndef f(x):\n    return os.path.join(x)\n".into(),
        )
        .expect("parses");
        let before = format!("{:?}", m.body());
        m.release_tree();
        assert!(!m.has_tree());
        assert_eq!(format!("{:?}", m.body()), before);
        assert!(m.has_tree());
    }

    #[test]
    fn test_paths() {
        assert!(is_test_path("tests/test_app.py"));
        assert!(is_test_path("app/conftest.py"));
        assert!(!is_test_path("app/testimonials.py"));
    }
}
