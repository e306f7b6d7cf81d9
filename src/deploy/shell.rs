//! Shell command lines as deployment files write them: words with their byte spans, split
//! into the simple commands that `&&`, `||`, `;`, `|`, `&` and newlines separate. Only the
//! quoting rules matter here (single and double quotes, backslashes, `\` line continuations,
//! `#` comments); nothing is expanded and nothing is run.

use std::ops::Range;

/// One word of a command, unquoted, with the bytes it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Byte range of the word as written (quotes included) in the text that was split.
    pub span: Range<usize>,
}

/// The simple commands of `text`, each a list of words (empty commands dropped).
pub fn split_commands(text: &str) -> Vec<Vec<Word>> {
    let bytes = text.as_bytes();
    let mut commands: Vec<Vec<Word>> = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'\n' | b';' | b'&' | b'|' | b'(' | b')' => {
                commands.push(Vec::new());
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {
                let (word, end) = read_word(text, i);
                if let Some(current) = commands.last_mut() {
                    current.push(word);
                }
                i = end.max(i + 1);
            }
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// The word starting at byte `start` and the byte just past it.
fn read_word(text: &str, start: usize) -> (Word, usize) {
    let mut out = String::new();
    let mut chars = text[start..].char_indices().peekable();
    let mut end = text.len();
    while let Some((off, ch)) = chars.next() {
        let at = start + off;
        match ch {
            ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' => {
                end = at;
                break;
            }
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((_, next)) => out.push(next),
                None => {}
            },
            '\'' => {
                for (_, q) in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    out.push(q);
                }
            }
            '"' => {
                while let Some((_, q)) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                if !matches!(n, '"' | '\\' | '$' | '`' | '\n') {
                                    out.push('\\');
                                }
                                if n != '\n' {
                                    out.push(n);
                                }
                            }
                        }
                        other => out.push(other),
                    }
                }
            }
            other => out.push(other),
        }
    }
    (
        Word {
            text: out,
            span: start..end,
        },
        end,
    )
}

/// A word written so that it reads back as itself in a shell (quoted only when needed).
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '$' | '{' | '}' | '%' | '+'
                )
        });
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(cmd: &[Word]) -> Vec<&str> {
        cmd.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn splits_commands_and_quotes() {
        let text =
            "flask db upgrade && FLASK_APP='my app.py' flask run --host \"0.0.0.0\" # comment";
        let cmds = split_commands(text);
        assert_eq!(cmds.len(), 2);
        assert_eq!(texts(&cmds[0]), ["flask", "db", "upgrade"]);
        assert_eq!(
            texts(&cmds[1]),
            ["FLASK_APP=my app.py", "flask", "run", "--host", "0.0.0.0"]
        );
        let host = &cmds[1][4];
        assert_eq!(&text[host.span.clone()], "\"0.0.0.0\"");
    }

    #[test]
    fn junk_never_panics() {
        for junk in ["'unterminated", "\"x\\", "\\", "é'\"\\\n;;&&||", "((((", ""] {
            let _ = split_commands(junk);
        }
        assert_eq!(quote("app:create_app()"), "'app:create_app()'");
        assert_eq!(quote("0.0.0.0:$PORT"), "0.0.0.0:$PORT");
    }
}
