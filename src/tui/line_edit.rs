//! A one-line text field that edits like a shell's line editor: cursor left/right, home/end
//! (Ctrl-a/Ctrl-e), backspace/delete, Ctrl-u (to the start), Ctrl-k (to the end), Ctrl-w (the
//! word before the cursor). Characters a field refuses are reported, never dropped silently.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEdit {
    chars: Vec<char>,
    /// Position of the cursor, in characters (0..=len).
    cursor: usize,
}

/// What a key did to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// The text or the cursor changed (or nothing happened).
    Changed,
    /// The character was refused, with the reason.
    Refused(String),
    /// Not an editing key (enter, esc, tab…): the dialog handles it.
    NotMine,
}

impl LineEdit {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        Self {
            cursor: chars.len(),
            chars,
        }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The text before and after the cursor, for drawing.
    pub fn split(&self) -> (String, String) {
        (
            self.chars[..self.cursor].iter().collect(),
            self.chars[self.cursor..].iter().collect(),
        )
    }

    /// Apply a key; `accept` says whether a typed character may go in (`Err` with the reason).
    pub fn key(&mut self, key: &KeyEvent, accept: impl Fn(char) -> Result<(), String>) -> Edited {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Left if !ctrl => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right if !ctrl => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Left => self.cursor = self.word_start(),
            KeyCode::Right => {
                while self.cursor < self.chars.len() && !is_word(self.chars[self.cursor]) {
                    self.cursor += 1;
                }
                while self.cursor < self.chars.len() && is_word(self.chars[self.cursor]) {
                    self.cursor += 1;
                }
            }
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.chars.len(),
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.chars.len(),
            KeyCode::Char('b') if ctrl => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Char('f') if ctrl => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            KeyCode::Char('h') if ctrl && self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            KeyCode::Char('d') if ctrl && self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => {
                self.chars.truncate(self.cursor);
            }
            KeyCode::Char('w') if ctrl => {
                let start = self.word_start();
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Backspace | KeyCode::Delete => {}
            KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => {
                return Edited::NotMine;
            }
            KeyCode::Char(c) => {
                if let Err(reason) = accept(c) {
                    return Edited::Refused(reason);
                }
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            _ => return Edited::NotMine,
        }
        Edited::Changed
    }

    /// Where the word before the cursor starts (as Ctrl-w and Ctrl-← see words).
    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && !is_word(self.chars[i - 1]) {
            i -= 1;
        }
        while i > 0 && is_word(self.chars[i - 1]) {
            i -= 1;
        }
        i
    }
}

/// Word characters for Ctrl-w: a branch name's `/`, `-` and `.` end a word, as in shells.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn any(_: char) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn edits_like_a_line_editor() {
        let mut e = LineEdit::new("flask-harden/2026");
        assert_eq!(e.key(&ctrl('w'), any), Edited::Changed);
        assert_eq!(e.text(), "flask-harden/");
        e.key(&key(KeyCode::Home), any);
        e.key(&key(KeyCode::Char('x')), any);
        assert_eq!(e.text(), "xflask-harden/");
        e.key(&key(KeyCode::Right), any);
        e.key(&key(KeyCode::Backspace), any);
        assert_eq!(e.text(), "xlask-harden/");
        e.key(&key(KeyCode::End), any);
        e.key(&key(KeyCode::Left), any);
        e.key(&key(KeyCode::Char('n')), any);
        assert_eq!(e.text(), "xlask-hardenn/");
        assert_eq!(e.split().1, "/");
        e.key(&ctrl('u'), any);
        assert_eq!((e.text(), e.cursor()), ("/".to_string(), 0));
        e.key(&key(KeyCode::Delete), any);
        assert_eq!(e.text(), "");
        let refuse = |c: char| {
            if c == ' ' {
                Err("no spaces".to_string())
            } else {
                Ok(())
            }
        };
        assert_eq!(
            e.key(&key(KeyCode::Char(' ')), refuse),
            Edited::Refused("no spaces".into())
        );
        assert_eq!(e.text(), "");
        assert_eq!(e.key(&key(KeyCode::Enter), any), Edited::NotMine);
    }
}
