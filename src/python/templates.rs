//! Jinja templates: the uses that bypass autoescaping, and the forms they post.

use std::sync::LazyLock;

use regex::Regex;
use ruff_text_size::{TextRange, TextSize};

use crate::finding::{Finding, Severity};
use crate::source::SourceText;

#[derive(Debug, Clone)]
pub struct Template {
    pub path: String,
    pub source: SourceText,
    /// The text with Jinja and HTML comments blanked out (same offsets), which is what
    /// detectors read.
    pub code: String,
}

/// A `|safe` filter on a value.
pub struct SafeUse {
    pub range: TextRange,
    /// The expression the filter applies to, as written.
    pub expr: String,
}

/// A `<form method="post">`.
pub struct PostForm {
    /// The opening tag.
    pub range: TextRange,
    pub has_token: bool,
}

/// How far before a `|safe` its value is looked for (it is shown cut to 60 characters).
const EXPR_WINDOW: usize = 512;

static COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{#.*?#\}|<!--.*?-->").expect("valid regex"));
static BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").expect("valid regex"));
static SAFE_COLUMNS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"safe_columns\s*=\s*(\[[^\]]*\]|\([^)]*\))").expect("valid regex")
});
static SAFE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\|\s*safe\b").expect("valid regex"));
static AUTOESCAPE_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*autoescape\s+(?:false|False|0)\s*-?%\}").expect("valid regex")
});
static FORM_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<form\b[^>]*>").expect("valid regex"));
static FORM_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</form\s*>").expect("valid regex"));
static METHOD_POST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bmethod\s*=\s*["']?\s*(post|put|patch|delete)\b"#).expect("valid regex")
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)csrf|hidden_tag\s*\(|quick_form|render_form").expect("valid regex")
});

/// Whether Flask renders the file at `path` as a template: not a file under a static or
/// vendored folder (`static/`, served as it is, such as an editor's sample pages), unless a
/// `templates` folder holds that folder. A template folder can have any name
/// (`template_folder=`), so a file elsewhere still counts.
pub fn rendered_by_flask(path: &str) -> bool {
    let mut in_templates = false;
    let dirs: Vec<&str> = path.split('/').collect();
    for dir in &dirs[..dirs.len().saturating_sub(1)] {
        match *dir {
            "templates" | "template" => in_templates = true,
            "static" | "vendor" | "node_modules" | "bower_components" if !in_templates => {
                return false;
            }
            _ => {}
        }
    }
    true
}

impl Template {
    pub fn new(path: &str, text: String) -> Self {
        let code = COMMENT
            .replace_all(&text, |c: &regex::Captures| blank(&c[0]))
            .into_owned();
        Self {
            path: path.to_string(),
            source: SourceText::new(text),
            code,
        }
    }

    /// `{{ value|safe }}` where the value is not a string literal.
    pub fn safe_uses(&self) -> Vec<SafeUse> {
        let mut out = Vec::new();
        // The filter's name has to be in the text; most templates never use it.
        if !self.code.contains("safe") {
            return out;
        }
        for block in BLOCK.find_iter(&self.code) {
            let inner = block.as_str();
            for m in SAFE.find_iter(inner) {
                // The value the filter applies to is in the text just before it: a bounded
                // window, so a block with thousands of filters costs no more than its length.
                let mut from = m.start().saturating_sub(EXPR_WINDOW);
                while !inner.is_char_boundary(from) {
                    from -= 1;
                }
                let before = &inner[from..m.start()];
                let expr = before
                    .trim_start_matches("{{")
                    .trim_start_matches("{%")
                    .trim_start_matches('-')
                    .trim();
                // `{% set x = value|safe %}`, `{{ f(value|safe) }}`: the value starts after the
                // last `=`, `(` or `,` that is not inside a string.
                let value = expr.rsplit(['(', ',', '=']).next().unwrap_or(expr).trim();
                let head = value.split('|').next().unwrap_or(value).trim();
                if is_string_literal(head) || is_string_literal(expr) {
                    continue;
                }
                let shown: String = expr.split_whitespace().collect::<Vec<_>>().join(" ");
                let shown = if shown.chars().count() > 60 {
                    format!("{}…", shown.chars().take(59).collect::<String>())
                } else {
                    shown
                };
                let start = block.start() + m.start();
                out.push(SafeUse {
                    range: range(start, block.start() + m.end()),
                    expr: shown,
                });
            }
        }
        out
    }

    /// Bootstrap-Flask's `render_table(rows, safe_columns=[...])`: the macro renders the
    /// named columns with `|safe`. One use per call, its value the columns as written.
    pub fn safe_columns(&self) -> Vec<SafeUse> {
        if !self.code.contains("safe_columns") {
            return Vec::new();
        }
        let mut out = Vec::new();
        for block in BLOCK.find_iter(&self.code) {
            let inner = block.as_str();
            if !inner.contains("render_table") {
                continue;
            }
            for m in SAFE_COLUMNS.find_iter(inner) {
                let columns = m.as_str().split_once('=').map_or("", |(_, c)| c.trim());
                // An empty list marks nothing.
                if columns.trim_matches(['[', ']', '(', ')', ' ']).is_empty() {
                    continue;
                }
                out.push(SafeUse {
                    range: range(block.start(), block.end()),
                    expr: format!("render_table(..., safe_columns={columns})"),
                });
            }
        }
        out
    }

    /// `{% autoescape false %}` blocks.
    pub fn autoescape_off(&self) -> Vec<TextRange> {
        if !self.code.contains("autoescape") {
            return Vec::new();
        }
        AUTOESCAPE_OFF
            .find_iter(&self.code)
            .map(|m| range(m.start(), m.end()))
            .collect()
    }

    /// Whether Flask renders this file as a template ([`rendered_by_flask`]).
    pub fn rendered_by_flask(&self) -> bool {
        rendered_by_flask(&self.path)
    }

    /// Forms that post, and whether each carries a CSRF token. A form inside an HTML comment
    /// is not on the page.
    pub fn post_forms(&self) -> Vec<PostForm> {
        post_forms_in(&self.code)
    }

    pub fn finding(
        &self,
        rule: &str,
        severity: Severity,
        range: TextRange,
        message: impl Into<String>,
    ) -> Finding {
        self.source
            .finding(&self.path, rule, severity, range, message)
    }
}

/// The forms of an HTML text that post, and whether each carries a CSRF token.
pub fn post_forms_in(code: &str) -> Vec<PostForm> {
    // The closing tags and the tokens are found once, in one pass each; every form looks its
    // body up in them, so a template with thousands of forms (or of unclosed ones) stays
    // linear.
    let mut out = Vec::new();
    let mut closes: Option<Vec<usize>> = None;
    let mut tokens: Option<Vec<(usize, usize)>> = None;
    for open in FORM_OPEN.find_iter(code) {
        if !METHOD_POST.is_match(open.as_str()) {
            continue;
        }
        let closes =
            closes.get_or_insert_with(|| FORM_CLOSE.find_iter(code).map(|m| m.start()).collect());
        let tokens = tokens.get_or_insert_with(|| {
            TOKEN
                .find_iter(code)
                .map(|m| (m.start(), m.end()))
                .collect()
        });
        let body_start = open.end();
        let body_end = closes
            .get(closes.partition_point(|&c| c < body_start))
            .copied()
            .unwrap_or(code.len());
        let first_token = tokens.partition_point(|&(start, _)| start < body_start);
        let has_token = tokens
            .get(first_token)
            .is_some_and(|&(start, end)| start < body_end && end <= body_end);
        out.push(PostForm {
            range: range(open.start(), open.end()),
            has_token,
        });
    }
    out
}

/// Spaces in place of every character but newlines, byte for byte, so offsets still match.
fn blank(s: &str) -> String {
    s.chars()
        .map(|ch| {
            if ch == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(ch.len_utf8())
            }
        })
        .collect()
}

fn range(start: usize, end: usize) -> TextRange {
    TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32))
}

fn is_string_literal(s: &str) -> bool {
    let s = s.trim();
    s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_on_variables_not_literals_or_comments() {
        let t = Template::new(
            "t.html",
            "{{ bio|safe }}\n{{ '<b>x</b>'|safe }}\n{# {{ old|safe }} #}\n{{ post.body | markdown | safe }}\n".into(),
        );
        let uses = t.safe_uses();
        assert_eq!(uses.len(), 2);
        assert_eq!(uses[0].expr, "bio");
        assert_eq!(t.source.span(uses[1].range).start.line, 4);
    }

    #[test]
    fn forms_and_tokens() {
        let t = Template::new(
            "f.html",
            "<form method=\"post\"><input name=a></form>\n<FORM METHOD='POST'>{{ form.hidden_tag() }}</FORM>\n<form method=get></form>".into(),
        );
        let forms = t.post_forms();
        assert_eq!(forms.len(), 2);
        assert!(!forms[0].has_token);
        assert!(forms[1].has_token);
    }

    #[test]
    fn autoescape_false() {
        let t = Template::new(
            "a.html",
            "{% autoescape false %}{{ x }}{% endautoescape %}".into(),
        );
        assert_eq!(t.autoescape_off().len(), 1);
    }
}
