//! The advisory database: a compact form of OSV records for PyPI, embedded in the binary and
//! optionally refreshed into the user's cache by `flask-harden advisories update`.
//!
//! The compact form keeps what matching needs: ids, aliases, a severity, and per package the
//! OSV `ECOSYSTEM` range events and the explicit `versions` not already covered by the ranges.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use pep440_rs::Version;
use serde::{Deserialize, Serialize};
use version_ranges::Ranges;

use crate::finding::Severity;

/// The embedded snapshot: the JSON of [`Database::to_json`], gzipped. Rebuilt by `osv-convert`
/// (see src/bin/osv-convert.rs for the command).
pub const EMBEDDED: &[u8] = include_bytes!("advisories.json.gz");

/// One OSV range event, in the compact form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    #[serde(rename = "i")]
    Introduced(String),
    #[serde(rename = "f")]
    Fixed(String),
    #[serde(rename = "l")]
    LastAffected(String),
}

/// The versions of one package an advisory affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// PEP 503 normalised name.
    pub name: String,
    /// Each range is its own list of events (OSV `ranges[type=ECOSYSTEM].events`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Vec<Event>>,
    /// Versions listed explicitly and not already inside the ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `high`, `medium` or `low`: see [`crate::deps::osv::severity_of`] for how it is derived.
    pub severity: String,
    /// Withdrawn advisories are kept out by the converter; this guards data from elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    pub affected: Vec<Affected>,
}

impl Advisory {
    pub fn severity(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or(Severity::High)
    }

    /// `ID (ALIAS, ALIAS)`.
    pub fn label(&self) -> String {
        if self.aliases.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, self.aliases.join(", "))
        }
    }
}

/// The serialised database, embedded or cached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// Date of the data (YYYY-MM-DD): the newest `modified` of the records, or the download date.
    pub date: String,
    /// Where the data came from, for the notes shown with the results.
    pub source: String,
    /// For a partial database (the cache filled from the OSV API), the packages it covers;
    /// other packages fall back to the embedded snapshot. `None` means it covers everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<String>>,
    pub advisories: Vec<Advisory>,
}

impl Database {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Read the JSON, or its gzip (recognised by the gzip magic bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut text)
                .map_err(|e| format!("not a readable gzip file: {e}"))?;
            Self::from_json(&text).map_err(|e| e.to_string())
        } else {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            Self::from_json(text).map_err(|e| e.to_string())
        }
    }

    /// [`Database::to_json`], gzipped at the best level with no timestamp, so the same data
    /// gives the same bytes.
    pub fn to_gzip(&self) -> Vec<u8> {
        let mut enc = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        let written = std::io::Write::write_all(&mut enc, self.to_json().as_bytes());
        match (written, enc.finish()) {
            (Ok(()), Ok(bytes)) => bytes,
            _ => Vec::new(),
        }
    }

    /// One record per line keeps the committed file diffable.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        out.push_str("{\"date\":");
        out.push_str(&json_string(&self.date));
        out.push_str(",\"source\":");
        out.push_str(&json_string(&self.source));
        if let Some(p) = &self.packages {
            out.push_str(",\"packages\":");
            out.push_str(&serde_json::to_string(p).unwrap_or_else(|_| "[]".into()));
        }
        out.push_str(",\"advisories\":[\n");
        for (i, a) in self.advisories.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str(&serde_json::to_string(a).unwrap_or_else(|_| "null".into()));
        }
        out.push_str("\n]}\n");
        out
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Parse a version from advisory data; `None` when it is not PEP 440.
pub fn parse_version(s: &str) -> Option<Version> {
    Version::from_str(s.trim()).ok()
}

/// The versions one range of events affects, as the OSV schema defines it: events sorted by
/// version; `introduced` opens an interval, `fixed` closes it before that version,
/// `last_affected` closes it after. `introduced: 0` means every version, pre-releases included.
pub fn events_to_ranges(events: &[Event]) -> Option<Ranges<Version>> {
    let mut parsed: Vec<(u8, Option<Version>)> = Vec::new();
    for e in events {
        let (kind, text) = match e {
            Event::Introduced(v) => (0u8, v),
            Event::Fixed(v) => (1, v),
            Event::LastAffected(v) => (2, v),
        };
        if kind == 0 && text.trim() == "0" {
            parsed.push((0, None));
        } else {
            parsed.push((kind, Some(parse_version(text)?)));
        }
    }
    // `None` (introduced 0) sorts first; at equal versions a closing event comes first.
    parsed.sort_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    let mut out = Ranges::empty();
    let mut open: Option<Bound<Version>> = None;
    for (kind, version) in parsed {
        match (kind, version) {
            (0, None) => open = open.or(Some(Bound::Unbounded)),
            (0, Some(v)) => open = open.or(Some(Bound::Included(v))),
            (1, Some(v)) => {
                if let Some(low) = open.take() {
                    out = out.union(&Ranges::from_range_bounds((low, Bound::Excluded(v))));
                }
            }
            (2, Some(v)) => {
                if let Some(low) = open.take() {
                    out = out.union(&Ranges::from_range_bounds((low, Bound::Included(v))));
                }
            }
            _ => {}
        }
    }
    if let Some(low) = open {
        out = out.union(&Ranges::from_range_bounds((
            low,
            Bound::<Version>::Unbounded,
        )));
    }
    Some(out)
}

/// An advisory as it applies to one package, ready for matching.
#[derive(Debug, Clone)]
pub struct PackageAdvisory {
    /// Index into [`AdvisoryDb::advisories`].
    pub advisory: usize,
    pub affected: Ranges<Version>,
    /// The `fixed` versions of its ranges: candidates for the upgrade.
    pub fixes: Vec<Version>,
}

/// The advisories indexed by package, with their affected versions as ranges.
#[derive(Debug, Clone, Default)]
pub struct AdvisoryDb {
    pub date: String,
    pub source: String,
    pub advisories: Vec<Advisory>,
    by_package: HashMap<String, Vec<PackageAdvisory>>,
}

impl AdvisoryDb {
    pub fn new(db: Database) -> Self {
        Self::layered(db, None)
    }

    /// `cache` replaces `base` for the packages it covers.
    pub fn layered(base: Database, cache: Option<Database>) -> Self {
        let mut out = AdvisoryDb {
            date: base.date.clone(),
            source: base.source.clone(),
            ..Self::default()
        };
        let covered: Option<Vec<String>> = cache.as_ref().map(|c| {
            c.packages.clone().unwrap_or_else(|| {
                c.advisories
                    .iter()
                    .flat_map(|a| a.affected.iter().map(|x| x.name.clone()))
                    .collect()
            })
        });
        if let Some(c) = &cache {
            out.date = c.date.clone();
            out.source = c.source.clone();
        }
        let keep_base = |name: &str| {
            covered
                .as_ref()
                .is_none_or(|c| !c.iter().any(|n| n == name))
        };
        let mut all: Vec<(Advisory, bool)> =
            base.advisories.into_iter().map(|a| (a, true)).collect();
        if let Some(c) = cache {
            all.extend(c.advisories.into_iter().map(|a| (a, false)));
        }
        for (mut advisory, from_base) in all {
            if advisory.withdrawn {
                continue;
            }
            if from_base {
                advisory.affected.retain(|a| keep_base(&a.name));
            }
            if advisory.affected.is_empty() {
                continue;
            }
            let index = out.advisories.len();
            let mut per_package: BTreeMap<String, PackageAdvisory> = BTreeMap::new();
            for affected in &advisory.affected {
                let entry =
                    per_package
                        .entry(affected.name.clone())
                        .or_insert_with(|| PackageAdvisory {
                            advisory: index,
                            affected: Ranges::empty(),
                            fixes: Vec::new(),
                        });
                for range in &affected.ranges {
                    if let Some(r) = events_to_ranges(range) {
                        entry.affected = entry.affected.union(&r);
                    }
                    for e in range {
                        if let Event::Fixed(v) = e
                            && let Some(v) = parse_version(v)
                        {
                            entry.fixes.push(v);
                        }
                    }
                }
                for v in affected.versions.iter().filter_map(|v| parse_version(v)) {
                    entry.affected = entry.affected.union(&Ranges::singleton(v));
                }
            }
            for (name, pa) in per_package {
                if !pa.affected.is_empty() {
                    out.by_package.entry(name).or_default().push(pa);
                }
            }
            out.advisories.push(advisory);
        }
        out
    }

    /// The advisories of a package (PEP 503 normalised name).
    pub fn for_package(&self, name: &str) -> &[PackageAdvisory] {
        self.by_package.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn advisory(&self, pa: &PackageAdvisory) -> &Advisory {
        &self.advisories[pa.advisory]
    }

    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// The lowest `fixed` version above `floor` that no advisory of the package affects.
    pub fn lowest_safe(&self, name: &str, floor: Option<&Version>) -> Option<Version> {
        let advisories = self.for_package(name);
        let mut candidates: Vec<&Version> = advisories
            .iter()
            .flat_map(|a| a.fixes.iter())
            .filter(|v| floor.is_none_or(|f| *v > f))
            .collect();
        candidates.sort();
        candidates.dedup();
        candidates
            .into_iter()
            .find(|v| !advisories.iter().any(|a| a.affected.contains(*v)))
            .cloned()
    }

    /// The note shown with the results: which data, of when.
    pub fn describe(&self) -> String {
        format!(
            "advisory data: {}, {} ({} advisories)",
            self.source,
            self.date,
            self.advisories.len()
        )
    }
}

/// Where advisories come from for a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// The user's cache when `advisories update` has filled it, else the embedded snapshot.
    Default,
    /// The embedded snapshot only (`check --offline`).
    Offline,
}

/// The cache file: `$XDG_CACHE_HOME/flask-harden/osv-pypi.json` (or the platform's cache dir);
/// `FLASK_HARDEN_CACHE_DIR` overrides the folder.
pub fn cache_file() -> Option<PathBuf> {
    let dir = match std::env::var_os("FLASK_HARDEN_CACHE_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => dirs::cache_dir()?.join("flask-harden"),
    };
    Some(dir.join("osv-pypi.json"))
}

/// The embedded snapshot as a [`Database`].
pub fn embedded() -> Database {
    Database::from_bytes(EMBEDDED).unwrap_or_default()
}

/// A date later than today is a data error: it is dropped (shown as "undated") with a note.
pub fn checked_date(mut db: Database, notes: &mut Vec<String>) -> Database {
    let today = crate::date::today_utc();
    if db.date.as_str() > today.as_str() || !super::osv::is_date(&db.date) {
        notes.push(format!(
            "the {} is dated `{}`, which is not a past date: the date is ignored",
            db.source, db.date
        ));
        db.date = "undated".into();
    }
    db
}

/// Read a cached database; `None` when there is none, an error text when it is unusable.
pub fn read_cache(path: &Path) -> Option<Result<Database, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(Database::from_json(&text).map_err(|e| format!("{}: {e}", path.display())))
}

/// The database for a scan, loaded once per source.
pub fn load(source: DataSource) -> &'static (AdvisoryDb, Vec<String>) {
    static DEFAULT: OnceLock<(AdvisoryDb, Vec<String>)> = OnceLock::new();
    static OFFLINE: OnceLock<(AdvisoryDb, Vec<String>)> = OnceLock::new();
    match source {
        DataSource::Offline => OFFLINE.get_or_init(|| {
            let mut notes = Vec::new();
            let db = AdvisoryDb::new(checked_date(embedded(), &mut notes));
            (db, notes)
        }),
        DataSource::Default => DEFAULT.get_or_init(|| {
            let mut notes = Vec::new();
            let cache = match cache_file().as_deref().and_then(read_cache) {
                Some(Ok(db)) => Some(db),
                Some(Err(e)) => {
                    notes.push(format!("ignored the unreadable advisory cache: {e}"));
                    None
                }
                None => None,
            };
            let cache = cache.map(|c| checked_date(c, &mut notes));
            let base = checked_date(embedded(), &mut notes);
            let base_note = format!("{} of {}", base.source, base.date);
            let layered = cache.is_some();
            let db = AdvisoryDb::layered(base, cache);
            if layered {
                notes.push(format!("packages not in the cache use the {base_note}"));
            }
            (db, notes)
        }),
    }
}
