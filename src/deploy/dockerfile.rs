//! Dockerfile: the final stage's `CMD` and `ENTRYPOINT` (the last of each wins), in exec form
//! (a JSON list) or shell form, with the stage's `WORKDIR`, `ENV` and `EXPOSE`.

use std::ops::Range;

use super::{Command, Form};

/// One instruction: its keyword (upper-case), and the bytes of its arguments, continuation
/// lines included.
struct Instruction {
    keyword: String,
    args: Range<usize>,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut lines = super::lines_with_offsets(text).peekable();
    while let Some((start, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let kw_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let args_start = start + lead + kw_len;
        let mut end = start + line.len();
        let mut last = line;
        // `\` at the end of a line continues the instruction; comment lines inside are skipped.
        while last.trim_end().ends_with('\\') {
            let Some((s, next)) = lines.next() else { break };
            if next.trim_start().starts_with('#') {
                continue;
            }
            end = s + next.len();
            last = next;
        }
        let args_start = args_start.min(end);
        // Past leading whitespace of the arguments.
        let skip = text
            .get(args_start..end)
            .map(|a| a.len() - a.trim_start().len())
            .unwrap_or(0);
        let trimmed_end = text
            .get(args_start..end)
            .map(|a| args_start + a.trim_end().len())
            .unwrap_or(end);
        out.push(Instruction {
            keyword,
            args: (args_start + skip).min(trimmed_end)..trimmed_end,
        });
    }
    out
}

/// An exec-form argument list, if `args` is one.
fn exec_form(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    // Continuation backslashes are not JSON.
    let joined = t.replace("\\\n", " ").replace("\\\r\n", " ");
    serde_json::from_str::<Vec<String>>(&joined).ok()
}

/// `ENV A=1 B=2` or `ENV A 1`.
fn env_pairs(args: &str) -> Vec<(String, String)> {
    let words: Vec<String> = super::shell::split_commands(args)
        .into_iter()
        .flatten()
        .map(|w| w.text)
        .collect();
    if words.len() >= 2 && !words[0].contains('=') {
        return vec![(words[0].clone(), words[1..].join(" "))];
    }
    words
        .iter()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn commands(file: usize, text: &str) -> Vec<Command> {
    let mut workdir: Option<String> = None;
    let mut env = Vec::new();
    let mut port = None;
    let mut cmd: Option<Instruction> = None;
    let mut entrypoint: Option<Instruction> = None;
    for ins in instructions(text) {
        let args = text.get(ins.args.clone()).unwrap_or("");
        match ins.keyword.as_str() {
            "FROM" => {
                // A new stage: only the last one's settings end up in the image.
                workdir = None;
                env.clear();
                port = None;
                cmd = None;
                entrypoint = None;
            }
            "WORKDIR" => {
                let w = args.trim().trim_matches('"').to_string();
                workdir = Some(match (&workdir, w.starts_with('/')) {
                    (Some(base), false) => format!("{}/{w}", base.trim_end_matches('/')),
                    _ => w,
                });
            }
            "ENV" => env.extend(env_pairs(args)),
            "EXPOSE" => {
                port = args
                    .split_whitespace()
                    .next()
                    .map(|p| p.split('/').next().unwrap_or(p).to_string());
            }
            "CMD" => cmd = Some(ins),
            "ENTRYPOINT" => entrypoint = Some(ins),
            _ => {}
        }
    }
    let make = |ins: Instruction, what: &str| {
        let args = text.get(ins.args.clone()).unwrap_or("");
        Command {
            file,
            what: what.to_string(),
            form: match exec_form(args) {
                Some(argv) => Form::Exec(argv),
                None => Form::Shell,
            },
            range: ins.args,
            workdir: workdir.clone(),
            env: env.clone(),
            port: port.clone(),
        }
    };
    let mut out = Vec::new();
    let entry = entrypoint.map(|e| make(e, "ENTRYPOINT"));
    let cmd = cmd.map(|c| make(c, "CMD"));
    // An exec-form ENTRYPOINT takes CMD as its arguments: `ENTRYPOINT ["python"]` with
    // `CMD ["app.py"]` runs `python app.py`. What runs is reported at the CMD.
    match (entry, cmd) {
        (Some(e), Some(mut c)) => match (&e.form, &c.form) {
            (Form::Exec(ea), Form::Exec(ca)) if !ea.is_empty() => {
                c.form = Form::Exec(ea.iter().chain(ca).cloned().collect());
                c.what = "ENTRYPOINT and CMD".to_string();
                out.push(c);
            }
            _ => out.push(e),
        },
        (Some(e), None) => out.push(e),
        (None, Some(c)) => out.push(c),
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_stage_and_both_forms() {
        let text = "FROM python:3.12 AS build\nCMD [\"gunicorn\", \"x:app\"]\nFROM python:3.12-slim\nWORKDIR /app\nENV FLASK_APP=shop PORT=8000\nEXPOSE 8000/tcp\nCMD flask run \\\n    --host=0.0.0.0\n";
        let cmds = commands(0, text);
        assert_eq!(cmds.len(), 1);
        let c = &cmds[0];
        assert_eq!(c.form, Form::Shell);
        assert_eq!(&text[c.range.clone()], "flask run \\\n    --host=0.0.0.0");
        assert_eq!(c.workdir.as_deref(), Some("/app"));
        assert_eq!(c.port.as_deref(), Some("8000"));
        assert!(
            c.env
                .contains(&("FLASK_APP".to_string(), "shop".to_string()))
        );

        let text = "FROM python\nENTRYPOINT [\"python\"]\nCMD [\"app.py\"]\n";
        let c = &commands(0, text)[0];
        assert_eq!(c.form, Form::Exec(vec!["python".into(), "app.py".into()]));
    }

    #[test]
    fn junk_is_tolerated() {
        for junk in [
            "CMD",
            "CMD [",
            "\\\n\\",
            "FROM\nCMD [\"a\", 1]\n",
            "ENV",
            "WORKDIR",
        ] {
            let _ = commands(0, junk);
        }
    }
}
