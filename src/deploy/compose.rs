//! docker-compose files, read line by line for what the deployment items need: each
//! service's `command:` (and `entrypoint:`), its `working_dir`, `environment` and `ports`.
//!
//! A line-based reading rather than a YAML parser: findings and fixes need the exact bytes a
//! command was written at (a YAML parser gives values, not their spans), compose files are
//! often templated (`${VAR:-x}`), and the few shapes `command:` takes (a plain or quoted
//! string, a flow list `[…]`, a block list of `- item` lines, a `>`/`|` block scalar) are
//! read here directly. Anything else is skipped, never guessed.

use super::{Command, Form};

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        return t[1..t.len() - 1].to_string();
    }
    t.to_string()
}

/// A flow list `[a, "b c"]`, item by item.
fn flow_list(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
        return Some(v);
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for ch in inner.chars() {
        match (quote, ch) {
            (None, '"' | '\'') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => {
                items.push(current.trim().to_string());
                current.clear();
            }
            (_, c) => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_string());
    }
    Some(items)
}

/// Strip a trailing ` # comment` outside quotes.
fn strip_comment(value: &str) -> &str {
    let mut quote: Option<char> = None;
    let bytes: Vec<char> = value.chars().collect();
    let mut byte = 0;
    for (i, &c) in bytes.iter().enumerate() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c2) if c2 == q => quote = None,
            (None, '#') if i > 0 && bytes[i - 1].is_whitespace() => {
                return value[..byte].trim_end();
            }
            _ => {}
        }
        byte += c.len_utf8();
    }
    value
}

/// Reverse proxies a compose file runs in front of the app: `image: nginx:1.27`,
/// `image: traefik`, … (the bytes of the image name, and the proxy).
pub fn proxy_images(text: &str) -> Vec<(std::ops::Range<usize>, &'static str)> {
    const PROXIES: &[&str] = &["nginx", "traefik", "caddy", "haproxy", "httpd", "envoy"];
    let mut out = Vec::new();
    for (start, raw) in super::lines_with_offsets(text) {
        let line = strip_comment(raw);
        let Some(value) = line.trim().strip_prefix("image:") else {
            continue;
        };
        let image = unquote(value);
        // `docker.io/library/nginx:alpine` → `nginx`
        let name = image
            .rsplit('/')
            .next()
            .unwrap_or(&image)
            .split([':', '@'])
            .next()
            .unwrap_or("");
        if let Some(proxy) = PROXIES
            .iter()
            .find(|p| name == **p || name.starts_with(&format!("{p}-")))
        {
            let begin = start + (raw.len() - raw.trim_start().len());
            out.push((begin..start + line.trim_end().len(), *proxy));
        }
    }
    out
}

pub fn commands(file: usize, text: &str) -> Vec<Command> {
    let lines: Vec<(usize, &str)> = super::lines_with_offsets(text).collect();
    let mut out: Vec<Command> = Vec::new();
    // Per service (a key two levels down under `services:`), what applies to its command.
    let mut service_indent: Option<usize> = None;
    let mut service_start = out.len();
    let mut workdir: Option<String> = None;
    let mut env: Vec<(String, String)> = Vec::new();
    let mut port: Option<String> = None;
    let mut i = 0;
    let flush = |out: &mut Vec<Command>,
                 from: usize,
                 w: &Option<String>,
                 e: &[(String, String)],
                 p: &Option<String>| {
        for c in &mut out[from..] {
            c.workdir.clone_from(w);
            c.env = e.to_vec();
            c.port.clone_from(p);
        }
    };
    while i < lines.len() {
        let (start, raw) = lines[i];
        let line = strip_comment(raw);
        let trimmed = line.trim();
        i += 1;
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let ind = indent(line);
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_start_matches("- ");
        let value = value.trim();
        // A service header: `  web:` one level under `services:`.
        if value.is_empty()
            && ind > 0
            && service_indent.is_none_or(|s| ind <= s)
            && !matches!(
                key,
                "command"
                    | "entrypoint"
                    | "environment"
                    | "ports"
                    | "build"
                    | "healthcheck"
                    | "deploy"
                    | "volumes"
                    | "depends_on"
                    | "networks"
                    | "labels"
            )
        {
            flush(&mut out, service_start, &workdir, &env, &port);
            service_indent = Some(ind);
            service_start = out.len();
            workdir = None;
            env.clear();
            port = None;
            continue;
        }
        match key {
            "working_dir" => workdir = Some(unquote(value)),
            "environment" => {
                // A list (`- KEY=value`) or a map (`KEY: value`) on the following lines.
                while i < lines.len() && (indent(lines[i].1) > ind || lines[i].1.trim().is_empty())
                {
                    let item = strip_comment(lines[i].1).trim();
                    i += 1;
                    let item = item.strip_prefix("- ").unwrap_or(item);
                    let pair = item
                        .split_once('=')
                        .or_else(|| item.split_once(':'))
                        .map(|(k, v)| (unquote(k), unquote(v)));
                    if let Some(p) = pair {
                        env.push(p);
                    }
                }
            }
            // `"8000:5000"`: the container's port is the last part.
            "ports" if i < lines.len() => {
                let item = unquote(strip_comment(lines[i].1).trim().trim_start_matches("- "));
                port = item
                    .rsplit(':')
                    .next()
                    .map(|p| p.split('/').next().unwrap_or(p).to_string());
            }
            "command" | "entrypoint" => {
                let value_start = start + raw.find(':').map(|c| c + 1).unwrap_or(0);
                let lead = text
                    .get(value_start..start + line.len())
                    .map(|v| v.len() - v.trim_start().len())
                    .unwrap_or(0);
                let vstart = value_start + lead;
                let vend = start + line.trim_end().len();
                let cmd = if value.is_empty() {
                    // A block list of `- item` lines.
                    let mut items = Vec::new();
                    let first = i;
                    let mut end = vend;
                    while i < lines.len()
                        && indent(lines[i].1) > ind
                        && lines[i].1.trim_start().starts_with('-')
                    {
                        items.push(unquote(
                            strip_comment(lines[i].1).trim().trim_start_matches('-'),
                        ));
                        end = lines[i].0 + lines[i].1.trim_end().len();
                        i += 1;
                    }
                    (i > first).then_some((vstart..end, Form::Exec(items)))
                } else if value.starts_with('>') || value.starts_with('|') {
                    let first = i;
                    let mut end = vend;
                    let mut parts = Vec::new();
                    while i < lines.len()
                        && (indent(lines[i].1) > ind || lines[i].1.trim().is_empty())
                    {
                        parts.push(lines[i].1.trim().to_string());
                        end = lines[i].0 + lines[i].1.trim_end().len();
                        i += 1;
                    }
                    // A block scalar: the command is the text below the indicator.
                    (i > first).then(|| {
                        let body_start = lines[first].0 + indent(lines[first].1);
                        (body_start..end, Form::Shell)
                    })
                } else if let Some(items) = flow_list(value) {
                    Some((vstart..vend, Form::Exec(items)))
                } else {
                    let raw_value = text.get(vstart..vend).unwrap_or("");
                    let quoted = raw_value.len() >= 2
                        && ((raw_value.starts_with('"') && raw_value.ends_with('"'))
                            || (raw_value.starts_with('\'') && raw_value.ends_with('\'')));
                    let range = if quoted {
                        vstart + 1..vend - 1
                    } else {
                        vstart..vend
                    };
                    Some((range, Form::Shell))
                };
                if let Some((range, form)) = cmd {
                    out.push(Command {
                        file,
                        what: key.to_string(),
                        range,
                        form,
                        workdir: None,
                        env: Vec::new(),
                        port: None,
                    });
                }
            }
            _ => {}
        }
    }
    flush(&mut out, service_start, &workdir, &env, &port);
    // A service's entrypoint and command run together; the command is what is reported
    // unless there is only an entrypoint. Kept simple: both are listed.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_shapes() {
        let text = "services:\n  web:\n    build: .\n    command: flask run --host=0.0.0.0  # dev\n    environment:\n      - FLASK_APP=shop\n    ports:\n      - \"8000:5000\"\n  worker:\n    command: [\"celery\", \"-A\", \"tasks\", \"worker\"]\n  other:\n    command:\n      - python\n      - app.py\n  quoted:\n    command: \"python -m shop\"\n";
        let cmds = commands(0, text);
        assert_eq!(cmds.len(), 4);
        assert_eq!(&text[cmds[0].range.clone()], "flask run --host=0.0.0.0");
        assert_eq!(
            cmds[0].env,
            vec![("FLASK_APP".to_string(), "shop".to_string())]
        );
        assert_eq!(cmds[0].port.as_deref(), Some("5000"));
        assert_eq!(
            cmds[1].form,
            Form::Exec(vec![
                "celery".into(),
                "-A".into(),
                "tasks".into(),
                "worker".into()
            ])
        );
        assert_eq!(
            cmds[2].form,
            Form::Exec(vec!["python".into(), "app.py".into()])
        );
        assert_eq!(&text[cmds[3].range.clone()], "python -m shop");
    }

    #[test]
    fn proxy_services() {
        let text = "services:\n  web:\n    image: python:3.12\n  proxy:\n    image: \"nginx:1.27-alpine\"  # front\n  lb:\n    image: docker.io/library/traefik:v3\n";
        let found: Vec<&str> = proxy_images(text).into_iter().map(|(_, p)| p).collect();
        assert_eq!(found, ["nginx", "traefik"]);
        assert_eq!(
            &text[proxy_images(text)[0].0.clone()],
            "image: \"nginx:1.27-alpine\""
        );
    }

    #[test]
    fn junk_is_tolerated() {
        for junk in [
            "command:",
            "command: [",
            "  command: >\n",
            "command: \"",
            ":\n:\n- -",
            "command:\n  - \n",
        ] {
            let _ = commands(0, junk);
        }
    }
}
