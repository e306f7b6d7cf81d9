//! Screens drawn into a TestBackend and snapshotted; the styles that carry meaning asserted
//! apart (snapshots hold no colours); `update` driven with keys.

use std::path::Path;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

use super::app::{AfterCommit, App, BranchRow, Decision, Popup};
use super::fixes::{CommitOutcome, FixesView, GitState, ItemFixView, PlanView};
use super::theme::Theme;
use super::ui;
use super::worker::{Effect, ScanReport, WorkerMsg};
use crate::finding::Status;
use crate::scan::{ScanOptions, scan};

const DEBUG_DIFF: &str = "--- a/app.py\n+++ b/app.py\n@@ -42,4 +42,4 @@\n # app.run(debug=True)  -- an old line, commented out: not a finding\n \n if __name__ == \"__main__\":\n-    app.run(debug=True)\n+    app.run()\n";

const SESSION_DIFF: &str = "--- a/app.py\n+++ b/app.py\n@@ -4,4 +4,6 @@\n \n app = Flask(__name__)\n+app.config[\"SESSION_COOKIE_SECURE\"] = True\n+app.config[\"SESSION_COOKIE_SAMESITE\"] = \"Lax\"\n app.secret_key = \"dev\"\n";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixes() -> FixesView {
    FixesView {
        items: vec![
            ItemFixView {
                item: "debug".into(),
                plans: vec![PlanView {
                    title: "drop debug=True from app.run()".into(),
                    unsafe_: false,
                    findings: 1,
                }],
                diff: DEBUG_DIFF.into(),
                commit_subject: "harden(debug): stop switching debug mode on".into(),
                notes: vec![],
            },
            ItemFixView {
                item: "session".into(),
                plans: vec![PlanView {
                    title: "set SESSION_COOKIE_SECURE and SAMESITE".into(),
                    unsafe_: true,
                    findings: 2,
                }],
                diff: SESSION_DIFF.into(),
                commit_subject: "harden(session): lock down the session cookie".into(),
                notes: vec![
                    "no automatic fix yet for session/no-reset-at-login at app.py:19".into(),
                ],
            },
            ItemFixView {
                item: "xss".into(),
                notes: vec!["no automatic fix yet for xss/markup at app.py:39".into()],
                ..ItemFixView::default()
            },
        ],
        default_branch: "flask-harden/2026-01-02".into(),
    }
}

/// An app showing a real scan of a fixture, with the fixes above, as after the workers ran.
fn app_for(fixture_name: &str, theme: Theme) -> App {
    let mut app = App::new(fixture_name, theme);
    let effects = app.start();
    assert_eq!(effects, vec![Effect::Scan { generation: 1 }]);
    let result = scan(&fixture(fixture_name), &ScanOptions::default()).expect("fixture scans");
    app.update_worker(WorkerMsg::Git(GitState {
        is_repo: true,
        dirty: false,
        unborn: false,
    }));
    app.update_worker(WorkerMsg::Scanned {
        generation: 1,
        result: Ok(Box::new(ScanReport::new(result))),
    });
    app.update_worker(WorkerMsg::Fixes {
        generation: 1,
        result: Ok(fixes()),
    });
    app
}

fn app() -> App {
    app_for("single_file", Theme::colored())
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn keys(app: &mut App, codes: &str) {
    for c in codes.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| ui::draw(frame, app)).expect("draws");
    terminal
}

fn select(app: &mut App, id: &str) {
    press(app, KeyCode::Char('g'));
    while app.selected_item().map(|i| i.item.id.as_str()) != Some(id) {
        let before = app.selected;
        press(app, KeyCode::Char('j'));
        assert_ne!(before, app.selected, "{id} is in the checklist");
    }
}

/// The text of the buffer row that contains `needle`, and its y.
fn row_with(buffer: &Buffer, needle: &str) -> (u16, String) {
    for y in 0..buffer.area.height {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        if row.contains(needle) {
            return (y, row);
        }
    }
    panic!("{needle:?} not on screen");
}

/// The x of `needle` in row `y` (in cells).
fn col_of(buffer: &Buffer, y: u16, needle: &str) -> u16 {
    let cells: Vec<&str> = (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect();
    let first: Vec<char> = needle.chars().collect();
    (0..cells.len())
        .find(|&x| {
            first
                .iter()
                .enumerate()
                .all(|(i, c)| cells.get(x + i).is_some_and(|s| s.starts_with(*c)))
        })
        .map(|x| x as u16)
        .unwrap_or_else(|| panic!("{needle:?} not in row {y}"))
}

#[test]
fn checklist_screen() {
    let app = app();
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn item_detail_with_findings() {
    let mut app = app();
    select(&mut app, "xss");
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn diff_unified() {
    let mut app = app();
    select(&mut app, "debug");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn diff_side_by_side() {
    let mut app = app();
    select(&mut app, "debug");
    keys(&mut app, "v");
    insta::assert_snapshot!(render(&app, 100, 30).backend());
}

#[test]
fn help_popup() {
    let mut app = app();
    keys(&mut app, "?");
    let t = render(&app, 80, 24);
    for b in super::keys::BINDINGS {
        row_with(t.backend().buffer(), b.label);
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn commit_dialog() {
    let mut app = app();
    select(&mut app, "debug");
    keys(&mut app, " c");
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn unsafe_confirmation() {
    let mut app = app();
    select(&mut app, "session");
    keys(&mut app, " ");
    assert!(matches!(app.popup, Some(Popup::ConfirmUnsafe { .. })));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn quit_confirmation() {
    let mut app = app();
    select(&mut app, "debug");
    keys(&mut app, " q");
    assert!(!app.quit);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

fn done(rescan: bool) -> Popup {
    Popup::Done(AfterCommit {
        outcome: CommitOutcome {
            branch: "flask-harden/2026-01-02".into(),
            base: "bff848c".into(),
            commits: vec![(
                "f1d5805".into(),
                "harden(debug): stop switching debug mode on".into(),
            )],
        },
        rescan: rescan.then(|| {
            Ok(vec![
                BranchRow {
                    item: "debug".into(),
                    before: (Status::Fail, 1),
                    after: (Status::Pass, 0),
                },
                BranchRow {
                    item: "session".into(),
                    before: (Status::Fail, 4),
                    after: (Status::Fail, 4),
                },
            ])
        }),
    })
}

#[test]
fn after_commit_screen() {
    let mut app = app();
    app.popup = Some(done(true));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn no_flask_app_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tool.py"), "print('not a web app')\n").expect("write");
    let mut app = App::new("tools", Theme::colored());
    app.start();
    let result = scan(dir.path(), &ScanOptions::default()).expect("scans");
    app.update_worker(WorkerMsg::Scanned {
        generation: 1,
        result: Ok(Box::new(ScanReport::new(result))),
    });
    assert!(app.no_flask_app());
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn scanning_progress() {
    let mut app = App::new("big_repo", Theme::colored());
    app.start();
    let before = render(&app, 80, 24);
    row_with(before.backend().buffer(), "Scanning finding files");
    app.progress.set(1200, 3400);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn scan_error_and_banners_get_a_message() {
    let mut app = App::new("gone", Theme::colored());
    app.start();
    app.update_worker(WorkerMsg::Scanned {
        generation: 1,
        result: Err("/nowhere: no such directory".into()),
    });
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "The scan could not run");
    row_with(t.backend().buffer(), "/nowhere: no such directory");

    let mut app = app_for("single_file", Theme::colored());
    app.update_worker(WorkerMsg::Git(GitState {
        is_repo: true,
        dirty: true,
        unborn: false,
    }));
    if let Some(report) = &mut app.report {
        report.scan.diagnostics.push(crate::finding::Diagnostic {
            path: "broken.py".into(),
            message: "syntax error at line 3".into(),
        });
    }
    let t = render(&app, 100, 30);
    let buffer = t.backend().buffer();
    row_with(buffer, "uncommitted changes: fixes are built from HEAD");
    row_with(
        buffer,
        "1 file could not be scanned: broken.py: syntax error",
    );
}

#[test]
fn stale_scan_results_are_ignored() {
    let mut app = app();
    keys(&mut app, "r");
    assert_eq!(app.generation, 2);
    app.update_worker(WorkerMsg::Fixes {
        generation: 1,
        result: Err("old".into()),
    });
    assert!(matches!(app.fixes, super::app::FixesState::Pending));
}

#[test]
fn usable_at_80_by_24_and_survives_tiny_sizes() {
    let mut app = app();
    select(&mut app, "debug");
    let t = render(&app, 80, 24);
    let buffer = t.backend().buffer();
    row_with(buffer, "? help");
    row_with(buffer, "q/esc quit");
    row_with(buffer, "-    app.run(debug=True)");
    row_with(buffer, "+    app.run()");
    for (w, h) in [
        (1, 1),
        (20, 5),
        (39, 11),
        (40, 12),
        (200, 60),
        (u16::MAX, 12),
    ] {
        render(&app, w, h);
    }
    let t = render(&app, 30, 8);
    row_with(t.backend().buffer(), "Terminal too small");
}

#[test]
fn meaningful_styles() {
    let mut app = app();
    select(&mut app, "debug");
    let t = render(&app, 80, 24);
    let buffer = t.backend().buffer();
    // Fail is red and bold, with its word: never colour alone.
    let (y, _) = row_with(buffer, "fail  H  1 secret-key");
    let x = col_of(buffer, y, "fail");
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD));
    // The selected row is in reverse video while the checklist has the focus.
    let (y, row) = row_with(buffer, "debug");
    assert!(row.contains('>'), "{row}");
    let x = col_of(buffer, y, "debug");
    assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED));
    // Removed lines red with '-', added green with '+'; the changed words highlighted.
    let (y, _) = row_with(buffer, "-    app.run(debug=True)");
    let x = col_of(buffer, y, "-    app");
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    let x = col_of(buffer, y, "debug=True");
    assert_eq!(buffer[(x, y)].bg, Color::Red);
    let x = col_of(buffer, y, "app.run");
    assert_eq!(
        buffer[(x, y)].bg,
        Color::Reset,
        "unchanged words are not highlighted"
    );
    let (y, _) = row_with(buffer, "+    app.run()");
    let x = col_of(buffer, y, "+    app");
    assert_eq!(buffer[(x, y)].fg, Color::Green);
    // The marked line of an excerpt carries a '>' as well as its colour.
    select(&mut app, "secret-key");
    let t = render(&app, 100, 80);
    let (_, row) = row_with(t.backend().buffer(), "app.secret_key = \"dev\"");
    assert!(row.contains("> 7 │"), "{row}");
}

#[test]
fn no_color_drops_colours_but_keeps_emphasis() {
    let mut app = app_for("single_file", Theme::monochrome());
    select(&mut app, "debug");
    let t = render(&app, 80, 24);
    let buffer = t.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset, "no foreground colour: {cell:?}");
        assert_eq!(cell.bg, Color::Reset, "no background colour: {cell:?}");
    }
    let (y, _) = row_with(buffer, "fail  H  1 secret-key");
    let x = col_of(buffer, y, "fail");
    assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD));
    let (y, _) = row_with(buffer, "-    app.run(debug=True)");
    let x = col_of(buffer, y, "debug=True");
    assert!(buffer[(x, y)].modifier.contains(Modifier::UNDERLINED));
}

#[test]
fn accept_skip_undo_and_commit_flow() {
    let mut app = app();
    // No fix: nothing to accept, and a message says so.
    select(&mut app, "xss");
    keys(&mut app, " ");
    assert!(app.accepted().is_empty());
    assert!(app.message.is_some());
    // A safe fix is accepted at once; space again un-accepts.
    select(&mut app, "debug");
    keys(&mut app, " ");
    assert_eq!(app.accepted(), vec!["debug"]);
    keys(&mut app, " ");
    assert!(app.accepted().is_empty());
    keys(&mut app, "u");
    assert_eq!(app.accepted(), vec!["debug"]);
    // An unsafe fix needs a second confirmation; n refuses, y accepts.
    select(&mut app, "session");
    keys(&mut app, " n");
    assert_eq!(app.accepted(), vec!["debug"]);
    keys(&mut app, " y");
    assert_eq!(app.accepted(), vec!["debug", "session"]);
    // s skips and moves on; u brings the decision back.
    select(&mut app, "session");
    keys(&mut app, "s");
    assert_eq!(app.decisions.get("session"), Some(&Decision::Skipped));
    keys(&mut app, "u");
    assert_eq!(app.decisions.get("session"), Some(&Decision::Accepted));
    // The commit dialog proposes the branch; it can be edited.
    keys(&mut app, "c");
    assert!(
        matches!(&app.popup, Some(Popup::Commit { branch }) if branch == "flask-harden/2026-01-02")
    );
    for _ in 0..10 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "hardening");
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Commit {
            accepted: vec!["debug".into(), "session".into()],
            branch: "flask-harden/hardening".into(),
        }]
    );
    assert!(matches!(app.popup, Some(Popup::Committing)));
    app.update_worker(WorkerMsg::Committed(Ok(CommitOutcome {
        branch: "flask-harden/hardening".into(),
        base: "abc1234".into(),
        commits: vec![],
    })));
    assert!(
        app.accepted().is_empty(),
        "committed fixes are no longer pending"
    );
    // Closing the after-commit screen rescans.
    let effects = press(&mut app, KeyCode::Esc);
    assert_eq!(effects, vec![Effect::Scan { generation: 2 }]);
    // Nothing pending: q quits at once.
    keys(&mut app, "q");
    assert!(app.quit);
}

#[test]
fn filter_and_navigation() {
    let mut app = app();
    keys(&mut app, "/sess");
    assert!(app.filter_editing);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.visible().len(), 1);
    assert_eq!(
        app.selected_item().map(|i| i.item.id.as_str()),
        Some("session")
    );
    keys(&mut app, "/");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.visible().len(), 7);
    keys(&mut app, "G");
    assert_eq!(app.selected, 6);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.selected, 0);
    // The checklist is ordered by severity, highest first.
    let severities: Vec<_> = app.visible().iter().map(|i| i.item.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
    // Scrolling the detail pane is bounded by its content.
    press(&mut app, KeyCode::Tab);
    for _ in 0..500 {
        press(&mut app, KeyCode::Char('j'));
    }
    let lines = ui::detail_lines(
        &app,
        ui::layout(&app, ratatui::layout::Rect::new(0, 0, 80, 24))
            .detail
            .width,
    )
    .len();
    assert!(app.detail_scroll < lines, "{} < {lines}", app.detail_scroll);
    keys(&mut app, "g");
    assert_eq!(app.detail_scroll, 0);
}

#[test]
fn after_commit_waits_for_the_branch_scan() {
    let mut app = app();
    app.popup = Some(done(false));
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "Scanning the new branch");
    row_with(
        t.backend().buffer(),
        "git push -u origin flask-harden/2026-01-02",
    );
}
