//! `taxonomy-rules`: the offline enricher. A taxonomy file (slugs, paths, keyword and pattern
//! rules with weights) classifies each product deterministically, with a confidence, and the
//! module abstains below a threshold. The format is `taxonomy.toml` beside this crate, which is
//! also the default.

mod classify;
mod taxonomy;

use contextworker_guest::{Config, EnrichError, Enricher, Enrichment, Product};

pub use taxonomy::{DEFAULT as DEFAULT_TAXONOMY, Taxonomy};

pub struct TaxonomyRules;

impl Enricher for TaxonomyRules {
    fn enrich(products: Vec<Product>, config: &Config) -> Result<Vec<Enrichment>, EnrichError> {
        let threshold = config.parse::<f32>("threshold")?;
        let taxonomy = Taxonomy::parse(config.get_or("taxonomy", taxonomy::DEFAULT), threshold)?;
        Ok(products.iter().map(|p| taxonomy.classify(p)).collect())
    }
}

contextworker_guest::export_enricher!(TaxonomyRules);

#[cfg(test)]
mod tests;
