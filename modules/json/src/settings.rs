//! The module's configuration: presets, the field map, and the other keys.

use contextworker_guest::{Config, ModuleError};

use crate::path::FieldPath;

pub(crate) const FIELDS: &[&str] = &[
    "offer_id",
    "sku",
    "vendor_code",
    "name",
    "description",
    "brand",
    "category",
    "category_id",
    "price",
    "old_price",
    "currency",
    "quantity",
    "availability",
    "url",
    "image_urls",
    "barcode",
    "variant_group_id",
];

/// Where the generic mapping looks for each field when the config does not say.
pub(crate) fn generic_candidates(field: &str) -> &'static [&'static str] {
    match field {
        "offer_id" => &["id", "offer_id", "sku", "code"],
        "sku" => &["sku"],
        "vendor_code" => &["vendor_code", "mpn"],
        "name" => &["name", "title"],
        "description" => &["description", "body_html"],
        "brand" => &["brand", "vendor", "manufacturer"],
        "category" => &["category", "categories[].name", "categories"],
        "category_id" => &["category_id"],
        "price" => &["price"],
        "old_price" => &["old_price", "oldprice"],
        "currency" => &["currency"],
        "quantity" => &["quantity", "stock_quantity", "stock"],
        "availability" => &["availability", "available", "in_stock"],
        "url" => &["url", "link", "permalink"],
        "image_urls" => &["images[].src", "images", "image", "image_url", "picture"],
        "barcode" => &["barcode", "ean", "gtin"],
        "variant_group_id" => &["variant_group_id", "item_group_id", "group_id"],
        _ => &[],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preset {
    Generic,
    Shopify,
    WooCommerce,
}

pub(crate) struct Settings {
    pub(crate) items_path: Option<Vec<String>>,
    pub(crate) preset: Preset,
    pub(crate) map: Vec<(&'static str, FieldPath)>,
    pub(crate) lenient: bool,
    pub(crate) currency: Option<String>,
    pub(crate) attributes: bool,
    pub(crate) category_separator: Option<String>,
    pub(crate) image_separator: Option<String>,
    pub(crate) expand_variations: bool,
}

impl Settings {
    pub(crate) fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let preset = match config
            .get("preset")
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "none" | "generic") => Preset::Generic,
            Some("shopify") => Preset::Shopify,
            Some("woocommerce" | "woo") => Preset::WooCommerce,
            Some(other) => {
                return Err(ModuleError::invalid_input(format!(
                    "config key `preset` = {other:?}: expected shopify or woocommerce"
                )));
            }
        };
        let mut map = Vec::new();
        for (key, value) in config.iter() {
            let Some(field) = key.strip_prefix("map.") else {
                continue;
            };
            let Some(field) = FIELDS.iter().find(|f| **f == field) else {
                return Err(ModuleError::invalid_input(format!(
                    "config key `{key}`: unknown field `{field}`; known fields: {}",
                    FIELDS.join(", ")
                )));
            };
            if value.trim().is_empty() {
                continue;
            }
            let path = FieldPath::parse(value)
                .map_err(|e| ModuleError::invalid_input(format!("config key `{key}`: {e}")))?;
            map.push((*field, path));
        }
        let items_path = config.get("items_path").map(|p| {
            p.split('.')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        let currency = feed_kit::price::configured_currency(config)?;
        Ok(Self {
            items_path,
            preset,
            map,
            lenient: config.flag("lenient", false)?,
            currency,
            attributes: config.flag("attributes", preset == Preset::Generic)?,
            category_separator: config
                .get("category_separator")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            image_separator: config
                .get("image_separator")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            expand_variations: config.flag("expand_variations", false)?,
        })
    }

    pub(crate) fn configured(&self, field: &str) -> Option<&FieldPath> {
        self.map.iter().find(|(f, _)| *f == field).map(|(_, p)| p)
    }
}
