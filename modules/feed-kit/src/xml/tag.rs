//! A start tag as the reader hands it out, and the reader's bookkeeping of open elements and
//! attributes, kept apart so the reader itself is only the event loop and the policy.

use contextworker_guest::Location;

use crate::Position;

/// A start tag (empty elements arrive as a start and an end) with its attributes decoded,
/// borrowed from the reader until the next call: most tags are looked at once and dropped, and
/// a parse of 100,000 offers opens about two million of them, so they cost no allocation. Keep
/// one across calls with [`Tag::to_owned_tag`].
#[derive(Debug, Clone)]
pub struct Tag<'a> {
    pub name: &'a str,
    pub attrs: &'a [(String, String)],
    /// The attributes as written, with the whitespace before them, to re-serialize markup
    /// nested in a text field.
    pub raw_attrs: &'a str,
    pub location: Location,
    /// Written as `<name/>`: its [`super::Node::End`] follows at once.
    pub empty: bool,
    /// Elements open with this one, the root counting 1.
    pub depth: usize,
}

impl Tag<'_> {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The name without a namespace prefix.
    pub fn local(&self) -> &str {
        local_name(self.name)
    }

    pub fn to_owned_tag(&self) -> OwnedTag {
        OwnedTag {
            name: self.name.to_owned(),
            attrs: self.attrs.to_vec(),
            raw_attrs: self.raw_attrs.to_owned(),
            location: self.location.clone(),
            empty: self.empty,
            depth: self.depth,
        }
    }
}

/// A [`Tag`] kept past the next event (a field whose value is its text, read at its end).
#[derive(Debug, Clone)]
pub struct OwnedTag {
    name: String,
    attrs: Vec<(String, String)>,
    raw_attrs: String,
    location: Location,
    empty: bool,
    depth: usize,
}

impl OwnedTag {
    pub fn as_tag(&self) -> Tag<'_> {
        Tag {
            name: &self.name,
            attrs: &self.attrs,
            raw_attrs: &self.raw_attrs,
            location: self.location.clone(),
            empty: self.empty,
            depth: self.depth,
        }
    }
}

pub fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// The open elements, their names end to end in one string: one allocation for the document,
/// not one per element.
#[derive(Debug, Default)]
pub(super) struct Open {
    names: String,
    /// Where each open element's name starts in `names`, and where the element is.
    starts: Vec<(usize, Position)>,
    /// Where the name of the element closed last starts: it stays at the end of `names` until
    /// the next push or pop, so an end event borrows it instead of copying it.
    closed: Option<usize>,
}

impl Open {
    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub(super) fn push(&mut self, name: &str, at: Position) {
        self.forget_closed();
        self.starts.push((self.names.len(), at));
        self.names.push_str(name);
    }

    fn name(&self, index: usize) -> &str {
        let start = self.starts[index].0;
        let end = match self.starts.get(index + 1) {
            Some(next) => next.0,
            None => self.closed.unwrap_or(self.names.len()),
        };
        &self.names[start..end]
    }

    pub(super) fn top(&self) -> Option<(&str, Position)> {
        let last = self.starts.len().checked_sub(1)?;
        Some((self.name(last), self.starts[last].1))
    }

    /// The innermost open element named `name`.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        (0..self.len()).rev().find(|i| self.name(*i) == name)
    }

    /// Close the innermost element; its name is [`Open::closed`] until the next push or pop.
    pub(super) fn pop(&mut self) {
        self.forget_closed();
        self.closed = self.starts.pop().map(|(start, _)| start);
    }

    /// The name of the element the last [`Open::pop`] closed.
    pub(super) fn closed(&self) -> &str {
        self.closed.map_or("", |start| &self.names[start..])
    }

    fn forget_closed(&mut self) {
        if let Some(start) = self.closed.take() {
            self.names.truncate(start);
        }
    }
}

/// The last start tag's attributes, their strings reused from tag to tag.
#[derive(Debug, Default)]
pub(super) struct Attributes {
    pool: Vec<(String, String)>,
    len: usize,
}

impl Attributes {
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    pub(super) fn push(&mut self, key: &str, value: &str) {
        if self.len == self.pool.len() {
            self.pool.push((String::new(), String::new()));
        }
        let (k, v) = &mut self.pool[self.len];
        k.clear();
        k.push_str(key);
        v.clear();
        v.push_str(value);
        self.len += 1;
    }

    pub(super) fn as_slice(&self) -> &[(String, String)] {
        &self.pool[..self.len]
    }
}
