//! Pipfile (TOML: `[packages]`, `[dev-packages]` and custom categories) and Pipfile.lock (JSON:
//! `default`, `develop` and custom categories, each `name: {"version": "==1.2.3", …}`).

use serde_json::Value as Json;
use toml_edit::{Document, Item, Value};

use super::pyproject::string_edit;
use super::requirement::constraint_of;
use super::{
    Constraint, Declared, DepFile, FileRole, LockTool, Uncheckable, Unreadable, line_of,
    normalize_name,
};

/// Pipfile tables that are not package categories.
const NOT_CATEGORIES: &[&str] = &["source", "requires", "scripts", "pipenv"];

pub fn parse_pipfile(rel: &str, text: &str) -> DepFile {
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
    for (category, table) in doc.as_table().iter() {
        if NOT_CATEGORIES.contains(&category) {
            continue;
        }
        let Some(table) = table.as_table_like() else {
            continue;
        };
        for (key, dep) in table.iter() {
            let value = match dep {
                Item::Value(Value::String(_)) => dep.as_value(),
                _ => dep
                    .as_table_like()
                    .and_then(|t| t.get("version"))
                    .and_then(Item::as_value),
            };
            match value {
                Some(v) => pipfile_value(&mut file, text, key, v),
                None => {
                    let line = dep
                        .as_table_like()
                        .and_then(|t| t.iter().next().and_then(|(_, v)| v.span()))
                        .map(|s| line_of(text, s.start))
                        .unwrap_or(1);
                    file.uncheckable.push(Uncheckable {
                        line,
                        text: key.to_string(),
                        reason: "a VCS, path or file dependency".into(),
                    });
                }
            }
        }
    }
    file
}

fn pipfile_value(file: &mut DepFile, text: &str, key: &str, value: &Value) {
    let Some(spec) = value.as_str() else { return };
    let span = value.span().unwrap_or(0..0);
    let line = line_of(text, span.start);
    let trimmed = spec.trim();
    let lead = spec.len() - spec.trim_start().len();
    if trimmed == "*" || trimmed.is_empty() {
        file.declared.push(Declared {
            name: normalize_name(key),
            display_name: key.to_string(),
            constraint: Constraint::Any,
            line,
            edit: None,
            hashed: false,
        });
        return;
    }
    // pipenv takes PEP 440 specifiers; a bare version means `==`.
    let spec_text = if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("=={trimmed}")
    } else {
        trimmed.to_string()
    };
    let specifiers = match pep440_rs::VersionSpecifiers::from_str_checked(&spec_text) {
        Ok(s) => s,
        Err(e) => {
            file.unreadable.push(Unreadable {
                line,
                text: format!("{key} = {spec:?}"),
                reason: e.lines().next().unwrap_or("").to_string(),
            });
            return;
        }
    };
    let constraint = constraint_of(&specifiers, trimmed);
    let edit = match &constraint {
        Constraint::Pin(_) => {
            let digits = trimmed.trim_start_matches(['=', ' ']);
            let start = lead + trimmed.len() - digits.len();
            Some(string_edit(
                text,
                &span,
                spec,
                start..lead + trimmed.len(),
                false,
            ))
        }
        Constraint::Range { .. } => Some(string_edit(
            text,
            &span,
            spec,
            lead..lead + trimmed.len(),
            true,
        )),
        Constraint::Any => None,
    };
    file.declared.push(Declared {
        name: normalize_name(key),
        display_name: key.to_string(),
        constraint,
        line,
        edit,
        hashed: false,
    });
}

trait FromStrChecked: Sized {
    fn from_str_checked(s: &str) -> Result<Self, String>;
}

impl FromStrChecked for pep440_rs::VersionSpecifiers {
    fn from_str_checked(s: &str) -> Result<Self, String> {
        <Self as std::str::FromStr>::from_str(s).map_err(|e| e.to_string())
    }
}

pub fn parse_lock(rel: &str, text: &str) -> DepFile {
    let mut file = DepFile::new(rel, FileRole::Lock(LockTool::Pipenv), text);
    let json: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            file.unreadable.push(Unreadable {
                line: e.line().max(1),
                text: file.line_text(e.line().max(1)).to_string(),
                reason: format!("not valid JSON: {e}"),
            });
            return file;
        }
    };
    let Some(sections) = json.as_object() else {
        return file;
    };
    for (section, packages) in sections {
        if section.starts_with('_') {
            continue;
        }
        let Some(packages) = packages.as_object() else {
            continue;
        };
        let section_at = find_key(text, section, 0).unwrap_or(0);
        for (key, entry) in packages {
            let at = find_key(text, key, section_at).unwrap_or(section_at);
            let Some(version) = entry.get("version").and_then(Json::as_str) else {
                file.uncheckable.push(Uncheckable {
                    line: line_of(text, at),
                    text: key.clone(),
                    reason: "a VCS, path or file dependency".into(),
                });
                continue;
            };
            let version_at = text[at..].find("\"version\"").map(|i| at + i).unwrap_or(at);
            let bare = version.trim().trim_start_matches('=');
            let Some(v) = super::advisories::parse_version(bare) else {
                file.unreadable.push(Unreadable {
                    line: line_of(text, version_at),
                    text: format!("{key}: {version}"),
                    reason: "not a PEP 440 version".into(),
                });
                continue;
            };
            file.declared.push(Declared {
                name: normalize_name(key),
                display_name: key.clone(),
                constraint: Constraint::Pin(v),
                line: line_of(text, version_at),
                edit: None,
                hashed: true,
            });
        }
    }
    file
}

/// The offset of `"key":` in JSON text at or after `from`.
fn find_key(text: &str, key: &str, from: usize) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    let mut pos = from;
    while let Some(i) = text.get(pos..)?.find(&quoted) {
        let at = pos + i;
        let after = text[at + quoted.len()..].trim_start();
        if after.starts_with(':') {
            return Some(at);
        }
        pos = at + quoted.len();
    }
    None
}
