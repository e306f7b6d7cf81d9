//! A private checkout of a commit's tree in a temporary folder: blobs are read from the
//! object database, so the user's working tree, index and branches are never touched, and
//! git's worktree list gets no entry.

use std::path::{Component, Path};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::VerifyError;

/// Write the tree of `commit` below `dir`. Symbolic links are recreated only when they point
/// inside the checkout; submodules are left out.
pub fn write_tree(repo: &Repository, commit: Oid, dir: &Path) -> Result<(), VerifyError> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut failure: Option<VerifyError> = None;
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        let rel = format!("{parent}{name}");
        if !crate::fix::snapshot::is_safe_path(&rel) {
            return TreeWalkResult::Ok;
        }
        let result = (|| -> Result<(), VerifyError> {
            let blob = repo.find_blob(entry.id())?;
            let path = dir.join(&rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| io(&path, e))?;
            }
            let mode = entry.filemode();
            if mode == 0o120000 {
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                if stays_inside(&rel, &target) {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(&target, &path).map_err(|e| io(&path, e))?;
                }
                return Ok(());
            }
            std::fs::write(&path, blob.content()).map_err(|e| io(&path, e))?;
            #[cfg(unix)]
            if mode == 0o100755 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| io(&path, e))?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })
    .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn io(path: &Path, e: std::io::Error) -> VerifyError {
    VerifyError::Io(format!("{}: {e}", path.display()))
}

/// Whether a link at `rel` to `target` stays inside the checkout.
fn stays_inside(rel: &str, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = rel.matches('/').count() as i64;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_stay_inside() {
        assert!(stays_inside("a/link", "../b.txt"));
        assert!(stays_inside("link", "b/c.txt"));
        assert!(!stays_inside("link", "../outside"));
        assert!(!stays_inside("a/link", "../../x"));
        assert!(!stays_inside("link", "/etc/passwd"));
    }
}
