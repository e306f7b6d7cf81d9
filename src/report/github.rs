//! GitHub Actions workflow commands: one `::error file=…,line=…::message` line per finding,
//! which the Actions runner turns into annotations on the pull request.
//!
//! Paths are relative to the scanned folder: run the check from the repository root (the
//! default) so they match the checkout.

use std::fmt::Write;

use crate::finding::Severity;
use crate::scan::ScanResult;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

/// Escape a command's message, as the Actions toolkit does (`escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (`escapeProperty`): also `:` and `,`, which delimit properties.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(result: &ScanResult) -> String {
    let mut out = String::new();
    for f in result.all_items().flat_map(|r| &r.outcome.findings) {
        let _ = writeln!(
            out,
            "::{} file={},line={},endLine={},col={},endColumn={},title={}::{}",
            command(f.severity),
            escape_property(&f.path),
            f.line,
            f.end_line.max(f.line),
            f.column,
            f.end_column.max(1),
            escape_property(&format!("flask-harden {}", f.rule)),
            escape_data(&f.message)
        );
    }
    for d in &result.diagnostics {
        let file = if d.path.is_empty() {
            String::new()
        } else {
            format!(" file={}", escape_property(&d.path))
        };
        let _ = writeln!(
            out,
            "::warning{file}::{}",
            escape_data(&format!("not analysed: {}", d.message))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_actions_toolkit() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
