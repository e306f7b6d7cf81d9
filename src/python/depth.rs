//! How deeply a Python file nests, measured on its tokens before it is parsed.
//!
//! The parser and every walk over the syntax tree recurse once per level of nesting, so a
//! file with tens of thousands of nested brackets, chained operators or attributes would
//! exhaust the stack. CPython refuses such files too (`too many nested parentheses` past 200
//! brackets, `too many levels of indentation` past 100, `RecursionError` during compilation
//! past a few thousand operators); flask-harden refuses them with the same limits, per file,
//! as a diagnostic, and scans the rest.
//!
//! The measure is an upper bound of the expression tree's depth: bracket depth, plus at each
//! bracket level the operators, attribute accesses, calls and subscripts chained since the
//! last separator (`,`, `:`, `=`, a new statement), plus the run of unary operators in front
//! of the current operand, plus the indentation level.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::Mode;

/// Brackets (and f-string replacement fields) nested deeper than this: CPython's limit.
pub const MAX_BRACKETS: usize = 200;
/// Indentation levels: CPython's limit.
pub const MAX_INDENT: usize = 100;
/// The depth bound of an expression. CPython 3.11 compiles a chain of 1,000 `+` and fails on
/// 3,000 with a `RecursionError`.
pub const MAX_DEPTH: usize = 1000;

/// Why a file nests too deeply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooDeep {
    Brackets,
    Indentation,
    Expression,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooDeep::Brackets => write!(
                f,
                "too many nested parentheses (more than {MAX_BRACKETS} levels, which CPython \
                 refuses too); file not analysed"
            ),
            TooDeep::Indentation => write!(
                f,
                "too many levels of indentation (more than {MAX_INDENT}, which CPython refuses \
                 too); file not analysed"
            ),
            TooDeep::Expression => write!(
                f,
                "expression nested too deeply (more than {MAX_DEPTH} levels of operators, \
                 attributes or calls; CPython fails on it with a RecursionError); file not \
                 analysed"
            ),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Level {
    /// Depth at the level's opening bracket.
    base: usize,
    /// Operators chained since the last separator.
    chain: usize,
    /// Unary operators in front of the current operand.
    unary: usize,
    /// `lambda`s whose parameters are being read: their `,`, `=` and `:` separate nothing.
    lambdas: usize,
}

/// Check `source`'s nesting against the limits; linear in its size, no recursion.
pub fn check(source: &str) -> Result<(), TooDeep> {
    let mut lexer = ruff_python_parser::lexer::lex(source, Mode::Module);
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut indent = 0usize;
    let mut prev_operand = false;
    loop {
        let kind = lexer.next_token();
        if kind == TokenKind::EndOfFile {
            return Ok(());
        }
        let top = levels.len() - 1;
        match kind {
            TokenKind::Lpar
            | TokenKind::Lsqb
            | TokenKind::Lbrace
            | TokenKind::FStringStart
            | TokenKind::TStringStart => {
                let cur = &mut levels[top];
                if prev_operand {
                    cur.chain += 1; // a call or a subscript
                }
                let base = cur.base + cur.chain + cur.unary + 1;
                levels.push(Level {
                    base,
                    ..Level::default()
                });
                if levels.len() - 1 > MAX_BRACKETS {
                    return Err(TooDeep::Brackets);
                }
                prev_operand = false;
            }
            TokenKind::Rpar
            | TokenKind::Rsqb
            | TokenKind::Rbrace
            | TokenKind::FStringEnd
            | TokenKind::TStringEnd => {
                if levels.len() > 1 {
                    levels.pop();
                }
                let last = levels.len() - 1;
                levels[last].unary = 0;
                prev_operand = true;
            }
            TokenKind::Indent => {
                indent += 1;
                if indent > MAX_INDENT {
                    return Err(TooDeep::Indentation);
                }
                prev_operand = false;
            }
            TokenKind::Dedent => {
                indent = indent.saturating_sub(1);
                prev_operand = false;
            }
            TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::True
            | TokenKind::False
            | TokenKind::None
            | TokenKind::Ellipsis
            | TokenKind::Match
            | TokenKind::Case
            | TokenKind::Type
            | TokenKind::Lazy => {
                levels[top].unary = 0;
                prev_operand = true;
            }
            TokenKind::Plus
            | TokenKind::Minus
            | TokenKind::Tilde
            | TokenKind::Not
            | TokenKind::Await
            | TokenKind::Star
            | TokenKind::DoubleStar
            | TokenKind::Yield
                if !prev_operand =>
            {
                levels[top].unary += 1;
            }
            TokenKind::Lambda => {
                let cur = &mut levels[top];
                cur.chain += 1;
                cur.lambdas += 1;
                prev_operand = false;
            }
            TokenKind::Comma | TokenKind::Equal if levels[top].lambdas > 0 => {
                prev_operand = false;
            }
            TokenKind::Colon if levels[top].lambdas > 0 => {
                levels[top].lambdas -= 1;
                prev_operand = false;
            }
            k if is_separator(k) => {
                let cur = &mut levels[top];
                cur.chain = 0;
                cur.unary = 0;
                cur.lambdas = 0;
                prev_operand = false;
            }
            TokenKind::Else => {
                // `a if b else c` is one level, counted at its `if`.
                levels[top].unary = 0;
                prev_operand = false;
            }
            TokenKind::Comment
            | TokenKind::NonLogicalNewline
            | TokenKind::FStringMiddle
            | TokenKind::TStringMiddle => {}
            _ => {
                // A binary operator, `.`, a comparison, `and`/`or`, `if`/`else`: one more
                // level over what came before it.
                let cur = &mut levels[top];
                cur.chain += 1;
                cur.unary = 0;
                prev_operand = false;
            }
        }
        let cur = levels[levels.len() - 1];
        if cur.base + cur.chain + cur.unary + indent > MAX_DEPTH {
            return Err(TooDeep::Expression);
        }
    }
}

/// Tokens after which a new, independent expression starts at the same level.
fn is_separator(kind: TokenKind) -> bool {
    use TokenKind as T;
    matches!(
        kind,
        T::Comma
            | T::Colon
            | T::Semi
            | T::Equal
            | T::Newline
            | T::Rarrow
            | T::Exclamation
            | T::ColonEqual
            | T::PlusEqual
            | T::MinusEqual
            | T::StarEqual
            | T::SlashEqual
            | T::PercentEqual
            | T::AmperEqual
            | T::VbarEqual
            | T::CircumflexEqual
            | T::LeftShiftEqual
            | T::RightShiftEqual
            | T::DoubleStarEqual
            | T::DoubleSlashEqual
            | T::AtEqual
            | T::For
            | T::Return
            | T::Del
            | T::Assert
            | T::Raise
            | T::Import
            | T::From
            | T::As
            | T::Def
            | T::Class
            | T::With
            | T::While
            | T::Elif
            | T::Try
            | T::Except
            | T::Finally
            | T::Global
            | T::Nonlocal
            | T::Pass
            | T::Break
            | T::Continue
            | T::Async
            | T::Unknown
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize, op: &str) -> String {
        format!("x = {}\n", vec!["a"; n].join(op))
    }

    #[test]
    fn ordinary_code_passes() {
        let big_list = format!("X = [{}]\n", vec!["-1"; 50_000].join(", "));
        let big_dict = format!(
            "D = {{{}}}\n",
            (0..20_000)
                .map(|i| format!("'k{i}': a.b.c(d) + 1"))
                .collect::<Vec<_>>()
                .join(",\n ")
        );
        for src in [
            "import os\n\ndef f(x):\n    return os.path.join(x, 'a') + str(-x)\n".to_string(),
            big_list,
            big_dict,
            chain(900, "+"),
            format!("x = {}\n", vec!["a if b else"; 900].join(" ") + " c"),
            format!("x = {}a{}\n", "(".repeat(200), ")".repeat(200)),
            "s = f\"{a!r:>{width}} {b['k']}\"\n".to_string(),
        ] {
            assert_eq!(check(&src), Ok(()), "{}", &src[..src.len().min(80)]);
        }
    }

    #[test]
    fn deep_nesting_of_every_kind_is_refused() {
        let n = 50_000;
        let cases = [
            (chain(40_000, "+"), TooDeep::Expression),
            (chain(2_000, " or "), TooDeep::Expression),
            (
                format!("x = a{}\n", ".b".repeat(100_000)),
                TooDeep::Expression,
            ),
            (
                format!("x = {}a\n", "-".repeat(100_000)),
                TooDeep::Expression,
            ),
            (
                format!("x = {}a\n", "not ".repeat(100_000)),
                TooDeep::Expression,
            ),
            (format!("x = f{}\n", "()".repeat(n)), TooDeep::Expression),
            (format!("x = a{}\n", "[0]".repeat(n)), TooDeep::Expression),
            (
                format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
                TooDeep::Brackets,
            ),
            (
                format!("x = {}{}\n", "{".repeat(n), "}".repeat(n)),
                TooDeep::Brackets,
            ),
            (
                format!("x = {}1{}\n", "f(".repeat(n), ")".repeat(n)),
                TooDeep::Brackets,
            ),
            (
                format!("x = {}a\n", "lambda: ".repeat(n)),
                TooDeep::Expression,
            ),
            (
                format!("x = {}\n", vec!["a if b else"; 1_500].join(" ") + " c"),
                TooDeep::Expression,
            ),
            (
                (0..150)
                    .map(|i| format!("{}if x:\n", "    ".repeat(i)))
                    .collect::<String>()
                    + &"    ".repeat(150)
                    + "pass\n",
                TooDeep::Indentation,
            ),
        ];
        for (src, why) in cases {
            assert_eq!(check(&src), Err(why), "{}", &src[..src.len().min(60)]);
        }
    }

    #[test]
    fn unbalanced_and_broken_input_does_not_panic() {
        for src in [
            ")))",
            "(((",
            "f\"{",
            "\"\"\"",
            "\\",
            "x = [1, 2\n)",
            "\0\u{feff}",
        ] {
            let _ = check(src);
        }
    }
}
