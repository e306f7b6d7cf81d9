//! A repository's files held in memory: the tree fixes are built from and applied to.
//!
//! Built from HEAD's tree by [`crate::git::GitRepo::head_snapshot`] (so uncommitted work never
//! leaks into a fix), or from a plain directory with [`Snapshot::from_dir`] when there is no
//! repository. Text is kept without its byte-order mark, as the scan reads it; the mark is put
//! back when the file is written.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::project;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// UTF-8 text without a byte-order mark, lone carriage returns read as line feeds.
    pub text: String,
    /// The file started with a UTF-8 byte-order mark.
    pub bom: bool,
    /// Executable mode (git's 100755).
    pub executable: bool,
    /// The lines that ended with a lone carriage return (old Mac line endings, or a mix),
    /// when any did: fixes see `\n` like everywhere else, and [`SnapFile::bytes`] puts the
    /// carriage returns back.
    pub lone_cr: Option<std::sync::Arc<LoneCr>>,
}

/// Where a file's lone carriage returns were: its text as read (with `\n` for them) and, per
/// line of that text, whether the line ended with one.
#[derive(Debug, PartialEq, Eq)]
pub struct LoneCr {
    base: String,
    ends_with_cr: Vec<bool>,
}

impl LoneCr {
    /// Read lone CRs in `text` as LF; `None` when there is none.
    fn normalize(text: &mut String) -> Option<Self> {
        let bytes = text.as_bytes();
        let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        if !(0..bytes.len()).any(lone) {
            return None;
        }
        let mut ends_with_cr = Vec::new();
        let mut out = Vec::with_capacity(bytes.len());
        for (i, &b) in bytes.iter().enumerate() {
            if lone(i) {
                out.push(b'\n');
                ends_with_cr.push(true);
            } else {
                out.push(b);
                if b == b'\n' {
                    ends_with_cr.push(false);
                }
            }
        }
        // One ASCII byte for another: still UTF-8.
        let base = String::from_utf8(out).ok()?;
        *text = base.clone();
        Some(Self { base, ends_with_cr })
    }

    /// `text` (the base after fixes) with carriage returns back where the base had them;
    /// lines a fix added end like the line before them.
    fn restore(&self, text: &str) -> String {
        let new_lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut cr = vec![None; new_lines.len()];
        if text == self.base {
            for (i, c) in cr.iter_mut().enumerate() {
                *c = self.ends_with_cr.get(i).copied();
            }
        } else {
            let diff = similar::TextDiff::from_lines(self.base.as_str(), text);
            for op in diff.ops() {
                if let similar::DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } = *op
                {
                    for k in 0..len {
                        if let Some(slot) = cr.get_mut(new_index + k) {
                            *slot = self.ends_with_cr.get(old_index + k).copied();
                        }
                    }
                }
            }
        }
        let majority =
            self.ends_with_cr.iter().filter(|c| **c).count() * 2 >= self.ends_with_cr.len();
        let mut previous = majority;
        let mut out = String::with_capacity(text.len());
        for (line, known) in new_lines.iter().zip(cr) {
            let as_cr = known.unwrap_or(previous);
            previous = as_cr;
            match line.strip_suffix('\n') {
                Some(body) if as_cr && !body.ends_with('\r') => {
                    out.push_str(body);
                    out.push('\r');
                }
                _ => out.push_str(line),
            }
        }
        out
    }
}

impl SnapFile {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bom: false,
            executable: false,
            lone_cr: None,
        }
    }

    /// Decode file bytes; `None` when they are not UTF-8 (such files are never fixed).
    pub fn from_bytes(bytes: Vec<u8>, executable: bool) -> Option<Self> {
        let mut text = String::from_utf8(bytes).ok()?;
        let bom = text.starts_with('\u{feff}');
        if bom {
            text.drain(..3);
        }
        let lone_cr = LoneCr::normalize(&mut text).map(std::sync::Arc::new);
        Some(Self {
            text,
            bom,
            executable,
            lone_cr,
        })
    }

    /// The bytes to write, byte-order mark and lone carriage returns included.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 3);
        if self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        match &self.lone_cr {
            Some(lone_cr) => out.extend_from_slice(lone_cr.restore(&self.text).as_bytes()),
            None => out.extend_from_slice(self.text.as_bytes()),
        }
        out
    }
}

/// Relative path → file. Only files the scan and the fixes care about are held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Shared, so that copies of a snapshot (one per fix being tried) share the texts.
    pub files: BTreeMap<String, Arc<SnapFile>>,
}

/// Whether a path from a tree is one we may read and write: relative, no `.`/`..`/empty
/// parts, nothing inside `.git`.
pub fn is_safe_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains('\\')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|part| !matches!(part, "" | "." | ".." | ".git"))
}

/// The files a snapshot keeps: what the scan reads, plus `.gitignore` files (so a rescan of a
/// copy skips what the real scan skips) and text files fixes commonly edit or create.
pub fn is_relevant(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    project::classify(rel).is_some()
        || name == ".gitignore"
        || name == ".python-version"
        || name == "Dockerfile"
        || name.starts_with(".env")
        || name.ends_with(".txt")
        || name.ends_with(".in")
        || name.ends_with(".cfg")
        || name.ends_with(".toml")
}

impl Snapshot {
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|f| f.text.as_str())
    }

    /// The file at `path`.
    pub fn file(&self, path: &str) -> Option<&SnapFile> {
        self.files.get(path).map(|f| &**f)
    }

    /// Add or replace the file at `path`.
    pub fn insert(&mut self, path: impl Into<String>, file: SnapFile) {
        self.files.insert(path.into(), Arc::new(file));
    }

    /// The files under `prefix` (`"app/"`; everything for `""`), with paths relative to it:
    /// a subfolder is scanned and fixed as `check <subfolder>` sees it (module names included).
    /// Prepend the prefix to the changes' paths before committing or applying them.
    pub fn under(&self, prefix: &str) -> Snapshot {
        Snapshot {
            files: self
                .files
                .iter()
                .filter_map(|(path, f)| {
                    let rel = path.strip_prefix(prefix)?;
                    (!rel.is_empty()).then(|| (rel.to_string(), f.clone()))
                })
                .collect(),
        }
    }

    /// Read the relevant files of a directory (no repository: the working files themselves).
    pub fn from_dir(root: &Path) -> Result<Self, project::OpenError> {
        use rayon::prelude::*;
        let files = project::discover(root)?;
        // Read in parallel, as the scan does: on a tree of many small files the reads are
        // most of the time.
        let read: Vec<(String, SnapFile)> = files
            .files
            .par_iter()
            .filter(|f| is_safe_path(&f.rel))
            .filter_map(|f| {
                let bytes = project::read_limited(&f.abs).ok()?;
                let file = SnapFile::from_bytes(bytes, is_executable(&f.abs))?;
                Some((f.rel.clone(), file))
            })
            .collect();
        let mut snap = Snapshot::default();
        for (rel, file) in read {
            snap.insert(rel, file);
        }
        Ok(snap)
    }

    /// Write every file under `dir` (a fresh temporary directory).
    pub fn materialize(&self, dir: &Path) -> io::Result<()> {
        for (rel, file) in &self.files {
            write_file(dir, rel, file)?;
        }
        Ok(())
    }

    /// Files that differ from `base`, in path order: `(path, before, after)`. A file removed
    /// from `self` is not reported (fixes never delete files).
    pub fn changes_since<'a>(
        &'a self,
        base: &'a Snapshot,
    ) -> Vec<(&'a str, Option<&'a SnapFile>, &'a SnapFile)> {
        self.files
            .iter()
            .filter_map(|(path, after)| {
                let before = base.files.get(path);
                (before != Some(after)).then_some((path.as_str(), before.map(|b| &**b), &**after))
            })
            .collect()
    }
}

/// Write one snapshot file below `dir`, creating folders. Refuses unsafe paths.
pub(crate) fn write_file(dir: &Path, rel: &str, file: &SnapFile) -> io::Result<PathBuf> {
    if !is_safe_path(rel) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to write unsafe path {rel:?}"),
        ));
    }
    // The folder itself is never created here: once a signal has removed it, a copy still
    // being written must not bring it back.
    if crate::fix::verify::stopping() || !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is gone", dir.display()),
        ));
    }
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        private_dir_all(parent)?;
    }
    // Private to the user: the copies may hold committed secrets (`.env`).
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    io::Write::write_all(&mut options.open(&path)?, &file.bytes())?;
    Ok(path)
}

/// `create_dir_all` with folders only the user can enter (0700).
fn private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(is_safe_path("app/app.py"));
        assert!(!is_safe_path("../x.py"));
        assert!(!is_safe_path("a/./b.py"));
        assert!(!is_safe_path("/etc/passwd"));
        assert!(!is_safe_path(".git/config"));
        assert!(!is_safe_path("a//b"));
    }

    #[test]
    fn bom_round_trips() {
        let f = SnapFile::from_bytes("\u{feff}x = 1\r\n".as_bytes().to_vec(), false).unwrap();
        assert!(f.bom);
        assert_eq!(f.text, "x = 1\r\n");
        assert_eq!(f.bytes(), "\u{feff}x = 1\r\n".as_bytes());
    }

    #[test]
    fn lone_carriage_returns_round_trip_through_fixes() {
        let f = SnapFile::from_bytes(b"import os\rx = 1\r".to_vec(), false).unwrap();
        assert_eq!(f.text, "import os\nx = 1\n");
        assert_eq!(f.bytes(), b"import os\rx = 1\r");
        let fixed = SnapFile {
            text: "import os\nimport sys\nx = 1\ny = 2\n".to_string(),
            ..f.clone()
        };
        assert_eq!(fixed.bytes(), b"import os\rimport sys\rx = 1\ry = 2\r");
        // Mixed: each kept line keeps its ending; an added line takes the one before it.
        let f = SnapFile::from_bytes(b"a = 1\r\nb = 2\rc = 3\n".to_vec(), false).unwrap();
        assert_eq!(f.text, "a = 1\r\nb = 2\nc = 3\n");
        assert_eq!(f.bytes(), b"a = 1\r\nb = 2\rc = 3\n");
        let fixed = SnapFile {
            text: "a = 1\r\nb = 2\nnew = 0\nc = 3\n".to_string(),
            ..f.clone()
        };
        assert_eq!(fixed.bytes(), b"a = 1\r\nb = 2\rnew = 0\rc = 3\n");
    }
}
