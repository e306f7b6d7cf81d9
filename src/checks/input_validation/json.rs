//! input-validation/unvalidated-json: views that read keys of the JSON body without a schema.
//!
//! The finding lists the keys the view reads and the type each one's use implies, which is
//! what the pydantic model of the fix is made of.

use std::collections::HashSet;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{BoolOp, Expr, ExprCall, Number, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use super::sinks::Rule;
use crate::checks::Context;
use crate::finding::Finding;
use crate::python::expr::{last_segment, method_name, receiver, str_value};
use crate::python::imports::Imports;

/// Libraries that validate a body: a call into them with the body, or a decorator from them,
/// is validation in the way.
const VALIDATION_LIBS: &[&str] = &[
    "pydantic",
    "marshmallow",
    "webargs",
    "jsonschema",
    "fastjsonschema",
    "flask_smorest",
    "flask_pydantic",
    "flask_expects_json",
    "apiflask",
    "cerberus",
    "voluptuous",
    "schema",
    "wtforms",
    "flask_wtf",
    "msgspec",
    "spectree",
    "flask_marshmallow",
];
const VALIDATING_METHODS: &[&str] = &[
    "model_validate",
    "model_validate_json",
    "validate_python",
    "parse_obj",
    "validate",
    "load",
    "is_valid",
    "from_json",
    "iter_errors",
];
const VALIDATING_DECORATORS: &[&str] = &[
    "use_args",
    "use_kwargs",
    "arguments",
    "input",
    "expects_json",
    "validate",
    "validate_json",
    "expect",
];
/// Base classes of schema classes defined in the project.
const SCHEMA_BASES: &[&str] = &[
    "BaseModel",
    "Schema",
    "Form",
    "FlaskForm",
    "Struct",
    "RootModel",
];

/// The type of a key whose use says nothing about it. Guessing `str` would make the model
/// answer 400 to a client that sends a number the view handles fine.
pub const UNTYPED: &str = "Any";

/// A key the view reads from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonKey {
    pub key: String,
    /// The Python type its use implies: `str`, `int`, `float`, `bool`, `list`, `dict`, or
    /// [`UNTYPED`].
    pub ty: &'static str,
    /// Read with `[...]`: the view fails without it.
    pub required: bool,
    /// The default of `.get('k', default)`, as written, when it is a literal.
    pub default: Option<String>,
}

/// A view that reads the JSON body key by key with nothing validating it.
#[derive(Debug, Clone)]
pub struct UnvalidatedJson<'m> {
    pub module: usize,
    pub func: &'m StmtFunctionDef,
    /// Every `request.get_json()` / `request.json` in the view.
    pub body_reads: Vec<TextRange>,
    pub keys: Vec<JsonKey>,
}

pub fn findings<'m>(ctx: &Context<'_, 'm>) -> Vec<(Finding, UnvalidatedJson<'m>)> {
    let mut out = Vec::new();
    for u in unvalidated_views(ctx) {
        let m = ctx.facts.module(u.module);
        let Some(first) = u.body_reads.first() else {
            continue;
        };
        let keys: Vec<String> = u
            .keys
            .iter()
            .map(|k| format!("`{}` ({})", k.key, k.ty))
            .collect();
        let finding = m.finding(
            Rule::UnvalidatedJson.id(),
            Rule::UnvalidatedJson.severity(),
            *first,
            format!(
                "view `{}` reads {} from {} without validating them: {}",
                u.func.name.id,
                keys.join(", "),
                m.text(*first),
                Rule::UnvalidatedJson.advice()
            ),
        );
        out.push((finding, u));
    }
    out
}

/// The views that read JSON body keys without validation.
pub fn unvalidated_views<'m>(ctx: &Context<'_, 'm>) -> Vec<UnvalidatedJson<'m>> {
    let facts = ctx.facts;
    let schema_classes = schema_classes(ctx);
    let mut out = Vec::new();
    for route in &facts.routes {
        if facts.module(route.module).is_test {
            continue;
        }
        let imports = &facts.imports[route.module];
        if route
            .func
            .decorator_list
            .iter()
            .any(|d| is_validating_decorator(imports, &d.expression))
        {
            continue;
        }
        let mut scan = BodyScan {
            imports,
            names: HashSet::new(),
            body_reads: Vec::new(),
            keys: Vec::new(),
            validated: false,
            schema_classes: &schema_classes,
        };
        // Twice: the first pass learns the names bound to the body.
        scan.visit_body(&route.func.body);
        scan.body_reads.clear();
        scan.keys.clear();
        scan.visit_body(&route.func.body);
        if scan.validated || scan.keys.is_empty() {
            continue;
        }
        let mut keys: Vec<JsonKey> = Vec::new();
        for (key, hint) in scan.keys {
            match keys.iter_mut().find(|k| k.key == key.key) {
                Some(k) => {
                    k.required |= key.required;
                    if k.default.is_none() {
                        k.default = key.default;
                    }
                    if hint > 0 && k.ty == UNTYPED {
                        k.ty = key.ty;
                    }
                }
                None => keys.push(key),
            }
        }
        scan.body_reads.sort_by_key(|r| r.start());
        out.push(UnvalidatedJson {
            module: route.module,
            func: route.func,
            body_reads: scan.body_reads,
            keys,
        });
    }
    out
}

fn is_validating_decorator(imports: &Imports, expr: &Expr) -> bool {
    let target = match expr {
        Expr::Call(c) => c.func.as_ref(),
        other => other,
    };
    let Some(q) = imports.qualified(target) else {
        return false;
    };
    VALIDATION_LIBS
        .iter()
        .any(|lib| q == *lib || q.starts_with(&format!("{lib}.")))
        || VALIDATING_DECORATORS.contains(&last_segment(&q))
}

/// Names of the project's classes that derive from a schema base (pydantic, marshmallow, forms).
fn schema_classes(ctx: &Context) -> HashSet<String> {
    let mut out = HashSet::new();
    for idx in 0..ctx.facts.modules.len() {
        for c in ctx.facts.top_classes(idx) {
            if c.bases.iter().any(|q| {
                SCHEMA_BASES.contains(&last_segment(q))
                    || VALIDATION_LIBS
                        .iter()
                        .any(|l| q.strip_prefix(l).is_some_and(|rest| rest.starts_with('.')))
            }) {
                out.insert(c.name.clone());
            }
        }
    }
    out
}

struct BodyScan<'a> {
    imports: &'a Imports,
    /// Local names bound to the body.
    names: HashSet<String>,
    body_reads: Vec<TextRange>,
    /// Keys read, with the strength of their type hint (0: default, 1: `.get` default,
    /// 2: comparison or structure, 3: cast).
    keys: Vec<(JsonKey, u8)>,
    validated: bool,
    schema_classes: &'a HashSet<String>,
}

impl BodyScan<'_> {
    /// `request.get_json(...)`, `request.json`.
    fn is_body(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(c) => self
                .imports
                .qualified(&c.func)
                .is_some_and(|q| q == "flask.request.get_json"),
            Expr::Attribute(_) => self
                .imports
                .qualified(expr)
                .is_some_and(|q| q == "flask.request.json"),
            _ => false,
        }
    }

    /// The body, a name bound to it, or `body or {}`.
    fn is_json(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => self.names.contains(n.id.as_str()),
            Expr::BoolOp(b) if b.op == BoolOp::Or => {
                b.values.first().is_some_and(|v| self.is_json(v))
            }
            _ => self.is_body(expr),
        }
    }

    /// The key an expression reads from the body: `data['k']`, `data.get('k', d)`.
    fn key_read(&self, expr: &Expr) -> Option<JsonKey> {
        match expr {
            Expr::Subscript(s) if self.is_json(&s.value) => Some(JsonKey {
                key: str_value(&s.slice)?,
                ty: UNTYPED,
                required: true,
                default: None,
            }),
            Expr::Call(c)
                if method_name(c) == Some("get")
                    && receiver(c).is_some_and(|r| self.is_json(r)) =>
            {
                let key = str_value(c.arguments.args.first()?)?;
                let default = c.arguments.args.get(1);
                Some(JsonKey {
                    key,
                    ty: default.and_then(literal_type).unwrap_or(UNTYPED),
                    required: false,
                    default: default.and_then(literal_text),
                })
            }
            _ => None,
        }
    }

    fn hint(&mut self, expr: &Expr, ty: &'static str, strength: u8) {
        if let Some(mut key) = self.key_read(expr) {
            key.ty = ty;
            self.keys.push((key, strength));
        }
    }

    fn passes_body_to_validator(&self, call: &ExprCall) -> bool {
        let gets_body =
            call.arguments.args.iter().any(|a| {
                self.is_json(a) || matches!(a, Expr::Starred(s) if self.is_json(&s.value))
            }) || call
                .arguments
                .keywords
                .iter()
                .any(|k| self.is_json(&k.value));
        if !gets_body {
            return false;
        }
        let q = self.imports.qualified(&call.func).unwrap_or_default();
        VALIDATION_LIBS
            .iter()
            .any(|lib| q.starts_with(&format!("{lib}.")))
            || method_name(call).is_some_and(|m| VALIDATING_METHODS.contains(&m))
            || self.schema_classes.contains(last_segment(&q))
            || receiver(call).is_some_and(|r| {
                matches!(r, Expr::Call(c) if self.imports.qualified(&c.func).is_some_and(|q| self.schema_classes.contains(last_segment(&q))))
            })
    }
}

impl<'m> Visitor<'m> for BodyScan<'_> {
    fn visit_stmt(&mut self, stmt: &'m Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(a) if self.is_json(&a.value) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        self.names.insert(n.id.to_string());
                    }
                }
            }
            Stmt::For(f) => self.hint(&f.iter, "list", 2),
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'m Expr) {
        if self.is_body(expr) {
            self.body_reads.push(expr.range());
        }
        if let Some(key) = self.key_read(expr) {
            let strength = u8::from(key.default.is_some());
            self.keys.push((key, strength));
        }
        match expr {
            Expr::Call(c) => {
                if self.passes_body_to_validator(c) {
                    self.validated = true;
                }
                let callee = self.imports.qualified(&c.func).unwrap_or_default();
                if let Some(arg) = c.arguments.args.first() {
                    match callee.as_str() {
                        "int" => self.hint(arg, "int", 3),
                        "float" => self.hint(arg, "float", 3),
                        "bool" => self.hint(arg, "bool", 3),
                        "str" => self.hint(arg, "str", 3),
                        "list" | "len" | "sorted" => self.hint(arg, "list", 2),
                        "dict" => self.hint(arg, "dict", 3),
                        _ => {}
                    }
                }
                if let Some(recv) = receiver(c) {
                    match method_name(c) {
                        Some("get" | "keys" | "values" | "items") => self.hint(recv, "dict", 2),
                        Some(
                            "lower" | "upper" | "strip" | "split" | "startswith" | "endswith"
                            | "encode",
                        ) => self.hint(recv, "str", 3),
                        _ => {}
                    }
                }
            }
            Expr::Compare(c) => {
                let sides: Vec<&Expr> = std::iter::once(c.left.as_ref())
                    .chain(c.comparators.iter())
                    .collect();
                let ty = sides.iter().find_map(|e| literal_type(e));
                if let Some(ty) = ty {
                    for side in sides {
                        self.hint(side, ty, 2);
                    }
                }
            }
            Expr::Subscript(s) => {
                let ty = match s.slice.as_ref() {
                    Expr::NumberLiteral(_) | Expr::Slice(_) => "list",
                    _ => "dict",
                };
                self.hint(&s.value, ty, 2);
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// The type of a literal default or comparison operand.
fn literal_type(expr: &Expr) -> Option<&'static str> {
    match expr {
        Expr::BooleanLiteral(_) => Some("bool"),
        Expr::NumberLiteral(n) => Some(match n.value {
            Number::Int(_) => "int",
            _ => "float",
        }),
        Expr::StringLiteral(_) => Some("str"),
        Expr::List(_) => Some("list"),
        Expr::Dict(_) => Some("dict"),
        _ => None,
    }
}

/// A literal default as Python text, when it is one the model can carry.
fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::BooleanLiteral(b) => Some(if b.value { "True" } else { "False" }.to_string()),
        Expr::NumberLiteral(n) => Some(match &n.value {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => format!("{f:?}"),
            Number::Complex { .. } => return None,
        }),
        Expr::StringLiteral(s) => Some(crate::python::expr::py_string('"', s.value.to_str())),
        Expr::NoneLiteral(_) => Some("None".to_string()),
        Expr::List(l) if l.elts.is_empty() => Some("[]".to_string()),
        Expr::Dict(d) if d.items.is_empty() => Some("{}".to_string()),
        _ => None,
    }
}
