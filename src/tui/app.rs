//! The model and `update`: every change of state happens here, from a message.

use std::collections::HashMap;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixes::{CommitOutcome, FixesView, GitState, ItemFixView};
use super::keys::{self, Action, Pane};
use super::strings;
use super::theme::Theme;
use super::ui;
use super::worker::{Effect, ScanProgress, ScanReport, WorkerMsg};
use crate::finding::Status;
use crate::scan::{ItemResult, ScanResult};

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

#[derive(Debug, Clone)]
pub enum Popup {
    Help,
    Commit { branch: String },
    ConfirmUnsafe { item: String },
    ConfirmQuit,
    Committing,
    CommitFailed(String),
    Done(AfterCommit),
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
    pub git: Option<GitState>,
    pub decisions: HashMap<String, Decision>,
    /// (item, decision before) for `u`.
    undo: Vec<(String, Option<Decision>)>,
    /// Index into [`App::visible`].
    pub selected: usize,
    pub focus: Pane,
    pub detail_scroll: usize,
    pub fix_scroll: usize,
    pub side_by_side: bool,
    pub filter: String,
    pub filter_editing: bool,
    pub popup: Option<Popup>,
    /// One line of feedback in the footer, until the next key.
    pub message: Option<String>,
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
            git: None,
            decisions: HashMap::new(),
            undo: Vec::new(),
            selected: 0,
            focus: Pane::Checklist,
            detail_scroll: 0,
            fix_scroll: 0,
            side_by_side: false,
            filter: String::new(),
            filter_editing: false,
            popup: None,
            message: None,
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

    /// True when every item is not applicable: no Flask application was found.
    pub fn no_flask_app(&self) -> bool {
        self.scan().is_some_and(|s| {
            !s.items.is_empty() && s.items.iter().all(|i| i.status() == Status::NotApplicable)
        })
    }

    pub fn update_worker(&mut self, msg: WorkerMsg) -> Vec<Effect> {
        match msg {
            WorkerMsg::Git(state) => self.git = Some(state),
            WorkerMsg::Scanned { generation, result } if generation == self.generation => {
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
            WorkerMsg::Fixes { generation, result } if generation == self.generation => {
                self.fixes = match result {
                    Ok(view) => {
                        // A decision about a fix that no longer exists is dropped.
                        self.decisions
                            .retain(|id, _| view.item(id).is_some_and(ItemFixView::has_fix));
                        FixesState::Ready(view)
                    }
                    Err(e) => FixesState::Failed(e),
                };
            }
            WorkerMsg::Scanned { .. } | WorkerMsg::Fixes { .. } => {}
            WorkerMsg::Committed(Ok(outcome)) => {
                self.decisions.clear();
                self.undo.clear();
                self.popup = Some(Popup::Done(AfterCommit {
                    outcome,
                    rescan: None,
                }));
            }
            WorkerMsg::Committed(Err(e)) => self.popup = Some(Popup::CommitFailed(e)),
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
        self.message = None;
        if let Some(popup) = self.popup.clone() {
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

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                if self.accepted().is_empty() {
                    self.quit = true;
                } else {
                    self.popup = Some(Popup::ConfirmQuit);
                }
            }
            Action::Help => self.popup = Some(Popup::Help),
            Action::Rescan => {
                if !self.scanning {
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
            }
            Action::Filter => self.filter_editing = true,
            Action::ToggleAccept => self.toggle_accept(),
            Action::Skip => self.skip(),
            Action::Undo => self.undo_last(),
            Action::Commit => self.open_commit(),
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => self.navigate(action),
            Action::Confirm | Action::Cancel => {}
        }
        Vec::new()
    }

    fn navigate(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(8)).max(1);
        let (pos, max) = match self.focus {
            Pane::Checklist => (self.selected, self.visible().len().saturating_sub(1)),
            Pane::Detail => (self.detail_scroll, self.max_scroll(Pane::Detail)),
            Pane::Fix => (self.fix_scroll, self.max_scroll(Pane::Fix)),
        };
        let new = match action {
            Action::Up => pos.saturating_sub(1),
            Action::Down => pos + 1,
            Action::Top => 0,
            Action::Bottom => max,
            Action::PageUp => pos.saturating_sub(page),
            Action::PageDown => pos + page,
            _ => pos,
        }
        .min(max);
        match self.focus {
            Pane::Checklist => {
                if new != self.selected {
                    self.detail_scroll = 0;
                    self.fix_scroll = 0;
                }
                self.selected = new;
            }
            Pane::Detail => self.detail_scroll = new,
            Pane::Fix => self.fix_scroll = new,
        }
    }

    /// The largest useful scroll offset of a pane at the current size.
    fn max_scroll(&self, pane: Pane) -> usize {
        let areas = ui::layout(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        let (area, lines) = match pane {
            Pane::Detail => (
                areas.detail,
                ui::detail_lines(self, areas.detail.width).len(),
            ),
            Pane::Fix | Pane::Checklist => (areas.fix, ui::fix_lines(self, areas.fix.width).len()),
        };
        lines.saturating_sub(usize::from(area.height.saturating_sub(2)))
    }

    fn set_decision(&mut self, id: &str, decision: Option<Decision>) {
        let before = self.decisions.get(id).copied();
        if before == decision {
            return;
        }
        self.undo.push((id.to_string(), before));
        match decision {
            Some(d) => self.decisions.insert(id.to_string(), d),
            None => self.decisions.remove(id),
        };
    }

    fn toggle_accept(&mut self) {
        let Some(id) = self.selected_item().map(|i| i.item.id.clone()) else {
            return;
        };
        if self.decisions.get(&id) == Some(&Decision::Accepted) {
            self.set_decision(&id, None);
            return;
        }
        let fix = match &self.fixes {
            FixesState::Ready(view) => view.item(&id).filter(|f| f.has_fix()),
            _ => {
                self.message = Some(strings::FIXES_NOT_READY.to_string());
                return;
            }
        };
        match fix {
            None => self.message = Some(strings::NO_FIX_TO_ACCEPT.to_string()),
            Some(f) if f.is_unsafe() => self.popup = Some(Popup::ConfirmUnsafe { item: id }),
            Some(_) => self.set_decision(&id, Some(Decision::Accepted)),
        }
    }

    fn skip(&mut self) {
        if let Some(id) = self.selected_item().map(|i| i.item.id.clone()) {
            self.set_decision(&id, Some(Decision::Skipped));
            let count = self.visible().len();
            if self.selected + 1 < count {
                self.selected += 1;
                self.detail_scroll = 0;
                self.fix_scroll = 0;
            }
        }
    }

    fn undo_last(&mut self) {
        if let Some((id, before)) = self.undo.pop() {
            match before {
                Some(d) => self.decisions.insert(id.clone(), d),
                None => self.decisions.remove(&id),
            };
            if let Some(pos) = self.visible().iter().position(|i| i.item.id == id) {
                self.selected = pos;
            }
        }
    }

    fn open_commit(&mut self) {
        if self.accepted().is_empty() {
            self.message = Some(strings::NOTHING_ACCEPTED.to_string());
            return;
        }
        let branch = match &self.fixes {
            FixesState::Ready(view) => view.default_branch.clone(),
            _ => String::new(),
        };
        self.popup = Some(Popup::Commit { branch });
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
        self.selected = 0;
    }

    fn popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Effect> {
        match popup {
            Popup::Help => {
                // Any key closes the help; `?` toggles it.
                self.popup = None;
            }
            Popup::Committing => {}
            Popup::CommitFailed(_) | Popup::Done(_) => {
                if keys::action_in_dialog(&key).is_some() || key.code == KeyCode::Char('q') {
                    self.popup = None;
                    if matches!(popup, Popup::Done(_)) {
                        return self.rescan();
                    }
                }
            }
            Popup::ConfirmQuit => match keys::action_in_dialog(&key) {
                Some(Action::Confirm) => self.quit = true,
                Some(_) => self.popup = None,
                None => {}
            },
            Popup::ConfirmUnsafe { item } => match keys::action_in_dialog(&key) {
                Some(Action::Confirm) => {
                    self.set_decision(&item, Some(Decision::Accepted));
                    self.popup = None;
                }
                Some(_) => self.popup = None,
                None => {}
            },
            Popup::Commit { mut branch } => {
                // The branch name is a text field: letters go into it; only enter and esc act.
                match key.code {
                    KeyCode::Esc => self.popup = None,
                    _ if keys::is_interrupt(&key) => self.popup = None,
                    KeyCode::Enter => {
                        let branch = branch.trim().to_string();
                        if branch.is_empty() {
                            return Vec::new();
                        }
                        self.popup = Some(Popup::Committing);
                        return vec![Effect::Commit {
                            accepted: self.accepted(),
                            branch,
                        }];
                    }
                    KeyCode::Backspace => {
                        branch.pop();
                        self.popup = Some(Popup::Commit { branch });
                    }
                    KeyCode::Char(c)
                        if !key.modifiers.contains(KeyModifiers::CONTROL) && !c.is_whitespace() =>
                    {
                        branch.push(c);
                        self.popup = Some(Popup::Commit { branch });
                    }
                    _ => {}
                }
            }
        }
        Vec::new()
    }
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
