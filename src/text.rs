//! Text from the repository made safe to show on a terminal.
//!
//! File names, code, commit messages and diagnostics come from the user's repository and may
//! hold terminal control sequences (`ESC ]0;title BEL` retitles a terminal, `ESC [2J` clears
//! it) or bidirectional overrides that make code read differently than it runs. Everything
//! human-facing goes through [`escape_line`] or [`escape_text`], which show such characters as
//! visible text, as git does: C0 controls in caret notation (`^[` for ESC, `^M` for CR, `^?`
//! for DEL), C1 controls and bidirectional controls as `<U+XXXX>`.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw (tab and line feed aside).
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Unicode's explicit bidirectional formatting characters (the "Trojan Source" set).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\u{0}'..='\u{1f}' => {
            out.push('^');
            out.push((b'@' + c as u8) as char);
        }
        '\u{7f}' => out.push_str("^?"),
        _ => out.push_str(&format!("<U+{:04X}>", c as u32)),
    }
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of output (a path, a message, a subject line): every control character escaped,
/// line breaks and tabs included.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Several lines of output (code, a diff, a report): line feeds and tabs kept, every other
/// control character escaped (a carriage return too: a lone one moves the cursor back over
/// what was printed).
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_visible() {
        assert_eq!(escape_line("a\x1b]0;pwned\x07b"), "a^[]0;pwned^Gb");
        assert_eq!(escape_line("x\ny\tz\r"), "x^Jy^Iz^M");
        assert_eq!(escape_text("x\ny\tz\r\n"), "x\ny\tz^M\n");
        assert_eq!(escape_line("del\x7f"), "del^?");
        assert_eq!(escape_line("c1\u{9b}31m"), "c1<U+009B>31m");
        assert_eq!(escape_line("if x\u{202e}y"), "if x<U+202E>y");
        assert!(matches!(escape_line("plain é ✓"), Cow::Borrowed(_)));
    }
}
