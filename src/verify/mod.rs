//! `fix --verify`: run the project's own test suite on HEAD and after each fix, and keep the
//! fixes that newly break a test off the branch.
//!
//! This runs the user's code, so it happens only when asked for. Every run is in a private
//! checkout in a temporary folder (HEAD's tree from the object database, plus the fixes kept so
//! far and the one being tried), never in the user's working tree, index or branch. The tests
//! run in the project's environment ([`env`]) with its test command ([`command`]); each test's
//! outcome is read from the runner's output ([`outcome`]), so "newly broken" means: passed on
//! HEAD, fails (or no longer runs) with the fix.
//!
//! The work blocks; progress and every output line go to a callback (`on_event`) as they
//! come, so a UI can run [`verify_fixes`] on a worker thread (opening the [`GitRepo`] there)
//! and forward the events over a channel:
//!
//! ```ignore
//! let (tx, rx) = std::sync::mpsc::channel::<Event>();
//! std::thread::spawn(move || {
//!     let repo = GitRepo::open(&path)?;
//!     verify_fixes(&repo, &path, run, &fix_options, &options, &mut |e| {
//!         let _ = tx.send(e);
//!     })
//! });
//! // The UI loop: `rx.try_recv()` for live lines, statuses and each run's result.
//! ```

pub mod checkout;
pub mod command;
pub mod env;
pub mod outcome;
pub mod runner;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use git2::Oid;

use crate::fix::{FileChange, FixOptions, FixRun, ItemFix, SnapFile, Snapshot, plan_fixes};
use crate::git::GitRepo;

pub use command::TestCommand;
pub use env::Environment;
pub use outcome::{Broken, Outcome, Runner, SuiteResult};
pub use runner::Stream;

/// The default time limit of one test run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot set up the tests' environment: {0}")]
    Environment(String),
    #[error("test-command {0}")]
    Command(String),
    #[error("cannot run the tests: {0}")]
    Spawn(String),
    #[error("the tests cannot be verified on HEAD: {0}")]
    Baseline(String),
    #[error("{0}")]
    Io(String),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}")]
    Fix(String),
    #[error("the tests were stopped")]
    Stopped,
}

/// What happens, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A step: "running the tests on HEAD", "building a temporary virtualenv…".
    Status(String),
    /// One line of output of a run (`run` is "HEAD", an item id, or "environment").
    Line {
        run: String,
        stream: Stream,
        text: String,
    },
    /// A run ended.
    Finished { run: String, result: SuiteResult },
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The time limit of each test run (and of each environment install step).
    pub timeout: Duration,
    /// `test-command` from the configuration.
    pub test_command: Option<String>,
    /// `$VIRTUAL_ENV`, the active virtualenv.
    pub virtual_env: Option<PathBuf>,
    /// Keep the fixes that break tests instead of leaving them out.
    pub keep_breaking: bool,
    /// Set from another thread to stop the run in progress (its processes are killed) and
    /// end the verification with [`VerifyError::Stopped`].
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            test_command: None,
            virtual_env: std::env::var_os("VIRTUAL_ENV").map(PathBuf::from),
            keep_breaking: false,
            stop: None,
        }
    }
}

/// Runs the suite on private checkouts of one commit plus changes.
pub struct Verifier {
    base: Oid,
    /// Where the app lives inside the repository (`sub/` or empty): the tests run there.
    prefix: String,
    scratch: crate::fix::verify::PrivateTempDir,
    pub environment: Environment,
    pub command: TestCommand,
    timeout: Duration,
    stop: Option<Arc<AtomicBool>>,
    runs: usize,
}

impl Verifier {
    /// Choose the environment and the test command for the repository's folder `path`, whose
    /// tests run on checkouts of `base`.
    pub fn new(
        repo: &GitRepo,
        path: &Path,
        base: Oid,
        options: &VerifyOptions,
    ) -> Result<Self, VerifyError> {
        let prefix = repo
            .prefix_of(path)
            .map_err(|e| VerifyError::Io(e.to_string()))?;
        // Private, and removed when a signal stops the run (or by a later run after kill -9).
        let scratch = crate::fix::verify::private_tempdir()
            .map_err(|e| VerifyError::Io(format!("temporary folder: {e}")))?;
        let mut environment = Environment::detect(
            path,
            repo.workdir().ok(),
            options.virtual_env.as_deref(),
            scratch.path(),
            options.timeout,
        )?;
        environment.stop = options.stop.clone();
        // The default command depends on HEAD's layout: look at a checkout of it.
        let probe = scratch.path().join("layout");
        checkout::write_tree(repo.repository(), base, &probe)?;
        let command = TestCommand::choose(options.test_command.as_deref(), &probe.join(&prefix))
            .map_err(VerifyError::Command)?;
        let _ = std::fs::remove_dir_all(&probe);
        Ok(Self {
            base,
            prefix,
            scratch,
            environment,
            command,
            timeout: options.timeout,
            stop: options.stop.clone(),
            runs: 0,
        })
    }

    /// Run the suite on `base` with `files` (paths relative to the repository root) written
    /// over it. `label` names the run in the events.
    pub fn run(
        &mut self,
        repo: &GitRepo,
        label: &str,
        files: &BTreeMap<String, SnapFile>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<SuiteResult, VerifyError> {
        self.runs += 1;
        let tree = self.scratch.path().join(format!("run-{}", self.runs));
        checkout::write_tree(repo.repository(), self.base, &tree)?;
        for (rel, file) in files {
            crate::fix::snapshot::write_file(&tree, rel, file)
                .map_err(|e| VerifyError::Io(format!("{rel}: {e}")))?;
        }
        let cwd = tree.join(&self.prefix);
        let prepared =
            self.environment
                .prepare(&cwd, self.command.runner == Runner::Pytest, on_event)?;
        let mut argv = prepared.prefix.clone();
        argv.extend(self.command.argv(&prepared.python));
        on_event(Event::Status(format!(
            "running the tests {label}: {}",
            argv.join(" ")
        )));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&cwd)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME");
        for (k, v) in &prepared.env {
            cmd.env(k, v);
        }
        let run_name = label.to_string();
        let finished = runner::run(
            cmd,
            self.timeout,
            self.stop.as_deref(),
            &mut |stream, text| {
                on_event(Event::Line {
                    run: run_name.clone(),
                    stream,
                    text: text.to_string(),
                })
            },
        )
        .map_err(|e| VerifyError::Spawn(format!("{}: {e}", argv[0])))?;
        let _ = std::fs::remove_dir_all(&tree);
        if finished.stopped {
            return Err(VerifyError::Stopped);
        }
        let result = SuiteResult {
            tests: outcome::parse(self.command.runner, &finished.lines),
            exit_code: finished.exit_code,
            timed_out: finished.timed_out,
        };
        on_event(Event::Finished {
            run: label.to_string(),
            result: result.clone(),
        });
        Ok(result)
    }
}

/// The verdict on one item's fix.
#[derive(Debug, Clone)]
pub struct ItemVerdict {
    pub item: String,
    /// The commit subject of the fix.
    pub subject: String,
    pub result: SuiteResult,
    pub broken: Vec<Broken>,
    /// On the branch: it breaks nothing, or the user asked to keep breaking fixes.
    pub kept: bool,
}

/// The outcome of a verification.
#[derive(Debug)]
pub struct Verified {
    pub environment: String,
    pub command: String,
    pub head: SuiteResult,
    pub verdicts: Vec<ItemVerdict>,
    /// The fixes to commit, in order, each relative to the previous kept one (paths relative
    /// to the folder the fixes were planned for).
    pub kept: Vec<ItemFix>,
    /// Items planned again because a fix before them was left out.
    pub replanned: Vec<String>,
}

/// Verify each item of `run` (planned from the snapshot of `path`'s folder at HEAD):
/// run the suite on HEAD, then with the fixes kept so far plus the item's. A fix that newly
/// breaks a test is left out (unless `keep_breaking`), and the items after it are planned
/// again without it, since their changes were built on its result.
pub fn verify_fixes(
    repo: &GitRepo,
    path: &Path,
    run: FixRun,
    fix_options: &FixOptions,
    options: &VerifyOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Verified, VerifyError> {
    let head = repo.head().map_err(|e| VerifyError::Io(e.to_string()))?;
    let mut verifier = Verifier::new(repo, path, head.commit, options)?;
    on_event(Event::Status(format!(
        "environment: {}; test command: {} ({})",
        verifier.environment.description,
        verifier.command.words.join(" "),
        verifier.command.origin
    )));
    let prefix = verifier.prefix.clone();
    let at_root = |files: &BTreeMap<String, SnapFile>| -> BTreeMap<String, SnapFile> {
        files
            .iter()
            .map(|(p, f)| (format!("{prefix}{p}"), f.clone()))
            .collect()
    };
    let head_result = verifier.run(repo, "on HEAD", &BTreeMap::new(), on_event)?;
    let runner = verifier.command.runner;
    if head_result.timed_out {
        return Err(VerifyError::Baseline(format!(
            "the suite did not finish within {} s on HEAD (raise --verify-timeout)",
            options.timeout.as_secs()
        )));
    }
    if runner != Runner::Other && head_result.tests.is_empty() {
        return Err(VerifyError::Baseline(format!(
            "no test outcome could be read from `{}` on HEAD (exit {}); see its output above",
            verifier.command.words.join(" "),
            head_result
                .exit_code
                .map_or("killed".to_string(), |c| c.to_string())
        )));
    }

    let mut verdicts = Vec::new();
    let mut kept: Vec<ItemFix> = Vec::new();
    let mut replanned = Vec::new();
    // The files as the kept fixes left them (relative to the planned folder).
    let mut current: Snapshot = run.base.clone();
    let mut changed: BTreeMap<String, SnapFile> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<ItemFix> = run.items.into();
    while let Some(item) = queue.pop_front() {
        if item.changes.is_empty() {
            kept.push(item);
            continue;
        }
        let mut trial = changed.clone();
        for c in &item.changes {
            trial.insert(c.path.clone(), c.after.clone());
        }
        let subject = item
            .commit_message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let (result, broken) = match verifier.run(
            repo,
            &format!("with the {} fix", item.item),
            &at_root(&trial),
            on_event,
        ) {
            Ok(result) => {
                let broken = outcome::newly_broken(&head_result, &result, runner);
                (result, broken)
            }
            // A fix that changes the dependency files so that they no longer install breaks
            // every test; that is a verdict on the fix, not a failure of the verification.
            Err(VerifyError::Environment(why))
                if verifier.environment.kind == env::Kind::Temporary =>
            {
                on_event(Event::Status(format!(
                    "the {} fix: the environment cannot be built: {why}",
                    item.item
                )));
                let broken = vec![Broken {
                    id: "(the environment)".to_string(),
                    now: format!(
                        "its dependency files no longer install: {}",
                        why.lines()
                            .find(|l| l.contains("cause:"))
                            .or_else(|| why.lines().find(|l| l.contains("error")))
                            .unwrap_or_default()
                            .trim()
                    ),
                }];
                (SuiteResult::default(), broken)
            }
            Err(e) => return Err(e),
        };
        let keep = broken.is_empty() || options.keep_breaking;
        verdicts.push(ItemVerdict {
            item: item.item.clone(),
            subject,
            result,
            broken,
            kept: keep,
        });
        if keep {
            for c in &item.changes {
                current.insert(c.path.clone(), c.after.clone());
            }
            changed = trial;
            kept.push(item);
            continue;
        }
        // The items after this one were built on its changes: plan them again without it.
        let rest: Vec<String> = queue
            .iter()
            .filter(|i| !i.changes.is_empty())
            .map(|i| i.item.clone())
            .collect();
        if rest.is_empty() {
            continue;
        }
        let touched: Vec<&str> = item.changes.iter().map(|c| c.path.as_str()).collect();
        let overlaps = queue.iter().any(|i| {
            i.changes
                .iter()
                .any(|c: &FileChange| touched.contains(&c.path.as_str()))
        });
        if !overlaps {
            continue;
        }
        on_event(Event::Status(format!(
            "planning {} again without the {} fix",
            rest.join(", "),
            item.item
        )));
        let again = plan_fixes(
            current.clone(),
            &FixOptions {
                items: rest.clone(),
                ..fix_options.clone()
            },
        )
        .map_err(|e| VerifyError::Fix(e.to_string()))?;
        for r in rest {
            if !replanned.contains(&r) {
                replanned.push(r);
            }
        }
        queue = again.items.into();
    }
    Ok(Verified {
        environment: verifier.environment.description.clone(),
        command: verifier.command.words.join(" "),
        head: head_result,
        verdicts,
        kept,
        replanned,
    })
}
