//! Fixes for the xss item (FLASK_FACTS §3): escape, render a template variable instead of
//! formatting the template string, turn autoescaping back on, and where rich HTML must stay,
//! an nh3-based `|sanitize` filter instead of `|safe`.

use ruff_python_ast::{Expr, ExprCall, InterpolatedStringElement, Operator, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use super::super::imports::ensure_import;
use super::super::plan::PatchBuilder;
use super::super::style::preferred_quote;
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    TextOffsets, add_dependency, app_site_patch, by_file, ensure_imports, fail_all, insert_after,
    insert_before, keyword_insertion, located, py_string, stmt_at,
};
use crate::finding::Finding;
use crate::python::expr::{calls_in_body, str_value};

fn span(r: TextRange) -> std::ops::Range<usize> {
    r.start().to_usize()..r.end().to_usize()
}

/// `|safe` → `|sanitize`, with the filter registered on the app and nh3 declared.
pub fn safe_filter(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let Some(first) = findings.first() else {
        return Vec::new();
    };
    let fail = |r: String| fail_all(findings, &r);
    let (site, mut patch) = match app_site_patch(ctx, "register the filter on") {
        Ok(found) => found,
        Err(e) => return fail(e),
    };
    let registered = match site.factory {
        None => {
            let function =
                match templates::render("xss/sanitize_filter.py", &[("name", "sanitize")]) {
                    Ok(f) => f,
                    Err(e) => return fail(e.to_string()),
                };
            let quote = preferred_quote(site.module.tree());
            // Two blank lines after the function too (PEP 8), unless the code after the app
            // already starts with a blank line.
            let next_line = patch
                .text()
                .get(site.stmt.end().to_usize()..)
                .and_then(|rest| rest.split_once('\n'))
                .and_then(|(_, rest)| rest.lines().next());
            let after = match next_line {
                Some(l) if !l.trim().is_empty() => "\n\n\n",
                _ => "",
            };
            let block = format!(
                "\n\n@{}.template_filter({quote}sanitize{quote})\n{}{after}",
                site.var,
                function.trim_end()
            );
            insert_after(&mut patch, site.stmt.range(), &block)
        }
        Some(factory) => {
            let function =
                match templates::render("xss/sanitize_filter.py", &[("name", "sanitize_html")]) {
                    Ok(f) => f,
                    Err(e) => return fail(e.to_string()),
                };
            let quote = preferred_quote(site.module.tree());
            insert_after(
                &mut patch,
                site.stmt.range(),
                &format!(
                    "{}.add_template_filter(sanitize_html, {quote}sanitize{quote})",
                    site.var
                ),
            )
            .and_then(|()| {
                insert_before(
                    &mut patch,
                    factory.range(),
                    // Two blank lines before the factory's `def` (PEP 8).
                    &format!("{}\n\n\n", function.trim_end()),
                )
            })
        }
    };
    if let Err(e) = registered {
        return fail(e);
    }
    if let Err(e) = ensure_imports(&mut patch, &["import nh3", "from markupsafe import Markup"]) {
        return fail(e);
    }
    let app_patch = match patch.finish() {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let mut plan = FixPlan::new(
        &first.rule,
        "sanitize user HTML with nh3 (|sanitize) instead of marking it |safe",
        Applicability::Unsafe,
    )
    .with_patch(app_patch);
    let mut offsets = TextOffsets::default();
    for (path, fs) in by_file(findings) {
        let Some(text) = ctx.snapshot.get(path) else {
            continue;
        };
        let mut tp = PatchBuilder::new(path, text);
        for f in fs {
            let Some(start) = offsets.offset(path, text, f.line, f.column) else {
                continue;
            };
            let end = offsets
                .offset(path, text, f.end_line, f.end_column)
                .unwrap_or(start);
            let Some(word) = text.get(start..end).and_then(|s| s.rfind("safe")) else {
                continue;
            };
            if tp
                .replace(start + word..start + word + 4, "sanitize")
                .is_ok()
            {
                plan = plan.fixing(f);
            }
        }
        if let Ok(p) = tp.finish() {
            plan = plan.with_patch(p);
        }
    }
    if let Some(dep) = add_dependency(ctx, "nh3", ">=0.2") {
        plan = plan.with_patch(dep);
    }
    vec![Ok(plan)]
}

/// `{% autoescape false %}` → true; `jinja_env.autoescape = False` → True; a jinja2
/// Environment gets `autoescape=select_autoescape()`.
pub fn autoescape(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let mut offsets = TextOffsets::default();
    findings
        .iter()
        .map(|f| autoescape_one(ctx, f, &mut offsets))
        .collect()
}

fn autoescape_one(ctx: &FixContext, f: &Finding, offsets: &mut TextOffsets) -> Generated {
    let no = |r: &str| Unfixable::new(f, r);
    if !f.path.ends_with(".py") {
        let text = ctx.text_for(f)?;
        let start = offsets
            .offset(&f.path, text, f.line, f.column)
            .ok_or_else(|| no("bad position"))?;
        let end = offsets
            .offset(&f.path, text, f.end_line, f.end_column)
            .ok_or_else(|| no("bad position"))?;
        let tag = text.get(start..end).ok_or_else(|| no("bad position"))?;
        let word = tag
            .find("false")
            .or_else(|| tag.find("False"))
            .or_else(|| tag.find('0'))
            .ok_or_else(|| no("no false in the tag"))?;
        let len = if tag[word..].starts_with('0') { 1 } else { 5 };
        let mut patch = PatchBuilder::new(&f.path, text);
        patch
            .replace(start + word..start + word + len, "true")
            .map_err(|e| no(&e.to_string()))?;
        let plan = FixPlan::new(
            &f.rule,
            "turn autoescaping back on in the template",
            Applicability::Unsafe,
        );
        return Ok(plan
            .fixing(f)
            .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?));
    }
    let (_, module, range, mut patch) = located(ctx, f)?;
    let (stmt, _) =
        stmt_at(module.body(), range, None).ok_or_else(|| no("no statement at the finding"))?;
    if let Stmt::Assign(a) = stmt
        && a.range == range
    {
        patch
            .replace(span(a.value.range()), "True")
            .map_err(|e| no(&e.to_string()))?;
        let plan = FixPlan::new(&f.rule, "turn autoescaping back on", Applicability::Unsafe);
        return Ok(plan
            .fixing(f)
            .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?));
    }
    let call = calls_in_body(module.body())
        .into_iter()
        .find(|c| c.range() == range)
        .ok_or_else(|| no("the Environment() call is not where the finding says"))?;
    // `jinja2.Environment` → `jinja2.select_autoescape()`; a bare `Environment` imports it.
    let selector = match call.func.as_ref() {
        Expr::Attribute(a) => format!("{}.select_autoescape()", module.text(a.value.range())),
        _ => "select_autoescape()".to_string(),
    };
    match call.arguments.find_keyword("autoescape") {
        Some(k) => {
            patch
                .replace(span(k.value.range()), selector.clone())
                .map_err(|e| no(&e.to_string()))?;
        }
        None => {
            let (at, text) =
                keyword_insertion(call, patch.text(), &[format!("autoescape={selector}")])
                    .ok_or_else(|| no("cannot place the keyword"))?;
            patch.insert(at, text).map_err(|e| no(&e.to_string()))?;
        }
    }
    if selector == "select_autoescape()"
        && let Some(edit) = ensure_import(patch.text(), "from jinja2 import select_autoescape")
            .map_err(|e| no(&e.to_string()))?
    {
        patch.push(edit).map_err(|e| no(&e.to_string()))?;
    }
    let plan = FixPlan::new(
        &f.rule,
        "let the jinja2 Environment autoescape HTML",
        Applicability::Unsafe,
    );
    Ok(plan
        .fixing(f)
        .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
}

/// `Markup(value)` → `escape(value)`: the value is shown, not run.
pub fn markup(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (_, module, range, mut patch) = located(ctx, f)?;
            let call = calls_in_body(module.body())
                .into_iter()
                .find(|c| c.range() == range)
                .ok_or_else(|| no("the Markup() call is not where the finding says"))?;
            patch
                .replace(span(call.func.range()), "escape")
                .map_err(|e| no(&e.to_string()))?;
            if let Some(edit) = ensure_import(patch.text(), "from markupsafe import escape")
                .map_err(|e| no(&e.to_string()))?
            {
                patch.push(edit).map_err(|e| no(&e.to_string()))?;
            }
            let plan = FixPlan::new(
                &f.rule,
                "escape the value instead of marking it Markup()",
                Applicability::Unsafe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}

/// The function of `module` whose body holds `range`.
fn enclosing_function(body: &[Stmt], range: TextRange) -> Option<&StmtFunctionDef> {
    stmt_at(body, range, None).and_then(|(_, f)| f)
}

/// The value assigned to `name` in `func` before `before`, the last such assignment.
fn assignment_of<'m>(
    func: &'m StmtFunctionDef,
    name: &str,
    before: ruff_text_size::TextSize,
) -> Option<&'m Expr> {
    fn walk<'m>(
        body: &'m [Stmt],
        name: &str,
        before: ruff_text_size::TextSize,
        found: &mut Option<&'m Expr>,
    ) {
        for s in body {
            if s.start() >= before {
                return;
            }
            match s {
                Stmt::Assign(a) if matches!(a.targets.as_slice(), [Expr::Name(n)] if n.id.as_str() == name) =>
                {
                    *found = Some(&a.value);
                }
                Stmt::If(i) => {
                    walk(&i.body, name, before, found);
                    for c in &i.elif_else_clauses {
                        walk(&c.body, name, before, found);
                    }
                }
                Stmt::With(w) => walk(&w.body, name, before, found),
                Stmt::Try(t) => walk(&t.body, name, before, found),
                _ => {}
            }
        }
    }
    let mut found = None;
    walk(&func.body, name, before, &mut found);
    found
}

/// Wrap every non-literal part of an HTML-building expression in `escape(...)`.
fn escape_parts(expr: &Expr, module_text: &str, out: &mut Vec<(std::ops::Range<usize>, String)>) {
    let wrap = |e: &Expr, out: &mut Vec<(std::ops::Range<usize>, String)>| {
        let already = matches!(e, Expr::Call(c) if matches!(c.func.as_ref(), Expr::Name(n) if n.id.as_str() == "escape"));
        if !already && !matches!(e, Expr::StringLiteral(_) | Expr::NumberLiteral(_)) {
            let src = module_text.get(span(e.range())).unwrap_or("");
            out.push((span(e.range()), format!("escape({src})")));
        }
    };
    match expr {
        Expr::FString(f) => {
            for el in f.value.elements() {
                if let InterpolatedStringElement::Interpolation(i) = el {
                    wrap(&i.expression, out);
                }
            }
        }
        Expr::BinOp(b) if b.op == Operator::Mod => match b.right.as_ref() {
            Expr::Tuple(t) => t.elts.iter().for_each(|e| wrap(e, out)),
            other => wrap(other, out),
        },
        Expr::BinOp(b) if b.op == Operator::Add => {
            for side in [&b.left, &b.right] {
                match side.as_ref() {
                    Expr::BinOp(_) | Expr::FString(_) => escape_parts(side, module_text, out),
                    other => wrap(other, out),
                }
            }
        }
        Expr::Call(c) if matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "format") =>
        {
            c.arguments.args.iter().for_each(|e| wrap(e, out));
            c.arguments
                .keywords
                .iter()
                .for_each(|k| wrap(&k.value, out));
        }
        _ => {}
    }
}

/// HTML built from request data in a view: escape each value formatted into it.
pub fn html_from_request(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (_, module, range, mut patch) = located(ctx, f)?;
            let func =
                enclosing_function(module.body(), range).ok_or_else(|| no("not inside a view"))?;
            let returned = calls_in_expr_or_self(module, range)
                .ok_or_else(|| no("no returned value at the finding"))?;
            let built = match returned {
                Expr::Name(n) => assignment_of(func, n.id.as_str(), range.start())
                    .ok_or_else(|| no("the returned HTML is built somewhere not followed"))?,
                other => other,
            };
            let mut edits = Vec::new();
            escape_parts(built, &module.source.text, &mut edits);
            if edits.is_empty() {
                return Err(no("nothing to escape in the returned value"));
            }
            for (r, t) in edits {
                patch.replace(r, t).map_err(|e| no(&e.to_string()))?;
            }
            if let Some(edit) = ensure_import(patch.text(), "from markupsafe import escape")
                .map_err(|e| no(&e.to_string()))?
            {
                patch.push(edit).map_err(|e| no(&e.to_string()))?;
            }
            let plan = FixPlan::new(
                &f.rule,
                "escape request data before it goes into HTML",
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}

/// The value a `return` at `range` gives, looking through `make_response(body, …)`.
fn calls_in_expr_or_self(module: &crate::python::Module, range: TextRange) -> Option<&Expr> {
    let (stmt, _) = stmt_at(module.body(), range, None)?;
    let Stmt::Return(r) = stmt else { return None };
    let value = r.value.as_deref()?;
    match value {
        Expr::Call(c) if matches!(c.func.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "make_response" | "Response")) => {
            c.arguments.args.first()
        }
        Expr::Tuple(t) => t.elts.first(),
        other => Some(other),
    }
}

/// `render_template_string(built)` → a constant template with the values as variables.
pub fn render_template_string(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (_, module, range, mut patch) = located(ctx, f)?;
            let call: &ExprCall = calls_in_body(module.body())
                .into_iter()
                .find(|c| c.range() == range)
                .ok_or_else(|| no("the call is not where the finding says"))?;
            let arg = call
                .arguments
                .args
                .first()
                .ok_or_else(|| no("no template argument"))?;
            let func = enclosing_function(module.body(), range);
            let (built, assigned_at) = match arg {
                Expr::Name(n) => {
                    let func = func.ok_or_else(|| no("not inside a view"))?;
                    let v = assignment_of(func, n.id.as_str(), range.start())
                        .ok_or_else(|| no("the template is built somewhere not followed"))?;
                    (v, Some(v.range()))
                }
                other => (other, None),
            };
            let quote = preferred_quote(module.tree());
            let (template, kwargs) = as_template(built, &module.source.text).ok_or_else(|| {
                no("the template is built in a way that cannot be rewritten safely")
            })?;
            let literal = py_string(quote, &template);
            match assigned_at {
                Some(r) => {
                    patch
                        .replace(span(r), literal)
                        .map_err(|e| no(&e.to_string()))?;
                }
                None => {
                    patch
                        .replace(span(arg.range()), literal)
                        .map_err(|e| no(&e.to_string()))?;
                }
            }
            if !kwargs.is_empty() {
                let (at, text) = keyword_insertion(call, patch.text(), &kwargs)
                    .ok_or_else(|| no("cannot place the variables"))?;
                patch.insert(at, text).map_err(|e| no(&e.to_string()))?;
            }
            let plan = FixPlan::new(
                &f.rule,
                "keep the template constant and pass request data as template variables",
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}

/// A Jinja template equivalent to a formatted string, and the `name=value` keywords that feed
/// it: `"<p>" + name + "</p>"` → (`<p>{{ name }}</p>`, [`name=name`]).
fn as_template(expr: &Expr, text: &str) -> Option<(String, Vec<String>)> {
    let mut parts: Vec<Part> = Vec::new();
    flatten(expr, &mut parts)?;
    let mut template = String::new();
    let mut kwargs: Vec<String> = Vec::new();
    for part in parts {
        match part {
            Part::Text(s) => template.push_str(&s),
            Part::Value(e) => {
                let src = text.get(span(e.range()))?.to_string();
                let name = match e {
                    Expr::Name(n) if n.id.as_str() != "request" => n.id.to_string(),
                    _ => format!("value{}", kwargs.len() + 1),
                };
                let kw = format!("{name}={src}");
                if !kwargs.contains(&kw) {
                    kwargs.push(kw);
                }
                template.push_str(&format!("{{{{ {name} }}}}"));
            }
        }
    }
    Some((template, kwargs))
}

enum Part<'e> {
    Text(String),
    Value(&'e Expr),
}

fn flatten<'e>(expr: &'e Expr, out: &mut Vec<Part<'e>>) -> Option<()> {
    match expr {
        Expr::StringLiteral(s) => out.push(Part::Text(s.value.to_str().to_string())),
        Expr::FString(f) => {
            for el in f.value.elements() {
                match el {
                    InterpolatedStringElement::Literal(l) => {
                        out.push(Part::Text(l.value.to_string()))
                    }
                    InterpolatedStringElement::Interpolation(i) => {
                        if i.format_spec.is_some() || i.debug_text.is_some() {
                            return None;
                        }
                        out.push(Part::Value(&i.expression));
                    }
                }
            }
        }
        Expr::BinOp(b) if b.op == Operator::Add => {
            flatten(&b.left, out)?;
            flatten(&b.right, out)?;
        }
        Expr::BinOp(b) if b.op == Operator::Mod => {
            let fmt = str_value(&b.left)?;
            let values: Vec<&Expr> = match b.right.as_ref() {
                Expr::Tuple(t) => t.elts.iter().collect(),
                other => vec![other],
            };
            let pieces: Vec<&str> = fmt.split("%s").collect();
            if pieces.len() != values.len() + 1 || fmt.replace("%s", "").contains('%') {
                return None;
            }
            for (i, piece) in pieces.iter().enumerate() {
                out.push(Part::Text(piece.to_string()));
                if let Some(v) = values.get(i) {
                    out.push(Part::Value(v));
                }
            }
        }
        Expr::Call(c) if matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "format") =>
        {
            let Expr::Attribute(a) = c.func.as_ref() else {
                return None;
            };
            let fmt = str_value(&a.value)?;
            let pieces: Vec<&str> = fmt.split("{}").collect();
            if pieces.len() != c.arguments.args.len() + 1 || !c.arguments.keywords.is_empty() {
                return None;
            }
            for (i, piece) in pieces.iter().enumerate() {
                out.push(Part::Text(piece.to_string()));
                if let Some(v) = c.arguments.args.get(i) {
                    out.push(Part::Value(v));
                }
            }
        }
        other => out.push(Part::Value(other)),
    }
    Some(())
}
