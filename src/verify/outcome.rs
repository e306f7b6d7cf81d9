//! What a test run says about each test: parsed from pytest's `-rA` summary lines or from
//! `python -m unittest -v`, and compared with the run on HEAD.

use std::collections::BTreeMap;

/// The result of one test, as its runner reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Passed,
    Failed,
    /// An error outside the test body: a fixture, a collection (import) error, `setUpClass`.
    Error,
    Skipped,
    /// An expected failure (`xfail`, `expectedFailure`) or an unexpected success.
    Expected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
            Outcome::Expected => "xfail",
        }
    }

    fn is_bad(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Error)
    }
}

/// Which runner's output to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Pytest,
    Unittest,
    /// Another command: only its exit status is compared.
    Other,
}

/// One test run.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    /// Test id → outcome (pytest node ids, unittest `module.Class.test`).
    pub tests: BTreeMap<String, Outcome>,
    /// The exit code; `None` when the run was killed.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
}

impl SuiteResult {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.tests.values().filter(|o| **o == outcome).count()
    }

    /// Whether the command ran at all (its environment could be built).
    pub fn ran(&self) -> bool {
        !(self.tests.is_empty() && self.exit_code.is_none() && !self.timed_out)
    }

    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// `12 passed, 1 failed` (the outcomes seen), or the exit status when no test was read.
    pub fn summary(&self) -> String {
        if self.timed_out {
            return "timed out".to_string();
        }
        if !self.ran() {
            return "not run".to_string();
        }
        let mut parts = Vec::new();
        for o in [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Error,
            Outcome::Skipped,
            Outcome::Expected,
        ] {
            let n = self.count(o);
            if n > 0 {
                parts.push(format!("{n} {}", o.as_str()));
            }
        }
        if parts.is_empty() {
            parts.push("no test outcome read".to_string());
        }
        match self.exit_code {
            Some(code) => format!("{} (exit {code})", parts.join(", ")),
            None => format!("{} (killed)", parts.join(", ")),
        }
    }
}

/// A test that passed on HEAD and does not after a fix, or a new failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub id: String,
    /// What happened instead: `failed`, `error`, `did not run`, `timed out`…
    pub now: String,
}

/// The tests `after` newly breaks compared with `base`: every test that passed on HEAD and now
/// fails, errors or no longer runs, and every failure or error of a test HEAD did not have
/// (a module that no longer imports). For a runner whose output is not read, a run that
/// succeeded on HEAD and now fails counts as one broken "suite".
pub fn newly_broken(base: &SuiteResult, after: &SuiteResult, runner: Runner) -> Vec<Broken> {
    if after.timed_out && !base.timed_out {
        return vec![Broken {
            id: "(the whole suite)".to_string(),
            now: "timed out".to_string(),
        }];
    }
    if runner == Runner::Other || base.tests.is_empty() {
        if base.succeeded() && !after.succeeded() {
            return vec![Broken {
                id: "(the whole suite)".to_string(),
                now: match after.exit_code {
                    Some(code) => format!("exit {code}"),
                    None => "killed".to_string(),
                },
            }];
        }
        return Vec::new();
    }
    let mut out = Vec::new();
    for (id, was) in &base.tests {
        if *was != Outcome::Passed {
            continue;
        }
        match after.tests.get(id) {
            Some(Outcome::Passed) | Some(Outcome::Skipped) | Some(Outcome::Expected) => {}
            Some(now) => out.push(Broken {
                id: id.clone(),
                now: now.as_str().to_string(),
            }),
            None => out.push(Broken {
                id: id.clone(),
                now: "did not run".to_string(),
            }),
        }
    }
    for (id, now) in &after.tests {
        if now.is_bad() && !base.tests.contains_key(id) {
            out.push(Broken {
                id: id.clone(),
                now: now.as_str().to_string(),
            });
        }
    }
    out
}

/// Read the outcomes from a run's output lines (stdout and stderr, in order).
pub fn parse(runner: Runner, lines: &[String]) -> BTreeMap<String, Outcome> {
    match runner {
        Runner::Pytest => parse_pytest(lines),
        Runner::Unittest => parse_unittest(lines),
        Runner::Other => BTreeMap::new(),
    }
}

/// pytest's `-rA` short summary: `PASSED tests/test_a.py::test_x`, `FAILED id - message`,
/// `ERROR tests/test_b.py - ImportError…` (a module that does not collect). Skips carry no id.
fn parse_pytest(lines: &[String]) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    let mut in_summary = false;
    for line in lines {
        let line = line.trim_end();
        if line.starts_with('=') && line.contains("short test summary info") {
            in_summary = true;
            continue;
        }
        if !in_summary {
            continue;
        }
        let Some((word, rest)) = line.split_once(' ') else {
            continue;
        };
        let outcome = match word {
            "PASSED" => Outcome::Passed,
            "FAILED" => Outcome::Failed,
            "ERROR" => Outcome::Error,
            "XFAIL" | "XPASS" => Outcome::Expected,
            _ => continue,
        };
        let id = match outcome {
            Outcome::Passed => rest,
            _ => rest.split(" - ").next().unwrap_or(rest),
        }
        .trim();
        if id.is_empty() {
            continue;
        }
        // A test that fails in its body and errors in teardown is reported twice: keep the
        // worse.
        let entry = out.entry(id.to_string()).or_insert(outcome);
        if outcome == Outcome::Failed || (outcome == Outcome::Error && *entry == Outcome::Passed) {
            *entry = outcome;
        }
    }
    out
}

/// `python -m unittest -v`: `test_x (pkg.mod.Class.test_x) ... ok` (Python 3.11+) or
/// `test_x (pkg.mod.Class) ... FAIL` (older), and `ERROR: setUpClass (pkg.mod.Class)` or
/// `ERROR: pkg.test_mod (unittest.loader._FailedTest…)` for what never ran.
fn parse_unittest(lines: &[String]) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for line in lines {
        let line = line.trim_end();
        if let Some((head, verdict)) = line.rsplit_once(" ... ") {
            let outcome = match verdict {
                "ok" => Outcome::Passed,
                "FAIL" => Outcome::Failed,
                "ERROR" => Outcome::Error,
                "expected failure" | "unexpected success" => Outcome::Expected,
                v if v.starts_with("skipped") => Outcome::Skipped,
                _ => continue,
            };
            if let Some(id) = unittest_id(head) {
                out.insert(id, outcome);
            }
            continue;
        }
        for (prefix, outcome) in [("ERROR: ", Outcome::Error), ("FAIL: ", Outcome::Failed)] {
            if let Some(rest) = line.strip_prefix(prefix)
                && let Some(id) = unittest_id(rest)
            {
                out.entry(id).or_insert(outcome);
            }
        }
    }
    out
}

/// `name (dotted)` → the test's full dotted id.
fn unittest_id(head: &str) -> Option<String> {
    let head = head.trim();
    let open = head.find(" (")?;
    let name = &head[..open];
    let inner = head[open + 2..].strip_suffix(')')?;
    if name.contains(' ') || inner.contains(' ') {
        return None;
    }
    if inner.starts_with("unittest.loader.") {
        // A module that failed to import: its name is the test's name.
        return Some(name.to_string());
    }
    if inner.ends_with(&format!(".{name}")) {
        Some(inner.to_string())
    } else {
        Some(format!("{inner}.{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn pytest_summary() {
        let out = lines(
            "tests/test_a.py ..F\n\
             ==== short test summary info ====\n\
             PASSED tests/test_a.py::test_one\n\
             PASSED tests/test_a.py::test_p[a - b]\n\
             FAILED tests/test_a.py::test_two - assert 400 == 200\n\
             ERROR tests/test_b.py - KeyError: 'SECRET_KEY'\n\
             SKIPPED [1] tests/test_c.py:3: no db\n\
             XFAIL tests/test_c.py::test_old - reason\n\
             ==== 1 failed, 2 passed in 0.1s ====\n",
        );
        let got = parse(Runner::Pytest, &out);
        assert_eq!(got["tests/test_a.py::test_one"], Outcome::Passed);
        assert_eq!(got["tests/test_a.py::test_p[a - b]"], Outcome::Passed);
        assert_eq!(got["tests/test_a.py::test_two"], Outcome::Failed);
        assert_eq!(got["tests/test_b.py"], Outcome::Error);
        assert_eq!(got["tests/test_c.py::test_old"], Outcome::Expected);
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn unittest_verbose() {
        let out = lines(
            "test_login (tests.test_app.AppTests.test_login) ... ok\n\
             test_logout (tests.test_app.AppTests) ... FAIL\n\
             test_skip (tests.test_app.AppTests.test_skip) ... skipped 'later'\n\
             tests.test_api (unittest.loader._FailedTest.tests.test_api) ... ERROR\n\
             ERROR: setUpClass (tests.test_db.DbTests)\n",
        );
        let got = parse(Runner::Unittest, &out);
        assert_eq!(got["tests.test_app.AppTests.test_login"], Outcome::Passed);
        assert_eq!(got["tests.test_app.AppTests.test_logout"], Outcome::Failed);
        assert_eq!(got["tests.test_app.AppTests.test_skip"], Outcome::Skipped);
        assert_eq!(got["tests.test_api"], Outcome::Error);
        assert_eq!(got["tests.test_db.DbTests.setUpClass"], Outcome::Error);
    }

    #[test]
    fn broken_is_what_passed_before_and_new_failures() {
        let result = |pairs: &[(&str, Outcome)], code| SuiteResult {
            tests: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            exit_code: Some(code),
            timed_out: false,
        };
        let base = result(
            &[
                ("a::one", Outcome::Passed),
                ("a::two", Outcome::Failed),
                ("a::three", Outcome::Passed),
                ("a::four", Outcome::Passed),
            ],
            1,
        );
        let after = result(
            &[
                ("a::one", Outcome::Passed),
                ("a::two", Outcome::Failed),
                ("a::three", Outcome::Error),
                ("b", Outcome::Error),
            ],
            1,
        );
        let broken = newly_broken(&base, &after, Runner::Pytest);
        let ids: Vec<(&str, &str)> = broken
            .iter()
            .map(|b| (b.id.as_str(), b.now.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("a::four", "did not run"),
                ("a::three", "error"),
                ("b", "error")
            ]
        );
        // A failure HEAD already had is not the fix's doing.
        assert!(newly_broken(&after, &after, Runner::Pytest).is_empty());
        // Unread output: the exit status decides.
        let ok = result(&[], 0);
        let bad = result(&[], 2);
        assert_eq!(newly_broken(&ok, &bad, Runner::Other).len(), 1);
        assert!(newly_broken(&bad, &ok, Runner::Other).is_empty());
    }
}
