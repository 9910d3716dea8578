//! The category tree: the one part of a feed kept whole, because offers refer to it by id.

use std::collections::{HashMap, HashSet};

/// Parent chains longer than this are cut: real trees are a handful of levels deep, and a cycle
/// (`a` parent of `b` parent of `a`) must not loop.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Categories {
    entries: HashMap<String, Entry>,
    /// Resolved root-to-leaf paths. Dropped whenever a category is added, because categories
    /// declared after an offer (or out of order) change what an id resolves to.
    paths: HashMap<String, Vec<String>>,
    /// Ids already reported as undeclared: one warning per id, not one per offer.
    reported_unknown: HashSet<String>,
}

#[derive(Debug)]
struct Entry {
    name: String,
    parent: Option<String>,
}

impl Categories {
    pub(crate) fn insert(&mut self, id: String, name: String, parent: Option<String>) {
        let parent = parent.filter(|p| !p.is_empty() && *p != id);
        self.entries.insert(id, Entry { name, parent });
        self.paths.clear();
    }

    /// Root-to-leaf names for `id`; `None` when the id was never declared. A parent that is not
    /// declared ends the path there (the known part is still useful).
    pub(crate) fn path(&mut self, id: &str) -> Option<Vec<String>> {
        if let Some(path) = self.paths.get(id) {
            return Some(path.clone());
        }
        let mut entry = self.entries.get(id)?;
        let mut path = Vec::with_capacity(4);
        path.push(entry.name.clone());
        while let Some(parent) = &entry.parent {
            match self.entries.get(parent) {
                Some(next) if path.len() < MAX_DEPTH => {
                    path.push(next.name.clone());
                    entry = next;
                }
                _ => break,
            }
        }
        path.reverse();
        self.paths.insert(id.to_owned(), path.clone());
        Some(path)
    }

    /// True the first time an undeclared id is seen.
    pub(crate) fn first_unknown(&mut self, id: &str) -> bool {
        if self.reported_unknown.contains(id) {
            return false;
        }
        self.reported_unknown.insert(id.to_owned());
        true
    }
}

/// `<currencies>`: only the codes matter (rates are the marketplace's business), and the base
/// currency (rate 1, or the only one declared) fills offers that name none.
#[derive(Debug, Default)]
pub(crate) struct Currencies {
    base: Option<String>,
    first: Option<String>,
    declared: usize,
}

impl Currencies {
    pub(crate) fn declare(&mut self, code: String, rate: Option<&str>) {
        self.declared += 1;
        let is_base = rate
            .and_then(|r| feed_kit::parse_decimal(r).ok())
            .is_some_and(|r| r.trim_end_matches('0').trim_end_matches('.') == "1");
        if is_base && self.base.is_none() {
            self.base = Some(code.clone());
        }
        if self.first.is_none() {
            self.first = Some(code);
        }
    }

    pub(crate) fn base(&self) -> Option<&str> {
        self.base.as_deref().or(if self.declared == 1 {
            self.first.as_deref()
        } else {
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_out_of_order_and_survive_cycles() {
        let mut c = Categories::default();
        c.insert("3".into(), "Leaf".into(), Some("2".into()));
        c.insert("1".into(), "Root".into(), None);
        c.insert("2".into(), "Mid".into(), Some("1".into()));
        assert_eq!(
            c.path("3"),
            Some(vec!["Root".into(), "Mid".into(), "Leaf".into()])
        );
        c.insert("a".into(), "A".into(), Some("b".into()));
        c.insert("b".into(), "B".into(), Some("a".into()));
        assert_eq!(c.path("a").map(|p| p.len()), Some(MAX_DEPTH));
        c.insert("x".into(), "X".into(), Some("missing".into()));
        assert_eq!(c.path("x"), Some(vec!["X".into()]));
        assert_eq!(c.path("nope"), None);
    }

    #[test]
    fn base_currency() {
        let mut c = Currencies::default();
        c.declare("USD".into(), Some("41.5"));
        c.declare("UAH".into(), Some("1.0"));
        assert_eq!(c.base(), Some("UAH"));
        let mut single = Currencies::default();
        single.declare("EUR".into(), Some("CBRF"));
        assert_eq!(single.base(), Some("EUR"));
    }
}
