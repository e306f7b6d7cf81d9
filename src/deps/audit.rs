//! Matching declared packages against advisories, and the findings and fix plans that follow.

use std::collections::{BTreeSet, HashSet};
use std::ops::{Bound, Range};

use pep440_rs::Version;
use version_ranges::Ranges;

use super::advisories::AdvisoryDb;
use super::{
    Constraint, Declared, DepFile, EditSite, FileRole, Format, LockTool, format_of, parse_file,
    requirements,
};
use crate::finding::{Finding, Severity};
use crate::project::{FileKind, ProjectFiles};

/// How to fix one finding, as data for the fix engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyFix {
    /// The file to change (relative, forward slashes).
    pub path: String,
    /// 1-based line of the declaration.
    pub line: usize,
    pub action: FixAction,
    /// What the user should know: the version chosen, hashes to regenerate, a lock to refresh.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixAction {
    /// Replace `byte_range` of the file with `replacement`: only the version text changes, so
    /// formatting, comments, extras and markers are kept.
    Edit {
        byte_range: Range<usize>,
        replacement: String,
    },
    /// A generated lock file: run this command rather than editing the file.
    Regenerate { command: String },
    /// No version fixes every advisory: nothing to apply.
    None,
}

/// A vulnerable declaration: the finding, the advisories behind it, the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vulnerable {
    pub finding: Finding,
    /// Normalised package name.
    pub package: String,
    /// Advisory ids (with aliases in the finding's message).
    pub advisories: Vec<String>,
    /// The lowest version no known advisory affects, above the declared one.
    pub fixed_version: Option<String>,
    pub fix: DependencyFix,
}

#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Dependency files read (including `-r` includes).
    pub files: Vec<DepFile>,
    pub vulnerable: Vec<Vulnerable>,
    /// `dependencies/unreadable` findings: lines naming a dependency that could not be read.
    pub unreadable: Vec<Finding>,
    /// `dependencies/incompatible-pins` findings: pins that cannot be installed together.
    pub incompatible: Vec<Finding>,
    /// Lines shown with the item: the data date, what could not be checked.
    pub notes: Vec<String>,
}

impl Audit {
    pub fn findings(&self) -> Vec<Finding> {
        self.vulnerable
            .iter()
            .map(|v| v.finding.clone())
            .chain(self.incompatible.iter().cloned())
            .chain(self.unreadable.iter().cloned())
            .collect()
    }

    /// The fix for a finding, matched by rule, path and line.
    pub fn fix_for(&self, finding: &Finding) -> Option<&DependencyFix> {
        self.vulnerable
            .iter()
            .find(|v| v.finding == *finding)
            .map(|v| &v.fix)
    }
}

/// Read every dependency file of the repository and match it against `db`.
pub fn audit(files: &ProjectFiles, db: &AdvisoryDb) -> Audit {
    let mut out = Audit::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let deps: Vec<_> = files.of_kind(FileKind::Dependency).collect();
    for f in &deps {
        seen.insert(f.rel.clone());
    }
    for f in deps {
        let text = match files.read_text(f) {
            Ok(t) => t,
            Err(e) => {
                out.unreadable
                    .push(unreadable_finding(&f.rel, 1, "", &e.to_string()));
                continue;
            }
        };
        if format_of(&f.rel) == Format::Requirements {
            let first = requirements::parse(&f.rel, &text);
            let (read, problems) = requirements::follow_includes(files, first, &mut seen);
            out.files.extend(read);
            for (path, line, message) in problems {
                out.notes.push(format!("{path}:{line}: {message}"));
            }
        } else {
            out.files.push(parse_file(&f.rel, &text));
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut uncheckable = Vec::new();
    for file in &out.files {
        let mut reported: HashSet<(String, String)> = HashSet::new();
        for declared in &file.declared {
            let Some(v) = judge(file, declared, db) else {
                continue;
            };
            let key = (declared.name.clone(), constraint_key(&declared.constraint));
            if reported.insert(key) {
                out.vulnerable.push(v);
            }
        }
        out.incompatible.extend(incompatible(file));
        for u in &file.unreadable {
            out.unreadable.push(unreadable_finding(&file.path, u.line, file.line_text(u.line), &format!(
                "this dependency could not be read ({}), so it was not checked against advisories; the other lines were",
                u.reason
            )));
        }
        for u in &file.uncheckable {
            uncheckable.push(format!("{}:{} ({})", file.path, u.line, u.reason));
        }
    }
    out.notes.insert(0, db.describe());
    if !uncheckable.is_empty() {
        out.notes.push(format!(
            "not checkable against advisories (no version): {}",
            uncheckable.join(", ")
        ));
    }
    out
}

fn constraint_key(c: &Constraint) -> String {
    match c {
        Constraint::Pin(v) => v.to_string(),
        Constraint::Range { text, .. } => text.clone(),
        Constraint::Any => String::new(),
    }
}

fn unreadable_finding(path: &str, line: usize, code: &str, message: &str) -> Finding {
    Finding {
        rule: "dependencies/unreadable".into(),
        path: path.to_string(),
        line,
        end_line: line,
        column: 1,
        end_column: code.chars().count() + 1,
        code: code.to_string(),
        message: message.to_string(),
        severity: Severity::Low,
    }
}

/// The advisories a declaration is exposed to, or `None` when it is safe (or unconstrained).
fn judge(file: &DepFile, declared: &Declared, db: &AdvisoryDb) -> Option<Vulnerable> {
    let advisories = db.for_package(&declared.name);
    if advisories.is_empty() {
        return None;
    }
    let (hits, floor, shown_version, is_range): (Vec<_>, Option<Version>, String, bool) =
        match &declared.constraint {
            Constraint::Any => return None,
            Constraint::Pin(v) => (
                advisories
                    .iter()
                    .filter(|a| a.affected.contains(v))
                    .collect(),
                Some(v.clone()),
                v.to_string(),
                false,
            ),
            Constraint::Range { allowed, text } => {
                let union = advisories
                    .iter()
                    .fold(Ranges::empty(), |acc, a| acc.union(&a.affected));
                if allowed.is_empty() || !allowed.subset_of(&union) {
                    return None;
                }
                let floor = match allowed.bounding_range() {
                    Some((Bound::Included(v) | Bound::Excluded(v), _)) => Some(v.clone()),
                    _ => None,
                };
                (
                    advisories
                        .iter()
                        .filter(|a| !a.affected.is_disjoint(allowed))
                        .collect(),
                    floor,
                    text.clone(),
                    true,
                )
            }
        };
    // The same vulnerability often has a PYSEC and a GHSA record that name each other.
    let mut hits = hits;
    let mut known: HashSet<&str> = HashSet::new();
    hits.retain(|a| {
        let adv = db.advisory(a);
        let mut names =
            std::iter::once(adv.id.as_str()).chain(adv.aliases.iter().map(String::as_str));
        let duplicate = names.clone().any(|n| known.contains(n));
        known.extend(&mut names);
        !duplicate
    });
    if hits.is_empty() {
        return None;
    }
    let severity = hits
        .iter()
        .map(|a| db.advisory(a).severity())
        .max()
        .unwrap_or(Severity::High);
    let labels: Vec<String> = hits.iter().map(|a| db.advisory(a).label()).collect();
    let ids: Vec<String> = hits.iter().map(|a| db.advisory(a).id.clone()).collect();
    let fixed = db.lowest_safe(&declared.name, floor.as_ref());
    let fixed_text = fixed.as_ref().map(ToString::to_string);
    let lock = match file.role {
        FileRole::Lock(tool) => Some(tool),
        FileRole::Manifest => None,
    };
    let rule = match (lock, is_range) {
        (Some(_), _) => "dependencies/vulnerable-lock",
        (None, true) => "dependencies/vulnerable-range",
        (None, false) => "dependencies/vulnerable-pin",
    };
    let name = &declared.display_name;
    let what = match (lock, is_range) {
        (Some(_), _) => format!("{name} {shown_version} (locked)"),
        (None, true) => format!("{name} {shown_version} allows only versions that"),
        (None, false) => format!("{name} {shown_version}"),
    };
    let verb = if is_range { "have" } else { "has" };
    let remedy = match &fixed_text {
        Some(f) => format!("upgrade to {f}, the lowest version that fixes them all"),
        None => "no released version fixes them all; consider replacing the package".into(),
    };
    let message = format!(
        "{what} {verb} known vulnerabilities: {}; {remedy}",
        labels.join(", ")
    );
    let fix = plan_fix(file, declared, lock, fixed_text.as_deref());
    let code = file.line_text(declared.line).to_string();
    let (column, end_column) = match edit_range(&declared.edit) {
        Some(r) => {
            let line_start = line_start(&file.text, declared.line);
            let col = file
                .text
                .get(line_start..r.start)
                .map(|s| s.chars().count() + 1)
                .unwrap_or(1);
            let end = file
                .text
                .get(line_start..r.end)
                .map(|s| s.chars().count() + 1);
            (
                col,
                end.filter(|e| *e > col && !file.text[r.clone()].contains('\n'))
                    .unwrap_or(code.chars().count() + 1),
            )
        }
        None => (1, code.chars().count() + 1),
    };
    Some(Vulnerable {
        finding: Finding {
            rule: rule.into(),
            path: file.path.clone(),
            line: declared.line,
            end_line: declared.line,
            column,
            end_column,
            code,
            message,
            severity,
        },
        package: declared.name.clone(),
        advisories: ids,
        fixed_version: fixed_text,
        fix,
    })
}

fn edit_range(edit: &Option<EditSite>) -> Option<Range<usize>> {
    match edit {
        Some(EditSite::PinVersion(r) | EditSite::Specifier(r)) => Some(r.clone()),
        Some(EditSite::TomlValue { range, .. }) => Some(range.clone()),
        None => None,
    }
}

fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map(|(i, _)| i + 1)
        .unwrap_or(text.len())
}

fn plan_fix(
    file: &DepFile,
    declared: &Declared,
    lock: Option<LockTool>,
    fixed: Option<&str>,
) -> DependencyFix {
    let base = |action, note: String| DependencyFix {
        path: file.path.clone(),
        line: declared.line,
        action,
        note,
    };
    let Some(fixed) = fixed else {
        return base(
            FixAction::None,
            "no released version fixes every known advisory".into(),
        );
    };
    if let Some(tool) = lock {
        return base(
            FixAction::Regenerate {
                command: tool.upgrade_command(&declared.name, fixed),
            },
            format!(
                "{} is generated: make sure its manifest allows {}>={fixed}, then regenerate it",
                file.path, declared.name
            ),
        );
    }
    let Some((byte_range, replacement)) = edit_for(declared, fixed) else {
        return base(
            FixAction::None,
            format!("raise {} to {fixed} by hand", declared.name),
        );
    };
    let mut note = format!("{} -> {fixed}", declared.name);
    if declared.hashed {
        note.push_str("; the --hash values on this line are for the old version: regenerate them");
    }
    if let Some(tool) = file.compiled_by {
        note.push_str(&format!(
            "; this file is generated by {tool}: prefer re-running it with `--upgrade-package {}=={fixed}`",
            declared.name
        ));
    }
    base(
        FixAction::Edit {
            byte_range,
            replacement,
        },
        note,
    )
}

/// The edit that moves a declaration to `version`: the bytes to replace and their new text
/// (a pin's version, or `>=VERSION` for a range); `None` when the file gives no place to edit.
pub fn edit_for(declared: &Declared, version: &str) -> Option<(Range<usize>, String)> {
    Some(match declared.edit.as_ref()? {
        EditSite::PinVersion(r) => (r.clone(), version.to_string()),
        EditSite::Specifier(r) => (r.clone(), format!(">={version}")),
        EditSite::TomlValue {
            range,
            prefix,
            suffix,
            specifier,
        } => {
            let new = if *specifier {
                format!("{prefix}>={version}{suffix}")
            } else {
                format!("{prefix}{version}{suffix}")
            };
            (
                range.clone(),
                toml_edit::Value::from(new).to_string().trim().to_string(),
            )
        }
    })
}

/// `dependencies/incompatible-pins`: pins of one file that cannot be installed together, by
/// what the Flask stack's releases need of each other ([`super::compat::NEEDS`]).
fn incompatible(file: &DepFile) -> Vec<Finding> {
    let pinned = |name: &str| {
        file.declared.iter().find_map(|d| match &d.constraint {
            Constraint::Pin(v) if d.name == name => Some((d, v)),
            _ => None,
        })
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for need in super::compat::NEEDS {
        let (Some((when, wv)), Some((dep, dv))) = (pinned(need.when), pinned(need.needs)) else {
            continue;
        };
        if !need.applies(wv) || *dv >= need.floor() || !seen.insert(dep.line) {
            continue;
        }
        let why = need.why.map(|w| format!(" ({w})")).unwrap_or_default();
        let code = file.line_text(dep.line).to_string();
        out.push(Finding {
            rule: "dependencies/incompatible-pins".into(),
            path: file.path.clone(),
            line: dep.line,
            end_line: dep.line,
            column: 1,
            end_column: code.chars().count() + 1,
            message: format!(
                "{} {dv} cannot be installed with {} {wv}, which needs {}>={}{why}; the set does not install as pinned",
                dep.display_name, when.display_name, need.needs, need.at_least
            ),
            code,
            severity: Severity::Medium,
        });
    }
    out
}

/// The normalised names of every package the repository's dependency files declare.
pub fn packages_in(files: &ProjectFiles) -> Vec<String> {
    let audit = audit(files, &AdvisoryDb::default());
    let names: BTreeSet<String> = audit
        .files
        .iter()
        .flat_map(|f| f.declared.iter().map(|d| d.name.clone()))
        .collect();
    names.into_iter().collect()
}
