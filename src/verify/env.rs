//! The Python environment the project's tests run in: the active virtualenv, the repository's
//! `.venv`, `uv run` or Poetry's environment when the project uses them, or else a temporary
//! virtualenv built from its dependency files (rebuilt when a fix changes them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::runner::{self, Stream};
use super::{Event, VerifyError};

/// Dependency files a temporary environment is built from, when present: the runtime set and
/// the usual places for test and development requirements.
const REQUIREMENT_FILES: &[&str] = &[
    "requirements.txt",
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements-test.txt",
    "requirements_test.txt",
    "test-requirements.txt",
    "requirements-tests.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An interpreter whose packages the project already has (an active or in-repo venv,
    /// Poetry's environment). Dependency changes of a fix are not installed into it.
    Existing { python: PathBuf },
    /// `uv run` in each checkout, with one project environment for the whole verification.
    UvRun { project_env: PathBuf },
    /// A virtualenv built in a temporary folder from the checkout's dependency files.
    Temporary,
}

/// Where the tests run, and how it was chosen.
#[derive(Debug)]
pub struct Environment {
    pub kind: Kind,
    /// For the user: "the active virtualenv /x/venv", ".venv in the repository"…
    pub description: String,
    scratch: PathBuf,
    /// Dependency files' content → the venv built from them.
    built: HashMap<String, PathBuf>,
    install_timeout: Duration,
    /// Set by the caller to stop an install step (the verification was cancelled).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// How to run one command in an environment.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The interpreter to put in place of `python` (or the words to run before the command).
    pub prefix: Vec<String>,
    pub python: String,
    pub env: Vec<(String, String)>,
}

impl Environment {
    /// Choose the environment for the app at `root` in the user's working tree (where an
    /// in-repo `.venv` lives; `repo_root` is the repository's top when that differs);
    /// `virtual_env` is `$VIRTUAL_ENV`; `scratch` a private temporary folder.
    pub fn detect(
        root: &Path,
        repo_root: Option<&Path>,
        virtual_env: Option<&Path>,
        scratch: &Path,
        install_timeout: Duration,
    ) -> Result<Self, VerifyError> {
        let make = |kind, description: String| Self {
            kind,
            description,
            scratch: scratch.to_path_buf(),
            built: HashMap::new(),
            install_timeout,
            stop: None,
        };
        if let Some(venv) = virtual_env.filter(|v| !v.as_os_str().is_empty()) {
            let python = std::path::absolute(venv.join("bin/python"))
                .map_err(|e| VerifyError::Io(format!("{}: {e}", venv.display())))?;
            if python.is_file() {
                return Ok(make(
                    Kind::Existing { python },
                    format!("the active virtualenv {}", venv.display()),
                ));
            }
        }
        // The app's folder first, then the repository's root (for an app in a subfolder).
        for dir in std::iter::once(root).chain(repo_root.filter(|r| *r != root)) {
            for name in [".venv", "venv"] {
                // Absolute (the tests run elsewhere), without resolving the links a venv's
                // python is made of.
                let python = std::path::absolute(dir.join(name).join("bin/python"))
                    .map_err(|e| VerifyError::Io(format!("{}: {e}", dir.display())))?;
                if python.is_file() {
                    return Ok(make(
                        Kind::Existing { python },
                        format!("{name} in the repository"),
                    ));
                }
            }
        }
        let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap_or_default();
        if root.join("uv.lock").is_file() || pyproject.contains("[tool.uv") {
            if !runner::on_path("uv") {
                return Err(VerifyError::Environment(
                    "the project uses uv (uv.lock or [tool.uv]) but uv is not on PATH".to_string(),
                ));
            }
            return Ok(make(
                Kind::UvRun {
                    project_env: scratch.join("uv-project-env"),
                },
                "uv run (the project uses uv), with a temporary project environment".to_string(),
            ));
        }
        if root.join("poetry.lock").is_file() || pyproject.contains("[tool.poetry") {
            let path = Command::new("poetry")
                .args(["env", "info", "--path"])
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
            return match path.map(|p| p.join("bin/python")).filter(|p| p.is_file()) {
                Some(python) => Ok(make(
                    Kind::Existing { python },
                    "Poetry's environment for the project (poetry run)".to_string(),
                )),
                None => Err(VerifyError::Environment(
                    "the project uses Poetry but has no Poetry environment; run `poetry install` \
                     first"
                        .to_string(),
                )),
            };
        }
        Ok(make(
            Kind::Temporary,
            "a temporary virtualenv built from the project's dependency files (the project has \
             no virtualenv of its own)"
                .to_string(),
        ))
    }

    /// Get the environment ready for the checkout at `tree`; for a temporary virtualenv this
    /// builds one the first time a set of dependency files is seen.
    pub fn prepare(
        &mut self,
        tree: &Path,
        wants_pytest: bool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Prepared, VerifyError> {
        match &self.kind {
            Kind::Existing { python } => {
                let python_s = python.display().to_string();
                let mut env = Vec::new();
                if let Some(venv) = python.parent().and_then(Path::parent) {
                    env.push(("VIRTUAL_ENV".to_string(), venv.display().to_string()));
                    env.push(("PATH".to_string(), path_with(&venv.join("bin"))));
                }
                Ok(Prepared {
                    prefix: Vec::new(),
                    python: python_s,
                    env,
                })
            }
            Kind::UvRun { project_env } => Ok(Prepared {
                prefix: vec!["uv".to_string(), "run".to_string(), "--".to_string()],
                python: "python".to_string(),
                env: vec![(
                    "UV_PROJECT_ENVIRONMENT".to_string(),
                    project_env.display().to_string(),
                )],
            }),
            Kind::Temporary => {
                let venv = self.temporary_venv(tree, wants_pytest, on_event)?;
                Ok(Prepared {
                    prefix: Vec::new(),
                    python: venv.join("bin/python").display().to_string(),
                    env: vec![
                        ("VIRTUAL_ENV".to_string(), venv.display().to_string()),
                        ("PATH".to_string(), path_with(&venv.join("bin"))),
                    ],
                })
            }
        }
    }

    fn temporary_venv(
        &mut self,
        tree: &Path,
        wants_pytest: bool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<PathBuf, VerifyError> {
        let mut files: Vec<&str> = REQUIREMENT_FILES
            .iter()
            .copied()
            .filter(|f| tree.join(f).is_file())
            .collect();
        let pyproject = std::fs::read_to_string(tree.join("pyproject.toml")).unwrap_or_default();
        if files.is_empty() && pyproject.contains("[project]") {
            files.push("pyproject.toml");
        }
        if files.is_empty() {
            return Err(VerifyError::Environment(
                "no virtualenv (active, .venv) and no dependency file to build one from \
                 (requirements.txt, requirements-dev.txt, pyproject.toml); create .venv or \
                 activate the project's virtualenv"
                    .to_string(),
            ));
        }
        let mut key = String::new();
        let mut names_pytest = false;
        for f in &files {
            let text = std::fs::read_to_string(tree.join(f)).unwrap_or_default();
            names_pytest |= text.to_ascii_lowercase().contains("pytest");
            key.push_str(f);
            key.push('\0');
            key.push_str(&text);
            key.push('\0');
        }
        if let Some(v) = self.built.get(&key) {
            return Ok(v.clone());
        }
        let venv = self.scratch.join(format!("venv-{}", self.built.len()));
        on_event(Event::Status(format!(
            "building a temporary virtualenv from {}{}",
            files.join(", "),
            if wants_pytest && !names_pytest {
                " (and pytest, which they do not name)"
            } else {
                ""
            }
        )));
        let venv_s = venv.display().to_string();
        let use_uv = runner::on_path("uv");
        let mut steps: Vec<Vec<String>> = Vec::new();
        let mut install: Vec<String>;
        if use_uv {
            steps.push(vec![
                "uv".into(),
                "venv".into(),
                "-q".into(),
                venv_s.clone(),
            ]);
            install = vec![
                "uv".into(),
                "pip".into(),
                "install".into(),
                "--python".into(),
                format!("{venv_s}/bin/python"),
            ];
        } else {
            steps.push(vec![
                "python3".into(),
                "-m".into(),
                "venv".into(),
                venv_s.clone(),
            ]);
            install = vec![
                format!("{venv_s}/bin/python"),
                "-m".into(),
                "pip".into(),
                "install".into(),
                "--disable-pip-version-check".into(),
            ];
        }
        for f in &files {
            if *f == "pyproject.toml" && !use_uv {
                install.push(".".into());
            } else {
                install.push("-r".into());
                install.push((*f).to_string());
            }
        }
        if wants_pytest && !names_pytest {
            install.push("pytest".into());
        }
        steps.push(install);
        for argv in steps {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]).current_dir(tree);
            let done = runner::run(
                cmd,
                self.install_timeout,
                self.stop.as_deref(),
                &mut |stream: Stream, line: &str| {
                    on_event(Event::Line {
                        run: "environment".to_string(),
                        stream,
                        text: line.to_string(),
                    })
                },
            )
            .map_err(|e| VerifyError::Environment(format!("{}: {e}", argv[0])))?;
            if done.stopped {
                return Err(VerifyError::Stopped);
            }
            if done.exit_code != Some(0) {
                let tail: Vec<&str> = done
                    .lines
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(String::as_str)
                    .collect();
                return Err(VerifyError::Environment(format!(
                    "`{}` {}:\n{}",
                    argv.join(" "),
                    if done.timed_out {
                        "timed out".to_string()
                    } else {
                        format!(
                            "failed ({})",
                            done.exit_code
                                .map_or("killed".to_string(), |c| format!("exit {c}"))
                        )
                    },
                    tail.join("\n")
                )));
            }
        }
        self.built.insert(key, venv.clone());
        Ok(venv)
    }
}

fn path_with(bin: &Path) -> String {
    let rest = std::env::var("PATH").unwrap_or_default();
    if rest.is_empty() {
        bin.display().to_string()
    } else {
        format!("{}:{rest}", bin.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_active_venv_then_the_repository_venv() {
        let root = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let t = Duration::from_secs(1);
        let env = Environment::detect(root.path(), None, None, scratch.path(), t).unwrap();
        assert_eq!(env.kind, Kind::Temporary);

        std::fs::create_dir_all(root.path().join(".venv/bin")).unwrap();
        std::fs::write(root.path().join(".venv/bin/python"), "").unwrap();
        let env = Environment::detect(root.path(), None, None, scratch.path(), t).unwrap();
        assert_eq!(
            env.kind,
            Kind::Existing {
                python: root.path().join(".venv/bin/python")
            }
        );

        let active = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(active.path().join("bin")).unwrap();
        std::fs::write(active.path().join("bin/python"), "").unwrap();
        let env =
            Environment::detect(root.path(), None, Some(active.path()), scratch.path(), t).unwrap();
        assert!(
            env.description.contains("active virtualenv"),
            "{}",
            env.description
        );
    }
}
