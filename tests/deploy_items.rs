//! The deployment items (headers, production-server, proxy, request-limits, cors, tls) on the
//! deploy_* fixtures: findings on the right lines, silence on an app that does it right,
//! not-applicable with a reason, and fixes that verify, make every item pass on a rescan,
//! compile with CPython and (with the tests' venv) import and serve with real Flask.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{fixture, repo, scan_dir, summary};
use flask_harden::finding::Status;
use flask_harden::scan::{ScanOptions, scan};

const ITEMS: &[&str] = &[
    "headers",
    "production-server",
    "proxy",
    "request-limits",
    "cors",
    "tls",
];

fn deploy_summary(root: &Path) -> Vec<String> {
    let result = scan(
        root,
        &ScanOptions {
            items: ITEMS.iter().map(|s| s.to_string()).collect(),
            ..ScanOptions::default()
        },
    )
    .expect("scan runs");
    summary(&result)
}

fn statuses(root: &Path) -> Vec<(String, Status, Option<String>)> {
    scan_dir(root)
        .items
        .iter()
        .filter(|i| ITEMS.contains(&i.item.id.as_str()))
        .map(|i| {
            (
                i.item.id.clone(),
                i.status(),
                i.outcome.not_applicable.clone(),
            )
        })
        .collect()
}

#[test]
fn single_module_app_fails_each_item_on_the_right_line() {
    assert_eq!(
        deploy_summary(&fixture("deploy_single")),
        vec![
            "cors/any-origin-with-credentials@app.py:8",
            "headers/missing@app.py:6",
            "production-server/dev-server@Dockerfile:7",
            "production-server/exposed-dev-server@app.py:23",
            "proxy/missing-proxy-fix@nginx/site.conf:7",
            "request-limits/max-content-length@app.py:6",
            "tls/old-protocols@nginx/site.conf:16",
            "tls/plain-http@nginx/site.conf:2",
            "tls/server-tokens@nginx/site.conf:4",
            "tls/weak-ciphers@nginx/site.conf:17",
        ]
    );
}

#[test]
fn factory_app_fails_from_every_kind_of_deployment_file() {
    assert_eq!(
        deploy_summary(&fixture("deploy_factory")),
        vec![
            "headers/missing@shop/__init__.py:7",
            "production-server/dev-server@Procfile:1",
            "production-server/dev-server@deploy/supervisord.conf:5",
            "production-server/dev-server@docker-compose.yml:4",
            "proxy/missing-proxy-fix@Procfile:1",
            "proxy/missing-proxy-fix@apache/shop.conf:5",
            "proxy/missing-proxy-fix@shop/config.py:6",
            "request-limits/max-content-length@shop/config.py:18",
            "tls/old-protocols@apache/shop.conf:12",
            "tls/plain-http@apache/shop.conf:3",
            "tls/server-tokens@apache/shop.conf:1",
            "tls/weak-ciphers@apache/shop.conf:13",
        ]
    );
    let cors = statuses(&fixture("deploy_factory"))
        .into_iter()
        .find(|(id, ..)| id == "cors");
    assert!(
        matches!(&cors, Some((_, Status::NotApplicable, Some(r))) if r.contains("no CORS policy")),
        "{cors:?}"
    );
}

#[test]
fn app_that_does_it_right_stays_silent() {
    // Talisman wired in the factory, gunicorn in the Dockerfile and Procfile, ProxyFix,
    // MAX_CONTENT_LENGTH, CORS origins from configuration, modern TLS with a redirect.
    assert_eq!(
        deploy_summary(&fixture("deploy_hardened")),
        Vec::<String>::new()
    );
    for (id, status, _) in statuses(&fixture("deploy_hardened")) {
        assert_eq!(status, Status::Pass, "{id}");
    }
}

#[test]
fn silent_on_each_right_way_alone() {
    let app = "from flask import Flask, request\napp = Flask(__name__)\n";
    // A response hook that sets every header; uWSGI's protocol needs no ProxyFix; a body
    // limit at nginx; Flask-CORS with listed origins and credentials.
    let r = repo(&[
        (
            "app.py",
            &format!(
                "{app}from flask_cors import CORS\nCORS(app, origins=['https://shop.example.com'], supports_credentials=True)\n@app.after_request\ndef h(resp):\n    resp.headers['X-Content-Type-Options'] = 'nosniff'\n    resp.headers['Content-Security-Policy'] = \"default-src 'self'; frame-ancestors 'none'\"\n    resp.headers['Referrer-Policy'] = 'no-referrer'\n    resp.headers['Strict-Transport-Security'] = 'max-age=63072000'\n    return resp\n@app.route('/upload', methods=['POST'])\ndef upload():\n    return str(len(request.files['f'].read()))\n"
            ),
        ),
        (
            "nginx.conf",
            "server {\n  listen 443 ssl;\n  client_max_body_size 10m;\n  location / { include uwsgi_params; uwsgi_pass unix:/run/app.sock; }\n}\n",
        ),
        (
            "deploy/app.service",
            "[Service]\nExecStart=/srv/venv/bin/uwsgi --ini app.ini\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  app:\n    build: .\n  web:\n    image: nginx:1.27\n",
        ),
    ]);
    assert_eq!(deploy_summary(r.path()), Vec::<String>::new());
    // Server-side headers count too.
    let r = repo(&[
        ("app.py", app),
        (
            "conf/site.conf",
            "server {\n  listen 443 ssl;\n  add_header Strict-Transport-Security \"max-age=31536000\" always;\n  add_header X-Content-Type-Options nosniff;\n  add_header X-Frame-Options DENY;\n  add_header Referrer-Policy same-origin;\n  add_header Content-Security-Policy \"default-src 'self'\";\n}\n",
        ),
    ]);
    assert!(
        !deploy_summary(r.path())
            .iter()
            .any(|f| f.starts_with("headers/")),
        "{:?}",
        deploy_summary(r.path())
    );
}

#[test]
fn a_proxy_container_in_compose_needs_proxy_fix() {
    let r = repo(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (
            "docker-compose.yml",
            "services:\n  app:\n    build: .\n    command: gunicorn -b 0.0.0.0:8000 app:app\n  proxy:\n    image: \"traefik:v3\"\n",
        ),
    ]);
    assert_eq!(
        deploy_summary(r.path())
            .into_iter()
            .filter(|f| f.starts_with("proxy/"))
            .collect::<Vec<_>>(),
        vec!["proxy/missing-proxy-fix@docker-compose.yml:6"]
    );
}

#[test]
fn nothing_to_look_at_is_not_applicable_with_a_reason() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n    return 'hi'\n",
    )]);
    let st = statuses(r.path());
    for (id, status, reason) in &st {
        match id.as_str() {
            "headers" => assert_eq!(*status, Status::Fail),
            _ => {
                assert_eq!(*status, Status::NotApplicable, "{id}");
                assert!(
                    reason.as_deref().is_some_and(|r| r.len() > 20),
                    "{id}: {reason:?}"
                );
            }
        }
    }
    assert_eq!(st.len(), ITEMS.len());
}

#[test]
fn junk_and_symlinked_deployment_files_are_survived() {
    let r = repo(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (
            "Dockerfile",
            "CMD [\"python\", \nENTRYPOINT \\\n\\\nFROM\n\u{0}\u{1}CMD '\n",
        ),
        ("Procfile", ":::\nweb:\nweb: sh -c \"'\"\n"),
        (
            "docker-compose.yml",
            "services:\n  web:\n    command: [\n    command: >\n",
        ),
        (
            "nginx/site.conf",
            "server { listen 80; location / { proxy_pass \"unterminated",
        ),
        (
            "apache/x.conf",
            "<VirtualHost *:80>\n</Other>\nSSLProtocol\n",
        ),
        ("Caddyfile", "}}}{{{\nhttp:// {\n"),
    ]);
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(outside.path().join("Dockerfile"), "CMD flask run\n").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("Dockerfile"),
        r.path().join("deploy.dockerfile"),
    )
    .expect("symlink");
    let result = scan_dir(r.path());
    let dev = summary(&result)
        .into_iter()
        .filter(|f| f.contains("deploy.dockerfile"))
        .count();
    assert_eq!(dev, 0, "a symlink out of the repository is not read");
    #[cfg(unix)]
    assert!(
        result
            .diagnostics
            .iter()
            .any(|d| d.path == "deploy.dockerfile" && d.message.contains("symbolic link")),
        "{:?}",
        result.diagnostics
    );
}

// --- fixes -----------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the program runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// `src` committed in a fresh repository, with `fix --apply` run on it (`extra` arguments
/// after it): the repository and what fix printed.
fn fixed_copy(src: &Path, extra: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    copy_dir(src, p);
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["config", "user.name", "Test"],
        &["config", "user.email", "test@example.com"],
        &["add", "-A"],
        &["commit", "-q", "-m", "app"],
    ] {
        let out = run(p, "git", args);
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    }
    let mut args = vec!["fix", "--apply", "."];
    args.extend_from_slice(extra);
    let out = run(p, env!("CARGO_BIN_EXE_flask-harden"), &args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    (dir, stdout)
}

/// The fixture with every deployment item's fixes applied, unsafe ones included.
fn fixed(name: &str) -> (tempfile::TempDir, String) {
    let mut extra = vec!["--unsafe"];
    for item in ITEMS {
        extra.push("--item");
        extra.push(item);
    }
    fixed_copy(&fixture(name), &extra)
}

fn test_python() -> Option<PathBuf> {
    match std::env::var_os("FLASK_HARDEN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIPPED the Flask part: FLASK_HARDEN_TEST_PYTHON is not set (tests/run.sh sets it)"
            );
            None
        }
    }
}

fn python_at(py: &Path, dir: &Path, script: &str) -> Output {
    Command::new(py)
        .args(["-c", script])
        .current_dir(dir)
        .env("SECRET_KEY", "k".repeat(64))
        .env("CORS_ORIGINS", "https://shop.example.com")
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs")
}

/// `script` runs to its end (printing "served") in the app's folder.
fn serves(py: &Path, dir: &Path, script: &str) {
    let out = python_at(py, dir, script);
    assert!(
        text(&out.stdout).contains("served"),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Every changed Python file compiles with CPython.
fn compiles(dir: &Path) {
    let changed = text(&run(dir, "git", &["diff", "--name-only"]).stdout);
    for path in changed.lines().filter(|p| p.ends_with(".py")) {
        let out = run(dir, "python3", &["-m", "py_compile", path]);
        assert!(out.status.success(), "{path}: {}", text(&out.stderr));
    }
}

#[test]
fn single_module_app_fixed_passes_every_deployment_item_and_serves() {
    let (dir, stdout) = fixed("deploy_single");
    let p = dir.path();
    assert!(!stdout.contains("not offered"), "{stdout}");
    assert_eq!(deploy_summary(p), Vec::<String>::new(), "{stdout}");
    compiles(p);
    let dockerfile = fs::read_to_string(p.join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains("CMD [\"gunicorn\", \"--bind\", \"0.0.0.0:5000\", \"app:app\"]"),
        "{dockerfile}"
    );
    let requirements = fs::read_to_string(p.join("requirements.txt")).expect("requirements");
    assert!(requirements.contains("gunicorn>=23.0"), "{requirements}");
    let nginx = fs::read_to_string(p.join("nginx/site.conf")).expect("nginx");
    assert!(nginx.contains("ssl_protocols TLSv1.2 TLSv1.3;"), "{nginx}");
    assert!(
        nginx.contains("return 301 https://$host$request_uri;"),
        "{nginx}"
    );
    assert!(nginx.contains("server_tokens off;"), "{nginx}");

    let Some(py) = test_python() else { return };
    // The app imports with real Flask; the gunicorn target names its app; responses carry
    // the headers (CSP report-only: the templates use a CDN and inline script); HSTS only
    // over HTTPS; ProxyFix trusts one proxy; bodies are limited; other origins are refused.
    let script = r#"
import importlib, io
mod = importlib.import_module("app")
app = getattr(mod, "app")
from werkzeug.middleware.proxy_fix import ProxyFix
assert isinstance(app.wsgi_app, ProxyFix), app.wsgi_app
assert app.wsgi_app.x_for == 1
assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
c = app.test_client()
r = c.get("/", headers={"Origin": "https://evil.example"})
assert r.status_code == 200, r.status_code
h = r.headers
assert h["X-Content-Type-Options"] == "nosniff"
assert h["X-Frame-Options"] == "SAMEORIGIN"
assert "https://unpkg.com" in h["Content-Security-Policy-Report-Only"]
assert "Strict-Transport-Security" not in h
assert "Access-Control-Allow-Origin" not in h, h
r = c.get("/", headers={"Origin": "https://shop.example.com"})
assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
r = c.get("/", base_url="https://example.com")
assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
r = c.get("/", headers={"X-Forwarded-Proto": "https"})
assert "Strict-Transport-Security" in r.headers
big = {"photo": (io.BytesIO(b"x" * (17 * 1024 * 1024)), "big.bin")}
assert c.post("/upload", data=big, content_type="multipart/form-data").status_code == 413
small = {"photo": (io.BytesIO(b"x" * 10), "small.bin")}
assert c.post("/upload", data=small, content_type="multipart/form-data").get_json()["size"] == 10
print("served")
"#;
    serves(&py, p, script);
}

#[test]
fn factory_app_fixed_passes_every_deployment_item_and_its_suite() {
    let (dir, stdout) = fixed("deploy_factory");
    let p = dir.path();
    assert_eq!(deploy_summary(p), Vec::<String>::new(), "{stdout}");
    compiles(p);
    let procfile = fs::read_to_string(p.join("Procfile")).expect("Procfile");
    assert_eq!(
        procfile,
        "web: gunicorn --bind 0.0.0.0:$PORT 'shop:create_app()'\n"
    );
    let compose = fs::read_to_string(p.join("docker-compose.yml")).expect("compose");
    assert!(
        compose.contains("command: gunicorn --bind 0.0.0.0:8000 wsgi:app\n"),
        "{compose}"
    );
    let supervisord = fs::read_to_string(p.join("deploy/supervisord.conf")).expect("conf");
    assert!(
        supervisord.contains("command=gunicorn --bind 127.0.0.1:5000 wsgi:app\n"),
        "{supervisord}"
    );
    let pyproject = fs::read_to_string(p.join("pyproject.toml")).expect("pyproject");
    assert!(pyproject.contains("\"gunicorn>=23.0\""), "{pyproject}");
    let apache = fs::read_to_string(p.join("apache/shop.conf")).expect("apache");
    assert!(
        apache.contains("Redirect permanent / https://shop.example.com/"),
        "{apache}"
    );
    assert!(
        apache.contains("SSLProtocol -all +TLSv1.2 +TLSv1.3"),
        "{apache}"
    );
    let config = fs::read_to_string(p.join("shop/config.py")).expect("config");
    // The limit comes from the app's own MAX_UPLOAD_BYTES (4 MB) plus the form.
    assert!(
        config.contains("    MAX_CONTENT_LENGTH = 5 * 1024 * 1024\n"),
        "{config}"
    );

    let Some(py) = test_python() else { return };
    let suite = Command::new(&py)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(p)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .output()
        .expect("pytest runs");
    assert!(
        suite.status.success(),
        "{}\n{}",
        text(&suite.stdout),
        text(&suite.stderr)
    );
    let script = r#"
import importlib
from werkzeug.middleware.proxy_fix import ProxyFix
# Each gunicorn target the fix wrote resolves to a Flask app.
for target in ["shop:create_app()", "wsgi:app"]:
    module, obj = target.split(":")
    m = importlib.import_module(module)
    app = getattr(m, obj[:-2])() if obj.endswith("()") else getattr(m, obj)
    assert isinstance(app.wsgi_app, ProxyFix)
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    r = app.test_client().get("/")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
print("served")
"#;
    serves(&py, p, script);
}

#[test]
fn the_items_are_listed_by_the_cli_and_in_sarif() {
    let dir = fixture("deploy_single");
    let help = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(["check", "--help"])
        .output()
        .expect("runs");
    let help = text(&help.stdout);
    for item in ITEMS {
        assert!(
            help.contains(item),
            "{item} missing from check --help:\n{help}"
        );
    }
    let unknown = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(["check", "--item", "nope"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("production-server"));
    let sarif = Command::new(env!("CARGO_BIN_EXE_flask-harden"))
        .args(["check", "--format", "sarif", "--no-fixes", "--item", "tls"])
        .arg(&dir)
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).expect("sarif json");
    let rules = &v["runs"][0]["tool"]["driver"]["rules"];
    let old = rules
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == "tls/old-protocols"))
        .expect("tls/old-protocols rule");
    assert!(old.to_string().contains("CWE-327"), "{old}");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "tls/old-protocols"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 16));
}

#[test]
fn shell_scripts_count_when_a_deployment_file_runs_them() {
    let app = "from flask import Flask\napp = Flask(__name__)\n";
    let r = repo(&[
        ("app.py", app),
        (
            "Dockerfile",
            "FROM python:3.12\nWORKDIR /srv\nENV FLASK_APP=app.py\nCOPY . .\nENTRYPOINT [\"./boot.sh\"]\n",
        ),
        (
            "boot.sh",
            "#!/bin/sh\nflask db upgrade\nexec flask run --host=0.0.0.0\n",
        ),
        // Run by nothing: a developer's helper, not production.
        ("scripts/dev.sh", "flask run --debug\n"),
    ]);
    assert_eq!(
        deploy_summary(r.path())
            .into_iter()
            .filter(|f| f.starts_with("production-server/"))
            .collect::<Vec<_>>(),
        vec!["production-server/dev-server@boot.sh:3"]
    );
    let (dir, stdout) = fixed_copy(r.path(), &["--item", "production-server"]);
    let boot = fs::read_to_string(dir.path().join("boot.sh")).expect("boot.sh");
    assert_eq!(
        boot, "#!/bin/sh\nflask db upgrade\nexec gunicorn --bind 0.0.0.0:5000 app:app\n",
        "{stdout}"
    );
    // microblog's shape: the script execs gunicorn.
    let r = repo(&[
        ("app.py", app),
        ("Dockerfile", "FROM python\nENTRYPOINT [\"./boot.sh\"]\n"),
        (
            "boot.sh",
            "flask db upgrade\nexec gunicorn -b :5000 app:app\n",
        ),
    ]);
    assert!(
        !deploy_summary(r.path())
            .iter()
            .any(|f| f.starts_with("production-server/")),
        "{:?}",
        deploy_summary(r.path())
    );
}
