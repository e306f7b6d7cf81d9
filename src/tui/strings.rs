//! Every text the interface shows, in one place.

pub const APP: &str = "flask-harden";
pub const CHECKLIST: &str = "Checklist";
pub const DETAIL: &str = "Item";
pub const FIX_UNIFIED: &str = "Fix · unified diff";
pub const FIX_SPLIT: &str = "Fix · side by side (old | new)";
pub const HELP_TITLE: &str = "Keys";
pub const COMMIT_TITLE: &str = "Commit the accepted fixes";
pub const UNSAFE_TITLE: &str = "Unsafe fix";
pub const QUIT_TITLE: &str = "Quit?";
pub const DONE_TITLE: &str = "Committed";
pub const COMMITTING: &str = "Committing on a new branch…";

pub const SCANNING: &str = "Scanning";
pub const FINDING_FILES: &str = "finding files…";
pub const FILES_PARSED: &str = "files parsed";
pub const SCAN_FAILED: &str = "The scan could not run";
pub const NO_FLASK_TITLE: &str = "No Flask application found";
pub const NO_FLASK_BODY: &str = "flask-harden looks for Python files that create a Flask \
application (Flask(__name__), a create_app factory, a Blueprint). None of the files it read \
does, so no checklist item applies. Point it at the folder that holds your application: \
flask-harden PATH.";

pub const DIRTY: &str =
    "The working tree has uncommitted changes: fixes are built from HEAD's committed files.";
pub const NOT_A_REPO: &str = "Not a git repository: fixes can be previewed, not committed.";
pub const UNBORN: &str = "The repository has no commit yet: commit your code to get fixes.";

pub const WHY: &str = "Why it matters";
pub const FINDINGS: &str = "Findings";
pub const NO_FINDINGS: &str = "No findings.";
pub const NOT_APPLICABLE: &str = "Not applicable";
pub const ERROR: &str = "Error";
pub const NOTES: &str = "Notes";
pub const NO_EXCERPT: &str = "(the file could not be read inside the repository)";
pub const FIXES_PENDING: &str = "Preparing and verifying fixes…";
pub const NO_FIX: &str = "No automatic fix for this item.";
pub const NOTHING_TO_FIX: &str = "Nothing to fix.";
pub const FIX_UNSAFE_TAG: &str = "[unsafe: changes behaviour, review]";
pub const ACCEPTED: &str = "accepted: will be committed";
pub const SKIPPED: &str = "skipped";
pub const NOT_ACCEPTED: &str = "press space to accept";

pub const FILTER: &str = "filter";
pub const NO_MATCH: &str = "No item matches the filter.";
pub const NOTHING_ACCEPTED: &str = "Nothing accepted yet: press space on an item with a fix.";
pub const NO_FIX_TO_ACCEPT: &str = "This item has no fix to accept.";
pub const FIXES_NOT_READY: &str = "The fixes are still being prepared.";
pub const BRANCH: &str = "Branch";
pub const WILL_COMMIT: &str = "Commits it will make (your working tree is not touched):";
pub const UNSAFE_BODY: &str = "This fix changes how the application behaves. Review the diff \
before committing it. Accept it?";
pub const QUIT_BODY: &str = "Accepted fixes are not committed yet and will be lost.";
pub const DONE_SWITCH: &str = "Switch to it:";
pub const DONE_PUSH: &str = "Push it:";
pub const DONE_RESCAN: &str = "Scanning the new branch…";
pub const DONE_RESULT: &str = "The checklist on the new branch:";
pub const COMMIT_FAILED: &str = "Commit failed";
pub const DIAGNOSTICS: &str = "could not be scanned";

pub fn yes_no(confirm: &str) -> String {
    format!("enter/y {confirm} · esc/n cancel")
}

pub fn findings_count(n: usize) -> String {
    match n {
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    }
}

pub fn files_count(n: usize) -> String {
    match n {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    }
}
