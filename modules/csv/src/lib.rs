//! Delimited price lists (CSV, semicolon, pipe, tab) whose columns the supplier config maps
//! onto product fields, with presets for Shopify, WooCommerce and Awin exports (recognised by
//! their header row when the config names none).
//!
//! Records stream through the `csv` crate: only the current row is held, except for the
//! `shopify` preset, which holds one product's rows (its variants and image rows) until the
//! handle changes, so the images listed after the variants reach every variant.

mod fields;
mod layout;
mod parser;
mod presets;
mod settings;
mod sniff;

use std::io::{BufRead, BufReader};

use contextworker_guest::{Config, FeedReader, ModuleError, ProductSink, Transformer};
use feed_kit::amounts as money;

pub use money::{parse_prices, parse_quantity};
use parser::Parser;
use settings::Settings;
use sniff::{Tail, detect_delimiter, refuse_binary, refuse_other_formats};

pub struct Csv;

contextworker_guest::export_transformer!(Csv);

/// Rows searched for the header when the mapping names columns but the first row lacks them.
pub(crate) const HEADER_SEARCH_ROWS: usize = 100;

impl Transformer for Csv {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        let feed =
            feed_kit::encoding::open_text(input, out, config.get("encoding"), refuse_binary)?;
        let mut text = BufReader::with_capacity(64 * 1024, feed);
        let sample = text
            .fill_buf()
            .map_err(|e| ModuleError::invalid_input(e.to_string()))?;
        refuse_other_formats(sample)?;
        let delimiter = match settings.delimiter {
            Some(d) => d,
            None => detect_delimiter(sample, settings.skip_rows),
        };
        let mut builder = csv_parse::ReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .quoting(settings.quote.is_some())
            .quote(settings.quote.unwrap_or(b'"'))
            .escape(settings.escape);
        let tail = Tail {
            inner: text,
            last: None,
            quotes: 0,
            quote: settings.quote.unwrap_or(0),
            eof: false,
        };
        let reader = builder.from_reader(tail);
        Parser::new(settings, out).run(reader)
    }
}

#[cfg(test)]
mod tests;
