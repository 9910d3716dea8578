//! Product arrays in JSON, reached by a path and mapped onto product fields by the supplier
//! config, with presets for Shopify `products.json` and WooCommerce REST dumps (recognised by
//! their fields when the config names none).
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
        let feed = feed_kit::encoding::open_text(input, out, config.get("encoding"), refuse_xml)?;
        let mut scanner = Scanner::new(feed);
        Walker::new(settings, out).document(&mut scanner)
    }
}

/// Checked before decoding: a windows-1251 XML feed would otherwise be reported as invalid
/// UTF-8 instead of as the wrong format.
fn refuse_xml(magic: &[u8]) -> Result<(), ModuleError> {
    if feed_kit::encoding::looks_like_xml(magic) {
        return Err(ModuleError::unsupported(
            "the feed is XML, not JSON; use the yml, google-merchant or hotline module",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
