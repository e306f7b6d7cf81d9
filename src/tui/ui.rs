//! Drawing: pure functions of the model. Nothing here changes state or touches the disk.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, Decision, FixesState, IgnoreTarget, Popup, ScreenMode};
use super::diff;
use super::fixes::FindingNote;
use super::keys::{self, Pane, Scope};
use super::strings as s;
use super::theme::Theme;
use crate::finding::Status;
use crate::scan::ItemResult;
use crate::text::{escape_line, escape_text};

/// Below this the main screen does not fit; a message asks for a larger terminal.
pub const MIN_SIZE: (u16, u16) = (40, 12);

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub checklist: Rect,
    pub detail: Rect,
    pub fix: Rect,
    pub status: Rect,
    pub footer: Rect,
}

/// Where each part of the main screen goes. `update` uses it too, to bound scrolling and to
/// find what a click hits.
pub fn layout(app: &App, area: Rect) -> Areas {
    let banner = banner_lines(app, area.width).len() as u16;
    let status = status_lines(app, area.width).len() as u16;
    let [title, banner, main, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner.min(area.height / 4)),
        Constraint::Min(3),
        Constraint::Length(status),
        Constraint::Length(1),
    ])
    .areas(area);
    let none = Rect::new(main.x, main.y, 0, 0);
    let normal_left = (area.width / 5 * 2).clamp(30.min(area.width), 40);
    let left = match (app.mode, app.focus) {
        (ScreenMode::Normal, _) => normal_left,
        (ScreenMode::Half, Pane::Checklist) => area.width / 2,
        (ScreenMode::Full, Pane::Checklist) => area.width,
        (_, _) => 0,
    };
    let [checklist, right] =
        Layout::horizontal([Constraint::Length(left), Constraint::Fill(1)]).areas(main);
    let (detail, fix) = match (app.mode, app.focus) {
        (ScreenMode::Full, Pane::Checklist) => (none, none),
        (ScreenMode::Full, Pane::Detail) => (right, none),
        (ScreenMode::Full, Pane::Fix) => (none, right),
        _ => {
            // The pane that has the focus gets the larger share of the right side.
            let detail_share = if app.focus == Pane::Detail { 65 } else { 35 };
            let [detail, fix] = Layout::vertical([
                Constraint::Percentage(detail_share),
                Constraint::Percentage(100 - detail_share),
            ])
            .areas(right);
            (detail, fix)
        }
    };
    Areas {
        title,
        banner,
        checklist,
        detail,
        fix,
        status,
        footer,
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        frame.render_widget(
            Paragraph::new(format!(
                "Terminal too small: {}×{} (needs {}×{}).",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            )),
            area,
        );
        return;
    }
    if let Some(error) = &app.scan_error {
        draw_message(frame, app, s::SCAN_FAILED, std::slice::from_ref(error));
    } else if app.report.is_none() {
        draw_scanning(frame, app);
    } else if app.no_flask_app() {
        draw_no_flask(frame, app);
    } else {
        draw_main(frame, app);
    }
    if let Some(popup) = &app.popup {
        draw_popup(frame, app, popup);
    }
}

fn status_word(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Pass => ("✓", "pass"),
        Status::Fail => ("✗", "fail"),
        Status::NotApplicable => ("–", "n/a"),
        Status::Error => ("!", "error"),
    }
}

fn title_line(app: &App) -> Line<'static> {
    let theme = app.theme;
    let mut spans = vec![
        Span::styled(format!(" {} ", s::APP), theme.heading()),
        Span::raw(format!("· {} ", escape_line(&app.root_label))),
    ];
    // Work in progress first: the counts after it may be cut on a narrow terminal.
    match app.fixes_progress {
        Some((done, total)) => spans.push(Span::styled(
            format!("· {} {} {done}/{total} ", spinner(app), s::FIX_PREPARING),
            theme.dim(),
        )),
        None if app.fixes == FixesState::Pending && app.report.is_some() => {
            spans.push(Span::styled(
                format!("· {} {} ", spinner(app), s::FIX_PREPARING),
                theme.dim(),
            ))
        }
        None => {}
    }
    if app.verifying() {
        spans.push(Span::styled(
            format!("· {} testing the fixes (T) ", spinner(app)),
            theme.dim(),
        ));
    }
    let accepted = app.accepted().len();
    if accepted > 0 {
        spans.push(Span::styled(
            format!("· {accepted} accepted "),
            theme.accepted(),
        ));
    }
    if let Some(scan) = app.scan() {
        let count = |st: Status| scan.items.iter().filter(|i| i.status() == st).count();
        let findings: usize = scan.items.iter().map(|i| i.outcome.findings.len()).sum();
        spans.push(Span::raw("· "));
        spans.push(Span::styled(
            format!("{} fail", count(Status::Fail)),
            theme.status(Status::Fail),
        ));
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("{} pass", count(Status::Pass)),
            theme.status(Status::Pass),
        ));
        spans.push(Span::raw(format!(
            " · {} · {}",
            s::findings_count(findings),
            s::files_count(scan.files_scanned)
        )));
    }
    if !app.exceptions.is_empty() {
        spans.push(Span::styled(
            format!(" · {} suppressed", app.exceptions.len()),
            theme.accepted(),
        ));
    }
    if app.scanning && app.report.is_some() {
        spans.push(Span::raw(format!(" · {}", progress_text(app))));
    }

    Line::from(spans)
}

/// Warnings shown under the title: dirty tree, no repository, detached HEAD, scan diagnostics;
/// wrapped to `width`.
pub fn banner_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = app.theme;
    let mut texts = Vec::new();
    if let Some(git) = &app.git {
        if !git.is_repo {
            texts.push(s::NOT_A_REPO.to_string());
        } else if git.unborn {
            texts.push(s::UNBORN.to_string());
        } else {
            if git.detached {
                texts.push(s::DETACHED.to_string());
            }
            if git.dirty {
                texts.push(s::DIRTY.to_string());
            }
        }
    }
    if let FixesState::Failed(e) = &app.fixes
        && !e.is_empty()
    {
        texts.push(format!("Fixes could not be prepared: {e}"));
    }
    if let Some(scan) = app.scan()
        && !scan.diagnostics.is_empty()
    {
        let n = scan.diagnostics.len();
        let first = &scan.diagnostics[0];
        texts.push(format!(
            "{n} file{} {}: {}: {}{}",
            if n == 1 { "" } else { "s" },
            s::DIAGNOSTICS,
            first.path,
            first.message,
            if n > 1 {
                " (and more: see flask-harden check)"
            } else {
                ""
            }
        ));
    }
    let mut out = Vec::new();
    for text in texts {
        for (i, part) in wrap(&text, usize::from(width).saturating_sub(4))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { " ⚠ " } else { "   " };
            out.push(Line::styled(format!("{lead}{part}"), theme.banner()));
        }
    }
    out
}

/// The status line: what the last action did (wrapped text is cut here: one line; the full
/// text of anything long is in the panes).
/// The status line: what the last action did, wrapped over up to three lines.
pub fn status_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let Some(message) = &app.message else {
        return vec![Line::default()];
    };
    let mut out = Vec::new();
    wrapped(
        &mut out,
        message,
        usize::from(width),
        " ",
        app.theme.heading(),
    );
    out.truncate(3);
    out
}

fn footer_line(app: &App, width: u16) -> Line<'static> {
    let theme = app.theme;
    if app.filter_editing {
        return Line::from(vec![
            Span::styled(format!(" / {}: ", s::FILTER), theme.key()),
            Span::raw(format!("{}█", app.filter)),
            Span::styled("  enter done · esc clear", theme.dim()),
        ]);
    }
    let mut lead = String::from(" ");
    if !app.filter.is_empty() {
        lead.push_str(&format!("[{}: {}] ", s::FILTER, app.filter));
    }
    // The focused pane's own keys first, then the ones that work everywhere; when they do not
    // fit, the last ones go, but never commit, help and quit.
    let pane_scope = app.focus.scope();
    let (own, global): (Vec<&keys::Binding>, Vec<&keys::Binding>) =
        keys::footer(app.focus).partition(|b| b.scope == pane_scope);
    let mut hints: Vec<&keys::Binding> = own.into_iter().chain(global).collect();
    let cost = |b: &keys::Binding| b.label.chars().count() + b.hint.chars().count() + 3;
    let room = usize::from(width).saturating_sub(lead.chars().count());
    while hints.iter().map(|b| cost(b)).sum::<usize>() > room {
        match hints
            .iter()
            .rposition(|b| !keys::ESSENTIAL.contains(&b.action))
        {
            Some(i) => {
                hints.remove(i);
            }
            None => break,
        }
    }
    let mut spans = vec![Span::styled(lead, theme.key())];
    for b in hints {
        spans.push(Span::styled(b.label, theme.key()));
        spans.push(Span::raw(format!(" {}  ", b.hint)));
    }
    Line::from(spans)
}

fn pane_block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    let marker = if focused { "▶ " } else { "" };
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {marker}{title} "), theme.heading()))
}

/// `12–30/120`: where a scrolled pane is, for its bottom border.
fn position(scroll: usize, height: u16, total: usize) -> String {
    let height = usize::from(height.saturating_sub(2));
    if total <= height {
        return String::new();
    }
    let last = (scroll + height).min(total);
    format!(" {}–{last}/{total} ", scroll + 1)
}

fn draw_main(frame: &mut Frame, app: &App) {
    let areas = layout(app, frame.area());
    frame.render_widget(Paragraph::new(title_line(app)), areas.title);
    frame.render_widget(
        Paragraph::new(banner_lines(app, areas.banner.width)),
        areas.banner,
    );
    if areas.checklist.width > 0 {
        draw_checklist(frame, app, areas.checklist);
    }
    if areas.detail.height > 0 && areas.detail.width > 0 {
        let detail = detail_lines(app, areas.detail.width);
        let pos = position(app.detail_scroll, areas.detail.height, detail.len());
        frame.render_widget(
            Paragraph::new(detail)
                .block(
                    pane_block(s::DETAIL.to_string(), app.focus == Pane::Detail, app.theme)
                        .title_bottom(Line::from(pos).right_aligned()),
                )
                .scroll((clamp_u16(app.detail_scroll), 0)),
            areas.detail,
        );
    }
    if areas.fix.height > 0 && areas.fix.width > 0 {
        let view = fix_view(app, areas.fix.width);
        let title = if !app.side_by_side {
            s::FIX_UNIFIED.to_string()
        } else if diff::side_by_side_fits(areas.fix.width.saturating_sub(2)) {
            s::FIX_SPLIT.to_string()
        } else {
            format!("Fix · {}", s::SPLIT_NARROW)
        };
        let (head, rest, offset) = fix_areas(app, &view, areas.fix);
        let mut bottom = position(
            app.fix_scroll.min(view.lines.len().saturating_sub(1)),
            rest.height + 1,
            view.lines.len(),
        );
        let scroll = app.fix_scroll.min(view.lines.len().saturating_sub(1));
        if let Some(label) = view.anchor_at(scroll) {
            bottom = format!(" {label} ·{bottom}");
        }
        frame.render_widget(
            pane_block(title, app.focus == Pane::Fix, app.theme)
                .title_bottom(Line::from(bottom).right_aligned()),
            areas.fix,
        );
        frame.render_widget(
            Paragraph::new(view.head).scroll((clamp_u16(offset), 0)),
            head,
        );
        if rest.height > 0 {
            let rule = Block::default()
                .borders(Borders::TOP)
                .border_style(app.theme.dim());
            let diff_area = rule.inner(rest);
            frame.render_widget(rule, rest);
            frame.render_widget(
                Paragraph::new(view.lines).scroll((clamp_u16(scroll), 0)),
                diff_area,
            );
        }
    }
    frame.render_widget(
        Paragraph::new(status_lines(app, areas.status.width)),
        areas.status,
    );
    frame.render_widget(
        Paragraph::new(footer_line(app, areas.footer.width)),
        areas.footer,
    );
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// One checklist row: selection, decision, status symbol and word, severity, findings, id.
/// `[~]` marks an accepted fix that covers only part of the findings; the count then reads
/// `covered/all`.
pub fn checklist_row(app: &App, item: &ItemResult, selected: bool) -> Line<'static> {
    let theme = app.theme;
    let status = item.status();
    let (symbol, word) = status_word(status);
    let id = &item.item.id;
    let fix = app.fix_of(id).filter(|f| f.has_fix());
    let partial = fix.and_then(|_| app.partial(item));
    let committed = app
        .committed
        .last()
        .is_some_and(|c| c.items.iter().any(|i| i == id));
    let preparing = fix.is_none() && app.fixes_progress.is_some() && app.fix_of(id).is_none();
    let decision = match (app.decisions.get(id), fix) {
        (Some(Decision::Accepted), _) if partial.is_some() => Span::styled("[~]", theme.accepted()),
        (Some(Decision::Accepted), _) => Span::styled("[x]", theme.accepted()),
        (Some(Decision::Skipped), _) => Span::styled("[s]", theme.dim()),
        (None, _) if committed => Span::styled("[c]", theme.accepted()),
        (None, Some(f)) if f.is_unsafe() => Span::styled("[!]", theme.unsafe_fix()),
        (None, Some(_)) => Span::raw("[ ]"),
        (None, None) if preparing && !item.outcome.findings.is_empty() => {
            Span::styled(format!(" {} ", spinner(app)), theme.dim())
        }
        (None, None) => Span::raw("   "),
    };
    let severity = item.item.severity.as_str().chars().next().unwrap_or(' ');
    let count = item.outcome.findings.len();
    let count_text = match partial {
        Some((covered, all)) => format!(" {covered}/{all} "),
        None if count > 0 => format!(" {count:>2} "),
        None => "    ".to_string(),
    };
    let mut spans = vec![
        Span::raw(if selected { ">" } else { " " }),
        decision,
        Span::styled(format!(" {symbol} {word:<5}"), theme.status(status)),
        Span::styled(
            format!(" {}", severity.to_ascii_uppercase()),
            theme.severity(item.item.severity),
        ),
        Span::raw(count_text),
        Span::raw(item.item.id.clone()),
    ];
    if selected {
        let style = theme.selected(app.focus == Pane::Checklist);
        for span in &mut spans {
            span.style = span.style.patch(style);
        }
    }
    Line::from(spans)
}

fn draw_checklist(frame: &mut Frame, app: &App, area: Rect) {
    let items = app.visible();
    let height = usize::from(area.height.saturating_sub(2));
    let offset = (app.selected + 1).saturating_sub(height);
    let mut lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, item)| checklist_row(app, item, i == app.selected))
        .collect();
    if items.is_empty() {
        lines.push(Line::styled(s::NO_MATCH, app.theme.dim()));
    }
    let title = format!("{} ({})", s::CHECKLIST, items.len());
    frame.render_widget(
        Paragraph::new(lines).block(pane_block(title, app.focus == Pane::Checklist, app.theme)),
        area,
    );
}

/// Greedy word wrap to `width` characters (at least 10); words longer than a line are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    // Repository text may hold terminal control characters: shown escaped, as git does.
    let text = escape_text(text);
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            while word.len() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(word.drain(..width).collect());
            }
            let word: String = word.into_iter().collect();
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    out
}

fn wrapped(out: &mut Vec<Line<'static>>, text: &str, width: usize, indent: &str, style: Style) {
    for l in wrap(text, width.saturating_sub(indent.chars().count())) {
        out.push(Line::styled(format!("{indent}{l}"), style));
    }
}

/// Wrapped spans: the first line starts with `lead` (its own style), the rest is indented.
fn wrapped_lead(
    out: &mut Vec<Line<'static>>,
    lead: Span<'static>,
    text: &str,
    width: usize,
    indent: usize,
    style: Style,
) {
    let first = lead.content.chars().count();
    let parts = wrap(text, width.saturating_sub(first.max(indent)));
    for (i, part) in parts.into_iter().enumerate() {
        if i == 0 {
            out.push(Line::from(vec![lead.clone(), Span::styled(part, style)]));
        } else {
            out.push(Line::styled(
                format!("{}{part}", " ".repeat(first.max(indent))),
                style,
            ));
        }
    }
}

/// The finding's note from the fix engine, in words.
fn note_text(app: &App, id: &str, note: Option<&FindingNote>) -> (String, Style) {
    let theme = app.theme;
    match note {
        Some(FindingNote::Fixed { plan }) => {
            let fix = app.fix_of(id);
            let title = fix
                .and_then(|f| f.plans.get(*plan))
                .map_or(String::new(), |p| {
                    if p.unsafe_ {
                        format!(": {} {}", p.title, s::FIX_UNSAFE_TAG)
                    } else {
                        format!(": {}", p.title)
                    }
                });
            (format!("{}{title}", s::FIXED_BY), theme.accepted())
        }
        Some(FindingNote::NotOffered(reason)) => (
            format!("{}: {reason}", s::NOT_OFFERED.to_lowercase()),
            theme.dim(),
        ),
        None if app.fixes_progress.is_some() || app.fixes == FixesState::Pending => {
            (s::PREPARING_NOTE.to_string(), theme.dim())
        }
        None => (
            format!("{}: {}", s::NOT_OFFERED.to_lowercase(), s::NO_FIX_NOTE),
            theme.dim(),
        ),
    }
}

/// The detail pane's lines: the item, why it matters, its findings with code excerpts.
pub fn detail_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = app.theme;
    let width = usize::from(width.saturating_sub(2));
    let Some(item) = app.selected_item() else {
        return vec![Line::styled(s::NO_MATCH, theme.dim())];
    };
    let status = item.status();
    let (symbol, word) = status_word(status);
    let mut out = Vec::new();
    wrapped(&mut out, &item.item.title, width, "", theme.heading());
    out.push(Line::from(vec![
        Span::styled(
            format!("{symbol} {}", word.to_uppercase()),
            theme.status(status),
        ),
        Span::raw(" · "),
        Span::styled(
            format!("{} severity", item.item.severity.as_str()),
            theme.severity(item.item.severity),
        ),
        Span::raw(format!(
            " · {}",
            s::findings_count(item.outcome.findings.len())
        )),
    ]));
    if let Some(reason) = &item.outcome.error {
        out.push(Line::default());
        wrapped(
            &mut out,
            &format!("{}: {reason}", s::ERROR),
            width,
            "",
            theme.error(),
        );
    }
    if let Some(reason) = &item.outcome.not_applicable {
        out.push(Line::default());
        wrapped(
            &mut out,
            &format!("{}: {reason}", s::NOT_APPLICABLE),
            width,
            "",
            Style::new(),
        );
    }
    out.push(Line::default());
    out.push(Line::styled(s::FINDINGS, theme.heading()));
    if item.outcome.findings.is_empty() {
        out.push(Line::styled(s::NO_FINDINGS, theme.dim()));
    }
    let excerpts = app.report.as_ref().map(|r| &r.excerpts);
    let fix = app.fix_of(&item.item.id);
    for f in &item.outcome.findings {
        wrapped_lead(
            &mut out,
            Span::styled(
                format!("{}:{}:{} ", f.path, f.line, f.column),
                theme.heading(),
            ),
            &f.rule,
            width,
            2,
            theme.dim(),
        );
        wrapped(&mut out, &f.message, width, "  ", Style::new());
        let note = fix
            .and_then(|v| v.finding(&f.fingerprint()))
            .map(|x| &x.note);
        if fix.is_some() || app.fixes_progress.is_some() {
            let (text, style) = note_text(app, &item.item.id, note);
            wrapped(&mut out, &text, width, "  ", style);
        }
        match excerpts.and_then(|e| e.get(&(f.path.clone(), f.line))) {
            Some(ex) => {
                let digits = (ex.first + ex.lines.len()).to_string().len();
                for (i, text) in ex.lines.iter().enumerate() {
                    let n = ex.first + i;
                    let marked = n >= ex.marked.0 && n <= ex.marked.1;
                    let marker = if marked { ">" } else { " " };
                    let style = if marked {
                        theme.marked_line()
                    } else {
                        theme.dim()
                    };
                    let code: String = text.chars().skip(app.detail_x).collect();
                    out.push(Line::from(vec![
                        Span::styled(format!(" {marker}{n:>digits$} │ "), style),
                        Span::styled(
                            code,
                            if marked {
                                theme.marked_line()
                            } else {
                                Style::new()
                            },
                        ),
                    ]));
                }
            }
            None => out.push(Line::styled(format!("  {}", s::NO_EXCERPT), theme.dim())),
        }
        out.push(Line::default());
    }
    out.push(Line::styled(s::WHY, theme.heading()));
    wrapped(&mut out, &item.item.why, width, "", Style::new());
    out.push(Line::default());
    if !item.outcome.notes.is_empty() {
        out.push(Line::styled(s::NOTES, theme.heading()));
        for note in &item.outcome.notes {
            wrapped(&mut out, note, width, "  ", Style::new());
        }
    }
    out
}

/// A place in the diff that `]` / `[` jump to: a file or a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Line of the fix pane.
    pub row: usize,
    pub path: String,
    /// Old-side lines of a hunk (`None` for a file's header).
    pub old: Option<(usize, usize)>,
    pub label: String,
}

/// The fix pane's lines, with where its findings and hunks are: the head (decision, findings,
/// files, notes) above, the diff below, each scrolled on its own.
pub struct FixView {
    pub head: Vec<Line<'static>>,
    /// The diff.
    pub lines: Vec<Line<'static>>,
    /// Per finding row: its first and last line of the head.
    pub findings: Vec<(usize, usize)>,
    pub anchors: Vec<Anchor>,
    /// Per finding row: the files and lines its fix touches.
    touches: Vec<Vec<(String, usize)>>,
    /// Per finding row: its own path and line.
    places: Vec<(String, usize)>,
}

impl FixView {
    /// The finding row drawn at line `row`.
    pub fn finding_at(&self, row: usize) -> Option<usize> {
        self.findings
            .iter()
            .position(|(a, b)| row >= *a && row <= *b)
    }

    /// The line of the first hunk the finding's fix touches (or of its file).
    pub fn hunk_of_finding(&self, index: usize) -> Option<usize> {
        let mut wanted: Vec<(String, usize)> = self.touches.get(index).cloned().unwrap_or_default();
        if wanted.is_empty() {
            wanted.extend(self.places.get(index).cloned());
        }
        for (path, line) in &wanted {
            let same = |a: &Anchor| a.path == *path || a.path.ends_with(&format!("/{path}"));
            let hunk = self.anchors.iter().find(|a| {
                same(a)
                    && a.old
                        .is_some_and(|(start, len)| *line >= start && *line < start + len.max(1))
            });
            let hunk = hunk
                .or_else(|| {
                    self.anchors
                        .iter()
                        .find(|a| same(a) && a.old.is_some_and(|(start, _)| start >= *line))
                })
                .or_else(|| self.anchors.iter().find(|a| same(a)));
            if let Some(a) = hunk {
                return Some(a.row);
            }
        }
        None
    }

    /// The label of the file or hunk the line `row` is in.
    pub fn anchor_at(&self, row: usize) -> Option<&str> {
        self.anchors
            .iter()
            .rev()
            .find(|a| a.row <= row)
            .map(|a| a.label.as_str())
    }
}

fn spinner(app: &App) -> char {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    FRAMES[(app.tick / 2) % FRAMES.len()]
}

/// The fix pane's lines (for tests and the scroll bounds).
pub fn fix_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let view = fix_view(app, width);
    view.head.into_iter().chain(view.lines).collect()
}

/// The fix pane's head and diff areas inside `area` (the pane with its borders), and the
/// head's scroll offset that keeps the finding under the cursor in view.
pub fn fix_areas(app: &App, view: &FixView, area: Rect) -> (Rect, Rect, usize) {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let want = view.head.len() as u16;
    let head_h = if view.lines.is_empty() {
        inner.height
    } else {
        // The list gets more room while the user works in it.
        let share = if app.focus == Pane::Fix { 2 } else { 3 };
        want.min((inner.height * 2 / (share + 2)).max(2))
            .min(inner.height)
    };
    let [head, rest] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Fill(1)]).areas(inner);
    let height = usize::from(head.height);
    let cursor = app.finding.min(view.findings.len().saturating_sub(1));
    let offset = view
        .findings
        .get(cursor)
        .map_or(0, |(_, last)| (last + 1).saturating_sub(height));
    (head, rest, offset)
}

/// The fix pane: the decision, the findings with their notes (checkboxes), the files, the
/// diff of what the checked findings need.
pub fn fix_view(app: &App, width: u16) -> FixView {
    let theme = app.theme;
    let inner = width.saturating_sub(2);
    let w = usize::from(inner);
    let mut view = FixView {
        head: Vec::new(),
        lines: Vec::new(),
        findings: Vec::new(),
        anchors: Vec::new(),
        touches: Vec::new(),
        places: Vec::new(),
    };
    let Some(item) = app.selected_item() else {
        return view;
    };
    let id = item.item.id.clone();
    let out = &mut view.head;
    if let FixesState::Failed(e) = &app.fixes {
        wrapped(
            out,
            &format!("Fixes could not be prepared: {e}"),
            w,
            "",
            theme.error(),
        );
        return view;
    }
    let fix = app.fix_of(&id);
    let preparing = fix.is_none() && matches!(app.fixes, FixesState::Pending)
        || fix.is_none() && app.fixes_progress.is_some();
    let has_fix = fix.is_some_and(|f| f.has_fix());
    let decision = app.decisions.get(&id);
    if preparing {
        let progress = match app.fixes_progress {
            Some((done, total)) => format!(" ({done} of {total} items ready)"),
            None => String::new(),
        };
        wrapped(
            out,
            &format!("{} {}{progress}", spinner(app), s::FIXES_PREPARING),
            w,
            "",
            theme.dim(),
        );
    } else if has_fix {
        let (mark, text, style) = match (decision, app.partial(item)) {
            (Some(Decision::Accepted), Some((covered, all))) => (
                "[~]",
                format!(
                    "partly accepted: the commit fixes {covered} of {all} findings, only the \
                     checked ones"
                ),
                theme.accepted(),
            ),
            (Some(Decision::Accepted), None) => ("[x]", s::ACCEPTED.to_string(), theme.accepted()),
            (Some(Decision::Skipped), _) => ("[s]", s::SKIPPED.to_string(), theme.dim()),
            (None, _) => ("", String::new(), theme.dim()),
        };
        if !mark.is_empty() {
            wrapped_lead(
                out,
                Span::styled(format!("{mark} "), style),
                &text,
                w,
                4,
                style,
            );
        }
    } else if item.outcome.findings.is_empty() {
        out.push(Line::styled(s::NOTHING_TO_FIX, theme.dim()));
    } else {
        out.push(Line::styled(s::NO_FIX, theme.dim()));
    }
    if let Some(c) = app.committed.last()
        && c.items.contains(&id)
    {
        wrapped(
            out,
            &format!(
                "{} {} ({} commits).",
                s::COMMITTED_ON,
                c.outcome.branch,
                c.outcome.commits.len()
            ),
            w,
            "",
            theme.accepted(),
        );
    }

    if let Some(v) = app.verdict_of(&id) {
        if v.passes {
            wrapped(
                out,
                &format!("Your tests: no test newly broken ({})", v.summary),
                w,
                "",
                theme.accepted(),
            );
        } else {
            wrapped(
                out,
                &format!(
                    "Your tests: this fix breaks {} ({})",
                    v.broken.len(),
                    v.summary
                ),
                w,
                "",
                theme.error(),
            );
            for b in &v.broken {
                wrapped(out, &escape_line(b), w, "  ", theme.error());
            }
        }
    }

    // The findings, each with its checkbox and note.
    let rows = app.finding_rows(item);
    let kept = app.kept(&id);
    for (i, row) in rows.iter().enumerate() {
        let start = out.len();
        let cursor = i == app.finding.min(rows.len().saturating_sub(1));
        let check = match &row.note {
            Some(FindingNote::Fixed { plan }) if kept.get(*plan) == Some(&true) => "[x]",
            Some(FindingNote::Fixed { .. }) => "[ ]",
            _ => " – ",
        };
        let pointer = if cursor { ">" } else { " " };
        let lead_style = if cursor {
            theme.selected(app.focus == Pane::Fix)
        } else {
            Style::new()
        };
        wrapped_lead(
            out,
            Span::styled(format!("{pointer}{check} "), lead_style),
            &format!("{}:{} {}", row.path, row.line, row.rule),
            w,
            5,
            if cursor { lead_style } else { Style::new() },
        );
        let (text, style) = note_text(app, &id, row.note.as_ref());
        wrapped(out, &text, w, "     ", style);
        view.findings.push((start, out.len() - 1));
        let touches = match (&row.note, fix) {
            (Some(FindingNote::Fixed { plan }), Some(f)) => f
                .plans
                .get(*plan)
                .map(|p| p.touches.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        view.touches.push(touches);
        view.places.push((row.path.clone(), row.line));
    }

    // Suppressions and exclusions waiting for the commit.
    if !app.exceptions.is_empty() {
        out.push(Line::default());
        out.push(Line::styled(s::PENDING_EXCEPTIONS, theme.heading()));
        for p in &app.exceptions {
            wrapped(
                out,
                &format!("• {}", p.exception.title()),
                w,
                "  ",
                theme.accepted(),
            );
            if let Some(Ok(d)) = &p.diff {
                for line in diff::unified(d, theme) {
                    out.push(diff::shift_line(line, app.fix_x));
                }
            }
        }
    }

    if !has_fix {
        if let Some(fix) = fix {
            for note in &fix.notes {
                wrapped(out, note, w, "", theme.dim());
            }
        }
        return view;
    }
    let Some(fix) = fix else { return view };
    let diff_text = match app.diff_of(&id) {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            wrapped(out, &e, w, "", theme.error());
            return view;
        }
        None => String::new(),
    };

    // The files, with their added / removed line counts.
    let parsed = diff::parse(&diff_text);
    let mut files: Vec<(String, usize, usize)> = Vec::new();
    for l in &parsed {
        match l.kind {
            diff::Kind::File if l.text.starts_with("+++ ") => {
                let path = l.text.trim_start_matches("+++ ").trim_start_matches("b/");
                files.push((path.to_string(), 0, 0));
            }
            diff::Kind::Added => {
                if let Some(f) = files.last_mut() {
                    f.1 += 1;
                }
            }
            diff::Kind::Removed => {
                if let Some(f) = files.last_mut() {
                    f.2 += 1;
                }
            }
            _ => {}
        }
    }
    let list = files
        .iter()
        .map(|(p, a, r)| format!("{p} +{a} −{r}"))
        .collect::<Vec<_>>()
        .join(" · ");
    if files.len() > 1 {
        wrapped(
            out,
            &format!("{} ({}): {list}", s::FILES, files.len()),
            w,
            "",
            theme.heading(),
        );
    }

    for note in &fix.notes {
        wrapped(out, note, w, "", theme.dim());
    }
    // The diff, with an anchor at each file and hunk.
    let out = &mut view.lines;
    let rendered = if app.side_by_side && diff::side_by_side_fits(inner) {
        diff::side_by_side(&diff_text, theme, inner, app.fix_x)
    } else {
        diff::unified(&diff_text, theme)
            .into_iter()
            .map(|l| diff::shift_line(l, app.fix_x))
            .collect()
    };
    let base = out.len();
    let (mut file_no, mut hunk_no) = (0, 0);
    let hunks_total = parsed.iter().filter(|l| l.kind == diff::Kind::Hunk).count();
    let mut path = String::new();
    // `parse` and both renderings keep one line per diff line, except side by side, which
    // pairs removed and added lines: anchors are counted on the rendering itself there.
    if rendered.len() == parsed.len() {
        for (i, l) in parsed.iter().enumerate() {
            match l.kind {
                diff::Kind::File if l.text.starts_with("--- ") => {
                    file_no += 1;
                    path = files
                        .get(file_no - 1)
                        .map(|f| f.0.clone())
                        .unwrap_or_default();
                    view.anchors.push(Anchor {
                        row: base + i,
                        path: path.clone(),
                        old: None,
                        label: format!("file {file_no}/{}: {path}", files.len()),
                    });
                }
                diff::Kind::Hunk => {
                    hunk_no += 1;
                    view.anchors.push(Anchor {
                        row: base + i,
                        path: path.clone(),
                        old: hunk_old(&l.text),
                        label: format!("hunk {hunk_no}/{hunks_total} in {path}"),
                    });
                }
                _ => {}
            }
        }
    } else {
        for (i, line) in rendered.iter().enumerate() {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            if let Some(p) = text.strip_prefix("+++ ") {
                file_no += 1;
                path = p.trim_start_matches("b/").to_string();
                view.anchors.push(Anchor {
                    row: base + i - 1,
                    path: path.clone(),
                    old: None,
                    label: format!("file {file_no}/{}: {path}", files.len()),
                });
            } else if text.starts_with("@@") {
                hunk_no += 1;
                view.anchors.push(Anchor {
                    row: base + i,
                    path: path.clone(),
                    old: hunk_old(&text),
                    label: format!("hunk {hunk_no}/{hunks_total} in {path}"),
                });
            }
        }
    }
    out.extend(rendered);
    view
}

/// `@@ -42,4 +42,4 @@` → (42, 4).
fn hunk_old(header: &str) -> Option<(usize, usize)> {
    let old = header.strip_prefix("@@ -")?.split(' ').next()?;
    let (start, len) = old.split_once(',').unwrap_or((old, "1"));
    Some((start.parse().ok()?, len.parse().ok()?))
}

fn progress_text(app: &App) -> String {
    match app.progress.get() {
        None => format!("{} {}", s::SCANNING, s::FINDING_FILES),
        Some((done, total)) => format!("{} {done}/{total} {}", s::SCANNING, s::FILES_PARSED),
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_scanning(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let box_area = centered(area, 60, 6);
    let inner = usize::from(box_area.width.saturating_sub(2));
    let bar = match app.progress.get() {
        Some((done, total)) if total > 0 => {
            let filled = (done.min(total) * inner) / total;
            format!("{}{}", "█".repeat(filled), "░".repeat(inner - filled))
        }
        _ => "░".repeat(inner),
    };
    let lines = vec![
        Line::from(progress_text(app)),
        Line::default(),
        Line::from(bar),
    ];
    frame.render_widget(Paragraph::new(title_line(app)), Rect { height: 1, ..area });
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(format!(
            " {} {} ",
            s::SCANNING,
            app.root_label
        ))),
        box_area,
    );
    footer_quit(frame, app);
}

fn footer_quit(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(" "),
            Span::styled("r", app.theme.key()),
            Span::raw(" rescan  "),
            Span::styled("?", app.theme.key()),
            Span::raw(" help  "),
            Span::styled("q", app.theme.key()),
            Span::raw(" quit"),
        ])),
        footer,
    );
}

fn draw_message(frame: &mut Frame, app: &App, title: &str, body: &[String]) {
    let area = frame.area();
    frame.render_widget(Paragraph::new(title_line(app)), Rect { height: 1, ..area });
    let box_area = centered(area, 70, area.height.saturating_sub(4));
    let width = usize::from(box_area.width.saturating_sub(2));
    let mut lines = Vec::new();
    for (i, para) in body.iter().enumerate() {
        if i > 0 {
            lines.push(Line::default());
        }
        wrapped(&mut lines, para, width, "", Style::new());
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(app.theme.error())
                .title(Span::styled(format!(" {title} "), app.theme.heading())),
        ),
        box_area,
    );
    footer_quit(frame, app);
}

fn draw_no_flask(frame: &mut Frame, app: &App) {
    let mut body = vec![s::NO_FLASK_BODY.to_string()];
    if let Some(scan) = app.scan() {
        body.push(format!(
            "Folder: {} · {} read.",
            app.root_label,
            s::files_count(scan.files_scanned)
        ));
        let mut reasons: Vec<&str> = scan
            .items
            .iter()
            .filter_map(|i| i.outcome.not_applicable.as_deref())
            .collect();
        reasons.dedup();
        body.extend(reasons.iter().map(|r| format!("Every item: {r}.")));
        for d in scan.diagnostics.iter().take(5) {
            body.push(format!("{} {}: {}", s::DIAGNOSTICS, d.path, d.message));
        }
    }
    draw_message(frame, app, s::NO_FLASK_TITLE, &body);
}

fn popup_frame(
    frame: &mut Frame,
    app: &App,
    title: &str,
    lines: Vec<Line<'static>>,
    width: u16,
) -> Rect {
    let area = frame.area();
    let height = (lines.len() as u16).saturating_add(2);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(app.theme.border(true))
                .title(Span::styled(format!(" {title} "), app.theme.heading())),
        ),
        rect,
    );
    rect
}

/// The tests' popup: the step, each finished run, the verdicts once done, and the last lines
/// of output in the room left.
fn draw_verify(frame: &mut Frame, app: &App) {
    let theme = app.theme;
    let Some(run) = &app.verify_run else { return };
    let width = frame.area().width.min(100);
    let inner = usize::from(width.saturating_sub(2));
    let room = usize::from(frame.area().height.saturating_sub(4));
    let mut lines = Vec::new();
    match &run.outcome {
        None => wrapped(
            &mut lines,
            &format!("{} {}", spinner(app), escape_line(&run.status)),
            inner,
            "",
            theme.heading(),
        ),
        Some(Err(e)) => wrapped(
            &mut lines,
            &format!("{}: {}", s::VERIFY_FAILED, escape_line(e)),
            inner,
            "",
            theme.error(),
        ),
        Some(Ok(report)) => {
            wrapped(
                &mut lines,
                &format!(
                    "`{}` in {}",
                    escape_line(&report.command),
                    escape_line(&report.environment)
                ),
                inner,
                "",
                theme.heading(),
            );
            wrapped(
                &mut lines,
                &format!("on HEAD: {}", report.head),
                inner,
                "  ",
                Style::new(),
            );
            for v in &report.verdicts {
                let (mark, style, what) = if v.passes {
                    ("✓", theme.accepted(), "no test newly broken")
                } else {
                    ("✗", theme.error(), "newly breaks tests; no longer accepted")
                };
                wrapped(
                    &mut lines,
                    &format!("{mark} {}: {what} ({})", v.item, v.summary),
                    inner,
                    "  ",
                    style,
                );
                for b in &v.broken {
                    wrapped(&mut lines, &escape_line(b), inner, "      ", theme.error());
                }
            }
            if !report.replanned.is_empty() {
                wrapped(
                    &mut lines,
                    &format!(
                        "planned again without the fixes left out: {}",
                        report.replanned.join(", ")
                    ),
                    inner,
                    "  ",
                    theme.dim(),
                );
            }
        }
    }
    if run.running() {
        for (label, summary) in &run.runs {
            wrapped(
                &mut lines,
                &format!("tests {label}: {summary}"),
                inner,
                "  ",
                Style::new(),
            );
        }
    }
    // The newest output in what is left, above the key line.
    let left = room.saturating_sub(lines.len() + 2);
    if left > 0 && !run.lines.is_empty() {
        lines.push(Line::default());
        let take = left.saturating_sub(1).min(run.lines.len());
        for l in run.lines.iter().skip(run.lines.len() - take) {
            let text: String = escape_line(l).chars().take(inner).collect();
            lines.push(Line::styled(text, theme.dim()));
        }
    }
    lines.push(Line::styled(
        if run.running() {
            "x stop the tests · esc hide (they go on; T shows them again)"
        } else {
            "T run them again · esc close"
        },
        theme.dim(),
    ));
    popup_frame(frame, app, s::VERIFY_TITLE, lines, width);
}

fn draw_popup(frame: &mut Frame, app: &App, popup: &Popup) {
    let theme = app.theme;
    let width = frame.area().width.min(76);
    let narrow = width.min(60);
    let inner = usize::from(width.saturating_sub(2));
    let narrow_inner = usize::from(narrow.saturating_sub(2));
    let key_line = |text: String| Line::styled(text, theme.dim());
    match popup {
        Popup::Help => {
            // Two columns, so every key fits at 80×24.
            let width = frame.area().width.min(100);
            let column = usize::from(width.saturating_sub(2)) / 2;
            let section = |sections: &[(Scope, &'static str)]| {
                let mut lines = Vec::new();
                for (scope, heading) in sections {
                    lines.push(Line::styled(*heading, theme.heading()));
                    for b in keys::BINDINGS
                        .iter()
                        .filter(|b| b.scope == *scope && !b.label.is_empty())
                    {
                        let text = wrap(b.help, column.saturating_sub(14));
                        for (i, part) in text.into_iter().enumerate() {
                            let label = if i == 0 { b.label } else { "" };
                            lines.push(Line::from(vec![
                                Span::styled(format!(" {label:<12} "), theme.key()),
                                Span::raw(part),
                            ]));
                        }
                    }
                }
                lines
            };
            let left = section(&[
                (Scope::Checklist, "Checklist pane"),
                (Scope::Scroll, "Item pane"),
                (Scope::Fix, "Fix pane"),
            ]);
            let right = section(&[(Scope::Global, "Everywhere"), (Scope::Dialog, "Dialogs")]);
            let mut lines: Vec<Line<'static>> = (0..left.len().max(right.len()))
                .map(|i| {
                    let mut spans = left.get(i).cloned().unwrap_or_default().spans;
                    let used: usize = spans.iter().map(|s| s.width()).sum();
                    spans.push(Span::raw(" ".repeat(column.saturating_sub(used))));
                    spans.extend(right.get(i).cloned().unwrap_or_default().spans);
                    Line::from(spans)
                })
                .collect();
            lines.push(key_line("any key closes this help".to_string()));
            popup_frame(frame, app, s::HELP_TITLE, lines, width);
        }
        Popup::Commit { branch, error } => {
            let (before, after) = branch.split();
            let mut rest = after.chars();
            let under = rest.next().map_or(" ".to_string(), |c| c.to_string());
            let mut lines = vec![Line::from(vec![
                Span::styled(format!("{}: ", s::BRANCH), theme.heading()),
                Span::styled(before, theme.key()),
                Span::styled(
                    under,
                    theme.key().add_modifier(ratatui::style::Modifier::REVERSED),
                ),
                Span::styled(rest.collect::<String>(), theme.key()),
            ])];
            if let Some(e) = error {
                wrapped(&mut lines, e, inner, "  ", theme.error());
            }
            lines.push(Line::default());
            lines.push(Line::from(s::WILL_COMMIT));
            for id in app.accepted() {
                let fix = app.fix_of(&id);
                let subject = fix.map_or(id.clone(), |f| f.subject_for(&app.kept(&id)));
                let mut text = format!("• {subject}");
                if let Some((covered, all)) = app.scan().and_then(|sc| {
                    sc.items
                        .iter()
                        .find(|i| i.item.id == id)
                        .and_then(|i| app.partial(i))
                }) {
                    text.push_str(&format!(" (fixes {covered} of {all} findings)"));
                }
                if fix.is_some_and(|f| f.is_unsafe()) {
                    text.push_str(" [unsafe]");
                }
                wrapped(&mut lines, &text, inner, "  ", Style::new());
            }
            for p in &app.exceptions {
                wrapped(
                    &mut lines,
                    &format!(
                        "• {}",
                        p.exception.commit_message().lines().next().unwrap_or("")
                    ),
                    inner,
                    "  ",
                    Style::new(),
                );
            }
            lines.push(Line::default());
            wrapped(
                &mut lines,
                "←/→ home/end move · ctrl-u ctrl-w delete · enter commit · esc cancel",
                inner,
                "",
                theme.dim(),
            );
            popup_frame(frame, app, s::COMMIT_TITLE, lines, width);
        }
        Popup::Ignore {
            finding,
            target,
            reason,
            error,
        } => {
            let mut lines = Vec::new();
            let what = match target {
                IgnoreTarget::Line => {
                    let template = crate::project::classify(&finding.path)
                        == Some(crate::project::FileKind::Template);
                    let comment = if template {
                        format!("{{# flask-harden: ignore[{}] <reason> #}}", finding.rule)
                    } else {
                        format!("# flask-harden: ignore[{}] <reason>", finding.rule)
                    };
                    format!("Adds above {}:{}: {comment}", finding.path, finding.line)
                }
                IgnoreTarget::Folder(folder) => format!(
                    "Adds \"{folder}/**\" to exclude in the configuration: nothing under {folder}/ \
                     is scanned any more (vendored code)."
                ),
            };
            wrapped(&mut lines, &what, inner, "", Style::new());
            lines.push(Line::default());
            let (before, after) = reason.split();
            lines.push(Line::from(vec![
                Span::styled("Reason: ", theme.heading()),
                Span::styled(before, theme.key()),
                Span::styled("█", theme.key()),
                Span::styled(after, theme.key()),
            ]));
            if let Some(e) = error {
                wrapped(&mut lines, e, inner, "  ", theme.error());
            }
            lines.push(Line::default());
            wrapped(
                &mut lines,
                "It is committed like a fix, on the branch, when you press c. tab: the line / \
                 a folder · enter add · esc cancel",
                inner,
                "",
                theme.dim(),
            );
            popup_frame(frame, app, s::IGNORE_TITLE, lines, width);
        }
        Popup::ConfirmUnsafe { item, unchecked } => {
            let mut lines = Vec::new();
            if let Some(fix) = app.fix_of(item) {
                let kept = fix.kept(unchecked);
                for (i, plan) in fix.plans.iter().enumerate() {
                    if plan.unsafe_ && kept.get(i) == Some(&true) {
                        wrapped(
                            &mut lines,
                            &format!("! {} {}", plan.title, s::FIX_UNSAFE_TAG),
                            narrow_inner,
                            "  ",
                            theme.unsafe_fix(),
                        );
                    }
                }
            }
            wrapped(&mut lines, s::UNSAFE_BODY, narrow_inner, "", Style::new());
            lines.push(key_line(s::yes_no("accept")));
            popup_frame(
                frame,
                app,
                &format!("{}: {item}", s::UNSAFE_TITLE),
                lines,
                narrow,
            );
        }
        Popup::ConfirmVerify => {
            let n = app.accepted().len();
            let mut lines = Vec::new();
            wrapped(
                &mut lines,
                &format!(
                    "Run your tests on HEAD, then with each of the {n} accepted fix{}?",
                    if n == 1 { "" } else { "es" }
                ),
                narrow_inner,
                "",
                theme.heading(),
            );
            wrapped(&mut lines, s::VERIFY_BODY, narrow_inner, "", Style::new());
            lines.push(key_line(s::yes_no("run the tests")));
            popup_frame(frame, app, s::VERIFY_TITLE, lines, narrow);
        }
        Popup::Verify => draw_verify(frame, app),
        Popup::ConfirmQuit => {
            let n = app.accepted().len();
            let mut lines = vec![Line::styled(
                format!(
                    "{n} accepted fix{} not committed.",
                    if n == 1 { "" } else { "es" }
                ),
                theme.heading(),
            )];
            wrapped(&mut lines, s::QUIT_BODY, narrow_inner, "", Style::new());
            if app.verifying() {
                wrapped(&mut lines, s::VERIFY_QUIT, narrow_inner, "", theme.error());
            }
            lines.push(key_line(s::yes_no("quit")));
            popup_frame(frame, app, s::QUIT_TITLE, lines, narrow);
        }
        Popup::Committing { .. } => {
            popup_frame(
                frame,
                app,
                s::COMMIT_TITLE,
                vec![Line::from(s::COMMITTING)],
                width.min(50),
            );
        }
        Popup::CommitFailed { error, branch } => {
            let mut lines = Vec::new();
            wrapped(&mut lines, error, inner, "", theme.error());
            lines.push(Line::default());
            wrapped(
                &mut lines,
                &format!(
                    "esc: back to the commit dialog (branch {branch} and your choices are kept)"
                ),
                inner,
                "",
                theme.dim(),
            );
            popup_frame(frame, app, s::COMMIT_FAILED, lines, width);
        }
        Popup::Done(done) => {
            let o = &done.outcome;
            let n = o.commits.len();
            let mut lines = Vec::new();
            wrapped(
                &mut lines,
                &format!(
                    "Created branch {} from {} with {n} commit{}:",
                    o.branch,
                    o.base,
                    if n == 1 { "" } else { "s" }
                ),
                inner,
                "",
                theme.heading(),
            );
            for (id, subject) in &o.commits {
                wrapped(
                    &mut lines,
                    &format!("{id} {subject}"),
                    inner,
                    "  ",
                    Style::new(),
                );
            }
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::raw(format!("{:<14}", s::DONE_SWITCH)),
                Span::styled(format!("git switch {}", o.branch), theme.key()),
            ]));
            if app.git.as_ref().is_some_and(|g| !g.dirty && g.is_repo) {
                lines.push(Line::styled(
                    format!("{:<14}{}", "", s::DONE_SWITCH_NOW),
                    theme.key(),
                ));
            } else {
                wrapped(
                    &mut lines,
                    s::DONE_DIRTY,
                    inner,
                    "              ",
                    theme.dim(),
                );
            }
            lines.push(Line::from(vec![
                Span::raw(format!("{:<14}", s::DONE_PUSH)),
                Span::styled(format!("git push -u origin {}", o.branch), theme.key()),
            ]));
            lines.push(Line::default());
            match &done.rescan {
                None => lines.push(Line::styled(s::DONE_RESCAN, theme.dim())),
                Some(Err(e)) => wrapped(
                    &mut lines,
                    &format!("The new branch could not be scanned: {e}"),
                    inner,
                    "",
                    theme.error(),
                ),
                Some(Ok(rows)) => {
                    lines.push(Line::from(s::DONE_RESULT));
                    for row in rows {
                        let cell = |(status, n): (Status, usize)| {
                            let (sym, word) = status_word(status);
                            Span::styled(format!("{sym} {word:<5} {n:>2}"), theme.status(status))
                        };
                        let mut spans = vec![
                            Span::raw(format!("  {:<12}", row.item)),
                            cell(row.before),
                            Span::raw(" → "),
                            cell(row.after),
                        ];
                        if row.before.0 != Status::Pass && row.after.0 == Status::Pass {
                            spans.push(Span::styled("  now passing", theme.accepted()));
                        } else if row.after.1 < row.before.1 {
                            spans.push(Span::styled(
                                format!("  {} fixed", row.before.1 - row.after.1),
                                theme.accepted(),
                            ));
                        }
                        lines.push(Line::from(spans));
                    }
                }
            }
            lines.push(Line::default());
            wrapped(
                &mut lines,
                "Your working tree, index and current branch are unchanged. esc close",
                inner,
                "",
                theme.dim(),
            );
            popup_frame(frame, app, s::DONE_TITLE, lines, width);
        }
    }
}
