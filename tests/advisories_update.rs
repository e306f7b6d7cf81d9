//! `advisories update` against a local HTTP server on 127.0.0.1 that plays recorded OSV API
//! responses: never the network.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use flask_harden::deps::advisories::{AdvisoryDb, embedded, read_cache};
use flask_harden::deps::update::{UpdateError, update};

type Handler = dyn Fn(&str, &str, &str) -> (u16, String) + Send + Sync;

/// Serve `handler(method, path, body)` on a free port; returns the base URL and the request log.
fn serve(handler: Box<Handler>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((k, v)) = header.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).to_string();
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            seen.lock().unwrap().push(format!("{method} {path} {body}"));
            let (status, reply) = handler(&method, &path, &body);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (base, log)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/deps/advisories")
            .join(name),
    )
    .unwrap()
}

/// The recorded OSV API: flask has TEST-1 and, on a second page, TEST-2; jinja2 has TEST-7.
fn osv_api(method: &str, path: &str, body: &str) -> (u16, String) {
    match (method, path) {
        ("POST", "/v1/querybatch") => {
            let query: serde_json::Value = serde_json::from_str(body).unwrap();
            let results: Vec<serde_json::Value> = query["queries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| match (q["package"]["name"].as_str(), q.get("page_token")) {
                    (Some("flask"), None) => serde_json::json!({"vulns": [{"id": "TEST-1"}], "next_page_token": "p2"}),
                    (Some("flask"), Some(_)) => serde_json::json!({"vulns": [{"id": "TEST-2"}]}),
                    (Some("jinja2"), _) => serde_json::json!({"vulns": [{"id": "TEST-7"}]}),
                    _ => serde_json::json!({}),
                })
                .collect();
            (200, serde_json::json!({ "results": results }).to_string())
        }
        ("GET", "/v1/vulns/TEST-1") => (200, fixture("TEST-1.json")),
        ("GET", "/v1/vulns/TEST-2") => (200, fixture("TEST-2.json")),
        ("GET", "/v1/vulns/TEST-7") => (200, fixture("TEST-7.json")),
        _ => (404, "{\"code\":5,\"message\":\"Bug not found.\"}".into()),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn update_fills_the_cache_and_later_lookups_use_it() {
    let (base, log) = serve(Box::new(osv_api));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("sub/osv-pypi.json");
    let report = update(&base, &names(&["Flask", "Jinja2", "itsdangerous"]), &cache).unwrap();
    assert_eq!(report.packages, 3);
    assert_eq!(report.advisories, 3);
    let db = read_cache(&cache).unwrap().unwrap();
    assert_eq!(
        db.packages,
        Some(names(&["flask", "itsdangerous", "jinja2"]))
    );
    let ids: Vec<&str> = db.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["TEST-1", "TEST-2", "TEST-7"]);
    let requests = log.lock().unwrap().clone();
    assert!(
        requests.iter().any(|r| r.contains("\"page_token\":\"p2\"")),
        "{requests:?}"
    );

    // The cache replaces the snapshot for the packages it covers, and only for those.
    let layered = AdvisoryDb::layered(embedded(), Some(db));
    let flask: Vec<&str> = layered
        .for_package("flask")
        .iter()
        .map(|a| layered.advisory(a).id.as_str())
        .collect();
    assert_eq!(flask, vec!["TEST-1", "TEST-2"]);
    assert!(layered.for_package("itsdangerous").is_empty());
    assert!(
        layered
            .for_package("werkzeug")
            .iter()
            .any(|a| layered.advisory(a).id == "PYSEC-2019-140")
    );
}

fn previous_cache(dir: &Path) -> (PathBuf, String) {
    let cache = dir.join("osv-pypi.json");
    let text = "{\"date\":\"2020-01-01\",\"source\":\"earlier\",\"packages\":[\"flask\"],\"advisories\":[]}\n";
    std::fs::write(&cache, text).unwrap();
    (cache, text.to_string())
}

#[test]
fn a_broken_download_keeps_the_previous_data() {
    let (base, _) = serve(Box::new(|method, path, body| {
        if path == "/v1/vulns/TEST-2" {
            return (200, "{\"id\": \"TEST-2\", \"affected\": [".into());
        }
        osv_api(method, path, body)
    }));
    let dir = tempfile::tempdir().unwrap();
    let (cache, before) = previous_cache(dir.path());
    let err = update(&base, &names(&["flask"]), &cache).unwrap_err();
    assert!(matches!(err, UpdateError::BadResponse { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn a_server_error_keeps_the_previous_data() {
    let (base, _) = serve(Box::new(|_, _, _| {
        (503, "{\"message\":\"unavailable\"}".into())
    }));
    let dir = tempfile::tempdir().unwrap();
    let (cache, before) = previous_cache(dir.path());
    let err = update(&base, &names(&["flask"]), &cache).unwrap_err();
    assert!(matches!(err, UpdateError::Http { .. }), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), before);
}

#[test]
fn the_command_line_updates_then_checks_with_the_cache_or_offline() {
    let (base, _) = serve(Box::new(osv_api));
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("requirements.txt"), "flask==1.1.0\n").unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_flask-harden");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .env("FLASK_HARDEN_OSV_URL", &base)
            .env("FLASK_HARDEN_CACHE_DIR", cache_dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let root = repo.path().to_str().unwrap();
    let out = run(&["advisories", "update", root]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cache_dir.path().join("osv-pypi.json").is_file());

    let json = |out: std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let item = |v: &serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "dependencies")
            .unwrap()
            .clone()
    };
    let cached = item(&json(run(&[
        "check",
        root,
        "--item",
        "dependencies",
        "--format",
        "json",
    ])));
    let text = cached.to_string();
    assert!(text.contains("TEST-2"), "{text}");
    assert!(
        text.contains(&base),
        "the notes name the data source: {text}"
    );

    let offline = item(&json(run(&[
        "check",
        root,
        "--item",
        "dependencies",
        "--format",
        "json",
        "--offline",
    ])));
    let text = offline.to_string();
    assert!(text.contains("PYSEC-2023-62"), "{text}");
    assert!(!text.contains("TEST-2"));
    assert!(text.contains("2026-07-23"), "{text}");
}
