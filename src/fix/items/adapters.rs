//! For generators whose checks read the repository through `ProjectFiles` (the dependency audit,
//! the input-validation flows): the snapshot's files, held in memory, as the scan would list
//! them on disk.

use super::super::FixContext;
use crate::project::{Contents, ProjectFiles};

/// Run `f` with the snapshot's files as the scan would find them.
pub(super) fn with_files<R>(
    ctx: &FixContext,
    f: impl FnOnce(&ProjectFiles) -> R,
) -> Result<R, String> {
    let contents: std::sync::Arc<dyn Contents> = std::sync::Arc::new(ctx.snapshot.clone());
    let files = ProjectFiles::in_memory(
        std::path::PathBuf::new(),
        ctx.snapshot.files.keys().map(String::as_str),
        contents,
    );
    Ok(f(&files))
}
