//! Scans and git work on background threads; results come back to the event loop as messages
//! over a channel, so the interface never waits on them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use super::excerpt::{Excerpt, excerpt, read_inside};
use super::fixes::{
    CommitOutcome, CommitRequest, Exception, FixSource, FixesView, GitState, ItemFixView,
    PlanEvent, VerifyReport,
};
use crate::scan::{Progress, ScanOptions, ScanResult, scan_with_progress};

/// Files parsed of the total, shared with the scanning thread.
#[derive(Debug, Default)]
pub struct ScanProgress {
    total: AtomicUsize,
    done: AtomicUsize,
    /// Set once the repository walk has counted the files.
    counted: AtomicUsize,
}

impl ScanProgress {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// `(done, total)`, or `None` while the files are still being found.
    pub fn get(&self) -> Option<(usize, usize)> {
        (self.counted.load(Ordering::Acquire) == 1).then(|| {
            (
                self.done.load(Ordering::Relaxed),
                self.total.load(Ordering::Relaxed),
            )
        })
    }

    pub fn set(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.counted.store(1, Ordering::Release);
    }
}

impl Progress for ScanProgress {
    fn files_found(&self, total: usize) {
        self.set(0, total);
    }

    fn file_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// A scan with the code excerpts of its findings.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub scan: ScanResult,
    /// By (path, line).
    pub excerpts: HashMap<(String, usize), Excerpt>,
}

impl ScanReport {
    /// Read the excerpt of every finding from the files under the scan's root.
    pub fn new(scan: ScanResult) -> Self {
        let mut texts: HashMap<String, Option<String>> = HashMap::new();
        let mut excerpts = HashMap::new();
        for item in &scan.items {
            for f in &item.outcome.findings {
                let text = texts
                    .entry(f.path.clone())
                    .or_insert_with(|| read_inside(&scan.root, &f.path));
                if let Some(e) = text.as_deref().and_then(|t| excerpt(t, f.line, f.end_line)) {
                    excerpts.insert((f.path.clone(), f.line), e);
                }
            }
        }
        Self { scan, excerpts }
    }
}

/// What the background work reports.
#[derive(Debug)]
pub enum WorkerMsg {
    Git(GitState),
    /// A scan of the repository finished; `generation` tells stale results apart.
    Scanned {
        generation: u64,
        result: Result<Box<ScanReport>, String>,
    },
    /// The fixes of `total` items are being prepared.
    FixesStarted {
        generation: u64,
        total: usize,
        default_branch: String,
    },
    /// One item's fix is ready (shown at once).
    FixReady {
        generation: u64,
        view: Box<ItemFixView>,
    },
    /// Every item's fix.
    Fixes {
        generation: u64,
        result: Result<FixesView, String>,
    },
    /// The diff of a suppression or exclusion.
    Previewed {
        exception: Exception,
        result: Result<String, String>,
    },
    Committed(Result<CommitOutcome, String>),
    /// The scan of the new branch's tree, after a commit.
    BranchScanned {
        branch: String,
        result: Result<Box<ScanResult>, String>,
    },
    /// `git switch` to the new branch: its name, or why not.
    Switched(Result<String, String>),
    /// A step, an output line or a finished run of the project's tests.
    VerifyEvent(crate::verify::Event),
    /// The tests ended (or could not run, or were stopped).
    Verified(Result<VerifyReport, String>),
}

/// What `update` asks the loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Scan the repository and prepare the fixes.
    Scan {
        generation: u64,
    },
    /// Scan the working files again (after an edit); the fixes, made from HEAD, stay.
    ScanFiles {
        generation: u64,
    },
    Commit {
        request: CommitRequest,
        branch: String,
    },
    Preview(Exception),
    /// Run the project's tests on HEAD and after each of the request's fixes.
    Verify {
        request: CommitRequest,
    },
    /// Stop the tests that are running.
    StopVerify,
    Switch {
        branch: String,
    },
    /// Suspend the interface and open the editor at `path` (relative to the root) and line.
    Edit {
        path: String,
        line: usize,
    },
    /// Put the text on the clipboard (OSC 52).
    Copy(String),
    /// Mouse capture on or off.
    Mouse(bool),
}

pub struct Worker {
    root: PathBuf,
    source: Arc<dyn FixSource>,
    tx: Sender<WorkerMsg>,
    /// The tests' thread and the flag that stops them, while they run.
    verifying: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

impl Worker {
    pub fn new(root: &Path, source: Arc<dyn FixSource>, tx: Sender<WorkerMsg>) -> Self {
        Self {
            root: root.to_path_buf(),
            source,
            tx,
            verifying: Mutex::new(None),
        }
    }

    /// Start the background work an effect asks for; effects on the terminal itself (edit,
    /// copy, mouse) belong to the event loop and are ignored here.
    pub fn run(&self, effect: Effect, progress: &Arc<ScanProgress>) {
        match effect {
            Effect::Scan { generation } => self.scan(generation, Arc::clone(progress), true),
            Effect::ScanFiles { generation } => self.scan(generation, Arc::clone(progress), false),
            Effect::Commit { request, branch } => self.commit(request, branch),
            Effect::Preview(exception) => {
                let source = Arc::clone(&self.source);
                let tx = self.tx.clone();
                thread::spawn(move || {
                    let result = source.preview(&exception);
                    let _ = tx.send(WorkerMsg::Previewed { exception, result });
                });
            }
            Effect::Switch { branch } => {
                let source = Arc::clone(&self.source);
                let tx = self.tx.clone();
                thread::spawn(move || {
                    let result = source.switch(&branch).map(|()| branch);
                    let _ = tx.send(WorkerMsg::Switched(result));
                });
            }
            Effect::Verify { request } => self.verify(request),
            Effect::StopVerify => {
                if let Some((stop, _)) = self
                    .verifying
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            Effect::Edit { .. } | Effect::Copy(_) | Effect::Mouse(_) => {}
        }
    }

    fn verify(&self, request: CommitRequest) {
        let mut slot = self.verifying.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(_, t)| !t.is_finished()) {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let source = Arc::clone(&self.source);
        let tx = self.tx.clone();
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let events = tx.clone();
            let result = source.verify(&request, flag, &mut |event| {
                let _ = events.send(WorkerMsg::VerifyEvent(event));
            });
            let _ = tx.send(WorkerMsg::Verified(result));
        });
        *slot = Some((stop, thread));
    }

    /// Stop the tests, if they run, and wait for their processes to be gone: the interface
    /// is closing.
    pub fn shutdown(&self) {
        let running = self
            .verifying
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((stop, thread)) = running {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
    }

    fn scan(&self, generation: u64, progress: Arc<ScanProgress>, with_fixes: bool) {
        let root = self.root.clone();
        let source = Arc::clone(&self.source);
        let tx = self.tx.clone();
        thread::spawn(move || {
            // Send errors only mean the interface is gone: nothing left to tell.
            let _ = tx.send(WorkerMsg::Git(source.git_state()));
            let result = scan_with_progress(&root, &ScanOptions::default(), progress.as_ref())
                .map(|s| Box::new(ScanReport::new(s)))
                .map_err(|e| e.to_string());
            let ok = result.is_ok();
            let _ = tx.send(WorkerMsg::Scanned { generation, result });
            if ok && with_fixes {
                let mut view = FixesView::default();
                let result = source.plans(&mut |event| match event {
                    PlanEvent::Started {
                        items,
                        default_branch,
                    } => {
                        view.default_branch = default_branch.clone();
                        let _ = tx.send(WorkerMsg::FixesStarted {
                            generation,
                            total: items.len(),
                            default_branch,
                        });
                    }
                    PlanEvent::Item(item) => {
                        view.items.push((*item).clone());
                        let _ = tx.send(WorkerMsg::FixReady {
                            generation,
                            view: item,
                        });
                    }
                });
                let result = result.map(|()| view);
                let _ = tx.send(WorkerMsg::Fixes { generation, result });
            }
        });
    }

    fn commit(&self, request: CommitRequest, branch: String) {
        let source = Arc::clone(&self.source);
        let tx = self.tx.clone();
        thread::spawn(move || {
            let result = source.commit(&request, &branch);
            let branch = match &result {
                Ok(done) => Some(done.branch.clone()),
                Err(_) => None,
            };
            let _ = tx.send(WorkerMsg::Committed(result));
            if let Some(branch) = branch {
                let result = scan_branch(source.as_ref(), &branch);
                let _ = tx.send(WorkerMsg::BranchScanned { branch, result });
            }
        });
    }
}

/// Export the branch's tree to a temporary folder and scan it.
fn scan_branch(source: &dyn FixSource, branch: &str) -> Result<Box<ScanResult>, String> {
    // Private: the branch's tree may hold committed secrets (`.env`).
    let dir = crate::fix::verify::private_tempdir().map_err(|e| e.to_string())?;
    source.export_branch(branch, dir.path())?;
    scan_with_progress(
        dir.path(),
        &ScanOptions::default(),
        &ScanProgress::default(),
    )
    .map(Box::new)
    .map_err(|e| e.to_string())
}
