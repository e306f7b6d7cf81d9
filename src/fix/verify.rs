//! Checks a fix passes before it is offered: the patched Python files parse with our parser,
//! CPython compiles them (its `compile()` on the source given on standard input, when
//! `python3` is installed; the user's code is never imported or run), and a rescan of the
//! patched tree no longer reports the findings the fix claims to fix. Rescans read a private
//! temporary copy, removed on every exit path.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::snapshot::{SnapFile, Snapshot, write_file};
use crate::finding::Finding;
use crate::project::{FileKind, classify};
use crate::scan::{ScanError, ScanOptions, ScanResult, scan};

/// Why a fix is not offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the patched {path} does not parse: {message}")]
    Syntax { path: String, message: String },
    #[error("CPython does not compile the patched {path}: {message}")]
    Compile { path: String, message: String },
    #[error("a rescan still reports {rule} at {path}:{line}")]
    StillReported {
        rule: String,
        path: String,
        line: usize,
    },
    #[error("the rescan failed: {0}")]
    Rescan(String),
    #[error("the fix could not be applied: {0}")]
    NotApplicable(String),
}

/// Parse a patched Python file with the scan's parser.
pub fn check_parses(path: &str, text: &str) -> Result<(), Rejection> {
    crate::python::parse(path, text.to_string())
        .map(|_| ())
        .map_err(|d| Rejection::Syntax {
            path: path.to_string(),
            message: d.message,
        })
}

/// CPython, found once; compiling is skipped when there is none.
#[derive(Debug, Clone)]
pub struct PyCompiler {
    python: Option<PathBuf>,
}

impl PyCompiler {
    /// Look for `python3` on the absolute entries of PATH (see [`find_program`]), outside the
    /// git working tree holding the current folder, if any.
    pub fn detect() -> Self {
        let here = std::env::current_dir()
            .ok()
            .and_then(|d| git2::Repository::discover(d).ok())
            .and_then(|r| r.workdir().map(Path::to_path_buf));
        Self::detect_outside(&here.into_iter().collect::<Vec<_>>())
    }

    /// Look for `python3` on PATH, never inside `avoid` (the repository): see
    /// [`find_program`].
    pub fn detect_outside(avoid: &[PathBuf]) -> Self {
        let python = find_program("python3", avoid).filter(|python| {
            Command::new(python)
                .args(["-I", "--version"])
                .current_dir(std::env::temp_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        Self { python }
    }

    /// The interpreter used, an absolute path.
    pub fn program(&self) -> Option<&Path> {
        self.python.as_deref()
    }

    pub fn none() -> Self {
        Self { python: None }
    }

    pub fn available(&self) -> bool {
        self.python.is_some()
    }

    /// Compile `file` as `path` with CPython's `compile()`, as `py_compile` does, the source
    /// given on standard input: nothing is written to disk (no copy, no bytecode), and isolated
    /// mode (`-I`) from a temporary folder, so neither the environment nor any folder of the
    /// repository can change what runs. The code is compiled, never run.
    pub fn check(&self, path: &str, file: &SnapFile) -> Result<(), Rejection> {
        use std::io::Write as _;
        let Some(python) = &self.python else {
            return Ok(());
        };
        let fail = |message: String| Rejection::Compile {
            path: path.to_string(),
            message,
        };
        let mut child = Command::new(python)
            .args(["-I", "-c", COMPILE, path])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("could not run python3: {e}")))?;
        let source = file.bytes();
        let fed = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(&source))
            .transpose();
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("could not run python3: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        if let Err(e) = fed {
            return Err(fail(format!("could not give python3 the source: {e}")));
        }
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        Err(fail(last.to_string()))
    }
}

/// What `python3 -I -c` runs to compile standard input: `py_compile`'s own call.
const COMPILE: &str =
    "import sys; compile(sys.stdin.buffer.read(), sys.argv[1], 'exec', dont_inherit=True)";

/// `name` resolved on PATH to an absolute path, as the shell would, except that empty and
/// relative PATH entries (`PATH=":$PATH"`, `.`) are skipped, they name the current folder,
/// which is usually the repository, and so is any program whose real location lies inside one
/// of `avoid`. Only regular, executable files count.
pub fn find_program(name: &str, avoid: &[PathBuf]) -> Option<PathBuf> {
    let avoid: Vec<PathBuf> = avoid
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            let Ok(real) = std::fs::canonicalize(candidate) else {
                return false;
            };
            if avoid.iter().any(|a| real.starts_with(a)) {
                return false;
            }
            std::fs::metadata(&real).is_ok_and(|m| m.is_file() && is_executable(&m))
        })
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Parse and compile every changed Python file of `changed`.
pub fn check_files<'a>(
    compiler: &PyCompiler,
    changed: impl IntoIterator<Item = (&'a str, &'a SnapFile)>,
) -> Result<(), Rejection> {
    for (path, file) in changed {
        if classify(path) != Some(FileKind::Python) {
            continue;
        }
        check_parses(path, &file.text)?;
        compiler.check(path, file)?;
    }
    Ok(())
}

/// A temporary copy of a snapshot on disk, for rescans. It is kept in sync with whatever
/// snapshot is scanned next, rewriting only the files that differ.
pub struct Workspace {
    dir: PrivateTempDir,
    on_disk: BTreeMap<String, SnapFile>,
}

/// A temporary folder only the user can read (0700, files 0600), removed when dropped, and
/// by [`remove_temporary_dirs`] when a signal stops the process before that.
pub struct PrivateTempDir {
    dir: Option<TempDir>,
}

impl PrivateTempDir {
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), TempDir::path)
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            drop(dir);
            if let Ok(mut live) = LIVE_TEMP_DIRS.lock() {
                live.retain(|p| *p != path);
            }
        }
    }
}

/// The temporary folders in use, for [`remove_temporary_dirs`].
static LIVE_TEMP_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Every temporary folder's name starts with this, then the process id: a later run removes
/// the folders of a process that died without removing them (`kill -9`).
const TEMP_PREFIX: &str = "flask-harden-";

/// A new private temporary folder, registered for removal on a signal.
pub fn private_tempdir() -> std::io::Result<PrivateTempDir> {
    remove_stale_temporary_dirs();
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder.tempdir()?;
    if let Ok(mut live) = LIVE_TEMP_DIRS.lock() {
        live.push(dir.path().to_path_buf());
    }
    Ok(PrivateTempDir { dir: Some(dir) })
}

/// Set once a signal stops the process: no more files are written into temporary folders, so
/// a copy still being written cannot bring back a folder just removed.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the process is stopping ([`remove_temporary_dirs`] has run).
pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Remove every temporary folder still in use: for a signal handler, just before exiting.
pub fn remove_temporary_dirs() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let dirs = match LIVE_TEMP_DIRS.lock() {
        Ok(mut live) => std::mem::take(&mut *live),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    // A writer that had passed its check before the flag was set may still add a file: a
    // second pass, a moment later, removes what it left.
    for pass in 0..2 {
        if pass > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for dir in &dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Remove the temporary folders of this user's flask-harden processes that are gone (once
/// per process; Linux, where `/proc` says which processes live).
fn remove_stale_temporary_dirs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().filter(|p| p.parse::<u32>().is_ok()) else {
                continue;
            };
            if Path::new("/proc").join(pid).exists() {
                continue;
            }
            // Only a real folder of ours: no link, owned by this user.
            if let Ok(meta) = std::fs::symlink_metadata(entry.path())
                && meta.is_dir()
                && owned_by_me(&meta)
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

#[cfg(unix)]
fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|me| me.uid() == meta.uid())
}

#[cfg(not(unix))]
fn owned_by_me(_meta: &std::fs::Metadata) -> bool {
    false
}

impl Workspace {
    pub fn new(snapshot: &Snapshot) -> std::io::Result<Self> {
        let dir = private_tempdir()?;
        snapshot.materialize(dir.path())?;
        Ok(Self {
            dir,
            on_disk: snapshot.files.clone(),
        })
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Make the folder hold exactly `snapshot`.
    pub fn sync(&mut self, snapshot: &Snapshot) -> std::io::Result<()> {
        let stale: Vec<String> = self
            .on_disk
            .keys()
            .filter(|p| !snapshot.files.contains_key(*p))
            .cloned()
            .collect();
        for path in stale {
            std::fs::remove_file(self.dir.path().join(&path))?;
            self.on_disk.remove(&path);
        }
        for (path, file) in &snapshot.files {
            if self.on_disk.get(path) != Some(file) {
                write_file(self.dir.path(), path, file)?;
                self.on_disk.insert(path.clone(), file.clone());
            }
        }
        Ok(())
    }

    /// Scan `snapshot` (only `items`, all when empty).
    pub fn scan(&mut self, snapshot: &Snapshot, items: &[String]) -> Result<ScanResult, Rejection> {
        self.sync(snapshot)
            .map_err(|e| Rejection::Rescan(e.to_string()))?;
        scan(
            self.dir.path(),
            &ScanOptions {
                items: items.to_vec(),
                ..ScanOptions::default()
            },
        )
        .map_err(|e: ScanError| Rejection::Rescan(e.to_string()))
    }
}

/// The findings of a scan, flattened.
pub fn findings(result: &ScanResult) -> Vec<&Finding> {
    result
        .items
        .iter()
        .flat_map(|i| i.outcome.findings.iter())
        .collect()
}

/// Which of `targets` a rescan still reports. A target is gone when no finding has its
/// fingerprint and its rule reports fewer findings in its file than before (the fingerprint
/// follows the code, so a fix that only reworded the line would otherwise look like one that
/// worked).
pub fn remaining<'t>(
    targets: &'t [Finding],
    before: &[&Finding],
    after: &[&Finding],
) -> Vec<&'t Finding> {
    let count = |list: &[&Finding], rule: &str, path: &str| {
        list.iter()
            .filter(|f| f.rule == rule && f.path == path)
            .count()
    };
    let mut wanted: HashMap<(&str, &str), usize> = HashMap::new();
    for t in targets {
        *wanted
            .entry((t.rule.as_str(), t.path.as_str()))
            .or_default() += 1;
    }
    targets
        .iter()
        .filter(|t| {
            let same = after
                .iter()
                .any(|f| f.fingerprint() == t.fingerprint() && f.rule == t.rule);
            let key = (t.rule.as_str(), t.path.as_str());
            let dropped = count(before, key.0, key.1).saturating_sub(count(after, key.0, key.1));
            same || dropped < wanted.get(&key).copied().unwrap_or(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_rejected() {
        assert!(check_parses("a.py", "x = (1,\n").is_err());
        assert!(check_parses("a.py", "x = 1\n").is_ok());
    }

    #[test]
    fn cpython_compiles_only_valid_code() {
        let py = PyCompiler::detect();
        if !py.available() {
            eprintln!("python3 not installed; compile check skipped");
            return;
        }
        assert!(py.check("app.py", &SnapFile::new("x = 1\n")).is_ok());
        // Parses with a permissive parser but CPython rejects it: `return` outside a function.
        let err = py.check("py_compile.py", &SnapFile::new("return 1\n"));
        assert!(
            matches!(&err, Err(Rejection::Compile { message, .. }) if message.contains("outside function")),
            "{err:?}"
        );
    }
}
