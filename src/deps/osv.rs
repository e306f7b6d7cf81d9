//! OSV records (https://ossf.github.io/osv-schema/) and their conversion to the compact
//! database. Used by the converter (`osv-convert`) and by `advisories update`.

use serde::Deserialize;
use serde_json::Value;
use version_ranges::Ranges;

use super::advisories::{Advisory, Affected, Database, Event, events_to_ranges, parse_version};
use super::normalize_name;
use crate::finding::Severity;

#[derive(Debug, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub affected: Vec<OsvAffected>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Deserialize)]
pub struct OsvAffected {
    #[serde(default)]
    pub package: Option<OsvPackage>,
    #[serde(default)]
    pub ranges: Vec<OsvRange>,
    #[serde(default)]
    pub versions: Vec<Value>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct OsvPackage {
    pub name: String,
    #[serde(default)]
    pub ecosystem: String,
}

#[derive(Debug, Deserialize)]
pub struct OsvRange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<serde_json::Map<String, Value>>,
}

/// A version as a string: YAML exports may turn `1` into a number.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The compact advisory for the PyPI packages of a record; `None` when it is withdrawn or
/// names no PyPI package.
pub fn to_advisory(record: &OsvRecord) -> Option<Advisory> {
    if record
        .withdrawn
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        return None;
    }
    let mut affected = Vec::new();
    for a in &record.affected {
        let Some(pkg) = &a.package else { continue };
        if !pkg.ecosystem.eq_ignore_ascii_case("pypi") && !pkg.ecosystem.starts_with("PyPI:") {
            continue;
        }
        let name = normalize_name(&pkg.name);
        let mut ranges = Vec::new();
        for r in a.ranges.iter().filter(|r| r.kind == "ECOSYSTEM") {
            let mut events = Vec::new();
            for e in &r.events {
                for (k, v) in e {
                    let Some(v) = value_text(v) else { continue };
                    match k.as_str() {
                        "introduced" => events.push(Event::Introduced(v)),
                        "fixed" => events.push(Event::Fixed(v)),
                        "last_affected" => events.push(Event::LastAffected(v)),
                        _ => {}
                    }
                }
            }
            if !events.is_empty() {
                ranges.push(events);
            }
        }
        // Keep only the listed versions the ranges do not already cover.
        let covered = ranges
            .iter()
            .filter_map(|r| events_to_ranges(r))
            .fold(Ranges::empty(), |acc, r| acc.union(&r));
        let versions: Vec<String> = a
            .versions
            .iter()
            .filter_map(value_text)
            .filter(|v| parse_version(v).is_some_and(|p| !covered.contains(&p)))
            .collect();
        if ranges.is_empty() && versions.is_empty() {
            continue;
        }
        affected.push(Affected {
            name,
            ranges,
            versions,
        });
    }
    if affected.is_empty() {
        return None;
    }
    Some(Advisory {
        id: record.id.clone(),
        aliases: record.aliases.clone(),
        severity: severity_of(record).as_str().to_string(),
        withdrawn: false,
        affected,
    })
}

/// How a severity is derived, in order:
/// 1. a CVSS v3/v4 vector in `severity` (the record's or an affected package's): the CVSS v3
///    base score is computed, and 7.0 and up is high, 4.0 and up medium, below that low
///    (a v4 vector is judged by the v3 metrics it shares);
/// 2. GitHub's `database_specific.severity` (CRITICAL/HIGH, MODERATE/MEDIUM, LOW);
/// 3. neither (most PYSEC records): medium when the text describes only a denial of service
///    (memory or CPU exhaustion, ReDoS), high otherwise, since advisories for web-facing
///    packages without a score are mostly injection, disclosure or bypass issues.
pub fn severity_of(record: &OsvRecord) -> Severity {
    let vectors = record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| a.severity.iter()));
    if let Some(score) = vectors
        .filter(|s| s.kind.starts_with("CVSS"))
        .filter_map(|s| cvss3_base_score(&s.score))
        .reduce(f64::max)
    {
        return if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        };
    }
    let db_specific = record
        .database_specific
        .iter()
        .chain(
            record
                .affected
                .iter()
                .filter_map(|a| a.database_specific.as_ref()),
        )
        .filter_map(|d| d.get("severity").and_then(Value::as_str))
        .next();
    if let Some(s) = db_specific {
        match s.to_ascii_uppercase().as_str() {
            "CRITICAL" | "HIGH" => return Severity::High,
            "MODERATE" | "MEDIUM" => return Severity::Medium,
            "LOW" => return Severity::Low,
            _ => {}
        }
    }
    let text = format!(
        "{} {}",
        record.summary.as_deref().unwrap_or(""),
        record.details.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    let dos = [
        "denial of service",
        "denial-of-service",
        "redos",
        "memory usage",
        "resource consumption",
        "infinite loop",
    ];
    let worse = [
        "execute",
        "injection",
        "bypass",
        "disclos",
        "traversal",
        "xss",
        "cross-site",
        "overflow",
        "arbitrary",
    ];
    if dos.iter().any(|w| text.contains(w)) && !worse.iter().any(|w| text.contains(w)) {
        Severity::Medium
    } else {
        Severity::High
    }
}

/// The CVSS v3 base score of a vector (`CVSS:3.1/AV:N/AC:L/...`), per the v3.1 specification.
/// Also reads the shared base metrics of a v4 vector (AT and the subsequent-system metrics are
/// ignored), which gives a close estimate.
pub fn cvss3_base_score(vector: &str) -> Option<f64> {
    let mut m = std::collections::HashMap::new();
    for part in vector.split('/').skip(1) {
        let (k, v) = part.split_once(':')?;
        m.insert(k, v);
    }
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let changed = m.get("S").is_some_and(|s| *s == "C");
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" | "P" | "A" => 0.62,
        _ => return None,
    };
    let cia = |k: &str, k4: &str| -> Option<f64> {
        match *m.get(k).or_else(|| m.get(k4))? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C", "VC")?, cia("I", "VI")?, cia("A", "VA")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(roundup(raw))
}

/// CVSS v3.1 Roundup: the smallest number with one decimal that is not below the input.
fn roundup(x: f64) -> f64 {
    let int = (x * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

/// A database built from OSV records, and what the build had to say about the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub database: Database,
    /// Records skipped or data ignored, one line each (`ID: why`).
    pub diagnostics: Vec<String>,
    /// Records that were withdrawn, and so left out.
    pub withdrawn: usize,
}

/// Build a database from OSV records: PyPI only, withdrawn ones dropped, sorted by id.
///
/// The date is `date` when given (the date of the export, which `modified` fields need not
/// tell), else the newest `modified`. A date later than `today` is a data error: a `modified`
/// in the future is ignored with a diagnostic, and so is a `date` in the future.
pub fn build_database(
    records: &[OsvRecord],
    source: &str,
    date: Option<&str>,
    today: &str,
) -> Built {
    let mut diagnostics = Vec::new();
    let withdrawn = records
        .iter()
        .filter(|r| r.withdrawn.as_deref().is_some_and(|w| !w.trim().is_empty()))
        .count();
    let mut advisories: Vec<Advisory> = records.iter().filter_map(to_advisory).collect();
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    advisories.dedup_by(|a, b| a.id == b.id);
    let mut newest = String::new();
    for r in records {
        let Some(m) = r.modified.as_deref() else {
            continue;
        };
        let day = m.get(..10).unwrap_or(m);
        if !is_date(day) {
            diagnostics.push(format!("{}: `modified: {m}` is not a date; ignored", r.id));
        } else if day > today {
            diagnostics.push(format!(
                "{}: `modified: {m}` is later than today ({today}), a data error; ignored",
                r.id
            ));
        } else if day > newest.as_str() {
            newest = day.to_string();
        }
    }
    let date = match date {
        Some(d) if !is_date(d) => {
            diagnostics.push(format!(
                "the date `{d}` is not YYYY-MM-DD; using the newest `modified`, {newest}"
            ));
            newest
        }
        Some(d) if d > today => {
            diagnostics.push(format!(
                "the date {d} is later than today ({today}), a data error; using the newest `modified`, {newest}"
            ));
            newest
        }
        Some(d) => d.to_string(),
        None => newest,
    };
    Built {
        database: Database {
            date,
            source: source.to_string(),
            packages: None,
            advisories,
        },
        diagnostics,
        withdrawn,
    }
}

/// `YYYY-MM-DD`, digits where digits belong.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores_match_the_specification() {
        let s = cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H");
        assert_eq!(s, Some(7.5));
        let s = cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        assert_eq!(s, Some(9.8));
        let s = cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N");
        assert_eq!(s, Some(6.1));
        assert_eq!(cvss3_base_score("not a vector"), None);
    }

    fn record(id: &str, modified: &str, withdrawn: Option<&str>) -> OsvRecord {
        let mut v = serde_json::json!({
            "id": id, "modified": modified,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"},
                          "versions": ["1.0"]}]});
        if let Some(w) = withdrawn {
            v["withdrawn"] = w.into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn future_dates_are_data_errors() {
        let records = [
            record("A", "2026-07-01T00:00:00Z", None),
            record("B", "2027-07-09T15:45:00Z", None),
            record("C", "2026-07-02T00:00:00Z", Some("2026-07-03T00:00:00Z")),
        ];
        let built = build_database(&records, "t", None, "2026-12-01");
        // B's mistyped `modified` does not date the data; C is left out but still dated.
        assert_eq!(built.database.date, "2026-07-02");
        assert_eq!(built.withdrawn, 1);
        let ids: Vec<&str> = built
            .database
            .advisories
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["A", "B"]);
        assert_eq!(built.diagnostics.len(), 1);
        assert!(
            built.diagnostics[0].starts_with("B: "),
            "{:?}",
            built.diagnostics
        );
        let given = build_database(&records, "t", Some("2026-07-23"), "2026-12-01");
        assert_eq!(given.database.date, "2026-07-23");
        let future = build_database(&records, "t", Some("2027-01-01"), "2026-12-01");
        assert_eq!(future.database.date, "2026-07-02");
        assert!(future.diagnostics.iter().any(|d| d.contains("2027-01-01")));
    }

    #[test]
    fn the_gzip_form_reads_back() {
        let built = build_database(&[record("A", "2026-07-01", None)], "t", None, "2026-12-01");
        let bytes = built.database.to_gzip();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        assert_eq!(Database::from_bytes(&bytes).unwrap(), built.database);
        assert_eq!(
            bytes,
            built.database.to_gzip(),
            "the same data gives the same bytes"
        );
    }
}
