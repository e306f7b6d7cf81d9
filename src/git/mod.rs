//! The git side of fixes, with git2 and without touching what the user has.
//!
//! - [`GitRepo::head_snapshot`]: fixes are built from HEAD's tree (blobs read from the object
//!   database), never from the working tree, so uncommitted work cannot leak into them.
//! - [`GitRepo::commit_stages`]: one commit per checklist item on a new branch. Blobs, trees
//!   and commits are written straight to the object database on top of HEAD's commit; the
//!   branch ref is created last. The working tree, the index, HEAD and the checked-out branch
//!   are left exactly as they were. A failure before the ref is created leaves only unreachable
//!   objects, which `git gc` removes.
//! - [`GitRepo::apply_to_worktree`]: write fixed files into the working tree, refusing any file
//!   with uncommitted changes; every file is written to a temporary file beside it (mode kept)
//!   and renamed into place, and a failure part-way restores what was already replaced.
//!
//! These calls block; a UI runs them off its event loop.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, FileMode, ObjectType, Oid, Repository, RepositoryState};

use crate::finding::Diagnostic;

use crate::fix::FileChange;
use crate::fix::snapshot::{SnapFile, Snapshot, is_relevant, is_safe_path};
use crate::project::MAX_FILE_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0}: not inside a git repository")]
    NotARepository(PathBuf),
    #[error("the repository has no commits yet (HEAD is unborn); commit the code first")]
    UnbornHead,
    #[error("the repository is in the middle of a {0}; finish or abort it first")]
    InProgress(&'static str),
    #[error(
        "the index is locked ({0} exists): another git command is running, or one crashed; \
         remove the file once no git command is running"
    )]
    IndexLocked(PathBuf),
    #[error("refusing to write {path}: {reason}")]
    Refused { path: String, reason: String },
    #[error("branch {0} already exists")]
    BranchExists(String),
    #[error("{name:?} is not a valid branch name: {rule}")]
    InvalidBranch { name: String, rule: &'static str },
    #[error(
        "git has no identity for the commits: set user.name and user.email \
         (git config user.name \"Your Name\"; git config user.email you@example.com)"
    )]
    NoIdentity,
    #[error("the repository has no working tree (bare repository)")]
    Bare,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Check `name` as `git check-ref-format --branch` does, naming the rule it breaks.
///
/// The rules are git's (`git help check-ref-format`), with the two `--branch` adds: the name
/// may not be `HEAD` and may not start with `-`.
pub fn validate_branch_name(name: &str) -> Result<(), GitError> {
    let broken = |rule: &'static str| {
        Err(GitError::InvalidBranch {
            name: name.to_string(),
            rule,
        })
    };
    if name.is_empty() {
        return broken("it is empty");
    }
    if name == "HEAD" {
        return broken("HEAD names the checked-out commit, not a branch");
    }
    if name == "@" {
        return broken("@ is git's shorthand for HEAD");
    }
    if name.starts_with('-') {
        return broken("it may not start with -");
    }
    if name.chars().any(|c| c.is_ascii_control()) {
        return broken("it may not contain control characters");
    }
    if name.contains(' ') {
        return broken("it may not contain a space");
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return broken(match c {
            '~' => "it may not contain ~",
            '^' => "it may not contain ^",
            ':' => "it may not contain :",
            '?' => "it may not contain ?",
            '*' => "it may not contain *",
            '[' => "it may not contain [",
            _ => "it may not contain \\",
        });
    }
    if name.contains("..") {
        return broken("it may not contain ..");
    }
    if name.contains("@{") {
        return broken("it may not contain @{");
    }
    if name.starts_with('/') || name.ends_with('/') {
        return broken("it may not start or end with /");
    }
    if name.contains("//") {
        return broken("it may not contain //");
    }
    if name.ends_with('.') {
        return broken("it may not end with .");
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return broken("no /-separated part may start with .");
        }
        if component.ends_with(".lock") {
            return broken("no /-separated part may end with .lock");
        }
    }
    Ok(())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GitError + '_ {
    move |source| GitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    pub commit: Oid,
    /// The checked-out branch; `None` when HEAD is detached.
    pub branch: Option<String>,
}

impl HeadInfo {
    pub fn short_id(&self) -> String {
        self.commit.to_string().chars().take(7).collect()
    }
}

/// One commit to make: its message and the file changes relative to the previous commit.
#[derive(Debug, Clone)]
pub struct Stage {
    pub message: String,
    pub changes: Vec<FileChange>,
}

/// What [`GitRepo::commit_stages`] made.
#[derive(Debug, Clone)]
pub struct Committed {
    pub branch: String,
    /// Commit ids with their subject lines, oldest first.
    pub commits: Vec<(Oid, String)>,
    pub base: HeadInfo,
}

pub struct GitRepo {
    repo: Repository,
}

impl GitRepo {
    /// The repository holding `path` (searching upwards).
    pub fn open(path: &Path) -> Result<Self, GitError> {
        match Repository::discover(path) {
            Ok(repo) => Ok(Self { repo }),
            Err(e) if e.code() == ErrorCode::NotFound => {
                Err(GitError::NotARepository(path.to_path_buf()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The working tree's root.
    pub fn workdir(&self) -> Result<&Path, GitError> {
        self.repo.workdir().ok_or(GitError::Bare)
    }

    /// Where `path` lies inside the working tree, with forward slashes and a trailing `/`
    /// (empty for the root), so a fix run on a subfolder only looks at that folder.
    pub fn prefix_of(&self, path: &Path) -> Result<String, GitError> {
        let workdir = self.workdir()?;
        let root = fs::canonicalize(workdir).map_err(io_err(workdir))?;
        let at = fs::canonicalize(path).map_err(io_err(path))?;
        let rel = crate::project::relative(&root, &at).unwrap_or_default();
        Ok(if rel.is_empty() {
            rel
        } else {
            format!("{rel}/")
        })
    }

    pub fn head(&self) -> Result<HeadInfo, GitError> {
        let head = match self.repo.head() {
            Ok(h) => h,
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
                return Err(GitError::UnbornHead);
            }
            Err(e) => return Err(e.into()),
        };
        let commit = head.peel_to_commit()?.id();
        let branch = if self.repo.head_detached()? {
            None
        } else {
            head.shorthand().ok().map(str::to_string)
        };
        Ok(HeadInfo { commit, branch })
    }

    /// An error when a merge, rebase, cherry-pick, revert, bisect or `git am` is in progress.
    pub fn ensure_no_operation_in_progress(&self) -> Result<(), GitError> {
        let what = match self.repo.state() {
            RepositoryState::Clean => return Ok(()),
            RepositoryState::Merge => "merge",
            RepositoryState::Revert | RepositoryState::RevertSequence => "revert",
            RepositoryState::CherryPick | RepositoryState::CherryPickSequence => "cherry-pick",
            RepositoryState::Bisect => "bisect",
            RepositoryState::Rebase
            | RepositoryState::RebaseInteractive
            | RepositoryState::RebaseMerge => "rebase",
            RepositoryState::ApplyMailbox | RepositoryState::ApplyMailboxOrRebase => "git am",
        };
        Err(GitError::InProgress(what))
    }

    /// HEAD's files that the scan and the fixes use, read from the object database. Symbolic
    /// links, submodules, files over the size limit and non-UTF-8 files are left out.
    pub fn head_snapshot(&self) -> Result<Snapshot, GitError> {
        self.head_snapshot_noting_skipped().map(|(snap, _)| snap)
    }

    /// [`GitRepo::head_snapshot`], with the paths left out because their names are not UTF-8
    /// (as `path: message` diagnostics); the rest of the tree is read.
    pub fn head_snapshot_noting_skipped(&self) -> Result<(Snapshot, Vec<Diagnostic>), GitError> {
        let tree = self.repo.head().map_err(|e| {
            if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) {
                GitError::UnbornHead
            } else {
                e.into()
            }
        })?;
        let tree = tree.peel_to_tree()?;
        // Walked by hand, not with Tree::walk, whose callback fails on the first folder whose
        // name is not UTF-8; with a stack, not recursion, however deep the tree.
        let mut wanted = Vec::new();
        let mut skipped = Vec::new();
        let mut pending: Vec<(String, git2::Tree)> = vec![(String::new(), tree)];
        while let Some((dir, tree)) = pending.pop() {
            for entry in tree.iter() {
                let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
                    skipped.push(Diagnostic {
                        path: format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes())),
                        message: "the name is not UTF-8; left out of the fixes".to_string(),
                    });
                    continue;
                };
                let path = format!("{dir}{name}");
                let mode = entry.filemode();
                match entry.kind() {
                    Some(ObjectType::Tree) if is_safe_path(&path) => {
                        pending.push((format!("{path}/"), self.repo.find_tree(entry.id())?));
                    }
                    Some(ObjectType::Blob)
                        if (mode == i32::from(FileMode::Blob)
                            || mode == i32::from(FileMode::BlobExecutable))
                            && is_safe_path(&path)
                            && is_relevant(&path) =>
                    {
                        wanted.push((
                            path,
                            entry.id(),
                            mode == i32::from(FileMode::BlobExecutable),
                        ));
                    }
                    _ => {}
                }
            }
        }
        let mut snap = Snapshot::default();
        let odb = self.repo.odb()?;
        for (path, id, executable) in wanted {
            let (size, _) = odb.read_header(id)?;
            if size as u64 > MAX_FILE_BYTES {
                continue;
            }
            let blob = self.repo.find_blob(id)?;
            if let Some(file) = SnapFile::from_bytes(blob.content().to_vec(), executable) {
                snap.insert(path, file);
            }
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((snap, skipped))
    }

    pub fn branch_exists(&self, name: &str) -> bool {
        self.repo
            .find_reference(&format!("refs/heads/{name}"))
            .is_ok()
    }

    /// `base`, or `base-2`, `base-3`… whichever does not exist yet.
    pub fn unique_branch_name(&self, base: &str) -> String {
        if !self.branch_exists(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|name| !self.branch_exists(name))
            .unwrap_or_else(|| base.to_string())
    }

    /// `flask-harden/YYYY-MM-DD` (UTC), made unique.
    pub fn default_branch_name(&self) -> String {
        self.unique_branch_name(&format!("flask-harden/{}", crate::date::today_utc()))
    }

    /// Create `branch` from HEAD's commit with one commit per stage (stages without changes
    /// are skipped). Only the object database and the new ref are written.
    pub fn commit_stages(&self, branch: &str, stages: &[Stage]) -> Result<Committed, GitError> {
        self.ensure_no_operation_in_progress()?;
        // Nothing here writes the index, but a lock means a git command is running (or one
        // crashed) and may be about to move the refs: the README promises a clear stop.
        let lock = self.repo.path().join("index.lock");
        if fs::symlink_metadata(&lock).is_ok() {
            return Err(GitError::IndexLocked(lock));
        }
        validate_branch_name(branch)?;
        let refname = format!("refs/heads/{branch}");
        if !git2::Reference::is_valid_name(&refname) {
            return Err(GitError::InvalidBranch {
                name: branch.to_string(),
                rule: "git refuses it as a reference name",
            });
        }
        if self.branch_exists(branch) {
            return Err(GitError::BranchExists(branch.to_string()));
        }
        let base = self.head()?;
        let signature = self.repo.signature().map_err(|_| GitError::NoIdentity)?;
        // The new objects are made in memory (a mempack backend on a second handle of the
        // repository) and written as one pack at the end: libgit2 would otherwise write each
        // blob, tree and commit as a loose object through its own `tmp_object_git2_*` file,
        // which a kill mid-commit leaves behind in `.git/objects`.
        let work = Repository::open(self.repo.path())?;
        let work_odb = work.odb()?;
        let mempack = work_odb.add_new_mempack_backend(1000)?;
        let mut parent = work.find_commit(base.commit)?;
        let mut commits = Vec::new();
        for stage in stages.iter().filter(|s| !s.changes.is_empty()) {
            let parent_tree = parent.tree()?;
            let mut update = git2::build::TreeUpdateBuilder::new();
            for change in &stage.changes {
                if !is_safe_path(&change.path) {
                    return Err(GitError::Refused {
                        path: change.path.clone(),
                        reason: "not a plain path inside the repository".to_string(),
                    });
                }
                let blob = work.blob(&change.after.bytes())?;
                let mode = if change.after.executable {
                    FileMode::BlobExecutable
                } else {
                    FileMode::Blob
                };
                update.upsert(change.path.as_str(), blob, mode);
            }
            let tree_id = update.create_updated(&work, &parent_tree)?;
            let tree = work.find_tree(tree_id)?;
            // The message names paths from the repository; `git log` prints it raw.
            let message = crate::text::escape_text(&stage.message);
            let id = work.commit(None, &signature, &signature, &message, &tree, &[&parent])?;
            let subject = message.lines().next().unwrap_or("").to_string();
            commits.push((id, subject));
            parent = work.find_commit(id)?;
        }
        if let Some(&(tip, _)) = commits.last() {
            let mut pack = git2::Buf::new();
            mempack.dump(&work, &mut pack)?;
            let odb = self.repo.odb()?;
            let mut writer = odb.packwriter()?;
            writer
                .write_all(&pack)
                .map_err(|e| GitError::Git(git2::Error::from_str(&e.to_string())))?;
            writer.commit()?;
            self.repo.reference(
                &refname,
                tip,
                false,
                "flask-harden: fixes from the hardening checklist",
            )?;
        }
        Ok(Committed {
            branch: branch.to_string(),
            commits,
            base,
        })
    }

    /// Write `changes` (made from HEAD's content) into the working tree. Refused, before
    /// anything is written, when the index is locked, an operation is in progress, or any file
    /// has uncommitted changes, differs from HEAD on disk, is a symbolic link, or (for a new
    /// file) already exists. The index is not touched: the fixes show as unstaged changes.
    pub fn apply_to_worktree(&self, changes: &[FileChange]) -> Result<(), GitError> {
        let workdir = self.workdir()?.to_path_buf();
        self.ensure_no_operation_in_progress()?;
        let lock = self.repo.path().join("index.lock");
        if lock.exists() {
            return Err(GitError::IndexLocked(lock));
        }
        self.head()?;
        for change in changes {
            self.check_writable(&workdir, change)?;
        }

        // Phase 1: every new text in a temporary file beside its target.
        let mut prepared = Vec::new();
        let mut created_dirs = Vec::new();
        let result = (|| -> Result<(), GitError> {
            for change in changes {
                let target = workdir.join(&change.path);
                let parent = target.parent().unwrap_or(&workdir).to_path_buf();
                if !parent.exists() {
                    let mut missing = Vec::new();
                    let mut p = parent.as_path();
                    while !p.exists() {
                        missing.push(p.to_path_buf());
                        p = p.parent().unwrap_or(&workdir);
                    }
                    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
                    created_dirs.extend(missing);
                }
                let mut tmp = tempfile::Builder::new()
                    .prefix(".flask-harden-")
                    .tempfile_in(&parent)
                    .map_err(io_err(&parent))?;
                tmp.write_all(&change.after.bytes())
                    .and_then(|_| tmp.as_file().sync_all())
                    .map_err(io_err(tmp.path()))?;
                let perms = match fs::metadata(&target) {
                    Ok(m) => Some(m.permissions()),
                    Err(_) => new_file_permissions(change.after.executable),
                };
                if let Some(perms) = perms {
                    fs::set_permissions(tmp.path(), perms).map_err(io_err(tmp.path()))?;
                }
                prepared.push((target, tmp, change));
            }
            Ok(())
        })();
        if let Err(e) = result {
            drop(prepared);
            remove_dirs(&created_dirs);
            return Err(e);
        }

        // Phase 2: rename into place; on failure put back what was replaced.
        let mut replaced: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let mut failure = None;
        for (target, tmp, change) in prepared {
            if failure.is_some() {
                continue; // dropping `tmp` removes the temporary file
            }
            match tmp.persist(&target) {
                Ok(_) => replaced.push((target, change.before.as_ref().map(SnapFile::bytes))),
                Err(e) => {
                    failure = Some(GitError::Io {
                        path: target,
                        source: e.error,
                    });
                }
            }
        }
        let Some(error) = failure else {
            return Ok(());
        };
        for (target, original) in replaced.into_iter().rev() {
            let _ = match original {
                Some(bytes) => fs::write(&target, bytes),
                None => fs::remove_file(&target),
            };
        }
        remove_dirs(&created_dirs);
        Err(error)
    }

    fn check_writable(&self, workdir: &Path, change: &FileChange) -> Result<(), GitError> {
        let refuse = |reason: &str| GitError::Refused {
            path: change.path.clone(),
            reason: reason.to_string(),
        };
        if !is_safe_path(&change.path) {
            return Err(refuse("not a plain path inside the repository"));
        }
        // No symbolic link on the way: it could lead out of the repository.
        let mut p = workdir.to_path_buf();
        let parts: Vec<&str> = change.path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            p.push(part);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refuse("it is (or lies under) a symbolic link"));
                }
                Ok(m) if i + 1 < parts.len() && !m.is_dir() => {
                    return Err(refuse("a parent is not a folder"));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let target = workdir.join(&change.path);
        match &change.before {
            None => {
                if fs::symlink_metadata(&target).is_ok() {
                    return Err(refuse("the file already exists in the working tree"));
                }
            }
            Some(before) => {
                let status = self.repo.status_file(Path::new(&change.path))?;
                if !status.is_empty() {
                    return Err(refuse("it has uncommitted changes"));
                }
                let on_disk = fs::read(&target).map_err(io_err(&target))?;
                if on_disk != before.bytes() {
                    return Err(refuse(
                        "the working copy differs from HEAD's (line-ending conversion or a filter?)",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A new file's mode: rw-r--r-- (rwxr-xr-x when executable), not the private mode of a
/// temporary file.
#[cfg(unix)]
fn new_file_permissions(executable: bool) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(if executable {
        0o755
    } else {
        0o644
    }))
}

#[cfg(not(unix))]
fn new_file_permissions(_executable: bool) -> Option<fs::Permissions> {
    None
}

/// Remove folders created for new files, deepest first, when they are empty again.
fn remove_dirs(dirs: &[PathBuf]) {
    for d in dirs {
        let _ = fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> Option<&'static str> {
        match validate_branch_name(name) {
            Ok(()) => None,
            Err(GitError::InvalidBranch { rule, .. }) => Some(rule),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn branch_names_follow_check_ref_format() {
        for good in [
            "main",
            "flask-harden/2026-01-01",
            "a.b",
            "feature/x-1",
            "é",
            "a@b",
        ] {
            assert_eq!(rule(good), None, "{good}");
        }
        let bad = [
            ("", "empty"),
            ("HEAD", "HEAD"),
            ("@", "HEAD"),
            ("-x", "start with -"),
            ("a b", "space"),
            ("a\tb", "control"),
            ("a\x1b[31m", "control"),
            ("a\x7f", "control"),
            ("a~1", "~"),
            ("a^", "^"),
            ("a:b", ":"),
            ("a?", "?"),
            ("a*", "*"),
            ("a[b", "["),
            ("a\\b", "\\"),
            ("a..b", ".."),
            ("a@{1}", "@{"),
            ("/a", "/"),
            ("a/", "/"),
            ("a//b", "//"),
            ("a.", "end with ."),
            (".a", "start with ."),
            ("a/.b", "start with ."),
            ("a.lock", ".lock"),
            ("a.lock/b", ".lock"),
        ];
        for (name, words) in bad {
            let rule = rule(name).unwrap_or_else(|| panic!("{name:?} accepted"));
            assert!(rule.contains(words), "{name:?}: {rule}");
        }
        // The message names the rule.
        let msg = validate_branch_name("HEAD").unwrap_err().to_string();
        assert!(
            msg.contains("\"HEAD\"") && msg.contains("checked-out"),
            "{msg}"
        );
    }

    /// Each name refused here is refused by git itself, and each accepted one accepted; `@`
    /// is the one stricter case (git reads `--branch @` as HEAD's branch and accepts it, but a
    /// branch named `@` shadows HEAD's shorthand).
    #[test]
    fn agrees_with_git_check_ref_format() {
        let names = [
            "main", "HEAD", "-x", "a..b", "a.lock", "a/.b", "a@{1}", "x/", "a b", "ok/name", "a.",
            "a//b", "a\\b",
        ];
        for name in names {
            let Ok(out) = std::process::Command::new("git")
                .args(["check-ref-format", "--branch", name])
                .output()
            else {
                return; // no git on this machine
            };
            assert_eq!(
                out.status.success(),
                validate_branch_name(name).is_ok(),
                "{name:?}"
            );
        }
    }
}
