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
        ..ScanOptions::default()
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
    let json = flask_harden::report::json::render(&result, &Default::default());
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

#[test]
fn json_bodies_read_without_a_schema_are_reported_with_keys_and_types() {
    let found = assert_matches_markers("json_api", false);
    let f = at(&found, "app.py", "data = request.get_json()");
    for part in [
        "`age` (int)",
        "`admin` (bool)",
        "`tags` (list)",
        "`active` (bool)",
        // Passed on untouched: nothing says what type they are.
        "`name` (Any)",
        "`first-name` (Any)",
        "view `create_user`",
    ] {
        assert!(f.message.contains(part), "{part} in {}", f.message);
    }
    let f = at(&found, "app.py", "request.json.get(\"quantity\", 1)");
    assert!(f.message.contains("`quantity` (int)"), "{}", f.message);
}

mod fixes {
    use std::collections::BTreeMap;
    use std::process::Command;

    use flask_harden::checks::Context;
    use flask_harden::checks::input_validation;
    use flask_harden::fix::items::input_validation::{Edit, PlannedFix, plans as plans_of};
    use flask_harden::project::{self, FileKind};
    use flask_harden::python::{self, facts::Facts};

    use super::*;

    fn plans(root: &Path) -> Vec<PlannedFix> {
        let files = project::discover(root).expect("fixture opens");
        let modules: Vec<std::sync::Arc<python::Module>> = files
            .of_kind(FileKind::Python)
            .filter_map(|f| python::parse(&f.rel, project::read_text(f).ok()?).ok())
            .map(std::sync::Arc::new)
            .collect();
        let facts = Facts::compute(&modules, Vec::new(), Vec::new());
        let ctx = Context {
            facts: &facts,
            files: &files,
            offline: true,
        };
        plans_of(&ctx, &input_validation::analyse(&ctx))
    }

    /// Copy the fixture to a temporary folder and apply every plan's edits there.
    fn patched(name: &str) -> (tempfile::TempDir, Vec<PlannedFix>) {
        let src = fixture(name);
        let dir = tempfile::tempdir().expect("tempdir");
        for entry in std::fs::read_dir(&src).expect("fixture dir") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
        let plans = plans(dir.path());
        let mut by_file: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
        for p in &plans {
            for e in &p.plan.edits {
                let edits = by_file.entry(e.path.clone()).or_default();
                if !edits.contains(e) {
                    edits.push(e.clone());
                }
            }
        }
        for (path, mut edits) in by_file {
            edits.sort_by_key(|e| (e.start, e.end));
            let file = dir.path().join(&path);
            let mut text = std::fs::read_to_string(&file).unwrap_or_default();
            for e in edits.iter().rev() {
                text.replace_range(e.start..e.end, &e.replacement);
            }
            std::fs::write(&file, text).expect("write patched file");
        }
        (dir, plans)
    }

    fn py_compile(path: &Path) -> Option<bool> {
        let out = Command::new("python3")
            .args(["-m", "py_compile"])
            .arg(path)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Some(out.status.success())
    }

    #[test]
    fn sql_plans_use_the_drivers_placeholders() {
        let (dir, plans) = patched("fixes");
        let rules: Vec<&str> = plans.iter().map(|p| p.finding.rule.as_str()).collect();
        assert!(
            rules
                .iter()
                .filter(|r| **r == "input-validation/sql-injection")
                .count()
                >= 6,
            "{rules:?}"
        );
        let app = std::fs::read_to_string(dir.path().join("app.py")).expect("app.py");
        assert!(
            app.contains(
                r#"db().execute("SELECT * FROM users WHERE name = ? AND active = 1", (name,))"#
            ),
            "{app}"
        );
        assert!(
            app.contains(r#"sql = "SELECT * FROM items WHERE title LIKE ? AND kind = ?""#),
            "{app}"
        );
        assert!(
            app.contains(r#"db().execute(sql, ("%" + str(term) + "%", kind))"#),
            "{app}"
        );
        assert!(
            app.contains(r#"execute("SELECT * FROM users WHERE id = ?", (user_id,))"#),
            "{app}"
        );
        assert!(
            app.contains(r#"execute("SELECT * FROM users WHERE email = ? LIMIT 1", (email,))"#),
            "{app}"
        );
        let pg = std::fs::read_to_string(dir.path().join("pg.py")).expect("pg.py");
        assert!(
            pg.contains(r#"cur.execute("SELECT * FROM posts WHERE title LIKE %s AND score > 10", ("%" + str(q) + "%",))"#),
            "{pg}"
        );
        let orm = std::fs::read_to_string(dir.path().join("orm.py")).expect("orm.py");
        assert!(
            orm.contains(r#"text("SELECT * FROM pages WHERE slug = :slug").bindparams(slug=slug)"#),
            "{orm}"
        );
        assert!(
            app.contains("subprocess.run([\"ping\", \"-c\", \"1\", str(host)], check=False)"),
            "{app}"
        );
        assert!(
            app.contains("send_from_directory(UPLOAD_DIR, request.args[\"name\"])"),
            "{app}"
        );
        assert!(app.contains("yaml.safe_load(request.data)"), "{app}");
    }

    #[test]
    fn pydantic_plan_validates_the_body_and_adds_the_dependency() {
        let (dir, _) = patched("fixes");
        let api = std::fs::read_to_string(dir.path().join("api.py")).expect("api.py");
        assert!(api.contains("class CreateUserPayload(BaseModel):"), "{api}");
        assert!(api.contains("    age: int\n"), "{api}");
        assert!(api.contains("    admin: bool = False\n"), "{api}");
        assert!(api.contains("    tags: list = []\n"), "{api}");
        assert!(api.contains("    nick: Any = None\n"), "{api}");
        assert!(
            api.contains("field_first_name: Any = Field(default=None, alias=\"first-name\")"),
            "{api}"
        );
        assert!(
            api.contains("payload = CreateUserPayload.model_validate(request.get_json())"),
            "{api}"
        );
        assert!(api.contains("return {\"errors\": errors}, 400"), "{api}");
        assert!(
            api.contains("data = payload.model_dump(exclude_unset=True, by_alias=True)"),
            "{api}"
        );
        assert!(!api.contains(".dict()"), "{api}");
        let reqs = std::fs::read_to_string(dir.path().join("requirements.txt")).expect("reqs");
        assert!(reqs.contains("pydantic>=2"), "{reqs}");
    }

    #[test]
    fn patched_files_compile_and_rescan_clean() {
        let (dir, _) = patched("fixes");
        for name in ["app.py", "pg.py", "orm.py", "api.py"] {
            match py_compile(&dir.path().join(name)) {
                None => {
                    eprintln!("python3 not found; skipping py_compile");
                    return;
                }
                Some(ok) => assert!(ok, "{name} does not compile after the fixes"),
            }
        }
        let options = ScanOptions {
            items: vec!["input-validation".to_string()],
            ..ScanOptions::default()
        };
        let result = scan(dir.path(), &options).expect("patched scan");
        let left = findings(&result);
        assert!(left.is_empty(), "findings left after the fixes: {left:#?}");
    }
}

#[test]
fn flows_reach_class_methods_walrus_bindings_and_form_fields() {
    // Methods called through their class (plain, static and class methods, and `cls.` calls
    // between them), a name bound by `:=` in a condition, a WTForms field's `.data`, and a
    // FileField's upload saved under its own name; `secure_filename` cleans a name for paths
    // even once it is bound to a variable.
    let found = assert_matches_markers("helpers", true);
    let f = at(&found, "app/repo.py", "WHERE name = '%s'");
    assert!(f.message.contains("form field `q`"), "{}", f.message);
    let f = at(&found, "app/repo.py", "execute(sql)");
    assert!(f.message.contains("request.args"), "{}", f.message);
    let f = at(&found, "app/views.py", "f.save(path)");
    assert!(f.message.contains("form field `cover`"), "{}", f.message);
}
