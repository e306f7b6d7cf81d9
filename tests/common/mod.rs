//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use flask_harden::finding::Finding;
use flask_harden::scan::{ScanOptions, ScanResult, scan};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A temporary repository holding `files` (path, content).
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        write(dir.path(), path, content.as_bytes());
    }
    dir
}

pub fn write(root: &Path, path: &str, content: &[u8]) {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).expect("create dirs");
    }
    std::fs::write(full, content).expect("write file");
}

pub fn scan_dir(root: &Path) -> ScanResult {
    scan(root, &ScanOptions::default()).expect("scan runs")
}

pub fn findings(result: &ScanResult) -> Vec<&Finding> {
    result
        .items
        .iter()
        .flat_map(|i| &i.outcome.findings)
        .collect()
}

/// `rule@path:line` for every finding, sorted: compact to assert on.
pub fn summary(result: &ScanResult) -> Vec<String> {
    let mut v: Vec<String> = findings(result)
        .iter()
        .map(|f| format!("{}@{}:{}", f.rule, f.path, f.line))
        .collect();
    v.sort();
    v
}

pub fn rules_of(root: &Path, item: &str) -> Vec<String> {
    let result = scan(
        root,
        &ScanOptions {
            items: vec![item.to_string()],
            ..ScanOptions::default()
        },
    )
    .expect("scan runs");
    summary(&result)
}

/// Run git in `dir` with a throwaway identity; panics when it fails. Its standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
