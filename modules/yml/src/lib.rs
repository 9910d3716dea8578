//! Yandex Market Language (YML) and the marketplace dialects built on it (Rozetka, Prom.ua,
//! Epicentr, EVA, Allo, MAUDAU).
//!
//! The feed is decoded to UTF-8 by `feed_kit`, then read as a stream of quick-xml events: only
//! the category map, the declared currencies and the offer being read are held in memory, so a
//! feed of any size parses in memory bounded by its category list. Decisions about dialect
//! quirks are listed in `README.md` next to this crate.

mod categories;
mod offer;
mod parser;
mod text;

use contextworker_guest::{Config, FeedReader, ModuleError, ProductSink, Transformer};
use feed_kit::TextKind;

pub struct Yml;

/// The supplier configuration, read and checked once per call.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Normalized language code (`uk`, `ru`, `en`, ...): which `name_*`/`lang=` variant wins.
    pub language: String,
    /// ISO code used when neither the offer nor its price names a currency.
    pub currency: Option<String>,
    pub lenient: bool,
}

impl Options {
    fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let language = text::normalize_language(config.get_or("language", "uk"));
        let currency = feed_kit::price::configured_currency(config)?;
        Ok(Self {
            language,
            currency,
            lenient: config.flag("lenient", false)?,
        })
    }
}

impl Transformer for Yml {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let options = Options::from_config(config)?;
        let encoding = config
            .get("encoding")
            .map(str::trim)
            .filter(|e| !e.is_empty());
        // The decoder needs to own its source; the SDK only lends the feed, so take it and leave
        // an empty reader behind (nothing reads it after `transform` returns).
        let feed = input.take();
        let decoded = feed_kit::decode(feed, TextKind::Xml, encoding)?;
        for warning in decoded.warnings {
            out.warn(warning);
        }
        parser::parse(decoded.reader, out, &options)
    }
}

contextworker_guest::export_transformer!(Yml);
