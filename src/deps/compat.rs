//! What packages of the Flask stack need of each other, as data: the floors their metadata
//! declares (so a set can be planned and checked offline), the breaks their metadata does not
//! declare, and the API removals a raise can hit in the project's code.
//!
//! Sources: each release's `requires_dist` on PyPI and the projects' changelogs.

use std::str::FromStr;

use pep440_rs::Version;

/// `when` at `from` or later needs `needs` at `at_least` or later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub when: &'static str,
    pub from: &'static str,
    pub needs: &'static str,
    pub at_least: &'static str,
    /// Why, when the metadata does not say it (an import the older version relies on).
    pub why: Option<&'static str>,
}

/// A need the releases' metadata declares.
const fn meta(
    when: &'static str,
    from: &'static str,
    needs: &'static str,
    at_least: &'static str,
) -> Needs {
    breaks_opt(when, from, needs, at_least, None)
}

/// A need the metadata does not declare: `why` says what breaks.
const fn breaks(
    when: &'static str,
    from: &'static str,
    needs: &'static str,
    at_least: &'static str,
    why: &'static str,
) -> Needs {
    breaks_opt(when, from, needs, at_least, Some(why))
}

const fn breaks_opt(
    when: &'static str,
    from: &'static str,
    needs: &'static str,
    at_least: &'static str,
    why: Option<&'static str>,
) -> Needs {
    Needs {
        when,
        from,
        needs,
        at_least,
        why,
    }
}

pub const NEEDS: &[Needs] = &[
    // Declared in the releases' metadata.
    meta("flask", "2.0", "werkzeug", "2.0"),
    meta("flask", "2.0", "jinja2", "3.0"),
    meta("flask", "2.0", "itsdangerous", "2.0"),
    meta("flask", "2.0", "click", "7.1.2"),
    meta("flask", "2.1", "click", "8.0"),
    meta("flask", "2.2", "werkzeug", "2.2.2"),
    meta("flask", "2.2", "jinja2", "3.0"),
    meta("flask", "2.2", "itsdangerous", "2.0"),
    meta("flask", "2.2", "click", "8.0"),
    meta("flask", "2.3", "werkzeug", "2.3.7"),
    meta("flask", "2.3", "jinja2", "3.1.2"),
    meta("flask", "2.3", "itsdangerous", "2.1.2"),
    meta("flask", "2.3", "click", "8.1.3"),
    meta("flask", "2.3", "blinker", "1.6.2"),
    meta("flask", "3.0", "werkzeug", "3.0"),
    meta("flask", "3.1", "werkzeug", "3.1"),
    meta("flask", "3.1", "itsdangerous", "2.2"),
    meta("flask", "3.1", "blinker", "1.9"),
    meta("flask", "3.1", "markupsafe", "2.1.1"),
    meta("werkzeug", "2.3.8", "markupsafe", "2.1.1"),
    meta("jinja2", "3.0", "markupsafe", "2.0"),
    meta("flask-login", "0.6.3", "werkzeug", "1.0.1"),
    // Not in the metadata: removals that older releases of the other package rely on.
    breaks(
        "werkzeug",
        "2.1",
        "flask-login",
        "0.6.0",
        "Werkzeug 2.1 removed werkzeug.security.safe_str_cmp, which Flask-Login < 0.6 imports",
    ),
    breaks(
        "flask",
        "3.0",
        "flask-login",
        "0.6.3",
        "Flask-Login < 0.6.3 imports _request_ctx_stack, which Flask 3.0 removed",
    ),
    breaks(
        "werkzeug",
        "3.0",
        "flask",
        "3.0",
        "Flask < 3.0 imports werkzeug.urls functions that Werkzeug 3.0 removed",
    ),
    breaks(
        "werkzeug",
        "3.0",
        "flask-wtf",
        "1.2.0",
        "Flask-WTF < 1.2 imports werkzeug.urls.url_encode, which Werkzeug 3.0 removed",
    ),
    breaks(
        "jinja2",
        "3.1",
        "flask",
        "2.0",
        "Flask < 2.0 imports jinja2.Markup and jinja2.escape, which Jinja2 3.1 removed",
    ),
    breaks(
        "itsdangerous",
        "2.1",
        "flask",
        "2.0",
        "Flask < 2.0 imports itsdangerous.json, which itsdangerous 2.1 removed",
    ),
    breaks(
        "markupsafe",
        "2.1",
        "jinja2",
        "3.0",
        "Jinja2 < 3.0 imports markupsafe.soft_unicode, which MarkupSafe 2.1 removed",
    ),
];

/// The Python versions the Flask stack's releases run on, for when the package index cannot
/// be asked (offline): `(package, first release, Requires-Python)`, each row holding from its
/// release until the next row of the package. From the releases' `requires_python` on PyPI
/// (final releases, as the index listed them on 2026-12-02).
pub const REQUIRES_PYTHON: &[(&str, &str, &str)] = &[
    ("click", "8.0.0", ">=3.6"),
    ("click", "8.1.0", ">=3.7"),
    ("click", "8.2.0", ">=3.10"),
    ("flask", "2.0.0", ">=3.6"),
    ("flask", "2.1.0", ">=3.7"),
    ("flask", "2.3.0", ">=3.8"),
    ("flask", "3.1.0", ">=3.9"),
    ("flask-login", "0.6.0", ">=3.7"),
    ("flask-wtf", "1.0.0", ">=3.6"),
    ("flask-wtf", "1.1.0", ">=3.7"),
    ("flask-wtf", "1.1.2", ">=3.8"),
    ("flask-wtf", "1.2.2", ">=3.9"),
    ("flask-wtf", "1.3.0", ">=3.10"),
    ("itsdangerous", "2.0.0", ">=3.6"),
    ("itsdangerous", "2.1.0", ">=3.7"),
    ("itsdangerous", "2.2.0", ">=3.8"),
    ("jinja2", "3.0.0", ">=3.6"),
    ("jinja2", "3.1.0", ">=3.7"),
    ("markupsafe", "2.0.0", ">=3.6"),
    ("markupsafe", "2.1.0", ">=3.7"),
    ("markupsafe", "3.0.0", ">=3.9"),
    ("pyyaml", "6.0", ">=3.6"),
    ("pyyaml", "6.0.2", ">=3.8"),
    ("pyyaml", "6.0.4", ">=3.10"),
    ("werkzeug", "2.0.0", ">=3.6"),
    ("werkzeug", "2.1.0", ">=3.7"),
    ("werkzeug", "2.3.0", ">=3.8"),
    ("werkzeug", "3.1.0", ">=3.9"),
    ("wtforms", "3.0.0", ">=3.6"),
    ("wtforms", "3.0.1", ">=3.7"),
    ("wtforms", "3.1.0", ">=3.8"),
    ("wtforms", "3.2.0", ">=3.9"),
    ("wtforms", "3.2.2", ">=3.10"),
    ("wtforms", "3.3.0", ">=3.11"),
];

/// The Requires-Python of `package` at `version` from [`REQUIRES_PYTHON`]: `None` when the
/// table does not know the package or the version comes before its first row.
pub fn requires_python(package: &str, version: &Version) -> Option<&'static str> {
    REQUIRES_PYTHON
        .iter()
        .filter(|(name, from, _)| *name == package && parse(from) <= *version)
        .max_by_key(|(_, from, _)| parse(from))
        .map(|(_, _, spec)| *spec)
}

impl Needs {
    pub fn from_version(&self) -> Version {
        parse(self.from)
    }

    pub fn floor(&self) -> Version {
        parse(self.at_least)
    }

    /// Whether `version` of [`Needs::when`] brings this need.
    pub fn applies(&self, version: &Version) -> bool {
        *version >= self.from_version()
    }
}

fn parse(s: &str) -> Version {
    Version::from_str(s).unwrap_or_else(|_| Version::new([0]))
}

/// An API a release removed, which code written for the older release may still use.
#[derive(Debug, Clone, Copy)]
pub struct Removal {
    pub package: &'static str,
    /// The first release without it.
    pub removed_in: &'static str,
    /// A regular expression over one line of Python.
    pub pattern: &'static str,
    pub what: &'static str,
}

pub const REMOVALS: &[Removal] = &[
    Removal {
        package: "werkzeug",
        removed_in: "2.1",
        pattern: r"\bsafe_str_cmp\b",
        what: "Werkzeug 2.1 removed werkzeug.security.safe_str_cmp (use hmac.compare_digest)",
    },
    Removal {
        package: "flask",
        removed_in: "2.0",
        pattern: r"\bflask\._compat\b|\bflask_script\b",
        what: "Flask 2.0 removed flask._compat, so Flask-Script stops working",
    },
    Removal {
        package: "flask",
        removed_in: "2.3",
        pattern: r"\bbefore_first_request\b",
        what: "Flask 2.3 removed before_first_request (run the setup in the app factory)",
    },
    Removal {
        package: "flask",
        removed_in: "2.3",
        pattern: r"\bflask\.json\.JSONEncoder\b|from\s+flask\.json\s+import\s+.*\bJSONEncoder\b",
        what: "Flask 2.3 removed flask.json.JSONEncoder (use app.json, a JSONProvider)",
    },
    Removal {
        package: "flask",
        removed_in: "3.0",
        pattern: r"\bflask\.(Markup|escape)\b|from\s+flask\s+import\s+.*\b(Markup|escape)\b",
        what: "Flask 3.0 removed flask.Markup and flask.escape (import them from markupsafe)",
    },
    Removal {
        package: "pyjwt",
        removed_in: "2.0",
        pattern: r"\bjwt\.decode\(.*\bverify\s*=",
        what: "PyJWT 2.0 replaced jwt.decode's verify=False with options={\"verify_signature\": False}",
    },
    Removal {
        package: "pyjwt",
        removed_in: "2.0",
        pattern: r"\bjwt\.decode\((?:[^a]|a[^l]|al[^g])*$",
        what: "PyJWT 2.0 makes jwt.decode require algorithms=[...]",
    },
];

/// One place in the project's code that a raise breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub path: String,
    pub line: usize,
    pub what: &'static str,
}

/// The removals between `old` (exclusive) and `new` (inclusive) of `package` that the project's
/// Python files use. `files` gives (path, text); comments are skipped.
pub fn breaks_in<'a>(
    package: &str,
    old: &Version,
    new: &Version,
    files: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<Break> {
    let removals: Vec<(&Removal, regex::Regex)> = REMOVALS
        .iter()
        .filter(|r| r.package == package)
        .filter(|r| {
            let at = parse(r.removed_in);
            *old < at && at <= *new
        })
        .filter_map(|r| regex::Regex::new(r.pattern).ok().map(|re| (r, re)))
        .collect();
    if removals.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (path, text) in files {
        for (i, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or("");
            for (r, re) in &removals {
                if re.is_match(code) && !calls_with_algorithms(r, text, i) {
                    out.push(Break {
                        path: path.to_string(),
                        line: i + 1,
                        what: r.what,
                    });
                }
            }
        }
    }
    out
}

/// A `jwt.decode(` whose arguments go on over the next lines may name `algorithms=` there.
fn calls_with_algorithms(r: &Removal, text: &str, line: usize) -> bool {
    if !r.what.contains("algorithms=") {
        return false;
    }
    text.lines()
        .skip(line)
        .take(6)
        .collect::<Vec<_>>()
        .join("\n")
        .split_once("jwt.decode(")
        .map(|(_, rest)| {
            let mut depth = 1usize;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            rest[..end].contains("algorithms")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse(s)
    }

    #[test]
    fn the_offline_table_says_which_python_a_release_needs() {
        assert_eq!(requires_python("flask", &v("3.1.3")), Some(">=3.9"));
        assert_eq!(requires_python("flask", &v("3.0.3")), Some(">=3.8"));
        assert_eq!(requires_python("flask", &v("1.1.4")), None);
        assert_eq!(requires_python("requests", &v("2.32.0")), None);
        for (name, from, spec) in REQUIRES_PYTHON {
            assert_eq!(requires_python(name, &parse(from)), Some(*spec));
        }
    }

    #[test]
    fn every_version_in_the_tables_parses() {
        for n in NEEDS {
            assert!(Version::from_str(n.from).is_ok() && Version::from_str(n.at_least).is_ok());
        }
        for r in REMOVALS {
            assert!(regex::Regex::new(r.pattern).is_ok(), "{}", r.pattern);
        }
    }

    #[test]
    fn removals_are_found_only_when_the_raise_crosses_them() {
        let code = "from werkzeug.security import safe_str_cmp\n# safe_str_cmp in a comment\nfrom flask import Flask, Markup\ndata = jwt.decode(token, verify=False)\nok = jwt.decode(\n    token, key, algorithms=[\"HS256\"]\n)\nbad = jwt.decode(token, key)\n";
        let files = || [("app.py", code)].into_iter();
        let found = breaks_in("werkzeug", &v("1.0.1"), &v("3.1.6"), files());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 1);
        assert!(breaks_in("werkzeug", &v("2.2.0"), &v("3.1.6"), files()).is_empty());
        let flask = breaks_in("flask", &v("2.2.5"), &v("3.1.3"), files());
        assert_eq!(flask.iter().map(|b| b.line).collect::<Vec<_>>(), [3]);
        let jwt = breaks_in("pyjwt", &v("1.7.1"), &v("2.10.1"), files());
        let lines: Vec<usize> = jwt.iter().map(|b| b.line).collect();
        // verify=False (and no algorithms) on line 4; line 5 names algorithms below; line 8 not.
        assert!(
            lines.contains(&4) && lines.contains(&8) && !lines.contains(&5),
            "{jwt:?}"
        );
    }
}
