//! Rendering a scan: for people (human), for programs (json), for code scanning (sarif).

pub mod github;
pub mod human;
pub mod json;
pub mod review;
pub mod sarif;

pub const TOOL_NAME: &str = "flask-harden";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const TOOL_URI: &str = "https://github.com/flask-harden/flask-harden";
