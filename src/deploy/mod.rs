//! Deployment files of the repository, read (never run): how the app is started (Dockerfile
//! `CMD`/`ENTRYPOINT`, Procfile, docker-compose `command`, supervisord programs, systemd
//! units) and how it is served (nginx, Apache and Caddy configs, platform settings).
//!
//! One module per format turns a file's text into [`Command`]s and [`ServerConfig`]s with the
//! byte ranges they were written at, so findings point at the right line and fixes replace
//! exactly the command. Every parser is tolerant: junk gives fewer results, never a panic, and
//! every loop advances on each step.

pub mod apache;
pub mod caddy;
pub mod compose;
pub mod dockerfile;
pub mod ini;
pub mod launch;
pub mod nginx;
pub mod procfile;
pub mod shell;

use std::ops::Range;

use ruff_text_size::{TextRange, TextSize};

use crate::finding::{Finding, Severity};
use crate::project::{FileKind, ProjectFiles};
use crate::source::SourceText;

pub use launch::{Launch, Started};

/// The kind of deployment file, by its name and (for `.conf` files) its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dockerfile,
    Procfile,
    Compose,
    Supervisord,
    Systemd,
    Nginx,
    Apache,
    Caddy,
    /// A hosting platform's settings (heroku.yml, app.json, fly.toml, render.yaml, app.yaml,
    /// Elastic Beanstalk): the app runs behind the platform's load balancer.
    Platform,
    /// A shell script: what it starts counts when a deployment command runs it.
    Script,
}

impl Format {
    pub fn is_web_server(self) -> bool {
        matches!(self, Format::Nginx | Format::Apache | Format::Caddy)
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Dockerfile => "Dockerfile",
            Format::Procfile => "Procfile",
            Format::Compose => "docker-compose file",
            Format::Supervisord => "supervisord config",
            Format::Systemd => "systemd unit",
            Format::Nginx => "nginx config",
            Format::Apache => "Apache config",
            Format::Caddy => "Caddyfile",
            Format::Platform => "platform config",
            Format::Script => "shell script",
        }
    }
}

/// Folders whose files are web server configs whatever their names.
const SERVER_CONFIG_DIRS: &[&str] = &[
    "nginx",
    "sites-available",
    "sites-enabled",
    "conf.d",
    "apache",
    "apache2",
    "httpd",
    "caddy",
];

/// Whether the scan should list `rel` as a possible deployment file (by its name only; the
/// content decides later for `.conf` files).
pub fn is_deployment_path(rel: &str) -> bool {
    format_by_name(rel).is_some() || maybe_server_config(rel)
}

fn format_by_name(rel: &str) -> Option<Format> {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    let parent = rel.rsplit('/').nth(1).unwrap_or("").to_ascii_lowercase();
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    if matches!(name.as_str(), "dockerfile" | "containerfile")
        || name.starts_with("dockerfile.")
        || name.ends_with(".dockerfile")
    {
        Some(Format::Dockerfile)
    } else if name == "procfile" || name.starts_with("procfile.") {
        Some(Format::Procfile)
    } else if yaml && (name.starts_with("docker-compose") || name.starts_with("compose")) {
        Some(Format::Compose)
    } else if name == "caddyfile" || name.starts_with("caddyfile.") || name.ends_with(".caddyfile")
    {
        Some(Format::Caddy)
    } else if name.ends_with(".sh") {
        Some(Format::Script)
    } else if name.ends_with(".service") {
        Some(Format::Systemd)
    } else if name == ".htaccess" || name == "httpd.conf" || name == "apache2.conf" {
        Some(Format::Apache)
    } else if name == "nginx.conf" || name.ends_with(".nginx") {
        Some(Format::Nginx)
    } else if matches!(
        name.as_str(),
        "heroku.yml" | "app.json" | "fly.toml" | "render.yaml" | "app.yaml"
    ) || parent == ".ebextensions"
    {
        Some(Format::Platform)
    } else {
        None
    }
}

fn maybe_server_config(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    let parent = rel.rsplit('/').nth(1).unwrap_or("").to_ascii_lowercase();
    name.ends_with(".conf")
        || name.ends_with(".vhost")
        || (SERVER_CONFIG_DIRS.contains(&parent.as_str()) && !name.contains('.'))
}

/// The format of a `.conf`-like file, from what it says.
fn sniff(text: &str) -> Option<Format> {
    let has_line = |pred: &dyn Fn(&str) -> bool| text.lines().map(str::trim).any(pred);
    if has_line(&|l| l.starts_with("[program:") || l == "[supervisord]") {
        return Some(Format::Supervisord);
    }
    if has_line(&|l| l.starts_with("[Service]")) {
        return Some(Format::Systemd);
    }
    if has_line(&|l| {
        l.starts_with("<VirtualHost")
            || l.starts_with("<IfModule")
            || l.starts_with("ProxyPass ")
            || l.starts_with("SSLProtocol")
            || l.starts_with("ServerTokens")
            || l.starts_with("WSGIScriptAlias")
            || l.starts_with("Header set")
            || l.starts_with("Header always")
    }) {
        return Some(Format::Apache);
    }
    if has_line(&|l| {
        l.starts_with("server {")
            || l.starts_with("server{")
            || l.starts_with("http {")
            || l.starts_with("upstream ")
            || l.starts_with("proxy_pass ")
            || l.starts_with("location ")
            || (l.starts_with("listen ") && l.ends_with(';'))
    }) {
        return Some(Format::Nginx);
    }
    None
}

/// Whether a file named like a platform's settings is one: `app.yaml` and `app.json` are
/// common names for other things.
fn is_platform_config(path: &str, text: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    match name.as_str() {
        "app.yaml" => text.lines().any(|l| l.trim_start().starts_with("runtime:")),
        "app.json" => ["\"buildpacks\"", "\"formation\"", "\"addons\"", "heroku"]
            .iter()
            .any(|m| text.contains(m)),
        "render.yaml" => text.contains("services:"),
        _ => true,
    }
}

/// A deployment file and its text.
#[derive(Debug, Clone)]
pub struct DeployFile {
    pub path: String,
    pub format: Format,
    pub source: SourceText,
}

impl DeployFile {
    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let at = u32::try_from(offset.min(self.source.text.len())).unwrap_or(u32::MAX);
        self.source.lines().line_of(TextSize::from(at)) + 1
    }

    /// A finding at bytes `range` of this file, its evidence the whole lines.
    pub fn finding(
        &self,
        rule: &str,
        severity: Severity,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Finding {
        let len = self.source.text.len();
        let (start, end) = (
            range.start.min(len),
            range.end.min(len).max(range.start.min(len)),
        );
        let to = |n: usize| TextSize::from(u32::try_from(n).unwrap_or(u32::MAX));
        self.source.finding(
            &self.path,
            rule,
            severity,
            TextRange::new(to(start), to(end)),
            message,
        )
    }
}

/// How a command is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// A shell command line (Dockerfile shell form, Procfile, supervisord, systemd, a compose
    /// string): `range` holds it as written.
    Shell,
    /// An argument list (Dockerfile exec form, a compose list): `range` holds the whole list.
    Exec(Vec<String>),
}

/// A command a deployment file starts the app (or something else) with.
#[derive(Debug, Clone)]
pub struct Command {
    /// Index into [`Deployment::files`].
    pub file: usize,
    /// What the file calls it: `CMD`, `ENTRYPOINT`, `web`, `command`, `ExecStart`.
    pub what: String,
    /// Bytes of the command (or list) in the file.
    pub range: Range<usize>,
    pub form: Form,
    /// The working directory it runs in, when the file says (`WORKDIR`, `directory=`).
    pub workdir: Option<String>,
    /// Environment the file gives it (`ENV`, `environment:`, `Environment=`).
    pub env: Vec<(String, String)>,
    /// A port the file says the service listens on (`EXPOSE`, compose `ports`).
    pub port: Option<String>,
}

impl Command {
    /// The simple commands it runs, with spans made absolute in the file for the shell form
    /// (exec form: indexes into the list).
    pub fn started(&self, text: &str) -> Vec<Started> {
        match &self.form {
            Form::Exec(argv) => launch::analyse_argv(argv),
            Form::Shell => {
                let body = text.get(self.range.clone()).unwrap_or("");
                launch::analyse_shell(body)
                    .into_iter()
                    .map(|mut s| {
                        s.span = s
                            .span
                            .map(|r| r.start + self.range.start..r.end + self.range.start);
                        s
                    })
                    .collect()
            }
        }
    }
}

/// A directive of a web server config: `ssl_protocols TLSv1 TLSv1.2;`.
#[derive(Debug, Clone)]
pub struct Directive {
    /// As written (nginx and Caddy are case-sensitive; compare Apache names ignoring case).
    pub name: String,
    pub args: Vec<String>,
    /// Bytes from the name to the end of the directive.
    pub range: Range<usize>,
    /// The innermost block it is in (index into [`ServerConfig::blocks`]).
    pub block: Option<usize>,
}

/// A block: nginx `server { … }`, Apache `<VirtualHost *:80> … </VirtualHost>`, a Caddy site.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    pub args: Vec<String>,
    /// Bytes of the block's header line.
    pub range: Range<usize>,
    /// Byte offset where the body ends (the closing brace or tag), the file's end if missing.
    pub body_end: usize,
    pub parent: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub directives: Vec<Directive>,
    pub blocks: Vec<Block>,
}

impl ServerConfig {
    /// Whether `directive` sits inside block `block` (at any depth).
    pub fn within(&self, directive: &Directive, block: usize) -> bool {
        let mut at = directive.block;
        let mut steps = 0;
        while let Some(b) = at {
            if b == block {
                return true;
            }
            at = self.blocks.get(b).and_then(|x| x.parent);
            steps += 1;
            if steps > self.blocks.len() {
                return false;
            }
        }
        false
    }

    /// The directives inside block `block`.
    pub fn in_block(&self, block: usize) -> impl Iterator<Item = &Directive> {
        self.directives
            .iter()
            .filter(move |d| self.within(d, block))
    }
}

/// Everything the repository says about how it is deployed.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub files: Vec<DeployFile>,
    pub commands: Vec<Command>,
    /// Per file index, its parsed config for web server files.
    pub servers: Vec<(usize, ServerConfig)>,
}

impl Deployment {
    /// Read the deployment files the scan listed.
    pub fn read(files: &ProjectFiles) -> Self {
        Self::from_texts(
            files
                .of_kind(FileKind::Deployment)
                .filter_map(|f| Some((f.rel.clone(), files.read_text(f).ok()?))),
        )
    }

    /// Build from `(path, text)` pairs (the scan's files, or a fix's snapshot).
    pub fn from_texts(texts: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut out = Deployment::default();
        for (path, text) in texts {
            let format = match format_by_name(&path) {
                Some(Format::Platform) if !is_platform_config(&path, &text) => continue,
                Some(f) => f,
                None if maybe_server_config(&path) => match sniff(&text) {
                    Some(f) => f,
                    None => continue,
                },
                None => continue,
            };
            let file = out.files.len();
            out.files.push(DeployFile {
                path,
                format,
                source: SourceText::new(text),
            });
            let text = out.files[file].text();
            match format {
                Format::Dockerfile => out.commands.extend(dockerfile::commands(file, text)),
                Format::Procfile => out.commands.extend(procfile::commands(file, text)),
                Format::Compose => out.commands.extend(compose::commands(file, text)),
                Format::Supervisord => out.commands.extend(ini::supervisord(file, text)),
                Format::Systemd => out.commands.extend(ini::systemd(file, text)),
                Format::Nginx => out.servers.push((file, nginx::parse(text))),
                Format::Apache => out.servers.push((file, apache::parse(text))),
                Format::Caddy => out.servers.push((file, caddy::parse(text))),
                Format::Script => out.commands.push(Command {
                    file,
                    what: "script".to_string(),
                    range: 0..text.len(),
                    form: Form::Shell,
                    workdir: None,
                    env: Vec::new(),
                    port: None,
                }),
                Format::Platform => {}
            }
        }
        out
    }

    /// The deployment files of a fix's snapshot.
    pub fn from_snapshot(snapshot: &crate::fix::Snapshot) -> Self {
        Self::from_texts(
            snapshot
                .files
                .iter()
                .filter(|(p, _)| crate::project::classify(p) == Some(FileKind::Deployment))
                .map(|(p, f)| (p.clone(), f.text.clone())),
        )
    }

    /// The shell script a deployment command runs (`./boot.sh` from the image's WORKDIR or
    /// the file's folder): the index of its command.
    pub fn script_command(&self, from: &Command, script: &str) -> Option<usize> {
        let mut path = script.trim_start_matches("./").to_string();
        if let Some(w) = &from.workdir
            && let Some(rest) = path.strip_prefix(&format!("{}/", w.trim_end_matches('/')))
        {
            path = rest.to_string();
        }
        let path = path.trim_start_matches('/');
        let folder = self.files[from.file].path.rsplit_once('/').map(|(d, _)| d);
        let wanted = [
            Some(path.to_string()),
            folder.map(|d| format!("{d}/{path}")),
        ];
        let scripts = || {
            self.commands
                .iter()
                .enumerate()
                .filter(|(_, c)| self.files[c.file].format == Format::Script)
        };
        scripts()
            .find(|(_, c)| {
                wanted
                    .iter()
                    .flatten()
                    .any(|w| *w == self.files[c.file].path)
            })
            .or_else(|| {
                scripts().find(|(_, c)| self.files[c.file].path.ends_with(&format!("/{path}")))
            })
            .map(|(i, _)| i)
    }

    pub fn file(&self, idx: usize) -> &DeployFile {
        &self.files[idx]
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The web server configs, with their files.
    pub fn server_configs(&self) -> impl Iterator<Item = (&DeployFile, &ServerConfig)> {
        self.servers.iter().map(|(f, c)| (&self.files[*f], c))
    }

    /// Files of a format.
    pub fn of_format(&self, format: Format) -> impl Iterator<Item = &DeployFile> {
        self.files.iter().filter(move |f| f.format == format)
    }
}

/// Byte range of line `line` (0-based) of `text`, without its line ending, and the offset of
/// every line start: a helper the line-based formats share.
pub(crate) fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |raw| {
        let start = offset;
        offset += raw.len();
        (start, raw.trim_end_matches(['\n', '\r']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of every format, glued at random: parsing any of it never panics or hangs.
    #[test]
    fn random_junk_never_panics() {
        const PIECES: &[&str] = &[
            "CMD ",
            "ENTRYPOINT ",
            "[\"",
            "\"]",
            "\\\n",
            "\n",
            " ",
            "'",
            "\"",
            "#",
            ";",
            "&&",
            "|",
            "flask run",
            "python app.py",
            "sh -c ",
            "./boot.sh",
            "web:",
            "command:",
            "  - ",
            ">",
            "[program:x]\n",
            "command=",
            "[Service]\n",
            "ExecStart=",
            "server {",
            "}",
            "{",
            "listen 80;",
            "<VirtualHost *:80>",
            "</VirtualHost>",
            "SSLProtocol all",
            "é",
            "\r",
            "=",
            ":",
            "-",
            "${PORT:-5000}",
            "\u{0}",
            "ENV A=1",
            "WORKDIR /a",
            "FROM x\n",
        ];
        const NAMES: &[&str] = &[
            "Dockerfile",
            "Procfile",
            "docker-compose.yml",
            "deploy/supervisord.conf",
            "x.service",
            "nginx/site.conf",
            "apache/x.conf",
            "Caddyfile",
            "boot.sh",
            "fly.toml",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..400 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let texts = NAMES.iter().map(|n| (n.to_string(), text.clone()));
            let d = Deployment::from_texts(texts);
            for c in &d.commands {
                let file = d.file(c.file);
                for s in c.started(file.text()) {
                    if let Some(span) = s.span {
                        let _ = file.text().get(span.clone());
                        let _ = file.finding("x/y", Severity::Low, span, "m");
                    }
                }
            }
            for (file, cfg) in d.server_configs() {
                for dir in &cfg.directives {
                    let _ = file.finding("x/y", Severity::Low, dir.range.clone(), "m");
                }
            }
        }
    }

    #[test]
    fn names_and_contents_decide_the_format() {
        assert!(is_deployment_path("Dockerfile"));
        assert!(is_deployment_path("deploy/nginx/site.conf"));
        assert!(is_deployment_path("etc/nginx/sites-available/flaskapp"));
        assert!(!is_deployment_path("README.md"));
        let d = Deployment::from_texts([
            (
                "logging.conf".to_string(),
                "[loggers]\nkeys=root\n".to_string(),
            ),
            (
                "site.conf".to_string(),
                "server {\n  listen 80;\n}\n".to_string(),
            ),
            (
                "app.conf".to_string(),
                "[program:web]\ncommand=flask run\n".to_string(),
            ),
        ]);
        let formats: Vec<Format> = d.files.iter().map(|f| f.format).collect();
        assert_eq!(formats, vec![Format::Nginx, Format::Supervisord]);
        assert_eq!(d.commands.len(), 1);
        let platform = Deployment::from_texts([
            ("app.yaml".to_string(), "name: settings\n".to_string()),
            (
                "gae/app.yaml".to_string(),
                "runtime: python312\n".to_string(),
            ),
        ]);
        assert_eq!(platform.files.len(), 1);
    }
}
