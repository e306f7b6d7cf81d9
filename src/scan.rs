//! A scan: load the repository, parse it in parallel, compute the facts once, run the checks.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::checklist::{self, Item};
use crate::checks::{CHECKS, Context};
use crate::finding::{CheckOutcome, Diagnostic, Status};
use crate::project::{self, FileKind, ProjectFiles};
use crate::python::facts::{EnvFile, Facts};
use crate::python::templates::Template;
use crate::python::{self, Module};

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Only these checklist items (all when empty).
    pub items: Vec<String>,
}

/// One checklist item's result.
#[derive(Debug, Clone)]
pub struct ItemResult {
    pub item: &'static Item,
    pub outcome: CheckOutcome,
}

impl ItemResult {
    pub fn status(&self) -> Status {
        self.outcome.status()
    }
}

#[derive(Debug, Clone)]
pub struct ScanResult {
    pub root: PathBuf,
    pub items: Vec<ItemResult>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files read: Python, templates, dependency and env files.
    pub files_scanned: usize,
}

impl ScanResult {
    pub fn failed(&self) -> bool {
        self.items.iter().any(|i| i.status() == Status::Fail)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Open(#[from] project::OpenError),
    #[error("the embedded checklist is invalid: {0}")]
    Checklist(String),
    #[error("unknown checklist item {0:?} (known: {1})")]
    UnknownItem(String, String),
}

/// Progress of a scan, for the TUI: files parsed of the total.
pub trait Progress: Sync {
    fn files_found(&self, _total: usize) {}
    fn file_done(&self) {}
}

struct NoProgress;
impl Progress for NoProgress {}

pub fn scan(root: &Path, options: &ScanOptions) -> Result<ScanResult, ScanError> {
    scan_with_progress(root, options, &NoProgress)
}

pub fn scan_with_progress(
    root: &Path,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanResult, ScanError> {
    let items = checklist::checklist().map_err(|e| ScanError::Checklist(e.to_string()))?;
    for wanted in &options.items {
        if !CHECKS.iter().any(|(id, _)| id == wanted) {
            let known: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
            return Err(ScanError::UnknownItem(wanted.clone(), known.join(", ")));
        }
    }
    let files = project::discover(root)?;
    progress.files_found(files.files.len());
    let mut loaded = load(&files, progress);
    load_referenced_templates(&files, &mut loaded);
    let mut diagnostics = files.diagnostics.clone();
    diagnostics.extend(loaded.diagnostics);

    let facts = Facts::compute(&loaded.modules, loaded.templates, loaded.env_files);
    let ctx = Context {
        facts: &facts,
        files: &files,
    };
    let mut results = Vec::new();
    for (id, check) in CHECKS {
        if !options.items.is_empty() && !options.items.iter().any(|w| w == id) {
            continue;
        }
        let Some(item) = items.iter().find(|i| i.id == *id) else {
            continue;
        };
        let mut outcome = check(&ctx);
        outcome.findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
        });
        outcome.findings.dedup();
        results.push(ItemResult { item, outcome });
    }
    diagnostics.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ScanResult {
        root: files.root.clone(),
        items: results,
        diagnostics,
        files_scanned: files.files.len(),
    })
}

/// Templates the code renders by a name the walk did not recognise as a template.
fn load_referenced_templates(files: &ProjectFiles, loaded: &mut Loaded) {
    for rel in crate::python::templates::referenced_paths(&loaded.modules) {
        if loaded.templates.iter().any(|t| t.path == rel) {
            continue;
        }
        let abs = files.root.join(&rel);
        // Only a regular file inside the repository: no symlinks, nothing outside.
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let file = project::RepoFile {
            rel: rel.clone(),
            abs,
            kind: FileKind::Template,
            size: meta.len(),
        };
        match project::read_text(&file) {
            Ok(text) => loaded.templates.push(Template::new(&rel, text)),
            Err(e) => loaded.diagnostics.push(Diagnostic {
                path: rel,
                message: e.to_string(),
            }),
        }
    }
}

struct Loaded {
    modules: Vec<Module>,
    templates: Vec<Template>,
    env_files: Vec<EnvFile>,
    diagnostics: Vec<Diagnostic>,
}

enum LoadedFile {
    Module(Module),
    Template(Template),
    Env(EnvFile),
    Diagnostic(Diagnostic),
    Skip,
}

/// Read and parse every file in parallel; a file that cannot be used becomes a diagnostic.
fn load(files: &ProjectFiles, progress: &dyn Progress) -> Loaded {
    let results: Vec<LoadedFile> = files
        .files
        .par_iter()
        .map(|f| {
            let out = match f.kind {
                FileKind::Dependency => LoadedFile::Skip,
                kind => match project::read_text(f) {
                    Err(e) => LoadedFile::Diagnostic(Diagnostic {
                        path: f.rel.clone(),
                        message: e.to_string(),
                    }),
                    Ok(text) => match kind {
                        FileKind::Python => match python::parse(&f.rel, text) {
                            Ok(m) => LoadedFile::Module(m),
                            Err(d) => LoadedFile::Diagnostic(d),
                        },
                        FileKind::Template => LoadedFile::Template(Template::new(&f.rel, text)),
                        FileKind::EnvFile => LoadedFile::Env(EnvFile::parse(&f.rel, text)),
                        FileKind::Dependency => LoadedFile::Skip,
                    },
                },
            };
            progress.file_done();
            out
        })
        .collect();
    let mut loaded = Loaded {
        modules: Vec::new(),
        templates: Vec::new(),
        env_files: Vec::new(),
        diagnostics: Vec::new(),
    };
    for r in results {
        match r {
            LoadedFile::Module(m) => loaded.modules.push(m),
            LoadedFile::Template(t) => loaded.templates.push(t),
            LoadedFile::Env(e) => loaded.env_files.push(e),
            LoadedFile::Diagnostic(d) => loaded.diagnostics.push(d),
            LoadedFile::Skip => {}
        }
    }
    loaded
}
