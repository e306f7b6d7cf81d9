//! The key table. The event handler, the footer and the help popup all read [`BINDINGS`], so a
//! key shown is a key that works.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    /// Scroll a line, whatever the cursor is on (the fix pane's J/K).
    LineUp,
    LineDown,
    Left,
    Right,
    NextHunk,
    PrevHunk,
    NextPane,
    PrevPane,
    Open,
    /// The whole item's fix.
    ToggleAccept,
    /// The fix of the finding under the cursor (the fix pane).
    ToggleFinding,
    Skip,
    Undo,
    SideBySide,
    Filter,
    Commit,
    /// Run the project's tests on the accepted fixes.
    Verify,
    Rescan,
    Edit,
    Copy,
    Ignore,
    Grow,
    Shrink,
    Mouse,
    Help,
    Quit,
    /// In a dialog: go ahead.
    Confirm,
    /// In a dialog: close it without doing anything.
    Cancel,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every pane of the main screen.
    Global,
    /// The checklist pane.
    Checklist,
    /// The detail pane (scrolling).
    Scroll,
    /// The fix pane: findings, hunks, scrolling.
    Fix,
    /// Dialogs and popups.
    Dialog,
}

/// The pane that has the focus, which decides the keys that work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Checklist,
    Detail,
    Fix,
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the keys are written in the footer and the help (empty: listed with the binding
    /// before it).
    pub label: &'static str,
    pub action: Action,
    pub scope: Scope,
    /// Short, for the footer (empty: not in the footer).
    pub hint: &'static str,
    /// Longer, for the help popup.
    pub help: &'static str,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    scope: Scope,
    hint: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        scope,
        hint,
        help,
    }
}

use Action as A;
use KeyCode as K;
use Scope as S;

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(&[K::Char('k'), K::Up], "j/k ↑↓", A::Up, S::Checklist, "", "previous / next item"),
    b(&[K::Char('j'), K::Down], "", A::Down, S::Checklist, "", ""),
    b(&[K::Char('g'), K::Home], "g/G PgUp/Dn", A::Top, S::Checklist, "", "first / last, a page"),
    b(&[K::Char('G'), K::End], "", A::Bottom, S::Checklist, "", ""),
    b(&[K::PageUp], "", A::PageUp, S::Checklist, "", ""),
    b(&[K::PageDown], "", A::PageDown, S::Checklist, "", ""),
    b(&[K::Enter], "enter", A::Open, S::Checklist, "", "open the details"),
    b(&[K::Char(' ')], "space", A::ToggleAccept, S::Checklist, "accept", "accept the whole fix"),
    b(&[K::Char('/')], "/", A::Filter, S::Checklist, "", "filter the checklist"),
    b(&[K::Char('k'), K::Up], "j/k ↑↓", A::Up, S::Scroll, "", "scroll up / down"),
    b(&[K::Char('j'), K::Down], "", A::Down, S::Scroll, "scroll", ""),
    b(&[K::Char('g'), K::Home], "g/G PgUp/Dn", A::Top, S::Scroll, "", "top / end, a page"),
    b(&[K::Char('G'), K::End], "", A::Bottom, S::Scroll, "", ""),
    b(&[K::PageUp], "", A::PageUp, S::Scroll, "", ""),
    b(&[K::PageDown], "", A::PageDown, S::Scroll, "", ""),
    b(&[K::Char('h'), K::Left], "h/l ←→", A::Left, S::Scroll, "", "scroll code sideways"),
    b(&[K::Char('l'), K::Right], "", A::Right, S::Scroll, "", ""),
    b(&[K::Char(' ')], "space", A::ToggleAccept, S::Scroll, "accept", "accept the whole fix"),
    b(&[K::Char('k'), K::Up], "j/k ↑↓", A::Up, S::Fix, "", "finding: shows its hunk"),
    b(&[K::Char('j'), K::Down], "", A::Down, S::Fix, "finding", ""),
    b(&[K::Char(' ')], "space", A::ToggleFinding, S::Fix, "check", "check the finding's fix"),
    b(&[K::Char('a')], "a", A::ToggleAccept, S::Fix, "", "check every finding"),
    b(&[K::Char(']')], "] / [", A::NextHunk, S::Fix, "hunk", "next / previous hunk"),
    b(&[K::Char('[')], "", A::PrevHunk, S::Fix, "", ""),
    b(&[K::Char('K')], "J/K", A::LineUp, S::Fix, "", "scroll the diff"),
    b(&[K::Char('J')], "", A::LineDown, S::Fix, "", ""),
    b(&[K::Char('h'), K::Left], "h/l ←→", A::Left, S::Fix, "", "scroll the diff sideways"),
    b(&[K::Char('l'), K::Right], "", A::Right, S::Fix, "", ""),
    b(&[K::Char('g'), K::Home], "g/G PgUp/Dn", A::Top, S::Fix, "", "diff: top / end, a page"),
    b(&[K::Char('G'), K::End], "", A::Bottom, S::Fix, "", ""),
    b(&[K::PageUp], "", A::PageUp, S::Fix, "", ""),
    b(&[K::PageDown], "", A::PageDown, S::Fix, "", ""),
    b(&[K::Char('c')], "c", A::Commit, S::Global, "commit", "commit on a new branch"),
    b(&[K::Char('T')], "T", A::Verify, S::Global, "", "test the accepted fixes"),
    b(&[K::Char('?')], "?", A::Help, S::Global, "help", "this help"),
    b(&[K::Char('q'), K::Esc], "q/esc", A::Quit, S::Global, "quit", "quit (asks if work is open)"),
    b(&[K::Tab], "tab/S-tab", A::NextPane, S::Global, "pane", "next / previous pane"),
    b(&[K::BackTab], "", A::PrevPane, S::Global, "", ""),
    b(&[K::Char('s')], "s", A::Skip, S::Global, "skip", "skip the item"),
    b(&[K::Char('u')], "u", A::Undo, S::Global, "undo", "undo the last choice"),
    b(&[K::Char('e')], "e", A::Edit, S::Global, "edit", "open in $VISUAL/$EDITOR"),
    b(&[K::Char('y')], "y", A::Copy, S::Global, "", "copy path:line"),
    b(&[K::Char('i')], "i", A::Ignore, S::Global, "ignore", "suppress, or exclude folder"),
    b(&[K::Char('v')], "v", A::SideBySide, S::Global, "", "diff: unified / split"),
    b(&[K::Char('+')], "+ / _", A::Grow, S::Global, "", "pane larger / smaller"),
    b(&[K::Char('_')], "", A::Shrink, S::Global, "", ""),
    b(&[K::Char('M')], "M", A::Mouse, S::Global, "", "mouse on / off"),
    b(&[K::Char('r')], "r", A::Rescan, S::Global, "", "scan again"),
    b(&[K::Enter, K::Char('y')], "enter/y", A::Confirm, S::Dialog, "confirm", "confirm"),
    b(&[K::Esc, K::Char('n')], "esc/n", A::Cancel, S::Dialog, "cancel", "cancel, close"),
];

/// Footer hints that stay when the footer is too narrow for every hint.
pub const ESSENTIAL: &[Action] = &[Action::Commit, Action::Help, Action::Quit];

impl Pane {
    pub fn scope(self) -> Scope {
        match self {
            Pane::Checklist => Scope::Checklist,
            Pane::Detail => Scope::Scroll,
            Pane::Fix => Scope::Fix,
        }
    }
}

fn matches(binding: &Binding, key: &KeyEvent) -> bool {
    // Shift is part of the character ('G', '?', '+'); Control and Alt are not ours.
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return false;
    }
    binding.keys.contains(&key.code)
}

/// The action of a key pressed in a pane of the main screen.
pub fn action_in_pane(pane: Pane, key: &KeyEvent) -> Option<Action> {
    if is_interrupt(key) {
        return Some(Action::Quit);
    }
    BINDINGS
        .iter()
        .filter(|b| b.scope == pane.scope() || b.scope == Scope::Global)
        .find(|b| matches(b, key))
        .map(|b| b.action)
}

/// The action of a key pressed in a dialog (confirm or cancel), if any.
pub fn action_in_dialog(key: &KeyEvent) -> Option<Action> {
    if is_interrupt(key) {
        return Some(Action::Cancel);
    }
    BINDINGS
        .iter()
        .filter(|b| b.scope == Scope::Dialog)
        .find(|b| matches(b, key))
        .map(|b| b.action)
}

/// Ctrl-C always gets the user out.
pub fn is_interrupt(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

/// The bindings shown in the footer when `pane` has the focus, in table order.
pub fn footer(pane: Pane) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| {
        (b.scope == pane.scope() || b.scope == Scope::Global) && !b.hint.is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_resolve_per_pane() {
        assert_eq!(
            action_in_pane(Pane::Checklist, &key(KeyCode::Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(
            action_in_pane(Pane::Fix, &key(KeyCode::Char('G'))),
            Some(Action::Bottom)
        );
        assert_eq!(
            action_in_pane(
                Pane::Checklist,
                &KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Bottom)
        );
        // Filtering is a checklist key; open does nothing in the fix pane; space is the item
        // in the checklist and the finding in the fix pane.
        assert_eq!(action_in_pane(Pane::Fix, &key(KeyCode::Char('/'))), None);
        assert_eq!(
            action_in_pane(Pane::Fix, &key(KeyCode::Char(' '))),
            Some(Action::ToggleFinding)
        );
        assert_eq!(
            action_in_pane(Pane::Checklist, &key(KeyCode::Char(' '))),
            Some(Action::ToggleAccept)
        );
        assert_eq!(
            action_in_pane(Pane::Fix, &key(KeyCode::Char(']'))),
            Some(Action::NextHunk)
        );
        assert_eq!(action_in_pane(Pane::Fix, &key(KeyCode::Enter)), None);
        assert_eq!(
            action_in_pane(
                Pane::Detail,
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            action_in_dialog(&key(KeyCode::Char('y'))),
            Some(Action::Confirm)
        );
        assert_eq!(action_in_dialog(&key(KeyCode::Esc)), Some(Action::Cancel));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                let overlap = a.scope == b.scope
                    || (a.scope == Scope::Global && b.scope != Scope::Dialog)
                    || (b.scope == Scope::Global && a.scope != Scope::Dialog);
                if overlap {
                    for k in a.keys {
                        assert!(
                            !b.keys.contains(k),
                            "{k:?} bound to {:?} and {:?}",
                            a.action,
                            b.action
                        );
                    }
                }
            }
        }
    }
}
