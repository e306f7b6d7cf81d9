//! Small questions about expressions that every detector asks.

use ruff_python_ast::{Expr, ExprCall, InterpolatedStringElement};

/// The value of a string (or bytes) literal, implicit concatenation included.
pub fn str_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        Expr::BytesLiteral(b) => {
            let bytes: Vec<u8> = b.value.bytes().collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    }
}

/// A value fixed in the source: literals, and containers or f-strings made only of literals.
pub fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::EllipsisLiteral(_) => true,
        Expr::FString(f) => f.value.elements().all(|e| match e {
            InterpolatedStringElement::Literal(_) => true,
            InterpolatedStringElement::Interpolation(i) => is_constant(&i.expression),
        }),
        Expr::Tuple(t) => t.elts.iter().all(is_constant),
        Expr::List(l) => l.elts.iter().all(is_constant),
        Expr::BinOp(b) => is_constant(&b.left) && is_constant(&b.right),
        Expr::UnaryOp(u) => is_constant(&u.operand),
        _ => false,
    }
}

/// The truth of a literal, when it is one.
pub fn literal_truth(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        Expr::NoneLiteral(_) => Some(false),
        Expr::NumberLiteral(n) => Some(match &n.value {
            ruff_python_ast::Number::Int(i) => i.as_u64() != Some(0),
            ruff_python_ast::Number::Float(f) => *f != 0.0,
            ruff_python_ast::Number::Complex { .. } => true,
        }),
        Expr::StringLiteral(s) => Some(!s.value.is_empty()),
        _ => None,
    }
}

/// The method name of a call on an attribute: `app.config.update(...)` → `update`.
pub fn method_name(call: &ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// The receiver of a method call: `app.config.update(...)` → `app.config`.
pub fn receiver(call: &ExprCall) -> Option<&Expr> {
    match call.func.as_ref() {
        Expr::Attribute(a) => Some(&a.value),
        _ => None,
    }
}

/// The last segment of a dotted name: `flask.Flask` → `Flask`.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// `x.config` for any `x`: the expression a config write goes through.
pub fn is_config_attr(expr: &Expr) -> bool {
    matches!(expr, Expr::Attribute(a) if a.attr.id.as_str() == "config")
}

/// The simple name or dotted attribute path of an expression, as written (`self.app`).
pub fn dotted(expr: &Expr) -> Option<String> {
    dotted_with(expr, |name| name)
}

/// [`dotted`], with the name at the root of the chain replaced by `head(name)` (what an
/// import binds it to, say). The chain is walked once and the name built in one allocation.
pub fn dotted_with<'e: 'h, 'h>(
    expr: &'e Expr,
    head: impl FnOnce(&'e str) -> &'h str,
) -> Option<String> {
    let mut attrs: Vec<&str> = Vec::new();
    let mut current = expr;
    let head = loop {
        match current {
            Expr::Attribute(a) => {
                attrs.push(a.attr.id.as_str());
                current = &a.value;
            }
            Expr::Name(n) => break head(n.id.as_str()),
            _ => return None,
        }
    };
    let mut out =
        String::with_capacity(head.len() + attrs.iter().map(|a| a.len() + 1).sum::<usize>());
    out.push_str(head);
    for attr in attrs.iter().rev() {
        out.push('.');
        out.push_str(attr);
    }
    Some(out)
}

/// The last segment of [`dotted`]'s name (`c` of `a.b.c`), without building the name.
pub fn dotted_last(expr: &Expr) -> Option<&str> {
    let mut current = expr;
    while let Expr::Attribute(a) = current {
        current = &a.value;
    }
    if !matches!(current, Expr::Name(_)) {
        return None;
    }
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// Every call in a list of statements, nested bodies included, in source order.
pub fn calls_in_body(body: &[ruff_python_ast::Stmt]) -> Vec<&ExprCall> {
    let mut c = CallCollector::default();
    ruff_python_ast::visitor::Visitor::visit_body(&mut c, body);
    c.calls
}

/// Every call inside an expression, the expression itself included.
pub fn calls_in_expr(expr: &Expr) -> Vec<&ExprCall> {
    let mut calls = Vec::new();
    collect_calls(expr, &mut calls);
    calls
}

/// Append every call inside `expr` (itself included) to `out`, in source order.
pub fn collect_calls<'e>(expr: &'e Expr, out: &mut Vec<&'e ExprCall>) {
    let mut c = CallCollector {
        calls: std::mem::take(out),
    };
    ruff_python_ast::visitor::Visitor::visit_expr(&mut c, expr);
    *out = c.calls;
}

#[derive(Default)]
struct CallCollector<'m> {
    calls: Vec<&'m ExprCall>,
}

impl<'m> ruff_python_ast::visitor::Visitor<'m> for CallCollector<'m> {
    fn visit_expr(&mut self, expr: &'m Expr) {
        if let Expr::Call(call) = expr {
            self.calls.push(call);
        }
        ruff_python_ast::visitor::walk_expr(self, expr);
    }
}

/// The first value formatted into a string (an f-string's interpolations, `%` with one value
/// or a tuple, either side of `+`, `.format()` arguments) for which `pick` holds.
pub fn formatted_part<'e>(expr: &'e Expr, pick: impl Fn(&'e Expr) -> bool) -> Option<&'e Expr> {
    use ruff_python_ast::Operator;
    match expr {
        Expr::FString(f) => f.value.elements().find_map(|el| match el {
            InterpolatedStringElement::Interpolation(i) if pick(&i.expression) => {
                Some(i.expression.as_ref())
            }
            _ => None,
        }),
        Expr::BinOp(b) if b.op == Operator::Add => [b.left.as_ref(), b.right.as_ref()]
            .into_iter()
            .find(|e| pick(e)),
        Expr::BinOp(b) if b.op == Operator::Mod => match b.right.as_ref() {
            Expr::Tuple(t) => t.elts.iter().find(|e| pick(e)),
            r => Some(r).filter(|e| pick(e)),
        },
        Expr::Call(c) if method_name(c) == Some("format") => c
            .arguments
            .args
            .iter()
            .chain(c.arguments.keywords.iter().map(|k| &k.value))
            .find(|a| pick(a)),
        _ => None,
    }
}

/// A Python string literal holding `s`, in `quote`.
pub fn py_string(quote: char, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
