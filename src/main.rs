use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: a scan allocates many small syntax-tree nodes and strings on every thread; with
/// it the benchmark corpus scans about 15% faster than with the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};

use flask_harden::deps::{advisories, update};

mod fix_cmd;

use flask_harden::baseline::Baseline;
use flask_harden::config::Config;
use flask_harden::fix::{FixOptions, Snapshot, plan_fixes};
use flask_harden::report::{github, human, json, review, sarif};
use flask_harden::scan::{ScanOptions, ScanResult, scan};
use flask_harden::text::{escape_line, escape_text};

#[derive(Parser)]
#[command(
    name = "flask-harden",
    version,
    about = "Audit a Flask application's repository against a hardening checklist",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command: the repository to open in the interactive checklist.
    #[arg(default_value = ".")]
    path: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a repository and report each checklist item as pass or fail (for CI).
    ///
    /// Exit codes: 0 every item passes, 1 an item fails, 2 the scan could not run.
    Check {
        /// The repository to scan.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[arg(long = "item", value_name = "ID", help = item_help())]
        items: Vec<String>,
        /// When to colour the human output (never with NO_COLOR set).
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        /// Check dependencies against the advisory snapshot built into flask-harden, not the
        /// data `advisories update` downloaded.
        #[arg(long)]
        offline: bool,
        /// Also list the findings suppression comments hid, with their reasons (human, json).
        #[arg(long)]
        show_suppressed: bool,
        /// Report only findings the baseline FILE does not record.
        #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
        baseline: Option<PathBuf>,
        /// Record today's findings in FILE as a baseline, and exit 0.
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
        /// Exit 0 even when an item fails (2 still means the scan could not run).
        #[arg(long)]
        exit_zero: bool,
        /// Skip working out which findings have a fix (json: `fix.available` is false; sarif:
        /// no `fixes`). That work re-reads the repository; on a tree of thousands of files
        /// it costs more than the scan itself.
        #[arg(long)]
        no_fixes: bool,
    },
    /// Generate verified fixes from HEAD's content and print them as unified diffs.
    ///
    /// With --commit they are committed on a new branch (one commit per item) without touching
    /// the working tree, the index or HEAD; with --apply they are written to the working tree.
    /// Exit codes: 0 done, 2 the fixes could not be made or written.
    Fix {
        /// The repository.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long = "item", value_name = "ID", help = item_help())]
        items: Vec<String>,
        /// Also apply fixes that change behaviour a user must review.
        #[arg(long = "unsafe")]
        include_unsafe: bool,
        /// Commit the fixes on a new branch created from HEAD.
        #[arg(long, conflicts_with = "apply")]
        commit: bool,
        /// The branch for --commit (default: flask-harden/YYYY-MM-DD, made unique).
        #[arg(long, value_name = "NAME", requires = "commit", value_parser = branch_name)]
        branch: Option<String>,
        /// Write the fixes to the working tree (refuses files with uncommitted changes).
        #[arg(long)]
        apply: bool,
        /// Run the project's own test suite on HEAD and after each fix, in a temporary
        /// checkout, and leave out the fixes that newly break a test. This runs the
        /// project's code.
        #[arg(long)]
        verify: bool,
        /// With --verify: keep the fixes that break tests too (they are still reported).
        #[arg(long, requires = "verify")]
        keep_breaking: bool,
        /// With --verify: the time limit of each test run, in seconds.
        #[arg(long, value_name = "SECS", requires = "verify")]
        verify_timeout: Option<u64>,
    },
    /// Write a self-contained review report: each item's status, its findings linked to
    /// file:line, and the fixes available with their diffs.
    Report {
        /// The repository.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the effective configuration (flask-harden.toml or [tool.flask-harden] in
    /// pyproject.toml) and where each value comes from.
    Config {
        /// The repository.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Manage the advisory data the dependencies check uses.
    #[command(subcommand)]
    Advisories(AdvisoriesCommand),
}

#[derive(Subcommand)]
enum AdvisoriesCommand {
    /// Download current advisories from OSV for the packages of a repository into the user's
    /// cache folder, where later checks find them (FLASK_HARDEN_OSV_URL overrides the API URL).
    Update {
        /// The repository whose dependency files name the packages to look up.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Show which advisory data checks use.
    Info,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Markdown,
    Html,
}

/// `check`'s options.
struct CheckArgs {
    path: PathBuf,
    format: Format,
    items: Vec<String>,
    color: ColorChoice,
    offline: bool,
    show_suppressed: bool,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
    exit_zero: bool,
    no_fixes: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--item`'s help, listing the checklist's items from the checks themselves.
fn item_help() -> String {
    let ids: Vec<&str> = flask_harden::checks::CHECKS
        .iter()
        .map(|(id, _)| *id)
        .collect();
    format!("Only this checklist item (repeatable): {}", ids.join(", "))
}

/// `--branch`: a name git accepts for a new branch (`git check-ref-format --branch`).
fn branch_name(name: &str) -> Result<String, String> {
    flask_harden::git::validate_branch_name(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

/// `check`, `fix` and `report` work in private temporary folders; on SIGINT, SIGTERM or SIGHUP
/// they are removed before the process exits (with 2: the run did not finish). The
/// interactive checklist handles its keys itself and is left out.
fn remove_temporary_files_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            flask_harden::fix::verify::remove_temporary_dirs();
            eprintln!("flask-harden: interrupted; temporary files removed");
            std::process::exit(2);
        }
    });
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // What a process stopped by kill -9 left in the temporary folder (most runs make none of
    // their own any more: fixes are verified in memory).
    flask_harden::fix::verify::remove_stale_temporary_dirs();
    let Some(command) = cli.command else {
        return run_tui(&cli.path);
    };
    remove_temporary_files_on_signals();
    match command {
        Command::Check {
            path,
            format,
            items,
            color,
            offline,
            show_suppressed,
            baseline,
            write_baseline,
            exit_zero,
            no_fixes,
        } => run_check(CheckArgs {
            path,
            format,
            items,
            color,
            offline,
            show_suppressed,
            baseline,
            write_baseline,
            exit_zero,
            no_fixes,
        }),
        Command::Report {
            path,
            format,
            output,
        } => run_report(&path, format, output.as_deref()),
        Command::Config { path } => match Config::load(&path) {
            Ok(c) => {
                print!("{}", escape_text(&c.describe()));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("flask-harden: {}", escape_text(&e.to_string()));
                ExitCode::from(2)
            }
        },
        Command::Advisories(AdvisoriesCommand::Update { path }) => run_update(path),
        Command::Advisories(AdvisoriesCommand::Info) => run_info(),
        Command::Fix {
            path,
            items,
            include_unsafe,
            commit,
            branch,
            apply,
            verify,
            keep_breaking,
            verify_timeout,
        } => {
            let mode = if commit {
                fix_cmd::Mode::Commit(branch)
            } else if apply {
                fix_cmd::Mode::Apply
            } else {
                fix_cmd::Mode::Diff
            };
            let verify = verify.then(|| fix_cmd::Verify {
                keep_breaking,
                timeout: verify_timeout.map(std::time::Duration::from_secs),
            });
            fix_cmd::run(&path, items, include_unsafe, mode, verify)
        }
    }
}

fn run_update(path: PathBuf) -> ExitCode {
    let Some(cache) = advisories::cache_file() else {
        eprintln!("flask-harden: no cache folder (set FLASK_HARDEN_CACHE_DIR or XDG_CACHE_HOME)");
        return ExitCode::from(2);
    };
    let packages = match flask_harden::project::discover(&path) {
        Ok(files) => flask_harden::deps::audit::packages_in(&files),
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    match update::update(&update::base_url(), &packages, &cache) {
        Ok(report) => {
            println!(
                "{} advisories for {} packages saved to {} (data of {})",
                report.advisories,
                report.packages,
                report.path.display(),
                report.date
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "flask-harden: advisory update failed, previous data kept: {}",
                escape_text(&e.to_string())
            );
            ExitCode::from(2)
        }
    }
}

fn run_tui(path: &std::path::Path) -> ExitCode {
    if !path.is_dir() {
        eprintln!(
            "flask-harden: {}: no such directory",
            escape_line(&path.display().to_string())
        );
        return ExitCode::from(2);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "flask-harden: the interactive checklist needs a terminal; \
             use `flask-harden check` in scripts and CI"
        );
        return ExitCode::from(2);
    }
    match flask_harden::tui::run(path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn run_info() -> ExitCode {
    let embedded = advisories::embedded();
    println!(
        "embedded: {} of {} ({} advisories)",
        embedded.source,
        embedded.date,
        embedded.advisories.len()
    );
    match advisories::cache_file() {
        Some(path) => match advisories::read_cache(&path) {
            Some(Ok(db)) => println!(
                "cache: {} ({} of {}, {} advisories for {} packages)",
                path.display(),
                db.source,
                db.date,
                db.advisories.len(),
                db.packages.map(|p| p.len()).unwrap_or(0)
            ),
            Some(Err(e)) => println!("cache: unreadable, ignored: {e}"),
            None => println!("cache: none at {}", path.display()),
        },
        None => println!("cache: no cache folder on this system"),
    }
    ExitCode::SUCCESS
}

fn run_check(args: CheckArgs) -> ExitCode {
    if args.offline {
        flask_harden::deps::index::force_offline();
    }
    let baseline = match &args.baseline {
        Some(file) => match Baseline::read(file) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("flask-harden: {}", escape_text(&e.to_string()));
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let config = match Config::load(&args.path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // Fix offers reuse what the scan parsed.
    let parsed = flask_harden::scan::ParseCache::new();
    let offers_fixes = !args.no_fixes && matches!(args.format, Format::Json | Format::Sarif);
    // Started while the scan runs.
    let compiler = offers_fixes.then(|| fix_cmd::compiler_for(&args.path).prewarm());
    let options = ScanOptions {
        items: args.items.clone(),
        offline: args.offline,
        config,
        cache: offers_fixes.then(|| parsed.clone()),
    };
    let mut result = match scan(&args.path, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    if let Some(file) = &args.write_baseline {
        let written = Baseline::of(&result);
        if let Err(e) = written.write(file) {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
        let total: usize = written.findings.iter().map(|e| e.count).sum();
        println!(
            "baseline written to {}: {total} findings ({} fingerprints)",
            file.display(),
            written.findings.len()
        );
        return ExitCode::SUCCESS;
    }
    if let Some(b) = &baseline {
        b.apply(&mut result);
    }
    let use_color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal(),
        };
    let text = match args.format {
        Format::Human => human::render(
            &result,
            human::Style::new(use_color).with_suppressed(args.show_suppressed),
        ),
        Format::Json => {
            let fixes = if args.no_fixes {
                Default::default()
            } else {
                fix_offers(&result, &parsed, compiler.clone())
                    .map(|run| run.availability())
                    .unwrap_or_default()
            };
            json::render_with(&result, &fixes, args.show_suppressed)
        }
        Format::Sarif if args.no_fixes => sarif::render_with_fixes(&result, &Default::default()),
        Format::Sarif => {
            let compiler = compiler.unwrap_or_else(|| fix_cmd::compiler_for(&result.root));
            let run = fix_offers(&result, &parsed, Some(compiler.clone()));
            let fixes = sarif_fixes(run.as_ref(), &parsed, &compiler);
            sarif::render_with_fixes(&result, &fixes)
        }
        Format::Github => escape_text(&github::render(&result)).into_owned(),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    if result.failed() && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The verified fixes of the items with findings, planned once for every consumer (the JSON
/// report's `fix.available`, the SARIF log's fixes), reusing what the scan parsed.
fn fix_offers(
    result: &ScanResult,
    parsed: &flask_harden::scan::ParseCache,
    compiler: Option<flask_harden::fix::verify::PyCompiler>,
) -> Option<flask_harden::fix::FixRun> {
    let options = FixOptions {
        compiler: compiler.unwrap_or_else(|| fix_cmd::compiler_for(&result.root)),
        parsed: parsed.clone(),
        ..FixOptions::default()
    };
    let findings: Vec<_> = result
        .items
        .iter()
        .flat_map(|i| &i.outcome.findings)
        .collect();
    flask_harden::fix::verified_run(&result.root, &findings, options)
}

/// The SARIF log's fixes: each one a set of regions of the analysed files. They come from the
/// one planning run; the few items whose plans were made on files an earlier item had
/// already changed are planned again on their own, from the analysed files.
fn sarif_fixes(
    run: Option<&flask_harden::fix::FixRun>,
    parsed: &flask_harden::scan::ParseCache,
    compiler: &flask_harden::fix::verify::PyCompiler,
) -> sarif::SarifFixes {
    let mut out = sarif::SarifFixes::new();
    let Some(run) = run else {
        return out;
    };
    for (fingerprint, fixes) in sarif::fixes_of(run) {
        out.entry(fingerprint).or_default().extend(fixes);
    }
    let again = sarif::items_on_changed_files(run);
    if again.is_empty() {
        return out;
    }
    for item in again {
        let options = FixOptions {
            items: vec![item],
            include_unsafe: true,
            compiler: compiler.clone(),
            parsed: parsed.clone(),
        };
        if let Ok(alone) = plan_fixes(run.base.clone(), &options) {
            for (fingerprint, fixes) in sarif::fixes_of(&alone) {
                out.entry(fingerprint).or_insert(fixes);
            }
        }
    }
    out
}

fn run_report(
    path: &std::path::Path,
    format: ReportFormat,
    output: Option<&std::path::Path>,
) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // The fixes reuse what the scan parsed; python3 starts while it runs.
    let parsed = flask_harden::scan::ParseCache::new();
    let compiler = fix_cmd::compiler_for(path).prewarm();
    let options = ScanOptions {
        config,
        cache: Some(parsed.clone()),
        ..ScanOptions::default()
    };
    let result = match scan(path, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flask-harden: {}", escape_text(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // Fixes are built from the files on disk, in memory; unsafe ones are shown too, marked for
    // review.
    let fixes = Snapshot::from_dir(&result.root).ok().and_then(|snapshot| {
        let options = FixOptions {
            include_unsafe: true,
            compiler,
            parsed,
            ..FixOptions::default()
        };
        plan_fixes(snapshot, &options).ok()
    });
    let text = match format {
        ReportFormat::Markdown => review::markdown(&result, fixes.as_ref()),
        ReportFormat::Html => review::html(&result, fixes.as_ref()),
    };
    // Read in a terminal or an editor as often as in a browser: no raw control characters.
    let text = escape_text(&text).into_owned();
    let written = match output {
        Some(file) => std::fs::write(file, text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "flask-harden: cannot write the report: {}",
                escape_text(&e.to_string())
            );
            ExitCode::from(2)
        }
    }
}
