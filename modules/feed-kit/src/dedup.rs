//! Duplicate offer ids: every record is still emitted (the staging step keeps the last one
//! seen), and each repeat is reported with both positions.

use std::collections::HashMap;

use contextworker_guest::{Location, Warning};

#[derive(Debug, Default)]
pub struct Duplicates {
    first_seen: HashMap<String, Location>,
}

impl Duplicates {
    /// Record `offer_id` at `location`; a warning naming both positions if it was seen before.
    pub fn check(&mut self, offer_id: &str, location: &Location) -> Option<Warning> {
        match self.first_seen.get(offer_id) {
            Some(first) => Some(
                Warning::new(format!(
                    "duplicate offer id {offer_id:?}: first at {}, again at {}; the later record wins",
                    describe(first),
                    describe(location)
                ))
                .at(location.clone())
                .offer(offer_id),
            ),
            None => {
                self.first_seen.insert(offer_id.to_owned(), location.clone());
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
