//! The model and `update`: every change of state happens here, from a message.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::fixes::{
    CommitOutcome, CommitRequest, Exception, FindingNote, FixesView, GitState, ItemFixView,
    VerdictView, VerifyReport,
};
use super::keys::{self, Action, Pane};
use super::line_edit::{Edited, LineEdit};
use super::strings;
use super::theme::Theme;
use super::ui;
use super::worker::{Effect, ScanProgress, ScanReport, WorkerMsg};
use crate::finding::{Finding, Status};
use crate::scan::{ItemResult, ScanResult};
use crate::verify::Event as VerifyEvent;

/// What the user decided about an item's fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accepted,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixesState {
    Pending,
    Ready(FixesView),
    Failed(String),
}

/// After a commit: what was made and how the checklist looks on the new branch.
#[derive(Debug, Clone)]
pub struct AfterCommit {
    pub outcome: CommitOutcome,
    /// `None` while the branch is being scanned.
    pub rescan: Option<Result<Vec<BranchRow>, String>>,
}

/// One item before and after the commit: status and number of findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRow {
    pub item: String,
    pub before: (Status, usize),
    pub after: (Status, usize),
}

/// Where an `i` suppression goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreTarget {
    /// A comment above the finding's line.
    Line,
    /// `folder/**` into the configuration's `exclude`.
    Folder(String),
}

#[derive(Debug, Clone)]
pub enum Popup {
    Help,
    Commit {
        branch: LineEdit,
        /// Why the last key or attempt was refused.
        error: Option<String>,
    },
    ConfirmUnsafe {
        item: String,
        /// Findings to leave out (a partial acceptance from the fix pane).
        unchecked: BTreeSet<String>,
    },
    ConfirmQuit,
    /// `T`: says that the project's tests run its code, before they do.
    ConfirmVerify,
    /// The tests' live output and, once done, their verdicts ([`App::verify_run`]).
    Verify,
    Committing {
        branch: String,
    },
    /// The commit failed; closing it goes back to the commit dialog with the branch name.
    CommitFailed {
        error: String,
        branch: String,
    },
    Done(AfterCommit),
    /// `i`: the reason for a suppression, and where it goes.
    Ignore {
        finding: Box<Finding>,
        target: IgnoreTarget,
        reason: LineEdit,
        error: Option<String>,
    },
}

/// The focused pane's share of the screen, as lazygit's `+` / `_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScreenMode {
    Normal,
    /// The focused pane takes half (the checklist) or the checklist is hidden (the others).
    Half,
    /// The focused pane takes the whole main area.
    Full,
}

/// A branch made in this session, for the checklist and the summary printed at exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub outcome: CommitOutcome,
    /// The items (and exceptions) it holds, with how many findings each fix covers.
    pub items: Vec<String>,
}

/// A pending exception and its diff (`None` while it is being made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingException {
    pub exception: Exception,
    pub diff: Option<Result<String, String>>,
}

/// How many output lines of the tests the interface keeps.
pub const VERIFY_LINES: usize = 400;

/// `T`: the project's own tests, run on HEAD and after each accepted fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRun {
    /// What is tested: the accepted items, each with the findings the user unchecked.
    pub tested: Vec<(String, BTreeSet<String>)>,
    /// The step in progress.
    pub status: String,
    /// The last output lines, `[run] text`.
    pub lines: VecDeque<String>,
    /// Runs finished so far: (label, summary).
    pub runs: Vec<(String, String)>,
    /// `None` while the tests run.
    pub outcome: Option<Result<VerifyReport, String>>,
    /// The user asked to stop.
    pub stopping: bool,
}

impl VerifyRun {
    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }
}

/// One entry of the fix pane's finding list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    pub line: usize,
    /// The scan's finding (on disk), when it is still there.
    pub finding: Option<Finding>,
    /// What the fix engine says (`None` while fixes are prepared).
    pub note: Option<FindingNote>,
}

pub struct App {
    /// The repository's folder name, for the title.
    pub root_label: String,
    pub theme: Theme,
    pub progress: Arc<ScanProgress>,
    pub generation: u64,
    pub scanning: bool,
    pub report: Option<ScanReport>,
    pub scan_error: Option<String>,
    pub fixes: FixesState,
    /// Items whose fix is ready / all items, while the fixes are prepared.
    pub fixes_progress: Option<(usize, usize)>,
    pub git: Option<GitState>,
    pub decisions: HashMap<String, Decision>,
    /// Per accepted item, the findings (fingerprints) whose fix the user unchecked.
    pub unchecked: HashMap<String, BTreeSet<String>>,
    /// (item, decision and unchecked findings before) for `u`.
    undo: Vec<(String, Option<Decision>, BTreeSet<String>)>,
    /// Index into [`App::visible`].
    pub selected: usize,
    /// Index into the selected item's [`App::finding_rows`].
    pub finding: usize,
    pub focus: Pane,
    pub detail_scroll: usize,
    pub fix_scroll: usize,
    /// Horizontal scroll of code and diffs, in columns.
    pub detail_x: usize,
    pub fix_x: usize,
    pub side_by_side: bool,
    pub mode: ScreenMode,
    pub filter: String,
    pub filter_editing: bool,
    pub popup: Option<Popup>,
    /// The status line: what the last action did.
    pub message: Option<String>,
    pub exceptions: Vec<PendingException>,
    pub committed: Vec<Committed>,
    /// The last (or current) run of the project's tests.
    pub verify_run: Option<VerifyRun>,
    /// Per item, the verdict of the tests on its fix, with the findings unchecked when it
    /// was tested (it holds while they are the same).
    pub verdicts: HashMap<String, (BTreeSet<String>, VerdictView)>,
    /// Mouse capture on (wheel and clicks) or off (the terminal selects text).
    pub mouse: bool,
    /// Frames drawn, for the spinner.
    pub tick: usize,
    pub size: (u16, u16),
    pub quit: bool,
}

impl App {
    pub fn new(root_label: &str, theme: Theme) -> Self {
        Self {
            root_label: root_label.to_string(),
            theme,
            progress: ScanProgress::new(),
            generation: 0,
            scanning: false,
            report: None,
            scan_error: None,
            fixes: FixesState::Pending,
            fixes_progress: None,
            git: None,
            decisions: HashMap::new(),
            unchecked: HashMap::new(),
            undo: Vec::new(),
            selected: 0,
            finding: 0,
            focus: Pane::Checklist,
            detail_scroll: 0,
            fix_scroll: 0,
            detail_x: 0,
            fix_x: 0,
            side_by_side: false,
            mode: ScreenMode::Normal,
            filter: String::new(),
            filter_editing: false,
            popup: None,
            message: None,
            exceptions: Vec::new(),
            committed: Vec::new(),
            verify_run: None,
            verdicts: HashMap::new(),
            mouse: true,
            tick: 0,
            size: (80, 24),
            quit: false,
        }
    }

    /// Start the first scan.
    pub fn start(&mut self) -> Vec<Effect> {
        self.rescan()
    }

    fn rescan(&mut self) -> Vec<Effect> {
        self.generation += 1;
        self.scanning = true;
        self.scan_error = None;
        self.fixes = FixesState::Pending;
        self.fixes_progress = None;
        self.progress = ScanProgress::new();
        vec![Effect::Scan {
            generation: self.generation,
        }]
    }

    pub fn scan(&self) -> Option<&ScanResult> {
        self.report.as_ref().map(|r| &r.scan)
    }

    /// The checklist as shown: by severity (highest first), failing items before the others,
    /// then in checklist order; only items matching the filter.
    pub fn visible(&self) -> Vec<&ItemResult> {
        let Some(scan) = self.scan() else {
            return Vec::new();
        };
        let needle = self.filter.to_lowercase();
        let mut items: Vec<&ItemResult> = scan
            .items
            .iter()
            .filter(|i| {
                needle.is_empty()
                    || i.item.id.to_lowercase().contains(&needle)
                    || i.item.title.to_lowercase().contains(&needle)
                    || i.status().as_str().contains(&needle)
            })
            .collect();
        items.sort_by_key(|i| (std::cmp::Reverse(i.item.severity), status_rank(i.status())));
        items
    }

    pub fn selected_item(&self) -> Option<&ItemResult> {
        self.visible().get(self.selected).copied()
    }

    pub fn fix_of(&self, id: &str) -> Option<&ItemFixView> {
        match &self.fixes {
            FixesState::Ready(view) => view.item(id),
            _ => None,
        }
    }

    /// The item's findings for the fix pane: the scan's, with the engine's notes, then any the
    /// engine saw in HEAD that the working files no longer have.
    pub fn finding_rows(&self, item: &ItemResult) -> Vec<FindingRow> {
        let fix = self.fix_of(&item.item.id);
        let mut rows: Vec<FindingRow> = item
            .outcome
            .findings
            .iter()
            .map(|f| {
                let fingerprint = f.fingerprint();
                FindingRow {
                    note: fix
                        .and_then(|v| v.finding(&fingerprint))
                        .map(|x| x.note.clone()),
                    fingerprint,
                    rule: f.rule.clone(),
                    path: f.path.clone(),
                    line: f.line,
                    finding: Some(f.clone()),
                }
            })
            .collect();
        if let Some(fix) = fix {
            for f in &fix.findings {
                if !rows.iter().any(|r| r.fingerprint == f.fingerprint) {
                    rows.push(FindingRow {
                        fingerprint: f.fingerprint.clone(),
                        rule: f.rule.clone(),
                        path: f.path.clone(),
                        line: f.line,
                        finding: None,
                        note: Some(f.note.clone()),
                    });
                }
            }
        }
        rows
    }

    pub fn current_finding(&self) -> Option<FindingRow> {
        let item = self.selected_item()?;
        let rows = self.finding_rows(item);
        rows.get(self.finding.min(rows.len().saturating_sub(1)))
            .cloned()
    }

    /// The plans of an item that the commit keeps.
    pub fn kept(&self, id: &str) -> Vec<bool> {
        let Some(fix) = self.fix_of(id) else {
            return Vec::new();
        };
        match self.decisions.get(id) {
            Some(Decision::Accepted) => {
                fix.kept(self.unchecked.get(id).unwrap_or(&BTreeSet::new()))
            }
            _ => vec![false; fix.plans.len()],
        }
    }

    /// (findings the checked fixes cover, findings of the item) for an accepted item whose
    /// fixes do not cover all of them; `None` when the accepted part covers everything.
    pub fn partial(&self, item: &ItemResult) -> Option<(usize, usize)> {
        let id = &item.item.id;
        let fix = self.fix_of(id)?;
        let total = self.finding_rows(item).len();
        let kept = if self.decisions.get(id) == Some(&Decision::Accepted) {
            self.kept(id)
        } else {
            vec![true; fix.plans.len()]
        };
        let covered = fix
            .findings
            .iter()
            .filter(
                |f| matches!(f.note, FindingNote::Fixed { plan } if kept.get(plan) == Some(&true)),
            )
            .count();
        (covered < total).then_some((covered, total))
    }

    /// Accepted items in checklist order (the order the commits are made in).
    pub fn accepted(&self) -> Vec<String> {
        let Some(scan) = self.scan() else {
            return Vec::new();
        };
        scan.items
            .iter()
            .map(|i| i.item.id.clone())
            .filter(|id| self.decisions.get(id) == Some(&Decision::Accepted))
            .collect()
    }

    /// What `c` commits.
    pub fn commit_request(&self) -> CommitRequest {
        CommitRequest {
            items: self
                .accepted()
                .into_iter()
                .map(|id| {
                    let unchecked = self.unchecked.get(&id).cloned().unwrap_or_default();
                    (id, unchecked)
                })
                .collect(),
            exceptions: self
                .exceptions
                .iter()
                .map(|e| e.exception.clone())
                .collect(),
        }
    }

    /// The tests' verdict on the item's fix as it is accepted now, if they ran on it.
    pub fn verdict_of(&self, id: &str) -> Option<&VerdictView> {
        let (unchecked, verdict) = self.verdicts.get(id)?;
        let now = self.unchecked.get(id).cloned().unwrap_or_default();
        (*unchecked == now).then_some(verdict)
    }

    /// The tests are running.
    pub fn verifying(&self) -> bool {
        self.verify_run.as_ref().is_some_and(VerifyRun::running)
    }

    /// The diff of what the commit takes of an item: the checked findings' fixes only.
    pub fn diff_of(&self, id: &str) -> Option<Result<String, String>> {
        let fix = self.fix_of(id).filter(|f| f.has_fix())?;
        if self.decisions.get(id) != Some(&Decision::Accepted) {
            return Some(Ok(fix.diff.clone()));
        }
        let kept = self.kept(id);
        if !kept.iter().any(|k| *k) {
            return Some(Ok(fix.diff.clone()));
        }
        Some(fix.diff_for(&kept).map_err(|e| e.to_string()))
    }

    /// True when every item is not applicable: no Flask application was found.
    pub fn no_flask_app(&self) -> bool {
        self.scan().is_some_and(|s| {
            !s.items.is_empty() && s.items.iter().all(|i| i.status() == Status::NotApplicable)
        })
    }

    /// What is printed on the terminal after the interface closes.
    pub fn exit_summary(&self) -> Option<String> {
        let mut out = String::new();
        for c in &self.committed {
            let o = &c.outcome;
            out.push_str(&format!(
                "flask-harden: committed on branch {} (from {}):\n",
                o.branch, o.base
            ));
            for (id, subject) in &o.commits {
                out.push_str(&format!("  {id} {subject}\n"));
            }
            out.push_str(&format!("  switch to it: git switch {}\n", o.branch));
            out.push_str(&format!(
                "  push it:      git push -u origin {}\n",
                o.branch
            ));
        }
        let pending = self.accepted().len() + self.exceptions.len();
        if pending > 0 {
            out.push_str(&format!(
                "flask-harden: {pending} accepted change{} not committed.\n",
                if pending == 1 { " was" } else { "s were" }
            ));
        }
        (!out.is_empty()).then_some(out)
    }

    /// A frame was drawn: the spinner moves on.
    pub fn on_tick(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }

    pub fn update_worker(&mut self, msg: WorkerMsg) -> Vec<Effect> {
        match msg {
            WorkerMsg::Git(state) => self.git = Some(state),
            WorkerMsg::Scanned { generation, result } if generation == self.generation => {
                super::trace::event("scanned");
                self.scanning = false;
                match result {
                    Ok(report) => {
                        self.report = Some(*report);
                        let count = self.visible().len();
                        self.selected = self.selected.min(count.saturating_sub(1));
                    }
                    Err(e) => {
                        self.scan_error = Some(e);
                        self.fixes = FixesState::Failed(String::new());
                    }
                }
            }
            WorkerMsg::FixesStarted {
                generation,
                total,
                default_branch,
            } if generation == self.generation => {
                self.fixes = FixesState::Ready(FixesView {
                    items: Vec::new(),
                    default_branch,
                });
                self.fixes_progress = Some((0, total));
            }
            WorkerMsg::FixReady { generation, view } if generation == self.generation => {
                super::trace::event(&format!("fix-ready {}", view.item));
                if let FixesState::Ready(fixes) = &mut self.fixes {
                    fixes.items.push(*view);
                }
                if let Some((done, _)) = &mut self.fixes_progress {
                    *done += 1;
                }
            }
            WorkerMsg::Fixes { generation, result } if generation == self.generation => {
                super::trace::event("fixes-ready");
                self.fixes_progress = None;
                self.fixes = match result {
                    Ok(view) => {
                        // A decision about a fix that no longer exists is dropped.
                        self.decisions
                            .retain(|id, _| view.item(id).is_some_and(ItemFixView::has_fix));
                        let unchecked = std::mem::take(&mut self.unchecked);
                        self.unchecked = unchecked
                            .into_iter()
                            .filter(|(id, _)| self.decisions.contains_key(id))
                            .collect();
                        FixesState::Ready(view)
                    }
                    Err(e) => FixesState::Failed(e),
                };
            }
            WorkerMsg::Scanned { .. }
            | WorkerMsg::Fixes { .. }
            | WorkerMsg::FixesStarted { .. }
            | WorkerMsg::FixReady { .. } => {}
            WorkerMsg::Previewed { exception, result } => {
                if let Some(p) = self
                    .exceptions
                    .iter_mut()
                    .find(|p| p.exception == exception)
                {
                    if let Err(e) = &result {
                        self.message = Some(format!("{}: {e}", exception.title()));
                    }
                    p.diff = Some(result);
                }
                self.exceptions.retain(|p| !matches!(p.diff, Some(Err(_))));
            }
            WorkerMsg::Committed(Ok(outcome)) => {
                let mut items = self.accepted();
                items.extend(self.exceptions.iter().map(|e| e.exception.title()));
                self.committed.push(Committed {
                    outcome: outcome.clone(),
                    items,
                });
                self.decisions.clear();
                self.unchecked.clear();
                self.undo.clear();
                self.exceptions.clear();
                self.message = Some(format!(
                    "Committed {} commit{} on {}.",
                    outcome.commits.len(),
                    if outcome.commits.len() == 1 { "" } else { "s" },
                    outcome.branch
                ));
                self.popup = Some(Popup::Done(AfterCommit {
                    outcome,
                    rescan: None,
                }));
            }
            WorkerMsg::Committed(Err(error)) => {
                let branch = match &self.popup {
                    Some(Popup::Committing { branch }) => branch.clone(),
                    _ => String::new(),
                };
                self.message = Some(strings::COMMIT_FAILED.to_string());
                self.popup = Some(Popup::CommitFailed { error, branch });
            }
            WorkerMsg::VerifyEvent(event) => {
                if let Some(run) = self.verify_run.as_mut().filter(|r| r.running()) {
                    match event {
                        VerifyEvent::Status(text) => {
                            if !run.stopping {
                                run.status = text;
                            }
                        }
                        VerifyEvent::Line {
                            run: label, text, ..
                        } => {
                            if run.lines.len() == VERIFY_LINES {
                                run.lines.pop_front();
                            }
                            run.lines.push_back(format!("[{label}] {text}"));
                        }
                        VerifyEvent::Finished { run: label, result } => {
                            run.runs.push((label, result.summary()));
                        }
                    }
                }
            }
            WorkerMsg::Verified(result) => self.verified(result),
            WorkerMsg::Switched(result) => match result {
                Ok(branch) => {
                    self.message = Some(format!("Switched to branch {branch}."));
                    return self.rescan();
                }
                Err(e) => self.message = Some(format!("Could not switch: {e}")),
            },
            WorkerMsg::BranchScanned { branch, result } => {
                let before: Vec<(String, (Status, usize))> = self
                    .scan()
                    .map(|s| {
                        s.items
                            .iter()
                            .map(|i| (i.item.id.clone(), (i.status(), i.outcome.findings.len())))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(Popup::Done(done)) = &mut self.popup
                    && done.outcome.branch == branch
                {
                    done.rescan = Some(result.map(|after| {
                        before
                            .into_iter()
                            .map(|(item, before)| {
                                let after = after
                                    .items
                                    .iter()
                                    .find(|i| i.item.id == item)
                                    .map_or((Status::Error, 0), |i| {
                                        (i.status(), i.outcome.findings.len())
                                    });
                                BranchRow {
                                    item,
                                    before,
                                    after,
                                }
                            })
                            .collect()
                    }));
                }
            }
        }
        Vec::new()
    }

    pub fn update_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(popup) = self.popup.take() {
            return self.popup_key(popup, key);
        }
        if self.filter_editing {
            self.filter_key(key);
            return Vec::new();
        }
        let Some(action) = keys::action_in_pane(self.focus, &key) else {
            return Vec::new();
        };
        self.act(action)
    }

    pub fn update_mouse(&mut self, event: MouseEvent) -> Vec<Effect> {
        if !self.mouse || self.popup.is_some() || self.report.is_none() {
            return Vec::new();
        }
        let areas = ui::layout(self, Rect::new(0, 0, self.size.0, self.size.1));
        let at = Position::new(event.column, event.row);
        let pane = if areas.checklist.contains(at) {
            Pane::Checklist
        } else if areas.detail.contains(at) {
            Pane::Detail
        } else if areas.fix.contains(at) {
            Pane::Fix
        } else {
            return Vec::new();
        };
        match event.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let down = event.kind == MouseEventKind::ScrollDown;
                let focus = self.focus;
                self.focus = pane;
                let steps = if pane == Pane::Checklist { 1 } else { 3 };
                for _ in 0..steps {
                    match pane {
                        Pane::Checklist => {
                            self.navigate(if down { Action::Down } else { Action::Up })
                        }
                        _ => self.navigate(if down {
                            Action::LineDown
                        } else {
                            Action::LineUp
                        }),
                    }
                }
                self.focus = focus;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                match pane {
                    Pane::Checklist => {
                        let height = usize::from(areas.checklist.height.saturating_sub(2));
                        let offset = (self.selected + 1).saturating_sub(height);
                        let row = usize::from(event.row.saturating_sub(areas.checklist.y + 1));
                        let index = offset + row;
                        if event.row > areas.checklist.y && index < self.visible().len() {
                            self.select_item(index);
                        }
                    }
                    Pane::Fix => {
                        let view = ui::fix_view(self, areas.fix.width);
                        let (head, _, offset) = ui::fix_areas(self, &view, areas.fix);
                        if head.contains(at) {
                            let line = offset + usize::from(event.row - head.y);
                            if let Some(i) = view.finding_at(line) {
                                self.select_finding(i);
                            }
                        }
                    }
                    Pane::Detail => {}
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                if self.accepted().is_empty() && self.exceptions.is_empty() && !self.verifying() {
                    self.quit = true;
                } else {
                    self.popup = Some(Popup::ConfirmQuit);
                }
            }
            Action::Help => self.popup = Some(Popup::Help),
            Action::Rescan => {
                if !self.scanning {
                    self.message = Some(strings::RESCANNING.to_string());
                    return self.rescan();
                }
            }
            Action::NextPane => self.focus = next_pane(self.focus, 1),
            Action::PrevPane => self.focus = next_pane(self.focus, 2),
            Action::Open => {
                if self.selected_item().is_some() {
                    self.focus = Pane::Detail;
                }
            }
            Action::SideBySide => {
                self.side_by_side = !self.side_by_side;
                self.fix_scroll = 0;
                self.message = Some(if self.side_by_side {
                    strings::SPLIT_ON.to_string()
                } else {
                    strings::SPLIT_OFF.to_string()
                });
            }
            Action::Filter => self.filter_editing = true,
            Action::ToggleAccept => self.toggle_accept(),
            Action::ToggleFinding => self.toggle_finding(),
            Action::Skip => self.skip(),
            Action::Undo => self.undo_last(),
            Action::Commit => self.open_commit(),
            Action::Verify => self.open_verify(),
            Action::Edit => return self.edit(),
            Action::Copy => return self.copy(),
            Action::Ignore => self.open_ignore(),
            Action::Grow | Action::Shrink => {
                self.mode = match (action, self.mode) {
                    (Action::Grow, ScreenMode::Normal) => ScreenMode::Half,
                    (Action::Grow, _) => ScreenMode::Full,
                    (_, ScreenMode::Full) => ScreenMode::Half,
                    _ => ScreenMode::Normal,
                };
            }
            Action::Mouse => {
                self.mouse = !self.mouse;
                self.message = Some(if self.mouse {
                    strings::MOUSE_ON.to_string()
                } else {
                    strings::MOUSE_OFF.to_string()
                });
                return vec![Effect::Mouse(self.mouse)];
            }
            Action::NextHunk | Action::PrevHunk => self.jump_hunk(action == Action::NextHunk),
            Action::Left | Action::Right => {
                let x = if self.focus == Pane::Fix {
                    &mut self.fix_x
                } else {
                    &mut self.detail_x
                };
                *x = if action == Action::Left {
                    x.saturating_sub(8)
                } else {
                    (*x + 8).min(400)
                };
            }
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
            | Action::LineUp
            | Action::LineDown => self.navigate(action),
            Action::Confirm | Action::Cancel => {}
        }
        Vec::new()
    }

    fn select_item(&mut self, index: usize) {
        if index != self.selected {
            self.detail_scroll = 0;
            self.fix_scroll = 0;
            self.detail_x = 0;
            self.fix_x = 0;
            self.finding = 0;
        }
        self.selected = index;
    }

    /// Put the cursor on a finding and scroll the diff to its first hunk.
    fn select_finding(&mut self, index: usize) {
        self.finding = index;
        let width = ui::layout(self, Rect::new(0, 0, self.size.0, self.size.1))
            .fix
            .width;
        let view = ui::fix_view(self, width);
        if let Some(row) = view.hunk_of_finding(index) {
            self.fix_scroll = row.min(self.max_scroll(Pane::Fix));
        }
    }

    fn jump_hunk(&mut self, forward: bool) {
        let width = ui::layout(self, Rect::new(0, 0, self.size.0, self.size.1))
            .fix
            .width;
        let view = ui::fix_view(self, width);
        let target = if forward {
            view.anchors.iter().find(|a| a.row > self.fix_scroll)
        } else {
            view.anchors.iter().rev().find(|a| a.row < self.fix_scroll)
        };
        match target {
            Some(a) => {
                self.fix_scroll = a.row.min(self.max_scroll(Pane::Fix));
                self.message = Some(a.label.clone());
            }
            None => {
                self.message = Some(
                    if forward {
                        strings::LAST_HUNK
                    } else {
                        strings::FIRST_HUNK
                    }
                    .to_string(),
                )
            }
        }
    }

    fn navigate(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(8)).max(1);
        if self.focus == Pane::Fix && matches!(action, Action::Up | Action::Down) {
            let count = self
                .selected_item()
                .map_or(0, |i| self.finding_rows(i).len());
            if count > 0 {
                let new = match action {
                    Action::Up => self.finding.saturating_sub(1),
                    _ => (self.finding + 1).min(count - 1),
                };
                self.select_finding(new);
                return;
            }
        }
        let (pos, max) = match self.focus {
            Pane::Checklist => (self.selected, self.visible().len().saturating_sub(1)),
            Pane::Detail => (self.detail_scroll, self.max_scroll(Pane::Detail)),
            Pane::Fix => (self.fix_scroll, self.max_scroll(Pane::Fix)),
        };
        let new = match action {
            Action::Up | Action::LineUp => pos.saturating_sub(1),
            Action::Down | Action::LineDown => pos + 1,
            Action::Top => 0,
            Action::Bottom => max,
            Action::PageUp => pos.saturating_sub(page),
            Action::PageDown => pos + page,
            _ => pos,
        }
        .min(max);
        match self.focus {
            Pane::Checklist => self.select_item(new),
            Pane::Detail => self.detail_scroll = new,
            Pane::Fix => self.fix_scroll = new,
        }
    }

    /// The largest useful scroll offset of a pane at the current size.
    fn max_scroll(&self, pane: Pane) -> usize {
        let areas = ui::layout(self, Rect::new(0, 0, self.size.0, self.size.1));
        let (area, lines) = match pane {
            Pane::Detail => (
                areas.detail,
                ui::detail_lines(self, areas.detail.width).len(),
            ),
            Pane::Fix | Pane::Checklist => {
                let view = ui::fix_view(self, areas.fix.width);
                let (_, rest, _) = ui::fix_areas(self, &view, areas.fix);
                // The diff sits below a rule line.
                return view
                    .lines
                    .len()
                    .saturating_sub(usize::from(rest.height.saturating_sub(1)));
            }
        };
        lines.saturating_sub(usize::from(area.height.saturating_sub(2)))
    }

    fn remember(&mut self, id: &str) {
        let before = self.decisions.get(id).copied();
        let unchecked = self.unchecked.get(id).cloned().unwrap_or_default();
        self.undo.push((id.to_string(), before, unchecked));
    }

    fn set_decision(&mut self, id: &str, decision: Option<Decision>) {
        let before = self.decisions.get(id).copied();
        if before == decision && self.unchecked.get(id).is_none_or(BTreeSet::is_empty) {
            return;
        }
        self.remember(id);
        self.unchecked.remove(id);
        match decision {
            Some(d) => self.decisions.insert(id.to_string(), d),
            None => self.decisions.remove(id),
        };
    }

    /// The item's fix, or why there is none to act on (as the status line says it).
    fn ready_fix(&mut self, id: &str) -> Option<ItemFixView> {
        let fix = match &self.fixes {
            FixesState::Ready(view) => view.item(id).cloned(),
            _ => None,
        };
        match fix {
            Some(f) if f.has_fix() => Some(f),
            Some(_) => {
                self.message = Some(strings::NO_FIX_TO_ACCEPT.to_string());
                None
            }
            None if self.fixes_progress.is_some() || self.fixes == FixesState::Pending => {
                self.message = Some(strings::FIXES_NOT_READY.to_string());
                None
            }
            None => {
                self.message = Some(strings::NO_FIX_TO_ACCEPT.to_string());
                None
            }
        }
    }

    fn toggle_accept(&mut self) {
        let Some(id) = self.selected_item().map(|i| i.item.id.clone()) else {
            return;
        };
        if self.decisions.get(&id) == Some(&Decision::Accepted) {
            let whole = self.unchecked.get(&id).is_none_or(BTreeSet::is_empty);
            if whole {
                self.set_decision(&id, None);
                self.message = Some(format!("{id}: {}", strings::UNACCEPTED));
            } else {
                // A partial acceptance: space takes the whole fix, as in lazygit.
                self.remember(&id);
                self.unchecked.remove(&id);
                self.message = Some(format!("{id}: {}", strings::ACCEPTED_ALL));
            }
            return;
        }
        let Some(fix) = self.ready_fix(&id) else {
            return;
        };
        if fix.is_unsafe() {
            self.popup = Some(Popup::ConfirmUnsafe {
                item: id,
                unchecked: BTreeSet::new(),
            });
        } else {
            self.set_decision(&id, Some(Decision::Accepted));
            self.message = Some(format!("{id}: {}", strings::ACCEPTED_STATUS));
        }
    }

    /// Space in the fix pane: the fix of the finding under the cursor goes in or out.
    fn toggle_finding(&mut self) {
        let Some(id) = self.selected_item().map(|i| i.item.id.clone()) else {
            return;
        };
        let Some(row) = self.current_finding() else {
            return;
        };
        let plan = match &row.note {
            Some(FindingNote::Fixed { plan }) => *plan,
            Some(FindingNote::NotOffered(reason)) => {
                self.message = Some(format!("{}: {reason}", strings::NOT_OFFERED));
                return;
            }
            None => {
                self.message = Some(strings::FIXES_NOT_READY.to_string());
                return;
            }
        };
        let Some(fix) = self.ready_fix(&id) else {
            return;
        };
        let accepted = self.decisions.get(&id) == Some(&Decision::Accepted);
        let mut keep = if accepted {
            self.kept(&id)
        } else {
            vec![false; fix.plans.len()]
        };
        let Some(slot) = keep.get_mut(plan) else {
            return;
        };
        *slot = !*slot;
        let on = *slot;
        let changed = fix.settle(&mut keep, !on);
        if !keep.iter().any(|k| *k) {
            self.set_decision(&id, None);
            self.message = Some(format!("{id}: {}", strings::UNACCEPTED));
            return;
        }
        let unchecked: BTreeSet<String> = (0..fix.plans.len())
            .filter(|i| !keep[*i])
            .flat_map(|i| fix.plan_fingerprints(i).into_iter().map(str::to_string))
            .collect();
        let title = fix.plans.get(plan).map_or("", |p| p.title.as_str());
        let mut message = format!(
            "{}: {title}",
            if on {
                strings::CHECKED
            } else {
                strings::UNCHECKED
            }
        );
        let others: Vec<&str> = changed
            .iter()
            .filter(|i| **i != plan)
            .filter_map(|i| fix.plans.get(*i).map(|p| p.title.as_str()))
            .collect();
        if !others.is_empty() {
            message.push_str(&format!(
                " ({} too: {})",
                if on { "checked" } else { "unchecked" },
                others.join("; ")
            ));
        }
        let unsafe_new = on && fix.plans.get(plan).is_some_and(|p| p.unsafe_);
        if unsafe_new {
            self.popup = Some(Popup::ConfirmUnsafe {
                item: id,
                unchecked,
            });
            return;
        }
        self.remember(&id);
        self.decisions.insert(id.clone(), Decision::Accepted);
        self.unchecked.insert(id, unchecked);
        self.message = Some(message);
        // The diff changed: back to the finding's hunk in it.
        self.select_finding(self.finding);
    }

    fn skip(&mut self) {
        if let Some(id) = self.selected_item().map(|i| i.item.id.clone()) {
            self.set_decision(&id, Some(Decision::Skipped));
            self.message = Some(format!("{id}: {}", strings::SKIPPED_STATUS));
            let count = self.visible().len();
            if self.selected + 1 < count {
                self.select_item(self.selected + 1);
            }
        }
    }

    fn undo_last(&mut self) {
        let Some((id, before, unchecked)) = self.undo.pop() else {
            self.message = Some(strings::NOTHING_TO_UNDO.to_string());
            return;
        };
        match before {
            Some(d) => self.decisions.insert(id.clone(), d),
            None => self.decisions.remove(&id),
        };
        if unchecked.is_empty() {
            self.unchecked.remove(&id);
        } else {
            self.unchecked.insert(id.clone(), unchecked);
        }
        if let Some(pos) = self.visible().iter().position(|i| i.item.id == id) {
            self.select_item(pos);
        }
        self.message = Some(format!("{}: {id}", strings::UNDONE));
    }

    fn open_commit(&mut self) {
        if let Some(git) = &self.git
            && !git.is_repo
        {
            self.message = Some(strings::NOT_A_REPO_COMMIT.to_string());
            return;
        }
        if self.git.as_ref().is_some_and(|g| g.unborn) {
            self.message = Some(strings::UNBORN.to_string());
            return;
        }
        if self.accepted().is_empty() && self.exceptions.is_empty() {
            self.message = Some(strings::NOTHING_ACCEPTED.to_string());
            return;
        }
        let branch = match &self.fixes {
            FixesState::Ready(view) => view.default_branch.clone(),
            _ => String::new(),
        };
        self.popup = Some(Popup::Commit {
            branch: LineEdit::new(&branch),
            error: None,
        });
    }

    /// `T`: the live view of a run in progress (or of the last run's verdicts, until the
    /// choices change), or the dialog that starts one.
    fn open_verify(&mut self) {
        let items = self.commit_request().items;
        let shown = self
            .verify_run
            .as_ref()
            .is_some_and(|r| r.running() || r.tested == items);
        if shown {
            self.popup = Some(Popup::Verify);
            return;
        }
        if let Some(git) = &self.git
            && !git.is_repo
        {
            self.message = Some(strings::NOT_A_REPO_VERIFY.to_string());
            return;
        }
        if self.git.as_ref().is_some_and(|g| g.unborn) {
            self.message = Some(strings::UNBORN.to_string());
            return;
        }
        if self.accepted().is_empty() {
            self.message = Some(strings::NOTHING_TO_VERIFY.to_string());
            return;
        }
        self.popup = Some(Popup::ConfirmVerify);
    }

    /// The tests ended: their verdicts, and each fix that breaks a test is accepted no more
    /// (`u` or space accepts it again).
    fn verified(&mut self, result: Result<VerifyReport, String>) {
        let Some(run) = self.verify_run.as_mut().filter(|r| r.running()) else {
            return;
        };
        run.outcome = Some(result.clone());
        let tested = run.tested.clone();
        // The verdicts show up unless another dialog is open (then T shows them).
        if self.popup.is_none() {
            self.popup = Some(Popup::Verify);
        }
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                self.message = Some(format!("{}: {e}", strings::VERIFY_FAILED));
                return;
            }
        };
        let mut dropped = Vec::new();
        for verdict in &report.verdicts {
            let unchecked = tested
                .iter()
                .find(|(id, _)| *id == verdict.item)
                .map(|(_, u)| u.clone())
                .unwrap_or_default();
            let still_as_tested = self.decisions.get(&verdict.item) == Some(&Decision::Accepted)
                && self
                    .unchecked
                    .get(&verdict.item)
                    .cloned()
                    .unwrap_or_default()
                    == unchecked;
            if !verdict.passes && still_as_tested {
                self.set_decision(&verdict.item, None);
                dropped.push(verdict.item.clone());
            }
            self.verdicts
                .insert(verdict.item.clone(), (unchecked, verdict.clone()));
        }
        let passing = report.verdicts.iter().filter(|v| v.passes).count();
        self.message = Some(if dropped.is_empty() {
            format!(
                "{passing} fix{} tested: no test newly broken.",
                if passing == 1 { "" } else { "es" }
            )
        } else {
            format!(
                "{}: {} ({})",
                dropped.join(", "),
                strings::VERIFY_BREAKS,
                strings::VERIFY_REACCEPT
            )
        });
    }

    fn edit(&mut self) -> Vec<Effect> {
        let Some(row) = self.current_finding() else {
            self.message = Some(strings::NO_FINDING.to_string());
            return Vec::new();
        };
        if row.finding.is_none() {
            self.message = Some(strings::NOT_ON_DISK.to_string());
            return Vec::new();
        }
        vec![Effect::Edit {
            path: row.path,
            line: row.line,
        }]
    }

    /// The editor returned: say so, and scan the files again (the fixes come from HEAD, which
    /// the editor did not change).
    pub fn edited(&mut self, path: &str, result: Result<(), String>) -> Vec<Effect> {
        match result {
            Ok(()) => {
                self.message = Some(format!("{}: {path}", strings::EDITED));
                self.scanning = true;
                self.progress = ScanProgress::new();
                vec![Effect::ScanFiles {
                    generation: self.generation,
                }]
            }
            Err(e) => {
                self.message = Some(e);
                Vec::new()
            }
        }
    }

    fn copy(&mut self) -> Vec<Effect> {
        let Some(row) = self.current_finding() else {
            self.message = Some(strings::NO_FINDING.to_string());
            return Vec::new();
        };
        let text = format!("{}:{}", row.path, row.line);
        self.message = Some(format!("{}: {text}", strings::COPIED));
        vec![Effect::Copy(text)]
    }

    fn open_ignore(&mut self) {
        let Some(row) = self.current_finding() else {
            self.message = Some(strings::NO_FINDING.to_string());
            return;
        };
        let Some(finding) = row.finding else {
            self.message = Some(strings::NOT_ON_DISK.to_string());
            return;
        };
        self.popup = Some(Popup::Ignore {
            finding: Box::new(finding),
            target: IgnoreTarget::Line,
            reason: LineEdit::default(),
            error: None,
        });
    }

    fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter.clear();
                self.filter_editing = false;
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.push(c)
            }
            _ => {}
        }
        self.select_item(0);
    }

    /// A key while a popup is open; `popup` has been taken out of `self.popup` and is put back
    /// unless the key closes it.
    fn popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Effect> {
        match popup {
            // Any key closes the help.
            Popup::Help => {}
            Popup::Committing { .. } => self.popup = Some(popup),
            Popup::CommitFailed { error, branch } => {
                if keys::action_in_dialog(&key).is_some() || key.code == KeyCode::Char('q') {
                    // Back to the dialog, with what the user typed and why it failed.
                    self.popup = Some(Popup::Commit {
                        branch: LineEdit::new(&branch),
                        error: Some(error),
                    });
                } else {
                    self.popup = Some(Popup::CommitFailed { error, branch });
                }
            }
            Popup::Done(done) => {
                let clean = self.git.as_ref().is_some_and(|g| !g.dirty);
                if key.code == KeyCode::Char('s') && clean {
                    self.message = Some(format!("Switching to {}…", done.outcome.branch));
                    return vec![Effect::Switch {
                        branch: done.outcome.branch,
                    }];
                }
                if keys::action_in_dialog(&key).is_some() || key.code == KeyCode::Char('q') {
                    return self.rescan();
                }
                self.popup = Some(Popup::Done(done));
            }
            Popup::ConfirmVerify => match keys::action_in_dialog(&key) {
                Some(Action::Confirm) => {
                    let request = CommitRequest {
                        exceptions: Vec::new(),
                        ..self.commit_request()
                    };
                    self.verify_run = Some(VerifyRun {
                        tested: request.items.clone(),
                        status: strings::VERIFY_STARTING.to_string(),
                        lines: VecDeque::new(),
                        runs: Vec::new(),
                        outcome: None,
                        stopping: false,
                    });
                    self.popup = Some(Popup::Verify);
                    return vec![Effect::Verify { request }];
                }
                Some(_) => self.message = Some(strings::VERIFY_CANCELLED.to_string()),
                None => self.popup = Some(popup),
            },
            Popup::Verify => {
                let running = self.verifying();
                if running && key.code == KeyCode::Char('x') {
                    if let Some(run) = &mut self.verify_run {
                        run.stopping = true;
                        run.status = strings::VERIFY_STOPPING.to_string();
                    }
                    self.popup = Some(popup);
                    return vec![Effect::StopVerify];
                }
                if !running && key.code == KeyCode::Char('T') {
                    // Once more, on the choices as they are now.
                    self.verify_run = None;
                    self.open_verify();
                    return Vec::new();
                }
                if keys::action_in_dialog(&key).is_some() || key.code == KeyCode::Char('q') {
                    if running {
                        self.message = Some(strings::VERIFY_IN_BACKGROUND.to_string());
                    }
                    return Vec::new();
                }
                self.popup = Some(popup);
            }
            Popup::ConfirmQuit => match keys::action_in_dialog(&key) {
                Some(Action::Confirm) => self.quit = true,
                Some(_) => {}
                None => self.popup = Some(popup),
            },
            Popup::ConfirmUnsafe { item, unchecked } => match keys::action_in_dialog(&key) {
                Some(Action::Confirm) => {
                    self.remember(&item);
                    self.decisions.insert(item.clone(), Decision::Accepted);
                    if unchecked.is_empty() {
                        self.unchecked.remove(&item);
                    } else {
                        self.unchecked.insert(item.clone(), unchecked);
                    }
                    self.message = Some(format!("{item}: {}", strings::ACCEPTED_STATUS));
                }
                Some(_) => self.message = Some(strings::NOT_ACCEPTED_STATUS.to_string()),
                None => self.popup = Some(Popup::ConfirmUnsafe { item, unchecked }),
            },
            Popup::Commit { mut branch, .. } => {
                // The branch name is a text field: letters go into it; only enter and esc act.
                if key.code == KeyCode::Esc || keys::is_interrupt(&key) {
                    self.message = Some(strings::COMMIT_CANCELLED.to_string());
                    return Vec::new();
                }
                if key.code == KeyCode::Enter {
                    let name = branch.text();
                    if let Err(e) = check_branch(&name) {
                        self.popup = Some(Popup::Commit {
                            branch,
                            error: Some(e),
                        });
                        return Vec::new();
                    }
                    self.popup = Some(Popup::Committing {
                        branch: name.clone(),
                    });
                    return vec![Effect::Commit {
                        request: self.commit_request(),
                        branch: name,
                    }];
                }
                let error = match branch.key(&key, branch_char) {
                    Edited::Refused(reason) => Some(reason),
                    Edited::Changed | Edited::NotMine => None,
                };
                self.popup = Some(Popup::Commit { branch, error });
            }
            Popup::Ignore {
                finding,
                mut target,
                mut reason,
                ..
            } => {
                if key.code == KeyCode::Esc || keys::is_interrupt(&key) {
                    self.message = Some(strings::IGNORE_CANCELLED.to_string());
                    return Vec::new();
                }
                if key.code == KeyCode::Tab {
                    target = next_target(&finding.path, &target);
                    self.popup = Some(Popup::Ignore {
                        finding,
                        target,
                        reason,
                        error: None,
                    });
                    return Vec::new();
                }
                if key.code == KeyCode::Enter {
                    let text = reason.text().trim().to_string();
                    if text.is_empty() && target == IgnoreTarget::Line {
                        self.popup = Some(Popup::Ignore {
                            finding,
                            target,
                            reason,
                            error: Some(strings::REASON_NEEDED.to_string()),
                        });
                        return Vec::new();
                    }
                    let exception = match target {
                        IgnoreTarget::Line => Exception::Ignore {
                            rule: finding.rule.clone(),
                            path: finding.path.clone(),
                            line: finding.line,
                            code: finding.code.lines().next().unwrap_or("").to_string(),
                            reason: text,
                        },
                        IgnoreTarget::Folder(folder) => Exception::Exclude { folder },
                    };
                    if self.exceptions.iter().any(|p| p.exception == exception) {
                        self.message = Some(strings::IGNORE_ALREADY.to_string());
                        return Vec::new();
                    }
                    self.message = Some(format!(
                        "{}: {} ({})",
                        strings::IGNORE_ADDED,
                        exception.title(),
                        strings::IGNORE_COMMIT_HINT
                    ));
                    self.exceptions.push(PendingException {
                        exception: exception.clone(),
                        diff: None,
                    });
                    return vec![Effect::Preview(exception)];
                }
                let error = match reason.key(&key, |c| {
                    if c.is_control() {
                        Err(strings::NO_CONTROL.to_string())
                    } else {
                        Ok(())
                    }
                }) {
                    Edited::Refused(r) => Some(r),
                    _ => None,
                };
                self.popup = Some(Popup::Ignore {
                    finding,
                    target,
                    reason,
                    error,
                });
            }
        }
        Vec::new()
    }
}

/// Tab in the ignore dialog: the line, then each folder the file is in, innermost first.
fn next_target(path: &str, target: &IgnoreTarget) -> IgnoreTarget {
    let folders: Vec<String> = {
        let parts: Vec<&str> = path.split('/').collect();
        (1..parts.len())
            .rev()
            .map(|n| parts[..n].join("/"))
            .collect()
    };
    match target {
        IgnoreTarget::Line => folders
            .first()
            .cloned()
            .map_or(IgnoreTarget::Line, IgnoreTarget::Folder),
        IgnoreTarget::Folder(f) => {
            let pos = folders.iter().position(|x| x == f);
            match pos.and_then(|p| folders.get(p + 1)) {
                Some(next) => IgnoreTarget::Folder(next.clone()),
                None => IgnoreTarget::Line,
            }
        }
    }
}

/// Characters no git branch name may hold, refused as they are typed.
fn branch_char(c: char) -> Result<(), String> {
    if c.is_whitespace() {
        return Err(strings::BRANCH_NO_SPACE.to_string());
    }
    if c.is_control() || "~^:?*[\\".contains(c) {
        return Err(format!("{c:?} {}", strings::BRANCH_BAD_CHAR));
    }
    Ok(())
}

/// A whole branch name, as `git check-ref-format --branch` checks it.
fn check_branch(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(strings::BRANCH_EMPTY.to_string());
    }
    crate::git::validate_branch_name(name).map_err(|e| e.to_string())
}

fn status_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Pass => 2,
        Status::NotApplicable => 3,
    }
}

fn next_pane(pane: Pane, steps: usize) -> Pane {
    const ORDER: [Pane; 3] = [Pane::Checklist, Pane::Detail, Pane::Fix];
    let pos = ORDER.iter().position(|p| *p == pane).unwrap_or(0);
    ORDER[(pos + steps) % ORDER.len()]
}
