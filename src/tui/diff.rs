//! A unified diff drawn unified or side by side, with `+`/`-` markers, colours, and the changed
//! words highlighted within changed lines (a word diff of each removed/added line pair).

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use similar::{ChangeTag, TextDiff};

use super::theme::Theme;
use crate::text::escape_line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--- a/x` / `+++ b/x`.
    File,
    Hunk,
    Context,
    Removed,
    Added,
    Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: Kind,
    /// Without the marker.
    pub text: String,
}

/// Split a unified diff into typed lines.
pub fn parse(diff: &str) -> Vec<DiffLine> {
    let lines: Vec<&str> = diff.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next_is_new = lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "));
        let (kind, text) = if line.starts_with("--- ") && next_is_new {
            out.push(DiffLine {
                kind: Kind::File,
                text: escape_line(line).into_owned(),
            });
            i += 1;
            (Kind::File, lines[i].to_string())
        } else if line.starts_with("@@") {
            (Kind::Hunk, line.to_string())
        } else if let Some(t) = line.strip_prefix('+') {
            (Kind::Added, t.to_string())
        } else if let Some(t) = line.strip_prefix('-') {
            (Kind::Removed, t.to_string())
        } else if let Some(t) = line.strip_prefix(' ') {
            (Kind::Context, t.to_string())
        } else if line.is_empty() {
            (Kind::Context, String::new())
        } else {
            (Kind::Meta, line.to_string())
        };
        out.push(DiffLine {
            kind,
            // Code from the repository: control characters shown escaped, never sent raw.
            text: escape_line(&text.replace('\t', "    ")).into_owned(),
        });
        i += 1;
    }
    out
}

/// Words for the inline diff: runs of letters, digits and `_`, runs of spaces, and every other
/// character alone, so `app.run(debug=True)` → `app . run ( debug = True )`.
fn tokens(text: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<u8> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if i > start && (prev != Some(k) || k == 2) {
            out.push(&text[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A line cut into (text, changed) pieces.
type Segments = Vec<(String, bool)>;

/// Spans of both sides of a changed line pair: (text, changed).
fn word_diff(old: &str, new: &str) -> (Segments, Segments) {
    let (old, new) = (tokens(old), tokens(new));
    let diff = TextDiff::from_slices(&old, &new);
    let mut left = Segments::new();
    let mut right = Segments::new();
    fn push(side: &mut Segments, text: &str, changed: bool) {
        match side.last_mut() {
            Some((t, c)) if *c == changed => t.push_str(text),
            _ => side.push((text.to_string(), changed)),
        }
    }
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut left, change.value(), false);
                push(&mut right, change.value(), false);
            }
            ChangeTag::Delete => push(&mut left, change.value(), true),
            ChangeTag::Insert => push(&mut right, change.value(), true),
        }
    }
    (left, right)
}

/// A run of removed lines followed by added lines, paired for the word diff.
struct Block<'a> {
    removed: Vec<&'a str>,
    added: Vec<&'a str>,
}

impl Block<'_> {
    /// The segments of each removed and added line; lines without a partner are all changed.
    fn segments(&self) -> (Vec<Segments>, Vec<Segments>) {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for i in 0..self.removed.len().max(self.added.len()) {
            match (self.removed.get(i), self.added.get(i)) {
                (Some(old), Some(new)) => {
                    let (l, r) = word_diff(old, new);
                    removed.push(l);
                    added.push(r);
                }
                (Some(old), None) => removed.push(vec![(old.to_string(), true)]),
                (None, Some(new)) => added.push(vec![(new.to_string(), true)]),
                (None, None) => {}
            }
        }
        (removed, added)
    }
}

enum Piece<'a> {
    Single(&'a DiffLine),
    Block(Block<'a>),
}

fn pieces(lines: &[DiffLine]) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if matches!(lines[i].kind, Kind::Removed | Kind::Added) {
            let mut block = Block {
                removed: Vec::new(),
                added: Vec::new(),
            };
            while i < lines.len() && lines[i].kind == Kind::Removed {
                block.removed.push(&lines[i].text);
                i += 1;
            }
            while i < lines.len() && lines[i].kind == Kind::Added {
                block.added.push(&lines[i].text);
                i += 1;
            }
            out.push(Piece::Block(block));
        } else {
            out.push(Piece::Single(&lines[i]));
            i += 1;
        }
    }
    out
}

fn changed_spans(
    marker: &'static str,
    segments: Segments,
    line: Style,
    word: Style,
) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(marker, line)];
    let whole = segments.len() == 1 && segments[0].1;
    for (text, changed) in segments {
        // A line changed as a whole is drawn in the line style; highlighting every word would
        // hide which words changed in the lines that have a partner.
        let style = if changed && !whole { word } else { line };
        spans.push(Span::styled(text, style));
    }
    spans
}

fn single_line(line: &DiffLine, theme: Theme) -> Line<'static> {
    match line.kind {
        Kind::File => Line::styled(line.text.clone(), theme.diff_header()),
        Kind::Hunk => Line::styled(line.text.clone(), theme.diff_hunk()),
        Kind::Meta => Line::styled(line.text.clone(), theme.dim()),
        Kind::Context => Line::from(format!(" {}", line.text)),
        Kind::Removed => Line::styled(format!("-{}", line.text), theme.diff_removed()),
        Kind::Added => Line::styled(format!("+{}", line.text), theme.diff_added()),
    }
}

/// The diff as unified lines.
pub fn unified(diff: &str, theme: Theme) -> Vec<Line<'static>> {
    let lines = parse(diff);
    let mut out = Vec::new();
    for piece in pieces(&lines) {
        match piece {
            Piece::Single(l) => out.push(single_line(l, theme)),
            Piece::Block(block) => {
                let (removed, added) = block.segments();
                for segs in removed {
                    out.push(Line::from(changed_spans(
                        "-",
                        segs,
                        theme.diff_removed(),
                        theme.diff_removed_word(),
                    )));
                }
                for segs in added {
                    out.push(Line::from(changed_spans(
                        "+",
                        segs,
                        theme.diff_added(),
                        theme.diff_added_word(),
                    )));
                }
            }
        }
    }
    out
}

/// Cut or pad spans to exactly `width` characters.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for span in spans {
        if used >= width {
            break;
        }
        let text: String = span.content.chars().take(width - used).collect();
        used += text.chars().count();
        out.push(Span::styled(text, span.style));
    }
    if used < width {
        out.push(Span::raw(" ".repeat(width - used)));
    }
    out
}

/// Drop `x` characters after the first `keep` (the `+`/`-` marker): horizontal scrolling.
pub fn shift(spans: Vec<Span<'static>>, keep: usize, x: usize) -> Vec<Span<'static>> {
    if x == 0 {
        return spans;
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for span in spans {
        let len = span.content.chars().count();
        let (start, end) = (pos, pos + len);
        pos = end;
        // Characters of this span that stay: [0, keep) and [keep + x, ∞).
        let text: String = span
            .content
            .chars()
            .enumerate()
            .filter(|(i, _)| {
                let at = start + i;
                at < keep || at >= keep + x
            })
            .map(|(_, c)| c)
            .collect();
        if !text.is_empty() {
            out.push(Span::styled(text, span.style));
        }
    }
    out
}

/// A line scrolled `x` columns to the right, its marker kept.
pub fn shift_line(line: Line<'static>, x: usize) -> Line<'static> {
    if x == 0 {
        return line;
    }
    let style = line.style;
    let mut out = Line::from(shift(line.spans, 1, x));
    out.style = style;
    out
}

/// The narrowest side a side-by-side diff is drawn with; below it the diff is unified.
pub const MIN_SIDE: usize = 50;

/// Whether a pane `width` columns wide (inside its borders) fits a readable side by side.
pub fn side_by_side_fits(width: u16) -> bool {
    usize::from(width.saturating_sub(3)) / 2 >= MIN_SIDE
}

/// The diff side by side in `width` columns: old on the left, new on the right, each side
/// scrolled `x` columns.
pub fn side_by_side(diff: &str, theme: Theme, width: u16, x: usize) -> Vec<Line<'static>> {
    let half = usize::from(width.saturating_sub(3)) / 2;
    let sep = || Span::styled(" │ ", theme.dim());
    let row = |left: Vec<Span<'static>>, right: Vec<Span<'static>>| {
        let mut spans = fit(shift(left, 1, x), half);
        spans.push(sep());
        spans.extend(fit(shift(right, 1, x), half));
        Line::from(spans)
    };
    let lines = parse(diff);
    let mut out = Vec::new();
    for piece in pieces(&lines) {
        match piece {
            Piece::Single(l) => match l.kind {
                Kind::Context => {
                    let text = format!(" {}", l.text);
                    out.push(row(vec![Span::raw(text.clone())], vec![Span::raw(text)]));
                }
                _ => out.push(single_line(l, theme)),
            },
            Piece::Block(block) => {
                let (removed, added) = block.segments();
                for i in 0..removed.len().max(added.len()) {
                    let left = removed.get(i).cloned().map_or_else(Vec::new, |s| {
                        changed_spans("-", s, theme.diff_removed(), theme.diff_removed_word())
                    });
                    let right = added.get(i).cloned().map_or_else(Vec::new, |s| {
                        changed_spans("+", s, theme.diff_added(), theme.diff_added_word())
                    });
                    out.push(row(left, right));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,3 @@\n x = 1\n-app.run(debug=True)\n+app.run()\n y = 2\n";

    #[test]
    fn parses_headers_hunks_and_changes() {
        let kinds: Vec<Kind> = parse(DIFF).iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::File,
                Kind::File,
                Kind::Hunk,
                Kind::Context,
                Kind::Removed,
                Kind::Added,
                Kind::Context
            ]
        );
    }

    #[test]
    fn changed_words_are_highlighted_not_the_whole_line() {
        let theme = Theme::colored();
        let lines = unified(DIFF, theme);
        let removed = &lines[4];
        assert_eq!(removed.spans[0].content, "-");
        let highlighted: String = removed
            .spans
            .iter()
            .filter(|s| s.style == theme.diff_removed_word())
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(highlighted, "debug=True");
        assert!(!highlighted.contains("app"), "{highlighted:?}");
        let plain: String = removed.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(plain, "-app.run(debug=True)");
    }

    #[test]
    fn side_by_side_pairs_old_and_new() {
        let lines = side_by_side(DIFF, Theme::monochrome(), 43, 0);
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert!(text[4].starts_with("-app.run(debug=True)"), "{:?}", text[4]);
        assert!(text[4].contains(" │ +app.run()"), "{:?}", text[4]);
        assert_eq!(text[4].chars().count(), 43);
        // Scrolled right, each side keeps its marker.
        let lines = side_by_side(DIFF, Theme::monochrome(), 43, 4);
        let row: String = lines[4].spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(row.starts_with("-run(debug=True)"), "{row:?}");
        assert!(row.contains(" │ +run()"), "{row:?}");
        assert!(!side_by_side_fits(80) && side_by_side_fits(120));
    }
}
