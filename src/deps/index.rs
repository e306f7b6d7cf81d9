//! The package index's JSON API (`GET https://pypi.org/pypi/NAME/json` for the releases,
//! `GET https://pypi.org/pypi/NAME/VERSION/json` for one release's `requires_dist` and
//! `requires_python`), cached on disk beside the downloaded advisories.
//!
//! A release's metadata never changes, so it is cached for good; the list of releases is
//! refetched after a day. Offline (or after the first failed request, so a missing network costs
//! one timeout, not one per package) only the cache is read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use pep440_rs::{Version, VersionSpecifiers};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::normalize_name;
use super::update::write_atomically;

/// PyPI's JSON API; `FLASK_HARDEN_PYPI_URL` overrides it.
pub const DEFAULT_BASE_URL: &str = "https://pypi.org/pypi";

/// Set by [`force_offline`]: no request is made for the rest of the process.
static FORCED_OFFLINE: AtomicBool = AtomicBool::new(false);

/// Keep every later [`PackageIndex`] of this process from the index and its cache, to the
/// built-in table (`check --offline`, tests that must not depend on the day's index).
pub fn force_offline() {
    FORCED_OFFLINE.store(true, Ordering::Relaxed);
}

/// Whether [`force_offline`] was called.
pub fn forced_offline() -> bool {
    FORCED_OFFLINE.load(Ordering::Relaxed)
}

/// Whether requests may be made: not forced offline, and `FLASK_HARDEN_OFFLINE` unset (or `0`).
pub fn network_allowed() -> bool {
    !FORCED_OFFLINE.load(Ordering::Relaxed)
        && !std::env::var("FLASK_HARDEN_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

const RELEASES_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// One release: its version, whether every file of it is yanked, its `requires_python`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub version: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yanked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    /// The Python tags of its wheels (`py3`, `cp311`, `cp37-abi3`): a release without a wheel
    /// for the project's Python would be built from source at install time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wheels: Vec<String>,
    /// A wheel's core metadata file (PEP 658: the wheel's URL and `.metadata`), read when the
    /// per-release JSON is not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
}

impl Release {
    /// Whether a wheel installs on CPython `python` (any wheel, when it is unknown).
    pub fn has_wheel_for(&self, python: Option<&Version>) -> bool {
        let Some(minor) = python.and_then(|p| p.release().get(1).copied()) else {
            return !self.wheels.is_empty();
        };
        self.wheels.iter().any(|tag| {
            let (tag, abi3) = match tag.strip_suffix("-abi3") {
                Some(t) => (t, true),
                None => (tag.as_str(), false),
            };
            tag.split('.').any(|t| {
                if t == "py3" || t == "py2.py3" {
                    return true;
                }
                let Some(n) = t.strip_prefix("cp3").or_else(|| t.strip_prefix("py3")) else {
                    return false;
                };
                n.parse::<u64>().is_ok_and(|n| {
                    n == minor || (abi3 && n <= minor) || t.starts_with("py3") && n <= minor
                })
            })
        })
    }
}

/// What one release declares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub requires_dist: Vec<String>,
    #[serde(default)]
    pub requires_python: Option<String>,
}

/// Whether `python` satisfies a `requires_python` text (unparsable texts are not held against
/// the release).
pub fn python_ok(requires_python: Option<&str>, python: Option<&Version>) -> bool {
    let (Some(spec), Some(python)) = (requires_python, python) else {
        return true;
    };
    match VersionSpecifiers::from_str(spec) {
        Ok(s) => s.contains(python),
        Err(_) => true,
    }
}

pub struct PackageIndex {
    base: String,
    cache: Option<PathBuf>,
    online: AtomicBool,
    /// The first failure, shown in the fix's note.
    failure: Mutex<Option<String>>,
    releases: Mutex<HashMap<String, Option<Vec<Release>>>>,
    metadata: Mutex<HashMap<(String, String), Option<Metadata>>>,
}

impl PackageIndex {
    /// `online = false` reads only the cache (the folder beside the advisory cache).
    pub fn new(online: bool) -> Self {
        // Forced offline is like `check --offline`: built-in data only, no cache either.
        let cache = super::advisories::cache_file()
            .and_then(|f| f.parent().map(|d| d.join("pypi")))
            .filter(|_| !FORCED_OFFLINE.load(Ordering::Relaxed));
        Self::with_cache(online, cache)
    }

    /// With the cache in `cache`, or none.
    pub fn with_cache(online: bool, cache: Option<PathBuf>) -> Self {
        let base = match std::env::var("FLASK_HARDEN_PYPI_URL") {
            Ok(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
            _ => DEFAULT_BASE_URL.to_string(),
        };
        Self {
            base,
            cache,
            online: AtomicBool::new(online && network_allowed()),
            failure: Mutex::new(None),
            releases: Mutex::new(HashMap::new()),
            metadata: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the index was reachable (or not tried yet); false once a request failed.
    pub fn online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    fn cache_path(&self, file: &str) -> Option<PathBuf> {
        self.cache.as_ref().map(|d| d.join(file))
    }

    fn fetch(&self, url: &str) -> Option<Value> {
        self.fetch_text(url)
            .and_then(|text| serde_json::from_str(&text).ok())
    }

    fn fetch_text(&self, url: &str) -> Option<String> {
        if !self.online() {
            return None;
        }
        let agent = super::update::http_agent(Duration::from_secs(20));
        let result = agent.get(url).call().and_then(|mut r| {
            r.body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_string()
        });
        match result {
            Ok(text) => Some(text),
            // An answer (a package or release the index does not have), or a bad URL: the
            // index is still reachable.
            Err(ureq::Error::StatusCode(_) | ureq::Error::Http(_) | ureq::Error::BadUri(_)) => None,
            Err(e) => {
                self.online.store(false, Ordering::Relaxed);
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert_with(|| format!("{url}: {e}"));
                }
                None
            }
        }
    }

    /// Every release of a package, oldest first by PEP 440; `None` when neither the index nor
    /// the cache has it.
    pub fn releases(&self, name: &str) -> Option<Vec<Release>> {
        let name = normalize_name(name);
        if let Some(known) = self.releases.lock().ok()?.get(&name) {
            return known.clone();
        }
        let path = self.cache_path(&format!("{name}.releases.json"));
        let cached = path.as_ref().and_then(|p| {
            let fresh = std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age < RELEASES_MAX_AGE);
            let text = std::fs::read_to_string(p).ok()?;
            let list: Vec<Release> = serde_json::from_str(&text).ok()?;
            Some((list, fresh))
        });
        let found = match cached {
            Some((list, true)) => Some(list),
            stale => {
                let fetched = self
                    .fetch(&format!("{}/{name}/json", self.base))
                    .map(|v| releases_of(&v, &format!("{}/{name}/json", self.base)));
                match fetched {
                    Some(list) => {
                        if let (Some(p), Ok(text)) = (&path, serde_json::to_string(&list)) {
                            let _ = write_atomically(p, text.as_bytes());
                        }
                        Some(list)
                    }
                    None => stale.map(|(list, _)| list),
                }
            }
        };
        if let Ok(mut m) = self.releases.lock() {
            m.insert(name, found.clone());
        }
        found
    }

    /// One release's metadata.
    pub fn metadata(&self, name: &str, version: &Version) -> Option<Metadata> {
        let name = normalize_name(name);
        let key = (name.clone(), version.to_string());
        if let Some(known) = self.metadata.lock().ok()?.get(&key) {
            return known.clone();
        }
        let path = self.cache_path(&format!("{name}-{version}.json"));
        let cached = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<Metadata>(&t).ok());
        let found = cached.or_else(|| {
            let m = self
                .release_json(&name, version)
                .or_else(|| self.core_metadata(&name, version))?;
            if let (Some(p), Ok(text)) = (&path, serde_json::to_string(&m)) {
                let _ = write_atomically(p, text.as_bytes());
            }
            Some(m)
        });
        if let Ok(mut m) = self.metadata.lock() {
            m.insert(key, found.clone());
        }
        found
    }

    /// A wheel's core metadata (PEP 658): `Requires-Dist` and `Requires-Python`.
    fn core_metadata(&self, name: &str, version: &Version) -> Option<Metadata> {
        let release = self
            .releases(name)?
            .into_iter()
            .find(|r| Version::from_str(&r.version).is_ok_and(|v| v == *version))?;
        let url = release.metadata_url?;
        let text = self.fetch_text(&url)?;
        Some(parse_core_metadata(&text))
    }

    /// `GET /pypi/NAME/VERSION/json`.
    fn release_json(&self, name: &str, version: &Version) -> Option<Metadata> {
        let v = self.fetch(&format!("{}/{name}/{version}/json", self.base))?;
        let info = v.get("info")?;
        {
            let m = Metadata {
                requires_dist: info
                    .get("requires_dist")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                requires_python: info
                    .get("requires_python")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string),
            };
            Some(m)
        }
    }
}

/// `url` as an absolute URL: mirrors serve file URLs relative to the JSON document
/// (`../../packages/…`).
fn absolute(base: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    let Some((origin, path)) = base.split_once("://").map(|(scheme, rest)| {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        (format!("{scheme}://{host}"), path)
    }) else {
        return url.to_string();
    };
    if let Some(rooted) = url.strip_prefix('/') {
        return format!("{origin}/{rooted}");
    }
    let mut dir: Vec<&str> = path.split('/').collect();
    dir.pop();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("../") {
            dir.pop();
            rest = r;
        } else if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else {
            break;
        }
    }
    dir.push(rest);
    format!("{origin}/{}", dir.join("/"))
}

/// The headers of a METADATA file that matter here.
fn parse_core_metadata(text: &str) -> Metadata {
    let mut m = Metadata::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            if key.eq_ignore_ascii_case("requires-dist") {
                m.requires_dist.push(value.to_string());
            } else if key.eq_ignore_ascii_case("requires-python") && !value.is_empty() {
                m.requires_python = Some(value.to_string());
            }
        }
    }
    m
}

/// The releases of a `GET /pypi/NAME/json` answer: versions with at least one file.
fn releases_of(v: &Value, json_url: &str) -> Vec<Release> {
    let mut out: Vec<(Version, Release)> = Vec::new();
    let Some(releases) = v.get("releases").and_then(Value::as_object) else {
        return Vec::new();
    };
    for (version, files) in releases {
        let Some(files) = files.as_array().filter(|f| !f.is_empty()) else {
            continue;
        };
        let Ok(parsed) = Version::from_str(version) else {
            continue;
        };
        let yanked = files
            .iter()
            .all(|f| f.get("yanked").and_then(Value::as_bool).unwrap_or(false));
        let requires_python = files
            .iter()
            .filter_map(|f| f.get("requires_python").and_then(Value::as_str))
            .find(|s| !s.trim().is_empty())
            .map(str::to_string);
        let mut wheels: Vec<String> = files
            .iter()
            .filter(|f| f.get("packagetype").and_then(Value::as_str) == Some("bdist_wheel"))
            .filter_map(|f| {
                let tag = f.get("python_version").and_then(Value::as_str)?;
                let abi3 = f
                    .get("filename")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.contains("-abi3-"));
                Some(if abi3 {
                    format!("{tag}-abi3")
                } else {
                    tag.to_string()
                })
            })
            .collect();
        wheels.sort();
        wheels.dedup();
        let metadata_url = files
            .iter()
            .filter(|f| f.get("packagetype").and_then(Value::as_str) == Some("bdist_wheel"))
            .find_map(|f| f.get("url").and_then(Value::as_str))
            .map(|u| format!("{}.metadata", absolute(json_url, u)));
        out.push((
            parsed,
            Release {
                version: version.clone(),
                yanked,
                requires_python,
                wheels,
                metadata_url,
            },
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_skip_empty_and_sort_by_pep_440() {
        let v = serde_json::json!({"releases": {
            "1.10": [{"yanked": false, "requires_python": ">=3.8"}],
            "1.9": [{"yanked": true}],
            "2.0": [],
            "bogus version": [{}]
        }});
        let r = releases_of(&v, "https://pypi.org/pypi/x/json");
        let names: Vec<&str> = r.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(names, ["1.9", "1.10"]);
        assert!(r[0].yanked);
        assert_eq!(r[1].requires_python.as_deref(), Some(">=3.8"));
    }

    #[test]
    fn relative_file_urls_are_made_absolute() {
        let base = "https://pypi.org/pypi/markupsafe/json";
        assert_eq!(
            absolute(base, "../../packages/6b/0c/M.whl"),
            "https://pypi.org/packages/6b/0c/M.whl"
        );
        assert_eq!(
            absolute(base, "https://f.example/x.whl"),
            "https://f.example/x.whl"
        );
        assert_eq!(absolute(base, "/p/x.whl"), "https://pypi.org/p/x.whl");
    }

    #[test]
    fn core_metadata_headers_are_read() {
        let m = parse_core_metadata(
            "Metadata-Version: 2.4\nName: Flask\nRequires-Python: >=3.9\nRequires-Dist: Werkzeug>=3.1.0\nRequires-Dist: asgiref>=3.2 ; extra == \"async\"\n\nRequires-Dist: not-a-header\n",
        );
        assert_eq!(m.requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(m.requires_dist.len(), 2);
    }

    #[test]
    fn wheels_are_matched_to_the_python_version() {
        let rel = |tags: &[&str]| Release {
            version: "1".into(),
            yanked: false,
            requires_python: None,
            wheels: tags.iter().map(|t| t.to_string()).collect(),
            metadata_url: None,
        };
        let py311 = Version::from_str("3.11").unwrap();
        assert!(rel(&["py3"]).has_wheel_for(Some(&py311)));
        assert!(rel(&["py2.py3"]).has_wheel_for(Some(&py311)));
        assert!(rel(&["cp311"]).has_wheel_for(Some(&py311)));
        assert!(rel(&["cp37-abi3"]).has_wheel_for(Some(&py311)));
        // MarkupSafe 2.1.1 has wheels up to cp310 only.
        assert!(!rel(&["cp310", "cp39"]).has_wheel_for(Some(&py311)));
        assert!(!rel(&[]).has_wheel_for(None));
    }

    #[test]
    fn requires_python_bounds_the_choice() {
        let py = Version::from_str("3.8").unwrap();
        assert!(python_ok(Some(">=3.7"), Some(&py)));
        assert!(!python_ok(Some(">=3.9"), Some(&py)));
        assert!(python_ok(Some(">=3.9"), None));
        assert!(python_ok(None, Some(&py)));
    }
}
