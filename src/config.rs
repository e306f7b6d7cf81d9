//! The project's configuration: `flask-harden.toml` at the root, or `[tool.flask-harden]` in
//! its `pyproject.toml` (the first one found wins). Every value remembers where it came from,
//! and every error names the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use toml_edit::{Item, TableLike, Value};

use crate::checklist;
use crate::finding::{Diagnostic, Finding, Severity};

pub const FILE: &str = "flask-harden.toml";
pub const PYPROJECT: &str = "pyproject.toml";

/// Where advisory data comes from for the dependencies check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Advisories {
    /// The cache `advisories update` fills, else the embedded snapshot.
    #[default]
    Default,
    /// The snapshot built into flask-harden only (as `--offline`).
    Offline,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Items and rules turned off.
    pub disable: Vec<String>,
    /// Severity overrides by rule or item id.
    pub severity: BTreeMap<String, Severity>,
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    /// `module.Class` of the production config, for when the code does not say.
    pub production_config: Option<String>,
    pub advisories: Advisories,
    /// The command that runs the project's tests for `fix --verify` (run without a shell).
    pub test_command: Option<String>,
    /// Key → `file:line` for each value set in a file.
    pub origins: BTreeMap<String, String>,
    /// Problems that did not stop loading (a `pyproject.toml` that is not TOML and has no
    /// `[tool.flask-harden]` section): the scan lists them as diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    exclude_set: Option<GlobSet>,
    include_set: Option<GlobSet>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

const KEYS: &[&str] = &[
    "disable",
    "severity",
    "exclude",
    "include",
    "production-config",
    "advisories",
    "test-command",
];

impl Config {
    /// The configuration of the repository at `root`: `flask-harden.toml`, else
    /// `[tool.flask-harden]` in `pyproject.toml`, else the defaults.
    ///
    /// `flask-harden.toml` is there only to configure flask-harden, so anything wrong with it
    /// (not a regular file, not UTF-8 text, not TOML) is an error. A `pyproject.toml` that
    /// cannot be read or parsed is an error only when it has a `[tool.flask-harden]` section;
    /// otherwise the defaults apply and the problem is noted as a diagnostic.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let own = root.join(FILE);
        if std::fs::symlink_metadata(&own).is_ok() {
            let text = read_config_file(&own).map_err(|message| ConfigError {
                file: FILE.to_string(),
                line: 1,
                message,
            })?;
            return Self::parse(FILE, &text, &[]);
        }
        let pyproject = root.join(PYPROJECT);
        if std::fs::symlink_metadata(&pyproject).is_err() {
            return Ok(Self::default());
        }
        let text = match read_config_file(&pyproject) {
            Ok(text) => text,
            Err(message) => {
                let configures_us = crate::project::read_limited(&pyproject)
                    .is_ok_and(|b| has_own_section(&String::from_utf8_lossy(&b)));
                if configures_us {
                    return Err(ConfigError {
                        file: PYPROJECT.to_string(),
                        line: 1,
                        message,
                    });
                }
                return Ok(Self::unreadable_pyproject(message));
            }
        };
        match Self::parse(PYPROJECT, &text, &["tool", "flask-harden"]) {
            Err(e) if !has_own_section(&text) => Ok(Self::unreadable_pyproject(e.to_string())),
            other => other,
        }
    }

    fn unreadable_pyproject(problem: String) -> Self {
        Self {
            diagnostics: vec![Diagnostic {
                path: PYPROJECT.to_string(),
                message: format!(
                    "{problem}; it has no [tool.flask-harden] section, so the default settings \
                     apply, and what it declares is not read"
                ),
            }],
            ..Self::default()
        }
    }

    /// Parse `text` (of `file`, as shown in errors); the settings live in the table at `path`
    /// (the root when empty).
    pub fn parse(file: &str, text: &str, path: &[&str]) -> Result<Self, ConfigError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let err = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            file: file.to_string(),
            line: span.map(|s| line_of(s.start)).unwrap_or(1),
            message,
        };
        let doc = toml_edit::Document::parse(text)
            .map_err(|e| err(e.span(), e.message().trim().to_string()))?;
        let mut table: &dyn TableLike = doc.as_table();
        for part in path {
            match table.get(part).and_then(Item::as_table_like) {
                Some(t) => table = t,
                None => return Ok(Self::default()),
            }
        }
        let mut config = Self::default();
        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(|k| k.span());
            let span = item.span().or(key_span.clone());
            let here = format!(
                "{file}:{}",
                span.clone().map(|s| line_of(s.start)).unwrap_or(1)
            );
            match key {
                "disable" | "exclude" | "include" => {
                    let list = strings(item)
                        .map_err(|(s, m)| err(s.or(span.clone()), format!("{key}: {m}")))?;
                    for (value, vspan) in &list {
                        let problem = match key {
                            "disable" if !known(value) => Some(format!(
                                "disable: {value:?} is no item or rule of the checklist"
                            )),
                            "exclude" | "include" => Glob::new(value)
                                .err()
                                .map(|e| format!("{key}: {value:?} is not a valid glob: {e}")),
                            _ => None,
                        };
                        if let Some(m) = problem {
                            return Err(err(vspan.clone().or(span.clone()), m));
                        }
                    }
                    let values: Vec<String> = list.into_iter().map(|(v, _)| v).collect();
                    match key {
                        "disable" => config.disable = values,
                        "exclude" => config.exclude = values,
                        _ => config.include = values,
                    }
                }
                "severity" => {
                    let Some(t) = item.as_table_like() else {
                        return Err(err(
                            span,
                            "severity must be a table of id = \"high\" | \"medium\" | \"low\""
                                .to_string(),
                        ));
                    };
                    for (id, v) in t.iter() {
                        let vspan = v.span().or(t.key(id).and_then(|k| k.span()));
                        if !known(id) {
                            return Err(err(
                                vspan,
                                format!("severity: {id:?} is no item or rule of the checklist"),
                            ));
                        }
                        let Some(sev) = v.as_str().and_then(Severity::parse) else {
                            return Err(err(
                                vspan,
                                format!(
                                    "severity of {id:?} must be \"high\", \"medium\" or \"low\""
                                ),
                            ));
                        };
                        config.severity.insert(id.to_string(), sev);
                        config.origins.insert(
                            format!("severity.{id}"),
                            format!("{file}:{}", vspan.map(|s| line_of(s.start)).unwrap_or(1)),
                        );
                    }
                }
                "production-config" => {
                    let value = item.as_str().filter(|s| {
                        !s.is_empty()
                            && s.split('.').all(|p| {
                                !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                            })
                    });
                    let Some(value) = value else {
                        return Err(err(span, "production-config must be a dotted name like \"config.ProductionConfig\"".to_string()));
                    };
                    config.production_config = Some(value.to_string());
                }
                "advisories" => {
                    config.advisories = match item.as_str() {
                        Some("offline") => Advisories::Offline,
                        Some("default") => Advisories::Default,
                        _ => {
                            return Err(err(
                                span,
                                "advisories must be \"offline\" or \"default\"".to_string(),
                            ));
                        }
                    };
                }
                "test-command" => {
                    let Some(value) = item.as_str() else {
                        return Err(err(
                            span,
                            "test-command must be a string like \"pytest -q tests\"".to_string(),
                        ));
                    };
                    if let Err(m) = crate::verify::command::split(value) {
                        return Err(err(span, format!("test-command {m}")));
                    }
                    config.test_command = Some(value.to_string());
                }
                other => {
                    return Err(err(
                        key_span.or(span),
                        format!("unknown key {other:?} (known: {})", KEYS.join(", ")),
                    ));
                }
            }
            if key != "severity" {
                config.origins.insert(key.to_string(), here);
            }
        }
        config.exclude_set = globs(&config.exclude);
        config.include_set = globs(&config.include);
        Ok(config)
    }

    /// Whether the scan reads the file at `rel`: not excluded, and included when `include` is
    /// set.
    pub fn includes_path(&self, rel: &str) -> bool {
        if self.exclude_set.as_ref().is_some_and(|g| g.is_match(rel)) {
            return false;
        }
        self.include_set.as_ref().is_none_or(|g| g.is_match(rel))
    }

    pub fn item_enabled(&self, item: &str) -> bool {
        !self.disable.iter().any(|d| d == item)
    }

    /// Drop the findings of disabled rules and apply severity overrides (a rule's override
    /// over its item's).
    pub fn adjust(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| !self.disable.iter().any(|d| *d == f.rule || d == f.item()));
        for f in findings {
            if let Some(s) = self
                .severity
                .get(&f.rule)
                .or_else(|| self.severity.get(f.item()))
            {
                f.severity = *s;
            }
        }
    }

    /// `key = value  # origin` lines: the effective configuration and where each value
    /// came from.
    pub fn describe(&self) -> String {
        let origin = |key: &str| {
            self.origins
                .get(key)
                .cloned()
                .unwrap_or_else(|| "default".to_string())
        };
        let list = |v: &[String]| {
            let quoted: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            out.push_str(&format!("{key} = {value}  # {}\n", origin(key)));
        };
        line("disable", list(&self.disable));
        line("exclude", list(&self.exclude));
        line("include", list(&self.include));
        line(
            "production-config",
            self.production_config
                .as_ref()
                .map_or("(chosen from the code)".to_string(), |p| format!("{p:?}")),
        );
        line(
            "advisories",
            match self.advisories {
                Advisories::Default => "\"default\"".to_string(),
                Advisories::Offline => "\"offline\"".to_string(),
            },
        );
        line(
            "test-command",
            self.test_command
                .as_ref()
                .map_or("(chosen from the layout)".to_string(), |c| format!("{c:?}")),
        );
        if let Ok(items) = checklist::checklist() {
            for item in items {
                for rule in &item.rules {
                    let (sev, key) = match self
                        .severity
                        .get(&rule.id)
                        .map(|s| (*s, format!("severity.{}", rule.id)))
                        .or_else(|| {
                            self.severity
                                .get(&item.id)
                                .map(|s| (*s, format!("severity.{}", item.id)))
                        }) {
                        Some(found) => found,
                        None => (rule.severity, String::new()),
                    };
                    let from = if key.is_empty() {
                        "default".to_string()
                    } else {
                        origin(&key)
                    };
                    out.push_str(&format!(
                        "severity.{} = {:?}  # {from}\n",
                        rule.id,
                        sev.as_str()
                    ));
                }
            }
        }
        out
    }
}

/// A configuration file's text: a regular file inside the size limit, UTF-8, no NUL byte.
fn read_config_file(path: &Path) -> Result<String, String> {
    let bytes = crate::project::read_limited(path).map_err(|e| e.to_string())?;
    if bytes.contains(&0) {
        return Err("a binary file, not TOML text".to_string());
    }
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8 text, so not TOML".to_string())
}

/// Whether a `pyproject.toml` text has a `[tool.flask-harden]` table (or subtable), read line
/// by line so that it works on text TOML cannot parse.
fn has_own_section(text: &str) -> bool {
    text.lines().any(|l| {
        let t: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        t.starts_with("[tool.flask-harden")
            || t.starts_with("[tool.\"flask-harden\"")
            || t.starts_with("[tool.'flask-harden'")
    })
}

fn known(id: &str) -> bool {
    checklist::item(id).is_some() || checklist::rule(id).is_some()
}

type Span = Option<std::ops::Range<usize>>;

/// An array of strings, each with its span.
fn strings(item: &Item) -> Result<Vec<(String, Span)>, (Span, String)> {
    let Some(array) = item.as_array() else {
        return Err((item.span(), "must be an array of strings".to_string()));
    };
    array
        .iter()
        .map(|v: &Value| match v.as_str() {
            Some(s) => Ok((s.to_string(), v.span())),
            None => Err((v.span(), "must be an array of strings".to_string())),
        })
        .collect()
}

fn globs(patterns: &[String]) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).ok()?);
    }
    b.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let text = "disable = [\"csrf\"]\n\n[severity]\n\"debug/app-run\" = \"urgent\"\n";
        let e = Config::parse(FILE, text, &[]).expect_err("bad severity");
        assert_eq!(e.line, 4, "{e}");
        let text =
            "[tool.black]\nx = 1\n\n[tool.flask-harden]\ndisable = [\"csrf\"]\nexclud = [\"x\"]\n";
        let e = Config::parse(PYPROJECT, text, &["tool", "flask-harden"]).expect_err("typo");
        assert_eq!(
            e.to_string(),
            "pyproject.toml:6: unknown key \"exclud\" (known: disable, severity, exclude, include, production-config, advisories, test-command)"
        );
        let c = Config::parse(
            PYPROJECT,
            "[project]\nname = \"x\"\n",
            &["tool", "flask-harden"],
        )
        .expect("no table: defaults");
        assert!(c.disable.is_empty());
    }

    #[test]
    fn test_command_is_one_command_line() {
        let c = Config::parse(FILE, "test-command = \"pytest -q tests\"\n", &[]).expect("valid");
        assert_eq!(c.test_command.as_deref(), Some("pytest -q tests"));
        assert!(
            c.describe()
                .contains("test-command = \"pytest -q tests\"  # flask-harden.toml:1\n"),
            "{}",
            c.describe()
        );
        let e = Config::parse(
            FILE,
            "disable = []\ntest-command = \"pytest && rm x\"\n",
            &[],
        )
        .expect_err("shell syntax");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("shell syntax"), "{e}");
        let e =
            Config::parse(FILE, "test-command = [\"pytest\"]\n", &[]).expect_err("not a string");
        assert!(e.message.contains("must be a string"), "{e}");
        assert!(Config::parse(FILE, "test-command = \"\"\n", &[]).is_err());
    }

    #[test]
    fn broken_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        // A pyproject.toml that is not TOML and does not configure flask-harden: defaults,
        // with a diagnostic.
        std::fs::write(p.join(PYPROJECT), "[project\nname = \n").expect("write");
        let c = Config::load(p).expect("defaults");
        assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
        assert!(c.diagnostics[0].message.contains("default settings"));
        // The same with a [tool.flask-harden] section: an error.
        std::fs::write(
            p.join(PYPROJECT),
            "[tool.flask-harden]\ndisable = [\n[project\n",
        )
        .expect("write");
        assert!(Config::load(p).is_err());
        // A flask-harden.toml that is binary, or not UTF-8: an error.
        for bytes in [
            &b"\x00\x01\x02disable = []"[..],
            b"disable = [\"\xff\xfe\"]\n",
        ] {
            std::fs::write(p.join(FILE), bytes).expect("write");
            let e = Config::load(p).expect_err("binary config");
            assert_eq!(e.file, FILE);
        }
    }
}
