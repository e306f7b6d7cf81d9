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

pub const DETACHED: &str =
    "HEAD is detached (not on a branch): fixes are built from the checked-out commit.";
pub const NOT_A_REPO_COMMIT: &str =
    "Not a git repository: there is nothing to commit on. Run `git init` and commit first.";
pub const FIXES_PREPARING: &str = "Preparing and verifying the fix of this item…";
pub const FIX_PREPARING: &str = "fixes";
pub const RESCANNING: &str = "Scanning again…";
pub const SPLIT_ON: &str = "Diff: side by side.";
pub const SPLIT_OFF: &str = "Diff: unified.";
pub const SPLIT_NARROW: &str = "side by side needs a wider pane (+ or _ to widen): unified";
pub const MOUSE_ON: &str = "Mouse on: wheel scrolls, click selects (M: off).";
pub const MOUSE_OFF: &str = "Mouse off: the terminal selects text (M: on).";
pub const LAST_HUNK: &str = "Last hunk.";
pub const FIRST_HUNK: &str = "First hunk.";
pub const ACCEPTED_STATUS: &str = "accepted.";
pub const ACCEPTED_ALL: &str = "every finding's fix checked.";
pub const UNACCEPTED: &str = "not accepted.";
pub const NOT_ACCEPTED_STATUS: &str = "Not accepted.";
pub const SKIPPED_STATUS: &str = "skipped.";
pub const NOTHING_TO_UNDO: &str = "Nothing to undo.";
pub const UNDONE: &str = "Undone";
pub const CHECKED: &str = "Checked";
pub const UNCHECKED: &str = "Unchecked";
pub const NOT_OFFERED: &str = "Not offered";
pub const FIXED_BY: &str = "fixed by this fix";
pub const NO_FIX_NOTE: &str = "flask-harden has no automatic fix for it";
pub const PREPARING_NOTE: &str = "fix being prepared…";
pub const FINDINGS_OF_FIX: &str = "Findings (j/k select, space check):";
pub const FILES: &str = "Files";
pub const COMMIT_CANCELLED: &str = "Commit cancelled; your choices are kept.";
pub const BRANCH_NO_SPACE: &str = "a branch name cannot hold spaces (use - or /)";
pub const BRANCH_BAD_CHAR: &str = "cannot be in a branch name";
pub const BRANCH_EMPTY: &str = "type a branch name";
pub const NO_FINDING: &str = "No finding selected.";
pub const NOT_ON_DISK: &str = "That finding is in HEAD but no longer in the working files.";
pub const EDITED: &str = "Back from the editor; scanning again";
pub const COPIED: &str = "Copied";
pub const IGNORE_TITLE: &str = "Suppress the finding";
pub const IGNORE_CANCELLED: &str = "Nothing suppressed.";
pub const REASON_NEEDED: &str = "a suppression needs a reason: say why this is not a problem";
pub const IGNORE_ALREADY: &str = "That suppression is already pending.";
pub const IGNORE_ADDED: &str = "Will commit";
pub const IGNORE_COMMIT_HINT: &str = "c commits it with the fixes";
pub const NO_CONTROL: &str = "control characters are not allowed";
pub const PENDING_EXCEPTIONS: &str = "Suppressions to commit:";
pub const DONE_SWITCH_NOW: &str = "s switch to it now";
pub const DONE_DIRTY: &str = "(your work tree has changes: commit or stash them to switch)";
pub const NO_EDITOR: &str = "Set $VISUAL or $EDITOR to open files from here.";
pub const COMMITTED_ON: &str = "Committed on";

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

pub const VERIFY_TITLE: &str = "Run your tests";
pub const VERIFY_BODY: &str = "This runs this project's own test suite, which executes its \
code (and may install its dependencies in a temporary virtualenv). It runs in temporary \
checkouts: your working tree, index and branches are not touched. Each run stops after 10 \
minutes.";
pub const VERIFY_STARTING: &str = "Choosing the environment and the test command…";
pub const VERIFY_STOPPING: &str = "Stopping the tests…";
pub const VERIFY_CANCELLED: &str = "The tests were not run.";
pub const VERIFY_IN_BACKGROUND: &str = "The tests go on running: T shows them.";
pub const VERIFY_FAILED: &str = "The tests could not be run";
pub const VERIFY_BREAKS: &str = "the fix newly breaks tests and is no longer accepted";
pub const VERIFY_REACCEPT: &str = "space accepts it again, u undoes";
pub const NOTHING_TO_VERIFY: &str = "Accept a fix first: T runs your tests on the accepted fixes.";
pub const NOT_A_REPO_VERIFY: &str = "Not a git repository: the tests run on checkouts of the last \
commit, so there is nothing to test the fixes on.";
pub const VERIFY_QUIT: &str = "The tests are running; quitting stops them.";
