//! Build the compact advisory database from an OSV export.
//!
//! Usage: `cargo run --features converter --bin osv-convert -- SOURCE_DIR OUTPUT.json [SOURCE_NAME]`
//!
//! SOURCE_DIR is searched recursively for OSV records as YAML (`*.yaml`, `*.yml`: the
//! pypa/advisory-database layout) or JSON (`*.json`: an unzipped OSV export such as
//! `PyPI/all.zip`). The embedded snapshot is rebuilt with:
//!
//! `cargo run --features converter --bin osv-convert -- ../shared/advisories/pypa-advisory-database/vulns src/deps/advisories.json "PyPA advisory database snapshot"`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flask_harden::deps::osv::{OsvRecord, build_database};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(src), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: osv-convert SOURCE_DIR OUTPUT.json [SOURCE_NAME]");
        return ExitCode::from(2);
    };
    let source = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "OSV export".to_string());
    let mut paths = Vec::new();
    collect(Path::new(src), &mut paths);
    paths.sort();
    let mut records = Vec::new();
    let mut skipped = 0;
    for path in &paths {
        match read_record(path) {
            Ok(Some(r)) => records.push(r),
            Ok(None) => {}
            Err(e) => {
                skipped += 1;
                eprintln!("{}: skipped: {e}", path.display());
            }
        }
    }
    let db = build_database(&records, &source);
    if let Err(e) = std::fs::write(out, db.to_json()) {
        eprintln!("{out}: {e}");
        return ExitCode::from(2);
    }
    eprintln!(
        "{} records read ({skipped} skipped), {} PyPI advisories written to {out}, dated {}",
        records.len(),
        db.advisories.len(),
        db.date
    );
    ExitCode::SUCCESS
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect(&path, out);
        } else if ft.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        {
            out.push(path);
        }
    }
}

fn read_record(path: &Path) -> Result<Option<OsvRecord>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let value = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    } else {
        let docs = YamlLoader::load_from_str(&text).map_err(|e| e.to_string())?;
        match docs.into_iter().next() {
            Some(doc) => yaml_to_json(doc),
            None => return Ok(None),
        }
    };
    if value.get("id").is_none() {
        return Ok(None);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// YAML to JSON, keeping numbers as written: a version `1.10` must not become `1.1`.
fn yaml_to_json(y: Yaml) -> Value {
    match y {
        Yaml::Real(s) => Value::String(s),
        Yaml::Integer(i) => Value::String(i.to_string()),
        Yaml::String(s) => Value::String(s),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Array(a) => Value::Array(a.into_iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.into_iter()
                .filter_map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s,
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((key, yaml_to_json(v)))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_records_keep_versions_as_written() {
        let dir = std::env::temp_dir().join(format!("osv-convert-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("PYSEC-1.yaml");
        std::fs::write(
            &path,
            "id: PYSEC-1\naliases:\n- CVE-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package:\n    name: Flask\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n  versions:\n  - 1.0\n  - 2.0.1\n",
        )
        .unwrap();
        let record = read_record(&path).unwrap().unwrap();
        let db = build_database(&[record], "test");
        std::fs::remove_dir_all(&dir).unwrap();
        let affected = &db.advisories[0].affected[0];
        assert_eq!(affected.name, "flask");
        assert_eq!(
            affected.ranges[0][1],
            flask_harden::deps::advisories::Event::Fixed("1.10".into())
        );
        // 1.0 is inside the range already; only 2.0.1 is kept.
        assert_eq!(affected.versions, vec!["2.0.1".to_string()]);
        assert_eq!(db.date, "2024-01-01");
    }
}
