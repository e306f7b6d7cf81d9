//! For generators whose checks read the repository through `ProjectFiles` (the dependency audit,
//! the input-validation flows): the snapshot is written to a temporary folder for them.

use super::super::FixContext;
use crate::project::{self, ProjectFiles};

/// Run `f` with the snapshot's files as the scan would find them on disk.
pub(super) fn with_files<R>(
    ctx: &FixContext,
    f: impl FnOnce(&ProjectFiles) -> R,
) -> Result<R, String> {
    let dir = crate::fix::verify::private_tempdir().map_err(|e| e.to_string())?;
    ctx.snapshot
        .materialize(dir.path())
        .map_err(|e| e.to_string())?;
    let files = project::discover(dir.path()).map_err(|e| e.to_string())?;
    Ok(f(&files))
}
