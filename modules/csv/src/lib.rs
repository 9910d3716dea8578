//! Delimited price lists (CSV, semicolon, pipe, tab) whose columns the supplier config maps
//! onto product fields, with presets for Shopify, WooCommerce and Awin exports.
//!
//! Records stream through the `csv` crate: only the current row is held, except for the
//! `shopify` preset, which holds one product's rows (its variants and image rows) until the
//! handle changes, so the images listed after the variants reach every variant.

mod fields;
use feed_kit::amounts as money;
mod presets;

use std::io::{self, BufRead, BufReader, Read};

use contextworker_guest::{
    Attribute, Availability, Config, FeedReader, Location, ModuleError, Product, ProductSink,
    Transformer, Warning,
};
use feed_kit::{Duplicates, TextKind};

use fields::{FIELD_COUNT, FIELDS, Field, Spec};
pub use money::{parse_prices, parse_quantity};
use presets::Preset;

pub struct Csv;

contextworker_guest::export_transformer!(Csv);

/// Rows searched for the header when the mapping names columns but the first row lacks them.
const HEADER_SEARCH_ROWS: usize = 100;

impl Transformer for Csv {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        // `feed_kit::decode` wants an owned reader; the SDK's reader is only lent to us.
        let mut feed = input.take();
        let magic = read_prefix(&mut feed, 64)?;
        refuse_binary(&magic)?;
        let decoded = feed_kit::decode(
            io::Cursor::new(magic).chain(feed),
            TextKind::Text,
            config.get("encoding"),
        )?;
        for warning in decoded.warnings {
            out.warn(warning);
        }
        let mut text = BufReader::with_capacity(64 * 1024, decoded.reader);
        let sample = text
            .fill_buf()
            .map_err(|e| ModuleError::invalid_input(e.to_string()))?;
        refuse_other_formats(sample)?;
        let delimiter = match settings.delimiter {
            Some(d) => d,
            None => detect_delimiter(sample, settings.skip_rows),
        };
        let mut builder = csv_parse::ReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .quoting(settings.quote.is_some())
            .quote(settings.quote.unwrap_or(b'"'))
            .escape(settings.escape);
        let tail = Tail {
            inner: text,
            last: None,
            quotes: 0,
            quote: settings.quote.unwrap_or(0),
            eof: false,
        };
        let reader = builder.from_reader(tail);
        Parser::new(settings, out).run(reader)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ragged {
    Pad,
    Skip,
    Error,
}

struct Settings {
    delimiter: Option<u8>,
    quote: Option<u8>,
    escape: Option<u8>,
    header: bool,
    skip_rows: usize,
    header_contains: Option<String>,
    specs: [Option<Spec>; FIELD_COUNT],
    preset: Preset,
    attributes: bool,
    lenient: bool,
    currency: Option<String>,
    category_separator: Option<String>,
    image_separator: String,
    ragged: Ragged,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, ModuleError> {
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

trait TrimNotTab {
    fn trim_matches_not_tab(&self) -> &str;
}

impl TrimNotTab for str {
    /// A tab delimiter must survive trimming the value.
    fn trim_matches_not_tab(&self) -> &str {
        self.trim_matches(' ')
    }
}

fn one_byte(key: &str, raw: &str) -> Result<u8, ModuleError> {
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

fn read_prefix(feed: &mut impl Read, n: usize) -> Result<Vec<u8>, ModuleError> {
    let mut prefix = Vec::with_capacity(n);
    feed.take(n as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| ModuleError::invalid_input(format!("cannot read the feed: {e}")))?;
    Ok(prefix)
}

/// Spreadsheets and archives arrive as "price.csv" more often than one would hope; name them
/// instead of reporting invalid UTF-8 at byte 2.
fn refuse_binary(magic: &[u8]) -> Result<(), ModuleError> {
    let what = if magic.starts_with(b"PK\x03\x04") {
        "a ZIP archive (an .xlsx/.ods workbook?)"
    } else if magic.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]) {
        "an OLE2 file (an .xls workbook?)"
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        "gzip-compressed data"
    } else if magic.starts_with(b"%PDF") {
        "a PDF document"
    } else if feed_kit::encoding::looks_like_xml(magic) {
        // Checked before decoding: a windows-1251 XML feed would otherwise be reported as
        // invalid UTF-8 instead of as the wrong format.
        return Err(ModuleError::unsupported(
            "the feed is XML, not delimited text; use the yml, google-merchant or hotline \
             module, or export the spreadsheet as CSV",
        ));
    } else {
        return Ok(());
    };
    Err(ModuleError::unsupported(format!(
        "the feed is {what}, not delimited text; export it as CSV first"
    )))
}

fn refuse_other_formats(sample: &[u8]) -> Result<(), ModuleError> {
    let text = String::from_utf8_lossy(&sample[..sample.len().min(512)]);
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let shown: String = start.chars().take(40).collect();
    let after = |prefix: char| start[prefix.len_utf8()..].trim_start().chars().next();
    if start.starts_with("<?xml")
        || (start.starts_with('<') && after('<').is_some_and(|c| c.is_alphabetic() || c == '!'))
    {
        return Err(ModuleError::unsupported(format!(
            "the feed is XML, not delimited text (it starts with {shown:?}); use the yml, \
             google-merchant or hotline module, or export the spreadsheet as CSV"
        )));
    }
    if start.starts_with('{') && after('{').is_some_and(|c| c == '"' || c == '}')
        || start.starts_with('[') && after('[').is_some_and(|c| matches!(c, '{' | '[' | ']'))
    {
        return Err(ModuleError::unsupported(format!(
            "the feed is JSON, not delimited text (it starts with {shown:?}); use the json module"
        )));
    }
    if sample.contains(&0) {
        return Err(ModuleError::unsupported(
            "the feed contains NUL bytes: binary data or UTF-16 text, not delimited text \
             (set `encoding = \"utf-16le\"` if it is UTF-16)",
        ));
    }
    Ok(())
}

/// The candidate that occurs most often outside quotes in the first lines after `skip_rows`
/// (up to 10 non-blank ones, so a title row above the header cannot decide alone); ties go to
/// the earlier of `,` `;` `\t` `|`.
fn detect_delimiter(sample: &[u8], skip_rows: usize) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let lines = sample
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .skip(skip_rows)
        .take(10);
    for line in lines {
        let mut quoted = false;
        for b in line {
            if *b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = CANDIDATES.iter().position(|c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// Header cells with the whitespace and stray BOMs exporters leave in them (a BOM after leaked
/// PHP whitespace makes the first cell `\n\t\u{feff}ID`).
fn normalize_header(raw: &str) -> String {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_owned()
}

/// Remembers what the csv reader could not tell us: the file's last byte, whether it ended,
/// and the quote count, to tell a truncated file from a complete one.
struct Tail<R> {
    inner: R,
    last: Option<u8>,
    quotes: u64,
    quote: u8,
    eof: bool,
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = true;
        } else {
            self.last = Some(buf[n - 1]);
            if self.quote != 0 {
                self.quotes += buf[..n].iter().filter(|b| **b == self.quote).count() as u64;
            }
        }
        Ok(n)
    }
}

/// The header, and which column feeds which field.
struct Layout {
    names: Vec<String>,
    cols: [Option<usize>; FIELD_COUNT],
    attributes: Vec<usize>,
    /// Pairs of (name column, value column): WooCommerce attribute blocks, Shopify options.
    attribute_pairs: Vec<(usize, usize)>,
    woo_sale: Option<usize>,
    woo_type: Option<usize>,
    shopify_image: Option<usize>,
    has_header: bool,
}

impl Layout {
    fn col(&self, field: Field) -> Option<usize> {
        self.cols[field as usize]
    }

    fn describe(&self, col: usize) -> String {
        match self.names.get(col) {
            Some(name) if self.has_header && !name.is_empty() => format!("`{name}`"),
            _ => format!("#{}", col + 1),
        }
    }

    fn header_list(&self) -> String {
        let shown: Vec<String> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("#{} {n:?}", i + 1))
            .collect();
        shown.join(", ")
    }
}

fn find_column(names: &[String], wanted: &str) -> Option<usize> {
    let wanted = normalize_header(wanted);
    names.iter().position(|n| *n == wanted).or_else(|| {
        let lower = wanted.to_lowercase();
        names.iter().position(|n| n.to_lowercase() == lower)
    })
}

fn resolve(
    names: Vec<String>,
    has_header: bool,
    settings: &Settings,
) -> Result<Layout, ModuleError> {
    let width = names.len();
    let mut layout = Layout {
        names,
        cols: [None; FIELD_COUNT],
        attributes: Vec::new(),
        attribute_pairs: Vec::new(),
        woo_sale: None,
        woo_type: None,
        shopify_image: None,
        has_header,
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
            None if has_header => settings
                .preset
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
        && settings.preset != Preset::Shopify
    {
        layout.cols[Field::OfferId as usize] = layout.col(Field::Sku);
    }
    if settings.preset == Preset::Shopify {
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
    if settings.preset == Preset::WooCommerce {
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
            .filter(|i| keep_as_attribute(settings.preset, &layout.names[*i], has_header))
            .collect();
    }
    Ok(layout)
}

/// Presets keep the columns that describe the product and drop the exporter's bookkeeping
/// (publish flags, tax classes, plugin `Meta:` fields, SEO texts).
fn keep_as_attribute(preset: Preset, name: &str, has_header: bool) -> bool {
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
fn clean(raw: &str) -> &str {
    let value = raw.trim();
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['-', '=', '+', '@']) => rest,
        _ => value,
    }
}

struct Shopify {
    handle: String,
    base: Product,
    option_names: Vec<String>,
    images: Vec<String>,
    variants: Vec<(Product, Vec<String>, Location)>,
    first: Location,
}

struct Parser<'a> {
    settings: Settings,
    out: &'a mut ProductSink,
    duplicates: Duplicates,
    short_rows: u64,
    long_rows: u64,
    shopify: Option<Shopify>,
}

impl<'a> Parser<'a> {
    fn new(settings: Settings, out: &'a mut ProductSink) -> Self {
        Self {
            settings,
            out,
            duplicates: Duplicates::default(),
            short_rows: 0,
            long_rows: 0,
            shopify: None,
        }
    }

    fn run<R: Read>(mut self, mut reader: csv_parse::Reader<Tail<R>>) -> Result<(), ModuleError> {
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
                self.reject(
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
    fn header_markers(&self) -> Vec<String> {
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

    fn reject(&mut self, location: &Location, reason: String) -> Result<(), ModuleError> {
        if self.settings.lenient {
            self.out
                .skip(Warning::new(format!("record skipped: {reason}")).at(location.clone()));
            Ok(())
        } else {
            Err(ModuleError::invalid_input(reason).at(location.clone()))
        }
    }

    fn row(
        &mut self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        location: Location,
    ) -> Result<(), ModuleError> {
        if self.settings.preset == Preset::Shopify {
            return self.shopify_row(layout, record, location);
        }
        match self.product(layout, record) {
            Ok(product) => {
                if let Err(reason) = required(&product, layout) {
                    return self.reject(&location, reason);
                }
                self.emit(product, &location);
                Ok(())
            }
            Err(reason) => self.reject(&location, reason),
        }
    }

    fn emit(&mut self, product: Product, location: &Location) {
        if let Some(warning) = self.duplicates.check(&product.offer_id, location) {
            self.out.warn(warning);
        }
        self.out.emit(product);
    }

    /// The fields a row gives, before the checks for required ones.
    fn product(
        &self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
    ) -> Result<Product, String> {
        let get = |field: Field| -> Option<&str> {
            layout
                .col(field)
                .and_then(|i| record.get(i))
                .map(clean)
                .filter(|v| !v.is_empty())
        };
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
            p.category_path = self.category(raw);
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
        let pairs = if self.settings.preset == Preset::Shopify {
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
            if self.settings.preset == Preset::WooCommerce
                && name.eq_ignore_ascii_case("attributes")
            {
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
        if self.settings.preset == Preset::WooCommerce {
            self.woocommerce(layout, record, &mut p)?;
        }
        Ok(p)
    }

    fn woocommerce(
        &self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        p: &mut Product,
    ) -> Result<(), String> {
        let cell = |col: Option<usize>| {
            col.and_then(|i| record.get(i))
                .map(clean)
                .filter(|v| !v.is_empty())
        };
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

    fn category(&self, raw: &str) -> Vec<String> {
        match &self.settings.category_separator {
            Some(sep) => raw
                .split(sep.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![raw.to_owned()],
        }
    }

    fn split_images(&self, raw: &str) -> Vec<String> {
        raw.split(self.settings.image_separator.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Shopify exports one row per variant and per extra image; only a product's first row
    /// carries the title, description, vendor and option names. Variants inherit them.
    fn shopify_row(
        &mut self,
        layout: &Layout,
        record: &csv_parse::StringRecord,
        location: Location,
    ) -> Result<(), ModuleError> {
        let cell = |col: Option<usize>| {
            col.and_then(|i| record.get(i))
                .map(clean)
                .filter(|v| !v.is_empty())
        };
        let Some(handle) = cell(layout.col(Field::VariantGroupId)).map(str::to_owned) else {
            return self.reject(&location, "the row has no Handle".to_owned());
        };
        if self.shopify.as_ref().is_none_or(|g| g.handle != handle) {
            self.flush_shopify(layout)?;
            let base = match self.product(layout, record) {
                Ok(p) => p,
                Err(reason) => return self.reject(&location, reason),
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
                Err(reason) => return self.reject(&location, reason),
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

    fn flush_shopify(&mut self, layout: &Layout) -> Result<(), ModuleError> {
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
            if let Err(reason) = required(&v, layout) {
                self.reject(&location, format!("handle {handle:?}: {reason}"))?;
                continue;
            }
            self.emit(v, &location);
        }
        Ok(())
    }
}

fn contains_all(names: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| find_column(names, w).is_some())
}

fn column(layout: &Layout, field: Field) -> String {
    match layout.col(field) {
        Some(col) => format!("column {}", layout.describe(col)),
        None => field.key().to_owned(),
    }
}

fn required(product: &Product, layout: &Layout) -> Result<(), String> {
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

fn csv_error(e: &csv_parse::Error) -> ModuleError {
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

#[cfg(test)]
mod tests;
