//! What the interface needs from the fix engine, behind a small trait so the screens can be
//! drawn and tested with any source of fixes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use git2::{ObjectType, Repository, Status as GitStatus, StatusOptions, TreeWalkMode};

use std::collections::BTreeSet;

use crate::checks::CHECKS;
use crate::finding::Finding;
use crate::fix::snapshot::is_safe_path;
use crate::fix::subset::{SubsetError, changes_between, combine, start_of, subset_changes};
use crate::fix::verify::check_files;
use crate::fix::{
    Applicability, FileChange, FixOptions, FixPlan, FixRun, ItemFix, PatchKind, SnapFile, Snapshot,
    plan_fixes,
};
use crate::git::{GitError, GitRepo, Stage};
use crate::project::MAX_FILE_BYTES;
use crate::project::{FileKind, classify};
use crate::verify::{Event as VerifyEvent, VerifyOptions, verify_fixes};

/// One fix of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    pub title: String,
    /// Changes behaviour: accepting it needs a second confirmation.
    pub unsafe_: bool,
    /// How many findings it fixes.
    pub findings: usize,
    /// The files it writes, with the first line each edit touches (1-based, in the file as the
    /// item starts from; 0 for a new file): where its hunks are.
    pub touches: Vec<(String, usize)>,
}

/// What the fix engine says about one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingNote {
    /// Fixed by `plans[plan]`.
    Fixed { plan: usize },
    /// No fix is offered, in the user's terms.
    NotOffered(String),
}

/// One finding of an item, as the fix engine saw it in HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingFix {
    /// [`crate::finding::Finding::fingerprint`]: the same finding in the scan of the disk.
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    pub line: usize,
    pub note: FindingNote,
}

/// The plans and changes of an item as the engine made them, to combine a part of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemEngine {
    pub plans: Vec<FixPlan>,
    /// Paths relative to the opened folder.
    pub changes: Vec<FileChange>,
    /// The opened folder's path in the repository (`"web/"`), for the diffs.
    pub prefix: String,
}

/// The proposed fix of one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemFixView {
    pub item: String,
    pub plans: Vec<PlanView>,
    /// Every finding the engine saw, with its note.
    pub findings: Vec<FindingFix>,
    /// Unified diff of the item's file changes (empty: nothing to change).
    pub diff: String,
    /// The subject of the commit this item would make.
    pub commit_subject: String,
    /// Fixes not offered for findings the engine could not place, and other remarks.
    pub notes: Vec<String>,
    /// `None` when the view was made by hand (tests): subsets are then not available.
    pub engine: Option<ItemEngine>,
}

impl ItemFixView {
    pub fn has_fix(&self) -> bool {
        !self.diff.is_empty()
    }

    pub fn is_unsafe(&self) -> bool {
        self.plans.iter().any(|p| p.unsafe_)
    }

    pub fn finding(&self, fingerprint: &str) -> Option<&FindingFix> {
        self.findings.iter().find(|f| f.fingerprint == fingerprint)
    }

    /// The fingerprints a plan fixes.
    pub fn plan_fingerprints(&self, plan: usize) -> Vec<&str> {
        self.findings
            .iter()
            .filter(|f| f.note == FindingNote::Fixed { plan })
            .map(|f| f.fingerprint.as_str())
            .collect()
    }

    /// Which plans are kept when the findings `unchecked` are left out.
    pub fn kept(&self, unchecked: &BTreeSet<String>) -> Vec<bool> {
        (0..self.plans.len())
            .map(|i| {
                !self
                    .plan_fingerprints(i)
                    .iter()
                    .any(|fp| unchecked.contains(*fp))
            })
            .collect()
    }

    /// The diff of the kept plans only.
    pub fn diff_for(&self, keep: &[bool]) -> Result<String, SubsetError> {
        if keep.iter().all(|k| *k) {
            return Ok(self.diff.clone());
        }
        let Some(engine) = &self.engine else {
            return Ok(self.diff.clone());
        };
        let changes = subset_changes(&engine.changes, &engine.plans, keep)?;
        Ok(changes
            .into_iter()
            .map(|mut c| {
                c.path = format!("{}{}", engine.prefix, c.path);
                c.unified_diff()
            })
            .collect())
    }

    /// The commit subject of the kept plans only.
    pub fn subject_for(&self, keep: &[bool]) -> String {
        let Some(engine) = &self.engine else {
            return self.commit_subject.clone();
        };
        if keep.iter().all(|k| *k) {
            return self.commit_subject.clone();
        }
        let part = ItemFix {
            item: self.item.clone(),
            applied: engine
                .plans
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(p, _)| p.clone())
                .collect(),
            ..ItemFix::default()
        };
        part.commit_message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The kept plans, with the earlier plans the first one that cannot be applied builds on
    /// added (or, when `dropping`, with the plans that build on a dropped one removed), so that
    /// the selection always combines. Returns the plans it added or removed.
    pub fn settle(&self, keep: &mut [bool], dropping: bool) -> Vec<usize> {
        let mut changed = Vec::new();
        for _ in 0..self.plans.len() {
            let Some(engine) = &self.engine else { break };
            match combine(&start_of(&engine.changes), &engine.plans, keep) {
                Ok(_) => break,
                Err(e) if dropping => {
                    keep[e.plan] = false;
                    changed.push(e.plan);
                }
                Err(e) => {
                    let add: Vec<usize> = e.builds_on.into_iter().filter(|j| !keep[*j]).collect();
                    if add.is_empty() {
                        keep[e.plan] = false;
                        changed.push(e.plan);
                    }
                    for j in add {
                        keep[j] = true;
                        changed.push(j);
                    }
                }
            }
        }
        changed
    }
}

/// Every item's proposed fix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixesView {
    pub items: Vec<ItemFixView>,
    /// The branch name the commit dialog proposes.
    pub default_branch: String,
}

impl FixesView {
    pub fn item(&self, id: &str) -> Option<&ItemFixView> {
        self.items.iter().find(|i| i.item == id)
    }
}

/// What the engine reports while it prepares the fixes, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanEvent {
    Started {
        items: Vec<String>,
        default_branch: String,
    },
    Item(Box<ItemFixView>),
}

/// A change that is not a fix but is committed like one: a suppression or an exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// `# flask-harden: ignore[rule] reason` on the line above the finding.
    Ignore {
        rule: String,
        /// Relative to the opened folder.
        path: String,
        line: usize,
        /// The finding's first line of code, to find it again.
        code: String,
        reason: String,
    },
    /// `folder/**` added to the configuration's `exclude`.
    Exclude { folder: String },
}

impl Exception {
    /// One line for the screen and the commit subject.
    pub fn title(&self) -> String {
        match self {
            Exception::Ignore {
                rule, path, line, ..
            } => format!("ignore {rule} at {path}:{line}"),
            Exception::Exclude { folder } => format!("exclude {folder}/ from the scan"),
        }
    }

    pub fn commit_message(&self) -> String {
        match self {
            Exception::Ignore { reason, .. } => {
                format!(
                    "harden(suppress): {}\n\nReason: {reason}\n",
                    short(&self.title())
                )
            }
            Exception::Exclude { folder } => format!(
                "harden(config): {}\n\nThe files under {folder}/ are not scanned.\n",
                short(&self.title())
            ),
        }
    }
}

fn short(s: &str) -> String {
    let max = crate::fix::items::SUBJECT_MAX - "harden(suppress): ".len();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// What to commit: per accepted item, the findings the user unchecked; then the exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitRequest {
    pub items: Vec<(String, BTreeSet<String>)>,
    pub exceptions: Vec<Exception>,
}

/// What a commit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    pub branch: String,
    /// Short id of the commit the branch starts from.
    pub base: String,
    /// (short id, subject), oldest first.
    pub commits: Vec<(String, String)>,
}

/// One accepted item after the tests ran with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictView {
    pub item: String,
    /// No test that passed on HEAD fails (or no longer runs) with the fix.
    pub passes: bool,
    /// "9 passed, 1 failed (exit 1)".
    pub summary: String,
    /// "test id: now", one per newly broken test.
    pub broken: Vec<String>,
}

/// What running the project's tests on the accepted fixes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Where the tests ran: "the active virtualenv …", ".venv in the repository"…
    pub environment: String,
    pub command: String,
    /// The suite on HEAD.
    pub head: String,
    pub verdicts: Vec<VerdictView>,
    /// Items tested again, planned without a fix left out before them.
    pub replanned: Vec<String>,
}

/// The repository's git state, for the banners.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitState {
    pub is_repo: bool,
    /// Uncommitted changes (tracked or untracked files): fixes are built from HEAD all the same.
    pub dirty: bool,
    /// No commit yet: nothing to build fixes from.
    pub unborn: bool,
    /// HEAD is not on a branch.
    pub detached: bool,
}

pub trait FixSource: Send + Sync {
    fn git_state(&self) -> GitState;
    /// Every item's proposed fix, built from HEAD, reported item by item as each is ready.
    fn plans(&self, events: &mut dyn FnMut(PlanEvent)) -> Result<(), String>;
    /// The change an exception makes, as a diff against HEAD.
    fn preview(&self, exception: &Exception) -> Result<String, String>;
    /// Commit the request (one commit per item, then one per exception) on a new branch.
    fn commit(&self, request: &CommitRequest, branch: &str) -> Result<CommitOutcome, String>;
    /// Run the project's own tests on HEAD and after each accepted fix (see [`crate::verify`]):
    /// this runs the user's code, so only when the user asks. `stop` ends it early.
    fn verify(
        &self,
        request: &CommitRequest,
        stop: Arc<AtomicBool>,
        events: &mut dyn FnMut(VerifyEvent),
    ) -> Result<VerifyReport, String>;
    /// Write the files of `branch`'s tree into `dir`, to scan what the branch holds.
    fn export_branch(&self, branch: &str, dir: &Path) -> Result<(), String>;
    /// Check out `branch` (only when the work tree is clean).
    fn switch(&self, branch: &str) -> Result<(), String>;
}

/// The real fix engine on a repository.
pub struct EngineFixes {
    root: PathBuf,
    /// Shared by every planning run of the session: a file is parsed once, and one python3
    /// compiles every patched file.
    parsed: crate::scan::ParseCache,
    compiler: crate::fix::verify::PyCompiler,
}

impl EngineFixes {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            parsed: crate::scan::ParseCache::new(),
            compiler: crate::fix::verify::PyCompiler::outside_repository(root).prewarm(),
        }
    }

    fn options(&self, items: Vec<String>) -> FixOptions {
        FixOptions {
            items,
            // Unsafe fixes are shown, marked, and need a second confirmation to accept.
            include_unsafe: true,
            compiler: self.compiler.clone(),
            parsed: self.parsed.clone(),
        }
    }

    /// HEAD's files under the opened folder, the default branch name and the folder's prefix.
    fn head(&self) -> Result<(Snapshot, String, String), String> {
        match GitRepo::open(&self.root) {
            Ok(repo) => {
                let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
                Ok((
                    repo.head_snapshot()
                        .map_err(|e| e.to_string())?
                        .under(&prefix),
                    repo.default_branch_name(),
                    prefix,
                ))
            }
            Err(GitError::NotARepository(_)) => Ok((
                Snapshot::from_dir(&self.root).map_err(|e| e.to_string())?,
                String::new(),
                String::new(),
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The accepted fixes of a request, planned on HEAD item by item as they will be committed.
struct Accepted {
    repo: GitRepo,
    /// The opened folder's path in the repository.
    prefix: String,
    /// HEAD's files under the opened folder.
    base: Snapshot,
    /// One per accepted item with its kept plans; changes relative to the item before.
    items: Vec<ItemFix>,
    /// `base` with every accepted fix.
    result: Snapshot,
}

impl EngineFixes {
    /// Plan the request's items on HEAD, each on the previous item's result (a later item's
    /// fix is made for the text the commits before it leave, parts included), keeping the
    /// plans of the findings the user left checked.
    fn accepted_fixes(&self, request: &CommitRequest) -> Result<Accepted, String> {
        let repo = GitRepo::open(&self.root).map_err(|e| e.to_string())?;
        repo.ensure_no_operation_in_progress()
            .map_err(|e| e.to_string())?;
        // PATH may be a subfolder: the fixes see that folder, the commits get the prefix back.
        let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
        let base = repo
            .head_snapshot()
            .map_err(|e| e.to_string())?
            .under(&prefix);
        let options = self.options(Vec::new());
        let mut current = base.clone();
        let mut items = Vec::new();
        for (id, unchecked) in &request.items {
            let run = plan_fixes(current.clone(), &self.options(vec![id.clone()]))
                .map_err(|e| e.to_string())?;
            let Some(item) = run.items.into_iter().next() else {
                continue;
            };
            let keep: Vec<bool> = item
                .applied
                .iter()
                .map(|p| !p.fixes.iter().any(|f| unchecked.contains(&f.fingerprint())))
                .collect();
            if keep.iter().all(|k| *k) {
                current = run.result;
                items.push(item);
                continue;
            }
            let result = combine(&current, &item.applied, &keep).map_err(|e| e.to_string())?;
            let changes = changes_between(&current, &result);
            check_files(
                &options.compiler,
                changes.iter().map(|c| (c.path.as_str(), &c.after)),
            )
            .map_err(|e| format!("the checked fixes of {id} together: {e}"))?;
            items.push(ItemFix {
                applied: item
                    .applied
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(p, _)| p.clone())
                    .collect(),
                changes,
                ..item
            });
            current = result;
        }
        Ok(Accepted {
            repo,
            prefix,
            base,
            items,
            result: current,
        })
    }
}

/// The view of one item's fix run (paths relative to the opened folder; `prefix` added for the
/// diffs).
pub fn view_of(item: &ItemFix, prefix: &str) -> ItemFixView {
    let mut findings = Vec::new();
    let mut plans = Vec::new();
    for (i, p) in item.applied.iter().enumerate() {
        let start = item.changes.iter();
        let touches = p
            .patches
            .iter()
            .map(|patch| {
                let line = match &patch.kind {
                    PatchKind::Create { .. } => 0,
                    PatchKind::Edit { edits, .. } => {
                        let text = start
                            .clone()
                            .find(|c| c.path == patch.path)
                            .and_then(|c| c.before.as_ref())
                            .map_or("", |b| b.text.as_str());
                        edits.first().map_or(1, |e| {
                            text.get(..e.range.start)
                                .map_or(1, |t| t.matches('\n').count() + 1)
                        })
                    }
                };
                (format!("{prefix}{}", patch.path), line)
            })
            .collect();
        plans.push(PlanView {
            title: p.title.clone(),
            unsafe_: p.applicability == Applicability::Unsafe,
            findings: p.fixes.len(),
            touches,
        });
        for f in &p.fixes {
            findings.push(FindingFix {
                fingerprint: f.fingerprint(),
                rule: f.rule.clone(),
                path: f.path.clone(),
                line: f.line,
                note: FindingNote::Fixed { plan: i },
            });
        }
    }
    let mut notes = Vec::new();
    let mut not_offered = |f: &Finding, reason: String| {
        if findings.iter().any(|x| x.fingerprint == f.fingerprint()) {
            return;
        }
        findings.push(FindingFix {
            fingerprint: f.fingerprint(),
            rule: f.rule.clone(),
            path: f.path.clone(),
            line: f.line,
            note: FindingNote::NotOffered(reason),
        });
    };
    for r in &item.rejected {
        for f in &r.findings {
            not_offered(f, user_reason(&r.reason));
        }
    }
    for f in &item.without_fix {
        not_offered(f, NO_GENERATOR.to_string());
    }
    for f in &item.remaining {
        not_offered(f, STILL_THERE.to_string());
    }
    if !item.needs_unsafe.is_empty() {
        notes.push(format!(
            "{} fix(es) held back as unsafe",
            item.needs_unsafe.len()
        ));
    }
    let diff = item
        .changes
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.path = format!("{prefix}{}", c.path);
            c.unified_diff()
        })
        .collect();
    ItemFixView {
        item: item.item.clone(),
        plans,
        findings,
        diff,
        commit_subject: item
            .commit_message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        notes,
        engine: Some(ItemEngine {
            plans: item.applied.clone(),
            changes: item.changes.clone(),
            prefix: prefix.to_string(),
        }),
    }
}

const NO_GENERATOR: &str = "flask-harden has no automatic fix for this kind of finding yet";
const STILL_THERE: &str = "the fixes of this item do not remove it; it needs a change by hand";

/// The engine's reasons for not offering a fix, in the user's terms.
pub fn user_reason(reason: &str) -> String {
    if reason.starts_with("a rescan still reports") {
        return "the fix was tried but the finding was still there after it, so it is not \
                offered"
            .to_string();
    }
    if let Some(rest) = reason.strip_prefix("the patched ") {
        return format!("the fix would break the code: {rest}");
    }
    if let Some(rest) = reason.strip_prefix("CPython does not compile the patched ") {
        return format!("Python would reject the fixed file: {rest}");
    }
    if let Some(rest) = reason.strip_prefix("the rescan failed: ") {
        return format!("the fix could not be checked: {rest}");
    }
    if let Some(rest) = reason.strip_prefix("the fix could not be applied: ") {
        return format!("the fix does not fit the file as it is now: {rest}");
    }
    reason.to_string()
}

impl FixSource for EngineFixes {
    fn git_state(&self) -> GitState {
        let Ok(repo) = Repository::discover(&self.root) else {
            return GitState::default();
        };
        let unborn = repo.head().is_err();
        let detached = repo.head_detached().unwrap_or(false);
        let mut opts = StatusOptions::new();
        opts.include_untracked(true).include_ignored(false);
        let dirty = repo.statuses(Some(&mut opts)).is_ok_and(|s| {
            s.iter()
                .any(|e| e.status() != GitStatus::CURRENT && !e.status().is_ignored())
        });
        GitState {
            is_repo: true,
            dirty,
            unborn,
            detached,
        }
    }

    fn plans(&self, events: &mut dyn FnMut(PlanEvent)) -> Result<(), String> {
        let (snapshot, default_branch, prefix) = self.head()?;
        let items: Vec<String> = CHECKS.iter().map(|(id, _)| id.to_string()).collect();
        events(PlanEvent::Started {
            items: items.clone(),
            default_branch,
        });
        // One item at a time, each on the previous item's result (as `fix` chains them), so
        // every item's fix is shown as soon as it is verified.
        let mut current = snapshot;
        for id in items {
            let run =
                plan_fixes(current, &self.options(vec![id.clone()])).map_err(|e| e.to_string())?;
            if let Some(item) = run.items.first() {
                events(PlanEvent::Item(Box::new(view_of(item, &prefix))));
            }
            current = run.result;
        }
        Ok(())
    }

    fn preview(&self, exception: &Exception) -> Result<String, String> {
        let (snapshot, _, prefix) = self.head()?;
        let mut after = snapshot.clone();
        apply_exception(&mut after, exception)?;
        Ok(changes_between(&snapshot, &after)
            .into_iter()
            .map(|mut c| {
                c.path = format!("{prefix}{}", c.path);
                c.unified_diff()
            })
            .collect())
    }

    fn commit(&self, request: &CommitRequest, branch: &str) -> Result<CommitOutcome, String> {
        let accepted = self.accepted_fixes(request)?;
        let prefix = &accepted.prefix;
        let mut stages = Vec::new();
        let mut add_stage = |message: String, changes: &[FileChange]| {
            let changes: Vec<FileChange> = changes
                .iter()
                .cloned()
                .map(|mut c| {
                    c.path = format!("{prefix}{}", c.path);
                    c
                })
                .collect();
            if !changes.is_empty() {
                stages.push(Stage { message, changes });
            }
        };
        for item in &accepted.items {
            add_stage(item.commit_message(), &item.changes);
        }
        let mut current = accepted.result;
        for exception in &request.exceptions {
            let mut after = current.clone();
            apply_exception(&mut after, exception)?;
            add_stage(
                exception.commit_message(),
                &changes_between(&current, &after),
            );
            current = after;
        }
        if stages.is_empty() {
            return Err("none of the accepted items has a change to commit".to_string());
        }
        let done = accepted
            .repo
            .commit_stages(branch, &stages)
            .map_err(|e| e.to_string())?;
        Ok(CommitOutcome {
            branch: done.branch,
            base: done.base.short_id(),
            commits: done
                .commits
                .iter()
                .map(|(id, subject)| (id.to_string().chars().take(7).collect(), subject.clone()))
                .collect(),
        })
    }

    fn verify(
        &self,
        request: &CommitRequest,
        stop: Arc<AtomicBool>,
        events: &mut dyn FnMut(VerifyEvent),
    ) -> Result<VerifyReport, String> {
        let accepted = self.accepted_fixes(request)?;
        if accepted.items.iter().all(|i| i.changes.is_empty()) {
            return Err("none of the accepted items has a change to test".to_string());
        }
        let config = crate::config::Config::load(&self.root).map_err(|e| e.to_string())?;
        let options = VerifyOptions {
            test_command: config.test_command.clone(),
            stop: Some(stop),
            ..VerifyOptions::default()
        };
        let run = FixRun {
            base: accepted.base,
            result: accepted.result,
            items: accepted.items,
            findings_before: Vec::new(),
        };
        let verified = verify_fixes(
            &accepted.repo,
            &self.root,
            run,
            &self.options(Vec::new()),
            &options,
            events,
        )
        .map_err(|e| e.to_string())?;
        Ok(VerifyReport {
            environment: verified.environment,
            command: verified.command,
            head: verified.head.summary(),
            verdicts: verified
                .verdicts
                .iter()
                .map(|v| VerdictView {
                    item: v.item.clone(),
                    passes: v.broken.is_empty(),
                    summary: v.result.summary(),
                    broken: v
                        .broken
                        .iter()
                        .map(|b| format!("{}: {}", b.id, b.now))
                        .collect(),
                })
                .collect(),
            replanned: verified.replanned,
        })
    }

    fn export_branch(&self, branch: &str, dir: &Path) -> Result<(), String> {
        let repo = GitRepo::open(&self.root).map_err(|e| e.to_string())?;
        let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
        export_tree(repo.repository(), branch, &prefix, dir).map_err(|e| e.to_string())
    }

    fn switch(&self, branch: &str) -> Result<(), String> {
        if self.git_state().dirty {
            return Err(
                "the work tree has uncommitted changes: commit or stash them first, \
                        then git switch"
                    .to_string(),
            );
        }
        let repo = Repository::discover(&self.root).map_err(|e| e.to_string())?;
        let refname = format!("refs/heads/{branch}");
        let tree = repo
            .find_reference(&refname)
            .and_then(|r| r.peel_to_tree())
            .map_err(|e| e.to_string())?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.safe();
        repo.checkout_tree(tree.as_object(), Some(&mut checkout))
            .map_err(|e| e.to_string())?;
        repo.set_head(&refname).map_err(|e| e.to_string())
    }
}

/// Write an exception into the snapshot (paths relative to the opened folder).
pub fn apply_exception(snap: &mut Snapshot, exception: &Exception) -> Result<(), String> {
    match exception {
        Exception::Ignore {
            rule,
            path,
            line,
            code,
            reason,
        } => {
            let file = snap
                .files
                .get_mut(path)
                .ok_or_else(|| format!("{path} is not in the last commit"))?;
            let comment = format!("flask-harden: ignore[{rule}] {reason}");
            let template = classify(path) == Some(FileKind::Template);
            let text = insert_above(&file.text, *line, code, &comment, template)
                .ok_or_else(|| format!("{path}:{line} is not in the last commit"))?;
            std::sync::Arc::make_mut(file).text = text;
            Ok(())
        }
        Exception::Exclude { folder } => {
            let glob = format!("{}/**", folder.trim_end_matches('/'));
            let in_pyproject = !snap.files.contains_key(crate::config::FILE)
                && snap
                    .get("pyproject.toml")
                    .is_some_and(|t| t.contains("[tool.flask-harden]"));
            let (path, table) = if in_pyproject {
                ("pyproject.toml", Some(("tool", "flask-harden")))
            } else {
                (crate::config::FILE, None)
            };
            let text = snap.get(path).unwrap_or("").to_string();
            let mut doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e| format!("{path} does not parse: {e}"))?;
            let target = match table {
                Some((a, b)) => doc
                    .get_mut(a)
                    .and_then(|t| t.get_mut(b))
                    .and_then(toml_edit::Item::as_table_like_mut)
                    .ok_or_else(|| format!("{path} has no [{a}.{b}] table"))?,
                None => doc.as_table_mut() as &mut dyn toml_edit::TableLike,
            };
            let entry = target
                .entry("exclude")
                .or_insert(toml_edit::value(toml_edit::Array::new()));
            let array = entry
                .as_array_mut()
                .ok_or_else(|| format!("exclude in {path} is not a list"))?;
            if !array.iter().any(|v| v.as_str() == Some(glob.as_str())) {
                array.push(glob);
            }
            let file = snap
                .files
                .entry(path.to_string())
                .or_insert_with(|| std::sync::Arc::new(SnapFile::new("")));
            std::sync::Arc::make_mut(file).text = doc.to_string();
            Ok(())
        }
    }
}

/// `text` with a comment line above the line that reads `code` (first line of the finding),
/// nearest to `line`; indented like it.
fn insert_above(
    text: &str,
    line: usize,
    code: &str,
    comment: &str,
    template: bool,
) -> Option<String> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let want = code.lines().next().unwrap_or("").trim();
    let at = (0..lines.len())
        .filter(|i| want.is_empty() || lines[*i].trim() == want || lines[*i].contains(want))
        .min_by_key(|i| i.abs_diff(line.saturating_sub(1)))
        .or_else(|| (line >= 1 && line <= lines.len()).then(|| line - 1))?;
    let target = lines[at];
    let indent: String = target
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let comment = if template {
        format!("{indent}{{# {comment} #}}{nl}")
    } else {
        format!("{indent}# {comment}{nl}")
    };
    let mut out = String::with_capacity(text.len() + comment.len());
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            out.push_str(&comment);
        }
        out.push_str(l);
    }
    Some(out)
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Write the regular files of `branch`'s tree that lie under `prefix` into `dir` (relative to
/// the prefix, so the copy is scanned as the folder the user opened). Symbolic links,
/// submodules, unsafe paths and files over the size limit are left out.
fn export_tree(
    repo: &Repository,
    branch: &str,
    prefix: &str,
    dir: &Path,
) -> Result<(), ExportError> {
    let tree = repo
        .find_reference(&format!("refs/heads/{branch}"))?
        .peel_to_tree()?;
    let mut blobs = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let is_file = entry.kind() == Some(ObjectType::Blob)
            && matches!(entry.filemode(), 0o100644 | 0o100755);
        if let (true, Ok(name)) = (is_file, entry.name()) {
            let path = format!("{parent}{name}");
            if let Some(rel) = path.strip_prefix(prefix)
                && is_safe_path(rel)
            {
                blobs.push((rel.to_string(), entry.id()));
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    let odb = repo.odb()?;
    for (rel, id) in blobs {
        let (size, _) = odb.read_header(id)?;
        if size as u64 > MAX_FILE_BYTES {
            continue;
        }
        let blob = repo.find_blob(id)?;
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| ExportError::Io(parent.to_path_buf(), e))?;
        }
        fs::write(&path, blob.content()).map_err(|e| ExportError::Io(path.clone(), e))?;
    }
    Ok(())
}
