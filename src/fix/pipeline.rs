//! From a snapshot to verified, applied fixes, one checklist item after the other.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};
use similar::TextDiff;

use super::apply::{ApplyStatus, Overlay};
use super::items;
use super::plan::{Applicability, FixPlan};
use super::snapshot::{SnapFile, Snapshot};
use super::subset::changes_between;
use super::templates;
use super::verify::{PyCompiler, Rejection, Rescanner, check_files, findings, remaining};
use super::{Generated, generator, with_context};
use crate::checks::CHECKS;
use crate::finding::Finding;

/// Rounds of regenerate-and-apply per item before giving up on conflicting plans.
const MAX_ROUNDS: usize = 8;

#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Only these checklist items (all when empty).
    pub items: Vec<String>,
    /// Also apply plans marked [`Applicability::Unsafe`].
    pub include_unsafe: bool,
    pub compiler: PyCompiler,
    /// Parsed files shared with the scan that found the findings and between the rescans.
    pub parsed: crate::scan::ParseCache,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            include_unsafe: false,
            compiler: PyCompiler::detect(),
            parsed: crate::scan::ParseCache::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("unknown checklist item {0:?} (known: {1})")]
    UnknownItem(String, String),
    #[error("could not prepare a temporary copy of the repository: {0}")]
    Workspace(#[from] std::io::Error),
    #[error("{0}")]
    Scan(String),
}

/// A fix that is not offered, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub title: Option<String>,
    pub findings: Vec<Finding>,
    pub reason: String,
}

/// One file a fix changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// `None` for a new file.
    pub before: Option<SnapFile>,
    pub after: SnapFile,
}

impl FileChange {
    /// A unified diff with `a/` and `b/` paths, as git prints them.
    pub fn unified_diff(&self) -> String {
        let before = self.before.as_ref().map_or("", |f| f.text.as_str());
        let old = if self.before.is_some() {
            format!("a/{}", self.path)
        } else {
            "/dev/null".to_string()
        };
        let diff = TextDiff::from_lines(before, self.after.text.as_str());
        diff.unified_diff()
            .context_radius(3)
            .header(&old, &format!("b/{}", self.path))
            .to_string()
    }
}

/// What happened to one checklist item.
#[derive(Debug, Clone, Default)]
pub struct ItemFix {
    pub item: String,
    /// Verified plans, applied in this order.
    pub applied: Vec<FixPlan>,
    /// Verified plans held back because they are unsafe and `include_unsafe` is off.
    pub needs_unsafe: Vec<FixPlan>,
    pub rejected: Vec<Rejected>,
    /// Findings of rules that have no generator.
    pub without_fix: Vec<Finding>,
    /// The item's file changes, relative to the previous item's result.
    pub changes: Vec<FileChange>,
    /// The item's findings a rescan still reports after its fixes.
    pub remaining: Vec<Finding>,
}

impl ItemFix {
    /// `harden(<item>): <summary>`, with a body listing the fixes and the findings fixed.
    pub fn commit_message(&self) -> String {
        let mut body = String::new();
        for plan in &self.applied {
            body.push_str(&format!("- {}", plan.title));
            if plan.applicability == Applicability::Unsafe {
                body.push_str(" (changes behaviour: review)");
            }
            body.push('\n');
            for f in &plan.fixes {
                let code = f.code.lines().next().unwrap_or("").trim();
                body.push_str(&format!(
                    "  fixes {} at {}:{}: {code}\n",
                    f.rule, f.path, f.line
                ));
            }
        }
        let summary = items::summary(&self.item, &self.applied);
        let message = templates::render(
            "commit_message.txt",
            &[
                ("item", &self.item),
                ("summary", &summary),
                ("body", body.trim_end()),
            ],
        )
        .unwrap_or_else(|_| format!("harden({}): {summary}\n\n{body}", self.item));
        format!("{}\n", message.trim_end())
    }
}

/// Fix availability by finding ([`offer_key`]).
pub type FixOffers = BTreeMap<String, FixAvailability>;

/// The key of one finding in [`FixOffers`]: its fingerprint (which survives edits elsewhere)
/// and its position, so that two findings on identical lines (two views reading
/// `request.get_json()`) keep their own fixes.
pub fn offer_key(f: &Finding) -> String {
    format!("{}@{}:{}", f.fingerprint(), f.line, f.column)
}

/// Whether a finding has a fix, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixAvailability {
    pub title: String,
    pub applicability: Applicability,
}

impl FixAvailability {
    /// The `fix` field of a finding in the JSON report.
    pub fn to_json(availability: Option<&FixAvailability>) -> Value {
        match availability {
            None => json!({"available": false}),
            Some(a) => json!({
                "available": true,
                "title": a.title,
                "applicability": a.applicability.as_str(),
            }),
        }
    }
}

/// The outcome of [`plan_fixes`].
#[derive(Debug, Clone)]
pub struct FixRun {
    pub base: Snapshot,
    /// `base` with every item's applied fixes.
    pub result: Snapshot,
    pub items: Vec<ItemFix>,
    /// The findings of the scan of `base`.
    pub findings_before: Vec<Finding>,
}

impl FixRun {
    /// Findings (by [`offer_key`], with the lines of the scan of `base`, as `check` reports
    /// them) with a verified fix, applied or held back as unsafe.
    pub fn availability(&self) -> FixOffers {
        let mut out = BTreeMap::new();
        for item in &self.items {
            for plan in item.applied.iter().chain(&item.needs_unsafe) {
                for f in &plan.fixes {
                    out.entry(offer_key(f)).or_insert_with(|| FixAvailability {
                        title: plan.title.clone(),
                        applicability: plan.applicability,
                    });
                }
            }
        }
        out
    }

    /// Every file change from `base` to `result`.
    pub fn changes(&self) -> Vec<FileChange> {
        changes_between(&self.base, &self.result)
    }

    pub fn is_empty(&self) -> bool {
        self.items.iter().all(|i| i.changes.is_empty())
    }
}

/// Scan `base`, generate fixes for the selected items' findings, verify them and apply them in
/// turn. Nothing is written outside a temporary folder.
pub fn plan_fixes(base: Snapshot, options: &FixOptions) -> Result<FixRun, FixError> {
    // Fix generators walk syntax trees too: on the scan's large stacks.
    crate::scan::on_large_stack(|| plan_fixes_here(base, options))
}

fn plan_fixes_here(base: Snapshot, options: &FixOptions) -> Result<FixRun, FixError> {
    for wanted in &options.items {
        if !CHECKS.iter().any(|(id, _)| id == wanted) {
            let known: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
            return Err(FixError::UnknownItem(wanted.clone(), known.join(", ")));
        }
    }
    let selected: Vec<String> = CHECKS
        .iter()
        .map(|(id, _)| id.to_string())
        .filter(|id| options.items.is_empty() || options.items.contains(id))
        .collect();
    let trace = crate::scan::Trace::new();
    let rescan = Rescanner::new(options.parsed.clone());
    let before = rescan
        .scan(&base, &selected)
        .map_err(|e| FixError::Scan(e.to_string()))?;
    let findings_before: Vec<Finding> = findings(&before).into_iter().cloned().collect();

    let mut current = base.clone();
    let mut items = Vec::new();
    let mut ahead: Option<Vec<Finding>> = None;
    for (i, item) in selected.iter().enumerate() {
        // Until an item changes a file, the scan of `base` holds each item's findings; after
        // that, the last scan of the previous item's tree looked ahead at this item.
        let known = ahead.take().or_else(|| {
            (current == base).then(|| {
                findings_before
                    .iter()
                    .filter(|f| f.item() == item)
                    .cloned()
                    .collect()
            })
        });
        let next_item = selected.get(i + 1).map(String::as_str);
        let (mut fix, next, next_found) =
            fix_item(item, next_item, &current, known, &rescan, options)?;
        ahead = next_found;
        trace.mark(&format!("plan {item}"));
        for r in &mut fix.rejected {
            r.reason = base_lines(&r.reason, &base, &current);
        }
        current = next;
        items.push(fix);
    }
    // Each item was scanned after the previous items' fixes, which can move lines: what the
    // user reads (availability, "not offered", commit messages) names the findings as the
    // scan of `base` does, like `check`.
    for item in &mut items {
        relocate(item, &findings_before);
        // A finding a fix changed but did not fix (a pin raised for another package's sake)
        // is a new finding to the next round, and may be declined again for the same reason.
        let mut seen = HashSet::new();
        item.rejected.retain(|r| {
            let keys: Vec<(String, String, usize)> = r
                .findings
                .iter()
                .map(|f| (f.rule.clone(), f.path.clone(), f.line))
                .collect();
            seen.insert((r.title.clone(), r.reason.clone(), keys))
        });
    }
    Ok(FixRun {
        base,
        result: current,
        items,
        findings_before,
    })
}

/// Plan and verify the fixes of `item` on `start`: the item's report, the tree its accepted
/// fixes leave, and (when `next_item` is given and the last scan was of that tree) the next
/// item's findings on it, which the same scan found at little extra cost.
fn fix_item(
    item: &str,
    next_item: Option<&str>,
    start: &Snapshot,
    known: Option<Vec<Finding>>,
    rescan: &Rescanner,
    options: &FixOptions,
) -> Result<(ItemFix, Snapshot, Option<Vec<Finding>>), FixError> {
    let only = [item.to_string()];
    let mut with_next = vec![item.to_string()];
    with_next.extend(next_item.map(str::to_string));
    // One scan, its findings split between this item and the next.
    let scan_both = |snap: &Snapshot| -> Result<(Vec<Finding>, Option<Vec<Finding>>), FixError> {
        let r = rescan
            .scan(snap, &with_next)
            .map_err(|e| FixError::Scan(e.to_string()))?;
        let (mine, next): (Vec<Finding>, Vec<Finding>) = findings(&r)
            .into_iter()
            .cloned()
            .partition(|f| f.item() == item);
        Ok((mine, next_item.map(|_| next)))
    };
    // The next item's findings on `current`, while the last scan was of it.
    let mut ahead: Option<Vec<Finding>> = None;
    let scan_item = |snap: &Snapshot, ahead: &mut Option<Vec<Finding>>| {
        let (mine, next) = scan_both(snap)?;
        *ahead = next;
        Ok::<_, FixError>(mine)
    };
    let mut out = ItemFix {
        item: item.to_string(),
        ..ItemFix::default()
    };
    let mut current = start.clone();
    let mut settled: HashSet<String> = HashSet::new();
    let mut found = match known {
        Some(found) => found,
        None => scan_item(&current, &mut ahead)?,
    };
    for _round in 0..MAX_ROUNDS {
        let targets: Vec<&Finding> = found
            .iter()
            .filter(|f| !settled.contains(&f.fingerprint()))
            .collect();
        if targets.is_empty() {
            break;
        }
        let generated = generate(&current, &targets, &options.parsed, &mut out, &mut settled);
        // Every plan of the round is applied on one overlay (each file is compiled as the
        // plans leave it), and one rescan verifies them together; only the plans whose
        // findings that rescan still reports are tried again alone.
        let mut overlay = Overlay::new(current.clone());
        let mut candidates: Vec<FixPlan> = Vec::new();
        for g in generated {
            let plan = match g {
                Ok(plan) => plan,
                Err(u) => {
                    settled.insert(u.finding.fingerprint());
                    out.rejected.push(Rejected {
                        title: None,
                        findings: vec![*u.finding],
                        reason: u.reason,
                    });
                    continue;
                }
            };
            match overlay.prepare(&plan) {
                Ok(pending) => {
                    let checked = check_files(
                        &options.compiler,
                        pending.files.iter().map(|(p, f)| (p.as_str(), f)),
                    );
                    if let Err(reason) = checked {
                        reject(&mut out, &mut settled, &plan, &reason);
                        continue;
                    }
                    overlay.commit(pending);
                    candidates.push(plan);
                }
                // Regenerated against the new text next round.
                Err(ApplyStatus::Conflict { .. }) | Err(ApplyStatus::AlreadyApplied) => {}
                Err(ApplyStatus::Stale { path, reason }) => {
                    let reason = Rejection::NotApplicable(format!("{path}: {reason}"));
                    reject(&mut out, &mut settled, &plan, &reason);
                }
                Err(ApplyStatus::Applied) => {}
            }
        }
        if candidates.is_empty() {
            break;
        }
        let before: Vec<&Finding> = found.iter().collect();
        let (after, batch_ahead) = scan_both(overlay.current())?;
        let after: Vec<&Finding> = after.iter().collect();
        let all_targets: Vec<Finding> = candidates
            .iter()
            .flat_map(|p| p.fixes.iter().cloned())
            .collect();
        let still: HashSet<String> = remaining(&all_targets, &before, &after)
            .into_iter()
            .map(Finding::fingerprint)
            .collect();
        let batch_size = candidates.len();
        let mut verified = Vec::new();
        for plan in candidates {
            if !plan.fixes.iter().any(|f| still.contains(&f.fingerprint())) {
                verified.push(plan);
                continue;
            }
            // Together with the others its findings stay: alone, on the round's tree?
            // Working alone but not with the others, it is tried again next round, on the
            // tree the others leave.
            if let Err(reason) = verify_plan(&current, &plan, rescan, &before, &only) {
                reject(&mut out, &mut settled, &plan, &reason);
            }
        }
        let mut applied = Vec::new();
        for plan in verified {
            settle(&mut settled, &plan);
            if plan.applicability == Applicability::Unsafe && !options.include_unsafe {
                out.needs_unsafe.push(plan);
            } else {
                applied.push(plan);
            }
        }
        let whole_batch = applied.len() == batch_size;
        if whole_batch {
            current = overlay.into_current();
            found = after.into_iter().cloned().collect();
            ahead = batch_ahead;
        } else {
            let (next, kept, left) = rebuild(&current, applied);
            for plan in &left {
                for f in &plan.fixes {
                    settled.remove(&f.fingerprint());
                }
            }
            current = next;
            applied = kept;
            found = scan_item(&current, &mut ahead)?;
        }
        let progressed = !applied.is_empty();
        out.applied.extend(applied);
        if !progressed {
            break;
        }
    }
    out.remaining = found;
    out.changes = changes_between(start, &current);
    // Valid only for the tree returned: when this item changed nothing and the last scan was
    // not of `start` (the findings were known), there is none.
    Ok((out, current, ahead))
}

/// `base` with `plans` applied in turn. They applied in this order on an overlay that also
/// held other plans, and taking plans out cannot make the others overlap; a plan that still
/// does not apply is left out (returned second), to be generated again.
fn rebuild(base: &Snapshot, plans: Vec<FixPlan>) -> (Snapshot, Vec<FixPlan>, Vec<FixPlan>) {
    let mut overlay = Overlay::new(base.clone());
    let (mut kept, mut left) = (Vec::new(), Vec::new());
    for plan in plans {
        match overlay.apply(&plan) {
            ApplyStatus::Applied => kept.push(plan),
            _ => left.push(plan),
        }
    }
    (overlay.into_current(), kept, left)
}

fn reject(out: &mut ItemFix, settled: &mut HashSet<String>, plan: &FixPlan, reason: &Rejection) {
    settle(settled, plan);
    out.rejected.push(Rejected {
        title: Some(plan.title.clone()),
        findings: plan.fixes.clone(),
        reason: user_reason(reason),
    });
}

/// Give every finding of `item` the position of the same finding in `original` (same
/// fingerprint: rule, file and code; the nearest line among those not taken yet).
fn relocate(item: &mut ItemFix, original: &[Finding]) {
    // Fingerprint → the lines of the original findings that have it, each with its index:
    // the nearest is found by a range search, so that thousands of findings on identical code
    // (one `{{ x|safe }}` repeated through a template) stay near linear.
    let mut by_print: HashMap<String, std::collections::BTreeSet<(usize, usize)>> = HashMap::new();
    for (i, o) in original.iter().enumerate() {
        by_print
            .entry(o.fingerprint())
            .or_default()
            .insert((o.line, i));
    }
    let nearest = |set: &std::collections::BTreeSet<(usize, usize)>, line: usize| {
        let above = set.range((line, 0)..).next().copied();
        let below = set.range(..(line, 0)).next_back().copied();
        match (above, below) {
            (Some(a), Some(b)) => Some(if a.0 - line < line - b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    };
    let all = by_print.clone();
    let mut place = |f: &mut Finding| {
        let Some(set) = by_print.get_mut(&f.fingerprint()) else {
            return;
        };
        if let Some(key) = nearest(set, f.line) {
            set.remove(&key);
            *f = original[key.1].clone();
        }
    };
    for plan in item.applied.iter_mut().chain(item.needs_unsafe.iter_mut()) {
        plan.fixes.iter_mut().for_each(&mut place);
    }
    for r in &mut item.rejected {
        r.findings.iter_mut().for_each(&mut place);
    }
    item.without_fix.iter_mut().for_each(&mut place);
    let place_remaining = |f: &mut Finding| {
        if let Some(key) = all
            .get(&f.fingerprint())
            .and_then(|set| nearest(set, f.line))
        {
            *f = original[key.1].clone();
        }
    };
    item.remaining.iter_mut().for_each(place_remaining);
}

/// `reason` with each `path:line` it names (a location in `current`, which earlier items'
/// fixes changed) turned into the same place in `base`, where the user reads it.
fn base_lines(reason: &str, base: &Snapshot, current: &Snapshot) -> String {
    static LOCATION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([\w./-]+\.[A-Za-z0-9]+):(\d+)").expect("valid regex")
    });
    LOCATION
        .replace_all(reason, |c: &regex::Captures| {
            let (path, line) = (&c[1], &c[2]);
            let mapped = match (base.get(path), current.get(path), line.parse::<usize>()) {
                (Some(old), Some(new), Ok(n)) if old != new => old_line(old, new, n),
                _ => None,
            };
            match mapped {
                Some(n) => format!("{path}:{n}"),
                None => c[0].to_string(),
            }
        })
        .into_owned()
}

/// The 1-based line of `old` that line `line` of `new` comes from (for an inserted line, the
/// line it was inserted before).
fn old_line(old: &str, new: &str, line: usize) -> Option<usize> {
    let diff = TextDiff::from_lines(old, new);
    let target = line.checked_sub(1)?;
    for op in diff.ops() {
        let new_range = op.new_range();
        if new_range.contains(&target) {
            let old_range = op.old_range();
            return Some(match op.tag() {
                similar::DiffTag::Equal | similar::DiffTag::Replace => {
                    old_range.start
                        + (target - new_range.start).min(old_range.len().saturating_sub(1))
                        + 1
                }
                _ => old_range.start + 1,
            });
        }
    }
    None
}

/// A verification failure in the user's terms.
fn user_reason(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Syntax { path, message } => {
            format!("the change would leave {path} with a syntax error ({message})")
        }
        Rejection::Compile { path, message } => {
            format!("CPython would not compile the changed {path} ({message})")
        }
        Rejection::StillReported { .. } => {
            "the change does not make the finding go away (flask-harden still reports it on the \
             changed code), so it is not offered"
                .to_string()
        }
        Rejection::Rescan(e) => format!("the changed files could not be checked again: {e}"),
        Rejection::NotApplicable(e) => format!("the change could not be applied: {e}"),
    }
}

fn settle(settled: &mut HashSet<String>, plan: &FixPlan) {
    settled.extend(plan.fixes.iter().map(Finding::fingerprint));
}

/// Run the generators of the targets' rules; findings of rules without one are recorded.
fn generate(
    snapshot: &Snapshot,
    targets: &[&Finding],
    parsed: &crate::scan::ParseCache,
    out: &mut ItemFix,
    settled: &mut HashSet<String>,
) -> Vec<Generated> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in targets {
        by_rule.entry(f.rule.as_str()).or_default().push(f);
    }
    let mut plans = Vec::new();
    let mut runnable = Vec::new();
    for (rule, fs) in by_rule {
        match generator(rule) {
            Some(g) => runnable.push((g, fs)),
            None => {
                for f in fs {
                    settled.insert(f.fingerprint());
                    out.without_fix.push(f.clone());
                }
            }
        }
    }
    if !runnable.is_empty() {
        with_context(snapshot, parsed, |ctx| {
            for (g, fs) in &runnable {
                plans.extend(g(ctx, fs));
            }
        });
    }
    plans
}

/// A plan on its own: it applies and a rescan no longer reports its findings (its files were
/// compiled when it was first applied).
fn verify_plan(
    current: &Snapshot,
    plan: &FixPlan,
    rescan: &Rescanner,
    before: &[&Finding],
    items: &[String],
) -> Result<(), Rejection> {
    let mut overlay = Overlay::new(current.clone());
    let pending = overlay.prepare(plan).map_err(|status| {
        Rejection::NotApplicable(match status {
            ApplyStatus::Stale { path, reason } => format!("{path}: {reason}"),
            ApplyStatus::AlreadyApplied => "it is already in place".to_string(),
            other => format!("{other:?}"),
        })
    })?;
    overlay.commit(pending);
    let after = rescan.scan(overlay.current(), items)?;
    let after = findings(&after);
    if let Some(f) = remaining(&plan.fixes, before, &after).first() {
        return Err(Rejection::StillReported {
            rule: f.rule.clone(),
            path: f.path.clone(),
            line: f.line,
        });
    }
    Ok(())
}

/// Which findings have a verified fix, by [`offer_key`]: the same pipeline as `fix` and the
/// interface ([`plan_fixes`] on the files at `root`, unsafe fixes included and marked), so a
/// report never says "available" for a fix that `fix` then declines. Only the items with
/// findings are run.
pub fn offered_fixes(root: &std::path::Path, findings: &[&Finding]) -> FixOffers {
    let options = FixOptions {
        compiler: PyCompiler::outside_repository(root),
        ..FixOptions::default()
    };
    verified_run(root, findings, options)
        .map(|run| run.availability())
        .unwrap_or_default()
}

/// [`plan_fixes`] over the items of `findings`, on the files at `root`, unsafe fixes included;
/// `None` when there is nothing to fix or the files cannot be read. One run feeds every
/// report (`fix.available` in JSON, the fixes of a SARIF log); `options.parsed` can hold
/// what the scan that found the findings parsed.
pub fn verified_run(
    root: &std::path::Path,
    findings: &[&Finding],
    options: FixOptions,
) -> Option<FixRun> {
    let mut items: Vec<String> = findings.iter().map(|f| f.item().to_string()).collect();
    items.sort();
    items.dedup();
    items.retain(|i| CHECKS.iter().any(|(id, _)| id == i));
    if items.is_empty() {
        return None;
    }
    let trace = crate::scan::Trace::new();
    let snapshot = Snapshot::from_dir(root).ok()?;
    trace.mark("snapshot");
    let options = FixOptions {
        items,
        include_unsafe: true,
        ..options
    };
    plan_fixes(snapshot, &options).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(path: &str, text: &str) -> Snapshot {
        let mut s = Snapshot::default();
        s.insert(path.to_string(), SnapFile::new(text));
        s
    }

    #[test]
    fn reasons_name_the_lines_of_the_base() {
        let base = snap("app.py", "a\nb\nform\n");
        let current = snap("app.py", "a\nnew 1\nnew 2\nb\nform\n");
        assert_eq!(
            base_lines("the form at app.py:5 and other.py:9", &base, &current),
            "the form at app.py:3 and other.py:9"
        );
        // An inserted line names the line it was inserted before.
        assert_eq!(old_line("a\nb\n", "a\nx\nb\n", 2), Some(2));
        assert_eq!(base_lines("app.py:2", &base, &base), "app.py:2");
    }
}
