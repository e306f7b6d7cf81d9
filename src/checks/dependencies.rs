//! dependencies: packages pinned or locked at versions with known vulnerabilities.

use super::Context;
use crate::deps::advisories::{DataSource, load};
use crate::finding::CheckOutcome;

pub fn check(ctx: &Context) -> CheckOutcome {
    if ctx
        .files
        .of_kind(crate::project::FileKind::Dependency)
        .next()
        .is_none()
    {
        return CheckOutcome::not_applicable("no dependency file found in this repository");
    }
    let source = if ctx.offline {
        DataSource::Offline
    } else {
        DataSource::Default
    };
    let (db, db_notes) = load(source);
    let audit = crate::deps::audit(ctx.files, db);
    let mut outcome = CheckOutcome::findings(audit.findings());
    outcome.notes = audit.notes;
    outcome.notes.extend(db_notes.iter().cloned());
    outcome
}
