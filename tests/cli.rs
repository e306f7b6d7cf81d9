//! The `check` command as CI runs it: exit codes, formats, colour.

mod common;

use std::process::Command;

use common::fixture;

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .arg("check")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run flask-harden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes() {
    let hardened = fixture("hardened");
    let (code, _, _) = check(&[hardened.to_str().unwrap_or_default()]);
    assert_eq!(code, 0);
    let vulnerable = fixture("single_file");
    let (code, _, _) = check(&[vulnerable.to_str().unwrap_or_default()]);
    assert_eq!(code, 1);
    let (code, _, err) = check(&["/no/such/repository"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such directory"), "{err}");
    let (code, _, err) = check(&[vulnerable.to_str().unwrap_or_default(), "--item", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown checklist item"), "{err}");
}

#[test]
fn item_filter_limits_the_report() {
    let path = fixture("single_file");
    let (code, out, _) = check(&[
        path.to_str().unwrap_or_default(),
        "--item",
        "debug",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "debug");
}

#[test]
fn human_output_lists_findings_as_path_line_col_rule() {
    let path = fixture("single_file");
    let (_, out, _) = check(&[path.to_str().unwrap_or_default()]);
    assert!(out.contains("app.py:7:1 secret-key/placeholder "), "{out}");
    assert!(out.contains("FAIL"));
    assert!(
        out.contains("Summary: 7 failed, 1 passed, 5 not applicable"),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let (_, out, _) = check(&[path.to_str().unwrap_or_default(), "--color", "always"]);
    assert!(out.contains("\x1b["));
    let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args([
            "check",
            path.to_str().unwrap_or_default(),
            "--color",
            "always",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "NO_COLOR wins"
    );
}

#[test]
fn json_has_the_documented_shape() {
    let path = fixture("single_file");
    let (_, out, _) = check(&[path.to_str().unwrap_or_default(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["tool"]["name"], "flask-harden");
    assert!(v["tool"]["version"].is_string());
    let root = v["root"].as_str().expect("root");
    assert!(std::path::Path::new(root).is_absolute());
    assert!(v["diagnostics"].is_array());
    for item in v["items"].as_array().expect("items") {
        assert!(item["id"].is_string() && item["title"].is_string());
        let status = item["status"].as_str().expect("status");
        assert!(["pass", "fail", "not-applicable", "error"].contains(&status));
        for f in item["findings"].as_array().expect("findings") {
            for key in ["rule", "path", "message", "severity"] {
                assert!(f[key].is_string(), "{key} in {f}");
            }
            for key in ["line", "end_line", "column"] {
                assert!(f[key].as_u64().is_some_and(|n| n >= 1), "{key} in {f}");
            }
            assert!(["high", "medium", "low"].contains(&f["severity"].as_str().unwrap_or("")));
            assert!(f["fix"]["available"].is_boolean());
            if f["fix"]["available"] == serde_json::json!(true) {
                assert!(f["fix"]["title"].is_string());
                assert!(
                    ["safe", "unsafe"].contains(&f["fix"]["applicability"].as_str().unwrap_or(""))
                );
            }
            assert!(!f["path"].as_str().unwrap_or("").contains('\\'));
        }
    }
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    for name in ["single_file", "hardened", "example_app"] {
        let path = fixture(name);
        let (_, out, _) = check(&[path.to_str().unwrap_or_default(), "--format", "sarif"]);
        let sarif: serde_json::Value = serde_json::from_str(&out).expect("sarif json");
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let run = &sarif["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        for result in run["results"].as_array().expect("results") {
            let id = result["ruleId"].as_str().expect("ruleId");
            let idx = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[idx]["id"], id);
            assert!(
                rules[idx]["help"]["markdown"]
                    .as_str()
                    .is_some_and(|h| h.contains("Fix"))
            );
            assert!(result["partialFingerprints"]["flaskHarden/v1"].is_string());
        }
    }
}

#[test]
fn no_fixes_skips_the_fix_offers() {
    let path = fixture("single_file");
    let p = path.to_str().unwrap_or_default();
    let (_, with, _) = check(&[p, "--format", "json"]);
    let (_, without, _) = check(&[p, "--format", "json", "--no-fixes"]);
    let count = |out: &str| {
        let v: serde_json::Value = serde_json::from_str(out).expect("json");
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["fix"]["available"] == serde_json::json!(true))
            .count()
    };
    assert!(count(&with) > 0);
    assert_eq!(count(&without), 0);
}
