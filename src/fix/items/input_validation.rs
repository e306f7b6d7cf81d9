//! Fixes for the input-validation item (FLASK_FACTS §7): SQL parameterised with the driver's
//! placeholder, `send_from_directory` / `safe_join` for paths, argument lists instead of shell
//! strings, `yaml.safe_load`, and a pydantic v2 model for a JSON body.
//!
//! The check ([`crate::checks::input_validation::analyse`]) keeps where each finding's fix
//! starts ([`FixSite`]); [`plan_for`] turns a site into a plan of edits (file, byte range,
//! replacement; an empty range inserts, and an edit of a file that does not exist yet, range
//! 0..0, creates it), and [`generate`] turns plans into the engine's [`crate::fix::FixPlan`]s.
//! Plans are built only when the rewrite is mechanical and keeps the code's meaning; otherwise
//! the finding has none.

use ruff_python_ast::{
    ConversionFlag, Expr, ExprCall, FStringPart, InterpolatedStringElement, Operator, Stmt,
    StmtFunctionDef,
};
use ruff_text_size::{Ranged, TextRange, TextSize};

use std::collections::BTreeMap;

use super::super::plan::{FilePatch, PatchBuilder, PatchKind};
use super::super::{FixContext, Generated, Unfixable};
use super::adapters::with_files;
use super::common::fail_all;
use crate::checks::Context;
use crate::checks::input_validation::json::{UNTYPED, UnvalidatedJson};
use crate::checks::input_validation::{FixSite, Report, Rule};
use crate::finding::Finding;
use crate::project::FileKind;
use crate::python::Module;
use crate::python::expr::{method_name, receiver, str_value};
use crate::python::imports::Imports;

/// Replace bytes `start..end` of the file at `path` (relative to the repository root) with
/// `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

impl Edit {
    fn replace(module: &Module, range: TextRange, replacement: impl Into<String>) -> Self {
        Self {
            path: module.path.clone(),
            start: range.start().to_usize(),
            end: range.end().to_usize(),
            replacement: replacement.into(),
        }
    }

    fn insert(module: &Module, at: TextSize, text: impl Into<String>) -> Self {
        Self::replace(module, TextRange::empty(at), text)
    }
}

/// How a fix may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    /// Same behaviour for valid input.
    Safe,
    /// Changes behaviour on some inputs (rejects what was accepted); review before committing.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    pub rule: Rule,
    /// One line shown with the diff.
    pub title: String,
    pub applicability: Applicability,
    /// Sorted by path and start; never overlapping.
    pub edits: Vec<Edit>,
}

impl FixPlan {
    fn new(
        rule: Rule,
        title: impl Into<String>,
        applicability: Applicability,
        mut edits: Vec<Edit>,
    ) -> Self {
        edits.sort_by(|a, b| (&a.path, a.start, a.end).cmp(&(&b.path, b.start, b.end)));
        Self {
            rule,
            title: title.into(),
            applicability,
            edits,
        }
    }

    /// Apply the edits of this plan that touch `path` to `text`. None when an edit does not fit
    /// the text (it changed since the scan) or edits overlap.
    pub fn apply_to(&self, path: &str, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len() + 256);
        let mut pos = 0;
        for e in self.edits.iter().filter(|e| e.path == path) {
            if e.start < pos || e.end < e.start || e.end > text.len() {
                return None;
            }
            out.push_str(text.get(pos..e.start)?);
            out.push_str(&e.replacement);
            pos = e.end;
        }
        out.push_str(text.get(pos..)?);
        Some(out)
    }
}

/// The plan for a sink finding, when its rule has a mechanical fix.
/// A finding with the fix the fix engine can apply for it.
#[derive(Debug, Clone)]
pub struct PlannedFix {
    pub finding: Finding,
    pub plan: FixPlan,
}

/// The plan for each of the report's findings that has one.
pub fn plans(ctx: &Context, report: &Report) -> Vec<PlannedFix> {
    report
        .sites
        .iter()
        .filter_map(|(finding, site)| {
            Some(PlannedFix {
                finding: finding.clone(),
                plan: plan_for(ctx, site)?,
            })
        })
        .collect()
}

/// The plan that removes the finding at `site`, when the rewrite is mechanical.
pub fn plan_for(ctx: &Context, site: &FixSite) -> Option<FixPlan> {
    match site {
        FixSite::Sink {
            module,
            func,
            rule,
            call,
            arg,
        } => match rule {
            Rule::SqlInjection => sql_plan(ctx, *module, func, call, arg),
            Rule::UnsafeDeserialization => yaml_safe_load(ctx, *module, call),
            Rule::CommandInjection => command_plan(ctx, *module, call),
            Rule::PathTraversal => path_plan(ctx, *module, call),
            _ => None,
        },
        FixSite::Yaml { module, call } => yaml_safe_load(ctx, *module, call),
        FixSite::Json(u) => pydantic_plan(ctx, u),
    }
}

/// `yaml.load(x)` → `yaml.safe_load(x)`.
pub fn yaml_safe_load(ctx: &Context, module: usize, call: &ExprCall) -> Option<FixPlan> {
    let facts = ctx.facts;
    let m = facts.module(module);
    let imports = &facts.imports[module];
    let q = imports.qualified(&call.func)?;
    let safe = match q.as_str() {
        "yaml.load" => "safe_load",
        "yaml.load_all" => "safe_load_all",
        _ => return None,
    };
    let stream = call.arguments.find_argument_value("stream", 0)?;
    let mut edits = Vec::new();
    let func = match call.func.as_ref() {
        Expr::Attribute(a) => format!("{}.{safe}", m.text(a.value.range())),
        // `from yaml import load`: import the safe function beside it.
        _ => {
            if imports.get(safe).is_none() {
                edits.extend(import_edit(m, &format!("from yaml import {safe}")));
            }
            safe.to_string()
        }
    };
    edits.push(Edit::replace(
        m,
        call.range(),
        format!("{func}({})", m.text(stream.range())),
    ));
    Some(FixPlan::new(
        Rule::UnsafeDeserialization,
        format!("use yaml.{safe}(), which builds only plain data"),
        Applicability::Safe,
        edits,
    ))
}

// ---------------------------------------------------------------------------------------------
// SQL

/// How the driver spells a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// sqlite3: `?`.
    Qmark,
    /// psycopg, PyMySQL, MySQLdb: `%s`.
    Format,
    /// SQLAlchemy `text()`: `:name`.
    Named,
}

/// The placeholder style of the database library the module (or else the project) imports.
pub fn placeholder_for(ctx: &Context, module: usize) -> Option<Placeholder> {
    let of = |imports: &Imports| {
        if imports.imports_from("sqlite3") {
            Some(Placeholder::Qmark)
        } else if [
            "psycopg2", "psycopg", "pymysql", "MySQLdb", "mysql", "pg8000",
        ]
        .iter()
        .any(|m| imports.imports_from(m))
        {
            Some(Placeholder::Format)
        } else if imports.imports_from("sqlalchemy") || imports.imports_from("flask_sqlalchemy") {
            Some(Placeholder::Named)
        } else {
            None
        }
    };
    of(ctx.facts.imports[module]).or_else(|| ctx.facts.imports.iter().find_map(|i| of(i)))
}

/// A piece of a formatted SQL string.
enum Part<'e> {
    Lit(String),
    Val(&'e Expr),
}

fn sql_plan(
    ctx: &Context,
    module: usize,
    func: &StmtFunctionDef,
    call: &ExprCall,
    arg: &Expr,
) -> Option<FixPlan> {
    let m = ctx.facts.module(module);
    let imports = &ctx.facts.imports[module];
    let is_text = imports
        .qualified(&call.func)
        .is_some_and(|q| q.ends_with(".text"));
    // `q = f"..."; cur.execute(q)`: rewrite the assignment.
    let built: &Expr = match arg {
        Expr::Name(n) => single_assignment(func, n.id.as_str(), call.range().start())?,
        _ => arg,
    };
    let parts = sql_parts(built)?;
    let style = if is_text {
        Placeholder::Named
    } else {
        if !matches!(method_name(call), Some("execute"))
            || call.arguments.args.len() != 1
            || !call.arguments.keywords.is_empty()
        {
            return None;
        }
        placeholder_for(ctx, module)?
    };
    let (sql, params) = parameterise(m, &parts, style)?;
    if params.is_empty() {
        return None;
    }
    let literal = py_string(&sql);
    let mut edits = Vec::new();
    let title = if is_text {
        edits.push(Edit::replace(m, built.range(), literal));
        let binds: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
        edits.push(Edit::insert(
            m,
            call.range().end(),
            format!(".bindparams({})", binds.join(", ")),
        ));
        "bind the values with text(...).bindparams() instead of formatting them in"
    } else {
        let (new_sql, args) = match style {
            Placeholder::Named => {
                let items: Vec<String> = params
                    .iter()
                    .map(|(n, v)| format!("\"{n}\": {v}"))
                    .collect();
                (
                    format!("text({literal})"),
                    format!("{{{}}}", items.join(", ")),
                )
            }
            Placeholder::Qmark | Placeholder::Format => {
                let values: Vec<&str> = params.iter().map(|(_, v)| v.as_str()).collect();
                let tuple = if values.len() == 1 {
                    format!("({},)", values[0])
                } else {
                    format!("({})", values.join(", "))
                };
                (literal, tuple)
            }
        };
        edits.push(Edit::replace(m, built.range(), new_sql));
        edits.push(Edit::insert(m, arg.range().end(), format!(", {args}")));
        if style == Placeholder::Named && imports.get("text") != Some("sqlalchemy.text") {
            edits.extend(import_edit(m, "from sqlalchemy import text"));
        }
        "pass the values as query parameters instead of formatting them into the SQL"
    };
    Some(FixPlan::new(
        Rule::SqlInjection,
        title,
        Applicability::Safe,
        edits,
    ))
}

/// The value of the one top-level assignment to `name` in `func` before `before`.
fn single_assignment<'f>(
    func: &'f StmtFunctionDef,
    name: &str,
    before: TextSize,
) -> Option<&'f Expr> {
    let mut found = None;
    let mut count = 0;
    for stmt in &func.body {
        if stmt.start() >= before {
            break;
        }
        if let Stmt::Assign(a) = stmt
            && a.targets
                .iter()
                .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name))
        {
            count += 1;
            found = Some(a.value.as_ref());
        }
    }
    (count == 1).then_some(found).flatten()
}

/// The literal text and interpolated values of SQL built with an f-string, `+`, `%` or
/// `.format`. None for shapes the plan cannot rewrite.
fn sql_parts(expr: &Expr) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    match expr {
        Expr::StringLiteral(_) => parts.push(Part::Lit(str_value(expr)?)),
        Expr::FString(f) => {
            for part in f.value.iter() {
                match part {
                    FStringPart::Literal(l) => parts.push(Part::Lit(l.value.to_string())),
                    FStringPart::FString(fs) => {
                        for el in &fs.elements {
                            match el {
                                InterpolatedStringElement::Literal(l) => {
                                    parts.push(Part::Lit(l.value.to_string()));
                                }
                                InterpolatedStringElement::Interpolation(i) => {
                                    if i.format_spec.is_some()
                                        || i.debug_text.is_some()
                                        || !matches!(i.conversion, ConversionFlag::None)
                                    {
                                        return None;
                                    }
                                    parts.push(Part::Val(&i.expression));
                                }
                            }
                        }
                    }
                }
            }
        }
        Expr::BinOp(b) if b.op == Operator::Add => {
            for side in [&b.left, &b.right] {
                match sql_parts(side) {
                    Some(p) => parts.extend(p),
                    None => parts.push(Part::Val(side)),
                }
            }
            // Only worth it when some literal SQL is in there.
            if !parts.iter().any(|p| matches!(p, Part::Lit(_))) {
                return None;
            }
        }
        Expr::BinOp(b) if b.op == Operator::Mod => {
            let template = str_value(&b.left)?;
            let values: Vec<&Expr> = match b.right.as_ref() {
                Expr::Tuple(t) => t.elts.iter().collect(),
                Expr::Dict(_) => return None,
                other => vec![other],
            };
            let mut values = values.into_iter();
            let mut lit = String::new();
            let mut chars = template.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '%' {
                    lit.push(c);
                    continue;
                }
                match chars.next()? {
                    '%' => lit.push('%'),
                    's' | 'd' | 'i' | 'r' | 'f' | 'u' => {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                        parts.push(Part::Val(values.next()?));
                    }
                    _ => return None,
                }
            }
            if values.next().is_some() {
                return None;
            }
            parts.push(Part::Lit(lit));
        }
        Expr::Call(c) if method_name(c) == Some("format") => {
            let template = str_value(receiver(c)?)?;
            let mut auto = 0;
            let mut lit = String::new();
            let mut chars = template.chars().peekable();
            while let Some(ch) = chars.next() {
                match ch {
                    '{' if chars.peek() == Some(&'{') => {
                        chars.next();
                        lit.push('{');
                    }
                    '}' if chars.peek() == Some(&'}') => {
                        chars.next();
                        lit.push('}');
                    }
                    '{' => {
                        let mut field = String::new();
                        for f in chars.by_ref() {
                            if f == '}' {
                                break;
                            }
                            field.push(f);
                        }
                        let value = if field.is_empty() {
                            auto += 1;
                            c.arguments.args.get(auto - 1)?
                        } else if let Ok(i) = field.parse::<usize>() {
                            c.arguments.args.get(i)?
                        } else if field.chars().all(|x| x.is_alphanumeric() || x == '_') {
                            &c.arguments.find_keyword(&field)?.value
                        } else {
                            return None;
                        };
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                        parts.push(Part::Val(value));
                    }
                    _ => lit.push(ch),
                }
            }
            parts.push(Part::Lit(lit));
        }
        _ => return None,
    }
    Some(parts)
}

/// SQL with placeholders, and `(bind name, Python expression)` for each value. Values quoted
/// in the SQL (`'%{q}%'`) become one parameter holding the whole quoted text. None when a value
/// stands where SQL needs an identifier (a table or column name), which no placeholder can be.
fn parameterise(
    m: &Module,
    parts: &[Part],
    style: Placeholder,
) -> Option<(String, Vec<(String, String)>)> {
    let mut sql = String::new();
    let mut params: Vec<(String, String)> = Vec::new();
    // Inside a quoted SQL string: its pieces so far.
    let mut quoted: Option<Vec<Part>> = None;
    let push_param =
        |sql: &mut String, params: &mut Vec<(String, String)>, hint: String, value: String| {
            let mut name = hint;
            let mut n = 2;
            while params.iter().any(|(p, _)| *p == name) {
                name = format!(
                    "{}_{n}",
                    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
                );
                n += 1;
            }
            match style {
                Placeholder::Qmark => sql.push('?'),
                Placeholder::Format => sql.push_str("%s"),
                Placeholder::Named => {
                    sql.push(':');
                    sql.push_str(&name);
                }
            }
            params.push((name, value));
        };
    for part in parts {
        match part {
            Part::Lit(text) => {
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    match (&mut quoted, c) {
                        (Some(pieces), '\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            pieces.push(Part::Lit("'".to_string()));
                        }
                        (Some(pieces), '\'') => {
                            let pieces = std::mem::take(pieces);
                            quoted = None;
                            if pieces.iter().any(|p| matches!(p, Part::Val(_))) {
                                let (hint, value) = quoted_value(m, &pieces);
                                push_param(&mut sql, &mut params, hint, value);
                            } else {
                                sql.push('\'');
                                for p in &pieces {
                                    if let Part::Lit(l) = p {
                                        push_sql(&mut sql, &l.replace('\'', "''"), style);
                                    }
                                }
                                sql.push('\'');
                            }
                        }
                        (Some(pieces), c) => pieces.push(Part::Lit(c.to_string())),
                        (None, '\'') => quoted = Some(Vec::new()),
                        (None, c) => push_sql(&mut sql, &c.to_string(), style),
                    }
                }
            }
            Part::Val(e) => match &mut quoted {
                Some(pieces) => pieces.push(Part::Val(e)),
                None => {
                    if in_identifier_position(&sql) {
                        return None;
                    }
                    push_param(
                        &mut sql,
                        &mut params,
                        bind_name(e),
                        m.text(e.range()).to_string(),
                    );
                }
            },
        }
    }
    if quoted.is_some() {
        return None;
    }
    Some((sql, params))
}

fn push_sql(sql: &mut String, text: &str, style: Placeholder) {
    if style == Placeholder::Format {
        sql.push_str(&text.replace('%', "%%"));
    } else {
        sql.push_str(text);
    }
}

/// The parameter for a quoted SQL string with values in it: the value itself, or the
/// concatenation of its literal text and values (`"%" + str(term) + "%"`).
fn quoted_value(m: &Module, pieces: &[Part]) -> (String, String) {
    let vals: Vec<&Expr> = pieces
        .iter()
        .filter_map(|p| match p {
            Part::Val(e) => Some(*e),
            Part::Lit(_) => None,
        })
        .collect();
    let hint = vals
        .first()
        .map(|e| bind_name(e))
        .unwrap_or_else(|| "p".to_string());
    let has_lit = pieces
        .iter()
        .any(|p| matches!(p, Part::Lit(l) if !l.is_empty()));
    if vals.len() == 1 && !has_lit {
        return (hint, m.text(vals[0].range()).to_string());
    }
    let mut out: Vec<String> = Vec::new();
    let mut lit = String::new();
    for p in pieces {
        match p {
            Part::Lit(l) => lit.push_str(l),
            Part::Val(e) => {
                if !lit.is_empty() {
                    out.push(py_string(&std::mem::take(&mut lit)));
                }
                out.push(format!("str({})", m.text(e.range())));
            }
        }
    }
    if !lit.is_empty() {
        out.push(py_string(&lit));
    }
    (hint, out.join(" + "))
}

/// A value right after FROM, JOIN, INTO, UPDATE, TABLE or BY names a table or column.
fn in_identifier_position(sql: &str) -> bool {
    let before = sql.trim_end();
    if before.ends_with('.') || before.ends_with('"') || before.ends_with('`') {
        return true;
    }
    let last = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        last.as_str(),
        "FROM" | "JOIN" | "INTO" | "UPDATE" | "TABLE" | "BY" | "SELECT" | "ASC" | "DESC"
    ) || before.ends_with(',') && before.to_ascii_uppercase().contains(" BY ")
}

/// A bind name for a value: its variable, attribute or key name.
fn bind_name(e: &Expr) -> String {
    let raw = match e {
        Expr::Name(n) => n.id.to_string(),
        Expr::Attribute(a) => a.attr.id.to_string(),
        Expr::Subscript(s) => str_value(&s.slice).unwrap_or_default(),
        Expr::Call(c) if method_name(c) == Some("get") => c
            .arguments
            .args
            .first()
            .and_then(str_value)
            .unwrap_or_default(),
        Expr::Call(c) => c.arguments.args.first().map(bind_name).unwrap_or_default(),
        _ => String::new(),
    };
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p{clean}")
    } else {
        clean
    }
}

fn py_string(s: &str) -> String {
    crate::python::expr::py_string('"', s)
}

/// The edits that add each import statement of `lines` (one per line) beside the module's
/// imports, unless it has it already ([`crate::fix::imports::ensure_import`]).
fn import_edit(m: &Module, lines: &str) -> Vec<Edit> {
    lines
        .lines()
        .filter_map(|line| {
            let e = crate::fix::imports::ensure_import(&m.source.text, line).ok()??;
            Some(Edit {
                path: m.path.clone(),
                start: e.range.start,
                end: e.range.end,
                replacement: e.replacement,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Commands and paths

/// `os.system(f"ping -c 1 {host}")` → `subprocess.run(["ping", "-c", "1", host], check=False)`;
/// `subprocess.run(cmd, shell=True)` → the same call with an argument list and no shell.
fn command_plan(ctx: &Context, module: usize, call: &ExprCall) -> Option<FixPlan> {
    let m = ctx.facts.module(module);
    let imports = &ctx.facts.imports[module];
    let q = imports.qualified(&call.func)?;
    let command = call.arguments.find_argument_value("args", 0)?;
    let argv = argv_of(m, command)?;
    let list = format!("[{}]", argv.join(", "));
    let mut edits = Vec::new();
    if q == "os.system" {
        if call.arguments.args.len() != 1 || !call.arguments.keywords.is_empty() {
            return None;
        }
        edits.push(Edit::replace(
            m,
            call.range(),
            format!("subprocess.run({list}, check=False).returncode"),
        ));
        if imports.get("subprocess") != Some("subprocess") {
            edits.extend(import_edit(m, "import subprocess"));
        }
    } else if q.starts_with("subprocess.") {
        let shell = call.arguments.find_keyword("shell")?;
        edits.push(Edit::replace(m, command.range(), list));
        // Remove `, shell=True` with the comma before it.
        let before = m.source.text.get(..shell.start().to_usize())?;
        let comma = before.trim_end().len().checked_sub(1)?;
        if before.as_bytes().get(comma) != Some(&b',') {
            return None;
        }
        edits.push(Edit {
            path: m.path.clone(),
            start: comma,
            end: shell.end().to_usize(),
            replacement: String::new(),
        });
    } else {
        return None;
    }
    Some(FixPlan::new(
        Rule::CommandInjection,
        "run the program with an argument list, without a shell",
        Applicability::Unsafe,
        edits,
    ))
}

/// The argument list of a shell command built with an f-string or `+`: literal words split on
/// whitespace, values as separate arguments. None when the literal text uses shell syntax.
fn argv_of(m: &Module, command: &Expr) -> Option<Vec<String>> {
    let parts = sql_parts(command)?;
    let mut argv: Vec<String> = Vec::new();
    // Pieces of the word being built, and whether the previous character ended a word.
    let mut word: Vec<String> = Vec::new();
    let mut lit = String::new();
    let flush_lit = |lit: &mut String, word: &mut Vec<String>| {
        if !lit.is_empty() {
            word.push(py_string(&std::mem::take(lit)));
        }
    };
    for part in &parts {
        match part {
            Part::Lit(text) => {
                if text.contains(|c: char| "|&;<>()$`\\\"'*?[]{}~#\n".contains(c)) {
                    return None;
                }
                for c in text.chars() {
                    if c.is_whitespace() {
                        flush_lit(&mut lit, &mut word);
                        if !word.is_empty() {
                            argv.push(word.join(" + "));
                            word.clear();
                        }
                    } else {
                        lit.push(c);
                    }
                }
            }
            Part::Val(e) => {
                flush_lit(&mut lit, &mut word);
                word.push(format!("str({})", m.text(e.range())));
            }
        }
    }
    flush_lit(&mut lit, &mut word);
    if !word.is_empty() {
        argv.push(word.join(" + "));
    }
    (!argv.is_empty()).then_some(argv)
}

/// `send_file(os.path.join(d, name))` → `send_from_directory(d, name)`;
/// `open(os.path.join(d, name))` → `open(safe_join(d, name))`.
fn path_plan(ctx: &Context, module: usize, call: &ExprCall) -> Option<FixPlan> {
    let m = ctx.facts.module(module);
    let imports = &ctx.facts.imports[module];
    let q = imports.qualified(&call.func)?;
    let path = call.arguments.args.first()?;
    let Expr::Call(join) = path else { return None };
    if !imports.is(&join.func, &["os.path.join", "posixpath.join"])
        || join.arguments.args.len() != 2
    {
        return None;
    }
    let dir = m.text(join.arguments.args[0].range());
    let name = m.text(join.arguments.args[1].range());
    let mut edits = Vec::new();
    if matches!(q.as_str(), "flask.send_file" | "flask.helpers.send_file")
        && call.arguments.args.len() == 1
    {
        let rest: Vec<&str> = call
            .arguments
            .keywords
            .iter()
            .map(|k| m.text(k.range()))
            .collect();
        let mut args = vec![dir.to_string(), name.to_string()];
        args.extend(rest.iter().map(|s| s.to_string()));
        edits.push(Edit::replace(
            m,
            call.range(),
            format!("send_from_directory({})", args.join(", ")),
        ));
        if imports.get("send_from_directory").is_none() {
            edits.extend(import_edit(m, "from flask import send_from_directory"));
        }
        return Some(FixPlan::new(
            Rule::PathTraversal,
            "serve the file with send_from_directory(), which refuses paths outside the folder",
            Applicability::Safe,
            edits,
        ));
    }
    if matches!(q.as_str(), "open" | "io.open") {
        edits.push(Edit::replace(m, join.func.range(), "safe_join"));
        if imports.get("safe_join").is_none() {
            edits.extend(import_edit(m, "from werkzeug.security import safe_join"));
        }
        return Some(FixPlan::new(
            Rule::PathTraversal,
            "build the path with werkzeug.security.safe_join(), which returns None for paths that leave the folder",
            Applicability::Unsafe,
            edits,
        ));
    }
    None
}

/// The repository's dependency file edit that adds `requirement` (None when it is listed).
pub fn dependency_edit(ctx: &Context, package: &str, requirement: &str) -> Option<Edit> {
    let deps: Vec<_> = ctx.files.of_kind(FileKind::Dependency).collect();
    let pick = deps
        .iter()
        .find(|f| f.rel == "requirements.txt")
        .or_else(|| {
            deps.iter().find(|f| {
                f.rel.ends_with(".txt") && !f.rel.contains("dev") && !f.rel.contains("test")
            })
        })
        .or_else(|| deps.iter().find(|f| f.rel.ends_with("pyproject.toml")));
    let Some(file) = pick else {
        return Some(Edit {
            path: "requirements.txt".to_string(),
            start: 0,
            end: 0,
            replacement: format!("{requirement}\n"),
        });
    };
    let text = ctx.files.read_text(file).ok()?;
    let listed = text.lines().any(|l| {
        let l = l.trim().trim_start_matches('"').to_ascii_lowercase();
        l.starts_with(package)
            && l[package.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
    });
    if listed {
        return None;
    }
    if file.rel.ends_with(".toml") {
        let at = text.find("dependencies = [")? + "dependencies = [".len();
        return Some(Edit {
            path: file.rel.clone(),
            start: at,
            end: at,
            replacement: format!("\n    \"{requirement}\","),
        });
    }
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Some(Edit {
        path: file.rel.clone(),
        start: text.len(),
        end: text.len(),
        replacement: format!("{sep}{requirement}\n"),
    })
}

// ---------------------------------------------------------------------------------------------
// JSON bodies

/// A pydantic v2 model of the keys the view reads, validated at the top of the view with a 400
/// answer listing the errors; the view then reads `payload.model_dump()` where it read the raw
/// body, and pydantic is added to the dependency file.
pub fn pydantic_plan(ctx: &Context, u: &UnvalidatedJson) -> Option<FixPlan> {
    let m = ctx.facts.module(u.module);
    let func = u.func;
    let model = format!("{}Payload", camel(func.name.id.as_str()));
    let func_text = m.text(func.range());
    let var = if func_text.contains("payload") {
        "json_payload"
    } else {
        "payload"
    };

    // The model, placed just above the view, at its indentation.
    let head = func
        .decorator_list
        .first()
        .map(|d| d.start())
        .unwrap_or(func.start());
    let head_line = line_start(m, head);
    let indent = m.text(TextRange::new(head_line, head)).to_string();
    if !indent.chars().all(char::is_whitespace) {
        return None;
    }
    let mut uses_optional = false;
    let mut uses_field = false;
    let mut fields = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for key in &u.keys {
        let mut name = field_name(&key.key);
        while taken.contains(&name) {
            name.push('_');
        }
        taken.push(name.clone());
        let alias = (name != key.key).then(|| py_string(&key.key));
        let (annotation, default) = if key.required {
            (key.ty.to_string(), None)
        } else {
            match key.default.as_deref() {
                Some("None") | None if key.ty == UNTYPED => {
                    (key.ty.to_string(), Some("None".to_string()))
                }
                Some("None") | None => {
                    uses_optional = true;
                    (format!("Optional[{}]", key.ty), Some("None".to_string()))
                }
                Some(d) => (key.ty.to_string(), Some(d.to_string())),
            }
        };
        let line = match (alias, default) {
            (None, None) => format!("{name}: {annotation}"),
            (None, Some(d)) => format!("{name}: {annotation} = {d}"),
            (Some(a), None) => {
                uses_field = true;
                format!("{name}: {annotation} = Field(alias={a})")
            }
            (Some(a), Some(d)) => {
                uses_field = true;
                format!("{name}: {annotation} = Field(default={d}, alias={a})")
            }
        };
        fields.push(format!("    {line}"));
    }
    let class = crate::fix::templates::render(
        "input_validation/pydantic_model.py",
        &[
            ("model", &model),
            ("view", func.name.id.as_str()),
            ("fields", &fields.join("\n")),
        ],
    )
    .ok()?;
    let class: String = class
        .split_inclusive('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.to_string()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect();

    // Validation at the top of the view's body, after its docstring.
    let first = func.body.iter().find(
        |s| !matches!(s, Stmt::Expr(e) if matches!(e.value.as_ref(), Expr::StringLiteral(_))),
    )?;
    let body_indent = m
        .text(TextRange::new(line_start(m, first.start()), first.start()))
        .to_string();
    if body_indent.is_empty() || !body_indent.chars().all(char::is_whitespace) {
        return None;
    }
    let raw = m.text(*u.body_reads.first()?);
    let validate = crate::fix::templates::render(
        "input_validation/validate_body.py",
        &[("var", var), ("model", &model), ("raw", raw)],
    )
    .ok()?;
    // Inserted where the first statement starts: the snippet's first line takes that
    // statement's indentation, the others and the statement itself get it written out.
    let mut validate = validate
        .lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{body_indent}"));
    validate.push('\n');
    validate.push_str(&body_indent);
    let dump = if uses_field {
        format!("{var}.model_dump(exclude_unset=True, by_alias=True)")
    } else {
        format!("{var}.model_dump(exclude_unset=True)")
    };

    let mut pydantic_names = vec!["BaseModel", "ValidationError"];
    if uses_field {
        pydantic_names.insert(1, "Field");
    }
    let mut import_lines = Vec::new();
    let uses_any = u.keys.iter().any(|k| k.ty == UNTYPED);
    let typing_names: Vec<&str> = [("Any", uses_any), ("Optional", uses_optional)]
        .into_iter()
        .filter(|&(name, used)| {
            used && ctx.facts.imports[u.module].get(name) != Some(&*format!("typing.{name}"))
        })
        .map(|(name, _)| name)
        .collect();
    if !typing_names.is_empty() {
        import_lines.push(format!("from typing import {}", typing_names.join(", ")));
    }
    import_lines.push(format!(
        "from pydantic import {}",
        pydantic_names.join(", ")
    ));
    let mut edits = import_edit(m, &import_lines.join("\n"));
    edits.push(Edit::insert(m, head_line, class));
    edits.push(Edit::insert(m, first.start(), validate));
    for read in &u.body_reads {
        edits.push(Edit::replace(m, *read, dump.clone()));
    }
    edits.extend(dependency_edit(ctx, "pydantic", "pydantic>=2"));
    Some(FixPlan::new(
        Rule::UnvalidatedJson,
        format!("validate the JSON body with a pydantic model ({model}) and answer 400 on errors"),
        Applicability::Unsafe,
        edits,
    ))
}

/// `create_user` → `CreateUser`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A model field for a JSON key: the key itself when it is a usable identifier.
fn field_name(key: &str) -> String {
    const RESERVED: &[&str] = &[
        "False",
        "None",
        "True",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "else",
        "except",
        "finally",
        "for",
        "from",
        "global",
        "if",
        "import",
        "in",
        "is",
        "lambda",
        "nonlocal",
        "not",
        "or",
        "pass",
        "raise",
        "return",
        "try",
        "while",
        "with",
        "yield",
        "copy",
        "dict",
        "json",
        "schema",
        "construct",
        "validate",
        "fields",
        "errors",
    ];
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&key)
        && !key.starts_with("model_");
    if ok {
        return key.to_string();
    }
    let clean: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("field_{}", clean.trim_matches('_'))
}

/// The offset of the start of the line holding `at`.
fn line_start(m: &Module, at: TextSize) -> TextSize {
    let text = &m.source.text;
    let upto = at.to_usize().min(text.len());
    let start = text[..upto].rfind('\n').map(|i| i + 1).unwrap_or(0);
    TextSize::try_from(start).unwrap_or(at)
}

// ---------------------------------------------------------------------------------------------
// The engine's plans

/// `input-validation/*`: the plans of the check's fix sites (parameterised SQL, safe_join,
/// argument lists, yaml.safe_load, a pydantic model), turned into patches.
pub fn generate(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let result = with_files(ctx, |files| {
        let check_ctx = Context {
            facts: ctx.facts,
            files,
            offline: true,
        };
        let report = crate::checks::input_validation::analyse(&check_ctx);
        let planned = plans(&check_ctx, &report);
        findings
            .iter()
            .map(|f| {
                let no = |r: &str| Unfixable::new(f, r);
                let planned = planned
                    .iter()
                    .find(|p| p.finding == **f)
                    .ok_or_else(|| no("no mechanical fix for this flow; see the message"))?;
                let applicability = match planned.plan.applicability {
                    self::Applicability::Safe => crate::fix::Applicability::Safe,
                    self::Applicability::Unsafe => crate::fix::Applicability::Unsafe,
                };
                let mut by_path: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
                for e in &planned.plan.edits {
                    by_path.entry(e.path.as_str()).or_default().push(e);
                }
                let mut plan =
                    crate::fix::FixPlan::new(&f.rule, planned.plan.title.clone(), applicability)
                        .fixing(f);
                for (path, edits) in by_path {
                    match ctx.snapshot.get(path) {
                        Some(text) => {
                            let mut patch = PatchBuilder::new(path, text);
                            for e in edits {
                                patch
                                    .replace(e.start..e.end, e.replacement.clone())
                                    .map_err(|err| no(&err.to_string()))?;
                            }
                            plan = plan.with_patch(patch.finish().map_err(|e| no(&e.to_string()))?);
                        }
                        None => {
                            let text: String =
                                edits.iter().map(|e| e.replacement.as_str()).collect();
                            plan = plan.with_patch(FilePatch {
                                path: path.to_string(),
                                kind: PatchKind::Create { text },
                            });
                        }
                    }
                }
                Ok(plan)
            })
            .collect::<Vec<_>>()
    });
    result.unwrap_or_else(|e| fail_all(findings, &e))
}
