//! The header row and the mapping of columns onto product fields.

use contextworker_guest::ModuleError;

use crate::fields::{FIELD_COUNT, FIELDS, Field, Spec};
use crate::presets::{self, Preset};
use crate::settings::Settings;

/// Header cells with the whitespace and stray BOMs exporters leave in them (a BOM after leaked
/// PHP whitespace makes the first cell `\n\t\u{feff}ID`).
pub(crate) fn normalize_header(raw: &str) -> String {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_owned()
}

/// The header, and which column feeds which field.
pub(crate) struct Layout {
    pub(crate) names: Vec<String>,
    pub(crate) cols: [Option<usize>; FIELD_COUNT],
    pub(crate) attributes: Vec<usize>,
    /// Pairs of (name column, value column): WooCommerce attribute blocks, Shopify options.
    pub(crate) attribute_pairs: Vec<(usize, usize)>,
    pub(crate) woo_sale: Option<usize>,
    pub(crate) woo_type: Option<usize>,
    pub(crate) shopify_image: Option<usize>,
    pub(crate) has_header: bool,
    /// The preset configured, or recognised from the header.
    pub(crate) preset: Preset,
}

impl Layout {
    pub(crate) fn col(&self, field: Field) -> Option<usize> {
        self.cols[field as usize]
    }

    pub(crate) fn describe(&self, col: usize) -> String {
        match self.names.get(col) {
            Some(name) if self.has_header && !name.is_empty() => format!("`{name}`"),
            _ => format!("#{}", col + 1),
        }
    }

    pub(crate) fn header_list(&self) -> String {
        let shown: Vec<String> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("#{} {n:?}", i + 1))
            .collect();
        shown.join(", ")
    }
}

pub(crate) fn find_column(names: &[String], wanted: &str) -> Option<usize> {
    let wanted = normalize_header(wanted);
    names.iter().position(|n| *n == wanted).or_else(|| {
        let lower = wanted.to_lowercase();
        names.iter().position(|n| n.to_lowercase() == lower)
    })
}

pub(crate) fn resolve(
    names: Vec<String>,
    has_header: bool,
    settings: &Settings,
) -> Result<Layout, ModuleError> {
    let width = names.len();
    let preset = settings.preset_for(&names, has_header);
    if settings.preset.is_none() && preset != Preset::Generic {
        contextworker_guest::info!(
            "the header is a known export's: read with its preset";
            preset = preset.name()
        );
    }
    let mut layout = Layout {
        names,
        cols: [None; FIELD_COUNT],
        attributes: Vec::new(),
        attribute_pairs: Vec::new(),
        woo_sale: None,
        woo_type: None,
        shopify_image: None,
        has_header,
        preset,
    };
    let header_error = |layout: &Layout, message: String| {
        ModuleError::invalid_input(format!(
            "{message}; the header has {}",
            layout.header_list()
        ))
        .at_line(1, 1)
    };
    for (field, key) in FIELDS {
        let col = match &settings.specs[field as usize] {
            Some(Spec::Off) => None,
            Some(Spec::Position(p)) => {
                if *p > width {
                    return Err(header_error(
                        &layout,
                        format!("config `map.{key}` = #{p}, but the first row has {width} columns"),
                    ));
                }
                Some(p - 1)
            }
            Some(Spec::Name(name)) => {
                if !has_header {
                    return Err(ModuleError::invalid_input(format!(
                        "config `map.{key}` = {name:?} names a column, but `header = false`: \
                         use a position such as #3"
                    )));
                }
                Some(find_column(&layout.names, name).ok_or_else(|| {
                    header_error(
                        &layout,
                        format!(
                            "config `map.{key}` names the column {name:?}, which the header lacks"
                        ),
                    )
                })?)
            }
            None if has_header => preset
                .candidates(field)
                .iter()
                .find_map(|c| find_column(&layout.names, c)),
            None => None,
        };
        layout.cols[field as usize] = col;
    }
    // Import-style exports key products on the SKU and have no id column.
    if layout.col(Field::OfferId).is_none()
        && settings.specs[Field::OfferId as usize].is_none()
        && preset != Preset::Shopify
    {
        layout.cols[Field::OfferId as usize] = layout.col(Field::Sku);
    }
    if preset == Preset::Shopify {
        if layout.col(Field::VariantGroupId).is_none() {
            return Err(header_error(
                &layout,
                "preset shopify: no `Handle` column".to_owned(),
            ));
        }
        layout.shopify_image = find_column(&layout.names, "Image Src");
        for n in 1..=3 {
            let name = find_column(&layout.names, &format!("Option{n} Name"));
            let value = find_column(&layout.names, &format!("Option{n} Value"));
            if let (Some(name), Some(value)) = (name, value) {
                layout.attribute_pairs.push((name, value));
            }
        }
    } else if layout.col(Field::OfferId).is_none() {
        return Err(header_error(
            &layout,
            "no column for the offer id: set `map.offer_id` to a header name or a position like #1"
                .to_owned(),
        ));
    }
    if layout.col(Field::Name).is_none() {
        return Err(header_error(
            &layout,
            "no column for the product name: set `map.name` to a header name or a position like #2"
                .to_owned(),
        ));
    }
    if preset == Preset::WooCommerce {
        layout.woo_sale = presets::WOO_SALE_PRICE
            .iter()
            .find_map(|c| find_column(&layout.names, c));
        layout.woo_type = presets::WOO_TYPE
            .iter()
            .find_map(|c| find_column(&layout.names, c));
        let mut blocks: Vec<(u32, Option<usize>, Option<usize>)> = Vec::new();
        for (i, name) in layout.names.iter().enumerate() {
            if let Some((n, is_value)) = presets::woo_attribute_column(name) {
                let at = match blocks.iter().position(|b| b.0 == n) {
                    Some(at) => at,
                    None => {
                        blocks.push((n, None, None));
                        blocks.len() - 1
                    }
                };
                if is_value {
                    blocks[at].2.get_or_insert(i);
                } else {
                    blocks[at].1.get_or_insert(i);
                }
            }
        }
        layout.attribute_pairs = blocks
            .into_iter()
            .filter_map(|(_, name, value)| Some((name?, value?)))
            .collect();
    }
    if settings.attributes {
        let used: Vec<usize> = layout
            .cols
            .iter()
            .flatten()
            .copied()
            .chain(layout.attribute_pairs.iter().flat_map(|(a, b)| [*a, *b]))
            .chain(layout.woo_sale)
            .chain(layout.woo_type)
            .chain(layout.shopify_image)
            .collect();
        layout.attributes = (0..width)
            .filter(|i| !used.contains(i))
            .filter(|i| keep_as_attribute(preset, &layout.names[*i], has_header))
            .collect();
    }
    Ok(layout)
}

/// Presets keep the columns that describe the product and drop the exporter's bookkeeping
/// (publish flags, tax classes, plugin `Meta:` fields, SEO texts).
pub(crate) fn keep_as_attribute(preset: Preset, name: &str, has_header: bool) -> bool {
    if has_header && name.is_empty() {
        return false;
    }
    match preset {
        Preset::Generic | Preset::Awin => true,
        Preset::Shopify => {
            name == "Type" || name == "Tags" || name.contains("(product.metafields.")
        }
        Preset::WooCommerce => matches!(
            name,
            "Tags"
                | "Метки"
                | "Мітки"
                | "Weight (kg)"
                | "Вес (кг)"
                | "Short description"
                | "Короткое описание"
                | "attributes"
        ),
    }
}

/// A value as the product should carry it: trimmed, without WooCommerce's CSV-injection guard
/// (`'-1`, `'=…`), which is an artefact of the export, not data.
pub(crate) fn clean(raw: &str) -> &str {
    let value = raw.trim();
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['-', '=', '+', '@']) => rest,
        _ => value,
    }
}

pub(crate) fn contains_all(names: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| find_column(names, w).is_some())
}

pub(crate) fn column(layout: &Layout, field: Field) -> String {
    match layout.col(field) {
        Some(col) => format!("column {}", layout.describe(col)),
        None => field.key().to_owned(),
    }
}
