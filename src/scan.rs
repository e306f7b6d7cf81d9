//! A scan: load the repository, parse it in parallel, compute the facts once, run the checks.
//!
//! The files come from disk ([`scan`]) or from memory ([`scan_files`] with
//! [`ProjectFiles::in_memory`], the versions of a tree fixes are tried on); a [`ParseCache`]
//! shared between scans keeps unchanged files from being parsed twice.

pub mod cache;

pub use cache::{ParseCache, Parsed};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Use the embedded advisory snapshot, not the cache `advisories update` fills.
    pub offline: bool,
    /// The project's configuration ([`crate::config::Config::load`]); defaults when absent.
    pub config: crate::config::Config,
    /// Parsed files to reuse, and to keep for later scans of the same tree (fix planning).
    pub cache: Option<ParseCache>,
}

/// One checklist item's result.
#[derive(Debug, Clone)]
pub struct ItemResult {
    pub item: &'static Item,
    /// What the check reported, less what suppressions and the baseline took out.
    pub outcome: CheckOutcome,
    /// Findings an inline suppression comment hid.
    pub suppressed: Vec<crate::suppress::Suppressed>,
    /// Findings the baseline already records.
    pub baselined: Vec<crate::finding::Finding>,
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
    /// The `suppression` pseudo-item, when the repository has suppression comments: it fails
    /// on comments without a reason or that suppress nothing.
    pub suppression: Option<ItemResult>,
}

impl ScanResult {
    pub fn failed(&self) -> bool {
        self.all_items().any(|i| i.status() == Status::Fail)
    }

    /// The checklist items, then the `suppression` pseudo-item if there is one: what reports
    /// show.
    pub fn all_items(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().chain(self.suppression.as_ref())
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

/// The check that takes longest on large repositories (it follows data through every view).
const LONGEST_CHECK: &str = "input-validation";

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

/// The stack of the threads scans and fixes run on. Parsing and every walk over a syntax tree
/// recurse once per level of nesting; [`crate::python::depth`] bounds the nesting, and this
/// leaves room for that bound in a debug build with margin. It is address space reserved, not
/// memory used: pages are only touched as deep as the recursion goes.
pub const STACK_BYTES: usize = 256 << 20;

/// Run `f` on the scan's thread pool, whose threads have [`STACK_BYTES`] of stack; its
/// parallel iterators use that pool too. Calls from inside the pool run in place.
pub fn on_large_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("flask-harden-scan-{i}"))
            .build()
            .ok()
    });
    match pool {
        Some(pool) => pool.install(f),
        // No threads could be made: the caller's thread, as before.
        None => f(),
    }
}

pub fn scan_with_progress(
    root: &Path,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanResult, ScanError> {
    on_large_stack(|| scan_on_this_thread(root, options, progress))
}

fn scan_on_this_thread(
    root: &Path,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanResult, ScanError> {
    let files = project::discover(root)?;
    scan_discovered(files, options, progress)
}

/// Scan the files `files` lists, read from memory when it holds them
/// ([`ProjectFiles::in_memory`]).
pub fn scan_files(files: ProjectFiles, options: &ScanOptions) -> Result<ScanResult, ScanError> {
    on_large_stack(|| scan_discovered(files, options, &NoProgress))
}

fn scan_discovered(
    mut files: ProjectFiles,
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
    let config = &options.config;
    files.files.retain(|f| config.includes_path(&f.rel));
    progress.files_found(files.files.len());
    let trace = Trace::new();
    let mut loaded = load(&files, progress, options.cache.as_ref());
    trace.mark("load");
    let mut diagnostics = files.diagnostics.clone();
    diagnostics.extend(config.diagnostics.iter().cloned());
    diagnostics.extend(loaded.diagnostics);

    let mut facts = Facts::compute(&loaded.modules, loaded.templates, loaded.env_files);
    trace.mark("facts");
    let referenced = load_referenced_templates(&files, &facts);
    for found in referenced {
        match found {
            Ok(t) => facts.templates.push(t),
            Err(d) => diagnostics.push(d),
        }
    }
    if let Some(production) = &config.production_config {
        facts.use_production_config(production);
    }
    let ctx = Context {
        facts: &facts,
        files: &files,
        offline: options.offline || config.advisories == crate::config::Advisories::Offline,
    };
    // The checks only read the facts: run them side by side.
    // The longest check starts first, so the others fill the other cores meanwhile; results
    // come back in checklist order.
    let mut order: Vec<usize> = (0..CHECKS.len()).collect();
    order.sort_by_key(|&i| CHECKS[i].0 != LONGEST_CHECK);
    let mut results: Vec<(usize, ItemResult)> = order
        .par_iter()
        .map(|&i| (i, CHECKS[i]))
        .filter(|(_, (id, _))| options.items.is_empty() || options.items.iter().any(|w| w == id))
        .filter(|(_, (id, _))| config.item_enabled(id))
        .filter_map(|(i, (id, check))| {
            let item = items.iter().find(|i| i.id == *id)?;
            let mut outcome = check(&ctx);
            config.adjust(&mut outcome.findings);
            outcome.findings.sort_by(|a, b| {
                (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
            });
            outcome.findings.dedup();
            Some((
                i,
                ItemResult {
                    item,
                    outcome,
                    suppressed: Vec::new(),
                    baselined: Vec::new(),
                },
            ))
        })
        .collect();
    trace.mark("checks");
    results.sort_by_key(|(i, _)| *i);
    let mut results: Vec<ItemResult> = results.into_iter().map(|(_, r)| r).collect();
    let suppression = apply_suppressions(&files, &facts, &mut results);
    trace.mark("suppressions");
    drop(facts);
    // Freeing every syntax tree of a large repository takes a noticeable part of a scan; the
    // result does not need them, so they are freed off the caller's path.
    let modules = std::mem::take(&mut loaded.modules);
    // Dropping a tree recurses as deep as it nests: a thread with the scan's stack size.
    let dropper = std::thread::Builder::new().stack_size(STACK_BYTES);
    if let Err(e) = dropper.spawn(move || drop(modules)) {
        drop(e); // no thread: the modules were dropped with the closure, on this thread
    }
    diagnostics.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ScanResult {
        root: files.root.clone(),
        items: results,
        diagnostics,
        files_scanned: files.files.len(),
        suppression,
    })
}

/// The suppression post-pass, over the texts the scan already holds (dependency files, which
/// the scan does not keep, are read again).
fn apply_suppressions(
    files: &ProjectFiles,
    facts: &Facts,
    results: &mut [ItemResult],
) -> Option<ItemResult> {
    let dependency_texts: Vec<(String, String)> = files
        .of_kind(FileKind::Dependency)
        .filter_map(|f| Some((f.rel.clone(), files.read_text(f).ok()?)))
        .collect();
    // Only texts that name the tool can hold a suppression: the others are not collected
    // (on a tree of many files, building the map of all of them was most of this phase).
    let all = facts
        .modules
        .iter()
        .map(|m| (&m.path, m.source.text.as_str()))
        .chain(
            facts
                .templates
                .iter()
                .map(|t| (&t.path, t.source.text.as_str())),
        )
        .chain(
            facts
                .env_files
                .iter()
                .map(|e| (&e.path, e.source.text.as_str())),
        )
        .chain(dependency_texts.iter().map(|(p, t)| (p, t.as_str())));
    let texts: BTreeMap<String, &str> = all
        .filter(|(_, text)| crate::suppress::may_hold_suppression(text))
        .map(|(path, text)| (path.clone(), text))
        .collect();
    let ran: Vec<&'static str> = results
        .iter()
        .map(|r| -> &'static str { &r.item.id })
        .collect();
    let mut parts: Vec<(&mut CheckOutcome, &mut Vec<crate::suppress::Suppressed>)> = results
        .iter_mut()
        .map(|r| (&mut r.outcome, &mut r.suppressed))
        .collect();
    crate::suppress::apply(&mut parts, &texts, &ran).map(|(item, outcome)| ItemResult {
        item,
        outcome,
        suppressed: Vec::new(),
        baselined: Vec::new(),
    })
}

/// Templates the code renders by a name the walk did not recognise as a template.
fn load_referenced_templates(
    files: &ProjectFiles,
    facts: &Facts,
) -> Vec<Result<Template, Diagnostic>> {
    let mut out = Vec::new();
    let known: std::collections::HashSet<&str> =
        facts.templates.iter().map(|t| t.path.as_str()).collect();
    for rel in facts.referenced_template_paths() {
        if known.contains(rel.as_str()) {
            continue;
        }
        let abs = files.root.join(&rel);
        // Only a regular file inside the repository: no symlinks, nothing outside.
        if !files.has_file(&rel) {
            continue;
        }
        out.push(match files.read_rel(&rel, &abs) {
            Ok(text) => Ok(Template::new(&rel, text)),
            Err(e) => Err(Diagnostic {
                path: rel,
                message: e.to_string(),
            }),
        });
    }
    out
}

struct Loaded {
    modules: Vec<Arc<Module>>,
    templates: Vec<Template>,
    env_files: Vec<EnvFile>,
    diagnostics: Vec<Diagnostic>,
}

enum LoadedFile {
    Module(Arc<Module>),
    Template(Template),
    Env(EnvFile),
    Diagnostic(Diagnostic),
    Skip,
}

/// Read and parse every file in parallel; a file that cannot be used becomes a diagnostic.
fn load(files: &ProjectFiles, progress: &dyn Progress, cache: Option<&ParseCache>) -> Loaded {
    let results: Vec<LoadedFile> = files
        .files
        .par_iter()
        .map(|f| {
            let out = match f.kind {
                FileKind::Dependency | FileKind::Deployment => LoadedFile::Skip,
                kind => match text_of(files, f) {
                    Err(e) => LoadedFile::Diagnostic(Diagnostic {
                        path: f.rel.clone(),
                        message: e.to_string(),
                    }),
                    Ok(text) => match kind {
                        FileKind::Python => {
                            let parsed = match cache {
                                Some(cache) => {
                                    parse_cached(cache, &f.rel, &text, token(files, f).as_ref())
                                }
                                None => parse_python(&f.rel, text.into_owned(), 0),
                            };
                            match parsed {
                                Parsed::Module(m) => LoadedFile::Module(m),
                                Parsed::Failed { diagnostic, .. } => {
                                    LoadedFile::Diagnostic(diagnostic)
                                }
                            }
                        }
                        FileKind::Template => LoadedFile::Template(match cache {
                            Some(cache) => {
                                cache.template(&f.rel, &text, token(files, f).as_ref(), || {
                                    Template::new(&f.rel, text.clone().into_owned())
                                })
                            }
                            None => Template::new(&f.rel, text.into_owned()),
                        }),
                        FileKind::EnvFile => {
                            LoadedFile::Env(EnvFile::parse(&f.rel, text.into_owned()))
                        }
                        FileKind::Dependency | FileKind::Deployment => LoadedFile::Skip,
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

/// A file's text: borrowed from memory when the files are held there, read from disk
/// otherwise.
fn text_of<'f>(
    files: &'f ProjectFiles,
    f: &project::RepoFile,
) -> Result<std::borrow::Cow<'f, str>, project::ReadError> {
    match files.memory.as_ref().and_then(|m| m.0.text(&f.rel)) {
        Some(text) => Ok(std::borrow::Cow::Borrowed(text)),
        // From disk, or the error that says the file is not in memory.
        None => files.read_text(f).map(std::borrow::Cow::Owned),
    }
}

/// The Python file at `path` with this text, parsed as the scan parses it, unless `cache`
/// holds it.
pub fn parse_cached(
    cache: &ParseCache,
    path: &str,
    text: &str,
    token: Option<&cache::Token>,
) -> Parsed {
    cache.python(path, text, token, || {
        parse_python(path, text.to_string(), cache::text_hash(text))
    })
}

/// What holds the file's text when the files are in memory ([`project::Contents::token`]).
fn token(files: &ProjectFiles, f: &project::RepoFile) -> Option<cache::Token> {
    files.memory.as_ref()?.0.token(&f.rel)
}

/// Parse a Python file for the scan.
/// A failure keeps `text_hash` ([`cache::text_hash`] of the text, or 0 when no cache will
/// hold it).
fn parse_python(path: &str, text: String, text_hash: u64) -> Parsed {
    match python::parse(path, text) {
        Ok(mut m) => {
            // Freed here, in the task that parsed it, the tree's memory goes to the next file
            // this thread parses.
            crate::python::facts::release_if_cold(&mut m, crate::checks::CALLS_LOOKED_UP);
            Parsed::Module(Arc::new(m))
        }
        Err(diagnostic) => Parsed::Failed {
            text_hash,
            diagnostic,
        },
    }
}

/// Phase timings on standard error when `FLASK_HARDEN_TRACE` is set, for profiling.
pub(crate) struct Trace {
    last: Option<std::cell::Cell<std::time::Instant>>,
}

impl Trace {
    pub(crate) fn new() -> Self {
        Self {
            last: std::env::var_os("FLASK_HARDEN_TRACE")
                .map(|_| std::cell::Cell::new(std::time::Instant::now())),
        }
    }

    pub(crate) fn mark(&self, phase: &str) {
        if let Some(last) = &self.last {
            let now = std::time::Instant::now();
            eprintln!("  {phase}: {:?}", now - last.get());
            last.set(now);
        }
    }
}
