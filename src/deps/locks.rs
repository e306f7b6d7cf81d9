//! Lock files written as TOML: poetry.lock and uv.lock (`[[package]]` with `name` and
//! `version`) and pylock.toml (PEP 751: `[[packages]]`). Every entry is an exact version.

use toml_edit::{Document, Item};

use super::{
    Constraint, Declared, DepFile, FileRole, LockTool, Uncheckable, Unreadable, line_of,
    normalize_name,
};

pub fn parse(rel: &str, text: &str, tool: LockTool) -> DepFile {
    let mut file = DepFile::new(rel, FileRole::Lock(tool), text);
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
    // uv.lock files written before uv 0.3 name the entries `[[distribution]]`.
    let keys: &[&str] = match tool {
        LockTool::Pylock => &["packages"],
        LockTool::Uv => &["package", "distribution"],
        _ => &["package"],
    };
    let Some(packages) = keys
        .iter()
        .find_map(|k| doc.as_table().get(k).and_then(Item::as_array_of_tables))
    else {
        if tool == LockTool::Uv {
            file.unreadable.push(Unreadable {
                line: 1,
                text: file.line_text(1).to_string(),
                reason: "no `[[package]]` entries: not a uv.lock format this tool knows".into(),
            });
        }
        return file;
    };
    for package in packages.iter() {
        let Some(name_item) = package.get("name") else {
            continue;
        };
        let Some(name) = name_item.as_str() else {
            continue;
        };
        let name_line = name_item
            .span()
            .map(|s| line_of(text, s.start))
            .unwrap_or(1);
        // The project itself and local checkouts (uv: `source = { editable = "." }`).
        if let Some(source) = package.get("source").and_then(Item::as_table_like)
            && ["editable", "virtual", "path", "directory", "git"]
                .iter()
                .any(|k| source.contains_key(k))
        {
            continue;
        }
        if tool == LockTool::Pylock
            && (package.contains_key("vcs") || package.contains_key("directory"))
        {
            file.uncheckable.push(Uncheckable {
                line: name_line,
                text: name.to_string(),
                reason: "a VCS or directory package".into(),
            });
            continue;
        }
        let Some(version_item) = package.get("version") else {
            continue;
        };
        let version_text = version_item.as_str().unwrap_or("");
        let line = version_item
            .span()
            .map(|s| line_of(text, s.start))
            .unwrap_or(name_line);
        match super::advisories::parse_version(version_text) {
            Some(v) => file.declared.push(Declared {
                name: normalize_name(name),
                display_name: name.to_string(),
                constraint: Constraint::Pin(v),
                line,
                edit: None,
                hashed: false,
            }),
            None => file.unreadable.push(Unreadable {
                line,
                text: format!("{name} {version_text}"),
                reason: "not a PEP 440 version".into(),
            }),
        }
    }
    file
}
