//! Screens drawn into a TestBackend and snapshotted; the styles that carry meaning asserted
//! apart (snapshots hold no colours); `update` driven with keys.

use std::path::Path;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

use super::app::{AfterCommit, App, BranchRow, Decision, IgnoreTarget, Popup, ScreenMode};
use super::fixes::{
    CommitOutcome, Exception, FindingNote, FixesView, GitState, ItemFixView, PlanView,
    apply_exception, view_of,
};
use super::theme::Theme;
use super::ui;
use super::worker::{Effect, ScanReport, WorkerMsg};
use crate::finding::{Finding, Status};
use crate::fix::subset::{changes_between, combine};
use crate::fix::{Applicability, FixPlan, ItemFix, PatchBuilder, Rejected, SnapFile, Snapshot};
use crate::scan::{ScanOptions, ScanResult, scan};

const DEBUG_DIFF: &str = "--- a/app.py\n+++ b/app.py\n@@ -42,4 +42,4 @@\n # app.run(debug=True)  -- an old line, commented out: not a finding\n \n if __name__ == \"__main__\":\n-    app.run(debug=True)\n+    app.run()\n";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A session fix as the engine makes it, on the fixture's real text and findings: one unsafe
/// plan for the two cookie settings, one safe plan for `set_cookie`, and the reset at login
/// not offered.
fn session_fix(result: &ScanResult) -> ItemFixView {
    let text = std::fs::read_to_string(fixture("single_file").join("app.py")).expect("fixture");
    let findings: Vec<&Finding> = result
        .items
        .iter()
        .find(|i| i.item.id == "session")
        .map(|i| i.outcome.findings.iter().collect())
        .unwrap_or_default();
    let by_rule = |rule: &str| -> Finding {
        (*findings.iter().find(|f| f.rule == rule).expect("finding")).clone()
    };
    let mut cookie = PatchBuilder::new("app.py", &text);
    let at = text.find("app = Flask(__name__)\n").expect("app") + "app = Flask(__name__)\n".len();
    cookie
        .insert(
            at,
            "app.config[\"SESSION_COOKIE_SECURE\"] = True\napp.config[\"SESSION_COOKIE_SAMESITE\"] = \"Lax\"\n",
        )
        .expect("insert");
    let cookie = FixPlan::new(
        "session/cookie-secure",
        "set SESSION_COOKIE_SECURE and SESSION_COOKIE_SAMESITE",
        Applicability::Unsafe,
    )
    .fixing(&by_rule("session/cookie-samesite"))
    .fixing(&by_rule("session/cookie-secure"))
    .with_patch(cookie.finish().expect("patch"));
    let mut flags = PatchBuilder::new("app.py", &text);
    let call = "resp.set_cookie(\"theme\", request.args.get(\"t\", \"light\"))";
    let start = text.find(call).expect("set_cookie");
    flags
        .replace(
            start..start + call.len(),
            "resp.set_cookie(\"theme\", request.args.get(\"t\", \"light\"), secure=True, httponly=True, samesite=\"Lax\")",
        )
        .expect("replace");
    let flags = FixPlan::new(
        "session/set-cookie-flags",
        "pass secure, httponly and samesite to set_cookie(\"theme\")",
        Applicability::Safe,
    )
    .fixing(&by_rule("session/set-cookie-flags"))
    .with_patch(flags.finish().expect("patch"));
    let mut start_snap = Snapshot::default();
    start_snap.insert("app.py".to_string(), SnapFile::new(text.clone()));
    let plans = vec![cookie, flags];
    let end = combine(&start_snap, &plans, &[true, true]).expect("combines");
    let item = ItemFix {
        item: "session".into(),
        applied: plans,
        rejected: vec![Rejected {
            title: Some("call session.clear() before the login".into()),
            findings: vec![by_rule("session/no-reset-at-login")],
            reason: "a rescan still reports session/no-reset-at-login at app.py:19".into(),
        }],
        changes: changes_between(&start_snap, &end),
        ..ItemFix::default()
    };
    view_of(&item, "")
}

fn fixes(result: &ScanResult) -> FixesView {
    FixesView {
        items: vec![
            ItemFixView {
                item: "debug".into(),
                plans: vec![PlanView {
                    title: "drop debug=True from app.run()".into(),
                    unsafe_: false,
                    findings: 1,
                    touches: vec![("app.py".into(), 45)],
                }],
                findings: result
                    .items
                    .iter()
                    .filter(|i| i.item.id == "debug")
                    .flat_map(|i| &i.outcome.findings)
                    .map(|f| super::fixes::FindingFix {
                        fingerprint: f.fingerprint(),
                        rule: f.rule.clone(),
                        path: f.path.clone(),
                        line: f.line,
                        note: FindingNote::Fixed { plan: 0 },
                    })
                    .collect(),
                diff: DEBUG_DIFF.into(),
                commit_subject: "harden(debug): stop switching debug mode on".into(),
                notes: vec![],
                engine: None,
            },
            session_fix(result),
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
        ..GitState::default()
    }));
    let view = fixes(&result);
    app.update_worker(WorkerMsg::Scanned {
        generation: 1,
        result: Ok(Box::new(ScanReport::new(result))),
    });
    app.update_worker(WorkerMsg::Fixes {
        generation: 1,
        result: Ok(view),
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
    for b in super::keys::BINDINGS.iter().filter(|b| !b.label.is_empty()) {
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
        detached: true,
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
    row_with(buffer, "HEAD is detached (not on a branch)");
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
    row_with(buffer, "c commit");
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
        matches!(&app.popup, Some(Popup::Commit { branch, .. }) if branch.text() == "flask-harden/2026-01-02")
    );
    for _ in 0..10 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "hardening");
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::Commit { request, branch }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(branch, "flask-harden/hardening");
    let items: Vec<&str> = request.items.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(items, vec!["debug", "session"]);
    assert!(
        request
            .items
            .iter()
            .all(|(_, unchecked)| unchecked.is_empty())
    );
    assert!(matches!(app.popup, Some(Popup::Committing { .. })));
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
    assert_eq!(app.visible().len(), 13);
    keys(&mut app, "G");
    assert_eq!(app.selected, 12);
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

fn shift_key(app: &mut App, c: char) -> Vec<Effect> {
    app.update_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// The fix pane focused on the session item, the cursor on the finding with `rule`.
fn session_finding(app: &mut App, rule: &str) {
    select(app, "session");
    app.focus = super::keys::Pane::Fix;
    press(app, KeyCode::Char('g'));
    let item = app.selected_item().expect("session").clone();
    let index = app
        .finding_rows(&item)
        .iter()
        .position(|r| r.rule == rule)
        .expect("finding row");
    app.finding = 0;
    for _ in 0..index {
        press(app, KeyCode::Char('j'));
    }
    assert_eq!(app.finding, index);
}

#[test]
fn one_finding_of_a_multi_finding_item() {
    let mut app = app();
    session_finding(&mut app, "session/set-cookie-flags");
    // Space checks this finding's fix only: the safe set_cookie plan, not the cookie settings.
    keys(&mut app, " ");
    assert_eq!(app.accepted(), vec!["session"]);
    assert_eq!(app.kept("session"), vec![false, true]);
    let diff = app.diff_of("session").expect("a fix").expect("combines");
    assert!(diff.contains("secure=True, httponly=True"), "{diff}");
    assert!(!diff.contains("SESSION_COOKIE_SECURE"), "{diff}");
    let request = app.commit_request();
    let (id, unchecked) = &request.items[0];
    assert_eq!(id, "session");
    assert_eq!(
        unchecked.len(),
        2,
        "the two cookie-setting findings are left out"
    );
    // The checklist marks the partial fix, 1 of the 4 findings.
    let t = render(&app, 80, 24);
    let (_, row) = row_with(t.backend().buffer(), "session");
    assert!(row.contains("[~]") && row.contains("1/4"), "{row}");
    row_with(
        t.backend().buffer(),
        "[x] app.py:33 session/set-cookie-flags",
    );
    insta::assert_snapshot!("one_finding_80x24", t.backend());
    insta::assert_snapshot!("one_finding_120x35", render(&app, 120, 35).backend());
    // The not-offered finding says why, in the user's words, and cannot be checked.
    session_finding(&mut app, "session/no-reset-at-login");
    keys(&mut app, " ");
    let message = app.message.clone().unwrap_or_default();
    assert!(message.contains("still there after it"), "{message}");
    assert!(!message.contains("rescan"), "{message}");
    // Checking the unsafe plan asks first; then every finding's fix is in.
    session_finding(&mut app, "session/cookie-secure");
    keys(&mut app, " ");
    assert!(matches!(app.popup, Some(Popup::ConfirmUnsafe { .. })));
    keys(&mut app, "y");
    assert_eq!(app.kept("session"), vec![true, true]);
    // Unchecking the last one leaves the item unaccepted; `u` brings the part back.
    session_finding(&mut app, "session/cookie-samesite");
    keys(&mut app, " ");
    assert_eq!(app.kept("session"), vec![false, true]);
    session_finding(&mut app, "session/set-cookie-flags");
    keys(&mut app, " ");
    assert!(app.accepted().is_empty());
    keys(&mut app, "u");
    assert_eq!(app.kept("session"), vec![false, true]);
    // Item-level: `a` (or space in the checklist) takes the whole fix.
    keys(&mut app, "a");
    assert_eq!(app.kept("session"), vec![true, true]);
}

#[test]
fn selecting_a_finding_scrolls_to_its_hunk_and_brackets_jump() {
    let mut app = app();
    app.size = (80, 24);
    session_finding(&mut app, "session/cookie-secure");
    let width = ui::layout(&app, ratatui::layout::Rect::new(0, 0, 80, 24))
        .fix
        .width;
    let view = ui::fix_view(&app, width);
    assert_eq!(view.anchors.len(), 3, "one file and two hunks");
    let first = app.fix_scroll;
    session_finding(&mut app, "session/set-cookie-flags");
    assert!(app.fix_scroll > first, "{} > {first}", app.fix_scroll);
    let hunk2 = view.anchors[2].row;
    assert!(app.fix_scroll <= hunk2, "{} <= {hunk2}", app.fix_scroll);
    let message = |app: &App| app.message.clone().unwrap_or_default();
    keys(&mut app, "g[");
    assert_eq!(message(&app), "First hunk.");
    keys(&mut app, "]");
    assert!(message(&app).starts_with("hunk 1/2"), "{}", message(&app));
    keys(&mut app, "]");
    assert!(message(&app).starts_with("hunk 2/2"), "{}", message(&app));
    keys(&mut app, "[");
    assert!(message(&app).starts_with("hunk 1/2"), "{}", message(&app));
    // Horizontal scroll keeps the marker and drops the first columns.
    keys(&mut app, "ll");
    let lines = ui::fix_lines(&app, width);
    let text: Vec<String> = lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    assert!(
        text.iter()
            .any(|l| l.starts_with("+ION_COOKIE_SECURE\"] = True")),
        "{text:#?}"
    );
}

#[test]
fn text_wraps_instead_of_being_cut_at_80x24() {
    let mut app = app();
    select(&mut app, "session");
    keys(&mut app, " ");
    let t = render(&app, 80, 24);
    let screen: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect::<String>();
    // The whole unsafe reason is on screen (wrapped over lines).
    for word in ["[unsafe:", "changes", "behaviour,", "review]"] {
        assert!(screen.contains(word), "{word} missing");
    }
    keys(&mut app, "y");
    // A long status message wraps instead of being cut.
    app.message = Some(format!("{} the end", "word ".repeat(30)));
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "the end");
    // The footer keeps "c commit" in every pane at 80 columns.
    for _ in 0..3 {
        let t = render(&app, 80, 24);
        row_with(t.backend().buffer(), "c commit");
        press(&mut app, KeyCode::Tab);
    }
}

#[test]
fn side_by_side_falls_back_and_panes_resize() {
    let mut app = app();
    app.size = (120, 35);
    select(&mut app, "debug");
    keys(&mut app, "v");
    let t = render(&app, 120, 35);
    row_with(t.backend().buffer(), "side by side needs a wider pane");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    shift_key(&mut app, '+');
    assert_eq!(app.mode, ScreenMode::Half);
    let areas = ui::layout(&app, ratatui::layout::Rect::new(0, 0, 120, 35));
    assert_eq!(areas.checklist.width, 0, "the checklist is hidden");
    let t = render(&app, 120, 35);
    row_with(t.backend().buffer(), "side by side (old | new)");
    insta::assert_snapshot!("side_by_side_wide_120x35", t.backend());
    shift_key(&mut app, '+');
    assert_eq!(app.mode, ScreenMode::Full);
    let areas = ui::layout(&app, ratatui::layout::Rect::new(0, 0, 120, 35));
    assert_eq!(areas.detail.height, 0);
    keys(&mut app, "__");
    assert_eq!(app.mode, ScreenMode::Normal);
}

#[test]
fn commit_dialog_keeps_work_and_refuses_bad_names() {
    let mut app = app();
    select(&mut app, "debug");
    keys(&mut app, " c");
    // A space is refused with a message, not dropped silently.
    keys(&mut app, " ");
    let Some(Popup::Commit { branch, error }) = &app.popup else {
        panic!("commit dialog");
    };
    assert_eq!(branch.text(), "flask-harden/2026-01-02");
    assert!(
        error.as_deref().is_some_and(|e| e.contains("spaces")),
        "{error:?}"
    );
    insta::assert_snapshot!("commit_refused_char_80x24", render(&app, 80, 24).backend());
    // Line editing: Ctrl-w deletes the last word (three: 02, 01, 2026), Ctrl-u the rest.
    ctrl(&mut app, 'w');
    ctrl(&mut app, 'w');
    ctrl(&mut app, 'w');
    keys(&mut app, "mine");
    ctrl(&mut app, 'a');
    keys(&mut app, "x");
    let Some(Popup::Commit { branch, .. }) = &app.popup else {
        panic!("commit dialog");
    };
    assert_eq!(branch.text(), "xflask-harden/mine");
    ctrl(&mut app, 'e');
    ctrl(&mut app, 'u');
    // `HEAD` is refused as git refuses it.
    keys(&mut app, "HEAD");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Some(Popup::Commit { error, .. }) = &app.popup else {
        panic!("commit dialog");
    };
    assert!(error.is_some(), "HEAD is not a branch name");
    for _ in 0..4 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "harden/try");
    assert_eq!(press(&mut app, KeyCode::Enter).len(), 1);
    // A failed commit keeps the branch name and the choices.
    app.update_worker(WorkerMsg::Committed(Err(
        "a branch named \"harden/try\" already exists".into(),
    )));
    assert!(matches!(app.popup, Some(Popup::CommitFailed { .. })));
    insta::assert_snapshot!("commit_failed_80x24", render(&app, 80, 24).backend());
    press(&mut app, KeyCode::Esc);
    let Some(Popup::Commit { branch, error }) = &app.popup else {
        panic!("back in the commit dialog");
    };
    assert_eq!(branch.text(), "harden/try");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("already exists"))
    );
    assert_eq!(app.accepted(), vec!["debug"]);
    // Esc cancels, keeping the choices.
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none());
    assert_eq!(app.accepted(), vec!["debug"]);
}

#[test]
fn after_a_commit_the_summary_and_marks_stay() {
    let mut app = app();
    app.update_worker(WorkerMsg::Git(GitState {
        is_repo: true,
        ..GitState::default()
    }));
    select(&mut app, "debug");
    keys(&mut app, " c");
    press(&mut app, KeyCode::Enter);
    app.update_worker(WorkerMsg::Committed(Ok(CommitOutcome {
        branch: "flask-harden/2026-01-02".into(),
        base: "bff848c".into(),
        commits: vec![(
            "f1d5805".into(),
            "harden(debug): stop switching debug mode on".into(),
        )],
    })));
    // Clean work tree: the dialog offers to switch.
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "s switch to it now");
    let effects = keys_effects(&mut app, 's');
    assert_eq!(
        effects,
        vec![Effect::Switch {
            branch: "flask-harden/2026-01-02".into()
        }]
    );
    // The checklist shows what was committed where.
    let t = render(&app, 80, 24);
    let (_, row) = row_with(t.backend().buffer(), "debug");
    assert!(row.contains("[c]"), "{row}");
    let summary = app.exit_summary().expect("a summary");
    assert!(
        summary.contains("committed on branch flask-harden/2026-01-02"),
        "{summary}"
    );
    assert!(
        summary.contains("git switch flask-harden/2026-01-02"),
        "{summary}"
    );
    assert!(
        summary.contains("git push -u origin flask-harden/2026-01-02"),
        "{summary}"
    );
    assert!(summary.contains("f1d5805 harden(debug)"), "{summary}");
    // With uncommitted changes there is no switch.
    app.update_worker(WorkerMsg::Git(GitState {
        is_repo: true,
        dirty: true,
        ..GitState::default()
    }));
    app.popup = Some(done(true));
    assert!(keys_effects(&mut app, 's').is_empty());
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "commit or stash them to switch");
}

fn keys_effects(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c))
}

#[test]
fn edit_copy_and_ignore_act_on_the_finding() {
    let mut app = app();
    session_finding(&mut app, "session/set-cookie-flags");
    assert_eq!(
        keys_effects(&mut app, 'e'),
        vec![Effect::Edit {
            path: "app.py".into(),
            line: 33
        }]
    );
    let back = app.edited("app.py", Ok(()));
    assert_eq!(back, vec![Effect::ScanFiles { generation: 1 }]);
    assert_eq!(
        keys_effects(&mut app, 'y'),
        vec![Effect::Copy("app.py:33".into())]
    );
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("app.py:33"))
    );
    // `i` asks for the reason; an empty one is refused.
    keys(&mut app, "i");
    assert!(matches!(app.popup, Some(Popup::Ignore { .. })));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Some(Popup::Ignore { error, .. }) = &app.popup else {
        panic!("ignore dialog");
    };
    assert!(error.is_some());
    keys(&mut app, "theme cookie is not sensitive");
    insta::assert_snapshot!("ignore_dialog_80x24", render(&app, 80, 24).backend());
    let effects = press(&mut app, KeyCode::Enter);
    let expected = Exception::Ignore {
        rule: "session/set-cookie-flags".into(),
        path: "app.py".into(),
        line: 33,
        code: "    resp.set_cookie(\"theme\", request.args.get(\"t\", \"light\"))".into(),
        reason: "theme cookie is not sensitive".into(),
    };
    assert_eq!(effects, vec![Effect::Preview(expected.clone())]);
    assert_eq!(app.commit_request().exceptions, vec![expected]);
    // Pending changes make quitting ask first.
    keys(&mut app, "q");
    assert!(matches!(app.popup, Some(Popup::ConfirmQuit)));
    press(&mut app, KeyCode::Esc);
    // Tab switches to excluding the folder (a template in templates/ here).
    app.focus = super::keys::Pane::Checklist;
    select(&mut app, "xss");
    app.focus = super::keys::Pane::Fix;
    let item = app.selected_item().expect("xss").clone();
    let index = app
        .finding_rows(&item)
        .iter()
        .position(|r| r.path.starts_with("templates/"))
        .expect("template finding");
    app.finding = index;
    keys(&mut app, "i");
    press(&mut app, KeyCode::Tab);
    assert!(matches!(
        &app.popup,
        Some(Popup::Ignore { target: IgnoreTarget::Folder(f), .. }) if f == "templates"
    ));
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Preview(Exception::Exclude {
            folder: "templates".into()
        })]
    );
}

#[test]
fn suppressions_and_exclusions_are_written_as_the_readme_says() {
    let mut snap = Snapshot::default();
    snap.insert(
        "app.py",
        SnapFile::new("def f():\n    x = 1\n    resp.set_cookie(\"a\", v)\n"),
    );
    snap.insert(
        "templates/a.html",
        SnapFile::new("<p>\n  {{ bio|safe }}\n</p>\n"),
    );
    apply_exception(
        &mut snap,
        &Exception::Ignore {
            rule: "session/set-cookie-flags".into(),
            path: "app.py".into(),
            // The line moved (a fix above it): the code finds it.
            line: 2,
            code: "    resp.set_cookie(\"a\", v)".into(),
            reason: "not sensitive".into(),
        },
    )
    .expect("applies");
    assert_eq!(
        snap.get("app.py"),
        Some(
            "def f():\n    x = 1\n    # flask-harden: ignore[session/set-cookie-flags] not sensitive\n    resp.set_cookie(\"a\", v)\n"
        )
    );
    apply_exception(
        &mut snap,
        &Exception::Ignore {
            rule: "xss/safe-filter".into(),
            path: "templates/a.html".into(),
            line: 2,
            code: "  {{ bio|safe }}".into(),
            reason: "sanitised".into(),
        },
    )
    .expect("applies");
    assert_eq!(
        snap.get("templates/a.html"),
        Some(
            "<p>\n  {# flask-harden: ignore[xss/safe-filter] sanitised #}\n  {{ bio|safe }}\n</p>\n"
        )
    );
    apply_exception(
        &mut snap,
        &Exception::Exclude {
            folder: "vendor".into(),
        },
    )
    .expect("applies");
    assert_eq!(
        snap.get("flask-harden.toml"),
        Some("exclude = [\"vendor/**\"]\n")
    );
    // Into [tool.flask-harden] when that is where the configuration is.
    let mut snap = Snapshot::default();
    snap.insert(
        "pyproject.toml",
        SnapFile::new(
            "[project]\nname = \"x\"\n\n[tool.flask-harden]\nexclude = [\"legacy/**\"]\n",
        ),
    );
    apply_exception(
        &mut snap,
        &Exception::Exclude {
            folder: "vendor".into(),
        },
    )
    .expect("applies");
    let text = snap.get("pyproject.toml").unwrap_or_default();
    assert!(
        text.contains("exclude = [\"legacy/**\", \"vendor/**\"]"),
        "{text}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pyproject.toml"), text).expect("write");
    let config = crate::config::Config::load(dir.path());
    assert!(config.is_ok(), "the configuration still loads: {config:?}");
}

#[test]
fn fixes_appear_item_by_item() {
    let mut app = App::new("single_file", Theme::colored());
    app.start();
    let result = scan(&fixture("single_file"), &ScanOptions::default()).expect("scans");
    let view = fixes(&result);
    app.update_worker(WorkerMsg::Scanned {
        generation: 1,
        result: Ok(Box::new(ScanReport::new(result))),
    });
    app.update_worker(WorkerMsg::FixesStarted {
        generation: 1,
        total: 7,
        default_branch: "flask-harden/x".into(),
    });
    app.update_worker(WorkerMsg::FixReady {
        generation: 1,
        view: Box::new(view.items[0].clone()),
    });
    select(&mut app, "debug");
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "fixes 1/7");
    row_with(t.backend().buffer(), "+    app.run()");
    // An item whose fix is not ready says so, with the progress.
    select(&mut app, "session");
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "(1 of 7 items ready)");
    insta::assert_snapshot!("preparing_80x24", t.backend());
    keys(&mut app, " ");
    assert_eq!(
        app.message.as_deref(),
        Some("The fixes are still being prepared.")
    );
    // The one that is ready can be accepted already.
    select(&mut app, "debug");
    keys(&mut app, " ");
    assert_eq!(app.accepted(), vec!["debug"]);
}

#[test]
fn mouse_wheel_scrolls_and_click_selects() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app();
    app.size = (80, 24);
    let areas = ui::layout(&app, ratatui::layout::Rect::new(0, 0, 80, 24));
    let at = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Click the third row of the checklist.
    app.update_mouse(at(
        MouseEventKind::Down(MouseButton::Left),
        areas.checklist.x + 5,
        areas.checklist.y + 3,
    ));
    assert_eq!(app.selected, 2);
    select(&mut app, "session");
    app.update_mouse(at(
        MouseEventKind::ScrollDown,
        areas.fix.x + 5,
        areas.fix.y + 3,
    ));
    assert_eq!(app.fix_scroll, 3);
    app.update_mouse(at(
        MouseEventKind::ScrollUp,
        areas.fix.x + 5,
        areas.fix.y + 3,
    ));
    assert_eq!(app.fix_scroll, 0);
    // A click on a finding selects it (at 120×35, where the list shows two of them).
    app.size = (120, 35);
    let areas = ui::layout(&app, ratatui::layout::Rect::new(0, 0, 120, 35));
    let view = ui::fix_view(&app, areas.fix.width);
    let (head, _, offset) = ui::fix_areas(&app, &view, areas.fix);
    let (row, _) = view.findings[1];
    assert!(row >= offset && row < offset + usize::from(head.height));
    app.update_mouse(at(
        MouseEventKind::Down(MouseButton::Left),
        head.x + 3,
        head.y + (row - offset) as u16,
    ));
    assert_eq!(app.finding, 1);
    assert_eq!(app.focus, super::keys::Pane::Fix);
    // M turns capture off: the mouse then does nothing here.
    assert_eq!(shift_key(&mut app, 'M'), vec![Effect::Mouse(false)]);
    assert!(!app.mouse);
}

#[test]
fn commit_refused_outside_a_repository() {
    let mut app = app();
    app.update_worker(WorkerMsg::Git(GitState::default()));
    select(&mut app, "debug");
    keys(&mut app, " c");
    assert!(app.popup.is_none());
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("Not a git repository"))
    );
}

#[test]
fn control_characters_from_the_repository_are_shown_escaped() {
    let mut app = app();
    select(&mut app, "debug");
    if let Some(report) = &mut app.report {
        for item in &mut report.scan.items {
            for f in &mut item.outcome.findings {
                f.message = format!("{}\x1b]0;pwned\x07", f.message);
            }
        }
    }
    let t = render(&app, 120, 35);
    let (_, row) = row_with(t.backend().buffer(), "^[]0;pwned^G");
    assert!(!row.contains('\x1b'), "{row:?}");
    let lines =
        super::diff::parse("--- a/x\x1b[2J.py\n+++ b/x\x1b[2J.py\n@@ -1 +1 @@\n-a\x1b[2J\n+b\n");
    assert!(lines.iter().all(|l| !l.text.contains('\x1b')), "{lines:?}");
    assert_eq!(lines[3].text, "a^[[2J");
}

#[test]
fn copy_is_an_osc52_sequence() {
    assert_eq!(super::osc52("app.py:33"), "\x1b]52;c;YXBwLnB5OjMz\x07");
    // A path with an escape byte cannot break out of the sequence.
    assert_eq!(super::osc52("a\x07\x1b.py:1").matches('\x07').count(), 1);
}

fn shift(app: &mut App, c: char) -> Vec<Effect> {
    app.update_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT))
}

fn verdict(item: &str, broken: &[&str]) -> super::fixes::VerdictView {
    super::fixes::VerdictView {
        item: item.into(),
        passes: broken.is_empty(),
        summary: if broken.is_empty() {
            "10 passed (exit 0)".into()
        } else {
            format!("9 passed, {} failed (exit 1)", broken.len())
        },
        broken: broken.iter().map(|b| format!("{b}: failed")).collect(),
    }
}

/// `T` asks first (it runs the project's code), then streams the tests' output, can be hidden
/// and shown again, and at the end drops the accepted fix that breaks a test (undo brings it
/// back) while the one that breaks nothing stays accepted and says so in the fix pane.
#[test]
fn tests_run_on_the_accepted_fixes_after_a_confirmation() {
    let mut app = app();
    assert!(shift(&mut app, 'T').is_empty());
    assert!(app.popup.is_none(), "nothing accepted: no dialog");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("Accept a fix first"))
    );

    select(&mut app, "debug");
    keys(&mut app, " ");
    select(&mut app, "session");
    keys(&mut app, " ");
    keys(&mut app, "y");
    assert_eq!(app.accepted(), ["debug", "session"]);
    assert!(shift(&mut app, 'T').is_empty());
    assert!(matches!(app.popup, Some(Popup::ConfirmVerify)));
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "own test suite, which executes");
    insta::assert_snapshot!("verify_confirmation", t.backend());

    // Cancelling runs nothing.
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.verify_run.is_none());

    shift(&mut app, 'T');
    let effects = press(&mut app, KeyCode::Enter);
    let Some(Effect::Verify { request }) = effects.first() else {
        panic!("{effects:?}");
    };
    let ids: Vec<&str> = request.items.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["debug", "session"]);
    assert!(request.exceptions.is_empty());
    assert!(app.verifying());

    use crate::verify::{Event, Stream, SuiteResult};
    app.update_worker(WorkerMsg::VerifyEvent(Event::Status(
        "running the tests on HEAD: python -m pytest -rA".into(),
    )));
    for i in 0..(super::app::VERIFY_LINES + 5) {
        app.update_worker(WorkerMsg::VerifyEvent(Event::Line {
            run: "on HEAD".into(),
            stream: Stream::Stdout,
            text: format!("line {i}\x1b[2J"),
        }));
    }
    app.update_worker(WorkerMsg::VerifyEvent(Event::Finished {
        run: "on HEAD".into(),
        result: SuiteResult::default(),
    }));
    let run = app.verify_run.as_ref().expect("a run");
    assert_eq!(
        run.lines.len(),
        super::app::VERIFY_LINES,
        "the oldest lines go"
    );
    assert_eq!(run.runs.len(), 1);
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "running the tests on HEAD");
    let (_, last) = row_with(t.backend().buffer(), "line 404^[[2J");
    assert!(!last.contains('\x1b'));
    row_with(t.backend().buffer(), "x stop the tests");
    row_with(t.backend().buffer(), "tests on HEAD:");

    // Hidden, the tests go on; the title says so and T shows them again.
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.popup.is_none());
    assert!(app.verifying());
    row_with(
        render(&app, 100, 24).backend().buffer(),
        "testing the fixes",
    );
    assert!(shift(&mut app, 'T').is_empty());
    assert!(matches!(app.popup, Some(Popup::Verify)));

    // Quitting while they run asks, and says it stops them.
    press(&mut app, KeyCode::Esc);
    keys(&mut app, "q");
    assert!(matches!(app.popup, Some(Popup::ConfirmQuit)));
    row_with(
        render(&app, 80, 24).backend().buffer(),
        "quitting stops them",
    );
    press(&mut app, KeyCode::Esc);

    app.update_worker(WorkerMsg::Verified(Ok(super::fixes::VerifyReport {
        environment: ".venv in the repository".into(),
        command: "python -m pytest -rA".into(),
        head: "10 passed (exit 0)".into(),
        verdicts: vec![
            verdict("debug", &[]),
            verdict(
                "session",
                &["tests/test_theme.py::test_script_reads_the_cookie"],
            ),
        ],
        replanned: vec![],
    })));
    assert!(!app.verifying());
    assert_eq!(
        app.accepted(),
        ["debug"],
        "the breaking fix is accepted no more"
    );
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("session: the fix newly breaks tests"))
    );
    assert!(
        matches!(app.popup, Some(Popup::Verify)),
        "the verdicts show up"
    );
    let t = render(&app, 80, 24);
    row_with(t.backend().buffer(), "✓ debug: no test newly broken");
    row_with(t.backend().buffer(), "✗ session: newly breaks tests");
    row_with(t.backend().buffer(), "test_script_reads_the_cookie: failed");
    insta::assert_snapshot!("verify_done", t.backend());
    press(&mut app, KeyCode::Esc);
    // The choices changed (session is out): T offers a new run.
    shift(&mut app, 'T');
    assert!(matches!(app.popup, Some(Popup::ConfirmVerify)));
    press(&mut app, KeyCode::Esc);

    // The fix pane shows each verdict while the selection is the one tested.
    select(&mut app, "debug");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    row_with(
        render(&app, 100, 30).backend().buffer(),
        "Your tests: no test newly broken",
    );
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::BackTab);
    keys(&mut app, "u");
    assert_eq!(
        app.accepted(),
        ["debug", "session"],
        "undo accepts it again"
    );
    select(&mut app, "session");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    row_with(
        render(&app, 100, 30).backend().buffer(),
        "Your tests: this fix breaks 1",
    );
}

/// `x` stops the tests: the worker is asked to, and the popup says it is stopping.
#[test]
fn tests_can_be_stopped() {
    let mut app = app();
    select(&mut app, "debug");
    keys(&mut app, " ");
    shift(&mut app, 'T');
    press(&mut app, KeyCode::Enter);
    assert!(app.verifying());
    assert_eq!(
        press(&mut app, KeyCode::Char('x')),
        vec![Effect::StopVerify]
    );
    assert!(app.verify_run.as_ref().is_some_and(|r| r.stopping));
    row_with(
        render(&app, 80, 24).backend().buffer(),
        "Stopping the tests",
    );
    app.update_worker(WorkerMsg::Verified(Err("the tests were stopped".into())));
    assert!(!app.verifying());
    assert_eq!(app.accepted(), ["debug"], "stopping changes no choice");
    row_with(
        render(&app, 80, 24).backend().buffer(),
        "the tests were stopped",
    );
}

#[test]
fn tests_refused_outside_a_repository() {
    let mut app = app();
    app.update_worker(WorkerMsg::Git(GitState::default()));
    select(&mut app, "debug");
    keys(&mut app, " ");
    assert!(shift(&mut app, 'T').is_empty());
    assert!(app.popup.is_none());
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("Not a git repository"))
    );
}
