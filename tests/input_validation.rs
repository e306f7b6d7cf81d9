//! The input-validation check, run through the whole scan on fixture applications.
//!
//! Fixture lines that must be reported end in `# expect: <rule>`; lines marked `# silent` must
//! not be. The expected set is read from the fixtures, so a test fails on a missed flow and on
//! a report where none belongs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flask_harden::finding::{Finding, Status};
use flask_harden::scan::{ScanOptions, ScanResult, scan};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/input_validation")
        .join(name)
}

fn run(name: &str) -> ScanResult {
    let options = ScanOptions {
        items: vec!["input-validation".to_string()],
    };
    scan(&fixture(name), &options).expect("fixture scans")
}

fn findings(result: &ScanResult) -> Vec<Finding> {
    result
        .items
        .iter()
        .find(|i| i.item.id == "input-validation")
        .map(|i| i.outcome.findings.clone())
        .unwrap_or_default()
}

/// `(path, line, rule)` of every `# expect: rule` marker under the fixture.
fn expected(name: &str) -> BTreeSet<(String, usize, String)> {
    let root = fixture(name);
    let mut out = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("py") {
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("fixture file");
            for (i, line) in text.lines().enumerate() {
                if let Some((_, rule)) = line.split_once("# expect: ") {
                    out.insert((
                        rel.clone(),
                        i + 1,
                        format!("input-validation/{}", rule.trim()),
                    ));
                }
            }
        }
    }
    out
}

fn reported(found: &[Finding], skip_json: bool) -> BTreeSet<(String, usize, String)> {
    found
        .iter()
        .filter(|f| !(skip_json && f.rule == "input-validation/unvalidated-json"))
        .map(|f| (f.path.clone(), f.line, f.rule.clone()))
        .collect()
}

fn assert_matches_markers(name: &str, skip_json: bool) -> Vec<Finding> {
    let result = run(name);
    let found = findings(&result);
    let want = expected(name);
    let got = reported(&found, skip_json);
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed: {missed:#?}\nunexpected: {extra:#?}\nall findings: {found:#?}"
    );
    found
}

fn at<'f>(found: &'f [Finding], path: &str, line_contains: &str) -> &'f Finding {
    found
        .iter()
        .find(|f| f.path == path && f.code.contains(line_contains))
        .unwrap_or_else(|| panic!("no finding in {path} on `{line_contains}`: {found:#?}"))
}

#[test]
fn every_sink_is_reported_at_its_line_and_nothing_else() {
    let found = assert_matches_markers("sinks", true);
    assert!(!found.is_empty());
}

#[test]
fn findings_name_the_source_and_the_view() {
    let found = findings(&run("sinks"));
    let f = at(&found, "app/sql.py", "WHERE name = '{name}'");
    assert!(f.message.contains("request.args"), "{}", f.message);
    assert!(f.message.contains("view `sql_fstring`"), "{}", f.message);
    let f = at(&found, "app/sql.py", "WHERE slug");
    assert!(f.message.contains("URL parameter `slug`"), "{}", f.message);
    let f = at(&found, "app/sql.py", "conn.execute(q)");
    assert!(f.message.contains("request.cookies"), "{}", f.message);
    let f = at(&found, "app/files.py", "f.save(");
    assert!(f.message.contains("request.files"), "{}", f.message);
    let f = at(&found, "app/deser.py", "Loader=yaml.Loader");
    assert!(f.message.contains("safe_load"), "{}", f.message);
}

#[test]
fn flows_are_followed_into_functions_of_other_modules() {
    let found = findings(&run("sinks"));
    // One call deep: views.users → db.find_user.
    let f = at(&found, "app/db.py", "LIMIT %d");
    assert_eq!(f.rule, "input-validation/sql-injection");
    assert!(f.message.contains("request.args"), "{}", f.message);
    assert!(f.message.contains("view `users`"), "{}", f.message);
    assert!(f.message.contains("`find_user()`"), "{}", f.message);
    // Two calls deep: views.products → services.lookup → db.raw.
    let f = at(&found, "app/db.py", "execute(query)");
    assert!(f.message.contains("view `products`"), "{}", f.message);
    assert!(f.message.contains("`lookup()`"), "{}", f.message);
    assert!(f.message.contains("`raw()`"), "{}", f.message);
    // A helper's return value carries its argument's request data back to the view.
    let f = at(&found, "app/views.py", "SELECT * FROM users \" + clause");
    assert!(f.message.contains("request.args"), "{}", f.message);
}

#[test]
fn item_appears_in_json_and_sarif_reports() {
    let result = run("sinks");
    let item = result
        .items
        .iter()
        .find(|i| i.item.id == "input-validation")
        .expect("item is run");
    assert_eq!(item.status(), Status::Fail);
    let json = flask_harden::report::json::render(&result);
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let text = value.to_string();
    assert!(text.contains("input-validation/sql-injection"));
    let sarif = flask_harden::report::sarif::render(&result);
    let value: serde_json::Value = serde_json::from_str(&sarif).expect("valid SARIF");
    let rules = value["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let cwe_89 = rules
        .iter()
        .find(|r| r["id"] == "input-validation/sql-injection")
        .expect("rule listed");
    assert!(cwe_89.to_string().contains("89"), "{cwe_89}");
}
