//! flask-harden: audit a Flask application's repository against a hardening checklist.
//!
//! Data flows one way: repo → scan → findings → fix plans → diff → accept → commit → rescan.
//! `project` loads the repository, `python` parses it and computes the facts the detectors
//! share, `checks` turns facts into findings, `report` renders them.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod checklist;
pub mod checks;
pub mod config;
pub mod date;
pub mod deploy;
pub mod deps;
pub mod finding;
pub mod fix;
pub mod git;
pub mod project;
pub mod python;
pub mod report;
pub mod scan;
pub mod source;
pub mod suppress;
pub mod text;
pub mod tui;
pub mod verify;
