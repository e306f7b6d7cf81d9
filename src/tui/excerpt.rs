//! Code excerpts for findings: the marked lines with a few lines around them, read from disk
//! inside the repository root only.

use std::fs;
use std::path::Path;

use crate::project::MAX_FILE_BYTES;
use crate::text::escape_line;

/// Lines shown before and after a finding.
pub const CONTEXT: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// 1-based number of `lines[0]`.
    pub first: usize,
    pub lines: Vec<String>,
    /// The finding's lines, 1-based, inclusive.
    pub marked: (usize, usize),
}

/// The text of `rel` under `root`, or `None` when it is not a regular file inside the root
/// (a symbolic link anywhere on the way out of the root, `..`, too large, not UTF-8).
pub fn read_inside(root: &Path, rel: &str) -> Option<String> {
    if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|p| p == "..") {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let path = root.join(rel);
    let meta = fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    // A symlinked folder on the way could still lead out: the real path must stay inside.
    if !path.canonicalize().ok()?.starts_with(&root) {
        return None;
    }
    let bytes = fs::read(&path).ok()?;
    String::from_utf8(bytes).ok()
}

/// The excerpt of `text` around lines `line..=end_line` (1-based).
pub fn excerpt(text: &str, line: usize, end_line: usize) -> Option<Excerpt> {
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() {
        return None;
    }
    let end_line = end_line.clamp(line, lines.len());
    let first = line.saturating_sub(CONTEXT).max(1);
    let last = (end_line + CONTEXT).min(lines.len());
    Some(Excerpt {
        first,
        lines: lines[first - 1..last]
            .iter()
            .map(|l| escape_line(&l.replace('\t', "    ")).into_owned())
            .collect(),
        marked: (line, end_line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_marks_the_line_with_context() {
        let text = "a\nb\nc\nd\ne\nf\n";
        let e = excerpt(text, 4, 4).expect("in range");
        assert_eq!(e.first, 2);
        assert_eq!(e.lines, vec!["b", "c", "d", "e", "f"]);
        assert_eq!(e.marked, (4, 4));
        assert_eq!(excerpt(text, 1, 1).map(|e| e.first), Some(1));
        assert_eq!(excerpt(text, 9, 9), None);
    }

    #[test]
    fn never_reads_outside_the_root() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.py"), "x = 1\n").expect("write");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("app.py"), "app = 1\n").expect("write");
        assert_eq!(
            read_inside(root.path(), "app.py").as_deref(),
            Some("app = 1\n")
        );
        assert_eq!(read_inside(root.path(), "../secret.py"), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret.py"),
                root.path().join("link.py"),
            )
            .expect("symlink");
            std::os::unix::fs::symlink(outside.path(), root.path().join("dir")).expect("symlink");
            assert_eq!(read_inside(root.path(), "link.py"), None);
            assert_eq!(read_inside(root.path(), "dir/secret.py"), None);
        }
    }
}
