//! Fixes for the csrf item (FLASK_FACTS §4): one multi-file plan adds flask-wtf to the
//! dependency file, wires CSRFProtect once (in the module, or with init_app in the factory),
//! and puts the token in every form that posts; CSRF back on in the production config.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::super::plan::PatchBuilder;
use super::super::style::{
    LineEnding, line_end_inclusive, line_indent, line_start, preferred_quote,
};
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{
    Patches, TextOffsets, add_dependency, app_site_patch, append_to_class, by_file,
    dict_entry_insertion, dict_has_key, ensure_imports, fail_all, insert_after, insert_before,
    keyword_insertion, loaded_config_classes, located, quoted, test_config_dicts,
};
use super::secret_key::TEST_KEY;
use crate::checks::csrf::{header_or_json_api, meta_disables_csrf};
use crate::finding::Finding;
use crate::python::expr::literal_truth;
use crate::python::request_sources::project_subclasses;
use crate::python::templates::{post_forms_in, rendered_by_flask};

pub fn protect(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    match protect_plan(ctx, findings) {
        Ok(Some(plan)) => vec![Ok(plan)],
        Ok(None) => Vec::new(),
        Err(reason) => fail_all(findings, &reason),
    }
}

/// CSRFProtect wired once, and everything that posts to the app made to carry the token (or
/// exempted when it is an API a cross-site form cannot drive); the tests' own configuration
/// switches the check off. When one form cannot get its token, no plan: it would answer 400.
fn protect_plan(ctx: &FixContext, findings: &[&Finding]) -> Result<Option<FixPlan>, String> {
    let Some(first) = findings.first() else {
        return Ok(None);
    };
    let (site, app_patch) = app_site_patch(ctx, "protect")?;
    let facts = ctx.facts;
    let taken = |n: &str| (0..facts.modules.len()).any(|i| facts.binds(i, n));
    let name = if taken("csrf") {
        "csrf_protect"
    } else {
        "csrf"
    };
    let mut patches = Patches::default();
    patches.insert(app_patch);

    // APIs authenticated by a header or reading only JSON: exempted, by decorator where the
    // protector is in scope before the view, else by the view's dotted name.
    let mut exempt_lines = Vec::new();
    let mut exempted = 0;
    for route in facts.routes.iter().filter(|r| {
        r.is_state_changing()
            && r.class.is_none()
            && facts.is_production_module(r.module)
            && header_or_json_api(facts, r)
    }) {
        let module = facts.module(route.module);
        let same_scope = site.factory.is_none()
            && module.path == site.module.path
            && route.func.start() > site.stmt.end();
        if same_scope {
            let patch = patches.for_path(ctx, &module.path)?;
            let text = patch.text();
            let def_line = match route.func.decorator_list.last() {
                Some(d) => line_end_inclusive(text, d.end().to_usize()),
                None => line_start(text, route.func.start().to_usize()),
            };
            let indent = line_indent(text, route.func.start().to_usize()).to_string();
            let eol = LineEnding::detect(text);
            patch
                .insert(def_line, format!("{indent}@{name}.exempt{}", eol.as_str()))
                .map_err(|e| e.to_string())?;
        } else {
            let quote = preferred_quote(site.module.tree());
            exempt_lines.push(format!(
                "{name}.exempt({})",
                quoted(quote, &format!("{}.{}", module.name, route.func.name))
            ));
        }
        exempted += 1;
    }

    let app_path = site.module.path.clone();
    let patch = patches.for_path(ctx, &app_path)?;
    let mut wiring = match site.factory {
        None => format!("{name} = CSRFProtect({})", site.var),
        Some(_) => format!("{name}.init_app({})", site.var),
    };
    for line in &exempt_lines {
        wiring.push('\n');
        wiring.push_str(line);
    }
    insert_after(patch, site.stmt.range(), &wiring)?;
    if let Some(factory) = site.factory {
        // Two blank lines before the factory's `def` (PEP 8): `insert_before` writes one line
        // per `lines()` item, and a trailing "\n" does not make one.
        insert_before(
            patch,
            factory.range(),
            &format!("{name} = CSRFProtect()\n\n\n"),
        )?;
    }
    ensure_imports(patch, &["from flask_wtf.csrf import CSRFProtect"])?;

    let mut forms = 0;
    for t in facts
        .templates
        .iter()
        .filter(|t| rendered_by_flask(&t.path))
    {
        let missing: Vec<_> = t
            .post_forms()
            .into_iter()
            .filter(|f| !f.has_token)
            .collect();
        if missing.is_empty() {
            continue;
        }
        let tp = patches.for_path(ctx, &t.path)?;
        let eol = LineEnding::detect(tp.text());
        for form in missing {
            add_token(tp, eol, form.range.end().to_usize())?;
            forms += 1;
        }
    }
    forms += string_forms(ctx, &mut patches)?;
    let unlocked = flask_forms_with_csrf_off(ctx, &mut patches)?;
    test_configs_without_csrf(ctx, &mut patches, site.factory.map(|f| f.name.as_str()))?;

    let mut plan = FixPlan::new(&first.rule, String::new(), Applicability::Safe);
    for p in patches.finish()? {
        plan = plan.with_patch(p);
    }
    if let Some(dep) = add_dependency(ctx, "flask-wtf", ">=1.2") {
        plan = plan.with_patch(dep);
    }
    let mut title = match forms {
        0 => "enable CSRFProtect".to_string(),
        1 => "enable CSRFProtect and add the token to 1 form".to_string(),
        n => format!("enable CSRFProtect and add tokens to {n} forms"),
    };
    if unlocked > 0 {
        title.push_str(&format!(
            "; turn the token back on in {}",
            plural(unlocked, "FlaskForm")
        ));
    }
    if exempted > 0 {
        title.push_str(&format!(
            "; exempt {} authenticated by a header or JSON",
            plural(exempted, "API view")
        ));
    }
    plan.title = title;
    for f in findings {
        plan = plan.fixing(f);
    }
    Ok(Some(plan))
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Forms that views build in Python strings get the token: `{generate_csrf()}` in an
/// f-string (a plain literal without braces becomes one), or Jinja's `{{ csrf_token() }}` in
/// a `render_template_string` template. A form whose string cannot take it stops the fix.
fn string_forms<'a>(ctx: &FixContext<'a, '_>, patches: &mut Patches<'a>) -> Result<usize, String> {
    let facts = ctx.facts;
    let mut count = 0;
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test || !module.source.text.to_ascii_lowercase().contains("<form") {
            continue;
        }
        let jinja_args: Vec<TextRange> = facts
            .calls_named(idx, "render_template_string")
            .filter_map(|c| c.arguments.args.first().map(Ranged::range))
            .collect();
        let mut needs_import = false;
        for expr in string_exprs(module.body()) {
            let source = module.text(expr.range());
            for form in post_forms_in(source).into_iter().filter(|f| !f.has_token) {
                let tag_end = expr.start().to_usize() + form.range.end().to_usize();
                let line = module.source.span(expr.range()).start.line
                    + source[..form.range.start().to_usize()]
                        .matches('\n')
                        .count();
                let cannot = |why: &str| {
                    format!(
                        "the form built in Python at {}:{line} cannot get a CSRF token ({why}); \
                         add one by hand or exempt its view, then run the fix again",
                        module.path
                    )
                };
                let part = string_parts(expr)
                    .into_iter()
                    .find(|p| p.start().to_usize() < tag_end && tag_end < p.end().to_usize())
                    .ok_or_else(|| cannot("its tag spans several string parts"))?;
                let part_text = module.text(part);
                let prefix: String = part_text
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                let lower = prefix.to_ascii_lowercase();
                let quote = part_text[prefix.len()..].chars().next().unwrap_or('"');
                let in_jinja = jinja_args.iter().any(|r| r.contains_range(expr.range()));
                let is_f = lower.contains('f');
                let field = if in_jinja {
                    let field = templates::get("csrf/token_field.html")
                        .map_err(|e| e.to_string())?
                        .trim_end()
                        .to_string();
                    if is_f {
                        field.replace('{', "{{").replace('}', "}}")
                    } else {
                        field
                    }
                } else {
                    if lower.contains('b') || lower.contains('u') || lower.contains('t') {
                        return Err(cannot("it is not a text or f-string literal"));
                    }
                    let inner = &part_text[prefix.len()..];
                    if !is_f && (inner.contains('{') || inner.contains('}')) {
                        return Err(cannot(
                            "its string holds braces, so it may be a format template",
                        ));
                    }
                    needs_import = true;
                    templates::get("csrf/token_field_fstring.txt")
                        .map_err(|e| e.to_string())?
                        .trim_end()
                        .to_string()
                };
                // The attributes take the quote the literal does not use.
                let triple = part_text[prefix.len()..].starts_with(&quote.to_string().repeat(3));
                let field = if quote == '"' && !triple {
                    field.replace('"', "'")
                } else {
                    field
                };
                let patch = patches.for_path(ctx, &module.path)?;
                if !in_jinja && !is_f {
                    patch
                        .insert(part.start().to_usize() + prefix.len(), "f")
                        .map_err(|e| e.to_string())?;
                }
                patch.insert(tag_end, field).map_err(|e| e.to_string())?;
                count += 1;
            }
        }
        if needs_import {
            let patch = patches.for_path(ctx, &module.path)?;
            ensure_imports(patch, &["from flask_wtf.csrf import generate_csrf"])?;
        }
    }
    Ok(count)
}

/// Every string expression of a body (an implicit concatenation is one), outermost only.
fn string_exprs(body: &[Stmt]) -> Vec<&Expr> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct V<'a> {
        out: Vec<&'a Expr>,
    }
    impl<'a> Visitor<'a> for V<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::StringLiteral(_) | Expr::FString(_) => self.out.push(expr),
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut v = V { out: Vec::new() };
    v.visit_body(body);
    v.out
}

/// The ranges of a string expression's literal parts.
fn string_parts(expr: &Expr) -> Vec<TextRange> {
    match expr {
        Expr::StringLiteral(s) => s.value.iter().map(Ranged::range).collect(),
        Expr::FString(f) => f.value.iter().map(Ranged::range).collect(),
        _ => Vec::new(),
    }
}

/// FlaskForm classes of production code with `class Meta: csrf = False` emit no token from
/// `hidden_tag()`: the setting goes (the whole Meta when that is all it holds).
fn flask_forms_with_csrf_off<'a>(
    ctx: &FixContext<'a, '_>,
    patches: &mut Patches<'a>,
) -> Result<usize, String> {
    let facts = ctx.facts;
    let forms = project_subclasses(
        facts.modules,
        &[
            "flask_wtf.FlaskForm",
            "flask_wtf.Form",
            "flask_wtf.form.FlaskForm",
        ],
    );
    let mut count = 0;
    for (idx, module) in facts.modules.iter().enumerate() {
        if module.is_test {
            continue;
        }
        for class in facts.top_classes(idx) {
            if !forms.contains(class.name.as_str()) {
                continue;
            }
            let Some(def) = facts
                .class_def(idx, class)
                .filter(|d| meta_disables_csrf(d))
            else {
                continue;
            };
            let Some(Stmt::ClassDef(meta)) = def
                .body
                .iter()
                .find(|s| matches!(s, Stmt::ClassDef(m) if m.name.as_str() == "Meta"))
            else {
                continue;
            };
            let only_csrf = meta.body.iter().all(|s| is_csrf_off(s) || is_docstring(s));
            // A form whose only statement is its Meta keeps a body.
            let alone = def.body.iter().filter(|s| !is_docstring(s)).count() == 1;
            let patch = patches.for_path(ctx, &module.path)?;
            let text = patch.text();
            if only_csrf && alone {
                let start = meta.start().to_usize();
                let end = meta.end().to_usize();
                patch
                    .replace(start..end, "pass")
                    .map_err(|e| e.to_string())?;
                count += 1;
                continue;
            }
            let targets: Vec<TextRange> = if only_csrf {
                vec![meta.range()]
            } else {
                meta.body
                    .iter()
                    .filter(|s| is_csrf_off(s))
                    .map(Ranged::range)
                    .collect()
            };
            for r in targets {
                let start = line_start(text, r.start().to_usize());
                let mut end = line_end_inclusive(text, r.end().to_usize());
                // A blank line left before the removed Meta goes with it.
                let before = text.get(..start).unwrap_or("");
                let start =
                    if only_csrf && (before.ends_with("\n\n") || before.ends_with("\r\n\r\n")) {
                        line_start(text, start.saturating_sub(1))
                    } else {
                        start
                    };
                if end < start {
                    end = start;
                }
                patch.delete(start..end).map_err(|e| e.to_string())?;
            }
            count += 1;
        }
    }
    Ok(count)
}

/// `app.config["TESTING"] = True` and `app.testing = True` statements of a test module, with
/// the app expression they configure.
fn testing_switches(module: &crate::python::Module) -> Vec<(TextRange, String)> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct V<'m> {
        module: &'m crate::python::Module,
        out: Vec<(TextRange, String)>,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::Assign(a) = stmt
                && let [target] = a.targets.as_slice()
                && literal_truth(&a.value) == Some(true)
            {
                let app = match target {
                    Expr::Subscript(s) => match s.value.as_ref() {
                        Expr::Attribute(c)
                            if c.attr.as_str() == "config"
                                && crate::python::expr::str_value(&s.slice).as_deref()
                                    == Some("TESTING") =>
                        {
                            Some(&c.value)
                        }
                        _ => None,
                    },
                    Expr::Attribute(t) if t.attr.as_str() == "testing" => Some(&t.value),
                    _ => None,
                };
                if let Some(app) = app {
                    self.out
                        .push((a.range, self.module.text(app.range()).to_string()));
                }
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    let mut v = V {
        module,
        out: Vec::new(),
    };
    v.visit_body(module.body());
    v.out
}

fn is_csrf_off(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Assign(a)
        if matches!(a.targets.as_slice(), [Expr::Name(n)] if n.id.as_str() == "csrf")
            && literal_truth(&a.value) == Some(false))
}

fn is_docstring(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(e) if matches!(e.value.as_ref(), Expr::StringLiteral(_)))
}

/// The tests' own configuration turns the check off, as Flask-WTF's docs advise, and has a
/// key: testing config classes that `from_object` loads, the mapping a conftest passes to the
/// factory (`create_app({"TESTING": True})`), and `app.config.update(TESTING=True)` in tests.
fn test_configs_without_csrf<'a>(
    ctx: &FixContext<'a, '_>,
    patches: &mut Patches<'a>,
    factory: Option<&str>,
) -> Result<(), String> {
    let facts = ctx.facts;
    for c in loaded_config_classes(facts) {
        let class = &facts.classes[c];
        if class.is_module
            || facts.production.contains(&c)
            || !class.name.to_ascii_lowercase().contains("test")
        {
            continue;
        }
        let module = facts.module(class.module);
        let quote = preferred_quote(module.tree());
        let mut lines = Vec::new();
        if facts.effective_write(c, "WTF_CSRF_ENABLED").is_none() {
            lines.push("WTF_CSRF_ENABLED = False".to_string());
        }
        if facts.effective_write(c, "SECRET_KEY").is_none() {
            lines.push(format!("SECRET_KEY = {}", quoted(quote, TEST_KEY)));
        }
        if lines.is_empty() {
            continue;
        }
        let patch = patches.for_path(ctx, &module.path)?;
        append_to_class(patch, module, &class.name, &lines.join("\n"))?;
    }
    if let Some(factory) = factory {
        for (module, dict) in test_config_dicts(ctx, factory) {
            let quote = preferred_quote(module.tree());
            let mut entries = Vec::new();
            if !dict_has_key(dict, "WTF_CSRF_ENABLED") {
                entries.push(format!("{}: False", quoted(quote, "WTF_CSRF_ENABLED")));
            }
            if !dict_has_key(dict, "SECRET_KEY") {
                entries.push(format!(
                    "{}: {}",
                    quoted(quote, "SECRET_KEY"),
                    quoted(quote, TEST_KEY)
                ));
            }
            if entries.is_empty() {
                continue;
            }
            let patch = patches.for_path(ctx, &module.path)?;
            if let Some((at, text)) = dict_entry_insertion(dict, patch.text(), &entries.join(", "))
            {
                patch.insert(at, text).map_err(|e| e.to_string())?;
            }
        }
    }
    for (idx, module) in facts.modules.iter().enumerate() {
        if !module.is_test {
            continue;
        }
        if !module.source.text.contains("WTF_CSRF_ENABLED") {
            let quote = preferred_quote(module.tree());
            for (stmt, app) in testing_switches(module) {
                let patch = patches.for_path(ctx, &module.path)?;
                insert_after(
                    patch,
                    stmt,
                    &format!(
                        "{app}.config[{}] = False",
                        quoted(quote, "WTF_CSRF_ENABLED")
                    ),
                )?;
            }
        }
        for call in facts.calls_named(idx, "update") {
            let on_config = matches!(call.func.as_ref(), Expr::Attribute(a)
                if matches!(a.value.as_ref(), Expr::Attribute(c) if c.attr.as_str() == "config"));
            if !on_config
                || call.arguments.find_keyword("TESTING").is_none()
                || call.arguments.find_keyword("WTF_CSRF_ENABLED").is_some()
            {
                continue;
            }
            let patch = patches.for_path(ctx, &module.path)?;
            if let Some((at, text)) =
                keyword_insertion(call, patch.text(), &["WTF_CSRF_ENABLED=False".to_string()])
            {
                patch.insert(at, text).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// Insert the hidden token field on its own line after a form's opening tag, indented like
/// the form's first line of content.
fn add_token(patch: &mut PatchBuilder, eol: LineEnding, tag_end: usize) -> Result<(), String> {
    let text = patch.text();
    let field = templates::get("csrf/token_field.html")
        .map_err(|e| e.to_string())?
        .trim_end();
    let form_indent = line_indent(text, line_start(text, tag_end.saturating_sub(1))).to_string();
    let next_line = text.get(tag_end..).and_then(|rest| {
        let after_eol = rest.find('\n')? + 1;
        let line = rest.get(after_eol..)?.lines().next()?;
        (!line.trim().is_empty()).then(|| line[..line.len() - line.trim_start().len()].to_string())
    });
    let indent = next_line.unwrap_or_else(|| format!("{form_indent}  "));
    patch
        .insert(tag_end, format!("{}{indent}{field}", eol.as_str()))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// `csrf/form-without-token`: the token goes into each posting form. The forms of one template
/// make one plan, so that a template with thousands of forms is read and patched once.
pub fn form_token(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    by_file(findings)
        .into_values()
        .flat_map(|fs| form_tokens_in(ctx, &fs))
        .collect()
}

fn form_tokens_in(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let Some(first) = findings.first() else {
        return Vec::new();
    };
    let text = match ctx.text_for(first) {
        Ok(text) => text,
        Err(e) => return fail_all(findings, &e.reason),
    };
    let Some(template) = ctx.facts.templates.iter().find(|t| t.path == first.path) else {
        return fail_all(findings, "the template was not read");
    };
    let forms: std::collections::HashMap<usize, usize> = template
        .post_forms()
        .into_iter()
        .map(|p| (p.range.start().to_usize(), p.range.end().to_usize()))
        .collect();
    let mut offsets = TextOffsets::default();
    let mut patch = PatchBuilder::new(&first.path, text);
    let eol = LineEnding::detect(text);
    let mut out = Vec::new();
    let mut fixed = Vec::new();
    for f in findings {
        let no = |r: &str| Unfixable::new(f, r);
        let Some(start) = offsets.offset(&f.path, text, f.line, f.column) else {
            out.push(Err(no("bad position")));
            continue;
        };
        let Some(&end) = forms.get(&start) else {
            out.push(Err(no("the form is not where the finding says")));
            continue;
        };
        match add_token(&mut patch, eol, end) {
            Ok(()) => fixed.push(*f),
            Err(e) => out.push(Err(no(&e))),
        }
    }
    if fixed.is_empty() {
        return out;
    }
    let what = if fixed.len() == 1 {
        "add the CSRF token to the form".to_string()
    } else {
        format!("add the CSRF token to the {} forms", fixed.len())
    };
    match patch.finish() {
        Ok(p) => {
            let mut plan = FixPlan::new(&first.rule, what, Applicability::Safe).with_patch(p);
            for f in fixed {
                plan = plan.fixing(f);
            }
            out.push(Ok(plan));
        }
        Err(e) => out.extend(fail_all(&fixed, &e.to_string())),
    }
    out
}

pub fn enable(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (idx, _, range, mut patch) = located(ctx, f)?;
            let w = ctx
                .facts
                .writes
                .iter()
                .find(|w| w.module == idx && w.key == "WTF_CSRF_ENABLED" && w.range == range)
                .ok_or_else(|| no("the setting is not where the finding says"))?;
            patch
                .replace(w.value.start().to_usize()..w.value.end().to_usize(), "True")
                .map_err(|e| no(&e.to_string()))?;
            let plan = FixPlan::new(
                &f.rule,
                "turn CSRF protection back on in production",
                Applicability::Safe,
            );
            Ok(plan
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::common::fix_item;

    const APP: &str = "import os\n\
        from flask import Flask, request, session, render_template\n\
        from flask_wtf import FlaskForm\n\n\
        app = Flask(__name__)\n\
        app.secret_key = os.environ['SECRET_KEY']\n\n\n\
        class NoteForm(FlaskForm):\n\
        \x20   class Meta:\n\
        \x20       csrf = False\n\n\n\
        @app.route('/note', methods=['GET', 'POST'])\n\
        def note():\n\
        \x20   if request.method == 'POST':\n\
        \x20       session['note'] = request.form['text']\n\
        \x20   return render_template('note.html')\n\n\n\
        @app.route('/hook', methods=['POST'])\n\
        def hook():\n\
        \x20   if request.headers.get('Authorization') != 'Bearer x':\n\
        \x20       return 'no', 401\n\
        \x20   session['hooked'] = request.form['v']\n\
        \x20   return 'ok'\n";
    const NOTE: &str = "<form method=\"post\">\n  <input name=\"text\">\n</form>\n\
        <!-- <form method=\"post\" action=\"/old\"></form> -->\n";
    const VENDORED: &str = "<form method=\"post\" action=\"https://example.com\">\n</form>\n";

    #[test]
    fn every_posting_form_gets_its_token_and_header_apis_are_exempted() {
        let test = "from app import app\n\n\ndef test_note():\n    app.config['TESTING'] = True\n\
            \x20   assert app.test_client().post('/note', data={'text': 'x'}).status_code == 200\n";
        let files = [
            ("app.py", APP),
            ("templates/note.html", NOTE),
            ("static/vendor/demo.html", VENDORED),
            ("tests/test_app.py", test),
        ];
        let (item, result) = fix_item(&files, "csrf");
        assert_eq!(item.applied.len(), 1, "{item:#?}");
        let app = result.get("app.py").expect("app.py");
        assert!(app.contains("csrf = CSRFProtect(app)\n"), "{app}");
        assert!(app.contains("@csrf.exempt\ndef hook():"), "{app}");
        assert!(
            !app.contains("class Meta"),
            "Meta.csrf = False stays:\n{app}"
        );
        let note = result.get("templates/note.html").expect("template");
        assert_eq!(note.matches("csrf_token()").count(), 1, "{note}");
        assert!(
            note.contains("<!-- <form method=\"post\" action=\"/old\"></form> -->"),
            "{note}"
        );
        assert_eq!(result.get("static/vendor/demo.html"), Some(VENDORED));
        let test = result.get("tests/test_app.py").expect("test module");
        assert!(
            test.contains(
                "    app.config['TESTING'] = True\n    app.config['WTF_CSRF_ENABLED'] = False\n"
            ),
            "{test}"
        );
    }

    #[test]
    fn a_form_in_a_format_string_stops_the_fix_and_is_named() {
        let app = "import os\nfrom flask import Flask, request, session\n\n\
            app = Flask(__name__)\napp.secret_key = os.environ['SECRET_KEY']\n\n\n\
            @app.route('/c', methods=['GET', 'POST'])\ndef c():\n\
            \x20   if request.method == 'POST':\n        session['c'] = request.form['t']\n\
            \x20   return '<form method=\"post\" action=\"{}\"></form>'.format('/c')\n";
        let (item, result) = fix_item(&[("app.py", app)], "csrf");
        assert!(item.applied.is_empty(), "{item:#?}");
        assert_eq!(result.get("app.py"), Some(app));
        let r = &item.rejected[0];
        assert!(
            r.reason.contains("the form built in Python at app.py:12"),
            "{}",
            r.reason
        );
    }
}
