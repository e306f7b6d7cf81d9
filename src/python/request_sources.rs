//! Request data that does not come through `flask.request` by name: the fields of a WTForms
//! form (which reads `request.form` and `request.files` itself), the arguments a Flask-RESTX /
//! Flask-RESTful request parser returns, and the payload of a RESTX namespace.

use rustc_hash::FxHashSet;
use std::sync::Arc;

use ruff_python_ast::{Expr, ExprCall};

use super::Module;
use super::expr::{last_segment, method_name};
use super::imports::Imports;

/// Bases of WTForms forms. A `FlaskForm` fills itself from `request.form` / `request.files`
/// when it is created inside a request; a plain `wtforms.Form` from what it is given.
pub const FORM_BASES: &[&str] = &[
    "flask_wtf.FlaskForm",
    "flask_wtf.Form",
    "flask_wtf.form.FlaskForm",
    "wtforms.Form",
    "wtforms.form.Form",
    "wtforms.form.BaseForm",
];

/// The mark a flow keeps on a name bound to a form instance: the form itself is not request
/// data (`form.validate()` is a bool), its fields' `.data` are.
pub(crate) const FORM_MARK: &str = "\u{1}form ";

/// Names of the project's classes deriving from `roots`, directly or through each other,
/// read from the modules' summaries (no tree is read).
pub fn project_subclasses(modules: &[Arc<Module>], roots: &[&str]) -> FxHashSet<String> {
    let mut found: FxHashSet<String> = FxHashSet::default();
    loop {
        let before = found.len();
        for module in modules {
            for class in &module.summary.classes {
                if found.contains(class.name.as_str()) {
                    continue;
                }
                let derives = class
                    .bases
                    .iter()
                    .any(|q| roots.contains(&q.as_str()) || found.contains(last_segment(q)));
                if derives {
                    found.insert(class.name.clone());
                }
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// The project's WTForms form classes.
pub fn form_classes(modules: &[Arc<Module>]) -> FxHashSet<String> {
    project_subclasses(modules, FORM_BASES)
}

/// Whether `call` creates a form: a project form class, or a WTForms base itself.
pub fn creates_form(imports: &Imports, forms: &FxHashSet<String>, call: &ExprCall) -> bool {
    if imports.is(&call.func, FORM_BASES) {
        return true;
    }
    !forms.is_empty() && imports.tail(&call.func).is_some_and(|t| forms.contains(t))
}

/// A form field's data read from a form instance: `form.name.data` (or `.raw_data`), and
/// `form.data` (every field). `form_name` says whether a dotted name holds a form.
pub fn form_field_read(expr: &Expr, form_name: &dyn Fn(&Expr) -> bool) -> Option<String> {
    let Expr::Attribute(a) = expr else {
        return None;
    };
    match a.attr.id.as_str() {
        "data" | "raw_data" | "object_data" => {}
        _ => return None,
    }
    if form_name(&a.value) {
        return Some("the form's data".to_string());
    }
    match a.value.as_ref() {
        Expr::Attribute(field) if form_name(&field.value) => {
            Some(format!("form field `{}`", field.attr.id))
        }
        // `form["name"].data`
        Expr::Subscript(s) if form_name(&s.value) => Some("a form field".to_string()),
        _ => None,
    }
}

/// Calls that return request data by reading the current request themselves: a Flask-RESTX /
/// Flask-RESTful `RequestParser.parse_args()` (in a module that imports a reqparse).
pub fn framework_call_source(imports: &Imports, call: &ExprCall) -> Option<String> {
    if method_name(call) == Some("parse_args")
        && call.arguments.args.is_empty()
        && (imports.imports_from("flask_restx") || imports.imports_from("flask_restful"))
    {
        return Some("reqparse arguments".to_string());
    }
    None
}

/// `api.payload` / `ns.payload` of Flask-RESTX: the request's JSON body.
pub fn framework_attr_source(imports: &Imports, expr: &Expr) -> Option<String> {
    let Expr::Attribute(a) = expr else {
        return None;
    };
    (a.attr.id.as_str() == "payload" && imports.imports_from("flask_restx"))
        .then(|| "the RESTX payload".to_string())
}
