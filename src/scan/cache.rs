//! Parsed files kept between scans of versions of one tree.
//!
//! Planning fixes scans the tree again after every round of fixes, and the first of those
//! scans is of the very files `check` has just scanned. A file whose text is the same as in an
//! earlier scan is not parsed again: its module (or template, or the reason it could not be
//! parsed) comes from here. Entries are keyed by path and compared by their whole text, so a
//! changed file is always parsed afresh.

use rustc_hash::FxHashMap as HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use crate::finding::Diagnostic;
use crate::python::Module;
use crate::python::templates::Template;

/// How many versions of one file are kept: the tree before a round of fixes and after it.
const VERSIONS: usize = 2;

/// How many locks the entries are spread over (by path), so that the scan's threads do not
/// wait on one another for a lookup in a tree of many small files.
const SHARDS: usize = 16;

/// See the module documentation. Shared between threads; cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct ParseCache {
    shards: Arc<[Mutex<Entries>; SHARDS]>,
}

impl Default for ParseCache {
    fn default() -> Self {
        Self {
            shards: Arc::new(std::array::from_fn(|_| Mutex::default())),
        }
    }
}

impl std::fmt::Debug for ParseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParseCache(..)")
    }
}

#[derive(Default)]
struct Entries {
    python: HashMap<String, Versions<Parsed>>,
    templates: HashMap<String, Versions<Arc<Template>>>,
}

/// The versions of one file kept, each with what held its text.
type Versions<T> = Vec<(T, Option<Token>)>;

/// What holds a file's text in memory (a snapshot's `Arc` of the file), kept with the entry
/// made from it: the same holder means the same text, found without comparing it. Holding it
/// keeps its address from being reused by another text.
#[derive(Clone)]
pub struct Token(Arc<dyn std::any::Any + Send + Sync>);

impl Token {
    pub fn of(holder: Arc<impl std::any::Any + Send + Sync>) -> Self {
        Self(holder)
    }

    fn same(&self, other: &Token) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.0), Arc::as_ptr(&other.0))
    }
}

/// The version of `versions` for this text: by its holder when it has one, else by comparing
/// the text (then the holder is kept, for the next lookup).
fn find<T: Clone>(
    versions: &mut [(T, Option<Token>)],
    token: Option<&Token>,
    is_of: impl Fn(&T) -> bool,
) -> Option<T> {
    if let Some(token) = token
        && let Some((hit, _)) = versions
            .iter()
            .find(|(_, t)| t.as_ref().is_some_and(|t| t.same(token)))
    {
        return Some(hit.clone());
    }
    let (hit, held) = versions.iter_mut().find(|(v, _)| is_of(v))?;
    if token.is_some() {
        *held = token.cloned();
    }
    Some(hit.clone())
}

/// A parsed Python file, or why it could not be used.
#[derive(Clone)]
pub enum Parsed {
    Module(Arc<Module>),
    /// The text is known by its [`text_hash`]: the parser consumed it.
    Failed {
        text_hash: u64,
        diagnostic: Diagnostic,
    },
}

impl Parsed {
    fn is_of(&self, text: &str) -> bool {
        match self {
            Parsed::Module(m) => m.source.text == text,
            Parsed::Failed { text_hash, .. } => *text_hash == self::text_hash(text),
        }
    }
}

/// A hash of a file's text, to recognise a file that could not be parsed.
pub fn text_hash(text: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(text)
}

impl ParseCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The Python file at `path` with this text (held by `token`, when it is in memory),
    /// parsed by `parse` unless an earlier scan did.
    pub fn python(
        &self,
        path: &str,
        text: &str,
        token: Option<&Token>,
        parse: impl FnOnce() -> Parsed,
    ) -> Parsed {
        self.get_or_make(|e| &mut e.python, path, token, |p| p.is_of(text), parse)
    }

    /// The template at `path` with this text (held by `token`), read by `make` unless an
    /// earlier scan did.
    pub fn template(
        &self,
        path: &str,
        text: &str,
        token: Option<&Token>,
        make: impl FnOnce() -> Template,
    ) -> Template {
        let made = self.get_or_make(
            |e| &mut e.templates,
            path,
            token,
            |t| t.source.text == text,
            || Arc::new(make()),
        );
        (*made).clone()
    }

    /// The version of the file at `path` in the `table` of entries that `is_of` recognises
    /// (or `token` holds), else `make`'s, which is kept.
    fn get_or_make<T: Clone>(
        &self,
        table: impl Fn(&mut Entries) -> &mut HashMap<String, Versions<T>>,
        path: &str,
        token: Option<&Token>,
        is_of: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> T {
        let found = table(&mut self.lock(path))
            .get_mut(path)
            .and_then(|versions| find(versions, token, is_of));
        if let Some(hit) = found {
            return hit;
        }
        // Made outside the lock: the other threads go on with their files.
        let made = make();
        remember(
            table(&mut self.lock(path))
                .entry(path.to_string())
                .or_default(),
            (made.clone(), token.cloned()),
        );
        made
    }

    fn lock(&self, path: &str) -> std::sync::MutexGuard<'_, Entries> {
        use std::hash::BuildHasher;
        let shard =
            BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(path) as usize % SHARDS;
        // A panic while the lock was held cannot leave an entry half-written (each change is
        // one push or remove): the entries stay usable.
        self.shards[shard].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keep `new` as the latest version, dropping the oldest beyond [`VERSIONS`].
fn remember<T>(versions: &mut Vec<T>, new: T) {
    versions.push(new);
    if versions.len() > VERSIONS {
        versions.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str, text: &str) -> Parsed {
        match crate::python::parse(path, text.to_string()) {
            Ok(m) => Parsed::Module(Arc::new(m)),
            Err(diagnostic) => Parsed::Failed {
                text_hash: text_hash(text),
                diagnostic,
            },
        }
    }

    #[test]
    fn the_same_text_is_parsed_once_and_a_changed_one_again() {
        let cache = ParseCache::new();
        let mut parses = 0;
        let mut get = |text: &str| {
            cache.python("app.py", text, None, || {
                parses += 1;
                parse("app.py", text)
            })
        };
        let a = get("x = 1\n");
        let b = get("x = 1\n");
        let (Parsed::Module(a), Parsed::Module(b)) = (a, b) else {
            panic!("both parse");
        };
        assert!(Arc::ptr_eq(&a, &b));
        get("x = 2\n");
        get("x = 1\n");
        // A third version pushes the oldest out.
        get("x = 3\n");
        get("x = 1\n");
        assert!(matches!(get("x = (\n"), Parsed::Failed { .. }));
        assert_eq!(parses, 5);
    }
}
