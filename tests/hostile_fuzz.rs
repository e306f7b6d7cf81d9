//! A bounded fuzz run over the Python and template front ends: random inputs built from the
//! fragments that break parsers (brackets, operators, strings, odd line endings, indentation,
//! control and non-ASCII characters, long runs of one fragment), fed to the parser entry
//! point, the depth check, the template readers, and now and then a whole scan. It asserts no
//! panic and a bounded time per input.
//!
//! It runs on stable as an ordinary test. FLASK_HARDEN_FUZZ_SECS sets how long (default 3
//! seconds), FLASK_HARDEN_FUZZ_SEED the seed (default: from the clock, printed, so a failure
//! can be replayed).

use std::time::{Duration, Instant};

use flask_harden::python::templates::Template;
use flask_harden::python::{depth, parse};
use flask_harden::scan::{ScanOptions, on_large_stack, scan};

/// xorshift64*: enough randomness for input generation, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const PYTHON: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "+",
    "-",
    "*",
    "**",
    "~",
    "not ",
    " and ",
    " or ",
    ".",
    ",",
    ":",
    "=",
    ":=",
    "lambda ",
    " if ",
    " else ",
    "await ",
    "yield ",
    "a",
    "b1",
    "_",
    "é",
    "1",
    "0x1f",
    "1e9",
    "'s'",
    "\"s\"",
    "'''",
    "\"\"\"",
    "f'{",
    "}'",
    "f\"{x!r:>{w}}\"",
    "rb'\\x00'",
    "\\",
    "#",
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\n    ",
    "\n        ",
    "def f(x):",
    "class C:",
    "if x:",
    "return ",
    "import os",
    "from flask import Flask",
    "app = Flask(__name__)",
    "@app.route('/', methods=['POST'])",
    "request.form['a']",
    "app.secret_key = 'dev'",
    "\0",
    "\u{feff}",
    "\u{202e}",
    "\x1b[2J",
    "\u{10ffff}",
    ";",
    "@",
    "->",
    "...",
    "async ",
    "match ",
    "case ",
    "type ",
    "print 'x'",
    "except E, e:",
];

const JINJA: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "|safe",
    "| safe",
    "{% if a %}",
    "{% endif %}",
    "{% for x in y %}",
    "{% endfor %}",
    "{% autoescape false %}",
    "{% endautoescape %}",
    "<form method=\"post\">",
    "<form method=post action='/x'>",
    "</form>",
    "{{ csrf_token() }}",
    "<input>",
    "'",
    "\"",
    "(",
    ")",
    "x",
    "-",
    "\n",
    "\r",
    "\0",
    "é",
    "<",
    ">",
    "=",
    " ",
    "{% set x = y|safe %}",
    "{{ f(a|safe) }}",
    "<!--",
    "-->",
    "\x1b]0;t\x07",
];

fn input(rng: &mut Rng, alphabet: &[&str]) -> String {
    let mut out = String::new();
    let pieces = rng.below(400);
    for _ in 0..pieces {
        let piece = rng.pick(alphabet);
        // Now and then a long run of one fragment: deep nesting, long chains.
        let times = if rng.below(30) == 0 {
            1 + rng.below(5_000)
        } else {
            1
        };
        for _ in 0..times {
            out.push_str(piece);
        }
    }
    out
}

/// The longest one input may take, even in a debug build: everything is linear, the inputs
/// are at most a few hundred kilobytes.
const PER_INPUT: Duration = Duration::from_secs(5);

#[test]
fn front_ends_survive_random_input() {
    let secs = std::env::var("FLASK_HARDEN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3u64);
    let seed = std::env::var("FLASK_HARDEN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    eprintln!("fuzz: seed {seed} (FLASK_HARDEN_FUZZ_SEED={seed} replays it), {secs} s");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let py = input(&mut rng, PYTHON);
        let jinja = input(&mut rng, JINJA);
        let whole_scan = rng.below(20) == 0;
        let started = Instant::now();
        on_large_stack(|| {
            let _ = depth::check(&py);
            if let Ok(module) = parse("fuzz.py", py.clone()) {
                let _ = module.body().len();
            }
            let t = Template::new("templates/fuzz.html", jinja.clone());
            let _ = (
                t.safe_uses().len(),
                t.post_forms().len(),
                t.autoescape_off().len(),
            );
        });
        if whole_scan {
            std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
            std::fs::write(dir.path().join("app.py"), &py).expect("write");
            std::fs::write(dir.path().join("templates/fuzz.html"), &jinja).expect("write");
            scan(dir.path(), &ScanOptions::default()).expect("the scan runs");
        }
        let took = started.elapsed();
        assert!(
            took < PER_INPUT,
            "seed {seed}, run {runs}: {took:?} for {} + {} bytes",
            py.len(),
            jinja.len()
        );
        runs += 1;
    }
    eprintln!("fuzz: {runs} inputs");
    assert!(runs > 0);
}
