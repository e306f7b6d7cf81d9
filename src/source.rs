//! Text of one file of the user's repository, with byte offset → line/column lookups.

use ruff_text_size::{TextRange, TextSize};

/// A 1-based line/column position. Columns count characters, as editors and SARIF do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Byte offsets of line starts in a text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        let bytes = text.as_bytes();
        // A line ends with LF, CRLF, or a lone CR, as Python reads it.
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push((i + 1) as u32);
            }
        }
        Self { starts }
    }

    /// 0-based index of the line holding `offset`.
    pub fn line_of(&self, offset: TextSize) -> usize {
        let off = u32::from(offset);
        match self.starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    pub fn position(&self, text: &str, offset: TextSize) -> Position {
        let line = self.line_of(offset);
        let start = self.starts[line] as usize;
        let end = (u32::from(offset) as usize).min(text.len());
        let column = text.get(start..end).map(|s| s.chars().count()).unwrap_or(0) + 1;
        Position {
            line: line + 1,
            column,
        }
    }

    /// The text of 1-based line `line`, without its line ending.
    pub fn line_text<'a>(&self, text: &'a str, line: usize) -> &'a str {
        if line == 0 || line > self.starts.len() {
            return "";
        }
        let start = self.starts[line - 1] as usize;
        let end = self
            .starts
            .get(line)
            .map(|e| *e as usize)
            .unwrap_or(text.len());
        text.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where 1-based line `line` starts.
    pub fn line_start(&self, line: usize) -> TextSize {
        let idx = line.saturating_sub(1).min(self.starts.len() - 1);
        TextSize::from(self.starts[idx])
    }
}

/// Where a finding sits: 1-based lines and columns, end inclusive of the last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

/// A file's text and its line index, built the first time a position is asked for (most
/// files of a large repository never are).
#[derive(Debug, Clone)]
pub struct SourceText {
    pub text: String,
    lines: std::sync::OnceLock<LineIndex>,
}

impl SourceText {
    pub fn new(text: String) -> Self {
        Self {
            text,
            lines: std::sync::OnceLock::new(),
        }
    }

    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    pub fn span(&self, range: TextRange) -> Span {
        let start = self.lines().position(&self.text, range.start());
        // The end of a range points one past its last byte; a range that ends right after a
        // newline belongs to the line before.
        let end_off = if range.end() > range.start() {
            range.end() - TextSize::from(1)
        } else {
            range.end()
        };
        let mut end = self.lines().position(&self.text, end_off);
        if range.end() > range.start() {
            end.column += 1;
        }
        Span { start, end }
    }

    /// The source lines `start..=end` (1-based), joined with `\n`.
    pub fn lines_text(&self, start: usize, end: usize) -> String {
        (start..=end.max(start))
            .map(|l| self.lines().line_text(&self.text, l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A finding at `range` of the file at `path`, its evidence the whole lines it spans.
    pub fn finding(
        &self,
        path: &str,
        rule: &str,
        severity: crate::finding::Severity,
        range: TextRange,
        message: impl Into<String>,
    ) -> crate::finding::Finding {
        let span = self.span(range);
        crate::finding::Finding {
            rule: rule.to_string(),
            path: path.to_string(),
            line: span.start.line,
            end_line: span.end.line,
            column: span.start.column,
            end_column: span.end.column,
            code: self.lines_text(span.start.line, span.end.line),
            message: message.into(),
            severity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let src = SourceText::new("a = 1\nb = 'é'\r\nc\n".to_string());
        let p = src.lines().position(&src.text, TextSize::from(6));
        assert_eq!(p, Position { line: 2, column: 1 });
        let span = src.span(TextRange::new(TextSize::from(10), TextSize::from(13)));
        assert_eq!(span.start, Position { line: 2, column: 5 });
        assert_eq!(span.end.line, 2);
        assert_eq!(src.lines().line_text(&src.text, 2), "b = 'é'");
        assert_eq!(src.lines().line_text(&src.text, 9), "");
        let src = SourceText::new("a = 1\rb = 2\r\nc\rd\n".to_string());
        assert_eq!(src.lines().line_count(), 5);
        assert_eq!(src.lines().line_text(&src.text, 3), "c");
        let p = src.lines().position(&src.text, TextSize::from(6));
        assert_eq!(p, Position { line: 2, column: 1 });
    }
}
