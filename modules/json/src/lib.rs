//! Product arrays in JSON, reached by a path and mapped onto product fields by the supplier
//! config, with presets for Shopify `products.json` and WooCommerce REST dumps.
//!
//! Memory: the document is read once as a stream. Everything outside the product array is
//! skipped token by token; each array element is parsed into a value tree, turned into
//! products and dropped before the next one is read. So memory is bounded by the largest
//! single product plus the 64 KiB read buffers, not by the feed size.

mod path;
mod scan;
mod settings;
mod walker;
mod woo;

use contextworker_guest::{Config, FeedReader, ModuleError, ProductSink, Transformer};
use feed_kit::amounts as money;
use feed_kit::{Duplicates, TextKind};

use scan::Scanner;
use settings::Settings;
use walker::Walker;

pub struct Json;

contextworker_guest::export_transformer!(Json);

impl Transformer for Json {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        // `feed_kit::decode` wants an owned reader; the SDK's reader is only lent to us.
        let mut feed = input.take();
        let mut prefix = Vec::with_capacity(64);
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut feed, 64), &mut prefix)
            .map_err(|e| ModuleError::invalid_input(format!("cannot read the feed: {e}")))?;
        // Checked before decoding: a windows-1251 XML feed would otherwise be reported as
        // invalid UTF-8 instead of as the wrong format.
        if feed_kit::encoding::looks_like_xml(&prefix) {
            return Err(ModuleError::unsupported(
                "the feed is XML, not JSON; use the yml, google-merchant or hotline module",
            ));
        }
        let feed = std::io::Read::chain(std::io::Cursor::new(prefix), feed);
        let decoded = feed_kit::decode(feed, TextKind::Text, config.get("encoding"))?;
        for warning in decoded.warnings {
            out.warn(warning);
        }
        let mut scanner = Scanner::new(decoded.reader);
        let mut walker = Walker {
            settings,
            out,
            duplicates: Duplicates::default(),
        };
        walker.document(&mut scanner)
    }
}

#[cfg(test)]
mod tests;
