//! Adding an import beside the module's existing ones, never twice.

use ruff_python_ast::{Alias, Stmt, StmtImportFrom};
use ruff_python_parser::parse_module;
use ruff_text_size::Ranged;

use super::plan::Edit;
use super::style::{LineEnding, line_end_inclusive, line_start};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{0:?} is not a single `import …` or `from … import …` statement")]
    BadStatement(String),
    #[error("the module does not parse, so imports cannot be placed: {0}")]
    ModuleSyntax(String),
}

/// The edit that makes `statement` (`"import os"`, `"from flask_wtf.csrf import CSRFProtect"`)
/// hold in `module_source`, or `None` when the module already imports it at top level.
///
/// A `from X import Y` joins an existing top-level `from X import …` (`, Y` after its last
/// name); anything else becomes a new line after the module's leading import block (after the
/// docstring and `from __future__` imports when there is no block), written with the file's
/// line ending.
pub fn ensure_import(module_source: &str, statement: &str) -> Result<Option<Edit>, ImportError> {
    let wanted = parse_module(statement)
        .map_err(|_| ImportError::BadStatement(statement.to_string()))?
        .into_syntax()
        .body;
    let [wanted] = wanted.as_slice() else {
        return Err(ImportError::BadStatement(statement.to_string()));
    };
    let module = parse_module(module_source)
        .map_err(|e| ImportError::ModuleSyntax(e.error.to_string()))?
        .into_syntax();
    let body = &module.body;
    let eol = LineEnding::detect(module_source);

    match wanted {
        Stmt::Import(imp) => {
            let missing: Vec<&Alias> = imp
                .names
                .iter()
                .filter(|a| !body.iter().any(|s| binds_import(s, a)))
                .collect();
            if missing.is_empty() {
                return Ok(None);
            }
            let names: Vec<String> = missing.iter().map(|a| alias_text(a)).collect();
            let line = format!("import {}", names.join(", "));
            Ok(Some(new_line(module_source, body, &line, eol)))
        }
        Stmt::ImportFrom(from) if from.module.is_some() && !is_star(from) => {
            let module_name = from.module.as_ref().map(|m| m.as_str()).unwrap_or("");
            let existing: Vec<&StmtImportFrom> = body
                .iter()
                .filter_map(|s| match s {
                    Stmt::ImportFrom(f)
                        if f.level == from.level
                            && f.module.as_ref().map(|m| m.as_str()) == Some(module_name) =>
                    {
                        Some(f)
                    }
                    _ => None,
                })
                .collect();
            let missing: Vec<&Alias> = from
                .names
                .iter()
                .filter(|a| {
                    !existing.iter().any(|f| {
                        f.names.iter().any(|b| {
                            b.name.as_str() == a.name.as_str() && bound_name(b) == bound_name(a)
                        })
                    })
                })
                .collect();
            if missing.is_empty() {
                return Ok(None);
            }
            let names: Vec<String> = missing.iter().map(|a| alias_text(a)).collect();
            if let Some(f) = existing.iter().find(|f| !is_star(f))
                && let Some(last) = f.names.last()
            {
                let at = last.range().end().to_usize();
                return Ok(Some(Edit {
                    range: at..at,
                    original: String::new(),
                    replacement: format!(", {}", names.join(", ")),
                }));
            }
            let dots = ".".repeat(from.level as usize);
            let line = format!("from {dots}{module_name} import {}", names.join(", "));
            Ok(Some(new_line(module_source, body, &line, eol)))
        }
        _ => Err(ImportError::BadStatement(statement.to_string())),
    }
}

fn is_star(from: &StmtImportFrom) -> bool {
    from.names.iter().any(|a| a.name.as_str() == "*")
}

/// The name an alias binds: `import a.b` binds `a`, `import a.b as c` binds `c`.
fn bound_name(a: &Alias) -> &str {
    match &a.asname {
        Some(n) => n.as_str(),
        None => a.name.as_str(),
    }
}

fn alias_text(a: &Alias) -> String {
    match &a.asname {
        Some(n) => format!("{} as {}", a.name.as_str(), n.as_str()),
        None => a.name.as_str().to_string(),
    }
}

/// Whether a top-level statement already gives `wanted` (an `import x` alias): the same module
/// under the same name (`import os.path` also binds `os`).
fn binds_import(stmt: &Stmt, wanted: &Alias) -> bool {
    let Stmt::Import(imp) = stmt else {
        return false;
    };
    imp.names.iter().any(|a| match (&wanted.asname, &a.asname) {
        (Some(w), Some(h)) => w.as_str() == h.as_str() && a.name.as_str() == wanted.name.as_str(),
        (None, None) => {
            a.name.as_str() == wanted.name.as_str()
                || a.name
                    .as_str()
                    .strip_prefix(wanted.name.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
                    && !wanted.name.as_str().contains('.')
        }
        (None, Some(h)) => h.as_str() == wanted.name.as_str() && a.name.as_str() == h.as_str(),
        (Some(_), None) => false,
    })
}

/// Insert `line` on its own line after the leading imports (or the docstring and `__future__`
/// imports, or at the top).
fn new_line(source: &str, body: &[Stmt], line: &str, eol: LineEnding) -> Edit {
    let mut after: Option<usize> = None;
    for (i, stmt) in body.iter().enumerate() {
        match stmt {
            Stmt::Expr(e) if i == 0 && e.value.is_string_literal_expr() => {
                after = Some(stmt.range().end().to_usize());
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => after = Some(stmt.range().end().to_usize()),
            _ => break,
        }
    }
    let eol = eol.as_str();
    match after {
        Some(end) => {
            let at = line_end_inclusive(source, end);
            let needs_break = !source[..at].ends_with('\n');
            Edit {
                range: at..at,
                original: String::new(),
                replacement: if needs_break {
                    format!("{eol}{line}{eol}")
                } else {
                    format!("{line}{eol}")
                },
            }
        }
        None => {
            // Before the first statement, after leading comments (a shebang, an encoding
            // cookie, a licence header).
            let at = body.first().map_or(source.len(), |s| {
                line_start(source, s.range().start().to_usize())
            });
            let needs_break = at > 0 && !source[..at].ends_with('\n');
            Edit {
                range: at..at,
                original: String::new(),
                replacement: if needs_break {
                    format!("{eol}{line}{eol}")
                } else {
                    format!("{line}{eol}")
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::plan::splice;

    fn ensure(src: &str, stmt: &str) -> String {
        match ensure_import(src, stmt).unwrap() {
            Some(e) => splice(src, &[e]),
            None => src.to_string(),
        }
    }

    #[test]
    fn adds_after_the_import_block_once() {
        let src =
            "\"\"\"App.\"\"\"\nimport sys\nfrom flask import Flask\n\napp = Flask(__name__)\n";
        let once = ensure(src, "import os");
        assert_eq!(
            once,
            "\"\"\"App.\"\"\"\nimport sys\nfrom flask import Flask\nimport os\n\napp = Flask(__name__)\n"
        );
        assert_eq!(ensure(&once, "import os"), once, "never duplicated");
    }

    #[test]
    fn joins_an_existing_from_import() {
        let src = "from flask import Flask\n";
        assert_eq!(
            ensure(src, "from flask import request"),
            "from flask import Flask, request\n"
        );
        assert_eq!(ensure(src, "from flask import Flask"), src);
        let multi = "from flask import (\n    Flask,\n    request,\n)\nx = 1\n";
        let out = ensure(multi, "from flask import session");
        assert!(ruff_python_parser::parse_module(&out).is_ok(), "{out}");
        assert!(out.contains("request, session"));
    }

    #[test]
    fn respects_crlf_and_existing_submodule_imports() {
        let src = "import flask\r\napp = flask.Flask(__name__)\r\n";
        assert_eq!(
            ensure(src, "from flask_wtf.csrf import CSRFProtect"),
            "import flask\r\nfrom flask_wtf.csrf import CSRFProtect\r\napp = flask.Flask(__name__)\r\n"
        );
        assert_eq!(ensure("import os.path\n", "import os"), "import os.path\n");
    }

    #[test]
    fn no_imports_goes_after_docstring_and_comments() {
        assert_eq!(
            ensure("#!/usr/bin/env python\nx = 1\n", "import os"),
            "#!/usr/bin/env python\nimport os\nx = 1\n"
        );
        assert_eq!(ensure("'''doc'''", "import os"), "'''doc'''\nimport os\n");
        assert_eq!(ensure("", "import os"), "import os\n");
    }

    #[test]
    fn imports_inside_functions_do_not_count() {
        let src = "def f():\n    import os\n";
        assert_eq!(
            ensure(src, "import os"),
            "import os\ndef f():\n    import os\n"
        );
    }
}
