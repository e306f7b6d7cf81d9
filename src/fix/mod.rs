//! Fixes: generated as data, applied in memory, verified, then shown as diffs, committed on a
//! new branch or written to the working tree.
//!
//! The flow, one checklist item at a time (each item builds on the previous item's result):
//!
//! 1. [`Snapshot`]: the repository's files in memory, read from HEAD's tree
//!    ([`crate::git::GitRepo::head_snapshot`]) so uncommitted work never leaks into a fix.
//! 2. Generators ([`GENERATORS`], one per rule, in `items/<item>.rs`) turn findings into
//!    [`FixPlan`]s: edits with the original text they replace ([`PatchBuilder`]), new files, an
//!    [`Applicability`] and a title. Helpers keep the file's style: [`style`] (line endings,
//!    indentation, quotes), [`imports::ensure_import`], [`templates::render`].
//! 3. [`apply::Overlay`]: a round's plans are applied in turn on one overlay; a plan that
//!    touches what an earlier one changed is regenerated against the new text in another
//!    round (an edit identical to one already made, such as a shared import, is made once).
//! 4. [`verify`]: every patched Python file must parse (our parser) and compile (CPython, one
//!    process per run, when installed), and one rescan of the round's result (in memory,
//!    [`verify::Rescanner`], parsing only changed files) must no longer report the plans'
//!    findings; a plan whose findings stay is tried alone. A plan that fails is not offered;
//!    the reason is kept ([`Rejected`]).
//! 5. [`pipeline::plan_fixes`] returns a [`FixRun`]: per item the applied plans, the file
//!    changes (with unified diffs), the commit message, what was rejected and why, and which
//!    findings have a verified fix ([`FixRun::availability`], for reports).
//!
//! Adding a fix for another rule: write `fn plans(ctx: &FixContext, findings: &[&Finding]) ->
//! Vec<Generated>` in `items/<item>.rs` and list it in [`GENERATORS`] under the rule id.

pub mod apply;
pub mod imports;
pub mod items;
pub mod pipeline;
pub mod plan;
pub mod shim;
pub mod snapshot;
pub mod style;
pub mod subset;
pub mod templates;
pub mod verify;

use ruff_text_size::{TextRange, TextSize};

use crate::finding::Finding;
use crate::project::{FileKind, classify};
use crate::python::Module;
use crate::python::facts::{EnvFile, Facts};
use crate::python::templates::Template;

pub use apply::{ApplyStatus, Overlay};
pub use pipeline::{
    FileChange, FixAvailability, FixError, FixOffers, FixOptions, FixRun, ItemFix, Rejected,
    offer_key, offered_fixes, plan_fixes, verified_run,
};
pub use plan::{Applicability, Edit, FilePatch, FixPlan, PatchBuilder, PatchKind};
pub use snapshot::{SnapFile, Snapshot};

/// What a generator says about one finding: a plan, or why it cannot fix it.
pub type Generated = Result<FixPlan, Unfixable>;

/// A finding a generator recognised but cannot fix, and why (shown to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfixable {
    pub finding: Box<Finding>,
    pub reason: String,
}

impl Unfixable {
    pub fn new(finding: &Finding, reason: impl Into<String>) -> Self {
        Self {
            finding: Box::new(finding.clone()),
            reason: reason.into(),
        }
    }
}

/// A fix generator: the findings of one rule (in one snapshot) → plans.
pub type GenerateFn = for<'a, 'm> fn(&FixContext<'a, 'm>, &[&Finding]) -> Vec<Generated>;

/// The generators, by rule id (`item/rule`).
pub const GENERATORS: &[(&str, GenerateFn)] = &[
    ("debug/app-run", items::debug::app_run),
    ("debug/config", items::debug::config),
    ("debug/env-file", items::debug::env_file),
    ("secret-key/hardcoded", items::secret_key::value),
    ("secret-key/placeholder", items::secret_key::value),
    ("secret-key/weak", items::secret_key::value),
    ("secret-key/env-fallback", items::secret_key::value),
    (
        "secret-key/settings-default",
        items::secret_key::settings_default,
    ),
    ("secret-key/missing", items::secret_key::missing),
    ("secret-key/committed-env", items::secret_key::committed_env),
    ("xss/safe-filter", items::xss::safe_filter),
    ("xss/autoescape-off", items::xss::autoescape),
    ("xss/markup", items::xss::markup),
    ("xss/html-from-request", items::xss::html_from_request),
    (
        "xss/render-template-string",
        items::xss::render_template_string,
    ),
    ("csrf/missing-protect", items::csrf::protect),
    ("csrf/disabled", items::csrf::enable),
    ("csrf/form-missing-token", items::csrf::form_token),
    ("session/cookie-secure", items::session::cookie_config),
    ("session/cookie-httponly", items::session::cookie_config),
    ("session/cookie-samesite", items::session::cookie_config),
    ("session/set-cookie-flags", items::session::set_cookie),
    ("session/no-reset-at-login", items::session::reset_at_login),
    ("session/login-protection", items::session::login_protection),
    ("dependencies/vulnerable-pin", items::dependencies::plans),
    ("dependencies/vulnerable-range", items::dependencies::plans),
    ("dependencies/vulnerable-lock", items::dependencies::plans),
    ("dependencies/incompatible-pins", items::dependencies::plans),
    (
        "input-validation/sql-injection",
        items::input_validation::generate,
    ),
    (
        "input-validation/path-traversal",
        items::input_validation::generate,
    ),
    (
        "input-validation/command-injection",
        items::input_validation::generate,
    ),
    (
        "input-validation/unsafe-deserialization",
        items::input_validation::generate,
    ),
    (
        "input-validation/open-redirect",
        items::input_validation::generate,
    ),
    ("input-validation/ssrf", items::input_validation::generate),
    (
        "input-validation/code-injection",
        items::input_validation::generate,
    ),
    (
        "input-validation/unvalidated-json",
        items::input_validation::generate,
    ),
    ("headers/missing", items::headers::missing),
    (
        "headers/talisman-disabled",
        items::headers::talisman_disabled,
    ),
    (
        "production-server/dev-server",
        items::production_server::dev_server,
    ),
    (
        "production-server/exposed-dev-server",
        items::production_server::exposed,
    ),
    ("proxy/missing-proxy-fix", items::proxy::missing_proxy_fix),
    (
        "request-limits/max-content-length",
        items::request_limits::max_content_length,
    ),
    (
        "request-limits/form-limits-disabled",
        items::request_limits::form_limits,
    ),
    ("cors/any-origin-with-credentials", items::cors::any_origin),
    ("cors/any-origin-with-session", items::cors::any_origin),
    ("tls/old-protocols", items::tls::settings),
    ("tls/weak-ciphers", items::tls::settings),
    ("tls/plain-http", items::tls::settings),
    ("tls/server-tokens", items::tls::settings),
];

pub fn generator(rule: &str) -> Option<GenerateFn> {
    GENERATORS.iter().find(|(r, _)| *r == rule).map(|(_, g)| *g)
}

/// What a generator sees: the snapshot the findings come from and the scan's facts about it.
pub struct FixContext<'a, 'm> {
    pub snapshot: &'a Snapshot,
    pub facts: &'a Facts<'m>,
}

impl<'a, 'm> FixContext<'a, 'm> {
    /// The parsed module at `path`, with its index in `facts.modules`.
    pub fn module(&self, path: &str) -> Option<(usize, &'m Module)> {
        self.facts
            .modules
            .iter()
            .map(|m| &**m)
            .enumerate()
            .find(|(_, m)| m.path == path)
    }

    /// The byte range of a finding in its module (positions are 1-based lines and character
    /// columns, the end exclusive).
    pub fn range_of(&self, finding: &Finding) -> Option<TextRange> {
        let (_, module) = self.module(&finding.path)?;
        let start = offset(module, finding.line, finding.column)?;
        let end = offset(module, finding.end_line, finding.end_column)?;
        (start <= end).then(|| TextRange::new(TextSize::from(start), TextSize::from(end)))
    }

    /// A patch builder for the snapshot's text of `path`.
    pub fn patch(&self, path: &str) -> Option<PatchBuilder<'a>> {
        self.snapshot.get(path).map(|t| PatchBuilder::new(path, t))
    }

    /// The text of the finding's file, or why a fix cannot have it.
    pub fn text_for(&self, finding: &Finding) -> Result<&'a str, Unfixable> {
        self.snapshot
            .get(&finding.path)
            .ok_or_else(|| Unfixable::new(finding, "the file is not in the snapshot"))
    }

    /// A patch builder for the finding's file, or why a fix cannot have one.
    pub fn patch_for(&self, finding: &Finding) -> Result<PatchBuilder<'a>, Unfixable> {
        Ok(PatchBuilder::new(&finding.path, self.text_for(finding)?))
    }
}

fn offset(module: &Module, line: usize, column: usize) -> Option<u32> {
    let text = &module.source.text;
    if line == 0 || line > module.source.lines().line_count() {
        return None;
    }
    let start = module.source.lines().line_start(line).to_usize();
    let rest = text.get(start..)?;
    let within: usize = rest
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    u32::try_from(start + within).ok()
}

/// Parse a snapshot the way the scan does (the files `parsed` holds are not parsed again) and
/// run `f` with its facts.
pub fn with_context<R>(
    snapshot: &Snapshot,
    parsed: &crate::scan::ParseCache,
    f: impl FnOnce(&FixContext) -> R,
) -> R {
    use rayon::prelude::*;
    let python: Vec<(&String, &std::sync::Arc<SnapFile>)> = snapshot
        .files
        .iter()
        .filter(|(path, _)| classify(path) == Some(FileKind::Python))
        .collect();
    let modules: Vec<std::sync::Arc<Module>> = python
        .par_iter()
        .filter_map(|(path, file)| {
            let token = crate::scan::cache::Token::of((*file).clone());
            match crate::scan::parse_cached(parsed, path, &file.text, Some(&token)) {
                crate::scan::Parsed::Module(m) => Some(m),
                crate::scan::Parsed::Failed { .. } => None,
            }
        })
        .collect();
    let mut templates = Vec::new();
    let mut env_files = Vec::new();
    for (path, file) in &snapshot.files {
        match classify(path) {
            Some(FileKind::Python) => {}
            Some(FileKind::Template) => templates.push({
                let token = crate::scan::cache::Token::of(file.clone());
                parsed.template(path, &file.text, Some(&token), || {
                    Template::new(path, file.text.clone())
                })
            }),
            Some(FileKind::EnvFile) => env_files.push(EnvFile::parse(path, file.text.clone())),
            _ => {}
        }
    }
    let facts = Facts::compute(&modules, templates, env_files);
    f(&FixContext {
        snapshot,
        facts: &facts,
    })
}
