//! proxy: the app runs behind a reverse proxy or a platform's load balancer without Werkzeug's
//! ProxyFix (FLASK_FACTS "Deployment"). uWSGI's own protocol (`uwsgi_pass`) passes the client's
//! address and scheme and needs none; mod_wsgi runs the app inside Apache.

use super::{Context, no_flask_app};
use crate::deploy::{Deployment, Format};
use crate::finding::{CheckOutcome, Finding, Severity};
use crate::python::expr::str_value;
use crate::python::facts::Facts;

pub const PROXY_FIX: &[&str] = &[
    "werkzeug.middleware.proxy_fix.ProxyFix",
    "werkzeug.contrib.fixers.ProxyFix",
];

/// Whether production code wraps the app in ProxyFix.
pub fn has_proxy_fix(facts: &Facts) -> bool {
    (0..facts.modules.len()).any(|idx| {
        !facts.modules[idx].is_test
            && facts.imports[idx].imports_from("werkzeug")
            && !facts.calls_to(idx, PROXY_FIX).is_empty()
    })
}

/// Where the repository says a proxy sits in front of the app: a finding per file (its first
/// sign), and a finding at `PREFERRED_URL_SCHEME = "https"`.
fn signs(facts: &Facts, deployment: &Deployment) -> Vec<(Finding, String)> {
    let mut out = Vec::new();
    for (file, cfg) in deployment.server_configs() {
        let sign = cfg.directives.iter().find(|d| match file.format {
            Format::Nginx => d.name == "proxy_pass",
            Format::Apache => {
                d.name.eq_ignore_ascii_case("ProxyPass")
                    || d.name.eq_ignore_ascii_case("ProxyPassMatch")
                    || (d.name.eq_ignore_ascii_case("RewriteRule")
                        && d.args.iter().any(|a| a.contains("[P") || a.contains(",P")))
            }
            _ => d.name == "reverse_proxy",
        });
        if let Some(d) = sign {
            let what = format!("{} at {} proxies requests to the app", d.name, file.path);
            out.push((
                file.finding(
                    "proxy/missing-proxy-fix",
                    Severity::Medium,
                    d.range.clone(),
                    format!(
                        "{what}, but the app does not apply ProxyFix: request.remote_addr is the \
                         proxy, request.is_secure is False and external URLs say http://; wrap \
                         app.wsgi_app in ProxyFix with one trusted proxy per header"
                    ),
                ),
                what,
            ));
        }
    }
    for command in &deployment.commands {
        let file = deployment.file(command.file);
        if file.format == Format::Procfile && command.what == "web" {
            let what = "the Procfile's web process runs behind Heroku's router".to_string();
            out.push((
                file.finding(
                    "proxy/missing-proxy-fix",
                    Severity::Medium,
                    command.range.clone(),
                    format!(
                        "{what}, which sets X-Forwarded-For and X-Forwarded-Proto, but the app \
                         does not apply ProxyFix: request.remote_addr is the router and \
                         request.is_secure is False; wrap app.wsgi_app in ProxyFix"
                    ),
                ),
                what,
            ));
        }
    }
    // A proxy container whose committed config speaks uWSGI's protocol (and never proxies
    // HTTP) passes the client's address itself.
    let uwsgi_only = deployment
        .server_configs()
        .any(|(_, c)| c.directives.iter().any(|d| d.name == "uwsgi_pass"))
        && !deployment
            .server_configs()
            .any(|(_, c)| c.directives.iter().any(|d| d.name == "proxy_pass"));
    for file in deployment
        .of_format(Format::Compose)
        .filter(|_| !uwsgi_only)
    {
        if let Some((range, proxy)) = crate::deploy::compose::proxy_images(file.text())
            .into_iter()
            .next()
        {
            let what = format!("{} runs {proxy} in front of the app", file.path);
            out.push((
                file.finding(
                    "proxy/missing-proxy-fix",
                    Severity::Medium,
                    range,
                    format!(
                        "{what}, but the app does not apply ProxyFix: request.remote_addr is the \
                         proxy and request.is_secure is False; wrap app.wsgi_app in ProxyFix"
                    ),
                ),
                what,
            ));
        }
    }
    for file in deployment.of_format(Format::Platform) {
        let what = format!(
            "{} runs the app behind the platform's load balancer",
            file.path
        );
        let first = file
            .text()
            .char_indices()
            .find(|(_, c)| !c.is_whitespace())
            .map(|(i, _)| i)
            .unwrap_or(0);
        let end = file.text()[first..]
            .find('\n')
            .map(|n| first + n)
            .unwrap_or(file.text().len());
        out.push((
            file.finding(
                "proxy/missing-proxy-fix",
                Severity::Medium,
                first..end,
                format!(
                    "{what}, but the app does not apply ProxyFix; wrap app.wsgi_app in ProxyFix"
                ),
            ),
            what,
        ));
    }
    for w in facts.production_writes("PREFERRED_URL_SCHEME") {
        let value = facts.resolve_const(w.module, w.value);
        if str_value(value).is_some_and(|s| s.eq_ignore_ascii_case("https")) {
            let what = "PREFERRED_URL_SCHEME is \"https\", so the app is served over HTTPS by \
                        something in front of it"
                .to_string();
            out.push((
                facts.module(w.module).finding(
                    "proxy/missing-proxy-fix",
                    Severity::Medium,
                    w.range,
                    format!(
                        "{what}, but the app does not apply ProxyFix: request.is_secure is False \
                         and redirects go to http://; wrap app.wsgi_app in ProxyFix"
                    ),
                ),
                what,
            ));
        }
    }
    out
}

pub fn check(ctx: &Context) -> CheckOutcome {
    let facts = ctx.facts;
    if !facts.has_flask() {
        return no_flask_app();
    }
    let deployment = Deployment::read(ctx.files);
    let signs = signs(facts, &deployment);
    if signs.is_empty() {
        return CheckOutcome::not_applicable(
            "nothing in the repository puts a proxy in front of the app (no nginx, Apache or \
             Caddy proxy, Procfile, platform config or PREFERRED_URL_SCHEME = \"https\")",
        );
    }
    if has_proxy_fix(facts) {
        return CheckOutcome::default();
    }
    CheckOutcome::findings(signs.into_iter().map(|(f, _)| f).collect())
}
