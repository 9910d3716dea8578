//! What an [`Enricher`](crate::Enricher) returns: the gardener's enrichment of one product.

use crate::ModuleError;

/// The audience a product is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Men,
    Women,
    Unisex,
    Kids,
}

/// A chosen category and what else was recognised in the product.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facets {
    /// One of the tenant's taxonomy slugs, e.g. `clothing.jackets-hard`.
    pub category_slug: String,
    /// Display names from the root down to the category.
    pub category_path: Vec<String>,
    pub color: Option<String>,
    pub size: Option<String>,
    pub gender: Option<Gender>,
    pub product_type: Option<String>,
    pub model: Option<String>,
}

/// An enricher's decision about one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Classified(Facets),
    /// Nothing good enough; the reason says why. Not an error.
    Abstained(String),
    /// Not enriched this time (a reply left it out, did not parse): the host retries it.
    Failed(String),
}

/// One product's enrichment. Return one per product you can say something about; a product
/// left out counts as [`Verdict::Failed`] for this attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrichment {
    pub offer_id: String,
    pub verdict: Verdict,
    /// 0.0 to 1.0; for an abstention, the best candidate's.
    pub confidence: f32,
    /// Language-model tokens spent on this product; 0 for rules.
    pub tokens: u32,
}

/// Why a whole batch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrichError {
    /// The module's own error: bad configuration, a bug.
    Module(ModuleError),
    /// A service the module depends on is unavailable or asked to slow down: the host
    /// retries the batch later with backoff.
    Unavailable(String),
}

impl From<ModuleError> for EnrichError {
    fn from(e: ModuleError) -> Self {
        Self::Module(e)
    }
}
