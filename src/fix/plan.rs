//! Fixes as data: a [`FixPlan`] is a titled set of [`FilePatch`]es with an [`Applicability`].
//!
//! Every edit carries the text it expects to replace, and every patch the fingerprint of the
//! file it was made for and of the file it produces. That is what lets [`super::apply`] tell a
//! fresh file (apply), a file the plan already fixed (skip) and a file that changed since (stale:
//! skip rather than corrupt).

use std::ops::Range;

use crate::finding::Finding;

/// Whether a fix may be applied without the user reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps what the code does apart from the insecure behaviour it removes.
    Safe,
    /// Changes behaviour a user must review (offered only with `--unsafe`).
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// Replace the bytes `range` of a file, which must read `original`, with `replacement`.
/// An insertion has an empty range and an empty `original`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub original: String,
    pub replacement: String,
}

impl Edit {
    pub fn is_insertion(&self) -> bool {
        self.range.is_empty()
    }
}

/// What a plan does to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchKind {
    /// Edits to an existing file, sorted by position and not overlapping.
    Edit {
        /// Fingerprint of the text the edits were made against.
        base: u64,
        /// Fingerprint of the text after the edits.
        result: u64,
        edits: Vec<Edit>,
    },
    /// A new file (`.env.example`, say). Applying it where the file exists with other content
    /// is stale.
    Create { text: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// Relative to the repository root, forward slashes.
    pub path: String,
    pub kind: PatchKind,
}

/// A fix: what it does (`title`), how safe it is, which findings it removes, and its patches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    /// `item/rule` of the findings it fixes.
    pub rule: String,
    /// One line, imperative: "drop debug=True from app.run()".
    pub title: String,
    pub applicability: Applicability,
    /// The findings this plan makes go away; verification checks exactly these.
    pub fixes: Vec<Finding>,
    pub patches: Vec<FilePatch>,
}

impl FixPlan {
    pub fn new(rule: &str, title: impl Into<String>, applicability: Applicability) -> Self {
        Self {
            rule: rule.to_string(),
            title: title.into(),
            applicability,
            fixes: Vec::new(),
            patches: Vec::new(),
        }
    }

    pub fn fixing(mut self, finding: &Finding) -> Self {
        self.fixes.push(finding.clone());
        self
    }

    pub fn with_patch(mut self, patch: FilePatch) -> Self {
        self.patches.push(patch);
        self
    }

    /// Paths the plan writes.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.patches.iter().map(|p| p.path.as_str())
    }
}

/// Why an edit could not be added to a patch: a bug in a fix generator, never the user's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("{path}: edit range {start}..{end} is outside the file or splits a character")]
    BadRange {
        path: String,
        start: usize,
        end: usize,
    },
    #[error("{path}: edits overlap at byte {at}")]
    Overlap { path: String, at: usize },
}

/// Builds the [`FilePatch`] of one file from its current text: it records the original text of
/// each range itself, so generators only say where and what.
#[derive(Debug, Clone)]
pub struct PatchBuilder<'t> {
    path: String,
    text: &'t str,
    edits: Vec<Edit>,
}

impl<'t> PatchBuilder<'t> {
    pub fn new(path: &str, text: &'t str) -> Self {
        Self {
            path: path.to_string(),
            text,
            edits: Vec::new(),
        }
    }

    pub fn text(&self) -> &'t str {
        self.text
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn replace(
        &mut self,
        range: Range<usize>,
        replacement: impl Into<String>,
    ) -> Result<&mut Self, PatchError> {
        let Some(original) = self.text.get(range.clone()) else {
            return Err(PatchError::BadRange {
                path: self.path.clone(),
                start: range.start,
                end: range.end,
            });
        };
        self.edits.push(Edit {
            original: original.to_string(),
            range,
            replacement: replacement.into(),
        });
        Ok(self)
    }

    pub fn insert(&mut self, at: usize, text: impl Into<String>) -> Result<&mut Self, PatchError> {
        self.replace(at..at, text)
    }

    pub fn delete(&mut self, range: Range<usize>) -> Result<&mut Self, PatchError> {
        self.replace(range, "")
    }

    /// Add an edit made elsewhere (by [`super::imports::ensure_import`], say) against the same
    /// text.
    pub fn push(&mut self, edit: Edit) -> Result<&mut Self, PatchError> {
        if self.text.get(edit.range.clone()) != Some(edit.original.as_str()) {
            return Err(PatchError::BadRange {
                path: self.path.clone(),
                start: edit.range.start,
                end: edit.range.end,
            });
        }
        self.edits.push(edit);
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Sort the edits (insertions at one offset keep the order they were added in) and check
    /// that none overlap.
    pub fn finish(self) -> Result<FilePatch, PatchError> {
        let mut edits = self.edits;
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        for pair in edits.windows(2) {
            if pair[1].range.start < pair[0].range.end {
                return Err(PatchError::Overlap {
                    path: self.path,
                    at: pair[1].range.start,
                });
            }
        }
        let result = splice(self.text, &edits);
        Ok(FilePatch {
            path: self.path,
            kind: PatchKind::Edit {
                base: fingerprint(self.text),
                result: fingerprint(&result),
                edits,
            },
        })
    }
}

/// Apply sorted, non-overlapping edits whose ranges are valid in `text`.
pub(crate) fn splice(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for e in edits {
        out.push_str(text.get(pos..e.range.start).unwrap_or(""));
        out.push_str(&e.replacement);
        pos = e.range.end.max(pos);
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    out
}

/// FNV-1a of a file's text: stable across runs and platforms.
pub fn fingerprint(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sorts_edits_and_rejects_overlaps() {
        let text = "abcdef";
        let mut b = PatchBuilder::new("f.py", text);
        b.replace(4..5, "E").unwrap();
        b.insert(0, ">").unwrap();
        let patch = b.finish().unwrap();
        let PatchKind::Edit { edits, .. } = &patch.kind else {
            panic!("an edit patch")
        };
        assert_eq!(edits[0].range, 0..0);
        assert_eq!(splice(text, edits), ">abcdEf");

        let mut b = PatchBuilder::new("f.py", text);
        b.replace(1..4, "x").unwrap();
        b.replace(3..5, "y").unwrap();
        assert!(matches!(b.finish(), Err(PatchError::Overlap { .. })));
        let mut b = PatchBuilder::new("f.py", "é");
        assert!(b.replace(0..1, "e").is_err());
    }
}
