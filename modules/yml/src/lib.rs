//! Yandex Market Language (YML) and the marketplace dialects built on it (Rozetka, Prom.ua,
//! Epicentr, EVA, Allo, MAUDAU).
//!
//! The feed is decoded and read by `feed_kit::xml` (the XML rules every XML module shares) as a
//! stream of elements: only the category map, the declared currencies and the offer being read
//! are held in memory, so a feed of any size parses in memory bounded by its category list. Decisions about dialect
//! quirks are listed in `README.md` next to this crate.

mod categories;
mod offer;
mod parser;
mod text;

use contextworker_guest::{Config, FeedReader, ModuleError, ProductSink, Transformer};
use feed_kit::xml::{Rules, Xml};

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
        // `lenient` is about offers here: broken markup fails the feed in every mode, since
        // guessing where a broken document resumes risks wrong products. YML has always refused
        // a DOCTYPE that declares entities, used or not.
        let rules = Rules {
            lenient: false,
            refuse_entity_declarations: true,
        };
        Xml::run(input, out, config, rules, |xml, out| {
            parser::parse(xml, out, &options)
        })
    }
}

contextworker_guest::export_transformer!(Yml);
