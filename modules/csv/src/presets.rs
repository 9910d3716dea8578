//! Header names known exports use for each field, so a supplier sending a stock Shopify,
//! WooCommerce or Awin export needs no `map.*` keys at all.

use crate::fields::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// No preset: the field names themselves and a few near-universal spellings.
    Generic,
    Shopify,
    WooCommerce,
    /// Awin / Google-Merchant-style flat affiliate feeds.
    Awin,
}

impl Preset {
    /// The `preset` key: `None` when it is not set (the export may then be recognised by its
    /// header); `none`/`generic` is an explicit choice and turns recognition off.
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, String> {
        let preset = match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => return Ok(None),
            Some("none" | "generic") => Self::Generic,
            Some("shopify") => Self::Shopify,
            Some("woocommerce" | "woo") => Self::WooCommerce,
            Some("awin" | "google" | "google-merchant") => Self::Awin,
            Some(other) => {
                return Err(format!(
                    "config key `preset` = {other:?}: expected shopify, woocommerce or awin"
                ));
            }
        };
        Ok(Some(preset))
    }

    /// The known export a header row comes from, by columns only that exporter writes:
    /// Shopify's `Handle` with `Variant Price`; WooCommerce's `In stock?` with its regular-price
    /// column (English or the Russian/Ukrainian exporter's); Awin's `aw_product_id` or
    /// `aw_deep_link`. Anything else is read as a generic price list.
    pub fn recognise(names: &[String]) -> Self {
        let has = |wanted: &[&str]| {
            wanted
                .iter()
                .any(|w| names.iter().any(|n| n.eq_ignore_ascii_case(w)))
        };
        if has(&["Handle"]) && has(&["Variant Price"]) {
            Self::Shopify
        } else if has(WOO_IN_STOCK) && has(WOO_REGULAR_PRICE) {
            Self::WooCommerce
        } else if has(&["aw_product_id", "aw_deep_link"]) {
            Self::Awin
        } else {
            Self::Generic
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Generic => "none",
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Awin => "awin",
        }
    }

    /// Candidate header names for `field`, tried in order, compared case-insensitively.
    pub fn candidates(self, field: Field) -> &'static [&'static str] {
        match self {
            Self::Generic => generic(field),
            Self::Shopify => shopify(field),
            Self::WooCommerce => woocommerce(field),
            Self::Awin => match awin(field) {
                [] => generic(field),
                names => names,
            },
        }
    }
}

fn generic(field: Field) -> &'static [&'static str] {
    match field {
        Field::OfferId => &["offer_id", "id", "offer id"],
        Field::Sku => &["sku"],
        Field::VendorCode => &["vendor_code", "vendorcode", "mpn"],
        Field::Name => &["name", "title", "product_name", "product name"],
        Field::Description => &["description"],
        Field::Brand => &["brand", "manufacturer"],
        Field::Category => &["category", "categories", "product_type"],
        Field::CategoryId => &["category_id", "categoryid"],
        Field::Price => &["price"],
        Field::OldPrice => &["old_price", "oldprice"],
        Field::Currency => &["currency", "currency_id", "currencyid"],
        Field::Quantity => &["quantity", "qty", "stock_quantity"],
        Field::Availability => &["availability", "available", "in_stock"],
        Field::Url => &["url", "link"],
        Field::ImageUrls => &["image_urls", "image", "images", "image_link", "picture"],
        Field::Barcode => &["barcode", "ean", "gtin", "upc"],
        Field::VariantGroupId => &["variant_group_id", "item_group_id", "group_id"],
    }
}

fn awin(field: Field) -> &'static [&'static str] {
    match field {
        Field::OfferId => &["aw_product_id", "merchant_product_id", "id"],
        Field::Sku => &["merchant_product_id", "sku"],
        Field::VendorCode => &["mpn", "model_number"],
        Field::Name => &["product_name", "title"],
        Field::Description => &["description", "product_short_description"],
        Field::Brand => &["brand_name", "brand"],
        Field::Category => &["merchant_category", "category_name", "product_type"],
        Field::CategoryId => &["category_id", "merchant_category_id"],
        Field::Price => &["search_price", "price"],
        Field::OldPrice => &["rrp_price", "product_price_old"],
        Field::Currency => &["currency"],
        Field::Quantity => &["stock_quantity"],
        Field::Availability => &["in_stock", "availability"],
        Field::Url => &["aw_deep_link", "merchant_deep_link", "link"],
        Field::ImageUrls => &["merchant_image_url", "aw_image_url", "image_link"],
        Field::Barcode => &["ean", "gtin", "upc"],
        Field::VariantGroupId => &["item_group_id"],
    }
}

fn shopify(field: Field) -> &'static [&'static str] {
    match field {
        Field::OfferId | Field::VendorCode | Field::CategoryId | Field::Url | Field::Currency => {
            &[]
        }
        Field::Sku => &["Variant SKU"],
        Field::Name => &["Title"],
        Field::Description => &["Body (HTML)"],
        Field::Brand => &["Vendor"],
        Field::Category => &["Product Category"],
        Field::Price => &["Variant Price"],
        Field::OldPrice => &["Variant Compare At Price"],
        Field::Quantity => &["Variant Inventory Qty"],
        Field::Availability => &[],
        Field::ImageUrls => &["Variant Image"],
        Field::Barcode => &["Variant Barcode"],
        Field::VariantGroupId => &["Handle"],
    }
}

/// English and the Russian/Ukrainian localized exporter headers; `parent_*`/lower-case names
/// cover the flattened REST-style dumps some shops export instead.
fn woocommerce(field: Field) -> &'static [&'static str] {
    match field {
        Field::OfferId => &["ID", "ИД"],
        Field::Sku => &["SKU", "Артикул"],
        Field::VendorCode => &[],
        Field::Name => &["Name", "Имя", "Название", "Назва", "parent_name"],
        Field::Description => &["Description", "Описание", "Опис"],
        Field::Brand => &["Brands", "Бренды", "Бренди", "Бренд"],
        Field::Category => &["Categories", "Категории", "Категорії"],
        Field::CategoryId => &[],
        Field::Price => &[
            "Regular price",
            "Базовая цена",
            "Обычная цена",
            "Звичайна ціна",
            "price",
        ],
        Field::OldPrice => &[],
        Field::Currency => &[],
        Field::Quantity => &["Stock", "Запасы", "Запас", "Склад"],
        Field::Availability => WOO_IN_STOCK,
        Field::Url => &[],
        Field::ImageUrls => &["Images", "Изображения", "Зображення", "image"],
        Field::Barcode => &["GTIN, UPC, EAN, or ISBN", "GTIN, UPC, EAN или ISBN"],
        Field::VariantGroupId => &["Parent", "Родительский", "Батьківський", "parent_id"],
    }
}

/// WooCommerce's "In stock?" column: only its exporter writes a header with a question mark.
const WOO_IN_STOCK: &[&str] = &["In stock?", "В наличии?", "В наявності?"];
/// WooCommerce's regular price column as its exporter names it (not the `price` of dumps).
const WOO_REGULAR_PRICE: &[&str] = &[
    "Regular price",
    "Базовая цена",
    "Обычная цена",
    "Звичайна ціна",
];

/// WooCommerce's sale price column: when filled, it is the price and the regular one the old price.
pub const WOO_SALE_PRICE: &[&str] = &[
    "Sale price",
    "Акционная цена",
    "Цена распродажи",
    "Ціна зі знижкою",
    "Акційна ціна",
];
pub const WOO_TYPE: &[&str] = &["Type", "Тип"];

/// `Attribute 3 name` / `Attribute 3 value(s)` and their localized forms: (block number, is_value).
pub fn woo_attribute_column(header: &str) -> Option<(u32, bool)> {
    let lower = header.to_lowercase();
    if !["attribute", "атрибут", "аттрибут"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return None;
    }
    let number: String = lower.chars().filter(char::is_ascii_digit).collect();
    let n = number.parse().ok()?;
    if lower.contains("value") || lower.contains("значен") {
        Some((n, true))
    } else if lower.contains("name") || lower.contains("назв") {
        Some((n, false))
    } else {
        None
    }
}
