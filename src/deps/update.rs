//! `flask-harden advisories update`: fetch current advisories for the project's packages from
//! the OSV API (`POST /v1/querybatch`, then `GET /v1/vulns/{id}`) into the user's cache.
//!
//! The cache file is replaced only when every request succeeded: the data is written to a
//! temporary file beside it and renamed over it, so a failed download leaves the previous data.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::advisories::{Database, read_cache};
use super::osv::{OsvRecord, to_advisory};

/// The public OSV API; `FLASK_HARDEN_OSV_URL` overrides it.
pub const DEFAULT_BASE_URL: &str = "https://api.osv.dev";

/// querybatch accepts up to 1000 queries per request.
const BATCH: usize = 1000;
/// Parallel `GET /v1/vulns/{id}` requests.
const WORKERS: usize = 4;

pub fn base_url() -> String {
    match std::env::var("FLASK_HARDEN_OSV_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
        _ => DEFAULT_BASE_URL.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no packages to look up (no dependency file found, and no earlier cache)")]
    NothingToFetch,
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{url}: unexpected response: {message}")]
    BadResponse { url: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    pub path: PathBuf,
    pub packages: usize,
    pub advisories: usize,
    pub date: String,
}

fn agent() -> ureq::Agent {
    http_agent(Duration::from_secs(60))
}

/// An HTTP client for the package index and OSV. `SSL_CERT_FILE`, when set, names the CA
/// certificates to trust (PEM) instead of the bundled ones, as OpenSSL-based tools read it:
/// behind a TLS-inspecting proxy the index is reached only that way.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .user_agent(concat!("flask-harden/", env!("CARGO_PKG_VERSION")));
    if let Some(certs) = std::env::var_os("SSL_CERT_FILE")
        .and_then(|p| std::fs::read(p).ok())
        .map(|pem| {
            ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .filter(|certs| !certs.is_empty())
    {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    config.build().into()
}

fn http_error(url: &str, e: ureq::Error) -> UpdateError {
    UpdateError::Http {
        url: url.to_string(),
        message: e.to_string(),
    }
}

fn post_json(agent: &ureq::Agent, url: &str, body: &Value) -> Result<Value, UpdateError> {
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .map_err(|e| http_error(url, e))?;
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| http_error(url, e))?;
    serde_json::from_str(&text).map_err(|e| UpdateError::BadResponse {
        url: url.to_string(),
        message: e.to_string(),
    })
}

fn get_text(agent: &ureq::Agent, url: &str) -> Result<String, UpdateError> {
    let mut resp = agent.get(url).call().map_err(|e| http_error(url, e))?;
    resp.body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| http_error(url, e))
}

/// The ids of every advisory OSV has for these PyPI packages, following page tokens.
fn query_ids(
    agent: &ureq::Agent,
    base: &str,
    packages: &[String],
) -> Result<BTreeSet<String>, UpdateError> {
    let url = format!("{base}/v1/querybatch");
    let mut ids = BTreeSet::new();
    for chunk in packages.chunks(BATCH) {
        let mut pending: Vec<(String, Option<String>)> =
            chunk.iter().map(|p| (p.clone(), None)).collect();
        // A bound on pages keeps a misbehaving server from looping forever.
        for _ in 0..100 {
            if pending.is_empty() {
                break;
            }
            let queries: Vec<Value> = pending
                .iter()
                .map(|(name, token)| {
                    let mut q = json!({"package": {"name": name, "ecosystem": "PyPI"}});
                    if let Some(t) = token {
                        q["page_token"] = json!(t);
                    }
                    q
                })
                .collect();
            let resp = post_json(agent, &url, &json!({ "queries": queries }))?;
            let results = resp
                .get("results")
                .and_then(Value::as_array)
                .filter(|r| r.len() == pending.len())
                .ok_or_else(|| UpdateError::BadResponse {
                    url: url.clone(),
                    message: "no `results` list matching the queries".into(),
                })?;
            let mut next = Vec::new();
            for ((name, _), result) in pending.iter().zip(results) {
                for v in result
                    .get("vulns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = v.get("id").and_then(Value::as_str) {
                        ids.insert(id.to_string());
                    }
                }
                if let Some(t) = result.get("next_page_token").and_then(Value::as_str)
                    && !t.is_empty()
                {
                    next.push((name.clone(), Some(t.to_string())));
                }
            }
            pending = next;
        }
    }
    Ok(ids)
}

/// Fetch each advisory in full.
fn fetch_records(
    agent: &ureq::Agent,
    base: &str,
    ids: &[String],
) -> Result<Vec<OsvRecord>, UpdateError> {
    let per_worker = ids.len().div_ceil(WORKERS).max(1);
    let results: Vec<Result<Vec<OsvRecord>, UpdateError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(per_worker)
            .map(|chunk| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for id in chunk {
                        let url = format!("{base}/v1/vulns/{}", urlencode(id));
                        let text = get_text(agent, &url)?;
                        let record: OsvRecord =
                            serde_json::from_str(&text).map_err(|e| UpdateError::BadResponse {
                                url: url.clone(),
                                message: e.to_string(),
                            })?;
                        out.push(record);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(UpdateError::BadResponse {
                        url: base.to_string(),
                        message: "a download worker failed".into(),
                    })
                })
            })
            .collect()
    });
    let mut records = Vec::new();
    for r in results {
        records.extend(r?);
    }
    Ok(records)
}

/// Advisory ids are `[A-Za-z0-9-:.]`; anything else is percent-encoded.
fn urlencode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Fetch advisories for `packages` (plus those the existing cache covers) from `base` and
/// replace the cache file at `cache` with them.
pub fn update(base: &str, packages: &[String], cache: &Path) -> Result<UpdateReport, UpdateError> {
    let mut names: BTreeSet<String> = packages.iter().map(|p| super::normalize_name(p)).collect();
    if let Some(Ok(old)) = read_cache(cache) {
        names.extend(old.packages.unwrap_or_default());
    }
    names.retain(|n| !n.is_empty());
    if names.is_empty() {
        return Err(UpdateError::NothingToFetch);
    }
    let names: Vec<String> = names.into_iter().collect();
    let agent = agent();
    let base = base.trim_end_matches('/');
    let ids: Vec<String> = query_ids(&agent, base, &names)?.into_iter().collect();
    let records = fetch_records(&agent, base, &ids)?;
    let mut advisories: Vec<_> = records.iter().filter_map(to_advisory).collect();
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    advisories.dedup_by(|a, b| a.id == b.id);
    let date = crate::date::today_utc();
    let db = Database {
        date: date.clone(),
        source: format!("OSV data downloaded from {base}"),
        packages: Some(names.clone()),
        advisories,
    };
    write_atomically(cache, db.to_json().as_bytes())?;
    Ok(UpdateReport {
        path: cache.to_path_buf(),
        packages: names.len(),
        advisories: db.advisories.len(),
        date,
    })
}

/// Write to a temporary file in the same folder, then rename it over the target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    let io = |source| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
