//! Checks a fix passes before it is offered: the patched Python files parse with our parser,
//! CPython compiles them (its `compile()` on the source given on standard input, when
//! `python3` is installed; the user's code is never imported or run), and a rescan of the
//! patched tree no longer reports the findings the fix claims to fix. Rescans read the
//! patched files from memory ([`Rescanner`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::snapshot::{SnapFile, Snapshot};
use crate::finding::Finding;
use crate::project::{FileKind, classify};
use crate::scan::{ScanError, ScanOptions, ScanResult};

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

/// CPython, looked for at the first file to compile; compiling is skipped when there is none.
/// One `python3` process serves the whole run (fed one file after the other on its standard
/// input), and a text compiled once is not compiled again.
#[derive(Debug, Clone)]
pub struct PyCompiler {
    state: std::sync::Arc<std::sync::Mutex<CompileState>>,
}

#[derive(Debug, Default)]
struct CompileState {
    /// Folders the interpreter must not come from (the repository).
    avoid: Vec<PathBuf>,
    /// `None` until looked for; then the interpreter, if one works.
    python: Option<Option<PathBuf>>,
    server: Option<CompileServer>,
    /// Outcome by path and text hash.
    done: HashMap<(String, u64), Result<(), String>>,
}

impl CompileState {
    /// Look for the interpreter once: it counts as found when it compiles an empty file, and
    /// the process that did so stays to compile the rest. Started once, it also spares a
    /// wrapper such as pyenv's shim (a shell script that takes longer than the compile)
    /// further runs.
    fn python(&mut self) -> Option<PathBuf> {
        if self.python.is_none() {
            let found = find_program("python3", &self.avoid).and_then(|python| {
                let python = super::shim::interpreter_for(&python, &self.avoid);
                let mut server = CompileServer::start(&python).ok()?;
                matches!(server.compile("<empty>", b""), Ok(None)).then(|| {
                    self.server = Some(server);
                    python
                })
            });
            self.python = Some(found);
        }
        self.python.clone().flatten()
    }
}

/// The running `python3` that compiles what it is sent ([`COMPILE_SERVER`]).
#[derive(Debug)]
struct CompileServer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Drop for CompileServer {
    fn drop(&mut self) {
        // Closing its standard input ends the loop; a process that does not stop is killed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl CompileServer {
    fn start(python: &Path) -> std::io::Result<Self> {
        let mut child = Command::new(python)
            .args(["-I", "-c", COMPILE_SERVER])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(std::io::Error::other("no pipes to python3"));
        };
        Ok(Self {
            child,
            stdin,
            stdout: std::io::BufReader::new(stdout),
        })
    }

    /// `Ok(None)` when the file compiles, `Ok(Some(message))` when it does not.
    fn compile(&mut self, path: &str, source: &[u8]) -> std::io::Result<Option<String>> {
        use std::io::{BufRead as _, Write as _};
        writeln!(self.stdin, "{} {}", path.len(), source.len())?;
        self.stdin.write_all(path.as_bytes())?;
        self.stdin.write_all(source)?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("python3 stopped while compiling"));
        }
        let line = line.trim_end();
        Ok(match line.strip_prefix("error ") {
            Some(message) => Some(message.to_string()),
            None if line == "ok" => None,
            None => Some(line.to_string()),
        })
    }
}

impl PyCompiler {
    /// `python3` from the absolute entries of PATH (see [`find_program`]), outside the git
    /// working tree holding the current folder, if any.
    pub fn detect() -> Self {
        let here = std::env::current_dir()
            .ok()
            .and_then(|d| git2::Repository::discover(d).ok())
            .and_then(|r| r.workdir().map(Path::to_path_buf));
        Self::detect_outside(&here.into_iter().collect::<Vec<_>>())
    }

    /// `python3` from PATH, never from inside `path` or the git working tree holding it.
    pub fn outside_repository(path: &Path) -> Self {
        let mut avoid = vec![path.to_path_buf()];
        if let Some(workdir) = git2::Repository::discover(path)
            .ok()
            .and_then(|r| r.workdir().map(Path::to_path_buf))
        {
            avoid.push(workdir);
        }
        Self::detect_outside(&avoid)
    }

    /// `python3` from PATH, never from inside `avoid` (the repository): see
    /// [`find_program`].
    pub fn detect_outside(avoid: &[PathBuf]) -> Self {
        Self {
            state: std::sync::Arc::new(std::sync::Mutex::new(CompileState {
                avoid: avoid.to_vec(),
                ..CompileState::default()
            })),
        }
    }

    /// Look for the interpreter and start it on another thread now, while the caller scans,
    /// instead of at the first file to compile.
    pub fn prewarm(self) -> Self {
        let compiler = self.clone();
        let started = std::thread::Builder::new()
            .name("flask-harden-python".into())
            .spawn(move || {
                compiler.lock().python();
            });
        drop(started); // no thread: the first file starts it
        self
    }

    pub fn none() -> Self {
        let compiler = Self::detect_outside(&[]);
        compiler.lock().python = Some(None);
        compiler
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CompileState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The interpreter used, an absolute path.
    pub fn program(&self) -> Option<PathBuf> {
        self.lock().python()
    }

    pub fn available(&self) -> bool {
        self.program().is_some()
    }

    /// Compile `file` as `path` with CPython's `compile()`, as `py_compile` does, the source
    /// sent through a pipe: nothing is written to disk (no copy, no bytecode), and isolated
    /// mode (`-I`) from a temporary folder, so neither the environment nor any folder of the
    /// repository can change what runs. The code is compiled, never run.
    pub fn check(&self, path: &str, file: &SnapFile) -> Result<(), Rejection> {
        let fail = |message: String| Rejection::Compile {
            path: path.to_string(),
            message,
        };
        let mut state = self.lock();
        let Some(python) = state.python() else {
            return Ok(());
        };
        let key = (path.to_string(), crate::scan::cache::text_hash(&file.text));
        if let Some(done) = state.done.get(&key) {
            return done.clone().map_err(fail);
        }
        let source = file.bytes();
        let mut outcome = None;
        // A server that stopped (a file that crashed it, say) is started again once.
        for _attempt in 0..2 {
            if state.server.is_none() {
                match CompileServer::start(&python) {
                    Ok(server) => state.server = Some(server),
                    Err(e) => return Err(fail(format!("could not run python3: {e}"))),
                }
            }
            let Some(server) = state.server.as_mut() else {
                break;
            };
            match server.compile(path, &source) {
                Ok(result) => {
                    outcome = Some(result.map_or(Ok(()), Err));
                    break;
                }
                Err(e) => {
                    state.server = None;
                    outcome = Some(Err(e.to_string()));
                }
            }
        }
        let outcome = outcome.unwrap_or_else(|| Err("python3 did not answer".to_string()));
        state.done.insert(key, outcome.clone());
        outcome.map_err(fail)
    }
}

/// What `python3 -I -c` runs to compile the files it is sent: each one a header line (the
/// lengths of the path and of the source, in bytes), the path, the source; each answered by
/// one line, `ok` or `error ` and the exception's last line as a traceback shows it. Only
/// `compile()` runs on the source, as `py_compile` does.
const COMPILE_SERVER: &str = "
import sys, traceback
i, o = sys.stdin.buffer, sys.stdout
while True:
    h = i.readline()
    if not h:
        break
    n, m = map(int, h.split())
    path = i.read(n).decode('utf-8', 'replace')
    src = i.read(m)
    try:
        compile(src, path, 'exec', dont_inherit=True)
        r = 'ok'
    except BaseException as e:
        r = 'error ' + ' '.join(traceback.format_exception_only(type(e), e)[-1].split())
    o.write(r + '\\n')
    o.flush()
";

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
pub fn remove_stale_temporary_dirs() {
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

/// The findings of a scan, flattened.
pub fn findings(result: &ScanResult) -> Vec<&Finding> {
    result
        .items
        .iter()
        .flat_map(|i| i.outcome.findings.iter())
        .collect()
}

/// Scans of the versions of a tree fixes are tried on, in memory (nothing is written to disk),
/// sharing parsed files: a rescan parses only the files a fix changed.
pub struct Rescanner {
    parsed: crate::scan::ParseCache,
}

impl crate::project::Contents for Snapshot {
    fn text(&self, rel: &str) -> Option<&str> {
        self.get(rel)
    }

    fn token(&self, rel: &str) -> Option<crate::scan::cache::Token> {
        self.files
            .get(rel)
            .map(|f| crate::scan::cache::Token::of(f.clone()))
    }
}

impl Rescanner {
    pub fn new(parsed: crate::scan::ParseCache) -> Self {
        Self { parsed }
    }

    /// Scan `snapshot` (only `items`, all when empty).
    pub fn scan(&self, snapshot: &Snapshot, items: &[String]) -> Result<ScanResult, Rejection> {
        let contents: std::sync::Arc<dyn crate::project::Contents> =
            std::sync::Arc::new(snapshot.clone());
        let files = crate::project::ProjectFiles::in_memory(
            PathBuf::new(),
            snapshot.files.keys().map(String::as_str),
            contents,
        );
        let started = std::time::Instant::now();
        let result = crate::scan::scan_files(
            files,
            &ScanOptions {
                items: items.to_vec(),
                cache: Some(self.parsed.clone()),
                ..ScanOptions::default()
            },
        )
        .map_err(|e: ScanError| Rejection::Rescan(e.to_string()));
        if std::env::var_os("FLASK_HARDEN_TRACE").is_some() {
            eprintln!("rescan {items:?}: {:?}", started.elapsed());
        }
        result
    }
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
    // Counted once per (rule, file), so that a file with thousands of findings is not
    // searched once per finding.
    fn count<'f>(list: &[&'f Finding]) -> HashMap<(&'f str, &'f str), usize> {
        let mut by = HashMap::new();
        for f in list {
            *by.entry((f.rule.as_str(), f.path.as_str())).or_default() += 1;
        }
        by
    }
    let (before_count, after_count) = (count(before), count(after));
    let after_prints: std::collections::HashSet<(String, &str)> = after
        .iter()
        .map(|f| (f.fingerprint(), f.rule.as_str()))
        .collect();
    let mut wanted: HashMap<(&str, &str), usize> = HashMap::new();
    for t in targets {
        *wanted
            .entry((t.rule.as_str(), t.path.as_str()))
            .or_default() += 1;
    }
    targets
        .iter()
        .filter(|t| {
            let same = after_prints.contains(&(t.fingerprint(), t.rule.as_str()));
            let key = (t.rule.as_str(), t.path.as_str());
            let n = |by: &HashMap<(&str, &str), usize>| by.get(&key).copied().unwrap_or(0);
            let dropped = n(&before_count).saturating_sub(n(&after_count));
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
