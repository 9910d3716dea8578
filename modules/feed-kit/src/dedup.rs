//! Duplicate offer ids: every record is still emitted (the staging step keeps the last one
//! seen), and each repeat is reported with both positions.
//!
//! The index holds a 64-bit hash of each id and its first line and record number, not the id
//! and a full `Location`: about 17 bytes an offer instead of about 120, so half a million
//! offers fit a 64 MiB guest with room for the table to grow. Two different ids share a hash with a chance of about n²/2⁶⁵ (3·10⁻⁸ for a
//! million offers); the cost of that is one wrong warning, since the host deduplicates by the
//! ids themselves.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use contextworker_guest::{Location, Warning};

#[derive(Debug, Default)]
pub struct Duplicates {
    first_seen: HashMap<u64, Position>,
}

/// Where an id was first seen: its line and record number, 8 bytes (`u32::MAX` for "not
/// known"). The repeat's warning carries its own full location; these two are enough to find
/// the first.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: u32,
    record_index: u32,
}

const UNKNOWN: u32 = u32::MAX;

impl Position {
    fn of(l: &Location) -> Self {
        Self {
            line: l.line.unwrap_or(UNKNOWN),
            record_index: l.record_index.unwrap_or(UNKNOWN),
        }
    }

    fn location(self) -> Location {
        let known = |v: u32| (v != UNKNOWN).then_some(v);
        Location {
            line: known(self.line),
            record_index: known(self.record_index),
            ..Location::default()
        }
    }
}

fn key(offer_id: &str) -> u64 {
    // Fixed keys: the same id hashes the same for the whole parse.
    let mut h = DefaultHasher::new();
    offer_id.hash(&mut h);
    h.finish()
}

impl Duplicates {
    /// Record `offer_id` at `location`; a warning naming both positions if it was seen before.
    pub fn check(&mut self, offer_id: &str, location: &Location) -> Option<Warning> {
        match self.first_seen.get(&key(offer_id)) {
            Some(first) => Some(
                Warning::new(format!(
                    "duplicate offer id {offer_id:?}: first at {}, again at {}; the later record wins",
                    describe(&first.location()),
                    describe(location)
                ))
                .at(location.clone())
                .offer(offer_id),
            ),
            None => {
                self.first_seen.insert(key(offer_id), Position::of(location));
                None
            }
        }
    }

    pub fn distinct(&self) -> usize {
        self.first_seen.len()
    }
}

fn describe(l: &Location) -> String {
    let text = l.to_string();
    if text.is_empty() {
        "an unknown position".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_both_positions() {
        let mut d = Duplicates::default();
        let at = |line| Location {
            line: Some(line),
            ..Location::default()
        };
        assert!(d.check("a", &at(3)).is_none());
        assert!(d.check("b", &at(5)).is_none());
        let w = d.check("a", &at(9)).expect("duplicate");
        assert!(
            w.message.contains("first at line 3, again at line 9"),
            "{}",
            w.message
        );
        assert_eq!(w.offer_id.as_deref(), Some("a"));
        assert_eq!(d.distinct(), 2);
    }
}
