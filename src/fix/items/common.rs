//! What several items' fixes need: where the app is created, inserting whole lines next to a
//! statement in the file's own style, and adding a package to the project's dependency file.

use ruff_python_ast::{Expr, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use super::super::plan::{FilePatch, PatchBuilder};
use super::super::style::{LineEnding, line_end_inclusive, line_indent, line_start};
use super::super::{FixContext, Unfixable};
use crate::finding::Finding;
use crate::python::Module;

/// Where the production app is created: `app = Flask(...)`.
pub struct AppSite<'m> {
    pub module: &'m Module,
    /// The statement that creates it.
    pub stmt: &'m Stmt,
    /// The name it is bound to.
    pub var: String,
    /// The app factory it is created in, if any.
    pub factory: Option<&'m StmtFunctionDef>,
}

/// The first production app object bound to a name.
pub fn app_site<'m>(ctx: &FixContext<'_, 'm>) -> Option<AppSite<'m>> {
    let facts = ctx.facts;
    facts.apps.iter().find_map(|app| {
        let module = facts.module(app.module);
        if module.is_test {
            return None;
        }
        let var = app.var.clone()?;
        let (stmt, factory) = stmt_at(module.body(), app.range, None)?;
        Some(AppSite {
            module,
            stmt,
            var,
            factory,
        })
    })
}

/// The innermost statement holding `range`, and the function it is in.
pub fn stmt_at<'m>(
    body: &'m [Stmt],
    range: TextRange,
    func: Option<&'m StmtFunctionDef>,
) -> Option<(&'m Stmt, Option<&'m StmtFunctionDef>)> {
    for stmt in body {
        if !stmt.range().contains_range(range) {
            continue;
        }
        let inner: Vec<&'m [Stmt]> = match stmt {
            Stmt::FunctionDef(f) => {
                return stmt_at(&f.body, range, Some(f)).or(Some((stmt, func)));
            }
            Stmt::ClassDef(c) => vec![&c.body],
            Stmt::If(_) | Stmt::With(_) | Stmt::For(_) | Stmt::While(_) | Stmt::Try(_) => {
                nested_blocks(stmt)
            }
            _ => return Some((stmt, func)),
        };
        for block in inner {
            if let Some(found) = stmt_at(block, range, func) {
                return Some(found);
            }
        }
        return Some((stmt, func));
    }
    None
}

/// The statement lists nested in a compound statement that runs in its function's scope
/// (`if`/`elif`/`else`, `with`, `for`, `while`, `try` and its handlers); none for others.
pub fn nested_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(i) => std::iter::once(&i.body[..])
            .chain(i.elif_else_clauses.iter().map(|c| &c.body[..]))
            .collect(),
        Stmt::With(w) => vec![&w.body],
        Stmt::For(f) => vec![&f.body, &f.orelse],
        Stmt::While(w) => vec![&w.body, &w.orelse],
        Stmt::Try(t) => {
            let mut v: Vec<&[Stmt]> = vec![&t.body, &t.orelse, &t.finalbody];
            for h in &t.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                v.push(&h.body);
            }
            v
        }
        _ => Vec::new(),
    }
}

/// The config classes some `from_object` call may load.
pub fn loaded_config_classes(facts: &crate::python::facts::Facts) -> Vec<usize> {
    let mut loaded: Vec<usize> = facts
        .loads
        .iter()
        .flat_map(|l| l.candidates.iter().map(|(_, c)| *c))
        .filter(|c| !facts.classes[*c].is_module)
        .collect();
    loaded.sort_unstable();
    loaded.dedup();
    loaded
}

/// Insert `lines` (written with `\n`, without indentation) as whole lines right after the
/// statement `stmt`, indented like it.
pub fn insert_after(patch: &mut PatchBuilder, stmt: TextRange, lines: &str) -> Result<(), String> {
    let text = patch.text();
    let at = line_end_inclusive(text, stmt.end().to_usize());
    let mut block = String::new();
    if at == text.len() && !text.ends_with('\n') {
        block.push_str(LineEnding::detect(text).as_str());
    }
    block.push_str(&indented(text, stmt, lines));
    patch.insert(at, block).map_err(|e| e.to_string())?;
    Ok(())
}

/// Insert `lines` as whole lines just before the statement at `stmt`, indented like it.
pub fn insert_before(patch: &mut PatchBuilder, stmt: TextRange, lines: &str) -> Result<(), String> {
    let text = patch.text();
    let at = line_start(text, stmt.start().to_usize());
    let block = indented(text, stmt, lines);
    patch.insert(at, block).map_err(|e| e.to_string())?;
    Ok(())
}

/// `lines` indented like the statement at `stmt`, each ended with the file's line ending.
fn indented(text: &str, stmt: TextRange, lines: &str) -> String {
    let indent = line_indent(text, stmt.start().to_usize());
    let eol = LineEnding::detect(text);
    let mut block = String::new();
    for line in lines.lines() {
        if !line.is_empty() {
            block.push_str(indent);
            block.push_str(line);
        }
        block.push_str(eol.as_str());
    }
    block
}

/// The finding's module, its byte range, and a patch builder for its file.
pub fn located<'a, 'm>(
    ctx: &FixContext<'a, 'm>,
    finding: &Finding,
) -> Result<(usize, &'m Module, TextRange, PatchBuilder<'a>), Unfixable> {
    let no = |r: &str| Unfixable::new(finding, r);
    let (idx, module) = ctx
        .module(&finding.path)
        .ok_or_else(|| no("the file is not parsed"))?;
    let range = ctx
        .range_of(finding)
        .ok_or_else(|| no("the finding's position is not in the file"))?;
    let patch = ctx.patch_for(finding)?;
    Ok((idx, module, range, patch))
}

/// A Python string literal of `s` in the module's preferred quote.
pub fn quoted(quote: char, s: &str) -> String {
    format!("{quote}{s}{quote}")
}

/// PEP 503 normalised name.
fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The patch that declares `package` (`flask-wtf`) with `spec` (`>=1.2`) in the project's
/// dependency file, in that file's own format: a requirements file at the root (or the first
/// one), else pyproject.toml's `[project].dependencies` or Poetry's table, else a Pipfile.
/// None when the package is declared already or there is no dependency file to edit.
pub fn add_dependency(ctx: &FixContext, package: &str, spec: &str) -> Option<FilePatch> {
    let snapshot = ctx.snapshot;
    let mut requirement_files: Vec<&String> = snapshot
        .files
        .keys()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name.starts_with("requirements")
                && name.ends_with(".txt")
                && !name.contains("dev")
                && !name.contains("test")
        })
        .collect();
    requirement_files.sort_by_key(|p| {
        (
            p.matches('/').count(),
            p.as_str() != "requirements.txt",
            p.len(),
        )
    });
    if let Some(path) = requirement_files.first() {
        let text = snapshot.get(path)?;
        let declared = text.lines().any(|l| {
            let name: String = l
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            normalise(&name) == normalise(package)
        });
        if declared {
            return None;
        }
        let eol = LineEnding::detect(text);
        let mut addition = String::new();
        if !text.is_empty() && !text.ends_with('\n') {
            addition.push_str(eol.as_str());
        }
        addition.push_str(&format!("{package}{spec}{}", eol.as_str()));
        let mut patch = PatchBuilder::new(path, text);
        patch.insert(text.len(), addition).ok()?;
        return patch.finish().ok();
    }
    if let Some(text) = snapshot.get("pyproject.toml") {
        let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
        let mut changed = false;
        if let Some(deps) = doc
            .get_mut("project")
            .and_then(|p| p.get_mut("dependencies"))
            .and_then(|d| d.as_array_mut())
        {
            let present = deps.iter().any(|v| {
                v.as_str().is_some_and(|s| {
                    let name: String = s
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                        .collect();
                    normalise(&name) == normalise(package)
                })
            });
            if present {
                return None;
            }
            deps.push(format!("{package}{spec}"));
            changed = true;
        } else if let Some(table) = doc
            .get_mut("tool")
            .and_then(|t| t.get_mut("poetry"))
            .and_then(|p| p.get_mut("dependencies"))
            .and_then(|d| d.as_table_like_mut())
        {
            if table
                .iter()
                .any(|(k, _)| normalise(k) == normalise(package))
            {
                return None;
            }
            // Poetry reads PEP 440 specifiers as constraints (`">=1.2"`).
            table.insert(package, toml_edit::value(spec));
            changed = true;
        }
        if changed {
            let new_text = doc.to_string();
            let mut patch = PatchBuilder::new("pyproject.toml", text);
            patch.replace(0..text.len(), new_text).ok()?;
            return patch.finish().ok();
        }
    }
    if let Some(text) = snapshot.get("Pipfile") {
        let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
        let packages = doc
            .get_mut("packages")
            .and_then(|p| p.as_table_like_mut())?;
        if packages
            .iter()
            .any(|(k, _)| normalise(k) == normalise(package))
        {
            return None;
        }
        packages.insert(package, toml_edit::value(spec.to_string()));
        let new_text = doc.to_string();
        let mut patch = PatchBuilder::new("Pipfile", text);
        patch.replace(0..text.len(), new_text).ok()?;
        return patch.finish().ok();
    }
    None
}

/// The name an `Assign` statement binds, when it binds exactly one.
pub fn assigned_name(stmt: &Stmt) -> Option<String> {
    match stmt {
        Stmt::Assign(a) => match a.targets.as_slice() {
            [Expr::Name(n)] => Some(n.id.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// `findings` grouped by file, in path order.
pub fn by_file<'f>(
    findings: &[&'f Finding],
) -> std::collections::BTreeMap<&'f str, Vec<&'f Finding>> {
    let mut out: std::collections::BTreeMap<&str, Vec<&Finding>> = Default::default();
    for f in findings {
        out.entry(f.path.as_str()).or_default().push(*f);
    }
    out
}

/// Byte offsets of findings' 1-based lines and character columns in snapshot texts. Each
/// file's line starts are found once, so a file with thousands of findings is not walked from
/// the top once per finding.
#[derive(Default)]
pub struct TextOffsets {
    lines: std::collections::HashMap<String, crate::source::LineIndex>,
}

impl TextOffsets {
    /// The offset of `line`/`column` in `text`, the snapshot text of `path`.
    pub fn offset(&mut self, path: &str, text: &str, line: usize, column: usize) -> Option<usize> {
        if !self.lines.contains_key(path) {
            self.lines
                .insert(path.to_string(), crate::source::LineIndex::new(text));
        }
        let lines = &self.lines[path];
        if line == 0 || line > lines.line_count() {
            return None;
        }
        let start = lines.line_start(line).to_usize();
        let within: usize = text
            .get(start..)?
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        Some(start + within)
    }
}

pub use crate::python::expr::py_string;

/// Where to add `name=value` keywords to a call: after its last argument (past a trailing
/// comma), and the text to insert there.
pub fn keyword_insertion(
    call: &ruff_python_ast::ExprCall,
    text: &str,
    keywords: &[String],
) -> Option<(usize, String)> {
    let joined = keywords.join(", ");
    let last_end = call
        .arguments
        .args
        .iter()
        .map(Ranged::end)
        .chain(call.arguments.keywords.iter().map(Ranged::end))
        .max();
    let Some(last_end) = last_end else {
        let at = call.arguments.start().to_usize() + 1;
        return Some((at, joined));
    };
    let last_end = last_end.to_usize();
    let close = call.arguments.end().to_usize().checked_sub(1)?;
    let between = text.get(last_end..close)?;
    match between.find(',') {
        Some(comma) => Some((last_end + comma + 1, format!(" {joined},"))),
        None => Some((last_end, format!(", {joined}"))),
    }
}

/// Every finding refused with the same reason: a plan that fixes them together could not be
/// made.
pub fn fail_all(findings: &[&Finding], reason: &str) -> Vec<super::super::Generated> {
    findings
        .iter()
        .map(|f| Err(Unfixable::new(f, reason)))
        .collect()
}

/// The production app's site and a patch builder for its file.
pub fn app_site_patch<'a, 'm>(
    ctx: &FixContext<'a, 'm>,
    purpose: &str,
) -> Result<(AppSite<'m>, PatchBuilder<'a>), String> {
    let site = app_site(ctx).ok_or_else(|| format!("no app bound to a name to {purpose}"))?;
    let patch = ctx
        .patch(&site.module.path)
        .ok_or_else(|| "the app's file is not in the snapshot".to_string())?;
    Ok((site, patch))
}

/// Add each import statement to the patched file unless it is there already.
pub fn ensure_imports(patch: &mut PatchBuilder, statements: &[&str]) -> Result<(), String> {
    for statement in statements {
        if let Some(edit) = super::super::imports::ensure_import(patch.text(), statement)
            .map_err(|e| e.to_string())?
        {
            patch.push(edit).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Append `line` as the last statement of the top-level class `name` of `module`, indented
/// like the class body.
pub fn append_to_class(
    patch: &mut PatchBuilder,
    module: &Module,
    name: &str,
    line: &str,
) -> Result<(), String> {
    let def =
        class_named(module, name).ok_or_else(|| format!("class {name} is not at module level"))?;
    let last = def
        .body
        .last()
        .ok_or_else(|| format!("class {name} has no body"))?;
    // `pass` as the only statement stays valid with a line after it.
    insert_after(patch, last.range(), line)
}

/// The top-level class `name` of `module`.
pub fn class_named<'m>(
    module: &'m Module,
    name: &str,
) -> Option<&'m ruff_python_ast::StmtClassDef> {
    module.body().iter().find_map(|s| match s {
        Stmt::ClassDef(cd) if cd.name.as_str() == name => Some(cd),
        _ => None,
    })
}

/// The dict literals test modules pass to the app factory `factory` as its configuration:
/// `create_app({"TESTING": True, ...})` in conftest.py.
pub fn test_config_dicts<'m>(
    ctx: &FixContext<'_, 'm>,
    factory: &str,
) -> Vec<(&'m Module, &'m ruff_python_ast::ExprDict)> {
    let facts = ctx.facts;
    let mut out = Vec::new();
    for (idx, module) in facts.modules.iter().map(|m| &**m).enumerate() {
        if !module.is_test {
            continue;
        }
        for call in facts.calls_named(idx, factory) {
            let args = call
                .arguments
                .args
                .iter()
                .chain(call.arguments.keywords.iter().map(|k| &k.value));
            for arg in args {
                if let Expr::Dict(d) = arg
                    && d.items.iter().any(|item| {
                        item.key
                            .as_ref()
                            .and_then(crate::python::expr::str_value)
                            .is_some_and(|k| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                    })
                {
                    out.push((module, d));
                }
            }
        }
    }
    out
}

/// Whether a dict literal has the string key `key`.
pub fn dict_has_key(dict: &ruff_python_ast::ExprDict, key: &str) -> bool {
    dict.items.iter().any(|item| {
        item.key
            .as_ref()
            .and_then(crate::python::expr::str_value)
            .is_some_and(|k| k == key)
    })
}

/// Where to add `entry` (`"KEY": value`) to a non-empty dict literal: after its last item (past
/// a trailing comma), and the text to insert there.
pub fn dict_entry_insertion(
    dict: &ruff_python_ast::ExprDict,
    text: &str,
    entry: &str,
) -> Option<(usize, String)> {
    let last_end = dict.items.last()?.value.end().to_usize();
    let close = dict.end().to_usize().checked_sub(1)?;
    let between = text.get(last_end..close)?;
    match between.find(',') {
        Some(comma) => Some((last_end + comma + 1, format!(" {entry},"))),
        None => Some((last_end, format!(", {entry}"))),
    }
}

/// The last statement of `body` that configures the app `var`: it holds an
/// `app.config.from_*` call, an `app.config` write or any other use of `var.config`
/// (`app.config.from_mapping(test_config)`) in module `idx`.
pub fn last_config_stmt<'m>(
    ctx: &FixContext,
    idx: usize,
    body: &'m [Stmt],
    var: &str,
) -> Option<&'m Stmt> {
    let facts = ctx.facts;
    let module = facts.module(idx);
    let ranges: Vec<TextRange> = facts
        .loads
        .iter()
        .filter(|l| l.module == idx)
        .map(|l| l.range)
        .chain(
            facts
                .writes
                .iter()
                .filter(|w| {
                    w.module == idx
                        && matches!(w.scope, crate::python::facts::WriteScope::App { .. })
                })
                .map(|w| w.range),
        )
        .collect();
    let uses_config = format!("{var}.config");
    body.iter().rev().find(|s| {
        ranges.iter().any(|r| s.range().contains_range(*r))
            || module.text(s.range()).contains(&uses_config)
    })
}

/// The patch builders of a plan that edits several files, one per path, in the order they were
/// first asked for.
#[derive(Default)]
pub struct Patches<'a> {
    builders: Vec<PatchBuilder<'a>>,
}

impl<'a> Patches<'a> {
    /// Add a builder made elsewhere (it replaces none: one builder per path).
    pub fn insert(&mut self, builder: PatchBuilder<'a>) {
        if self.get_mut(builder.path()).is_none() {
            self.builders.push(builder);
        }
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut PatchBuilder<'a>> {
        self.builders.iter_mut().find(|b| b.path() == path)
    }

    /// The builder of `path`, made from the snapshot's text the first time.
    pub fn for_path(
        &mut self,
        ctx: &FixContext<'a, '_>,
        path: &str,
    ) -> Result<&mut PatchBuilder<'a>, String> {
        if let Some(i) = self.builders.iter().position(|b| b.path() == path) {
            return Ok(&mut self.builders[i]);
        }
        let builder = ctx
            .patch(path)
            .ok_or_else(|| format!("{path} is not in the snapshot"))?;
        self.builders.push(builder);
        let last = self.builders.len() - 1;
        Ok(&mut self.builders[last])
    }

    /// The non-empty patches.
    pub fn finish(self) -> Result<Vec<FilePatch>, String> {
        self.builders
            .into_iter()
            .filter(|b| !b.is_empty())
            .map(|b| b.finish().map_err(|e| e.to_string()))
            .collect()
    }
}

/// Why a fix does not write into the production config, when production's config is a guess:
/// a `from_object` argument flask-harden cannot follow (`from_object(os.environ["SETTINGS"])`).
pub fn production_unknown(ctx: &FixContext) -> Option<String> {
    let facts = ctx.facts;
    if !facts.production_guessed {
        return None;
    }
    let at = facts
        .loads
        .iter()
        .find(|l| l.guessed && l.production)
        .map(|l| {
            let m = facts.module(l.module);
            format!(" at {}:{}", m.path, m.source.span(l.range).start.line)
        })
        .unwrap_or_default();
    Some(format!(
        "flask-harden cannot tell which configuration production loads (the from_object call{at} \
         takes a value it cannot follow), so it does not guess where the setting goes; name the \
         class with production-config in flask-harden.toml"
    ))
}

/// For the generators' tests: an in-memory project fixed for one item, as `fix --unsafe` does.
#[cfg(test)]
pub(crate) fn fix_item(
    files: &[(&str, &str)],
    item: &str,
) -> (super::super::ItemFix, super::super::Snapshot) {
    use super::super::{FixOptions, SnapFile, Snapshot, plan_fixes};
    let mut snapshot = Snapshot::default();
    for (path, text) in files {
        snapshot.insert((*path).to_string(), SnapFile::new(*text));
    }
    let options = FixOptions {
        items: vec![item.to_string()],
        include_unsafe: true,
        ..FixOptions::default()
    };
    let mut run = plan_fixes(snapshot, &options).expect("plan_fixes runs");
    let fixed = run.items.remove(0);
    (fixed, run.result)
}
