//! The product fields a column can feed, and how a supplier's config names the column for each.

use contextworker_guest::{Config, ModuleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    OfferId,
    Sku,
    VendorCode,
    Name,
    Description,
    Brand,
    Category,
    CategoryId,
    Price,
    OldPrice,
    Currency,
    Quantity,
    Availability,
    Url,
    ImageUrls,
    Barcode,
    VariantGroupId,
}

pub const FIELD_COUNT: usize = 17;

/// Every field with the config key suffix that maps it (`map.<key>`).
pub const FIELDS: [(Field, &str); FIELD_COUNT] = [
    (Field::OfferId, "offer_id"),
    (Field::Sku, "sku"),
    (Field::VendorCode, "vendor_code"),
    (Field::Name, "name"),
    (Field::Description, "description"),
    (Field::Brand, "brand"),
    (Field::Category, "category"),
    (Field::CategoryId, "category_id"),
    (Field::Price, "price"),
    (Field::OldPrice, "old_price"),
    (Field::Currency, "currency"),
    (Field::Quantity, "quantity"),
    (Field::Availability, "availability"),
    (Field::Url, "url"),
    (Field::ImageUrls, "image_urls"),
    (Field::Barcode, "barcode"),
    (Field::VariantGroupId, "variant_group_id"),
];

impl Field {
    pub fn key(self) -> &'static str {
        FIELDS[self as usize].1
    }
}

/// What the supplier config says about one field's column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `map.x = "Header name"`
    Name(String),
    /// `map.x = "#3"`: 1-based position, for files without a header or with clashing names.
    Position(usize),
    /// `map.x = ""`: never read this field, even if a preset would.
    Off,
}

/// The `map.*` keys of a config, validated: an unknown field name is a config mistake worth
/// failing on, since a typo would otherwise silently drop a column.
pub fn specs(config: &Config) -> Result<[Option<Spec>; FIELD_COUNT], ModuleError> {
    let mut specs: [Option<Spec>; FIELD_COUNT] = Default::default();
    for (key, value) in config.iter() {
        let Some(field) = key.strip_prefix("map.") else {
            continue;
        };
        let Some((f, _)) = FIELDS.iter().find(|(_, k)| *k == field) else {
            let known: Vec<&str> = FIELDS.iter().map(|(_, k)| *k).collect();
            return Err(ModuleError::invalid_input(format!(
                "config key `{key}`: unknown field `{field}`; known fields: {}",
                known.join(", ")
            )));
        };
        specs[*f as usize] = Some(parse_spec(key, value)?);
    }
    Ok(specs)
}

fn parse_spec(key: &str, value: &str) -> Result<Spec, ModuleError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Spec::Off);
    }
    if let Some(n) = value.strip_prefix('#')
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
    {
        return match n.parse::<usize>() {
            Ok(p) if p >= 1 => Ok(Spec::Position(p)),
            _ => Err(ModuleError::invalid_input(format!(
                "config key `{key}` = {value:?}: positions start at #1"
            ))),
        };
    }
    Ok(Spec::Name(value.to_owned()))
}
