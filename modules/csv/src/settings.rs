//! The module's configuration keys, read and checked once per feed.

use contextworker_guest::{Config, ModuleError};

use crate::fields::{self, FIELD_COUNT, Field, Spec};
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
    /// The `preset` key; `None` when unset.
    pub(crate) preset: Option<Preset>,
    pub(crate) attributes: bool,
    pub(crate) lenient: bool,
    pub(crate) currency: Option<String>,
    /// The `category_separator` key as written; the preset decides when it is unset.
    category_separator: Option<String>,
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
            category_separator: config.get("category_separator").map(str::to_owned),
            image_separator: config.get_or("image_separator", ",").to_owned(),
            ragged,
        })
    }
}

impl Settings {
    /// The preset to read a header with: the configured one, else the export the header is
    /// recognised as, unless the config maps a key field itself (then the mapping is the whole
    /// story) or there is no header to recognise.
    pub(crate) fn preset_for(&self, header: &[String], has_header: bool) -> Preset {
        if let Some(preset) = self.preset {
            return preset;
        }
        let maps_a_key_field = [Field::OfferId, Field::Name, Field::Price]
            .iter()
            .any(|f| self.specs[*f as usize].is_some());
        if maps_a_key_field || !has_header {
            return Preset::Generic;
        }
        Preset::recognise(header)
    }

    /// `category_separator`, else `>` for the exports that write paths that way.
    pub(crate) fn category_separator(&self, preset: Preset) -> Option<&str> {
        let default = match preset {
            Preset::Shopify | Preset::WooCommerce => Some(">"),
            Preset::Generic | Preset::Awin => None,
        };
        self.category_separator
            .as_deref()
            .or(default)
            .filter(|s| !s.is_empty())
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
