//! The module's configuration: presets, the field map, and the other keys.

use contextworker_guest::{Config, ModuleError};

use crate::path::FieldPath;
use crate::scan::Value;

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

impl Preset {
    /// The known shape a product object has, by keys only that shape has together: a Shopify
    /// `products.json` product has a `handle` and `variants` that carry a `price`; a WooCommerce
    /// REST product has `regular_price`, `sale_price` and `permalink`. Anything else is read
    /// with the generic mapping.
    pub(crate) fn recognise(product: &Value) -> Self {
        let priced_variants = match product.get("variants") {
            Some(Value::Array(variants)) => variants.iter().any(|v| v.get("price").is_some()),
            _ => false,
        };
        if product.get("handle").is_some() && priced_variants {
            Self::Shopify
        } else if ["regular_price", "sale_price", "permalink"]
            .iter()
            .all(|key| product.get(key).is_some())
        {
            Self::WooCommerce
        } else {
            Self::Generic
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Generic => "none",
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
        }
    }
}

pub(crate) struct Settings {
    pub(crate) items_path: Option<Vec<String>>,
    /// The `preset` key; `None` when unset.
    pub(crate) preset: Option<Preset>,
    pub(crate) map: Vec<(&'static str, FieldPath)>,
    pub(crate) lenient: bool,
    pub(crate) currency: Option<String>,
    /// The `attributes` key; the preset decides when it is unset.
    attributes: Option<bool>,
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
            None | Some("") => None,
            Some("none" | "generic") => Some(Preset::Generic),
            Some("shopify") => Some(Preset::Shopify),
            Some("woocommerce" | "woo") => Some(Preset::WooCommerce),
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
            attributes: match config.get("attributes") {
                Some(_) => Some(config.flag("attributes", true)?),
                None => None,
            },
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

    /// The preset to read the feed with: the configured one, else the shape its first product
    /// is recognised as, unless the config maps a key field itself (then the mapping is the
    /// whole story).
    pub(crate) fn preset_for(&self, first_product: &Value) -> Preset {
        if let Some(preset) = self.preset {
            return preset;
        }
        let maps_a_key_field = ["offer_id", "name", "price"]
            .iter()
            .any(|field| self.configured(field).is_some());
        if maps_a_key_field {
            return Preset::Generic;
        }
        Preset::recognise(first_product)
    }

    /// Unmapped scalars become attributes: by default only without a preset, whose mapping
    /// already keeps what describes the product.
    pub(crate) fn attributes(&self, preset: Preset) -> bool {
        self.attributes.unwrap_or(preset == Preset::Generic)
    }

    pub(crate) fn configured(&self, field: &str) -> Option<&FieldPath> {
        self.map.iter().find(|(f, _)| *f == field).map(|(_, p)| p)
    }
}
