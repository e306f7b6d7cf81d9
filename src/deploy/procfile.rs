//! Procfile (Heroku, Dokku, honcho): `process: command` lines.

use super::{Command, Form};

pub fn commands(file: usize, text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for (start, line) in super::lines_with_offsets(text) {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, command)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let lead = command.len() - command.trim_start().len();
        let cmd_start = start + line.find(':').map(|i| i + 1).unwrap_or(0) + lead;
        let end = start + line.trim_end().len();
        if cmd_start >= end {
            continue;
        }
        out.push(Command {
            file,
            what: name.to_string(),
            range: cmd_start..end,
            form: Form::Shell,
            workdir: None,
            env: Vec::new(),
            port: Some("$PORT".to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_lines() {
        let text = "# comment\nweb: python app.py\nworker: celery -A tasks worker\n";
        let cmds = commands(0, text);
        assert_eq!(cmds.len(), 2);
        assert_eq!(&text[cmds[0].range.clone()], "python app.py");
        assert_eq!(cmds[0].what, "web");
        let _ = commands(0, "web:\n:\n\u{0}:x");
    }
}
