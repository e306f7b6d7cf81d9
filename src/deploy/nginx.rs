//! nginx configs: directives (`name args;`) and blocks (`name args { … }`), with their byte
//! ranges and nesting. Quotes and `#` comments are honoured; `include` is not followed.

use super::{Block, Directive, ServerConfig};

#[derive(Debug)]
enum Tok {
    Word(String, usize, usize),
    Semi(usize),
    Open(usize),
    Close(usize),
    /// A line break (Caddy ends directives with it; nginx ignores it).
    Newline,
}

/// Tokens of an nginx- or Caddy-style config.
fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => out.push(Tok::Newline),
            c if c.is_whitespace() => {}
            ';' => out.push(Tok::Semi(i)),
            '{' => out.push(Tok::Open(i)),
            '}' => out.push(Tok::Close(i)),
            '#' => {
                while let Some(&(_, n)) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '"' | '\'' => {
                let mut word = String::new();
                let mut end = text.len();
                while let Some((j, n)) = chars.next() {
                    if n == c {
                        end = j + 1;
                        break;
                    }
                    if n == '\\'
                        && let Some((_, e)) = chars.next()
                    {
                        word.push(e);
                        continue;
                    }
                    word.push(n);
                }
                out.push(Tok::Word(word, i, end));
            }
            _ => {
                let mut word = String::from(c);
                let mut end = i + c.len_utf8();
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}') {
                        break;
                    }
                    word.push(n);
                    end = j + n.len_utf8();
                    chars.next();
                }
                out.push(Tok::Word(word, i, end));
            }
        }
    }
    out
}

/// Parse with `;` ending directives (nginx) or line breaks ending them too (Caddy).
pub(crate) fn parse_with(text: &str, newline_ends: bool) -> ServerConfig {
    let mut cfg = ServerConfig::default();
    let mut stack: Vec<usize> = Vec::new();
    let mut words: Vec<(String, usize, usize)> = Vec::new();
    let flush = |cfg: &mut ServerConfig,
                 words: &mut Vec<(String, usize, usize)>,
                 end: usize,
                 stack: &[usize]| {
        if let Some(((name, start, _), rest)) = words.split_first() {
            cfg.directives.push(Directive {
                name: name.clone(),
                args: rest.iter().map(|w| w.0.clone()).collect(),
                range: *start..end.max(*start),
                block: stack.last().copied(),
            });
        }
        words.clear();
    };
    for tok in tokens(text) {
        match tok {
            Tok::Word(w, s, e) => words.push((w, s, e)),
            Tok::Semi(i) => flush(&mut cfg, &mut words, i + 1, &stack),
            Tok::Newline if newline_ends => {
                let end = words.last().map(|w| w.2).unwrap_or(0);
                flush(&mut cfg, &mut words, end, &stack);
            }
            Tok::Newline => {}
            Tok::Open(i) => {
                let (name, args, start) = match words.split_first() {
                    Some(((n, s, _), rest)) => {
                        (n.clone(), rest.iter().map(|w| w.0.clone()).collect(), *s)
                    }
                    None => (String::new(), Vec::new(), i),
                };
                words.clear();
                cfg.blocks.push(Block {
                    name,
                    args,
                    range: start..i + 1,
                    body_end: text.len(),
                    parent: stack.last().copied(),
                });
                stack.push(cfg.blocks.len() - 1);
            }
            Tok::Close(i) => {
                let end = words.last().map(|w| w.2).unwrap_or(i);
                flush(&mut cfg, &mut words, end, &stack);
                if let Some(b) = stack.pop()
                    && let Some(block) = cfg.blocks.get_mut(b)
                {
                    block.body_end = i;
                }
            }
        }
    }
    let end = words.last().map(|w| w.2).unwrap_or(text.len());
    flush(&mut cfg, &mut words, end, &stack);
    cfg
}

pub fn parse(text: &str) -> ServerConfig {
    parse_with(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_and_blocks() {
        let text = "http {\n  server_tokens on; # why\n  server {\n    listen 443 ssl;\n    ssl_protocols TLSv1 TLSv1.2;\n    location / { proxy_pass http://app:8000; }\n  }\n}\n";
        let cfg = parse(text);
        let names: Vec<&str> = cfg.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["server_tokens", "listen", "ssl_protocols", "proxy_pass"]
        );
        let protocols = &cfg.directives[2];
        assert_eq!(
            &text[protocols.range.clone()],
            "ssl_protocols TLSv1 TLSv1.2;"
        );
        let server = cfg.blocks.iter().position(|b| b.name == "server").unwrap();
        assert!(cfg.within(&cfg.directives[3], server));
        assert!(!cfg.within(&cfg.directives[0], server));
    }

    #[test]
    fn junk_is_tolerated() {
        for junk in [
            "}}}{{{",
            "\"unterminated",
            "a b c",
            ";;;",
            "server { listen",
            "é{'",
        ] {
            let _ = parse(junk);
        }
    }
}
