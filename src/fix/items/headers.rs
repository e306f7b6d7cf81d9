//! Fixes for the headers item: a small after_request hook where the app is created that sets
//! the missing headers (HSTS only on HTTPS requests), and Flask-Talisman's protections turned
//! back on. A Content-Security-Policy that would block the templates' own inline scripts or
//! CDN assets is sent as Content-Security-Policy-Report-Only, built from the sources the
//! templates load, and the plan is unsafe: it is for the user to enforce.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::ExprCall;
use ruff_text_size::{Ranged, TextRange};

use super::super::style::indent_unit;
use super::super::templates;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use super::common::{app_site_patch, ensure_imports, fail_all, insert_after, located};
use crate::checks::headers::{CSP, FRAME, HSTS, NOSNIFF, python_present, server_present};
use crate::deploy::Deployment;
use crate::finding::Finding;
use crate::python::templates::Template;

/// The value each header gets (Flask-Talisman's defaults, FLASK_FACTS "Security headers").
fn value_of(header: &str) -> &'static str {
    match header {
        HSTS => "max-age=31536000; includeSubDomains",
        NOSNIFF => "nosniff",
        FRAME => "SAMEORIGIN",
        _ => "strict-origin-when-cross-origin",
    }
}

static SCRIPT_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"#).expect("valid regex")
});
static LINK_HREF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["']"#).expect("valid regex")
});
static IMG_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<(?:img|source|video|audio)\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"#)
        .expect("valid regex")
});
static SCRIPT_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<script\b([^>]*)>(.*?)</script>").expect("valid regex"));
static HANDLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<[a-z][^>]*\son[a-z]+\s*=\s*["']|javascript:"#).expect("valid regex")
});
static INLINE_STYLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<style\b|<[a-z][^>]*\sstyle\s*=\s*["']"#).expect("valid regex")
});

/// What the templates load from elsewhere and write inline.
#[derive(Debug, Default)]
pub struct Sources {
    pub scripts: BTreeSet<String>,
    pub styles: BTreeSet<String>,
    pub images: BTreeSet<String>,
    pub inline_scripts: bool,
    pub inline_styles: bool,
}

/// `https://cdn.example.com` of an absolute or protocol-relative URL.
fn origin(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| ("https", r))
        .or_else(|| url.strip_prefix("http://").map(|r| ("http", r)))
        .or_else(|| url.strip_prefix("//").map(|r| ("https", r)))?;
    let host: String = rest
        .1
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        .collect();
    (!host.is_empty()).then(|| format!("{}://{host}", rest.0))
}

pub fn template_sources(templates: &[Template]) -> Sources {
    let mut s = Sources::default();
    for t in templates {
        let text = &t.source.text;
        s.scripts
            .extend(SCRIPT_SRC.captures_iter(text).filter_map(|c| origin(&c[1])));
        s.styles
            .extend(LINK_HREF.captures_iter(text).filter_map(|c| origin(&c[1])));
        s.images
            .extend(IMG_SRC.captures_iter(text).filter_map(|c| origin(&c[1])));
        s.inline_scripts |= SCRIPT_TAG.captures_iter(text).any(|c| {
            let attrs = c[1].to_ascii_lowercase();
            !attrs.contains("src") && !attrs.contains("application/json") && !c[2].trim().is_empty()
        }) || HANDLER.is_match(text);
        s.inline_styles |= INLINE_STYLE.is_match(text);
    }
    s
}

impl Sources {
    /// Whether `default-src 'self'` would block something the templates use.
    pub fn needs_more_than_self(&self) -> bool {
        self.inline_scripts
            || self.inline_styles
            || !self.scripts.is_empty()
            || !self.styles.is_empty()
            || !self.images.is_empty()
    }

    /// The policy: 'self' plus the hosts the templates load from. Inline code is not
    /// allowed in it: the report-only header reports it, to be moved to files or given nonces.
    pub fn policy(&self) -> String {
        let with = |base: &str, hosts: &BTreeSet<String>| {
            let mut v = vec![base.to_string()];
            v.extend(hosts.iter().cloned());
            v.join(" ")
        };
        let mut parts = vec!["default-src 'self'".to_string()];
        if !self.scripts.is_empty() {
            parts.push(format!("script-src {}", with("'self'", &self.scripts)));
        }
        if !self.styles.is_empty() {
            parts.push(format!("style-src {}", with("'self'", &self.styles)));
            parts.push(format!("font-src {}", with("'self'", &self.styles)));
        }
        parts.push(format!("img-src {}", with("'self' data:", &self.images)));
        parts.push("object-src 'none'".to_string());
        parts.push("base-uri 'self'".to_string());
        parts.push("frame-ancestors 'self'".to_string());
        parts.join("; ")
    }
}

/// The name for the hook: not one the module defines already.
fn hook_name(text: &str) -> &'static str {
    [
        "set_security_headers",
        "add_security_headers",
        "security_headers_hook",
    ]
    .into_iter()
    .find(|n| !text.contains(&format!("def {n}(")))
    .unwrap_or("flask_harden_security_headers")
}

/// `s` with its four-space indentation steps in the file's own unit.
fn reindent(s: &str, unit: &str) -> String {
    s.lines()
        .map(|l| {
            let spaces = l.len() - l.trim_start_matches(' ').len();
            format!("{}{}\n", unit.repeat(spaces / 4), &l[spaces - spaces % 4..])
        })
        .collect()
}

pub fn missing(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let Some(first) = findings.first() else {
        return Vec::new();
    };
    let fail = |r: &str| fail_all(findings, r);
    let facts = ctx.facts;
    let deployment = Deployment::from_snapshot(ctx.snapshot);
    let mut disabled = Vec::new();
    let mut present = python_present(facts, &mut disabled);
    present.merge(server_present(&deployment));
    let wanted = present.missing();
    if wanted.is_empty() {
        return fail("every header is set already");
    }
    let (site, mut patch) = match app_site_patch(ctx, "set the headers on") {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    let sources = template_sources(&facts.templates);
    let report_only = wanted.contains(&CSP) && sources.needs_more_than_self();
    let mut lines = String::new();
    for header in &wanted {
        match *header {
            HSTS => {}
            CSP => {
                let name = if report_only {
                    "Content-Security-Policy-Report-Only"
                } else {
                    CSP
                };
                let policy = if report_only {
                    sources.policy()
                } else {
                    "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
                        .to_string()
                };
                lines.push_str(&format!(
                    "    response.headers.setdefault(\"{name}\", \"{policy}\")\n"
                ));
            }
            other => lines.push_str(&format!(
                "    response.headers.setdefault(\"{other}\", \"{}\")\n",
                value_of(other)
            )),
        }
    }
    if wanted.contains(&HSTS) {
        lines.push_str("    if request.is_secure:\n");
        lines.push_str(&format!(
            "        response.headers.setdefault(\"{HSTS}\", \"{}\")\n",
            value_of(HSTS)
        ));
    }
    let hook = match templates::render(
        "headers/after_request.py",
        &[
            ("app", &site.var),
            ("name", hook_name(patch.text())),
            ("headers", &lines),
        ],
    ) {
        Ok(h) => h,
        Err(e) => return fail(&e.to_string()),
    };
    let hook = reindent(&hook, &indent_unit(patch.text()));
    // PEP 8: two blank lines around a module-level function, one inside a factory.
    let gap = if site.factory.is_some() { "\n" } else { "\n\n" };
    if let Err(e) = insert_after(&mut patch, site.stmt.range(), &format!("{gap}{hook}{gap}")) {
        return fail(&e);
    }
    if wanted.contains(&HSTS)
        && let Err(e) = ensure_imports(&mut patch, &["from flask import request"])
    {
        return fail(&e);
    }
    let patch = match patch.finish() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let (title, applicability) = if report_only {
        (
            "send security headers from an after_request hook, the CSP as Report-Only (the \
             templates use inline code or other hosts)",
            Applicability::Unsafe,
        )
    } else {
        (
            "send security headers from an after_request hook",
            Applicability::Safe,
        )
    };
    let mut plan = FixPlan::new(&first.rule, title, applicability).with_patch(patch);
    for f in findings {
        plan = plan.fixing(f);
    }
    vec![Ok(plan)]
}

pub fn talisman_disabled(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    // One plan per call, removing each of its disabling keywords.
    type CallKeywords<'a, 'f> = (usize, &'a ExprCall, Vec<(&'f Finding, TextRange)>);
    let mut by_call: Vec<CallKeywords> = Vec::new();
    let mut out: Vec<Generated> = Vec::new();
    for f in findings {
        let (idx, _, range, _) = match located(ctx, f) {
            Ok(l) => l,
            Err(u) => {
                out.push(Err(u));
                continue;
            }
        };
        let call = crate::checks::headers::talisman_calls(ctx.facts)
            .into_iter()
            .find(|(i, c)| *i == idx && c.arguments.keywords.iter().any(|k| k.range() == range));
        match call {
            Some((_, c)) => match by_call
                .iter_mut()
                .find(|(i, cc, _)| *i == idx && std::ptr::eq(*cc, c))
            {
                Some(entry) => entry.2.push((f, range)),
                None => by_call.push((idx, c, vec![(f, range)])),
            },
            None => out.push(Err(Unfixable::new(
                f,
                "the Talisman call is not where the finding says",
            ))),
        }
    }
    for (idx, call, kws) in by_call {
        let Some(first) = kws.first().map(|k| k.0) else {
            continue;
        };
        let path = &ctx.facts.module(idx).path;
        let Some(mut patch) = ctx.patch(path) else {
            out.push(Err(Unfixable::new(
                first,
                "the file is not in the snapshot",
            )));
            continue;
        };
        let mut ok = true;
        for (_, range) in &kws {
            ok &= patch
                .delete(super::debug::argument_removal(call, *range, patch.text()))
                .is_ok();
        }
        let finished = patch.finish();
        match (ok, finished) {
            (true, Ok(p)) => {
                let mut plan = FixPlan::new(
                    &first.rule,
                    "let Flask-Talisman send the headers it was told not to",
                    Applicability::Safe,
                )
                .with_patch(p);
                for (f, _) in &kws {
                    plan = plan.fixing(f);
                }
                out.push(Ok(plan));
            }
            _ => out.extend(
                kws.iter()
                    .map(|(f, _)| Err(Unfixable::new(f, "the keywords overlap"))),
            ),
        }
    }
    out
}
