//! Working with flask-harden day to day: inline suppressions, baselines, CI output,
//! configuration and the review report. Every test builds a real repository in a temp dir.

mod common;

use std::path::Path;
use std::process::Command;

use common::repo;
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("json: {e}\n{out}"))
}

/// `rule@path:line` of the reported findings of a JSON report.
fn reported(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for item in v["items"].as_array().into_iter().flatten() {
        for f in item["findings"].as_array().into_iter().flatten() {
            out.push(format!(
                "{}@{}:{}",
                f["rule"].as_str().unwrap_or(""),
                f["path"].as_str().unwrap_or(""),
                f["line"]
            ));
        }
    }
    out.sort();
    out
}

const APP: &str = r#"from flask import Flask, render_template

app = Flask(__name__)
app.secret_key = "dev"


@app.route("/")
def index():
    return render_template("index.html", bio="x")


if __name__ == "__main__":
    app.run(debug=True)
"#;

const TEMPLATE: &str = "<p>\n{{ bio|safe }}\n</p>\n";

#[test]
fn suppressions_hide_findings_and_report_their_reasons() {
    let app = APP
        .replace(
            "app = Flask(__name__)",
            "app = Flask(__name__)  # flask-harden: ignore[headers] the proxy in front sets them",
        )
        .replace(
            "app.secret_key = \"dev\"",
            "app.secret_key = \"dev\"  # flask-harden: ignore[secret-key] local demo only",
        )
        .replace(
            "    app.run(debug=True)",
            "    # flask-harden: ignore[debug/app-run] only reached by `python app.py` on a laptop\n    app.run(debug=True)",
        );
    let template = "<p>\n{# flask-harden: ignore[xss/safe-filter] bio is sanitised with bleach #}\n{{ bio|safe }}\n</p>\n";
    let dir = repo(&[("app.py", &app), ("templates/index.html", template)]);
    let (code, out, err) = run(&[
        "check",
        s(dir.path()),
        "--format",
        "json",
        "--show-suppressed",
    ]);
    let v = json_of(&out);
    assert_eq!(reported(&v), Vec::<String>::new(), "{err}");
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["summary"]["suppressed"], 4);
    let suppressed: Vec<(String, String)> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["suppressed"].as_array().cloned().unwrap_or_default())
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        suppressed.contains(&(
            "xss/safe-filter".to_string(),
            "bio is sanitised with bleach".to_string()
        )),
        "{suppressed:?}"
    );
    assert!(suppressed.contains(&(
        "secret-key/placeholder".to_string(),
        "local demo only".to_string()
    )));
    let suppression = v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == "suppression"))
        .expect("the suppression pseudo-item");
    assert_eq!(suppression["status"], "pass");

    let (code, out, _) = run(&["check", s(dir.path()), "--show-suppressed"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("suppressed app.py:4:1 secret-key/placeholder (local demo only)"),
        "{out}"
    );
    assert!(out.contains("4 suppressed"), "{out}");
    // Without the flag the summary still counts them, the list is not shown.
    let (_, out, _) = run(&["check", s(dir.path())]);
    assert!(out.contains("4 suppressed") && !out.contains("suppressed app.py"));
}

#[test]
fn stale_and_unjustified_suppressions_fail_the_run() {
    let app = APP.replace(
        "app = Flask(__name__)",
        "app = Flask(__name__)  # flask-harden: ignore[csrf/missing-protect] legacy form\n\
         # flask-harden: ignore[secret-key]",
    );
    let env = "# flask-harden: ignore[debug/env-file] nobody deploys this file\nFLASK_APP=app.py\n";
    let dir = repo(&[
        ("app.py", &app),
        ("templates/index.html", TEMPLATE),
        (".env", env),
    ]);
    let (code, out, _) = run(&["check", s(dir.path()), "--format", "json"]);
    assert_eq!(code, 1);
    let v = json_of(&out);
    let found = reported(&v);
    for expected in [
        "suppression/unused@app.py:3",
        "suppression/missing-reason@app.py:4",
        "suppression/unused@.env:1",
    ] {
        assert!(
            found.contains(&expected.to_string()),
            "{expected} in {found:?}"
        );
    }
    // The reasonless one on the line above the secret still suppresses it.
    assert!(
        !found.iter().any(|f| f.starts_with("secret-key/")),
        "{found:?}"
    );
    // Only the items that ran can make a suppression unused.
    let (_, out, _) = run(&[
        "check",
        s(dir.path()),
        "--format",
        "json",
        "--item",
        "debug",
    ]);
    let found = reported(&json_of(&out));
    assert!(
        !found.contains(&"suppression/unused@app.py:3".to_string()),
        "{found:?}"
    );
}

#[test]
fn baseline_survives_moved_lines_and_reports_new_findings() {
    let dir = repo(&[("app.py", APP), ("templates/index.html", TEMPLATE)]);
    let baseline = dir.path().join("flask-harden-baseline.json");
    let (code, out, err) = run(&["check", s(dir.path()), "--write-baseline", s(&baseline)]);
    assert_eq!(code, 0, "{out}{err}");
    let written = json_of(&std::fs::read_to_string(&baseline).expect("baseline written"));
    assert_eq!(written["tool"]["name"], "flask-harden");
    assert!(written["date"].as_str().is_some_and(|d| d.len() == 10));
    assert!(
        written["findings"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );

    let (code, out, _) = run(&[
        "check",
        s(dir.path()),
        "--baseline",
        s(&baseline),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v = json_of(&out);
    assert!(reported(&v).is_empty());
    let before = v["summary"]["baselined"].as_u64().expect("baselined count");
    assert!(before >= 3);

    // Lines move: a docstring and imports above every finding.
    let moved = format!("\"\"\"The app.\"\"\"\nimport os\nimport sys\n\n{APP}");
    std::fs::write(dir.path().join("app.py"), &moved).expect("write");
    let (code, out, _) = run(&[
        "check",
        s(dir.path()),
        "--baseline",
        s(&baseline),
        "--format",
        "json",
    ]);
    let v = json_of(&out);
    assert_eq!(reported(&v), Vec::<String>::new());
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["baselined"].as_u64(), Some(before));

    // A new finding is reported; the baselined ones stay counted.
    let template = "<p>\n{{ bio|safe }}\n{{ other|safe }}\n</p>\n";
    std::fs::write(dir.path().join("templates/index.html"), template).expect("write");
    let (code, out, _) = run(&["check", s(dir.path()), "--baseline", s(&baseline)]);
    assert_eq!(code, 1);
    assert!(out.contains("templates/index.html:3:"), "{out}");
    assert!(!out.contains("templates/index.html:2:"), "{out}");
    assert!(out.contains(&format!("{before} in the baseline")), "{out}");

    // A broken baseline is an error that names the file, not a silent full report.
    std::fs::write(&baseline, "{\"tool\": 1").expect("write");
    let (code, _, err) = run(&["check", s(dir.path()), "--baseline", s(&baseline)]);
    assert_eq!(code, 2);
    assert!(err.contains("flask-harden-baseline.json:1"), "{err}");
}

#[test]
fn exit_zero_and_github_annotations() {
    let dir = repo(&[("app.py", APP), ("templates/index.html", TEMPLATE)]);
    let (code, _, _) = run(&["check", s(dir.path())]);
    assert_eq!(code, 1);
    let (code, out, _) = run(&["check", s(dir.path()), "--exit-zero", "--format", "github"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(
            &"::error file=app.py,line=13,endLine=13,col=5,endColumn=24,title=flask-harden debug/app-run::app.run() starts the server with the Werkzeug debugger on, which lets anyone who can reach it run code; call app.run() without debug, or derive it with debug=os.environ.get(\"FLASK_DEBUG\") == \"1\""
        ),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning file=templates/index.html,line=2,")),
        "{out}"
    );
    assert!(lines.iter().all(|l| l.starts_with("::")));
    // A path with `,` and `:` is escaped in the property.
    let dir = repo(&[(
        "we,ird:name.py",
        "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
    )]);
    let (_, out, _) = run(&["check", s(dir.path()), "--format", "github"]);
    assert!(out.contains("file=we%2Cird%3Aname.py,line=3"), "{out}");
}

#[test]
fn sarif_carries_verified_fixes_and_still_validates() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let dir = repo(&[("app.py", APP), ("templates/index.html", TEMPLATE)]);
    let (_, out, _) = run(&["check", s(dir.path()), "--format", "sarif"]);
    let sarif = json_of(&out);
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let debug = results
        .iter()
        .find(|r| r["ruleId"] == "debug/app-run")
        .expect("debug finding");
    let change = &debug["fixes"][0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "app.py");
    let replacement = &change["replacements"][0];
    // Applying the replacement to line 13 removes debug=True.
    let region = &replacement["deletedRegion"];
    assert_eq!(region["startLine"], 13);
    let line: Vec<char> = "    app.run(debug=True)".chars().collect();
    let start = region["startColumn"].as_u64().expect("col") as usize - 1;
    let end = region["endColumn"].as_u64().expect("col") as usize - 1;
    let inserted = replacement["insertedContent"]["text"]
        .as_str()
        .expect("text");
    let fixed: String = line[..start]
        .iter()
        .chain(inserted.chars().collect::<Vec<_>>().iter())
        .chain(line[end..].iter())
        .collect();
    assert_eq!(fixed, "    app.run()");
}

#[test]
fn pre_commit_hook_and_workflow_example_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).expect("hooks");
    assert!(hooks.contains("id: flask-harden"));
    assert!(hooks.contains("entry: flask-harden check"));
    assert!(hooks.contains("pass_filenames: false"));
    let workflow =
        std::fs::read_to_string(root.join("docs/github-actions.yml")).expect("workflow example");
    assert!(workflow.contains("uses: flask-harden/flask-harden@"));
    // The action it uses (tests/packaging.rs runs it).
    let action = std::fs::read_to_string(root.join("action.yml")).expect("action");
    assert!(action.contains("flask-harden check --format sarif"));
    assert!(action.contains("github/codeql-action/upload-sarif"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("readme");
    assert!(readme.contains("github/codeql-action/upload-sarif"));
}

const CONFIGS: &str = r#"import os


class Config:
    SECRET_KEY = os.environ["SECRET_KEY"]
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"


class StagingConfig(Config):
    DEBUG = True


class LiveConfig(Config):
    DEBUG = False
"#;

#[test]
fn configuration_disables_overrides_excludes_and_says_where_from() {
    let dir = repo(&[
        ("app.py", APP),
        ("templates/index.html", TEMPLATE),
        (
            "legacy/old.py",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"demo\"\n\n[tool.flask-harden]\ndisable = [\"secret-key\", \"xss/safe-filter\"]\nexclude = [\"legacy/**\"]\nadvisories = \"offline\"\n\n[tool.flask-harden.severity]\n\"debug/app-run\" = \"low\"\n",
        ),
    ]);
    let (code, out, err) = run(&["check", s(dir.path()), "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let v = json_of(&out);
    let found = reported(&v);
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("secret-key/") || f.starts_with("xss/safe-filter")),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.contains("legacy/")), "{found:?}");
    assert!(
        found.contains(&"debug/app-run@app.py:13".to_string()),
        "{found:?}"
    );
    let items: Vec<&str> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(!items.contains(&"secret-key"));
    let debug = v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == "debug"))
        .expect("debug");
    assert_eq!(debug["findings"][0]["severity"], "low");

    let (code, out, _) = run(&["config", s(dir.path())]);
    assert_eq!(code, 0);
    assert!(
        out.contains("disable = [\"secret-key\", \"xss/safe-filter\"]  # pyproject.toml:5"),
        "{out}"
    );
    assert!(
        out.contains("exclude = [\"legacy/**\"]  # pyproject.toml:6"),
        "{out}"
    );
    assert!(out.contains("include = []  # default"), "{out}");
    assert!(
        out.contains("severity.debug/app-run = \"low\"  # pyproject.toml:10"),
        "{out}"
    );
    assert!(
        out.contains("severity.debug/config = \"high\"  # default"),
        "{out}"
    );
}

#[test]
fn configuration_errors_name_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "flask-harden.toml",
            "disable = [\"csrf\"]\nexlude = [\"tests/**\"]\n",
            "flask-harden.toml:2: unknown key \"exlude\"",
        ),
        (
            "flask-harden.toml",
            "\n\nadvisories = \"sometimes\"\n",
            "flask-harden.toml:3: advisories must be",
        ),
        (
            "flask-harden.toml",
            "disable = [\n  \"csrf\",\n  \"nope\",\n]\n",
            "flask-harden.toml:3: disable: \"nope\" is no item or rule",
        ),
        (
            "flask-harden.toml",
            "[severity]\ncsrf = \"urgent\"\n",
            "flask-harden.toml:2: severity of \"csrf\"",
        ),
        (
            "flask-harden.toml",
            "exclude = [\"a[\"]\n",
            "flask-harden.toml:1: exclude: \"a[\" is not a valid glob",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n[tool.flask-harden]\nproduction-config = 3\n",
            "pyproject.toml:4: production-config must be",
        ),
    ];
    for (file, text, expected) in cases {
        let dir = repo(&[(file, text), ("app.py", APP)]);
        let (code, _, err) = run(&["check", s(dir.path())]);
        assert_eq!(code, 2, "{file}: {text}");
        assert!(err.contains(expected), "{expected} in {err}");
        let (code, _, err) = run(&["config", s(dir.path())]);
        assert_eq!(code, 2);
        assert!(err.contains(expected), "{expected} in {err}");
    }
}

#[test]
fn production_config_names_the_class_production_loads() {
    let app = "import os\nfrom flask import Flask\n\napp = Flask(__name__)\napp.config.from_object(os.environ.get(\"APP_CONFIG\", \"config.StagingConfig\"))\n";
    let without = repo(&[("app.py", app), ("config.py", CONFIGS)]);
    let with = repo(&[
        ("app.py", app),
        ("config.py", CONFIGS),
        (
            "flask-harden.toml",
            "production-config = \"config.LiveConfig\"\n",
        ),
    ]);
    let debug_rules = |dir: &Path| {
        let (_, out, _) = run(&["check", s(dir), "--item", "debug", "--format", "json"]);
        reported(&json_of(&out))
    };
    assert!(
        debug_rules(with.path()).is_empty(),
        "{:?}",
        debug_rules(with.path())
    );
    // Without the setting, the fallback class is taken as production.
    assert_eq!(debug_rules(without.path()), ["debug/config@config.py:11"]);
}

#[test]
fn review_report_in_markdown_links_findings_and_shows_fix_diffs() {
    let dir = repo(&[("app.py", APP), ("templates/index.html", TEMPLATE)]);
    let out_file = dir.path().join("review.md");
    let (code, _, err) = run(&["report", s(dir.path()), "-o", s(&out_file)]);
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(&out_file).expect("report written");
    assert!(md.starts_with("# flask-harden review"));
    assert!(md.contains("| [debug](#debug) | FAIL | 1 |"), "{md}");
    assert!(md.contains("## FAIL debug — "), "{md}");
    assert!(
        md.contains("- [app.py:13](app.py#L13) `debug/app-run` (high):"),
        "{md}"
    );
    assert!(
        md.contains("- [templates/index.html:2](templates/index.html#L2) `xss/safe-filter`"),
        "{md}"
    );
    assert!(
        md.contains("### Fixes available\n\n- drop debug=True from app.run()"),
        "{md}"
    );
    assert!(md.contains("```diff\n--- a/app.py\n+++ b/app.py\n"), "{md}");
    assert!(
        md.contains("\n-    app.run(debug=True)\n+    app.run()\n"),
        "{md}"
    );
    // The report only reads: the repository is unchanged.
    let app = std::fs::read_to_string(dir.path().join("app.py")).expect("app");
    assert_eq!(app, APP);
}

#[test]
fn review_report_in_html_is_self_contained_and_renders() {
    let dir = repo(&[("app.py", APP), ("templates/index.html", TEMPLATE)]);
    let out_file = dir.path().join("review.html");
    let (code, _, err) = run(&[
        "report",
        s(dir.path()),
        "--format",
        "html",
        "-o",
        s(&out_file),
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&out_file).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert!(
        html.contains("<a href=\"app.py#L13\">app.py:13</a>"),
        "{html}"
    );
    assert!(html.contains("drop debug=True from app.run()"));
    assert!(html.contains("<span class=\"del\">-    app.run(debug=True)</span>"));
    // Template text is escaped, not injected.
    assert!(html.contains("{{ bio|safe }}") && !html.contains("<p>\n{{"));
    let lower = html.to_lowercase();
    for resource in [
        "src=\"http",
        "src='http",
        "<link",
        "@import",
        "url(",
        "<script",
        "<img",
    ] {
        assert!(!lower.contains(resource), "{resource} in the HTML");
    }

    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("chromium not installed: skipping the screenshot of the HTML report");
        return;
    };
    let png = dir.path().join("out.png");
    let profile = tempfile::tempdir().expect("profile dir");
    let status = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--user-data-dir={}", s(profile.path())),
            &format!("--screenshot={}", s(&png)),
            "--window-size=1200,1600",
            &format!("file://{}", s(&out_file)),
        ])
        .output()
        .expect("run chromium");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"),
        "{} bytes",
        bytes.len()
    );
}
