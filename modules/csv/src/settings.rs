//! The module's configuration keys, read and checked once per feed.

use contextworker_guest::{Config, ModuleError};

use crate::fields::{self, FIELD_COUNT, Spec};
use crate::layout::normalize_header;
use crate::presets::Preset;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ragged {
    Pad,
    Skip,
    Error,
}

pub(crate) struct Settings {
    pub(crate) delimiter: Option<u8>,
    pub(crate) quote: Option<u8>,
    pub(crate) escape: Option<u8>,
    pub(crate) header: bool,
    pub(crate) skip_rows: usize,
    pub(crate) header_contains: Option<String>,
    pub(crate) specs: [Option<Spec>; FIELD_COUNT],
    pub(crate) preset: Preset,
    pub(crate) attributes: bool,
    pub(crate) lenient: bool,
    pub(crate) currency: Option<String>,
    pub(crate) category_separator: Option<String>,
    pub(crate) image_separator: String,
    pub(crate) ragged: Ragged,
}

impl Settings {
    pub(crate) fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let preset = Preset::parse(config.get("preset")).map_err(ModuleError::invalid_input)?;
        let delimiter = match config.get("delimiter").map(str::trim_matches_not_tab) {
            None | Some("" | "auto") => None,
            Some(raw) => Some(one_byte("delimiter", raw)?),
        };
        let quote = match config.get("quote") {
            None => Some(b'"'),
            Some("" | "none") => None,
            Some(raw) => Some(one_byte("quote", raw)?),
        };
        let escape = config
            .get("escape")
            .filter(|s| !s.is_empty())
            .map(|raw| one_byte("escape", raw))
            .transpose()?;
        let ragged = match config.get_or("ragged", "pad") {
            "pad" => Ragged::Pad,
            "skip" => Ragged::Skip,
            "error" => Ragged::Error,
            other => {
                return Err(ModuleError::invalid_input(format!(
                    "config key `ragged` = {other:?}: expected pad, skip or error"
                )));
            }
        };
        let default_separator = match preset {
            Preset::Shopify | Preset::WooCommerce => Some(">"),
            _ => None,
        };
        Ok(Self {
            delimiter,
            quote,
            escape,
            header: config.flag("header", true)?,
            skip_rows: config.parse("skip_rows")?.unwrap_or(0),
            header_contains: config
                .get("header_contains")
                .map(normalize_header)
                .filter(|s| !s.is_empty()),
            specs: fields::specs(config)?,
            preset,
            attributes: config.flag("attributes", true)?,
            lenient: config.flag("lenient", false)?,
            currency: feed_kit::price::configured_currency(config)?,
            category_separator: config
                .get("category_separator")
                .or(default_separator)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            image_separator: config.get_or("image_separator", ",").to_owned(),
            ragged,
        })
    }
}

pub(crate) trait TrimNotTab {
    fn trim_matches_not_tab(&self) -> &str;
}

impl TrimNotTab for str {
    /// A tab delimiter must survive trimming the value.
    fn trim_matches_not_tab(&self) -> &str {
        self.trim_matches(' ')
    }
}

pub(crate) fn one_byte(key: &str, raw: &str) -> Result<u8, ModuleError> {
    match raw {
        "\\t" | "tab" | "\t" => return Ok(b'\t'),
        "\\\\" => return Ok(b'\\'),
        _ => {}
    }
    match raw.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(ModuleError::invalid_input(format!(
            "config key `{key}` = {raw:?}: expected one ASCII character (or `tab`)"
        ))),
    }
}
