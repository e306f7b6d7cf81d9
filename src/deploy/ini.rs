//! INI-style files: supervisord's `[program:x]` sections (`command=`, `directory=`,
//! `environment=`) and systemd units' `[Service]` section (`ExecStart=`, `WorkingDirectory=`,
//! `Environment=`).

use super::{Command, Form};

struct Entry {
    section: String,
    key: String,
    /// Bytes of the value, continuation lines included.
    value: std::ops::Range<usize>,
}

/// `key = value` entries by section; an indented line continues the previous value
/// (supervisord), a trailing `\` too (systemd).
fn entries(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section = String::new();
    let mut continues = false;
    for (start, line) in super::lines_with_offsets(text) {
        let trimmed = line.trim();
        let indented = line.starts_with([' ', '\t']);
        if (continues || (indented && !trimmed.is_empty()))
            && !trimmed.starts_with(['#', ';'])
            && let Some(last) = out.last_mut()
            && !trimmed.is_empty()
            && (continues || !trimmed.contains('='))
        {
            last.value.end = start + line.trim_end().len();
            continues = trimmed.ends_with('\\');
            continue;
        }
        continues = false;
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']']).to_string();
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let key = line[..eq].trim().to_string();
        let value = &line[eq + 1..];
        let lead = value.len() - value.trim_start().len();
        let vstart = start + eq + 1 + lead;
        let vend = (start + line.trim_end().len()).max(vstart);
        continues = value.trim_end().ends_with('\\');
        out.push(Entry {
            section: section.clone(),
            key,
            value: vstart..vend,
        });
    }
    out
}

/// `A="1",B=2` (supervisord) or `A=1 "B=2 3"` (systemd).
fn env_pairs(value: &str) -> Vec<(String, String)> {
    super::shell::split_commands(&value.replace(',', " "))
        .into_iter()
        .flatten()
        .filter_map(|w| {
            let (k, v) = w.text.split_once('=')?;
            Some((k.trim().to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

pub fn supervisord(file: usize, text: &str) -> Vec<Command> {
    collect(
        file,
        text,
        |s| s.starts_with("program:"),
        "command",
        "directory",
        "environment",
    )
}

pub fn systemd(file: usize, text: &str) -> Vec<Command> {
    let mut cmds = collect(
        file,
        text,
        |s| s == "Service",
        "ExecStart",
        "WorkingDirectory",
        "Environment",
    );
    // `ExecStart=-/usr/bin/x`: the prefixes change how systemd treats failures, not what runs.
    for c in &mut cmds {
        let t = text.get(c.range.clone()).unwrap_or("");
        let skip = t.len() - t.trim_start_matches(['-', '@', '+', '!', ':']).len();
        c.range.start = (c.range.start + skip).min(c.range.end);
    }
    cmds
}

fn collect(
    file: usize,
    text: &str,
    section: impl Fn(&str) -> bool,
    command_key: &str,
    dir_key: &'static str,
    env_key: &'static str,
) -> Vec<Command> {
    let all = entries(text);
    let mut out = Vec::new();
    for e in all
        .iter()
        .filter(|e| section(&e.section) && e.key == command_key)
    {
        let same = |key: &'static str| {
            all.iter()
                .filter(move |x| x.section == e.section && x.key == key)
        };
        let workdir = same(dir_key)
            .next_back()
            .and_then(|d| text.get(d.value.clone()))
            .map(str::to_string);
        let env = same(env_key)
            .flat_map(|d| env_pairs(text.get(d.value.clone()).unwrap_or("")))
            .collect();
        if e.value.is_empty() {
            continue;
        }
        out.push(Command {
            file,
            what: command_key.to_string(),
            range: e.value.clone(),
            form: Form::Shell,
            workdir,
            env,
            port: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_and_units() {
        let text = "[supervisord]\nnodaemon=true\n[program:web]\ncommand=python app.py\ndirectory=/srv/app\nenvironment=FLASK_APP=\"app\",A=1\n";
        let c = &supervisord(0, text)[0];
        assert_eq!(&text[c.range.clone()], "python app.py");
        assert_eq!(c.workdir.as_deref(), Some("/srv/app"));
        assert!(
            c.env
                .contains(&("FLASK_APP".to_string(), "app".to_string()))
        );
        let text = "[Unit]\nDescription=x\n[Service]\nWorkingDirectory=/srv\nExecStart=-/srv/venv/bin/flask run \\\n  --host 0.0.0.0\n";
        let c = &systemd(0, text)[0];
        assert_eq!(
            &text[c.range.clone()],
            "/srv/venv/bin/flask run \\\n  --host 0.0.0.0"
        );
        let _ = systemd(0, "[Service]\nExecStart=\n=\n[\n");
    }
}
