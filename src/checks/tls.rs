//! tls: committed nginx, Apache and Caddy configs with old protocols, weak ciphers, plain HTTP
//! without a redirect to HTTPS, or the server's version announced.

use super::Context;
use crate::deploy::{Block, DeployFile, Deployment, Directive, Format, ServerConfig};
use crate::finding::{CheckOutcome, Finding, Severity};

/// Protocol names (any server's spelling, lower-cased) that are too old.
const OLD_PROTOCOLS: &[&str] = &[
    "sslv2", "sslv3", "tlsv1", "tlsv1.0", "tlsv1.1", "tls1.0", "tls1.1",
];

/// Parts of an OpenSSL cipher string that allow broken or unauthenticated suites.
const WEAK_CIPHERS: &[&str] = &[
    "RC4",
    "DES",
    "3DES",
    "MD5",
    "NULL",
    "EXPORT",
    "EXP",
    "ANULL",
    "ENULL",
    "ADH",
    "AECDH",
    "LOW",
    "RC2",
    "IDEA",
    "SEED",
    "PSK",
    "SRP",
    "CAMELLIA128",
];

/// The weak elements a cipher string allows (those not excluded with `!` or `-`).
pub fn weak_ciphers(list: &str) -> Vec<String> {
    list.split([':', ' ', ','])
        .filter(|c| !c.is_empty() && !c.starts_with(['!', '-']))
        .filter(|c| {
            let upper = c.trim_start_matches('+').to_ascii_uppercase();
            upper
                .split(['-', '+'])
                .any(|part| WEAK_CIPHERS.contains(&part))
                || upper == "ALL"
        })
        .map(str::to_string)
        .collect()
}

/// Apache's SSLProtocol: the protocols left after its `+`/`-` list (`all` is SSLv3 to TLSv1.3).
pub fn apache_protocols(args: &[String]) -> Vec<String> {
    let all = ["sslv3", "tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"];
    let mut set: Vec<String> = Vec::new();
    for a in args {
        let lower = a.to_ascii_lowercase();
        let (sign, name) = match lower.chars().next() {
            Some('+') => ('+', &lower[1..]),
            Some('-') => ('-', &lower[1..]),
            _ => ('=', lower.as_str()),
        };
        let names: Vec<String> = if name == "all" {
            all.iter().map(|s| s.to_string()).collect()
        } else {
            vec![name.to_string()]
        };
        match sign {
            '-' => set.retain(|s| !names.contains(s)),
            _ => {
                for n in names {
                    if !set.contains(&n) {
                        set.push(n);
                    }
                }
            }
        }
    }
    set
}

fn old_in(protocols: &[String]) -> Vec<String> {
    protocols
        .iter()
        .filter(|p| OLD_PROTOCOLS.contains(&p.to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

/// Whether a block (nginx server, Apache VirtualHost, Caddy site) sends plain-HTTP clients to
/// HTTPS.
pub fn redirects_to_https(file: &DeployFile, cfg: &ServerConfig, block: usize) -> bool {
    cfg.in_block(block).any(|d| match file.format {
        Format::Nginx => {
            (d.name == "return" || d.name == "rewrite")
                && d.args.iter().any(|a| a.starts_with("https://"))
        }
        Format::Apache => {
            let n = d.name.to_ascii_lowercase();
            (matches!(
                n.as_str(),
                "redirect" | "redirectpermanent" | "redirectmatch" | "rewriterule"
            )) && d.args.iter().any(|a| a.starts_with("https://"))
        }
        _ => d.name == "redir" && d.args.iter().any(|a| a.starts_with("https://")),
    })
}

/// nginx server blocks (and Apache port-80 virtual hosts, Caddy `http://` sites) that serve
/// plain HTTP, with the directive or header to report at.
pub fn plain_http_blocks(
    file: &DeployFile,
    cfg: &ServerConfig,
) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for (i, b) in cfg.blocks.iter().enumerate() {
        let plain_at = match file.format {
            Format::Nginx if b.name == "server" => nginx_plain_listen(cfg, i, b),
            Format::Apache if b.name.eq_ignore_ascii_case("VirtualHost") => b
                .args
                .iter()
                .any(|a| a.ends_with(":80") || a == "80")
                .then(|| b.range.clone()),
            Format::Caddy if b.parent.is_none() => (b.name.starts_with("http://")
                || b.name == ":80"
                || b.args.iter().any(|a| a.starts_with("http://")))
            .then(|| b.range.clone()),
            _ => None,
        };
        if let Some(range) = plain_at
            && !redirects_to_https(file, cfg, i)
        {
            out.push((i, range));
        }
    }
    out
}

fn nginx_plain_listen(
    cfg: &ServerConfig,
    idx: usize,
    block: &Block,
) -> Option<std::ops::Range<usize>> {
    let listens: Vec<&Directive> = cfg
        .in_block(idx)
        .filter(|d| d.name == "listen" && d.block == Some(idx))
        .collect();
    let ssl_on = cfg
        .in_block(idx)
        .any(|d| d.name == "ssl" && d.args.first().is_some_and(|a| a == "on"));
    if ssl_on {
        return None;
    }
    if listens.is_empty() {
        // No listen: nginx listens on port 80.
        return Some(block.range.clone());
    }
    listens
        .iter()
        .find(|d| {
            !d.args
                .iter()
                .any(|a| a == "ssl" || a == "quic" || a.ends_with("443"))
        })
        .map(|d| d.range.clone())
}

pub fn check(ctx: &Context) -> CheckOutcome {
    if !ctx.facts.has_flask() {
        return super::no_flask_app();
    }
    let deployment = Deployment::read(ctx.files);
    let configs: Vec<_> = deployment.server_configs().collect();
    if configs.is_empty() {
        return CheckOutcome::not_applicable("no nginx, Apache or Caddy config in the repository");
    }
    let mut findings = Vec::new();
    for (file, cfg) in configs {
        findings.extend(config_findings(file, cfg));
    }
    CheckOutcome::findings(findings)
}

fn config_findings(file: &DeployFile, cfg: &ServerConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push =
        |rule: &str, severity: Severity, range: std::ops::Range<usize>, message: String| {
            out.push(file.finding(rule, severity, range, message));
        };
    for d in &cfg.directives {
        let name = d.name.to_ascii_lowercase();
        let protocols: Option<Vec<String>> = match (file.format, name.as_str()) {
            (Format::Nginx, "ssl_protocols" | "proxy_ssl_protocols") => Some(d.args.clone()),
            (Format::Apache, "sslprotocol" | "sslproxyprotocol") => Some(apache_protocols(&d.args)),
            (Format::Caddy, "protocols") => {
                // `protocols min [max]`: everything from min up.
                let min = d.args.first().map(|a| a.to_ascii_lowercase());
                Some(match min.as_deref() {
                    Some("tls1.0") => vec!["tls1.0".into(), "tls1.1".into()],
                    Some("tls1.1") => vec!["tls1.1".into()],
                    _ => Vec::new(),
                })
            }
            _ => None,
        };
        if let Some(p) = protocols {
            let old = old_in(&p);
            if !old.is_empty() {
                push(
                    "tls/old-protocols",
                    Severity::High,
                    d.range.clone(),
                    format!(
                        "{} allows {}, deprecated and open to downgrade attacks; allow TLSv1.2 and \
                         TLSv1.3 only",
                        d.name,
                        old.join(", ")
                    ),
                );
            }
        }
        let ciphers = match (file.format, name.as_str()) {
            (Format::Nginx, "ssl_ciphers") => d.args.first().cloned(),
            (Format::Apache, "sslciphersuite") => d.args.last().cloned(),
            _ => None,
        };
        if let Some(list) = ciphers {
            let weak = weak_ciphers(&list);
            if !weak.is_empty() {
                push(
                    "tls/weak-ciphers",
                    Severity::High,
                    d.range.clone(),
                    format!(
                        "{} allows weak cipher suites ({}); use Mozilla's intermediate list",
                        d.name,
                        weak.join(", ")
                    ),
                );
            }
        }
        let tokens = match (file.format, name.as_str()) {
            (Format::Nginx, "server_tokens") => d.args.first().is_some_and(|a| a != "off"),
            (Format::Apache, "servertokens") => d.args.first().is_some_and(|a| {
                !matches!(a.to_ascii_lowercase().as_str(), "prod" | "productonly")
            }),
            (Format::Apache, "serversignature") => d
                .args
                .first()
                .is_some_and(|a| !a.eq_ignore_ascii_case("off")),
            _ => false,
        };
        if tokens {
            push(
                "tls/server-tokens",
                Severity::Low,
                d.range.clone(),
                format!(
                    "{} {} announces the server's version in every response and error page; \
                     turn it off",
                    d.name,
                    d.args.join(" ")
                ),
            );
        }
    }
    for (_, range) in plain_http_blocks(file, cfg) {
        push(
            "tls/plain-http",
            Severity::Medium,
            range,
            "this server answers plain HTTP without redirecting to HTTPS, so sessions and \
             passwords cross the network in the clear; redirect it with a 301 to https://"
                .to_string(),
        );
    }
    out
}
