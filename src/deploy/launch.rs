//! What a command starts: Flask's development server (`flask run`, `python -m flask run`), a
//! Python script or module (which may call `app.run()`), a WSGI server, or something else.

use std::ops::Range;

use super::shell::{Word, split_commands};

/// WSGI (and ASGI) servers meant for production.
pub const PRODUCTION_SERVERS: &[&str] = &[
    "gunicorn",
    "uwsgi",
    "waitress-serve",
    "uvicorn",
    "hypercorn",
    "granian",
    "mod_wsgi-express",
    "daphne",
    "bjoern",
    "cheroot",
];

/// Wrappers that run the command that follows them.
const WRAPPERS: &[&str] = &[
    "exec",
    "nohup",
    "env",
    "dumb-init",
    "tini",
    "gosu",
    "su-exec",
];

/// Tools whose `run` subcommand runs the command that follows.
const RUNNERS: &[&str] = &["uv", "poetry", "pipenv", "pdm", "rye", "hatch"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `flask run`: the Werkzeug development server.
    FlaskRun {
        /// `--app` / `-A`, or FLASK_APP set on the command line.
        app: Option<String>,
        host: Option<String>,
        port: Option<String>,
    },
    /// `python script.py` or `python -m module`.
    Python {
        script: Option<String>,
        module: Option<String>,
    },
    /// A production server (its program name).
    Server(String),
    /// A shell script (`./boot.sh`, `sh start.sh`), which may start either.
    Script(String),
    Other,
}

/// One simple command of a deployment file, analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub launch: Launch,
    /// The bytes of the simple command (from its first word after any `VAR=value`/wrapper to
    /// its last word) in the text that was analysed; `None` when it sits inside a quoted
    /// `sh -c` string whose bytes do not map one to one.
    pub span: Option<Range<usize>>,
    /// `VAR=value` assignments written before the command.
    pub env: Vec<(String, String)>,
}

/// Every simple command of a shell command line, analysed (`sh -c '…'` is looked into).
pub fn analyse_shell(text: &str) -> Vec<Started> {
    let mut out = Vec::new();
    for words in split_commands(text) {
        analyse_words(text, &words, 0, &mut out, 0);
    }
    out
}

/// An exec-form command (`["python", "app.py"]`), analysed; spans are indexes into `argv`
/// (`0..argv.len()`) rather than bytes.
pub fn analyse_argv(argv: &[String]) -> Vec<Started> {
    let words: Vec<Word> = argv
        .iter()
        .enumerate()
        .map(|(i, a)| Word {
            text: a.clone(),
            span: i..i + 1,
        })
        .collect();
    let mut out = Vec::new();
    // `sh -c "…"` in exec form: the string is a shell command line of its own.
    let start = skip_prefix(&words).0;
    if let Some(first) = words.get(start)
        && matches!(
            basename(&first.text),
            "sh" | "bash" | "ash" | "dash" | "zsh"
        )
        && let Some(pos) = words[start..]
            .iter()
            .position(|w| w.text == "-c" || w.text == "-lc" || w.text == "-ec")
        && let Some(script) = words.get(start + pos + 1)
    {
        for mut s in analyse_shell(&script.text) {
            s.span = None;
            out.push(s);
        }
        return out;
    }
    analyse_words("", &words, 0, &mut out, 0);
    out
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Leading `VAR=value` words, wrappers and `uv run`-style runners: where the real command
/// starts, and the assignments.
fn skip_prefix(words: &[Word]) -> (usize, Vec<(String, String)>) {
    let mut env = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if let Some((k, v)) = t.split_once('=')
            && !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
        {
            env.push((k.to_string(), v.to_string()));
            i += 1;
        } else if WRAPPERS.contains(&basename(t))
            || t == "--"
            || (t.starts_with('-') && i > 0 && WRAPPERS.contains(&basename(&words[i - 1].text)))
        {
            i += 1;
        } else if RUNNERS.contains(&basename(t))
            && words.get(i + 1).is_some_and(|n| n.text == "run")
        {
            i += 2;
            // Options of the runner itself (`uv run --no-dev python …`).
            while words.get(i).is_some_and(|n| n.text.starts_with('-')) {
                i += 1;
            }
        } else {
            break;
        }
    }
    (i, env)
}

fn analyse_words(text: &str, words: &[Word], base: usize, out: &mut Vec<Started>, depth: usize) {
    if depth > 4 {
        return;
    }
    let (start, env) = skip_prefix(words);
    let rest = &words[start..];
    let Some(first) = rest.first() else { return };
    let program = basename(&first.text);
    let span = rest
        .last()
        .map(|last| base + first.span.start..base + last.span.end);
    // `sh -c '…'`: analyse the string; its spans map to the text when it is quoted plainly.
    if matches!(program, "sh" | "bash" | "ash" | "dash" | "zsh") {
        if let Some(pos) = rest
            .iter()
            .position(|w| matches!(w.text.as_str(), "-c" | "-lc" | "-ec"))
            && let Some(script) = rest.get(pos + 1)
        {
            let raw = text.get(script.span.clone()).unwrap_or("");
            let plain = raw.len() == script.text.len() + 2
                && (raw.starts_with('\'') || raw.starts_with('"'))
                && raw.get(1..raw.len() - 1) == Some(script.text.as_str());
            let before = out.len();
            for inner in split_commands(&script.text) {
                analyse_words(
                    &script.text,
                    &inner,
                    base + script.span.start + 1,
                    out,
                    depth + 1,
                );
            }
            if !plain {
                for s in &mut out[before..] {
                    s.span = None;
                }
            }
        } else if let Some(script) = rest.get(1).filter(|w| !w.text.starts_with('-')) {
            out.push(Started {
                launch: Launch::Script(script.text.clone()),
                span,
                env,
            });
        }
        return;
    }
    let launch = launch_of(rest);
    out.push(Started { launch, span, env });
}

fn launch_of(words: &[Word]) -> Launch {
    let Some(first) = words.first() else {
        return Launch::Other;
    };
    let program = basename(&first.text);
    if PRODUCTION_SERVERS.contains(&program) {
        return Launch::Server(program.to_string());
    }
    if program == "flask" {
        return flask_command(&words[1..]);
    }
    if program.ends_with(".sh") {
        return Launch::Script(first.text.clone());
    }
    let is_python = program.starts_with("python") || program.starts_with("pypy");
    if !is_python {
        return Launch::Other;
    }
    let mut i = 1;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        match t {
            "-m" => {
                let Some(module) = words.get(i + 1) else {
                    return Launch::Other;
                };
                let m = module.text.as_str();
                if m == "flask" {
                    return flask_command(&words[i + 2..]);
                }
                if PRODUCTION_SERVERS.contains(&m) || m == "waitress" {
                    return Launch::Server(m.to_string());
                }
                return Launch::Python {
                    script: None,
                    module: Some(m.to_string()),
                };
            }
            "-c" => return Launch::Other,
            "-W" | "-X" | "-Q" => i += 2,
            _ if t.starts_with('-') => i += 1,
            _ => {
                return Launch::Python {
                    script: Some(t.to_string()),
                    module: None,
                };
            }
        }
    }
    Launch::Other
}

/// The arguments after `flask`: `flask [--app X] run [--host H] [--port P]`.
fn flask_command(args: &[Word]) -> Launch {
    let mut app = None;
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        if let Some(v) = t.strip_prefix("--app=") {
            app = Some(v.to_string());
            i += 1;
        } else if t == "--app" || t == "-A" || t == "--env-file" || t == "-e" {
            if t != "--env-file" && t != "-e" {
                app = args.get(i + 1).map(|a| a.text.clone());
            }
            i += 2;
        } else if t.starts_with('-') {
            i += 1;
        } else if t == "run" {
            let (host, port) = run_options(&args[i + 1..]);
            return Launch::FlaskRun { app, host, port };
        } else {
            return Launch::Other;
        }
    }
    Launch::Other
}

fn run_options(args: &[Word]) -> (Option<String>, Option<String>) {
    let mut host = None;
    let mut port = None;
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        let next = args.get(i + 1).map(|a| a.text.clone());
        if let Some(v) = t.strip_prefix("--host=") {
            host = Some(v.to_string());
        } else if let Some(v) = t.strip_prefix("--port=") {
            port = Some(v.to_string());
        } else if t == "--host" || t == "-h" {
            host = next;
            i += 1;
        } else if t == "--port" || t == "-p" {
            port = next;
            i += 1;
        }
        i += 1;
    }
    (host, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launches(text: &str) -> Vec<Launch> {
        analyse_shell(text).into_iter().map(|s| s.launch).collect()
    }

    #[test]
    fn recognises_dev_servers_and_wsgi_servers() {
        assert_eq!(
            launches("flask db upgrade && exec flask --app shop run --host=0.0.0.0 -p 8000"),
            vec![
                Launch::Other,
                Launch::FlaskRun {
                    app: Some("shop".into()),
                    host: Some("0.0.0.0".into()),
                    port: Some("8000".into())
                }
            ]
        );
        assert_eq!(
            launches("uv run python -u app.py"),
            vec![Launch::Python {
                script: Some("app.py".into()),
                module: None
            }]
        );
        assert_eq!(
            launches("sh -c 'python -m flask run'"),
            vec![Launch::FlaskRun {
                app: None,
                host: None,
                port: None
            }]
        );
        assert_eq!(
            launches("./boot.sh; bash scripts/start.sh --fast"),
            vec![
                Launch::Script("./boot.sh".into()),
                Launch::Script("scripts/start.sh".into())
            ]
        );
        assert_eq!(
            launches("/venv/bin/gunicorn -w 4 app:app"),
            vec![Launch::Server("gunicorn".into())]
        );
        let argv: Vec<String> = ["python3", "-m", "myapp.server"].map(String::from).to_vec();
        assert_eq!(
            analyse_argv(&argv)[0].launch,
            Launch::Python {
                script: None,
                module: Some("myapp.server".into())
            }
        );
    }

    #[test]
    fn spans_point_at_the_command() {
        let text = "FLASK_APP=x flask run";
        let s = &analyse_shell(text)[0];
        assert_eq!(s.env, vec![("FLASK_APP".to_string(), "x".to_string())]);
        assert_eq!(s.span.clone().map(|r| &text[r]), Some("flask run"));
        let text = "sh -c 'flask run --host 0.0.0.0'";
        let s = &analyse_shell(text)[0];
        assert_eq!(
            s.span.clone().map(|r| &text[r]),
            Some("flask run --host 0.0.0.0")
        );
    }
}
