//! The project's test command: `test-command` from the configuration, or the default for its
//! layout (pytest with a tests/ folder or a conftest.py, else `python -m unittest`).

use std::path::Path;

use super::outcome::Runner;

/// A test command split into words, and which runner's output it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCommand {
    pub words: Vec<String>,
    pub runner: Runner,
    /// Where it came from: `test-command` in the configuration, or the layout.
    pub origin: String,
}

impl TestCommand {
    /// The configured command, else the default for the checkout at `tree`.
    pub fn choose(configured: Option<&str>, tree: &Path) -> Result<Self, String> {
        if let Some(text) = configured {
            let words = split(text)?;
            return Ok(Self {
                runner: runner_of(&words),
                words,
                origin: "test-command in the configuration".to_string(),
            });
        }
        let pytest = tree.join("tests").is_dir()
            || tree.join("test").is_dir()
            || tree.join("conftest.py").is_file();
        let (words, origin) = if pytest {
            (
                vec!["pytest".to_string()],
                "pytest (the project has a tests/ folder or a conftest.py)",
            )
        } else {
            (
                vec![
                    "python".to_string(),
                    "-m".to_string(),
                    "unittest".to_string(),
                ],
                "python -m unittest (no tests/ folder or conftest.py)",
            )
        };
        Ok(Self {
            runner: runner_of(&words),
            words,
            origin: origin.to_string(),
        })
    }

    /// The words to run with `python` as the interpreter: `pytest …` becomes
    /// `python -m pytest …` with the per-test summary (`-rA`) and no cache in the checkout;
    /// `python -m unittest` gets `-v`, so each test's outcome is printed.
    pub fn argv(&self, python: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut rest: &[String] = &self.words;
        match self.words.first().map(String::as_str) {
            Some("pytest") | Some("py.test") => {
                out.extend([python.to_string(), "-m".to_string(), "pytest".to_string()]);
                rest = &self.words[1..];
            }
            Some("python") | Some("python3") => {
                out.push(python.to_string());
                rest = &self.words[1..];
            }
            _ => {}
        }
        out.extend(rest.iter().cloned());
        match self.runner {
            Runner::Pytest => out.extend([
                "-rA".to_string(),
                "-p".to_string(),
                "no:cacheprovider".to_string(),
            ]),
            Runner::Unittest if !out.iter().any(|w| w == "-v") => {
                // Options go right after `unittest`, before any test names.
                let at = out
                    .iter()
                    .position(|w| w == "unittest")
                    .map_or(out.len(), |i| i + 1);
                out.insert(at, "-v".to_string());
            }
            _ => {}
        }
        out
    }
}

fn runner_of(words: &[String]) -> Runner {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["pytest" | "py.test", ..] | ["python" | "python3", "-m", "pytest", ..] => Runner::Pytest,
        ["python" | "python3", "-m", "unittest", ..] => Runner::Unittest,
        _ => Runner::Other,
    }
}

/// Split a command line into words: whitespace separates, single and double quotes group.
/// Shell syntax (pipes, `&&`, `;`, redirections, variables, backquotes) is refused: the command
/// is run directly, never through a shell.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if c == '\n' || c == '\r' {
                    return Err("must be a single line".to_string());
                }
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '|' | '&' | ';' | '<' | '>' | '$' | '`' | '(' | ')') => {
                return Err(format!(
                    "{c:?} is shell syntax; give one command with its arguments (it is run \
                     without a shell)"
                ));
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("has an unclosed quote".to_string());
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_refuses_shell() {
        assert_eq!(
            split("pytest -k 'not slow' tests/unit").unwrap(),
            ["pytest", "-k", "not slow", "tests/unit"]
        );
        assert!(split("pytest && rm -rf /").is_err());
        assert!(split("pytest 'x").is_err());
        assert!(split("   ").is_err());
    }

    #[test]
    fn argv_adds_what_the_parser_needs() {
        let dir = tempfile::tempdir().unwrap();
        let unittest = TestCommand::choose(None, dir.path()).unwrap();
        assert_eq!(unittest.runner, Runner::Unittest);
        assert_eq!(
            unittest.argv("/v/bin/python"),
            ["/v/bin/python", "-m", "unittest", "-v"]
        );
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        let pytest = TestCommand::choose(None, dir.path()).unwrap();
        assert_eq!(
            pytest.argv("py"),
            ["py", "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
        );
        let custom = TestCommand::choose(Some("make test"), dir.path()).unwrap();
        assert_eq!(custom.runner, Runner::Other);
        assert_eq!(custom.argv("py"), ["make", "test"]);
    }
}
