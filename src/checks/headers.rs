//! headers: responses without the security headers browsers need (FLASK_FACTS "Security
//! headers"). A header counts as set when Flask-Talisman is wired, when production code names
//! it in a string (an after_request hook, a response class), or when a committed web server
//! config adds it.

use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::{Ranged, TextRange};

use super::{Context, no_flask_app};
use crate::deploy::{Deployment, Format};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::Module;
use crate::python::expr::{literal_truth, method_name, receiver, str_value};
use crate::python::facts::Facts;

pub const TALISMAN: &[&str] = &[
    "flask_talisman.Talisman",
    "flask_talisman.talisman.Talisman",
];

/// The headers the item asks for, as they are named in responses.
pub const HSTS: &str = "Strict-Transport-Security";
pub const NOSNIFF: &str = "X-Content-Type-Options";
pub const FRAME: &str = "X-Frame-Options";
pub const REFERRER: &str = "Referrer-Policy";
pub const CSP: &str = "Content-Security-Policy";

/// Which of the headers are set somewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Present {
    pub hsts: bool,
    pub nosniff: bool,
    pub frame: bool,
    pub referrer: bool,
    pub csp: bool,
}

impl Present {
    fn all() -> Self {
        Self {
            hsts: true,
            nosniff: true,
            frame: true,
            referrer: true,
            csp: true,
        }
    }

    fn set(&mut self, header: &str) {
        let h = header.to_ascii_lowercase();
        match h.trim_start_matches(['+', '-', '>', '?']) {
            "strict-transport-security" => self.hsts = true,
            "x-content-type-options" => self.nosniff = true,
            "x-frame-options" => self.frame = true,
            "referrer-policy" => self.referrer = true,
            // Report-Only counts: it is how a policy is rolled out before it is enforced.
            "content-security-policy" | "content-security-policy-report-only" => self.csp = true,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: Present) {
        self.hsts |= other.hsts;
        self.nosniff |= other.nosniff;
        self.frame |= other.frame;
        self.referrer |= other.referrer;
        self.csp |= other.csp;
    }

    /// The headers not set, by name.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.hsts, HSTS),
            (self.nosniff, NOSNIFF),
            (self.frame, FRAME),
            (self.referrer, REFERRER),
            (self.csp, CSP),
        ]
        .into_iter()
        .filter(|(set, _)| !set)
        .map(|(_, name)| name)
        .collect()
    }
}

static HEADER_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)["'](strict-transport-security|x-content-type-options|x-frame-options|referrer-policy|content-security-policy(?:-report-only)?)["']|frame-ancestors"#,
    )
    .expect("valid regex")
});

/// The production app objects' creation, where an item about the whole app is reported.
pub fn app_anchor<'m>(facts: &Facts<'m>) -> Option<(&'m Module, TextRange)> {
    facts
        .apps
        .iter()
        .find(|a| facts.is_production_module(a.module))
        .map(|a| (facts.module(a.module), a.range))
}

/// `x.init_app(app, …)` calls of module `idx` on an extension object whose name mentions
/// `hint` (`talisman.init_app(app)`): how an extension made without an app is wired later.
pub fn init_app_calls<'m>(facts: &Facts<'m>, idx: usize, hint: &str) -> Vec<&'m ExprCall> {
    let m = facts.module(idx);
    facts
        .calls_named(idx, "init_app")
        .filter(|c| {
            method_name(c) == Some("init_app")
                && !c.arguments.is_empty()
                && receiver(c).is_some_and(|r| {
                    !matches!(r, Expr::Call(_))
                        && m.text(r.range()).to_ascii_lowercase().contains(hint)
                })
        })
        .collect()
}

/// The Talisman calls that wire it to an app: `Talisman(app, …)`, and `init_app(app, …)` on
/// a `Talisman()` made without one.
pub fn talisman_calls<'m>(facts: &Facts<'m>) -> Vec<(usize, &'m ExprCall)> {
    let mut out = Vec::new();
    for (idx, m) in facts.modules.iter().enumerate() {
        if m.is_test || !facts.imports[idx].imports_from("flask_talisman") {
            continue;
        }
        let calls = facts.calls_to(idx, TALISMAN);
        let deferred = calls.iter().any(|c| c.arguments.is_empty());
        for c in &calls {
            if !c.arguments.is_empty() {
                out.push((idx, *c));
            }
        }
        if deferred {
            out.extend(
                init_app_calls(facts, idx, "talisman")
                    .into_iter()
                    .map(|c| (idx, c)),
            );
        }
    }
    out
}

/// Talisman keywords that turn a header off, with the header.
const TALISMAN_OFF: &[(&str, &str)] = &[
    ("strict_transport_security", HSTS),
    ("content_security_policy", CSP),
    ("frame_options", FRAME),
    ("referrer_policy", REFERRER),
    ("content_type_nosniff", NOSNIFF),
];

/// What production code sets: Talisman (less what it is told not to), and header names in
/// string literals.
pub fn python_present(
    facts: &Facts,
    disabled: &mut Vec<(usize, TextRange, &'static str)>,
) -> Present {
    let mut present = Present::default();
    let talisman = talisman_calls(facts);
    if !talisman.is_empty() {
        let mut p = Present::all();
        for (idx, call) in &talisman {
            for (kw, header) in TALISMAN_OFF {
                if let Some(k) = call.arguments.find_keyword(kw) {
                    let off = matches!(k.value, Expr::NoneLiteral(_))
                        || literal_truth(&k.value) == Some(false)
                        || matches!(&k.value, Expr::Dict(d) if d.is_empty())
                        || str_value(&k.value).is_some_and(|s| s.is_empty());
                    if off {
                        disabled.push((*idx, k.range(), header));
                        match *header {
                            HSTS => p.hsts = false,
                            CSP => p.csp = false,
                            FRAME => p.frame = false,
                            REFERRER => p.referrer = false,
                            _ => p.nosniff = false,
                        }
                    }
                }
            }
        }
        present.merge(p);
    }
    for (idx, m) in facts.modules.iter().enumerate() {
        if m.is_test {
            continue;
        }
        // The `secure` package sets all of them.
        if facts.imports[idx].imports_from("secure") && m.source.text.contains("Secure(") {
            present.merge(Present::all());
        }
        for cap in HEADER_LITERAL.captures_iter(&m.source.text) {
            match cap.get(1) {
                Some(name) => present.set(name.as_str()),
                None => present.frame = true,
            }
        }
    }
    present
}

/// What the committed web server configs add.
pub fn server_present(deployment: &Deployment) -> Present {
    let mut present = Present::default();
    for (file, cfg) in deployment.server_configs() {
        for d in &cfg.directives {
            match file.format {
                Format::Nginx if d.name == "add_header" || d.name == "more_set_headers" => {
                    if let Some(h) = d.args.first() {
                        present.set(h.split(':').next().unwrap_or(h));
                    }
                    if d.args.iter().any(|a| a.contains("frame-ancestors")) {
                        present.frame = true;
                    }
                }
                Format::Apache if d.name.eq_ignore_ascii_case("Header") => {
                    let args: Vec<&str> = d
                        .args
                        .iter()
                        .map(String::as_str)
                        .filter(|a| {
                            !matches!(a.to_ascii_lowercase().as_str(), "always" | "onsuccess")
                        })
                        .collect();
                    if let [action, name, ..] = args.as_slice()
                        && matches!(
                            action.to_ascii_lowercase().as_str(),
                            "set" | "append" | "add" | "merge" | "setifempty"
                        )
                    {
                        present.set(name);
                    }
                }
                Format::Caddy => {
                    let in_header_block = d
                        .block
                        .and_then(|b| cfg.blocks.get(b))
                        .is_some_and(|b| b.name == "header");
                    if d.name == "header" {
                        if let Some(h) = d
                            .args
                            .iter()
                            .find(|a| !a.starts_with('/') && !a.starts_with('*'))
                        {
                            present.set(h);
                        }
                    } else if in_header_block {
                        present.set(&d.name);
                    }
                }
                _ => {}
            }
        }
    }
    present
}

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let Some((module, range)) = app_anchor(facts) else {
        return CheckOutcome::not_applicable("no Flask app object is created in this repository");
    };
    let deployment = Deployment::read(ctx.files);
    let mut disabled = Vec::new();
    let mut present = python_present(facts, &mut disabled);
    present.merge(server_present(&deployment));
    let mut findings: Vec<Finding> = disabled
        .iter()
        .map(|(idx, range, header)| {
            facts.module(*idx).finding(
                "headers/talisman-disabled",
                Severity::Medium,
                *range,
                format!(
                    "Flask-Talisman is told not to send {header}: remove this argument so the \
                     default applies"
                ),
            )
        })
        .collect();
    let missing = present.missing();
    if !missing.is_empty() && disabled.is_empty() {
        findings.push(module.finding(
            "headers/missing",
            Severity::Medium,
            range,
            format!(
                "responses are sent without {} (Flask sets none of them): add an after_request \
                 hook that sets them or wire Flask-Talisman, with HSTS in production only",
                missing.join(", ")
            ),
        ));
    }
    CheckOutcome::findings(findings)
}
