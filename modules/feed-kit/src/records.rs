//! What happens to the records of a feed, the same in every module: one that cannot become a
//! product is skipped with a warning at its place in lenient mode and fails the feed otherwise;
//! the others are emitted, with a warning for a repeated id and, at the end, for a needed field
//! no record had.

use contextworker_guest::{Location, ModuleError, Product, ProductSink, Warning};

use crate::{Coverage, Duplicates, Needed};

/// How the messages about one kind of XML record name it: `markup` in the error that fails the
/// feed (`<item>`), `noun` in a lenient skip's warning (`item skipped: …`), `plural` in the hint
/// that `lenient` would skip such records.
#[derive(Debug, Clone, Copy)]
pub struct Element {
    pub markup: &'static str,
    pub noun: &'static str,
    pub plural: &'static str,
}

impl Element {
    pub const fn new(markup: &'static str, noun: &'static str, plural: &'static str) -> Self {
        Self {
            markup,
            noun,
            plural,
        }
    }
}

/// What a module keeps about the offers of one feed: whether bad records are skipped, the ids
/// seen, for duplicate warnings, and which needed fields the records had, for the coverage
/// warning at the end.
#[derive(Debug, Default)]
pub struct Offers {
    lenient: bool,
    duplicates: Duplicates,
    coverage: Coverage,
}

impl Offers {
    /// `lenient`: a record that cannot become a product is skipped instead of failing the feed.
    pub fn new(lenient: bool) -> Self {
        Self {
            lenient,
            ..Self::default()
        }
    }

    /// Skip the record at `location` with a warning (lenient) or fail the feed with `reason`.
    pub fn reject(
        &self,
        out: &mut ProductSink,
        location: &Location,
        reason: String,
    ) -> Result<(), ModuleError> {
        if self.lenient {
            out.skip(Warning::new(format!("record skipped: {reason}")).at(location.clone()));
            Ok(())
        } else {
            Err(ModuleError::invalid_input(reason).at(location.clone()))
        }
    }

    /// A record became `product` (count it before any check that may still refuse it).
    pub fn read(&mut self, product: &Product) {
        self.coverage.note_product(product);
    }

    /// Emit `product`, read at `location`; a warning first if its id was seen before.
    pub fn emit(&mut self, out: &mut ProductSink, product: Product, location: &Location) {
        if let Some(warning) = self.duplicates.check(&product.offer_id, location) {
            out.warn(warning);
        }
        out.emit(product);
    }

    /// The end of one `element` record read at `location`: emit the product it became, or, for
    /// the reason it could not become one, skip it with a warning (lenient) or fail the feed.
    /// Returns whether a product was emitted.
    pub fn settle(
        &mut self,
        out: &mut ProductSink,
        element: &Element,
        location: &Location,
        record: Result<Product, String>,
    ) -> Result<bool, ModuleError> {
        match record {
            Ok(product) => {
                self.emit(out, product, location);
                Ok(true)
            }
            Err(reason) if self.lenient => {
                out.skip(
                    Warning::new(format!("{} skipped: {reason}", element.noun))
                        .at(location.clone()),
                );
                Ok(false)
            }
            Err(reason) => Err(ModuleError::invalid_input(format!(
                "{} at {location}: {reason} (set `lenient` to skip such {})",
                element.markup, element.plural
            ))
            .at(location.clone())),
        }
    }

    /// The end of the feed: one warning per needed field no record had (see [`Coverage`]).
    pub fn finish(&self, out: &mut ProductSink, how_to_map: impl Fn(Needed) -> String) {
        self.coverage.warn(out, how_to_map);
    }
}
