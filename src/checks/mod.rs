//! One module per checklist item. Each check is a plain function from the scan's shared facts
//! to the item's outcome.

pub mod csrf;
pub mod debug;
pub mod dependencies;
pub mod input_validation;
pub mod secret_key;
pub mod session;
pub mod xss;

use crate::finding::CheckOutcome;
use crate::project::ProjectFiles;
use crate::python::facts::Facts;

/// What a check can see.
pub struct Context<'a, 'm> {
    pub facts: &'a Facts<'m>,
    pub files: &'a ProjectFiles,
    /// Use the embedded advisory snapshot only (`check --offline`).
    pub offline: bool,
}

pub type CheckFn = for<'a, 'm> fn(&Context<'a, 'm>) -> CheckOutcome;

/// The checks, by checklist item id, in checklist order.
pub const CHECKS: &[(&str, CheckFn)] = &[
    ("secret-key", secret_key::check),
    ("debug", debug::check),
    ("xss", xss::check),
    ("csrf", csrf::check),
    ("session", session::check),
    ("dependencies", dependencies::check),
    ("input-validation", input_validation::check),
];

/// The outcome when the repository has no Flask application at all.
pub fn no_flask_app() -> CheckOutcome {
    CheckOutcome::not_applicable("no Flask application found in this repository")
}
