//! What the interface needs from the fix engine, behind a small trait so the screens can be
//! drawn and tested with any source of fixes.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository, Status as GitStatus, StatusOptions, TreeWalkMode};

use crate::fix::snapshot::is_safe_path;
use crate::fix::{Applicability, FixOptions, Snapshot, plan_fixes};
use crate::git::{GitError, GitRepo, Stage};
use crate::project::MAX_FILE_BYTES;

/// One fix of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    pub title: String,
    /// Changes behaviour: accepting it needs a second confirmation.
    pub unsafe_: bool,
    /// How many findings it fixes.
    pub findings: usize,
}

/// The proposed fix of one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemFixView {
    pub item: String,
    pub plans: Vec<PlanView>,
    /// Unified diff of the item's file changes (empty: nothing to change).
    pub diff: String,
    /// The subject of the commit this item would make.
    pub commit_subject: String,
    /// Findings without a fix, fixes not offered and why.
    pub notes: Vec<String>,
}

impl ItemFixView {
    pub fn has_fix(&self) -> bool {
        !self.diff.is_empty()
    }

    pub fn is_unsafe(&self) -> bool {
        self.plans.iter().any(|p| p.unsafe_)
    }
}

/// Every item's proposed fix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixesView {
    pub items: Vec<ItemFixView>,
    /// The branch name the commit dialog proposes.
    pub default_branch: String,
}

impl FixesView {
    pub fn item(&self, id: &str) -> Option<&ItemFixView> {
        self.items.iter().find(|i| i.item == id)
    }
}

/// What a commit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    pub branch: String,
    /// Short id of the commit the branch starts from.
    pub base: String,
    /// (short id, subject), oldest first.
    pub commits: Vec<(String, String)>,
}

/// The repository's git state, for the banners.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitState {
    pub is_repo: bool,
    /// Uncommitted changes (tracked or untracked files): fixes are built from HEAD all the same.
    pub dirty: bool,
    /// No commit yet: nothing to build fixes from.
    pub unborn: bool,
}

pub trait FixSource: Send + Sync {
    fn git_state(&self) -> GitState;
    /// Every item's proposed fix, built from HEAD.
    fn plans(&self) -> Result<FixesView, String>;
    /// Commit the accepted items' fixes (one commit per item) on a new branch `branch`.
    fn commit(&self, accepted: &[String], branch: &str) -> Result<CommitOutcome, String>;
    /// Write the files of `branch`'s tree into `dir`, to scan what the branch holds.
    fn export_branch(&self, branch: &str, dir: &Path) -> Result<(), String>;
}

/// The real fix engine on a repository.
pub struct EngineFixes {
    root: PathBuf,
}

impl EngineFixes {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    fn options(items: Vec<String>) -> FixOptions {
        FixOptions {
            items,
            // Unsafe fixes are shown, marked, and need a second confirmation to accept.
            include_unsafe: true,
            ..FixOptions::default()
        }
    }
}

impl FixSource for EngineFixes {
    fn git_state(&self) -> GitState {
        let Ok(repo) = Repository::discover(&self.root) else {
            return GitState::default();
        };
        let unborn = repo.head().is_err();
        let mut opts = StatusOptions::new();
        opts.include_untracked(true).include_ignored(false);
        let dirty = repo.statuses(Some(&mut opts)).is_ok_and(|s| {
            s.iter()
                .any(|e| e.status() != GitStatus::CURRENT && !e.status().is_ignored())
        });
        GitState {
            is_repo: true,
            dirty,
            unborn,
        }
    }

    fn plans(&self) -> Result<FixesView, String> {
        let (snapshot, default_branch, prefix) = match GitRepo::open(&self.root) {
            Ok(repo) => {
                let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
                (
                    repo.head_snapshot()
                        .map_err(|e| e.to_string())?
                        .under(&prefix),
                    repo.default_branch_name(),
                    prefix,
                )
            }
            Err(GitError::NotARepository(_)) => (
                Snapshot::from_dir(&self.root).map_err(|e| e.to_string())?,
                String::new(),
                String::new(),
            ),
            Err(e) => return Err(e.to_string()),
        };
        let mut run =
            plan_fixes(snapshot, &Self::options(Vec::new())).map_err(|e| e.to_string())?;
        // Diffs name the files as git does: from the repository's root.
        for item in &mut run.items {
            for change in &mut item.changes {
                change.path = format!("{prefix}{}", change.path);
            }
        }
        let items = run
            .items
            .iter()
            .map(|item| {
                let mut notes = Vec::new();
                for r in &item.rejected {
                    for f in &r.findings {
                        notes.push(format!(
                            "not offered for {} at {}:{}: {}",
                            f.rule, f.path, f.line, r.reason
                        ));
                    }
                }
                for f in &item.without_fix {
                    notes.push(format!(
                        "no automatic fix yet for {} at {}:{}",
                        f.rule, f.path, f.line
                    ));
                }
                ItemFixView {
                    item: item.item.clone(),
                    plans: item
                        .applied
                        .iter()
                        .map(|p| PlanView {
                            title: p.title.clone(),
                            unsafe_: p.applicability == Applicability::Unsafe,
                            findings: p.fixes.len(),
                        })
                        .collect(),
                    diff: item.changes.iter().map(|c| c.unified_diff()).collect(),
                    commit_subject: item
                        .commit_message()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    notes,
                }
            })
            .collect();
        Ok(FixesView {
            items,
            default_branch,
        })
    }

    fn commit(&self, accepted: &[String], branch: &str) -> Result<CommitOutcome, String> {
        let repo = GitRepo::open(&self.root).map_err(|e| e.to_string())?;
        repo.ensure_no_operation_in_progress()
            .map_err(|e| e.to_string())?;
        // PATH may be a subfolder: the fixes see that folder, the commits get the prefix back.
        let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
        let snapshot = repo
            .head_snapshot()
            .map_err(|e| e.to_string())?
            .under(&prefix);
        let mut run =
            plan_fixes(snapshot, &Self::options(accepted.to_vec())).map_err(|e| e.to_string())?;
        for item in &mut run.items {
            for change in &mut item.changes {
                change.path = format!("{prefix}{}", change.path);
            }
        }
        let stages: Vec<Stage> = run
            .items
            .iter()
            .filter(|i| !i.changes.is_empty())
            .map(|i| Stage {
                message: i.commit_message(),
                changes: i.changes.clone(),
            })
            .collect();
        if stages.is_empty() {
            return Err("none of the accepted items has a change to commit".to_string());
        }
        let done = repo
            .commit_stages(branch, &stages)
            .map_err(|e| e.to_string())?;
        Ok(CommitOutcome {
            branch: done.branch,
            base: done.base.short_id(),
            commits: done
                .commits
                .iter()
                .map(|(id, subject)| (id.to_string().chars().take(7).collect(), subject.clone()))
                .collect(),
        })
    }

    fn export_branch(&self, branch: &str, dir: &Path) -> Result<(), String> {
        let repo = GitRepo::open(&self.root).map_err(|e| e.to_string())?;
        let prefix = repo.prefix_of(&self.root).map_err(|e| e.to_string())?;
        export_tree(repo.repository(), branch, &prefix, dir).map_err(|e| e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Write the regular files of `branch`'s tree that lie under `prefix` into `dir` (relative to
/// the prefix, so the copy is scanned as the folder the user opened). Symbolic links,
/// submodules, unsafe paths and files over the size limit are left out.
fn export_tree(
    repo: &Repository,
    branch: &str,
    prefix: &str,
    dir: &Path,
) -> Result<(), ExportError> {
    let tree = repo
        .find_reference(&format!("refs/heads/{branch}"))?
        .peel_to_tree()?;
    let mut blobs = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let is_file = entry.kind() == Some(ObjectType::Blob)
            && matches!(entry.filemode(), 0o100644 | 0o100755);
        if let (true, Ok(name)) = (is_file, entry.name()) {
            let path = format!("{parent}{name}");
            if let Some(rel) = path.strip_prefix(prefix)
                && is_safe_path(rel)
            {
                blobs.push((rel.to_string(), entry.id()));
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    let odb = repo.odb()?;
    for (rel, id) in blobs {
        let (size, _) = odb.read_header(id)?;
        if size as u64 > MAX_FILE_BYTES {
            continue;
        }
        let blob = repo.find_blob(id)?;
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| ExportError::Io(parent.to_path_buf(), e))?;
        }
        fs::write(&path, blob.content()).map_err(|e| ExportError::Io(path.clone(), e))?;
    }
    Ok(())
}
