//! Every fixture layout scanned end to end: the findings on the right lines, and the JSON
//! report snapshotted.

mod common;

use common::{fixture, scan_dir, summary};
use flask_harden::finding::Status;
use flask_harden::report::json;

fn json_snapshot(name: &str) -> serde_json::Value {
    let result = scan_dir(&fixture(name));
    let findings: Vec<_> = result
        .items
        .iter()
        .flat_map(|i| &i.outcome.findings)
        .collect();
    let fixes = flask_harden::fix::offered_fixes(&result.root, &findings);
    let mut value = json::to_value(&result, &fixes);
    value["root"] = serde_json::json!("[root]");
    value["tool"]["version"] = serde_json::json!("[version]");
    value
}

#[test]
fn single_file_app() {
    let result = scan_dir(&fixture("single_file"));
    assert_eq!(
        summary(&result),
        vec![
            "csrf/missing-protect@app.py:15",
            "debug/app-run@app.py:45",
            "headers/missing@app.py:6",
            "request-limits/max-content-length@app.py:6",
            "secret-key/placeholder@app.py:7",
            "session/cookie-samesite@app.py:6",
            "session/cookie-secure@app.py:6",
            "session/no-reset-at-login@app.py:19",
            "session/set-cookie-flags@app.py:33",
            "xss/html-from-request@app.py:27",
            "xss/markup@app.py:39",
            "xss/safe-filter@templates/index.html:4",
        ]
    );
    insta::assert_json_snapshot!("single_file", json_snapshot("single_file"));
}

#[test]
fn app_factory_with_blueprints() {
    let result = scan_dir(&fixture("factory_blueprints"));
    assert_eq!(
        summary(&result),
        vec![
            "csrf/missing-protect@shop/auth/views.py:18",
            "csrf/missing-protect@shop/auth/views.py:8",
            "headers/missing@shop/__init__.py:7",
            "input-validation/unvalidated-json@shop/api/views.py:11",
            "request-limits/max-content-length@shop/__init__.py:7",
            "secret-key/env-fallback@shop/__init__.py:9",
            "session/cookie-httponly@shop/__init__.py:10",
            "session/cookie-samesite@shop/__init__.py:7",
            "session/cookie-secure@shop/__init__.py:7",
            "session/login-protection@shop/auth/views.py:5",
            "session/no-reset-at-login@shop/auth/views.py:13",
        ]
    );
    insta::assert_json_snapshot!("factory_blueprints", json_snapshot("factory_blueprints"));
}

#[test]
fn config_classes_chosen_by_environment() {
    // DevelopmentConfig's DEBUG and secret, TestingConfig's WTF_CSRF_ENABLED = False: silent.
    let result = scan_dir(&fixture("config_classes"));
    assert_eq!(
        summary(&result),
        vec![
            "csrf/form-missing-token@blog/templates/post.html:5",
            "headers/missing@blog/__init__.py:12",
            "request-limits/max-content-length@config.py:20",
            "session/cookie-secure@config.py:21",
        ]
    );
    insta::assert_json_snapshot!("config_classes", json_snapshot("config_classes"));
}

#[test]
fn from_object_with_a_dotted_string_and_inheritance() {
    let result = scan_dir(&fixture("dotted_string"));
    assert_eq!(
        summary(&result),
        vec![
            "csrf/disabled@app/settings.py:4",
            "debug/config@app/settings.py:3",
            "headers/missing@app/__init__.py:3",
            "secret-key/hardcoded@app/settings.py:2",
            "xss/render-template-string@app/routes.py:9",
        ]
    );
    insta::assert_json_snapshot!("dotted_string", json_snapshot("dotted_string"));
}

#[test]
fn committed_flaskenv_and_env() {
    let result = scan_dir(&fixture("flaskenv_committed"));
    assert_eq!(
        summary(&result),
        vec![
            "debug/env-file@.flaskenv:2",
            "headers/missing@wsgi.py:5",
            "secret-key/committed-env@.env:2"
        ]
    );
    insta::assert_json_snapshot!("flaskenv_committed", json_snapshot("flaskenv_committed"));
}

#[test]
fn the_tutorial_from_mapping_and_from_pyfile() {
    // The dev default ships even though from_pyfile may override it; the test config in
    // conftest.py is not production code.
    let result = scan_dir(&fixture("tutorial"));
    assert_eq!(
        summary(&result),
        vec![
            "csrf/missing-protect@flaskr/auth.py:11",
            "headers/missing@flaskr/__init__.py:8",
            "request-limits/max-content-length@flaskr/__init__.py:8",
            "secret-key/placeholder@flaskr/__init__.py:10",
            "session/cookie-samesite@flaskr/__init__.py:8",
            "session/cookie-secure@flaskr/__init__.py:8",
        ]
    );
    insta::assert_json_snapshot!("tutorial", json_snapshot("tutorial"));
}

#[test]
fn hardened_app_passes_every_item() {
    let result = scan_dir(&fixture("hardened"));
    for item in &result.items {
        // No deployment files, no CORS: those items have nothing to look at.
        let deployment = ["production-server", "proxy", "cors", "tls"];
        if deployment.contains(&item.item.id.as_str()) {
            assert_eq!(item.status(), Status::NotApplicable, "{}", item.item.id);
            continue;
        }
        assert_eq!(
            item.status(),
            Status::Pass,
            "{} should pass: {:?}",
            item.item.id,
            item.outcome.findings
        );
    }
    assert!(result.diagnostics.is_empty());
    assert!(!result.items.is_empty());
}

#[test]
fn bundled_example_app_fails_every_item() {
    let result = scan_dir(&fixture("example_app"));
    for item in &result.items {
        assert_eq!(item.status(), Status::Fail, "{} should fail", item.item.id);
    }
}
