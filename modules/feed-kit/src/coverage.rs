//! Fields every offer needs, watched over the whole feed: when one is missing from every
//! record, the mapping (not the data) is almost certainly what is wrong, and a parse that
//! quietly yields products without prices would hide it. One warning says so and how to map it.
//!
//! A field some records have is data, not a mapping mistake: no warning then.

use contextworker_guest::{Product, ProductSink, Warning};

/// A field an offer is useless without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    OfferId,
    Price,
}

impl Needed {
    pub const ALL: [Self; 2] = [Self::OfferId, Self::Price];

    /// The config key suffix that maps it in the tabular modules (`map.price`).
    pub fn key(self) -> &'static str {
        match self {
            Self::OfferId => "offer_id",
            Self::Price => "price",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Self::OfferId => "an offer id",
            Self::Price => "a price",
        }
    }
}

/// How many records were read and how many of them had each needed field.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    records: u64,
    with_offer_id: u64,
    with_price: u64,
}

impl Coverage {
    /// Count one record by what it gave, whether or not it became a product.
    pub fn note(&mut self, has_offer_id: bool, has_price: bool) {
        self.records += 1;
        self.with_offer_id += u64::from(has_offer_id);
        self.with_price += u64::from(has_price);
    }

    /// Count a product built from one record.
    pub fn note_product(&mut self, product: &Product) {
        self.note(!product.offer_id.is_empty(), product.price.is_some());
    }

    /// The fields no record had; empty for an empty feed (nothing to judge by).
    pub fn missing_everywhere(&self) -> Vec<Needed> {
        if self.records == 0 {
            return Vec::new();
        }
        Needed::ALL
            .into_iter()
            .filter(|field| match field {
                Needed::OfferId => self.with_offer_id == 0,
                Needed::Price => self.with_price == 0,
            })
            .collect()
    }

    /// One warning per field missing from every record; `how_to_map` says how this module is
    /// told where the field is (`map.price names the column, or preset=…`).
    pub fn warn(&self, out: &mut ProductSink, how_to_map: impl Fn(Needed) -> String) {
        for field in self.missing_everywhere() {
            out.warn(Warning::new(format!(
                "no record has {} ({} read): {}",
                field.phrase(),
                self.records,
                how_to_map(field)
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_field_missing_from_every_record_is_reported() {
        let mut coverage = Coverage::default();
        assert!(coverage.missing_everywhere().is_empty(), "an empty feed");
        coverage.note(true, false);
        coverage.note(true, false);
        assert_eq!(coverage.missing_everywhere(), [Needed::Price]);
        coverage.note(false, true);
        assert!(coverage.missing_everywhere().is_empty());
    }

    #[test]
    fn the_warning_names_the_field_the_count_and_the_mapping() {
        let mut coverage = Coverage::default();
        coverage.note_product(&Product::new("1", "Kettle"));
        coverage.note_product(&Product::new("2", "Toaster"));
        let warnings = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let seen = std::rc::Rc::clone(&warnings);
        let mut out = ProductSink::native(move |_, w| seen.borrow_mut().extend(w));
        coverage.warn(&mut out, |field| {
            format!("map.{} names the column", field.key())
        });
        let messages: Vec<String> = warnings
            .borrow()
            .iter()
            .map(|w| w.message.clone())
            .collect();
        assert_eq!(
            messages,
            ["no record has a price (2 read): map.price names the column"]
        );
    }
}
