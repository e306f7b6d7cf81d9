//! How a file is written, so a patch can match it: line endings, indentation unit, quotes.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{StringFlags, StringLiteral, str::Quote};

/// A file's line ending. Patches use it for every line they add: CRLF stays CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    /// The ending most lines of `text` use; LF for a file with no line break.
    pub fn detect(text: &str) -> Self {
        let total = text.bytes().filter(|b| *b == b'\n').count();
        let crlf = text.matches("\r\n").count();
        if total > 0 && crlf * 2 > total {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }

    /// `snippet` (written with `\n`) with this ending.
    pub fn apply(self, snippet: &str) -> String {
        let lf = snippet.replace("\r\n", "\n");
        match self {
            LineEnding::Lf => lf,
            LineEnding::CrLf => lf.replace('\n', "\r\n"),
        }
    }
}

/// The unit one indentation level adds in `text`: a tab, or the smallest step in spaces
/// between a line ending with `:` and the next code line. Four spaces when nothing says.
pub fn indent_unit(text: &str) -> String {
    let mut prev: Option<(&str, bool)> = None;
    let mut best: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = &line[..line.len() - trimmed.len()];
        if let Some((prev_indent, opens)) = prev
            && opens
            && indent.len() > prev_indent.len()
            && indent.starts_with(prev_indent)
        {
            let step = &indent[prev_indent.len()..];
            if step.starts_with('\t') {
                return "\t".to_string();
            }
            if step.bytes().all(|b| b == b' ') {
                best = Some(best.map_or(step.len(), |b| b.min(step.len())));
            }
        }
        let opens = trimmed.trim_end().ends_with(':');
        prev = Some((indent, opens));
    }
    " ".repeat(best.unwrap_or(4))
}

/// The leading whitespace of the line holding byte `offset`.
pub fn line_indent(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let rest = text.get(start..).unwrap_or("");
    let len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..len]
}

/// Byte offset where the line holding `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.get(..offset)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// Byte offset just past the line ending of the line holding `offset` (the text's end when it
/// is the last line and has no ending).
pub fn line_end_inclusive(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.get(offset..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| offset + i + 1)
}

/// The quote character most single-line string literals of a module use; `"` when tied or
/// when the module has none.
pub fn preferred_quote(module: &ruff_python_ast::ModModule) -> char {
    #[derive(Default)]
    struct Count {
        single: usize,
        double: usize,
    }
    impl<'a> Visitor<'a> for Count {
        fn visit_string_literal(&mut self, s: &'a StringLiteral) {
            if !s.flags.is_triple_quoted() {
                match s.flags.quote_style() {
                    Quote::Single => self.single += 1,
                    Quote::Double => self.double += 1,
                }
            }
        }
    }
    let mut count = Count::default();
    visitor::walk_body(&mut count, &module.body);
    if count.single > count.double {
        '\''
    } else {
        '"'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings() {
        assert_eq!(LineEnding::detect("a\r\nb\r\n"), LineEnding::CrLf);
        assert_eq!(LineEnding::detect("a\nb\r\nc\n"), LineEnding::Lf);
        assert_eq!(LineEnding::detect("a"), LineEnding::Lf);
        assert_eq!(LineEnding::CrLf.apply("a\nb\n"), "a\r\nb\r\n");
    }

    #[test]
    fn indentation_units() {
        assert_eq!(indent_unit("def f():\n  return 1\n"), "  ");
        assert_eq!(indent_unit("class A:\n\tx = 1\n"), "\t");
        assert_eq!(indent_unit("x = 1\n"), "    ");
        assert_eq!(
            indent_unit("if a:\n    if b:\n        c()\n"),
            "    ",
            "nested blocks give the same step"
        );
        assert_eq!(line_indent("x\n    y = 1\n", 9), "    ");
    }

    #[test]
    fn quotes() {
        let parsed = ruff_python_parser::parse_module("a = 'x'\nb = 'y'\nc = \"z\"\n").unwrap();
        assert_eq!(preferred_quote(parsed.syntax()), '\'');
    }
}
