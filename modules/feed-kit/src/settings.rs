//! The settings every feed module reads the same way.

use contextworker_guest::{Config, ModuleError};

/// `lenient` (a record that cannot become a product is skipped with a warning instead of
/// failing the feed) and `currency` (the currency of prices the feed does not label).
#[derive(Debug, Clone, Default)]
pub struct FeedSettings {
    pub lenient: bool,
    pub currency: Option<String>,
}

impl FeedSettings {
    /// Both from the supplier's config; an invalid value is an `invalid-input` error naming
    /// its key.
    pub fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let currency = crate::price::configured_currency(config)?;
        Ok(Self {
            lenient: config.flag("lenient", false)?,
            currency,
        })
    }
}
