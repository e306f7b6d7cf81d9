//! Opening the user's repository: which files matter, read safely.
//!
//! The repository is untrusted input. The walk honours .gitignore, skips virtualenvs and build
//! folders, never follows a symlink out of the repository, and turns every file it cannot use
//! into a diagnostic instead of an error.

use std::fs;
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use crate::finding::Diagnostic;

/// Files larger than this are not parsed: generated code or data, and a risk to memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Folder names never walked: environments, caches, build output, vendored packages.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "site-packages",
    "dist-packages",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".eggs",
    "build",
    "dist",
    ".idea",
    ".vscode",
];

const TEMPLATE_EXTENSIONS: &[&str] = &["html", "htm", "jinja", "jinja2", "j2", "xml", "xhtml"];

/// The kind of file the scan cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Python,
    Template,
    Dependency,
    EnvFile,
    /// Dockerfile, Procfile, compose, supervisord/systemd, web server configs ([`crate::deploy`]).
    Deployment,
}

/// A file found in the repository.
#[derive(Debug, Clone)]
pub struct RepoFile {
    /// Relative to the root, forward slashes.
    pub rel: String,
    pub abs: PathBuf,
    pub kind: FileKind,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct ProjectFiles {
    pub root: PathBuf,
    pub files: Vec<RepoFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// The texts, when the files are held in memory (a snapshot a fix is tried on) rather
    /// than read from disk.
    pub memory: Option<Memory>,
}

/// File texts by relative path, read instead of the disk.
pub trait Contents: Send + Sync {
    fn text(&self, rel: &str) -> Option<&str>;
    /// What holds the text at `rel`, shared by every version of the tree in which the file is
    /// unchanged: a [`crate::scan::ParseCache`] recognises the file by it without comparing
    /// the text.
    fn token(&self, _rel: &str) -> Option<crate::scan::cache::Token> {
        None
    }
}

/// Files held in memory ([`ProjectFiles::memory`]).
#[derive(Clone)]
pub struct Memory(pub std::sync::Arc<dyn Contents>);

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memory(..)")
    }
}

impl ProjectFiles {
    pub fn of_kind(&self, kind: FileKind) -> impl Iterator<Item = &RepoFile> {
        self.files.iter().filter(move |f| f.kind == kind)
    }

    /// The files of `contents` the walk of a folder holding them would find, in path order:
    /// the same kinds, the same skipped folders. `root` only names them; nothing is read
    /// from it.
    pub fn in_memory<'p>(
        root: PathBuf,
        paths: impl IntoIterator<Item = &'p str>,
        contents: std::sync::Arc<dyn Contents>,
    ) -> Self {
        let mut files: Vec<RepoFile> = paths
            .into_iter()
            .filter(|rel| {
                let mut dirs = rel.split('/').rev().skip(1);
                !dirs.any(|d| SKIPPED_DIRS.contains(&d) || d.ends_with(".egg-info"))
            })
            .filter_map(|rel| {
                let kind = match classify(rel) {
                    Some(k) => k,
                    None if is_requirements_dir_file(rel) => FileKind::Dependency,
                    None => return None,
                };
                Some(RepoFile {
                    rel: rel.to_string(),
                    abs: root.join(rel),
                    kind,
                })
            })
            .collect();
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        Self {
            root,
            files,
            diagnostics: Vec::new(),
            memory: Some(Memory(contents)),
        }
    }

    /// The text of one of the files, from memory or from disk ([`read_text`]).
    pub fn read_text(&self, file: &RepoFile) -> Result<String, ReadError> {
        self.read_rel(&file.rel, &file.abs)
    }

    /// The text of the file at `rel` (below the root, at `abs` on disk).
    pub fn read_rel(&self, rel: &str, abs: &Path) -> Result<String, ReadError> {
        match &self.memory {
            Some(Memory(m)) => m.text(rel).map(str::to_string).ok_or_else(|| {
                ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not in the files being checked",
                ))
            }),
            None => read_text_at(abs),
        }
    }

    /// Whether `rel` is a regular file inside the repository (in memory: one of the files).
    pub fn has_file(&self, rel: &str) -> bool {
        match &self.memory {
            Some(Memory(m)) => m.text(rel).is_some(),
            None => fs::canonicalize(self.root.join(rel))
                .is_ok_and(|p| p.starts_with(&self.root) && p.is_file()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: no such directory")]
    NotFound(PathBuf),
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0}: a git repository without a working tree (bare, or its .git folder); scan a clone \
         or a worktree of it instead"
    )]
    NoWorkTree(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Classify a path by its name. `None` for files the scan does not read.
pub fn classify(rel: &str) -> Option<FileKind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if ext == "py" || ext == "pyw" {
        return Some(FileKind::Python);
    }
    if is_dependency_file(&lower) {
        return Some(FileKind::Dependency);
    }
    if is_env_file(&lower) {
        return Some(FileKind::EnvFile);
    }
    let in_templates = rel
        .split('/')
        .rev()
        .skip(1)
        .any(|d| d == "templates" || d == "template");
    if TEMPLATE_EXTENSIONS.contains(&ext) || (in_templates && !ext.is_empty() && ext != "py") {
        return Some(FileKind::Template);
    }
    crate::deploy::is_deployment_path(rel).then_some(FileKind::Deployment)
}

fn is_dependency_file(name: &str) -> bool {
    (name.starts_with("requirements") && (name.ends_with(".txt") || name.ends_with(".in")))
        || name.ends_with("-requirements.txt")
        || name.ends_with("_requirements.txt")
        || matches!(
            name,
            "pyproject.toml"
                | "pipfile"
                | "pipfile.lock"
                | "poetry.lock"
                | "uv.lock"
                | "pylock.toml"
        )
        || (name.starts_with("pylock.") && name.ends_with(".toml"))
}

/// `.env`, `.flaskenv` and `.env.<stage>`, but not the examples people commit on purpose.
pub fn is_env_file(name: &str) -> bool {
    if name == ".env" || name == ".flaskenv" {
        return true;
    }
    if let Some(stage) = name.strip_prefix(".env.") {
        return !matches!(
            stage,
            "example" | "sample" | "template" | "dist" | "defaults" | "tpl" | "in"
        );
    }
    false
}

/// Requirement files also live in folders named `requirements/` (`requirements/prod.txt`).
fn is_requirements_dir_file(rel: &str) -> bool {
    let mut parts = rel.rsplit('/');
    let name = parts.next().unwrap_or("");
    let parent = parts.next().unwrap_or("");
    (parent == "requirements" || parent == "reqs")
        && (name.ends_with(".txt") || name.ends_with(".in"))
}

/// Walk `root` and collect the files the scan reads.
pub fn discover(root: &Path) -> Result<ProjectFiles, OpenError> {
    let meta = fs::metadata(root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            OpenError::NotFound(root.to_path_buf())
        } else {
            OpenError::Io {
                path: root.to_path_buf(),
                source: e,
            }
        }
    })?;
    if !meta.is_dir() {
        return Err(OpenError::NotADirectory(root.to_path_buf()));
    }
    let root = fs::canonicalize(root).map_err(|e| OpenError::Io {
        path: root.to_path_buf(),
        source: e,
    })?;
    if is_git_dir(&root) {
        return Err(OpenError::NoWorkTree(root));
    }

    let mut out = ProjectFiles {
        root: root.clone(),
        ..ProjectFiles::default()
    };

    let walker = WalkBuilder::new(&root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_global(false)
        .parents(false)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            if !is_dir || e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !(SKIPPED_DIRS.contains(&name.as_ref())
                || name.ends_with(".egg-info")
                || e.path().join("pyvenv.cfg").exists())
        })
        .build_parallel();

    // Walked on every core: on a large repository the walk (directory reads, .gitignore
    // files, a stat per file) is a tenth of the scan. Order is restored by the sort below.
    let found: std::sync::Mutex<Vec<Found>> = std::sync::Mutex::new(Vec::new());
    walker.run(|| {
        let root = &root;
        let found = &found;
        Box::new(move |entry| {
            if let Some(f) = visit(root, entry)
                && let Ok(mut all) = found.lock()
            {
                all.push(f);
            }
            ignore::WalkState::Continue
        })
    });
    for f in found.into_inner().unwrap_or_default() {
        match f {
            Found::File(file) => out.files.push(file),
            Found::Problem(d) => out.diagnostics.push(d),
        }
    }
    out.diagnostics
        .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Whether `dir` is a git directory (a bare repository or a `.git` folder), not a working
/// tree: its files are git's objects and refs, and scanning them reports nothing true.
fn is_git_dir(dir: &Path) -> bool {
    if !(dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()) {
        return false;
    }
    match git2::Repository::open(dir) {
        Ok(repo) => {
            repo.is_bare() || fs::canonicalize(repo.path()).is_ok_and(|git_dir| git_dir == dir)
        }
        Err(_) => false,
    }
}

enum Found {
    File(RepoFile),
    Problem(Diagnostic),
}

/// One entry of the walk: a file the scan reads, a problem to report, or nothing.
fn visit(root: &Path, entry: Result<ignore::DirEntry, ignore::Error>) -> Option<Found> {
    let entry = match entry {
        Ok(e) => e,
        Err(err) => {
            return Some(Found::Problem(Diagnostic {
                path: String::new(),
                message: format!("could not read part of the repository: {err}"),
            }));
        }
    };
    let ft = entry.file_type()?;
    if ft.is_dir() {
        return None;
    }
    let rel = relative(root, entry.path())?;
    if ft.is_symlink() && fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
        // Folders behind links are not walked; one leading out of the repository is said.
        let inside = fs::canonicalize(entry.path()).is_ok_and(|t| t.starts_with(root));
        return (!inside).then(|| {
            Found::Problem(Diagnostic {
                path: rel,
                message: "symbolic link to a folder outside the repository; not followed"
                    .to_string(),
            })
        });
    }
    let kind = match classify(&rel) {
        Some(k) => k,
        None if is_requirements_dir_file(&rel) => FileKind::Dependency,
        None => return None,
    };
    if !ft.is_file() && !ft.is_symlink() {
        // A FIFO, a socket or a device: opening or reading it could block forever.
        return Some(Found::Problem(Diagnostic {
            path: rel,
            message: "not a regular file (a FIFO, socket or device); not read".to_string(),
        }));
    }
    let abs = if ft.is_symlink() {
        // Follow a link only when it lands on a file inside the repository.
        match fs::canonicalize(entry.path()) {
            Ok(target) if target.starts_with(root) && target.is_file() => target,
            Ok(_) | Err(_) => {
                return Some(Found::Problem(Diagnostic {
                    path: rel,
                    message: "symbolic link to outside the repository (or broken); not followed"
                        .to_string(),
                }));
            }
        }
    } else {
        entry.path().to_path_buf()
    };
    // No stat here: the size is checked when the file is opened to be read.
    Some(Found::File(RepoFile { rel, abs, kind }))
}

/// `path` relative to `root` with forward slashes, or None when it is not inside.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Why a file's text could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("file is too large to analyse ({0} bytes; the limit is {MAX_FILE_BYTES})")]
    TooLarge(u64),
    #[error("not valid UTF-8 text (flask-harden reads UTF-8 source files)")]
    NotUtf8,
    #[error("not a regular file (a FIFO, socket, device or folder); not read")]
    NotRegular,
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Open `path` for reading without waiting: on a FIFO with no writer, `open` returns at once.
/// Reads from a regular file are not affected by the flag.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    fs::File::open(path)
}

/// Read a file of at most [`MAX_FILE_BYTES`]: its size is checked on the open file before
/// anything is read, and the read stops past the limit if the file grows meanwhile.
pub fn read_limited(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    // Only a regular file is opened, and the open cannot block: a FIFO put in the file's
    // place after the walk would otherwise wait for a writer forever.
    if !fs::symlink_metadata(path)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    let size = meta.len();
    if size > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Read a repository file as UTF-8 text, dropping a byte-order mark.
pub fn read_text(file: &RepoFile) -> Result<String, ReadError> {
    read_text_at(&file.abs)
}

/// [`read_text`] of the file at `path`.
fn read_text_at(path: &Path) -> Result<String, ReadError> {
    let bytes = read_limited(path)?;
    let mut text = String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_files_the_scan_reads() {
        assert_eq!(classify("app/app.py"), Some(FileKind::Python));
        assert_eq!(
            classify("app/templates/index.html"),
            Some(FileKind::Template)
        );
        assert_eq!(classify("app/templates/mail.txt"), Some(FileKind::Template));
        assert_eq!(classify("requirements-dev.txt"), Some(FileKind::Dependency));
        assert_eq!(classify("sub/pyproject.toml"), Some(FileKind::Dependency));
        assert_eq!(classify("Pipfile.lock"), Some(FileKind::Dependency));
        assert_eq!(classify(".flaskenv"), Some(FileKind::EnvFile));
        assert_eq!(classify(".env.production"), Some(FileKind::EnvFile));
        assert_eq!(classify(".env.example"), None);
        assert_eq!(classify("README.md"), None);
        assert!(is_requirements_dir_file("requirements/prod.txt"));
    }
}
