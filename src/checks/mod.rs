//! One module per checklist item. Each check is a plain function from the scan's shared facts
//! to the item's outcome.

pub mod cors;
pub mod csrf;
pub mod debug;
pub mod dependencies;
pub mod headers;
pub mod input_validation;
pub mod production_server;
pub mod proxy;
pub mod request_limits;
pub mod secret_key;
pub mod session;
pub mod tls;
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
    ("headers", headers::check),
    ("production-server", production_server::check),
    ("proxy", proxy::check),
    ("request-limits", request_limits::check),
    ("cors", cors::check),
    ("tls", tls::check),
];

/// The outcome when the repository has no Flask application at all.
pub fn no_flask_app() -> CheckOutcome {
    CheckOutcome::not_applicable("no Flask application found in this repository")
}

/// The names the detectors look calls up by (`Facts::calls_named`, and the last segments of
/// what they pass to `Facts::calls_to`). The scan keeps the tree of a module that makes such a
/// call: a detector would parse it again otherwise. A name missing here costs a parse, never
/// a finding.
pub const CALLS_LOOKED_UP: &[&str] = &[
    "run",
    "render_template",
    "set_cookie",
    "init_app",
    "Markup",
    "Environment",
    "CSRFProtect",
    "CsrfProtect",
    "SeaSurf",
    "LoginManager",
    "Talisman",
    "ProxyFix",
    "CORS",
    "cross_origin",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::expr::last_segment;

    #[test]
    fn calls_looked_up_name_every_target() {
        let targets = xss::MARKUP
            .iter()
            .chain(xss::JINJA_ENVIRONMENT)
            .chain(csrf::PROTECTORS)
            .chain(&["flask_login.LoginManager", "flask_talisman.Talisman"]);
        for t in targets {
            assert!(CALLS_LOOKED_UP.contains(&last_segment(t)), "{t}");
        }
    }
}
