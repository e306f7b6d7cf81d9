//! Fixes for the tls item, in the committed nginx and Apache configs: the standard modern
//! settings (Mozilla's intermediate profile) in place of the old protocol and cipher lines,
//! the server's version hidden, and a permanent redirect to HTTPS for a plain-HTTP server when
//! the repository configures HTTPS for it to go to.

use super::super::plan::PatchBuilder;
use super::super::{Applicability, FixContext, FixPlan, Generated, Unfixable};
use crate::checks::tls::plain_http_blocks;
use crate::deploy::{DeployFile, Deployment, Directive, Format, ServerConfig};
use crate::finding::Finding;

/// Mozilla's intermediate cipher list (TLS 1.2; TLS 1.3 suites are not configured by it).
pub const INTERMEDIATE_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/// The directive's modern replacement, written as the format writes it.
fn modern(format: Format, d: &Directive, rule: &str) -> Option<String> {
    let name = d.name.as_str();
    let lower = name.to_ascii_lowercase();
    Some(match (format, rule, lower.as_str()) {
        (Format::Nginx, "tls/old-protocols", _) => format!("{name} TLSv1.2 TLSv1.3;"),
        (Format::Nginx, "tls/weak-ciphers", _) => format!("{name} {INTERMEDIATE_CIPHERS};"),
        (Format::Nginx, "tls/server-tokens", _) => format!("{name} off;"),
        (Format::Apache, "tls/old-protocols", _) => format!("{name} -all +TLSv1.2 +TLSv1.3"),
        (Format::Apache, "tls/weak-ciphers", _) => format!("{name} {INTERMEDIATE_CIPHERS}"),
        (Format::Apache, "tls/server-tokens", "servertokens") => format!("{name} Prod"),
        (Format::Apache, "tls/server-tokens", _) => format!("{name} Off"),
        (Format::Caddy, "tls/old-protocols", _) => format!("{name} tls1.2 tls1.3"),
        _ => return None,
    })
}

/// Whether the file configures an HTTPS server for the redirect to reach.
fn has_https(file: &DeployFile, cfg: &ServerConfig) -> bool {
    cfg.directives.iter().any(|d| match file.format {
        Format::Nginx => {
            d.name == "ssl_certificate"
                || (d.name == "listen" && d.args.iter().any(|a| a == "ssl" || a.ends_with("443")))
        }
        Format::Apache => {
            d.name.eq_ignore_ascii_case("SSLEngine")
                || d.name.eq_ignore_ascii_case("SSLCertificateFile")
        }
        _ => false,
    })
}

/// The redirect to insert at the top of a plain-HTTP block, and where.
fn redirect(
    file: &DeployFile,
    cfg: &ServerConfig,
    block: usize,
) -> Result<(usize, String), String> {
    let b = cfg.blocks.get(block).ok_or("no such block")?;
    let text = file.text();
    // After the block's listen and server name lines, else right after its header.
    let anchor = cfg
        .directives
        .iter()
        .filter(|d| {
            d.block == Some(block)
                && ["listen", "server_name", "servername", "serveralias"]
                    .contains(&d.name.to_ascii_lowercase().as_str())
        })
        .map(|d| d.range.end)
        .max()
        .unwrap_or(b.range.end);
    let after_header = text
        .get(anchor..)
        .and_then(|rest| rest.find('\n'))
        .map(|n| anchor + n + 1)
        .ok_or("the block's header ends the file")?;
    let first = cfg.in_block(block).next();
    let indent = first
        .map(|d| {
            let line_start = text[..d.range.start]
                .rfind('\n')
                .map(|n| n + 1)
                .unwrap_or(0);
            text[line_start..d.range.start].to_string()
        })
        .filter(|i| i.trim().is_empty())
        .unwrap_or_else(|| "    ".to_string());
    match file.format {
        Format::Nginx => {
            let mixed = cfg.in_block(block).any(|d| {
                d.name == "listen" && d.args.iter().any(|a| a == "ssl" || a.ends_with("443"))
            });
            let line = if mixed {
                format!("{indent}if ($scheme = http) {{\n{indent}    return 301 https://$host$request_uri;\n{indent}}}\n")
            } else {
                format!("{indent}return 301 https://$host$request_uri;\n")
            };
            Ok((after_header, line))
        }
        Format::Apache => {
            let host = cfg
                .in_block(block)
                .find(|d| d.name.eq_ignore_ascii_case("ServerName"))
                .and_then(|d| d.args.first())
                .ok_or("the virtual host has no ServerName to redirect to")?;
            Ok((after_header, format!("{indent}Redirect permanent / https://{host}/\n")))
        }
        _ => Err("Caddy redirects to HTTPS by itself when the site address is a host name without http://".into()),
    }
}

pub fn settings(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let deployment = Deployment::from_snapshot(ctx.snapshot);
    findings
        .iter()
        .map(|f| {
            let no = |r: &str| Unfixable::new(f, r);
            let (file, cfg) = deployment
                .server_configs()
                .find(|(file, _)| file.path == f.path)
                .ok_or_else(|| no("the config is not in the snapshot"))?;
            let mut patch = PatchBuilder::new(&file.path, file.text());
            let title = if f.rule == "tls/plain-http" {
                let (block, _) = plain_http_blocks(file, cfg)
                    .into_iter()
                    .find(|(_, r)| file.line_of(r.start) == f.line)
                    .ok_or_else(|| no("the server block is not where the finding says"))?;
                if !has_https(file, cfg) {
                    return Err(no(
                        "no HTTPS server is configured in this file: if TLS ends in front of this \
                         server, redirect there; a redirect here would loop or lead nowhere",
                    ));
                }
                let (at, line) = redirect(file, cfg, block).map_err(|e| no(&e))?;
                patch.insert(at, line).map_err(|e| no(&e.to_string()))?;
                "redirect plain HTTP to HTTPS"
            } else {
                let d = cfg
                    .directives
                    .iter()
                    .find(|d| file.line_of(d.range.start) == f.line)
                    .ok_or_else(|| no("the directive is not where the finding says"))?;
                let new = modern(file.format, d, &f.rule)
                    .ok_or_else(|| no("no modern setting for this directive"))?;
                patch
                    .replace(d.range.clone(), new)
                    .map_err(|e| no(&e.to_string()))?;
                match f.rule.as_str() {
                    "tls/old-protocols" => "allow TLSv1.2 and TLSv1.3 only",
                    "tls/weak-ciphers" => "use Mozilla's intermediate cipher list",
                    _ => "stop announcing the server's version",
                }
            };
            Ok(FixPlan::new(&f.rule, title, Applicability::Safe)
                .fixing(f)
                .with_patch(patch.finish().map_err(|e| no(&e.to_string()))?))
        })
        .collect()
}
