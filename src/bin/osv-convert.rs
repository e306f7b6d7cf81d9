//! Build the compact advisory database from an OSV export.
//!
//! Usage: `osv-convert [--date YYYY-MM-DD] [--source NAME] SOURCE_DIR OUTPUT`
//!
//! SOURCE_DIR is searched recursively for OSV records as YAML (`*.yaml`, `*.yml`: the
//! pypa/advisory-database layout) or JSON (`*.json`: an unzipped OSV export such as
//! `PyPI/all.zip`). Withdrawn records are left out. OUTPUT ending in `.gz` is written gzipped
//! (the embedded form), else as JSON. `--date` is the date of the export; without it the
//! newest `modified` not later than today is used. Dates later than today are data errors:
//! they are ignored and listed. The embedded snapshot is rebuilt with:
//!
//! `cargo run --release --features converter --bin osv-convert -- --date 2026-07-23 ../shared/advisories/pypa-advisory-database src/deps/advisories.json.gz`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flask_harden::deps::osv::{OsvRecord, build_database};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

const USAGE: &str = "usage: osv-convert [--date YYYY-MM-DD] [--source NAME] SOURCE_DIR OUTPUT[.gz]

Builds flask-harden's advisory database from OSV records (YAML or JSON, searched recursively
in SOURCE_DIR). Withdrawn records are left out. OUTPUT ending in .gz is gzipped (the form
embedded as src/deps/advisories.json.gz). --date dates the data (default: the newest
`modified` that is not later than today); --source names it (default: \"PyPA advisory
database snapshot\").

The embedded snapshot is rebuilt with:
  cargo run --release --features converter --bin osv-convert -- \\
      --date 2026-07-23 ../shared/advisories/pypa-advisory-database src/deps/advisories.json.gz";

struct Args {
    date: Option<String>,
    source: String,
    input: PathBuf,
    output: PathBuf,
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let mut date = None;
    let mut source = None;
    let mut positional = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--date" => date = Some(it.next().ok_or("--date needs a value")?),
            "--source" => source = Some(it.next().ok_or("--source needs a value")?),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    let (Some(input), Some(output)) = (positional.next(), positional.next()) else {
        return Err("SOURCE_DIR and OUTPUT are required".into());
    };
    // A third positional argument names the source, as earlier versions took it.
    let source = source
        .or_else(|| positional.next())
        .unwrap_or_else(|| "PyPA advisory database snapshot".into());
    Ok(Args {
        date,
        source,
        input: input.into(),
        output: output.into(),
    })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("osv-convert: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut paths = Vec::new();
    collect(&args.input, &mut paths);
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
    if records.is_empty() {
        eprintln!("osv-convert: no OSV records under {}", args.input.display());
        return ExitCode::from(2);
    }
    let today = flask_harden::date::today_utc();
    let built = build_database(&records, &args.source, args.date.as_deref(), &today);
    for d in &built.diagnostics {
        eprintln!("warning: {d}");
    }
    let db = &built.database;
    let gzip = args.output.extension().is_some_and(|e| e == "gz");
    let bytes = if gzip {
        db.to_gzip()
    } else {
        db.to_json().into_bytes()
    };
    if let Err(e) = std::fs::write(&args.output, &bytes) {
        eprintln!("{}: {e}", args.output.display());
        return ExitCode::from(2);
    }
    let packages: std::collections::BTreeSet<&str> = db
        .advisories
        .iter()
        .flat_map(|a| a.affected.iter().map(|x| x.name.as_str()))
        .collect();
    eprintln!(
        "{} records read ({skipped} unreadable, {} withdrawn left out), {} PyPI advisories for {} packages written to {} ({} bytes), dated {}",
        records.len(),
        built.withdrawn,
        db.advisories.len(),
        packages.len(),
        args.output.display(),
        bytes.len(),
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
        let db = build_database(&[record], "test", None, "2026-01-01").database;
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
