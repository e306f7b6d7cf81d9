//! The interpreter behind a wrapper script. pyenv's and asdf's `python3` on PATH is a shell
//! script that picks a version and execs it, which takes longer to start than the compile
//! check it serves. The interpreter it ran (`sys.executable`) is remembered in the cache folder
//! and started directly on the next run; the wrapper is asked again in the background on
//! every run, so a change of version is picked up by the run after it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The file holding `wrapper<TAB>interpreter` lines.
const FILE: &str = "interpreters";

/// What to start for `python` (found on PATH): the interpreter a wrapper script ran last time
/// when it is remembered, still a program outside `avoid` and not a script itself; else
/// `python`. A wrapper is asked again on a background thread either way.
pub fn interpreter_for(python: &Path, avoid: &[PathBuf]) -> PathBuf {
    interpreter_in(cache_dir().as_deref(), python, avoid, true)
}

fn interpreter_in(
    cache: Option<&Path>,
    python: &Path,
    avoid: &[PathBuf],
    refresh: bool,
) -> PathBuf {
    let Some(cache) = cache else {
        return python.to_path_buf();
    };
    if !is_script(python) {
        return python.to_path_buf();
    }
    let remembered = remembered(cache, python).filter(|p| usable(p, avoid));
    if !refresh {
        return remembered.unwrap_or_else(|| python.to_path_buf());
    }
    let (cache, wrapper, avoid) = (cache.to_path_buf(), python.to_path_buf(), avoid.to_vec());
    let _ = std::thread::Builder::new()
        .name("flask-harden-shim".into())
        .spawn(move || {
            if let Some(real) = ask(&wrapper)
                && usable(&real, &avoid)
            {
                remember(&cache, &wrapper, &real);
            }
        });
    remembered.unwrap_or_else(|| python.to_path_buf())
}

fn cache_dir() -> Option<PathBuf> {
    crate::deps::advisories::cache_file().and_then(|f| f.parent().map(Path::to_path_buf))
}

/// A file starting with `#!`.
fn is_script(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!"
}

/// An executable file, not a script, outside `avoid`.
fn usable(path: &Path, avoid: &[PathBuf]) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let inside = avoid
        .iter()
        .filter_map(|a| std::fs::canonicalize(a).ok())
        .any(|a| real.starts_with(a));
    path.is_absolute() && !inside && real.is_file() && !is_script(&real)
}

fn remembered(cache: &Path, wrapper: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(cache.join(FILE)).ok()?;
    let wrapper = wrapper.to_str()?;
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(w, _)| *w == wrapper)
        .map(|(_, real)| PathBuf::from(real))
}

/// The interpreter the wrapper runs, from the same folder the compile check starts in.
fn ask(wrapper: &Path) -> Option<PathBuf> {
    let out = Command::new(wrapper)
        .args(["-I", "-c", "import sys; sys.stdout.write(sys.executable)"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !path.is_empty() && !path.contains(['\t', '\n']))
        .then(|| PathBuf::from(path))
}

/// Record `wrapper -> real`, replacing the file in one rename so a reader never sees half.
fn remember(cache: &Path, wrapper: &Path, real: &Path) {
    let (Some(w), Some(r)) = (wrapper.to_str(), real.to_str()) else {
        return;
    };
    if remembered(cache, wrapper).as_deref() == Some(real) {
        return;
    }
    let old = std::fs::read_to_string(cache.join(FILE)).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| l.split_once('\t').is_some_and(|(x, _)| x != w))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{w}\t{r}\n"));
    if std::fs::create_dir_all(cache).is_err() {
        return;
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(cache) else {
        return;
    };
    use std::io::Write as _;
    if tmp.write_all(text.as_bytes()).is_ok() {
        let _ = tmp.persist(cache.join(FILE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrapper script is asked once (in the background) and its interpreter is started
    /// directly from then on; a plain program is started as it is; a remembered path inside
    /// the repository, or one that is gone, is not used.
    #[cfg(unix)]
    #[test]
    fn a_wrapper_is_remembered_and_skipped_next_time() {
        use std::os::unix::fs::PermissionsExt;
        let Some(real) = crate::fix::verify::find_program("python3", &[]) else {
            eprintln!("SKIPPED: no python3 on PATH");
            return;
        };
        // Behind pyenv's shim (itself a wrapper) the interpreter it runs.
        let real = if is_script(&real) {
            ask(&real).expect("the wrapper on PATH names its interpreter")
        } else {
            real
        };
        let real = std::fs::canonicalize(real).unwrap();
        assert!(!is_script(&real));
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let wrapper = dir.path().join("python3");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.display()),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

        // First run: nothing remembered, the wrapper itself; it is asked in the background.
        assert_eq!(interpreter_in(Some(&cache), &wrapper, &[], true), wrapper);
        let start = std::time::Instant::now();
        while remembered(&cache, &wrapper).is_none() {
            assert!(
                start.elapsed().as_secs() < 20,
                "the wrapper was never asked"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let seen = std::fs::canonicalize(remembered(&cache, &wrapper).unwrap()).unwrap();
        assert_eq!(seen, real);
        // Next run: the interpreter directly.
        let next = interpreter_in(Some(&cache), &wrapper, &[], false);
        assert_eq!(std::fs::canonicalize(&next).unwrap(), real);
        // Not inside the repository.
        let parent = real.parent().unwrap().to_path_buf();
        assert_eq!(
            interpreter_in(Some(&cache), &wrapper, &[parent], false),
            wrapper
        );
        // A plain program is started as it is, and no cache is needed.
        assert_eq!(interpreter_in(None, &real, &[], true), real);
        // A remembered interpreter that is gone falls back to the wrapper.
        remember(&cache, &wrapper, &dir.path().join("gone"));
        assert_eq!(interpreter_in(Some(&cache), &wrapper, &[], false), wrapper);
    }
}
