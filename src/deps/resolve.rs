//! Raising pins as a set: each vulnerable pin goes to the lowest release that fixes every
//! advisory, and every other pin of the same file goes up as far as the new versions require
//! (their `requires_dist`, the project's Python version, and the breaks of [`super::compat`]).
//! Then a resolver (`uv pip compile`, else `pip install --dry-run`), when one is on PATH,
//! checks that the new set installs.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};
use version_ranges::Ranges;

use super::advisories::AdvisoryDb;
use super::compat::NEEDS;
use super::index::{PackageIndex, python_ok};
use super::normalize_name;

/// The project's Python version, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonVersion {
    pub version: Version,
    pub source: String,
}

/// Read the project's Python version from, in order: `.python-version`, `runtime.txt`
/// (`python-3.11.4`), the Dockerfile's `FROM python:X.Y`, and the lowest version that
/// pyproject.toml's `requires-python` allows. `get` returns a file's text by relative path.
pub fn python_version(get: impl Fn(&str) -> Option<String>) -> Option<PythonVersion> {
    let minor = |s: &str| -> Option<Version> {
        let digits: String = s
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let parts: Vec<&str> = digits.split('.').filter(|p| !p.is_empty()).collect();
        if parts.len() < 2 || parts[0] != "3" {
            return None;
        }
        Version::from_str(&format!("{}.{}", parts[0], parts[1])).ok()
    };
    let found = |version: Version, source: &str| PythonVersion {
        version,
        source: source.to_string(),
    };
    if let Some(v) = get(".python-version")
        .and_then(|t| {
            t.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
        })
        .and_then(|l| {
            minor(
                l.trim_start_matches("cpython-")
                    .trim_start_matches("python"),
            )
        })
    {
        return Some(found(v, ".python-version"));
    }
    if let Some(v) = get("runtime.txt").and_then(|t| {
        minor(
            t.trim()
                .trim_start_matches("python-")
                .trim_start_matches("python"),
        )
    }) {
        return Some(found(v, "runtime.txt"));
    }
    if let Some(text) = get("Dockerfile") {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("from")) {
                continue;
            }
            let image = words.find(|w| !w.starts_with("--")).unwrap_or("");
            let (name, tag) = image.rsplit_once(':').unwrap_or((image, ""));
            if (name == "python" || name.ends_with("/python"))
                && let Some(v) = minor(tag)
            {
                return Some(found(v, "the Dockerfile's FROM line"));
            }
        }
    }
    let pyproject = get("pyproject.toml")?;
    let doc = toml_edit::Document::parse(pyproject).ok()?;
    let spec = doc
        .get("project")
        .and_then(|p| p.get("requires-python"))
        .and_then(|v| v.as_str())?;
    let ranges: Ranges<Version> = VersionSpecifiers::from_str(spec).ok()?.into();
    match ranges.bounding_range()? {
        (Bound::Included(v) | Bound::Excluded(v), _) => {
            minor(&v.to_string()).map(|v| found(v, "requires-python in pyproject.toml"))
        }
        _ => None,
    }
}

/// One pin raised by the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub name: String,
    pub from: Version,
    pub to: Version,
    /// Why it moves: its advisories, or what needs it.
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetPlan {
    pub raises: Vec<Raise>,
    /// The pins after the plan, by normalised name.
    pub pins: BTreeMap<String, Version>,
    /// Whether every chosen release's metadata came from the index (or its cache).
    pub metadata_checked: bool,
    /// What could not be satisfied; a non-empty list means no fix.
    pub problems: Vec<String>,
    /// Packages still affected by an advisory after the plan (no release fixes them).
    pub still_vulnerable: Vec<String>,
    /// Vulnerable packages left at their version because every release that fixes them
    /// needs a newer Python than the project's: name → the lowest fixing version.
    pub held_by_python: BTreeMap<String, Version>,
}

/// What one release needs of the other pinned packages.
fn needs_of(
    name: &str,
    version: &Version,
    index: &PackageIndex,
    python: Option<&Version>,
    pinned: &BTreeMap<String, Version>,
    metadata_checked: &mut bool,
) -> Vec<(String, Ranges<Version>, String)> {
    let mut out = Vec::new();
    for n in NEEDS
        .iter()
        .filter(|n| n.when == name && n.applies(version))
    {
        if pinned.contains_key(n.needs) {
            let why = n.why.map_or_else(
                || format!("{name} {version} needs {}>={}", n.needs, n.at_least),
                str::to_string,
            );
            out.push((n.needs.to_string(), Ranges::higher_than(n.floor()), why));
        }
    }
    let Some(meta) = index.metadata(name, version) else {
        *metadata_checked = false;
        return out;
    };
    let pythons: Vec<Version> = python.into_iter().cloned().collect();
    for text in &meta.requires_dist {
        let Ok(req) = Requirement::<pep508_rs::VerbatimUrl>::from_str(text) else {
            continue;
        };
        let active = if pythons.is_empty() {
            req.marker.evaluate_extras(&[])
        } else {
            req.marker
                .evaluate_extras_and_python_version(&Default::default(), &pythons)
        };
        let dep = normalize_name(req.name.as_ref());
        if !active || !pinned.contains_key(&dep) {
            continue;
        }
        if let Some(VersionOrUrl::VersionSpecifier(spec)) = &req.version_or_url
            && !spec.is_empty()
        {
            out.push((
                dep.clone(),
                Ranges::from(spec.clone()),
                format!("{name} {version} requires {dep}{spec}"),
            ));
        }
    }
    out
}

/// The lowest release of `name` at or above `current` that `allowed` admits, that runs on the
/// project's Python, is not yanked, and (when one exists) no advisory affects.
fn pick(
    name: &str,
    current: &Version,
    allowed: &Ranges<Version>,
    db: &AdvisoryDb,
    index: &PackageIndex,
    python: Option<&Version>,
) -> Option<Version> {
    let advisories = db.for_package(name);
    let safe = |v: &Version| !advisories.iter().any(|a| a.affected.contains(v));
    let candidates: Vec<Version> = match index.releases(name) {
        Some(releases) => {
            let usable: Vec<&super::index::Release> = releases
                .iter()
                .filter(|r| !r.yanked && python_ok(r.requires_python.as_deref(), python))
                .collect();
            // Releases with a wheel for the project's Python install without building: only
            // when none fits does an sdist-only release count.
            let with_wheel: Vec<&super::index::Release> = usable
                .iter()
                .copied()
                .filter(|r| r.has_wheel_for(python))
                .collect();
            let versions = |list: &[&super::index::Release]| -> Vec<Version> {
                list.iter()
                    .filter_map(|r| Version::from_str(&r.version).ok())
                    .filter(|v| !v.any_prerelease() || current.any_prerelease())
                    .collect()
            };
            let preferred = versions(&with_wheel);
            if preferred
                .iter()
                .any(|v| v >= current && allowed.contains(v))
            {
                preferred
            } else {
                versions(&usable)
            }
        }
        None => {
            // Offline: the floors the constraints name and the advisories' fixed versions,
            // those the table of the stack's Requires-Python says run on the project's Python.
            let mut c: Vec<Version> = allowed
                .iter()
                .filter_map(|(low, _)| match low {
                    Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
                    Bound::Unbounded => None,
                })
                .chain(advisories.iter().flat_map(|a| a.fixes.iter().cloned()))
                .filter(|v| python_ok(super::compat::requires_python(name, v), python))
                .collect();
            c.sort();
            c.dedup();
            c
        }
    };
    let fits = |v: &&Version| *v >= current && allowed.contains(*v);
    candidates
        .iter()
        .filter(fits)
        .find(|v| safe(v))
        .or_else(|| candidates.iter().find(fits))
        .cloned()
}

/// The reason to show for a raise: a break the metadata does not declare, else the first need.
fn strongest(mut reasons: Vec<String>) -> String {
    reasons.dedup();
    let breaks: Vec<&String> = reasons.iter().filter(|r| r.contains("removed")).collect();
    match breaks.first() {
        Some(b) => b.to_string(),
        None => reasons.first().cloned().unwrap_or_default(),
    }
}

/// Raise `targets` (vulnerable pins: name → the lowest version that fixes every advisory) and
/// what they need among `pins` (every pin of the file).
pub fn plan_set(
    pins: &BTreeMap<String, Version>,
    targets: &BTreeMap<String, Version>,
    db: &AdvisoryDb,
    index: &PackageIndex,
    python: Option<&Version>,
) -> SetPlan {
    let mut chosen = pins.clone();
    let mut why: BTreeMap<String, String> = BTreeMap::new();
    let mut plan = SetPlan {
        metadata_checked: true,
        ..SetPlan::default()
    };
    for (name, floor) in targets {
        let Some(current) = chosen.get(name).cloned() else {
            continue;
        };
        match pick(
            name,
            floor,
            &Ranges::higher_than(floor.clone()),
            db,
            index,
            python,
        ) {
            Some(v) if v > current => {
                chosen.insert(name.clone(), v);
                why.insert(name.clone(), "known vulnerabilities".into());
            }
            Some(_) => {}
            // Raising it would not install; the rest of the set is still planned.
            None if python.is_some() => {
                plan.held_by_python.insert(name.clone(), floor.clone());
            }
            None => plan.problems.push(format!(
                "no release of {name} from {floor} on runs on the project's Python"
            )),
        }
    }
    // Each round raises what the chosen versions need; versions only go up, so this ends.
    for _ in 0..64 {
        let mut wanted: BTreeMap<String, (Ranges<Version>, Vec<String>)> = BTreeMap::new();
        for (name, version) in &chosen {
            for (dep, range, reason) in needs_of(
                name,
                version,
                index,
                python,
                &chosen,
                &mut plan.metadata_checked,
            ) {
                let entry = wanted
                    .entry(dep)
                    .or_insert_with(|| (Ranges::full(), Vec::new()));
                entry.0 = entry.0.intersection(&range);
                entry.1.push(reason);
            }
        }
        let mut changed = false;
        for (dep, (allowed, reasons)) in wanted {
            let Some(current) = chosen.get(&dep).cloned() else {
                continue;
            };
            if allowed.contains(&current) {
                continue;
            }
            match pick(&dep, &current, &allowed, db, index, python) {
                Some(v) => {
                    chosen.insert(dep.clone(), v);
                    why.entry(dep).or_insert_with(|| strongest(reasons));
                    changed = true;
                }
                None => {
                    plan.problems.push(format!(
                        "{dep} {current} cannot stay, and no later release satisfies {}",
                        reasons.join("; ")
                    ));
                }
            }
        }
        if !plan.problems.is_empty() || !changed {
            break;
        }
    }
    for (name, to) in &chosen {
        let from = &pins[name];
        if to != from {
            plan.raises.push(Raise {
                name: name.clone(),
                from: from.clone(),
                to: to.clone(),
                why: why.get(name).cloned().unwrap_or_default(),
            });
        }
        if db.for_package(name).iter().any(|a| a.affected.contains(to))
            && (targets.contains_key(name) || to != from)
            && !plan.held_by_python.contains_key(name)
        {
            plan.still_vulnerable.push(format!("{name} {to}"));
        }
    }
    plan.pins = chosen;
    plan
}

/// What a resolver said about a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// It resolves; `how` names the command.
    Resolves { how: String },
    /// It does not; the resolver's words.
    Fails { how: String, message: String },
    /// No resolver could be run, or it could not reach the index.
    NotChecked { reason: String },
}

/// Find a program on PATH.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Run a command with a time limit; (success, stdout + stderr).
fn run_bounded(mut cmd: Command, limit: Duration) -> Option<(bool, String)> {
    let dir = crate::fix::verify::private_tempdir().ok()?;
    let out_path = dir.path().join("out");
    let out = std::fs::File::create(&out_path).ok()?;
    let err = out.try_clone().ok()?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .ok()?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().ok()? {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    match status {
        Some(s) => Some((s.success(), text)),
        None => Some((false, format!("timed out after {} s", limit.as_secs()))),
    }
}

fn looks_offline(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "failed to fetch",
        "error sending request",
        "dns error",
        "network",
        "connection",
        "timed out",
        "could not fetch",
        "temporary failure in name resolution",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// A resolver found on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolver {
    /// `uv pip compile`.
    Uv(PathBuf),
    /// `python -m pip install --dry-run`, with this Python.
    Pip(PathBuf),
}

/// uv on PATH, else a Python with pip.
pub fn find_resolver() -> Option<Resolver> {
    on_path("uv").map(Resolver::Uv).or_else(|| {
        on_path("python3")
            .or_else(|| on_path("python"))
            .map(Resolver::Pip)
    })
}

/// Check that `requirements` (lines of a requirements file) resolve with the resolver on
/// PATH; see [`check_with`].
pub fn check_resolves(requirements: &[String], python: Option<&Version>) -> Resolution {
    match find_resolver() {
        Some(r) => check_with(&r, requirements, python),
        None => Resolution::NotChecked {
            reason: "no resolver on PATH (uv or pip)".into(),
        },
    }
}

/// Check that `requirements` resolve, with only wheels (no sdist is built, so no package's
/// setup.py runs), for `python` when known. Bounded to two minutes.
pub fn check_with(
    resolver: &Resolver,
    requirements: &[String],
    python: Option<&Version>,
) -> Resolution {
    let Ok(dir) = crate::fix::verify::private_tempdir() else {
        return Resolution::NotChecked {
            reason: "no temporary folder".into(),
        };
    };
    let input = dir.path().join("requirements.in");
    if std::fs::write(&input, requirements.join("\n") + "\n").is_err() {
        return Resolution::NotChecked {
            reason: "could not write a temporary file".into(),
        };
    }
    let limit = Duration::from_secs(120);
    let for_python = python.map_or_else(String::new, |py| format!(", Python {py}"));
    match resolver {
        Resolver::Uv(uv) => {
            let mut cmd = Command::new(uv);
            cmd.current_dir(dir.path())
                .args(["pip", "compile", "--no-build", "--no-header", "--quiet"])
                .arg("--no-config")
                .arg(&input)
                .args(["-o", "-"])
                .env("UV_NO_PROGRESS", "1");
            if let Some(py) = python {
                cmd.args(["--python-version", &py.to_string()]);
            }
            let how = format!("uv pip compile --no-build (wheels only{for_python})");
            judge(run_bounded(cmd, limit), how)
        }
        Resolver::Pip(py_exe) => {
            let mut cmd = Command::new(py_exe);
            cmd.current_dir(dir.path())
                .args(["-m", "pip", "install", "--dry-run", "--quiet"])
                .args(["--ignore-installed", "--disable-pip-version-check"])
                .args(["--only-binary", ":all:", "--report", "report.json", "-r"])
                .arg(&input);
            if let Some(py) = python {
                // pip takes a target Python only with --target (nothing is written: --dry-run).
                cmd.args(["--python-version", &py.to_string(), "--target"])
                    .arg(dir.path().join("target"));
            }
            let how =
                format!("pip install --dry-run --only-binary :all: (wheels only{for_python})");
            judge(run_bounded(cmd, limit), how)
        }
    }
}

fn judge(result: Option<(bool, String)>, how: String) -> Resolution {
    match result {
        Some((true, _)) => Resolution::Resolves { how },
        Some((false, text)) if looks_offline(&text) => Resolution::NotChecked {
            reason: format!("{how} could not reach the package index"),
        },
        Some((false, text)) => Resolution::Fails {
            how,
            message: text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(8)
                .collect::<Vec<_>>()
                .join(" "),
        },
        None => Resolution::NotChecked {
            reason: format!("{how} could not be started"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    #[test]
    fn the_python_version_comes_from_the_project() {
        let files = |pairs: &'static [(&'static str, &'static str)]| {
            move |p: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == p)
                    .map(|(_, t)| t.to_string())
            }
        };
        let got = python_version(files(&[(".python-version", "3.11.4\n")])).unwrap();
        assert_eq!(
            (got.version, got.source.as_str()),
            (v("3.11"), ".python-version")
        );
        let got = python_version(files(&[("runtime.txt", "python-3.9.7\n")])).unwrap();
        assert_eq!(got.version, v("3.9"));
        let got = python_version(files(&[(
            "Dockerfile",
            "FROM --platform=linux/amd64 python:3.8-slim AS base\nRUN pip install -r r.txt\n",
        )]))
        .unwrap();
        assert_eq!(got.version, v("3.8"));
        let got = python_version(files(&[(
            "pyproject.toml",
            "[project]\nname = \"x\"\nrequires-python = \">=3.10,<4\"\n",
        )]))
        .unwrap();
        assert_eq!(got.version, v("3.10"));
        assert_eq!(
            python_version(files(&[("Dockerfile", "FROM node:20\n")])),
            None
        );
    }

    #[test]
    fn offline_a_raise_past_the_project_python_is_not_planned() {
        // Flask 3.1 needs Python 3.9 (the offline table says so without the index): on 3.8
        // Flask is held where it is, not raised to a pin that would not install.
        let index = PackageIndex::with_cache(false, None);
        let db = AdvisoryDb::new(super::super::advisories::embedded());
        let pins: BTreeMap<String, Version> = [("flask".to_string(), v("2.2.5"))].into();
        let targets: BTreeMap<String, Version> = [("flask".to_string(), v("3.1.3"))].into();
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.8")));
        assert!(plan.problems.is_empty(), "{plan:?}");
        assert_eq!(
            plan.held_by_python.get("flask"),
            Some(&v("3.1.3")),
            "{plan:?}"
        );
        assert!(plan.raises.is_empty(), "{plan:?}");
        // On 3.9 it is planned.
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.9")));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert_eq!(plan.pins["flask"].to_string(), "3.1.3");
    }

    #[test]
    fn offline_the_flask_stack_moves_together() {
        // No network and an empty cache: the table of what Flask releases need applies.
        let index = PackageIndex::with_cache(false, None);
        let db = AdvisoryDb::new(super::super::advisories::embedded());
        let pins: BTreeMap<String, Version> = [
            ("flask", "2.2.5"),
            ("click", "7.1.1"),
            ("jinja2", "2.11.3"),
            ("itsdangerous", "1.1.0"),
            ("werkzeug", "2.2.3"),
            ("markupsafe", "2.0.1"),
            ("flask-login", "0.5.0"),
        ]
        .iter()
        .map(|(n, x)| (n.to_string(), v(x)))
        .collect();
        let targets: BTreeMap<String, Version> = [("flask".to_string(), v("3.1.3"))].into();
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.11")));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert!(!plan.metadata_checked);
        let to = |n: &str| plan.pins[n].to_string();
        assert_eq!(to("flask"), "3.1.3");
        assert!(plan.pins["werkzeug"] >= v("3.1"), "{}", to("werkzeug"));
        assert!(plan.pins["jinja2"] >= v("3.1.2"), "{}", to("jinja2"));
        assert!(plan.pins["click"] >= v("8.1.3"), "{}", to("click"));
        assert!(
            plan.pins["itsdangerous"] >= v("2.2"),
            "{}",
            to("itsdangerous")
        );
        assert!(
            plan.pins["markupsafe"] >= v("2.1.1"),
            "{}",
            to("markupsafe")
        );
        assert!(
            plan.pins["flask-login"] >= v("0.6.3"),
            "{}",
            to("flask-login")
        );
        let login = plan
            .raises
            .iter()
            .find(|r| r.name == "flask-login")
            .unwrap();
        assert!(login.why.contains("_request_ctx_stack") || login.why.contains("safe_str_cmp"));
    }

    /// An index of two packages, served from a cache folder.
    fn cached_index() -> (tempfile::TempDir, PackageIndex) {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        w(
            "werkzeug.releases.json",
            r#"[{"version":"2.3.7","wheels":["py3"]},{"version":"3.1.6","requires_python":">=3.9","wheels":["py3"]}]"#,
        );
        w(
            "werkzeug-3.1.6.json",
            r#"{"requires_dist":["MarkupSafe>=2.1.1","watchdog>=2.3; extra == \"watchdog\""],"requires_python":">=3.9"}"#,
        );
        w(
            "markupsafe.releases.json",
            r#"[{"version":"2.0.1","wheels":["cp39"]},{"version":"2.1.1","wheels":["cp310","cp39"]},{"version":"2.1.2","wheels":["cp311","cp310"]}]"#,
        );
        for v in ["2.0.1", "2.1.1", "2.1.2"] {
            w(
                &format!("markupsafe-{v}.json"),
                r#"{"requires_python":">=3.7"}"#,
            );
        }
        let index = PackageIndex::with_cache(false, Some(dir.path().to_path_buf()));
        (dir, index)
    }

    #[test]
    fn metadata_and_wheels_choose_the_companion_release() {
        let (_dir, index) = cached_index();
        let db = AdvisoryDb::default();
        let pins: BTreeMap<String, Version> = [
            ("werkzeug".into(), v("2.3.7")),
            ("markupsafe".into(), v("2.0.1")),
        ]
        .into();
        let targets: BTreeMap<String, Version> = [("werkzeug".into(), v("3.1.6"))].into();
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.11")));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert!(plan.metadata_checked);
        // 2.1.1 satisfies MarkupSafe>=2.1.1 but has no wheel for Python 3.11.
        assert_eq!(plan.pins["markupsafe"], v("2.1.2"));
        let raise = plan.raises.iter().find(|r| r.name == "markupsafe").unwrap();
        assert!(
            raise.why.starts_with("werkzeug 3.1.6 ") && raise.why.ends_with("markupsafe>=2.1.1")
        );
        // On Python 3.10, 2.1.1 has its wheel.
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.10")));
        assert_eq!(plan.pins["markupsafe"], v("2.1.1"));
    }

    #[test]
    fn the_project_python_bounds_the_choice() {
        let (_dir, index) = cached_index();
        let db = AdvisoryDb::default();
        let pins: BTreeMap<String, Version> = [("werkzeug".into(), v("2.3.7"))].into();
        let targets: BTreeMap<String, Version> = [("werkzeug".into(), v("3.1.6"))].into();
        let plan = plan_set(&pins, &targets, &db, &index, Some(&v("3.8")));
        assert!(plan.problems.is_empty(), "{plan:?}");
        assert_eq!(plan.held_by_python.get("werkzeug"), Some(&v("3.1.6")));
        assert_eq!(plan.pins["werkzeug"], v("2.3.7"));
        // With no Python known, there is nothing to hold it by: a problem.
        let plan = plan_set(&pins, &targets, &db, &index, None);
        assert!(plan.held_by_python.is_empty(), "{plan:?}");
    }
}
