//! Drawing: pure functions of the model. Nothing here changes state or touches the disk.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, Decision, FixesState, Popup};
use super::diff;
use super::keys::{self, Pane, Scope};
use super::strings as s;
use super::theme::Theme;
use crate::finding::Status;
use crate::scan::ItemResult;

/// Below this the main screen does not fit; a message asks for a larger terminal.
pub const MIN_SIZE: (u16, u16) = (40, 12);

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub checklist: Rect,
    pub detail: Rect,
    pub fix: Rect,
    pub footer: Rect,
}

/// Where each part of the main screen goes. `update` uses it too, to bound scrolling.
pub fn layout(app: &App, area: Rect) -> Areas {
    let banner = banner_lines(app).len() as u16;
    let [title, banner, main, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner.min(area.height / 4)),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let left = (area.width / 5 * 2).clamp(30.min(area.width), 40);
    let [checklist, right] =
        Layout::horizontal([Constraint::Length(left), Constraint::Min(10)]).areas(main);
    // The pane that has the focus gets the larger share of the right side.
    let detail_share = if app.focus == Pane::Detail { 65 } else { 40 };
    let [detail, fix] = Layout::vertical([
        Constraint::Percentage(detail_share),
        Constraint::Percentage(100 - detail_share),
    ])
    .areas(right);
    Areas {
        title,
        banner,
        checklist,
        detail,
        fix,
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
        Span::raw(format!("· {} ", app.root_label)),
    ];
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
    let accepted = app.accepted().len();
    if accepted > 0 {
        spans.push(Span::styled(
            format!(" · {accepted} accepted"),
            theme.accepted(),
        ));
    }
    if app.scanning && app.report.is_some() {
        spans.push(Span::raw(format!(" · {}", progress_text(app))));
    }
    Line::from(spans)
}

/// Warnings shown under the title: dirty tree, no repository, scan diagnostics.
pub fn banner_lines(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme;
    let mut out = Vec::new();
    let mut warn = |text: String| out.push(Line::styled(format!(" ⚠ {text}"), theme.banner()));
    if let Some(git) = &app.git {
        if !git.is_repo {
            warn(s::NOT_A_REPO.to_string());
        } else if git.unborn {
            warn(s::UNBORN.to_string());
        } else if git.dirty {
            warn(s::DIRTY.to_string());
        }
    }
    if let FixesState::Failed(e) = &app.fixes
        && !e.is_empty()
    {
        warn(format!("Fixes could not be prepared: {e}"));
    }
    if let Some(scan) = app.scan()
        && !scan.diagnostics.is_empty()
    {
        let n = scan.diagnostics.len();
        let first = &scan.diagnostics[0];
        warn(format!(
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
    out
}

fn footer_line(app: &App) -> Line<'static> {
    let theme = app.theme;
    if app.filter_editing {
        return Line::from(vec![
            Span::styled(format!(" / {}: ", s::FILTER), theme.key()),
            Span::raw(format!("{}█", app.filter)),
            Span::styled("  enter done · esc clear", theme.dim()),
        ]);
    }
    if let Some(message) = &app.message {
        return Line::styled(format!(" {message}"), theme.heading());
    }
    let mut spans = vec![Span::raw(" ")];
    if !app.filter.is_empty() {
        spans.push(Span::styled(
            format!("[{}: {}] ", s::FILTER, app.filter),
            theme.key(),
        ));
    }
    // The focused pane's own keys first, then the ones that work everywhere.
    let pane_scope = match app.focus {
        Pane::Checklist => Scope::Checklist,
        Pane::Detail | Pane::Fix => Scope::Scroll,
    };
    let (own, global): (Vec<&keys::Binding>, Vec<&keys::Binding>) =
        keys::footer(app.focus).partition(|b| b.scope == pane_scope);
    for b in own.into_iter().chain(global) {
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

fn draw_main(frame: &mut Frame, app: &App) {
    let areas = layout(app, frame.area());
    frame.render_widget(Paragraph::new(title_line(app)), areas.title);
    frame.render_widget(Paragraph::new(banner_lines(app)), areas.banner);
    draw_checklist(frame, app, areas.checklist);
    let detail = detail_lines(app, areas.detail.width);
    frame.render_widget(
        Paragraph::new(detail)
            .block(pane_block(
                s::DETAIL.to_string(),
                app.focus == Pane::Detail,
                app.theme,
            ))
            .scroll((clamp_u16(app.detail_scroll), 0)),
        areas.detail,
    );
    let title = if app.side_by_side {
        s::FIX_SPLIT
    } else {
        s::FIX_UNIFIED
    };
    frame.render_widget(
        Paragraph::new(fix_lines(app, areas.fix.width))
            .block(pane_block(
                title.to_string(),
                app.focus == Pane::Fix,
                app.theme,
            ))
            .scroll((clamp_u16(app.fix_scroll), 0)),
        areas.fix,
    );
    frame.render_widget(Paragraph::new(footer_line(app)), areas.footer);
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// One checklist row: selection, decision, status symbol and word, severity, findings, id.
pub fn checklist_row(app: &App, item: &ItemResult, selected: bool) -> Line<'static> {
    let theme = app.theme;
    let status = item.status();
    let (symbol, word) = status_word(status);
    let fix = app.fix_of(&item.item.id).filter(|f| f.has_fix());
    let decision = match (app.decisions.get(&item.item.id), fix) {
        (Some(Decision::Accepted), _) => Span::styled("[x]", theme.accepted()),
        (Some(Decision::Skipped), _) => Span::styled("[s]", theme.dim()),
        (None, Some(f)) if f.is_unsafe() => Span::styled("[!]", theme.unsafe_fix()),
        (None, Some(_)) => Span::raw("[ ]"),
        (None, None) => Span::raw("   "),
    };
    let severity = item.item.severity.as_str().chars().next().unwrap_or(' ');
    let count = item.outcome.findings.len();
    let mut spans = vec![
        Span::raw(if selected { ">" } else { " " }),
        decision,
        Span::styled(format!(" {symbol} {word:<5}"), theme.status(status)),
        Span::styled(
            format!(" {}", severity.to_ascii_uppercase()),
            theme.severity(item.item.severity),
        ),
        Span::raw(if count > 0 {
            format!(" {count:>2} ")
        } else {
            "    ".to_string()
        }),
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

/// Greedy word wrap to `width` characters (at least 10).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

fn wrapped(out: &mut Vec<Line<'static>>, text: &str, width: usize, indent: &str, style: Style) {
    for l in wrap(text, width.saturating_sub(indent.len())) {
        out.push(Line::styled(format!("{indent}{l}"), style));
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
    for f in &item.outcome.findings {
        out.push(Line::from(vec![
            Span::styled(
                format!("{}:{}:{}", f.path, f.line, f.column),
                theme.heading(),
            ),
            Span::styled(format!(" {}", f.rule), theme.dim()),
        ]));
        wrapped(&mut out, &f.message, width, "  ", Style::new());
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
                    out.push(Line::from(vec![
                        Span::styled(format!(" {marker}{n:>digits$} │ "), style),
                        Span::styled(
                            text.clone(),
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

/// The fix pane's lines: the fixes, the decision, the diff.
pub fn fix_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = app.theme;
    let inner = width.saturating_sub(2);
    let Some(item) = app.selected_item() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let view = match &app.fixes {
        FixesState::Pending => {
            return vec![Line::styled(s::FIXES_PENDING, theme.dim())];
        }
        FixesState::Failed(e) => {
            wrapped(
                &mut out,
                &format!("Fixes could not be prepared: {e}"),
                usize::from(inner),
                "",
                theme.error(),
            );
            return out;
        }
        FixesState::Ready(view) => view.item(&item.item.id),
    };
    match view.filter(|v| v.has_fix()) {
        Some(fix) => {
            for plan in &fix.plans {
                let mut spans = vec![Span::raw(format!("• {}", plan.title))];
                if plan.unsafe_ {
                    spans.push(Span::styled(
                        format!(" {}", s::FIX_UNSAFE_TAG),
                        theme.unsafe_fix(),
                    ));
                }
                out.push(Line::from(spans));
            }
            out.push(match app.decisions.get(&item.item.id) {
                Some(Decision::Accepted) => {
                    Line::styled(format!("[x] {}", s::ACCEPTED), theme.accepted())
                }
                Some(Decision::Skipped) => Line::styled(format!("[s] {}", s::SKIPPED), theme.dim()),
                None => Line::styled(format!("[ ] {}", s::NOT_ACCEPTED), theme.dim()),
            });
            out.push(Line::default());
            if app.side_by_side {
                out.extend(diff::side_by_side(&fix.diff, theme, inner));
            } else {
                out.extend(diff::unified(&fix.diff, theme));
            }
            if !fix.notes.is_empty() {
                out.push(Line::default());
            }
        }
        None if item.outcome.findings.is_empty() => {
            out.push(Line::styled(s::NOTHING_TO_FIX, theme.dim()));
        }
        None => out.push(Line::styled(s::NO_FIX, theme.dim())),
    }
    if let Some(fix) = view {
        for note in &fix.notes {
            wrapped(&mut out, note, usize::from(inner), "", theme.dim());
        }
    }
    out
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
                    for b in keys::BINDINGS.iter().filter(|b| b.scope == *scope) {
                        let text = wrap(b.help, column.saturating_sub(11));
                        for (i, part) in text.into_iter().enumerate() {
                            let label = if i == 0 { b.label } else { "" };
                            lines.push(Line::from(vec![
                                Span::styled(format!(" {label:<9} "), theme.key()),
                                Span::raw(part),
                            ]));
                        }
                    }
                }
                lines
            };
            let left = section(&[
                (Scope::Checklist, "Checklist pane"),
                (Scope::Scroll, "Item and fix panes"),
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
        Popup::Commit { branch } => {
            let mut lines = vec![Line::from(vec![
                Span::styled(format!("{}: ", s::BRANCH), theme.heading()),
                Span::styled(format!("{branch}█"), theme.key()),
            ])];
            lines.push(Line::default());
            lines.push(Line::from(s::WILL_COMMIT));
            for id in app.accepted() {
                let fix = app.fix_of(&id);
                let subject = fix.map_or(id.clone(), |f| f.commit_subject.clone());
                let mut spans = vec![Span::raw(format!("  • {subject}"))];
                if fix.is_some_and(|f| f.is_unsafe()) {
                    spans.push(Span::styled(" [unsafe]", theme.unsafe_fix()));
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::default());
            lines.push(key_line(
                "type to edit the branch · enter commit · esc cancel".to_string(),
            ));
            popup_frame(frame, app, s::COMMIT_TITLE, lines, width);
        }
        Popup::ConfirmUnsafe { item } => {
            let mut lines = Vec::new();
            if let Some(fix) = app.fix_of(item) {
                for plan in fix.plans.iter().filter(|p| p.unsafe_) {
                    lines.push(Line::styled(
                        format!("! {}", plan.title),
                        theme.unsafe_fix(),
                    ));
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
            lines.push(key_line(s::yes_no("quit")));
            popup_frame(frame, app, s::QUIT_TITLE, lines, narrow);
        }
        Popup::Committing => {
            popup_frame(
                frame,
                app,
                s::COMMIT_TITLE,
                vec![Line::from(s::COMMITTING)],
                width.min(50),
            );
        }
        Popup::CommitFailed(e) => {
            let mut lines = Vec::new();
            wrapped(&mut lines, e, inner, "", theme.error());
            lines.push(key_line("esc close".to_string()));
            popup_frame(frame, app, s::COMMIT_FAILED, lines, width);
        }
        Popup::Done(done) => {
            let o = &done.outcome;
            let n = o.commits.len();
            let mut lines = vec![Line::styled(
                format!(
                    "Created branch {} from {} with {n} commit{}:",
                    o.branch,
                    o.base,
                    if n == 1 { "" } else { "s" }
                ),
                theme.heading(),
            )];
            for (id, subject) in &o.commits {
                lines.push(Line::from(format!("  {id} {subject}")));
            }
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::raw(format!("{:<14}", s::DONE_SWITCH)),
                Span::styled(format!("git switch {}", o.branch), theme.key()),
            ]));
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
            lines.push(key_line(
                "Your working tree, index and current branch are unchanged. esc close".to_string(),
            ));
            popup_frame(frame, app, s::DONE_TITLE, lines, width);
        }
    }
}
