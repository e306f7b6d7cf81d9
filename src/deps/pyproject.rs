//! pyproject.toml: PEP 621 `[project].dependencies` and `optional-dependencies`, PEP 735
//! `[dependency-groups]`, uv's `[tool.uv].dev-dependencies`, and Poetry's
//! `[tool.poetry.dependencies]`, `dev-dependencies` and `group.*.dependencies`.

use std::ops::Range;

use toml_edit::{Document, Item, Value};

use super::requirement::{Parsed, parse_pep508, parse_poetry};
use super::{Constraint, Declared, DepFile, EditSite, FileRole, Uncheckable, Unreadable, line_of};

pub fn parse(rel: &str, text: &str) -> DepFile {
    let mut file = DepFile::new(rel, FileRole::Manifest, text);
    let doc = match Document::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            file.unreadable.push(Unreadable {
                line,
                text: file.line_text(line).to_string(),
                reason: format!("not valid TOML: {}", e.message().trim()),
            });
            return file;
        }
    };
    let root = doc.as_item();
    if let Some(project) = root.get("project") {
        pep508_array(&mut file, text, project.get("dependencies"));
        if let Some(optional) = project
            .get("optional-dependencies")
            .and_then(Item::as_table_like)
        {
            for (_, deps) in optional.iter() {
                pep508_array(&mut file, text, Some(deps));
            }
        }
    }
    if let Some(groups) = root.get("dependency-groups").and_then(Item::as_table_like) {
        for (_, deps) in groups.iter() {
            // `{include-group = "…"}` entries are tables and are skipped by pep508_array.
            pep508_array(&mut file, text, Some(deps));
        }
    }
    if let Some(uv) = root.get("tool").and_then(|t| t.get("uv")) {
        pep508_array(&mut file, text, uv.get("dev-dependencies"));
        pep508_array(&mut file, text, uv.get("constraint-dependencies"));
        pep508_array(&mut file, text, uv.get("override-dependencies"));
    }
    if let Some(poetry) = root.get("tool").and_then(|t| t.get("poetry")) {
        poetry_table(&mut file, text, poetry.get("dependencies"));
        poetry_table(&mut file, text, poetry.get("dev-dependencies"));
        if let Some(groups) = poetry.get("group").and_then(Item::as_table_like) {
            for (_, group) in groups.iter() {
                poetry_table(&mut file, text, group.get("dependencies"));
            }
        }
    }
    file
}

fn pep508_array(file: &mut DepFile, text: &str, item: Option<&Item>) {
    let Some(array) = item.and_then(Item::as_array) else {
        return;
    };
    for value in array.iter() {
        if let Some(s) = value.as_str() {
            pep508_value(file, text, value, s);
        }
    }
}

/// A TOML string holding a PEP 508 requirement.
pub(crate) fn pep508_value(file: &mut DepFile, text: &str, value: &Value, req: &str) {
    let span = value.span().unwrap_or(0..0);
    let line = line_of(text, span.start);
    match parse_pep508(req) {
        Err(reason) => file.unreadable.push(Unreadable {
            line,
            text: req.to_string(),
            reason,
        }),
        Ok(Parsed::Uncheckable { reason }) => file.uncheckable.push(Uncheckable {
            line,
            text: req.to_string(),
            reason,
        }),
        Ok(Parsed::Package {
            name,
            display_name,
            constraint,
            pin_range,
            spec_range,
        }) => {
            let edit = match &constraint {
                Constraint::Pin(_) => pin_range.map(|r| string_edit(text, &span, req, r, false)),
                Constraint::Range { .. } => {
                    spec_range.map(|r| string_edit(text, &span, req, r, true))
                }
                Constraint::Any => None,
            };
            file.declared.push(Declared {
                name,
                display_name,
                constraint,
                line,
                edit,
                hashed: false,
            });
        }
    }
}

/// Map a range inside a TOML string's value to the file: direct when the string has no escapes
/// (the raw text between the quotes is the value), otherwise replace the whole string.
pub(crate) fn string_edit(
    text: &str,
    span: &Range<usize>,
    value: &str,
    inner: Range<usize>,
    whole_specifier: bool,
) -> EditSite {
    let raw = text.get(span.clone()).unwrap_or("");
    let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        3
    } else {
        1
    };
    let body = raw
        .get(quote..raw.len().saturating_sub(quote))
        .unwrap_or("");
    let site = |r: Range<usize>| {
        if whole_specifier {
            EditSite::Specifier(r)
        } else {
            EditSite::PinVersion(r)
        }
    };
    if body == value && !raw.is_empty() {
        let start = span.start + quote;
        return site(start + inner.start..start + inner.end);
    }
    let prefix = value[..inner.start].to_string();
    let suffix = value[inner.end..].to_string();
    EditSite::TomlValue {
        range: span.clone(),
        prefix,
        suffix,
        specifier: whole_specifier,
    }
}

/// `[tool.poetry.dependencies]`: `name = "constraint"`, `name = {version = "…", …}`,
/// `name = [{version = "…", python = "…"}, …]`, or a sub-table.
fn poetry_table(file: &mut DepFile, text: &str, item: Option<&Item>) {
    let Some(table) = item.and_then(Item::as_table_like) else {
        return;
    };
    for (key, dep) in table.iter() {
        if key.eq_ignore_ascii_case("python") {
            continue;
        }
        match dep {
            Item::Value(Value::String(_)) => {
                if let Some(v) = dep.as_value() {
                    poetry_value(file, text, key, v);
                }
            }
            Item::Value(Value::Array(array)) => {
                for v in array.iter() {
                    poetry_entry(
                        file,
                        text,
                        key,
                        v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike),
                    );
                }
            }
            _ => poetry_entry(file, text, key, dep.as_table_like()),
        }
    }
}

fn poetry_entry(
    file: &mut DepFile,
    text: &str,
    key: &str,
    table: Option<&dyn toml_edit::TableLike>,
) {
    let Some(table) = table else { return };
    if let Some(v) = table.get("version").and_then(Item::as_value) {
        poetry_value(file, text, key, v);
        return;
    }
    let source = ["git", "path", "url", "file"]
        .iter()
        .find(|k| table.contains_key(k));
    let line = table
        .iter()
        .next()
        .and_then(|(_, v)| v.span())
        .map(|s| line_of(text, s.start))
        .unwrap_or(1);
    file.uncheckable.push(Uncheckable {
        line,
        text: key.to_string(),
        reason: match source {
            Some(k) => format!("a {k} dependency"),
            None => "no version given".into(),
        },
    });
}

fn poetry_value(file: &mut DepFile, text: &str, key: &str, value: &Value) {
    let Some(constraint_text) = value.as_str() else {
        return;
    };
    let span = value.span().unwrap_or(0..0);
    let line = line_of(text, span.start);
    match parse_poetry(constraint_text) {
        Err(reason) => file.unreadable.push(Unreadable {
            line,
            text: format!("{key} = {constraint_text:?}"),
            reason,
        }),
        Ok(constraint) => {
            let trimmed = constraint_text.trim();
            let lead = constraint_text.len() - constraint_text.trim_start().len();
            let edit = match &constraint {
                Constraint::Pin(_) => {
                    let digits = trimmed.trim_start_matches(['=', ' ']);
                    let start = lead + trimmed.len() - digits.len();
                    Some(string_edit(
                        text,
                        &span,
                        constraint_text,
                        start..lead + trimmed.len(),
                        false,
                    ))
                }
                Constraint::Range { .. } => Some(string_edit(
                    text,
                    &span,
                    constraint_text,
                    lead..lead + trimmed.len(),
                    true,
                )),
                Constraint::Any => None,
            };
            file.declared.push(Declared {
                name: super::normalize_name(key),
                display_name: key.to_string(),
                constraint,
                line,
                edit,
                hashed: false,
            });
        }
    }
}
