//! `flask-harden fix`: build fixes from HEAD, print the diffs, and commit or apply them.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use flask_harden::fix::verify::PyCompiler;
use flask_harden::fix::{Applicability, FixOptions, FixRun, Snapshot, plan_fixes};
use flask_harden::git::{GitError, GitRepo, Stage};
use flask_harden::text::escape_text;
use flask_harden::verify::{self, Event, VerifyOptions};

pub enum Mode {
    Diff,
    /// Commit on a new branch (its name, or the default).
    Commit(Option<String>),
    Apply,
}

/// CPython for checking fixes: found on PATH outside the repository at `path` (never the
/// repository's own `python3`).
pub fn compiler_for(path: &Path) -> PyCompiler {
    PyCompiler::outside_repository(path)
}

/// `--verify` and its options.
pub struct Verify {
    pub keep_breaking: bool,
    pub timeout: Option<std::time::Duration>,
}

pub fn run(
    path: &Path,
    items: Vec<String>,
    include_unsafe: bool,
    mode: Mode,
    verify: Option<Verify>,
) -> ExitCode {
    let mut out = String::new();
    let result = run_inner(&mut out, path, items, include_unsafe, mode, verify);
    // The diffs are shown even when writing them was refused.
    let mut stdout = std::io::stdout().lock();
    // Paths, code and commit subjects come from the repository: no raw control characters.
    let printed = stdout
        .write_all(escape_text(&out).as_bytes())
        .and_then(|_| stdout.flush());
    match result {
        Ok(()) if printed.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(2),
        Err(message) => {
            eprintln!("flask-harden: {}", escape_text(&message));
            ExitCode::from(2)
        }
    }
}

fn run_inner(
    out: &mut String,
    path: &Path,
    items: Vec<String>,
    include_unsafe: bool,
    mode: Mode,
    verify: Option<Verify>,
) -> Result<(), String> {
    let repo = match GitRepo::open(path) {
        Ok(r) => Some(r),
        Err(GitError::NotARepository(p)) => {
            if verify.is_some() {
                return Err(format!(
                    "{}: not inside a git repository; --verify runs the tests on checkouts of \
                     HEAD and needs one",
                    p.display()
                ));
            }
            if !matches!(mode, Mode::Diff) {
                return Err(format!(
                    "{}: not inside a git repository; --commit and --apply need one \
                     (run without them to see the fixes as diffs)",
                    p.display()
                ));
            }
            out.push_str("note: not a git repository; fixes are built from the files on disk\n\n");
            None
        }
        Err(e) => return Err(e.to_string()),
    };
    // Where PATH lies in the repository: the fixes see only that folder, with paths relative
    // to it (as `check PATH` does); commits and writes put the prefix back.
    let mut prefix = String::new();
    let snapshot = match &repo {
        Some(repo) => {
            let head = repo.head().map_err(|e| e.to_string())?;
            if !matches!(mode, Mode::Diff) {
                repo.ensure_no_operation_in_progress()
                    .map_err(|e| e.to_string())?;
            }
            if head.branch.is_none() {
                out.push_str(&format!(
                    "note: HEAD is detached at {}; fixes are built from that commit{}\n\n",
                    head.short_id(),
                    if matches!(mode, Mode::Commit(_)) {
                        " and the new branch starts there"
                    } else {
                        ""
                    }
                ));
            }
            prefix = repo.prefix_of(path).map_err(|e| e.to_string())?;
            let (snapshot, skipped) = repo
                .head_snapshot_noting_skipped()
                .map_err(|e| e.to_string())?;
            for d in &skipped {
                out.push_str(&format!("note: {}: {}\n", d.path, d.message));
            }
            if !skipped.is_empty() {
                out.push('\n');
            }
            snapshot.under(&prefix)
        }
        None => Snapshot::from_dir(path).map_err(|e| e.to_string())?,
    };
    // Fields added to FixOptions later keep their defaults.
    #[allow(clippy::needless_update)]
    let options = FixOptions {
        items,
        include_unsafe,
        compiler: compiler_for(path).prewarm(),
        ..FixOptions::default()
    };
    let mut run = plan_fixes(snapshot, &options).map_err(|e| e.to_string())?;
    if !options.compiler.available() {
        out.push_str("note: python3 not found; patched files are checked with our parser only\n\n");
    }
    if let (Some(v), Some(repo)) = (verify, &repo) {
        if run.is_empty() {
            out.push_str("verify: no fix to verify; the tests were not run\n\n");
        } else {
            let verified = run_verify(repo, path, run.clone(), &options, v)?;
            out.push_str(&render_verified(&verified));
            // What `--apply` writes: HEAD's files with the kept fixes only.
            let mut result = run.base.clone();
            for item in &verified.kept {
                for c in &item.changes {
                    result.insert(c.path.clone(), c.after.clone());
                }
            }
            run.result = result;
            run.items = verified.kept;
        }
    }
    for item in &mut run.items {
        for change in &mut item.changes {
            change.path = format!("{prefix}{}", change.path);
        }
    }
    out.push_str(&render(&run, include_unsafe));

    match (mode, &repo) {
        (Mode::Diff, _) => {}
        (Mode::Commit(branch), Some(repo)) => {
            if run.is_empty() {
                out.push_str("Nothing to commit: no fix applies.\n");
            } else {
                let branch = match branch {
                    Some(b) => b,
                    None => repo.default_branch_name(),
                };
                let stages: Vec<Stage> = run
                    .items
                    .iter()
                    .map(|i| Stage {
                        message: i.commit_message(),
                        changes: i.changes.clone(),
                    })
                    .collect();
                let done = repo
                    .commit_stages(&branch, &stages)
                    .map_err(|e| e.to_string())?;
                out.push_str(&format!(
                    "Created branch {} from {} with {} commit{}:\n",
                    done.branch,
                    done.base.short_id(),
                    done.commits.len(),
                    if done.commits.len() == 1 { "" } else { "s" }
                ));
                for (id, subject) in &done.commits {
                    let short: String = id.to_string().chars().take(7).collect();
                    out.push_str(&format!("  {short} {subject}\n"));
                }
                out.push_str("Your working tree, index and current branch are unchanged.\n");
            }
        }
        (Mode::Apply, Some(repo)) => {
            // From HEAD to the end result, one change per file: the items' changes are each
            // relative to the previous item's result, so a file several items touch would be
            // written against a text the working tree no longer has.
            let changes: Vec<_> = run
                .changes()
                .into_iter()
                .map(|mut c| {
                    c.path = format!("{prefix}{}", c.path);
                    c
                })
                .collect();
            if changes.is_empty() {
                out.push_str("Nothing to apply: no fix applies.\n");
            } else {
                repo.apply_to_worktree(&changes)
                    .map_err(|e| e.to_string())?;
                out.push_str(&format!(
                    "Wrote {} file{} in the working tree (not staged).\n",
                    changes.len(),
                    if changes.len() == 1 { "" } else { "s" }
                ));
            }
        }
        (_, None) => {}
    }
    Ok(())
}

/// Run the project's tests on HEAD and after each fix, streaming their output to stderr.
fn run_verify(
    repo: &GitRepo,
    path: &Path,
    run: FixRun,
    fix_options: &FixOptions,
    v: Verify,
) -> Result<verify::Verified, String> {
    let config = flask_harden::config::Config::load(path).map_err(|e| e.to_string())?;
    let mut options = VerifyOptions {
        test_command: config.test_command.clone(),
        keep_breaking: v.keep_breaking,
        ..VerifyOptions::default()
    };
    if let Some(t) = v.timeout {
        options.timeout = t;
    }
    eprintln!(
        "flask-harden: --verify runs this project's own test suite, which executes its code \
         (and may install its dependencies in a temporary virtualenv). It runs in temporary \
         checkouts, not in your working tree; each run is stopped after {} s.",
        options.timeout.as_secs()
    );
    let mut on_event = |event: Event| match event {
        Event::Status(s) => eprintln!("verify: {}", escape_text(&s)),
        Event::Line { run, text, .. } => eprintln!("  [{run}] {}", escape_text(&text)),
        Event::Finished { run, result } => {
            eprintln!("verify: tests {run}: {}", escape_text(&result.summary()))
        }
    };
    verify::verify_fixes(repo, path, run, fix_options, &options, &mut on_event)
        .map_err(|e| e.to_string())
}

fn render_verified(v: &verify::Verified) -> String {
    let mut out = format!(
        "== verify: `{}` in {} ==\n  on HEAD: {}\n",
        v.command,
        v.environment,
        v.head.summary()
    );
    for verdict in &v.verdicts {
        if verdict.broken.is_empty() {
            out.push_str(&format!(
                "  {}: no test newly broken ({}); kept\n",
                verdict.item,
                verdict.result.summary()
            ));
            continue;
        }
        let n = verdict.broken.len();
        let what = if !verdict.result.ran() {
            "the suite cannot run".to_string()
        } else {
            format!(
                "newly breaks {n} test{} ({})",
                if n == 1 { "" } else { "s" },
                verdict.result.summary()
            )
        };
        out.push_str(&format!(
            "  {}: {what}; {}\n",
            verdict.item,
            if verdict.kept {
                "kept (--keep-breaking)"
            } else {
                "left out (rerun with --keep-breaking to keep it)"
            }
        ));
        for b in &verdict.broken {
            out.push_str(&format!("      {}: {}\n", b.id, b.now));
        }
    }
    if !v.replanned.is_empty() {
        out.push_str(&format!(
            "  planned again without the fixes left out: {}\n",
            v.replanned.join(", ")
        ));
    }
    out.push('\n');
    out
}

fn render(run: &FixRun, include_unsafe: bool) -> String {
    let mut out = String::new();
    for item in &run.items {
        let worth = !item.changes.is_empty()
            || !item.rejected.is_empty()
            || !item.needs_unsafe.is_empty()
            || !item.without_fix.is_empty();
        if !worth {
            continue;
        }
        out.push_str(&format!(
            "== {}: {} fix{} ==\n",
            item.item,
            item.applied.len(),
            if item.applied.len() == 1 { "" } else { "es" }
        ));
        for plan in &item.applied {
            let tag = match plan.applicability {
                Applicability::Safe => "",
                Applicability::Unsafe => " [unsafe: review]",
            };
            out.push_str(&format!("  fix: {}{tag}\n", plan.title));
        }
        for change in &item.changes {
            out.push_str(&change.unified_diff());
        }
        for plan in &item.needs_unsafe {
            if !include_unsafe {
                out.push_str(&format!(
                    "  held back (changes behaviour; rerun with --unsafe): {}\n",
                    plan.title
                ));
            }
        }
        for r in &item.rejected {
            for f in &r.findings {
                out.push_str(&format!(
                    "  not offered for {} at {}:{}: {}\n",
                    f.rule, f.path, f.line, r.reason
                ));
            }
        }
        for f in &item.without_fix {
            out.push_str(&format!(
                "  no automatic fix yet for {} at {}:{}\n",
                f.rule, f.path, f.line
            ));
        }
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("No fixes to offer.\n");
    }
    out
}
