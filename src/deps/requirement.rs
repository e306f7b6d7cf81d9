//! One requirement string: PEP 508 (requirements files, PEP 621, PEP 735) and Poetry's
//! constraint syntax, turned into a name, a [`Constraint`] and the byte range of the version
//! text, so the fix can rewrite it in place.

use std::ops::Range;
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};
use version_ranges::Ranges;

use super::{Constraint, normalize_name};

/// A requirement string, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Package {
        name: String,
        display_name: String,
        constraint: Constraint,
        /// Byte range of the pinned version token, relative to the input.
        pin_range: Option<Range<usize>>,
        /// Byte range of the whole specifier, relative to the input.
        spec_range: Option<Range<usize>>,
    },
    /// A URL or path requirement (`name @ https://…`): no version to check.
    Uncheckable { reason: String },
}

/// The constraint a PEP 440 specifier set means: one version when it is a single `==`/`===`
/// without a wildcard, a range otherwise.
pub fn constraint_of(specifiers: &VersionSpecifiers, text: &str) -> Constraint {
    if specifiers.is_empty() {
        return Constraint::Any;
    }
    if let [only] = &specifiers[..]
        && matches!(only.operator(), Operator::Equal | Operator::ExactEqual)
    {
        return Constraint::Pin(only.version().clone());
    }
    Constraint::Range {
        allowed: Ranges::from(specifiers.clone()),
        text: text.trim().to_string(),
    }
}

/// Parse a PEP 508 requirement string.
pub fn parse_pep508(input: &str) -> Result<Parsed, String> {
    let req: Requirement = Requirement::from_str(input).map_err(|e| first_line(&e.to_string()))?;
    let display_name = written_name(input);
    let name = normalize_name(req.name.as_ref());
    let specifiers = match &req.version_or_url {
        Some(VersionOrUrl::Url(_)) => {
            return Ok(Parsed::Uncheckable {
                reason: "a direct URL reference".to_string(),
            });
        }
        Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
        None => VersionSpecifiers::empty(),
    };
    let spec_range = specifier_range(input, display_name.len());
    let spec_text = spec_range.clone().map(|r| &input[r]).unwrap_or("");
    let constraint = constraint_of(&specifiers, spec_text);
    let pin_range = match (&constraint, &spec_range) {
        (Constraint::Pin(_), Some(r)) => pin_token(input, r.clone()),
        _ => None,
    };
    Ok(Parsed::Package {
        name,
        display_name,
        constraint,
        pin_range,
        spec_range: spec_range.filter(|r| !r.is_empty()),
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

/// The package name as written at the start of a requirement.
fn written_name(input: &str) -> String {
    input
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

/// The byte range of the version specifier: after the name and extras, before the markers.
fn specifier_range(input: &str, name_len: usize) -> Option<Range<usize>> {
    let lead = input.len() - input.trim_start().len();
    let mut i = lead + name_len;
    let bytes = input.as_bytes();
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'[' {
        i += input[i..].find(']')? + 1;
    }
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    let end = input[i..].find(';').map(|e| e + i).unwrap_or(input.len());
    let mut start = i;
    let mut stop = end;
    let spec = &input[start..stop];
    // `name (>=1.0)`: the parentheses stay.
    if spec.trim_start().starts_with('(') {
        start += spec.find('(')? + 1;
        stop = start + input[start..stop].find(')')?;
    }
    let trimmed = input[start..stop].trim_end();
    stop = start + trimmed.len();
    let inner = input[start..stop].trim_start();
    start = stop - inner.len();
    Some(start..stop)
}

/// The version token after `==` / `===` inside a specifier range.
fn pin_token(input: &str, spec: Range<usize>) -> Option<Range<usize>> {
    let text = &input[spec.clone()];
    let op = text.find("==")?;
    let mut i = op + 2;
    let bytes = text.as_bytes();
    if i < bytes.len() && bytes[i] == b'=' {
        i += 1;
    }
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    let len = text[i..]
        .find(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ')')
        .unwrap_or(text.len() - i);
    (len > 0).then(|| spec.start + i..spec.start + i + len)
}

/// Poetry's constraint syntax (`^1.2`, `~1.2.3`, `1.2.3`, `>=1,<2`, `1.2.*`, `*`, `a || b`) as a
/// [`Constraint`]. A bare version is an exact pin, as Poetry reads it.
pub fn parse_poetry(text: &str) -> Result<Constraint, String> {
    let t = text.trim();
    if t.is_empty() || t == "*" {
        return Ok(Constraint::Any);
    }
    let mut union = Ranges::empty();
    for alt in t.split("||") {
        let mut allowed = Ranges::full();
        let terms = poetry_terms(alt);
        if terms.is_empty() {
            return Err(format!("empty constraint in {t:?}"));
        }
        for term in terms {
            allowed = allowed.intersection(&poetry_term(&term)?);
        }
        union = union.union(&allowed);
    }
    if let Some(v) = union.as_singleton() {
        return Ok(Constraint::Pin(v.clone()));
    }
    Ok(Constraint::Range {
        allowed: union,
        text: t.to_string(),
    })
}

/// Split `>=1.2, <2.0` or `>=1.2 <2.0` into terms, keeping `>= 1.2` together.
fn poetry_terms(alt: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for piece in alt.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let p = piece.trim();
        match terms.last_mut() {
            Some(last) if last.chars().all(|c| "<>=!~^".contains(c)) => last.push_str(p),
            _ => terms.push(p.to_string()),
        }
    }
    terms
}

fn poetry_term(term: &str) -> Result<Ranges<Version>, String> {
    let parse = |v: &str| Version::from_str(v.trim()).map_err(|e| format!("{v:?}: {e}"));
    if term == "*" {
        return Ok(Ranges::full());
    }
    if let Some(v) = term.strip_prefix('^') {
        let low = parse(v)?;
        let release = low.release();
        // The first non-zero part may not change (all parts given as zero: the last one).
        let given = v.trim().split('.').count().min(release.len()).max(1);
        let idx = release[..given]
            .iter()
            .position(|p| *p != 0)
            .unwrap_or(given - 1);
        let mut upper: Vec<u64> = release[..=idx].to_vec();
        upper[idx] += 1;
        return Ok(Ranges::from_range_bounds(low..Version::new(upper)));
    }
    if let Some(v) = term.strip_prefix('~')
        && !v.starts_with('=')
    {
        let low = parse(v)?;
        let release = low.release();
        let given = v.trim().split('.').count().min(release.len()).max(1);
        let mut upper: Vec<u64> = if given == 1 {
            vec![release[0] + 1]
        } else {
            release[..2].to_vec()
        };
        if given > 1 {
            upper[1] += 1;
        }
        return Ok(Ranges::from_range_bounds(low..Version::new(upper)));
    }
    let spec_text = if term.starts_with(|c: char| c.is_ascii_digit()) {
        format!("=={term}")
    } else if let Some(rest) = term.strip_prefix('=')
        && !rest.starts_with('=')
    {
        format!("=={rest}")
    } else {
        term.to_string()
    };
    let spec = VersionSpecifier::from_str(&spec_text).map_err(|e| first_line(&e.to_string()))?;
    Ok(Ranges::from(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    #[test]
    fn pins_carry_the_range_of_their_version() {
        let input = "Flask_WTF [email] == 0.14.2 ; python_version >= '3.6'";
        let Ok(Parsed::Package {
            name,
            display_name,
            constraint,
            pin_range,
            ..
        }) = parse_pep508(input)
        else {
            panic!("parses");
        };
        assert_eq!(name, "flask-wtf");
        assert_eq!(display_name, "Flask_WTF");
        assert_eq!(constraint, Constraint::Pin(v("0.14.2")));
        assert_eq!(&input[pin_range.unwrap()], "0.14.2");
    }

    #[test]
    fn ranges_carry_the_whole_specifier() {
        let input = "flask (>=0.10, <1.0)";
        let Ok(Parsed::Package {
            constraint,
            spec_range,
            ..
        }) = parse_pep508(input)
        else {
            panic!("parses");
        };
        assert_eq!(&input[spec_range.unwrap()], ">=0.10, <1.0");
        let Constraint::Range { allowed, .. } = constraint else {
            panic!("a range");
        };
        assert!(allowed.contains(&v("0.12.2")));
        assert!(!allowed.contains(&v("1.0")));
        // PEP 440: `<1.0` excludes 1.0's pre-releases.
        assert!(!allowed.contains(&v("1.0rc1")));
    }

    #[test]
    fn wildcards_and_urls() {
        assert!(matches!(
            parse_pep508("flask==1.0.*"),
            Ok(Parsed::Package {
                constraint: Constraint::Range { .. },
                ..
            })
        ));
        assert!(matches!(
            parse_pep508("flask @ https://example.com/flask-1.0.tar.gz"),
            Ok(Parsed::Uncheckable { .. })
        ));
        assert!(parse_pep508("flask ==== 1").is_err());
    }

    #[test]
    fn poetry_constraints() {
        assert_eq!(parse_poetry("0.12.2"), Ok(Constraint::Pin(v("0.12.2"))));
        assert_eq!(parse_poetry("==0.12.2"), Ok(Constraint::Pin(v("0.12.2"))));
        assert_eq!(parse_poetry("*"), Ok(Constraint::Any));
        let range = |s: &str| match parse_poetry(s) {
            Ok(Constraint::Range { allowed, .. }) => allowed,
            other => panic!("{s}: {other:?}"),
        };
        let caret = range("^1.2.3");
        assert!(
            caret.contains(&v("1.9")) && !caret.contains(&v("2.0")) && !caret.contains(&v("1.2.2"))
        );
        let caret0 = range("^0.2.3");
        assert!(caret0.contains(&v("0.2.9")) && !caret0.contains(&v("0.3.0")));
        let tilde = range("~1.2.3");
        assert!(tilde.contains(&v("1.2.9")) && !tilde.contains(&v("1.3")));
        let both = range(">=1.0 <2.0 || >=3.0");
        assert!(both.contains(&v("1.5")) && !both.contains(&v("2.5")) && both.contains(&v("3.1")));
        assert!(parse_poetry("^banana").is_err());
    }
}
