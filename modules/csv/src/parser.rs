//! Records into products: one row at a time, or one Shopify product's rows at a time.

use std::io::Read;

use contextworker_guest::{
    Attribute, Availability, Location, ModuleError, Product, ProductSink, Warning,
};
use feed_kit::{Needed, Offers};

use crate::HEADER_SEARCH_ROWS;
use crate::fields::{Field, Spec};
use crate::layout::{Layout, clean, column, contains_all, normalize_header, resolve};
use crate::money::{parse_prices, parse_quantity};
use crate::presets::Preset;
use crate::settings::{Ragged, Settings};
use crate::sniff::Tail;

pub(crate) struct Shopify {
    handle: String,
    base: Product,
    option_names: Vec<String>,
    images: Vec<String>,
    variants: Vec<(Product, Vec<String>, Location)>,
    first: Location,
}

pub(crate) struct Parser<'a> {
    settings: Settings,
    out: &'a mut ProductSink,
    offers: Offers,
    short_rows: u64,
    long_rows: u64,
    shopify: Option<Shopify>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(settings: Settings, out: &'a mut ProductSink) -> Self {
        Self {
            offers: Offers::new(settings.lenient),
            settings,
            out,
            short_rows: 0,
            long_rows: 0,
            shopify: None,
        }
    }

    pub(crate) fn run<R: Read>(
        mut self,
        mut reader: csv_parse::Reader<Tail<R>>,
    ) -> Result<(), ModuleError> {
        let mut record = csv_parse::StringRecord::new();
        let read = |reader: &mut csv_parse::Reader<Tail<R>>,
                    record: &mut csv_parse::StringRecord| {
            reader.read_record(record).map_err(|e| csv_error(&e))
        };
        // Preamble rows (titles, empty separator rows, grouped super-headers) before the header.
        for _ in 0..self.settings.skip_rows {
            if !read(&mut reader, &mut record)? {
                return Err(ModuleError::invalid_input(format!(
                    "the feed ended within the {} rows `skip_rows` skips",
                    self.settings.skip_rows
                )));
            }
        }
        if !read(&mut reader, &mut record)? {
            return Err(ModuleError::invalid_input(
                "the feed is empty: expected a header row or records",
            )
            .at_line(1, 1));
        }
        let mut pending_first = None;
        let layout = if self.settings.header {
            let first: Vec<String> = record.iter().map(normalize_header).collect();
            let mut names = first.clone();
            let wanted = self.header_markers();
            if !wanted.is_empty() && !contains_all(&names, &wanted) {
                // The mapping names columns the first row lacks: look further down for the
                // header (price lists often start with a title block).
                let mut found = false;
                for _ in 0..HEADER_SEARCH_ROWS {
                    if !read(&mut reader, &mut record)? {
                        break;
                    }
                    let candidate: Vec<String> = record.iter().map(normalize_header).collect();
                    if contains_all(&candidate, &wanted) {
                        names = candidate;
                        found = true;
                        break;
                    }
                }
                if !found {
                    names = first;
                }
            }
            resolve(names, true, &self.settings)?
        } else {
            let width = record.len();
            pending_first = Some(record.clone());
            resolve(
                (1..=width).map(|i| format!("#{i}")).collect(),
                false,
                &self.settings,
            )?
        };
        let width = layout.names.len();
        let mut data_index = 0usize;
        loop {
            if let Some(first) = pending_first.take() {
                record = first;
            } else if !read(&mut reader, &mut record)? {
                break;
            }
            data_index += 1;
            let location = Location {
                line: record
                    .position()
                    .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX)),
                record_index: Some(u32::try_from(data_index).unwrap_or(u32::MAX)),
                ..Location::default()
            };
            let tail = reader.get_ref();
            let unterminated = tail.eof && !matches!(tail.last, Some(b'\n' | b'\r'));
            let open_quote = tail.eof
                && tail.quotes % 2 == 1
                && record
                    .iter()
                    .next_back()
                    .is_some_and(|f| f.contains(['\n', '\r']));
            if (unterminated && record.len() < width) || open_quote {
                self.offers.reject(
                    self.out,
                    &location,
                    format!(
                        "the feed ends inside this record ({} of {width} fields{}): the file \
                         looks truncated",
                        record.len(),
                        if open_quote {
                            ", a quoted field never closed"
                        } else {
                            ""
                        }
                    ),
                )?;
                continue;
            }
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if record.len() != width {
                match self.settings.ragged {
                    Ragged::Pad => {
                        if record.len() < width {
                            self.short_rows += 1;
                        } else {
                            self.long_rows += 1;
                        }
                    }
                    Ragged::Skip | Ragged::Error => {
                        let message =
                            format!("the row has {} fields, the header {width}", record.len());
                        if self.settings.ragged == Ragged::Error {
                            return Err(ModuleError::invalid_input(message).at(location));
                        }
                        self.out.skip(Warning::new(message).at(location));
                        continue;
                    }
                }
            }
            self.row(&layout, &record, location)?;
        }
        self.flush_shopify(&layout)?;
        self.offers
            .finish(self.out, |field| how_to_map(&layout, field));
        if self.short_rows + self.long_rows > 0 {
            self.out.warn(Warning::new(format!(
                "{} rows had fewer fields than the header's {width} (read as empty), {} had more \
                 (the extra fields were ignored); set `ragged = \"skip\"` or \"error\" to refuse them",
                self.short_rows, self.long_rows
            )));
        }
        Ok(())
    }

    /// Header names the config expects, to find a header below a preamble.
    pub(crate) fn header_markers(&self) -> Vec<String> {
        if let Some(name) = &self.settings.header_contains {
            return vec![name.clone()];
        }
        self.settings
            .specs
            .iter()
            .filter_map(|s| match s {
                Some(Spec::Name(n)) => Some(normalize_header(n)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn row(
        &mut self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        location: Location,
    ) -> Result<(), ModuleError> {
        if layout.preset == Preset::Shopify {
            return self.shopify_row(layout, record, location);
        }
        match self.product(layout, record) {
            Ok(product) => {
                self.offers.read(&product);
                if let Err(reason) = required(&product, layout) {
                    return self.offers.reject(self.out, &location, reason);
                }
                self.emit(product, &location);
                Ok(())
            }
            Err(reason) => self.offers.reject(self.out, &location, reason),
        }
    }

    pub(crate) fn emit(&mut self, product: Product, location: &Location) {
        self.offers.emit(self.out, product, location);
    }

    /// The fields a row gives, before the checks for required ones.
    pub(crate) fn product(
        &self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
    ) -> Result<Product, String> {
        let get = |field: Field| cell(record, layout.col(field));
        let owned = |field: Field| get(field).map(str::to_owned);
        let mut p = Product::new(
            get(Field::OfferId).unwrap_or_default(),
            get(Field::Name).unwrap_or_default(),
        );
        p.sku = owned(Field::Sku);
        p.vendor_code = owned(Field::VendorCode);
        p.description = owned(Field::Description);
        p.brand = owned(Field::Brand);
        p.category_id = owned(Field::CategoryId);
        p.url = owned(Field::Url);
        p.variant_group_id = owned(Field::VariantGroupId);
        if let Some(raw) = get(Field::Category) {
            p.category_path = self.category(layout, raw);
        }
        let mut currency = None;
        if let Some(raw) = get(Field::Price) {
            let prices =
                parse_prices(raw).map_err(|e| format!("{}: {e}", column(layout, Field::Price)))?;
            currency = prices.current.currency.clone();
            p.price = Some(prices.current.amount);
            p.old_price = prices.earlier.map(|m| m.amount);
        }
        if let Some(raw) = get(Field::OldPrice) {
            let prices = parse_prices(raw)
                .map_err(|e| format!("{}: {e}", column(layout, Field::OldPrice)))?;
            currency = currency.or(prices.current.currency);
            p.old_price = Some(prices.current.amount);
        }
        if let Some(raw) = get(Field::Currency) {
            currency = Some(feed_kit::price::currency_code(raw).ok_or_else(|| {
                format!(
                    "{}: {raw:?} is not a currency",
                    column(layout, Field::Currency)
                )
            })?);
        }
        p.currency = currency.or_else(|| self.settings.currency.clone());
        if let Some(raw) = get(Field::Quantity) {
            p.quantity = Some(
                parse_quantity(raw)
                    .map_err(|e| format!("{}: {e}", column(layout, Field::Quantity)))?,
            );
        }
        p.availability = get(Field::Availability)
            .and_then(feed_kit::parse_availability)
            .unwrap_or(match p.quantity {
                Some(q) if q > 0 => Availability::InStock,
                Some(_) => Availability::OutOfStock,
                None => Availability::Unknown,
            });
        if let Some(raw) = get(Field::ImageUrls) {
            p.image_urls = self.split_images(raw);
        }
        if let Some(raw) = get(Field::Barcode) {
            p.barcodes = vec![raw.to_owned()];
        }
        let pairs = if layout.preset == Preset::Shopify {
            &[][..]
        } else {
            &layout.attribute_pairs[..]
        };
        for (name_col, value_col) in pairs {
            let name = record.get(*name_col).map(clean).unwrap_or_default();
            let value = record.get(*value_col).map(clean).unwrap_or_default();
            if !name.is_empty() && !value.is_empty() {
                p.attributes.push(Attribute::new(name, value));
            }
        }
        for col in &layout.attributes {
            let Some(value) = record.get(*col).map(clean).filter(|v| !v.is_empty()) else {
                continue;
            };
            let name = &layout.names[*col];
            // Flattened WooCommerce dumps write a variation's attributes as "Size: 24m, Colour: red".
            if layout.preset == Preset::WooCommerce && name.eq_ignore_ascii_case("attributes") {
                for pair in value.split(", ") {
                    if let Some((n, v)) = pair.split_once(':')
                        && !n.trim().is_empty()
                        && !v.trim().is_empty()
                    {
                        p.attributes.push(Attribute::new(n.trim(), v.trim()));
                    }
                }
                continue;
            }
            p.attributes.push(Attribute::new(name.clone(), value));
        }
        if layout.preset == Preset::WooCommerce {
            self.woocommerce(layout, record, &mut p)?;
        }
        Ok(p)
    }

    pub(crate) fn woocommerce(
        &self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        p: &mut Product,
    ) -> Result<(), String> {
        let cell = |col: Option<usize>| cell(record, col);
        if let Some(sale) = cell(layout.woo_sale) {
            let prices = parse_prices(sale).map_err(|e| format!("sale price: {e}"))?;
            p.old_price = p.price.take();
            p.price = Some(prices.current.amount);
        }
        // `Parent` is `id:20` (by id) or a SKU; a variable product groups its own variations.
        if let Some(parent) = p.variant_group_id.take() {
            p.variant_group_id = Some(parent.strip_prefix("id:").unwrap_or(&parent).to_owned());
        } else if cell(layout.woo_type).is_some_and(|t| t.to_lowercase().contains("variable")) {
            p.variant_group_id = Some(p.offer_id.clone());
        }
        // "A > B, C > D": several categories; the first is the product's path.
        if let Some(first) = p.category_path.first().cloned()
            && p.category_path.len() == 1
            && first.contains(',')
        {
            let primary = first.split(',').next().unwrap_or_default();
            p.category_path = vec![primary.trim().to_owned()];
        } else if p.category_path.iter().any(|c| c.contains(',')) {
            let mut path = Vec::new();
            for part in &p.category_path {
                match part.split_once(',') {
                    Some((end, _)) => {
                        path.push(end.trim().to_owned());
                        break;
                    }
                    None => path.push(part.clone()),
                }
            }
            p.category_path = path;
        }
        Ok(())
    }

    pub(crate) fn category(&self, layout: &Layout, raw: &str) -> Vec<String> {
        match self.settings.category_separator(layout.preset) {
            Some(sep) => raw
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![raw.to_owned()],
        }
    }

    pub(crate) fn split_images(&self, raw: &str) -> Vec<String> {
        raw.split(self.settings.image_separator.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Shopify exports one row per variant and per extra image; only a product's first row
    /// carries the title, description, vendor and option names. Variants inherit them.
    pub(crate) fn shopify_row(
        &mut self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        location: Location,
    ) -> Result<(), ModuleError> {
        let cell = |col: Option<usize>| cell(record, col);
        let Some(handle) = cell(layout.col(Field::VariantGroupId)).map(str::to_owned) else {
            return self
                .offers
                .reject(self.out, &location, "the row has no Handle".to_owned());
        };
        if self.shopify.as_ref().is_none_or(|g| g.handle != handle) {
            self.flush_shopify(layout)?;
            let base = match self.product(layout, record) {
                Ok(p) => p,
                Err(reason) => return self.offers.reject(self.out, &location, reason),
            };
            let option_names = layout
                .attribute_pairs
                .iter()
                .map(|(n, _)| cell(Some(*n)).unwrap_or_default().to_owned())
                .collect();
            self.shopify = Some(Shopify {
                handle: handle.clone(),
                base,
                option_names,
                images: Vec::new(),
                variants: Vec::new(),
                first: location.clone(),
            });
        }
        let option_values: Vec<String> = layout
            .attribute_pairs
            .iter()
            .map(|(_, v)| cell(Some(*v)).unwrap_or_default().to_owned())
            .collect();
        let is_variant = cell(layout.col(Field::Sku)).is_some()
            || cell(layout.col(Field::Price)).is_some()
            || option_values.iter().any(|v| !v.is_empty());
        let variant = if is_variant {
            match self.product(layout, record) {
                Ok(v) => Some(v),
                Err(reason) => return self.offers.reject(self.out, &location, reason),
            }
        } else {
            None
        };
        let Some(group) = self.shopify.as_mut() else {
            return Ok(());
        };
        if let Some(src) = cell(layout.shopify_image)
            && !group.images.iter().any(|i| i == src)
        {
            group.images.push(src.to_owned());
        }
        if let Some(v) = variant {
            group.variants.push((v, option_values, location));
        }
        Ok(())
    }

    pub(crate) fn flush_shopify(&mut self, layout: &Layout) -> Result<(), ModuleError> {
        let Some(group) = self.shopify.take() else {
            return Ok(());
        };
        let Shopify {
            handle,
            base,
            option_names,
            images,
            mut variants,
            first,
        } = group;
        if variants.is_empty() {
            variants.push((base.clone(), Vec::new(), first));
        }
        let configured_id = layout.col(Field::OfferId).is_some();
        for (mut v, values, location) in variants {
            // Variant rows repeat no product attributes: only the option values are theirs.
            v.attributes.clear();
            let mut real_options = Vec::new();
            for (name, value) in option_names.iter().zip(&values) {
                if value.is_empty() {
                    continue;
                }
                if value != "Default Title" {
                    real_options.push(value.as_str());
                }
                let name = if name.is_empty() { "Option" } else { name };
                v.attributes.push(Attribute::new(name, value.clone()));
            }
            if !configured_id {
                v.offer_id = if real_options.is_empty() {
                    handle.clone()
                } else {
                    format!("{handle}/{}", real_options.join("/"))
                };
            }
            if v.name.is_empty() {
                v.name = base.name.clone();
            }
            v.description = v.description.or_else(|| base.description.clone());
            v.brand = v.brand.or_else(|| base.brand.clone());
            if v.category_path.is_empty() {
                v.category_path = base.category_path.clone();
            }
            for a in &base.attributes {
                if !v.attributes.iter().any(|x| x.name == a.name) {
                    v.attributes.push(a.clone());
                }
            }
            for image in &images {
                if !v.image_urls.contains(image) {
                    v.image_urls.push(image.clone());
                }
            }
            v.variant_group_id = Some(handle.clone());
            self.offers.read(&v);
            if let Err(reason) = required(&v, layout) {
                self.offers
                    .reject(self.out, &location, format!("handle {handle:?}: {reason}"))?;
                continue;
            }
            self.emit(v, &location);
        }
        Ok(())
    }
}

/// The value of column `col` in `record`, cleaned; `None` when the column is unmapped or empty.
fn cell(record: &csv_parse::StringRecord, col: Option<usize>) -> Option<&str> {
    col.and_then(|i| record.get(i))
        .map(clean)
        .filter(|v| !v.is_empty())
}

/// How to point the module at a field no record had, for the coverage warning.
fn how_to_map(layout: &Layout, field: Needed) -> String {
    let read_from = match field {
        Needed::OfferId => layout.col(Field::OfferId),
        Needed::Price => layout.col(Field::Price),
    };
    let now = match read_from {
        Some(col) => format!(
            "it is read from column {}, which is empty everywhere; ",
            layout.describe(col)
        ),
        None => String::new(),
    };
    format!(
        "{now}map.{} names the column (a header name or a position like #3), or preset=shopify, \
         woocommerce or awin reads a known export",
        field.key()
    )
}

pub(crate) fn required(product: &Product, layout: &Layout) -> Result<(), String> {
    if product.offer_id.is_empty() {
        return Err(format!(
            "no offer id ({} is empty)",
            column(layout, Field::OfferId)
        ));
    }
    if product.name.is_empty() {
        return Err(format!(
            "offer {:?} has no name ({} is empty)",
            product.offer_id,
            column(layout, Field::Name)
        ));
    }
    Ok(())
}

pub(crate) fn csv_error(e: &csv_parse::Error) -> ModuleError {
    let location = e.position().map(|p| Location {
        line: Some(u32::try_from(p.line()).unwrap_or(u32::MAX)),
        byte_offset: Some(p.byte()),
        ..Location::default()
    });
    let message = match e.kind() {
        csv_parse::ErrorKind::Io(io) => io.to_string(),
        csv_parse::ErrorKind::Utf8 { err, .. } => {
            format!("invalid UTF-8 in field {}", err.field() + 1)
        }
        _ => e.to_string(),
    };
    let error = ModuleError::invalid_input(message);
    match location {
        Some(l) => error.at(l),
        None => error,
    }
}
