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

use crate::project;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// UTF-8 text without a byte-order mark.
    pub text: String,
    /// The file started with a UTF-8 byte-order mark.
    pub bom: bool,
    /// Executable mode (git's 100755).
    pub executable: bool,
}

impl SnapFile {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bom: false,
            executable: false,
        }
    }

    /// Decode file bytes; `None` when they are not UTF-8 (such files are never fixed).
    pub fn from_bytes(bytes: Vec<u8>, executable: bool) -> Option<Self> {
        let mut text = String::from_utf8(bytes).ok()?;
        let bom = text.starts_with('\u{feff}');
        if bom {
            text.drain(..3);
        }
        Some(Self {
            text,
            bom,
            executable,
        })
    }

    /// The bytes to write, byte-order mark included.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 3);
        if self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
        out
    }
}

/// Relative path → file. Only files the scan and the fixes care about are held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub files: BTreeMap<String, SnapFile>,
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
        let files = project::discover(root)?;
        let mut snap = Snapshot::default();
        for f in &files.files {
            if !is_safe_path(&f.rel) {
                continue;
            }
            let Ok(bytes) = project::read_limited(&f.abs) else {
                continue;
            };
            let executable = is_executable(&f.abs);
            if let Some(file) = SnapFile::from_bytes(bytes, executable) {
                snap.files.insert(f.rel.clone(), file);
            }
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
                (before != Some(after)).then_some((path.as_str(), before, after))
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
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&path, file.bytes())?;
    Ok(path)
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
}
