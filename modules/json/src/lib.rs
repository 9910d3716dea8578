//! Product arrays in JSON, reached by a path and mapped onto product fields by the supplier
//! config, with presets for Shopify `products.json` and WooCommerce REST dumps.
//!
//! Memory: the document is read once as a stream. Everything outside the product array is
//! skipped token by token; each array element is parsed into a value tree, turned into
//! products and dropped before the next one is read. So memory is bounded by the largest
//! single product plus the 64 KiB read buffers, not by the feed size.

mod scan;

use feed_kit::amounts as money;

use contextworker_guest::{
    Attribute, Availability, Config, FeedReader, Location, ModuleError, Product, ProductSink,
    Transformer, Warning,
};
use feed_kit::{Duplicates, TextKind};

use money::{parse_prices, parse_quantity};
use scan::{Scanner, Value};

pub struct Json;

contextworker_guest::export_transformer!(Json);

/// Keys an unconfigured `items_path` looks for in a root object, in order.
const ITEMS_KEYS: &[&str] = &["products", "items", "offers", "data", "results", "records"];

const FIELDS: &[&str] = &[
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
fn generic_candidates(field: &str) -> &'static [&'static str] {
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
enum Preset {
    Generic,
    Shopify,
    WooCommerce,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Each(String),
    Index(String, usize),
    /// The member name when products are the values of an object.
    ObjectKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

impl FieldPath {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "$key" {
            return Ok(Self {
                text: text.to_owned(),
                steps: vec![Step::ObjectKey],
            });
        }
        let mut steps = Vec::new();
        for part in text.split('.') {
            let step = if let Some(key) = part.strip_suffix("[]") {
                Step::Each(key.to_owned())
            } else if let Some(open) = part.rfind('[')
                && let Some(n) = part[open + 1..].strip_suffix(']')
            {
                let n = n
                    .parse()
                    .map_err(|_| format!("path {text:?}: {part:?} is not `key[]` or `key[N]`"))?;
                Step::Index(part[..open].to_owned(), n)
            } else {
                Step::Key(part.to_owned())
            };
            if matches!(&step, Step::Key(k) if k.is_empty()) {
                return Err(format!("path {text:?} has an empty step"));
            }
            steps.push(step);
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// Every value the path reaches; a final array contributes its elements.
    fn values<'a>(&self, record: &Record<'a>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        collect(record.value, &self.steps, &mut out);
        out
    }

    fn texts(&self, record: &Record<'_>) -> Vec<String> {
        if self.steps == [Step::ObjectKey] {
            return record.key.map(str::to_owned).into_iter().collect();
        }
        self.values(record)
            .into_iter()
            .filter_map(Value::text)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn first_key(&self) -> Option<&str> {
        match self.steps.first()? {
            Step::Key(k) | Step::Each(k) | Step::Index(k, _) => Some(k),
            Step::ObjectKey => None,
        }
    }
}

fn collect<'a>(value: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        match value {
            Value::Array(items) => out.extend(items.iter().filter(|v| !matches!(v, Value::Null))),
            Value::Null => {}
            other => out.push(other),
        }
        return;
    };
    let child = |key: &str| {
        if key.is_empty() {
            Some(value)
        } else {
            value.get(key)
        }
    };
    match step {
        Step::Key(k) => {
            if let Some(v) = child(k) {
                collect(v, rest, out);
            }
        }
        Step::Each(k) => match child(k) {
            Some(Value::Array(items)) => items.iter().for_each(|v| collect(v, rest, out)),
            Some(v) => collect(v, rest, out),
            None => {}
        },
        Step::Index(k, n) => {
            if let Some(Value::Array(items)) = child(k)
                && let Some(v) = items.get(*n)
            {
                collect(v, rest, out);
            }
        }
        Step::ObjectKey => {}
    }
}

/// One element of the product array (with its member name when products are object values).
struct Record<'a> {
    value: &'a Value,
    key: Option<&'a str>,
}

struct Settings {
    items_path: Option<Vec<String>>,
    preset: Preset,
    map: Vec<(&'static str, FieldPath)>,
    lenient: bool,
    currency: Option<String>,
    attributes: bool,
    category_separator: Option<String>,
    image_separator: Option<String>,
    expand_variations: bool,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, ModuleError> {
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

    fn configured(&self, field: &str) -> Option<&FieldPath> {
        self.map.iter().find(|(f, _)| *f == field).map(|(_, p)| p)
    }
}

impl Transformer for Json {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        // `feed_kit::decode` wants an owned reader; the SDK's reader is only lent to us.
        let mut feed = input.take();
        let mut prefix = Vec::with_capacity(64);
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut feed, 64), &mut prefix)
            .map_err(|e| ModuleError::invalid_input(format!("cannot read the feed: {e}")))?;
        // Checked before decoding: a windows-1251 XML feed would otherwise be reported as
        // invalid UTF-8 instead of as the wrong format.
        if feed_kit::encoding::looks_like_xml(&prefix) {
            return Err(ModuleError::unsupported(
                "the feed is XML, not JSON; use the yml, google-merchant or hotline module",
            ));
        }
        let feed = std::io::Read::chain(std::io::Cursor::new(prefix), feed);
        let decoded = feed_kit::decode(feed, TextKind::Text, config.get("encoding"))?;
        for warning in decoded.warnings {
            out.warn(warning);
        }
        let mut scanner = Scanner::new(decoded.reader);
        let mut walker = Walker {
            settings,
            out,
            duplicates: Duplicates::default(),
        };
        walker.document(&mut scanner)
    }
}

struct Walker<'a> {
    settings: Settings,
    out: &'a mut ProductSink,
    duplicates: Duplicates,
}

impl Walker<'_> {
    fn document<R: std::io::Read>(&mut self, s: &mut Scanner<R>) -> Result<(), ModuleError> {
        match s.peek_token()? {
            None => return Err(s.error("the feed is empty: expected a JSON array or object")),
            Some(b'{' | b'[') => {}
            Some(b'<') => {
                return Err(ModuleError::unsupported(
                    "the feed is XML, not JSON; use the yml, google-merchant or hotline module",
                ));
            }
            Some(_) => {
                return Err(ModuleError::unsupported(format!(
                    "the feed is not JSON (it does not start with `{{` or `[` at {}); delimited \
                     text belongs to the csv module",
                    s.location()
                )));
            }
        }
        let mut open_objects = 0;
        let mut at = String::new();
        match self.settings.items_path.clone() {
            Some(steps) => {
                for step in &steps {
                    if s.peek_token()? != Some(b'{') {
                        return Err(s.error(format!(
                            "items_path {:?}: expected an object at {} to find `{step}` in",
                            steps.join("."),
                            shown_path(&at)
                        )));
                    }
                    if let Err(seen) = self.find_key(s, |key, _| key == step)? {
                        return Err(s.error(format!(
                            "items_path {:?}: the object at {} has no key `{step}`; its keys are {}",
                            steps.join("."),
                            shown_path(&at),
                            keys(&seen)
                        )));
                    }
                    open_objects += 1;
                    at = if at.is_empty() {
                        step.clone()
                    } else {
                        format!("{at}.{step}")
                    };
                }
            }
            None => {
                if s.peek_token()? == Some(b'{') {
                    let key = match self.find_key(s, |key, next| {
                        next == Some(b'[') && ITEMS_KEYS.contains(&key)
                    })? {
                        Ok(key) => key,
                        Err(seen) => {
                            return Err(s.error(format!(
                                "no product array in the root object (looked for an array under {}); \
                                 its keys are {}; set the config key `items_path`",
                                ITEMS_KEYS.join(", "),
                                keys(&seen)
                            )));
                        }
                    };
                    open_objects += 1;
                    at = key;
                }
            }
        }
        self.items(s, &at)?;
        for _ in 0..open_objects {
            while s.more(b'}', "an object member")? {
                s.key()?;
                s.skip(1)?;
            }
        }
        if let Some(b) = s.peek_token()? {
            return Err(s.error(format!(
                "data after the end of the JSON document (byte {:?})",
                b as char
            )));
        }
        Ok(())
    }

    /// Step into the object at the scanner and stop after the first key `wanted` accepts
    /// (its value is next). `Err` carries the keys seen, for the error message.
    fn find_key<R: std::io::Read>(
        &mut self,
        s: &mut Scanner<R>,
        wanted: impl Fn(&str, Option<u8>) -> bool,
    ) -> Result<Result<String, Vec<String>>, ModuleError> {
        s.expect(b'{', "to open an object")?;
        let mut seen = Vec::new();
        if s.first_member()? {
            loop {
                let key = s.key()?;
                let next = s.peek_token()?;
                if wanted(&key, next) {
                    return Ok(Ok(key));
                }
                if seen.len() < 20 {
                    seen.push(key);
                }
                s.skip(1)?;
                if !s.more(b'}', "an object member")? {
                    break;
                }
            }
        }
        Ok(Err(seen))
    }

    fn items<R: std::io::Read>(&mut self, s: &mut Scanner<R>, at: &str) -> Result<(), ModuleError> {
        let depth = 2;
        match s.peek_token()? {
            Some(b'[') => {
                s.expect(b'[', "")?;
                if !s.first_element()? {
                    return Ok(());
                }
                let mut index = 0usize;
                loop {
                    s.peek_token()?;
                    let location = s.location();
                    let value = s.value(depth)?;
                    let record = Record {
                        value: &value,
                        key: None,
                    };
                    let path = format!("{}[{index}]", shown_items(at));
                    self.record(&record, index, location, path)?;
                    index += 1;
                    if !s.more(b']', "a product")? {
                        return Ok(());
                    }
                }
            }
            Some(b'{') => {
                s.expect(b'{', "")?;
                if !s.first_member()? {
                    return Ok(());
                }
                let mut index = 0usize;
                loop {
                    let key = s.key()?;
                    s.peek_token()?;
                    let location = s.location();
                    let value = s.value(depth)?;
                    let record = Record {
                        value: &value,
                        key: Some(&key),
                    };
                    let path = if at.is_empty() {
                        key.clone()
                    } else {
                        format!("{at}.{key}")
                    };
                    self.record(&record, index, location, path)?;
                    index += 1;
                    if !s.more(b'}', "a product")? {
                        return Ok(());
                    }
                }
            }
            found => Err(s.unexpected(
                found,
                &format!("an array of products at {}", shown_path(at)),
            )),
        }
    }

    fn record(
        &mut self,
        record: &Record<'_>,
        index: usize,
        mut location: Location,
        path: String,
    ) -> Result<(), ModuleError> {
        location.record_index = Some(u32::try_from(index).unwrap_or(u32::MAX));
        location.path = Some(path);
        if !matches!(record.value, Value::Object(_)) {
            return self.reject(
                &location,
                format!("the product is {}, expected an object", record.value.kind()),
            );
        }
        let products = match self.settings.preset {
            Preset::Generic => self.generic(record).map(|p| vec![p]),
            Preset::Shopify => self.shopify(record),
            Preset::WooCommerce => self.woocommerce(record),
        };
        let products = match products {
            Ok(products) => products,
            Err(reason) => return self.reject(&location, reason),
        };
        for mut product in products {
            if self.settings.preset != Preset::Generic
                && let Err(reason) = self.overrides(record, &mut product)
            {
                return self.reject(&location, reason);
            }
            if let Err(reason) = self.finish(&mut product) {
                self.reject(&location, reason)?;
                continue;
            }
            if let Some(warning) = self.duplicates.check(&product.offer_id, &location) {
                self.out.warn(warning);
            }
            self.out.emit(product);
        }
        Ok(())
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

    /// The path the config names for `field`, else the first default that finds something.
    fn texts(&self, record: &Record<'_>, field: &str) -> (Vec<String>, String) {
        if let Some(path) = self.settings.configured(field) {
            return (path.texts(record), path.text.clone());
        }
        let candidates = generic_candidates(field);
        for c in candidates {
            if let Ok(path) = FieldPath::parse(c) {
                let found = path.texts(record);
                if !found.is_empty() {
                    return (found, path.text);
                }
            }
        }
        (
            Vec::new(),
            candidates.first().copied().unwrap_or(field).to_owned(),
        )
    }

    fn generic(&self, record: &Record<'_>) -> Result<Product, String> {
        let mut p = Product::default();
        let mut used: Vec<String> = Vec::new();
        for field in FIELDS {
            let (values, path) = self.texts(record, field);
            if !values.is_empty()
                && let Ok(parsed) = FieldPath::parse(&path)
                && let Some(k) = parsed.first_key()
            {
                used.push(k.to_owned());
            }
            self.set(&mut p, field, values, &path)?;
        }
        if self.settings.attributes
            && let Value::Object(members) = record.value
        {
            for (key, value) in members {
                if used.iter().any(|u| u == key) {
                    continue;
                }
                let text = match value {
                    Value::Array(items) => {
                        let parts: Vec<&str> = items.iter().filter_map(Value::text).collect();
                        if parts.len() != items.len() {
                            continue;
                        }
                        parts.join(", ")
                    }
                    other => match other.text() {
                        Some(t) => t.to_owned(),
                        None => continue,
                    },
                };
                if !text.trim().is_empty() {
                    p.attributes.push(Attribute::new(key.clone(), text.trim()));
                }
            }
        }
        Ok(p)
    }

    /// Apply the `map.*` keys on top of what a preset produced.
    fn overrides(&self, record: &Record<'_>, p: &mut Product) -> Result<(), String> {
        for (field, path) in &self.settings.map {
            self.set(p, field, path.texts(record), &path.text)?;
        }
        Ok(())
    }

    fn set(
        &self,
        p: &mut Product,
        field: &str,
        values: Vec<String>,
        path: &str,
    ) -> Result<(), String> {
        let Some(first) = values.first().cloned() else {
            return Ok(());
        };
        match field {
            "offer_id" => p.offer_id = first,
            "name" => p.name = first,
            "sku" => p.sku = Some(first),
            "vendor_code" => p.vendor_code = Some(first),
            "description" => p.description = Some(first),
            "brand" => p.brand = Some(first),
            "category_id" => p.category_id = Some(first),
            "url" => p.url = Some(first),
            "variant_group_id" => p.variant_group_id = Some(first),
            "category" => {
                p.category_path = match &self.settings.category_separator {
                    Some(sep) if values.len() == 1 => split(&first, sep),
                    _ => values,
                }
            }
            "price" => {
                let prices = parse_prices(&first).map_err(|e| format!("`{path}`: {e}"))?;
                p.price = Some(prices.current.amount);
                if let Some(earlier) = prices.earlier {
                    p.old_price = Some(earlier.amount);
                }
                if p.currency.is_none() {
                    p.currency = prices.current.currency;
                }
            }
            "old_price" => {
                let prices = parse_prices(&first).map_err(|e| format!("`{path}`: {e}"))?;
                p.old_price = Some(prices.current.amount);
            }
            "currency" => {
                p.currency = Some(
                    feed_kit::price::currency_code(&first)
                        .ok_or_else(|| format!("`{path}`: {first:?} is not a currency"))?,
                );
            }
            "quantity" => {
                p.quantity = Some(parse_quantity(&first).map_err(|e| format!("`{path}`: {e}"))?);
            }
            "availability" => {
                p.availability = feed_kit::parse_availability(&first).unwrap_or(p.availability);
            }
            "image_urls" => {
                p.image_urls = match &self.settings.image_separator {
                    Some(sep) => values.iter().flat_map(|v| split(v, sep)).collect(),
                    None => values,
                };
            }
            "barcode" => p.barcodes = values,
            _ => {}
        }
        Ok(())
    }

    /// Checks and defaults every product gets, whatever built it.
    fn finish(&self, p: &mut Product) -> Result<(), String> {
        if p.offer_id.is_empty() {
            let path = self.path_for("offer_id");
            return Err(format!("no offer id (`{path}` is missing or empty)"));
        }
        if p.name.is_empty() {
            let path = self.path_for("name");
            return Err(format!(
                "offer {:?} has no name (`{path}` is missing or empty)",
                p.offer_id
            ));
        }
        if p.currency.is_none() {
            p.currency.clone_from(&self.settings.currency);
        }
        if p.availability == Availability::Unknown
            && let Some(q) = p.quantity
        {
            p.availability = if q > 0 {
                Availability::InStock
            } else {
                Availability::OutOfStock
            };
        }
        let mut seen = std::collections::HashSet::new();
        p.image_urls.retain(|u| seen.insert(u.clone()));
        Ok(())
    }

    fn path_for(&self, field: &str) -> String {
        match (self.settings.configured(field), self.settings.preset, field) {
            (Some(p), _, _) => p.text.clone(),
            (None, Preset::Shopify, "name") => "title".to_owned(),
            (None, Preset::Generic, _) => generic_candidates(field).join("` or `"),
            (None, _, "offer_id") => "id".to_owned(),
            (None, _, _) => field.to_owned(),
        }
    }

    /// Shopify `products.json`: one product per variant, grouped by the product id.
    fn shopify(&self, record: &Record<'_>) -> Result<Vec<Product>, String> {
        let v = record.value;
        let text = |value: &Value, key: &str| {
            value
                .get(key)
                .and_then(Value::text)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let product_id = text(v, "id").unwrap_or_default();
        let mut base = Product::new(product_id.clone(), text(v, "title").unwrap_or_default());
        base.description = text(v, "body_html");
        base.brand = text(v, "vendor");
        base.category_path = text(v, "product_type").into_iter().collect();
        if let Some(handle) = text(v, "handle") {
            base.attributes.push(Attribute::new("handle", handle));
        }
        match v.get("tags") {
            Some(Value::Array(tags)) => {
                let tags: Vec<&str> = tags.iter().filter_map(Value::text).collect();
                if !tags.is_empty() {
                    base.attributes
                        .push(Attribute::new("tags", tags.join(", ")));
                }
            }
            Some(tags) => {
                if let Some(t) = tags.text().filter(|t| !t.is_empty()) {
                    base.attributes.push(Attribute::new("tags", t));
                }
            }
            None => {}
        }
        let images: Vec<(Option<String>, String)> = match v.get("images") {
            Some(Value::Array(images)) => images
                .iter()
                .filter_map(|i| Some((text(i, "id"), text(i, "src")?)))
                .collect(),
            _ => Vec::new(),
        };
        base.image_urls = images.iter().map(|(_, src)| src.clone()).collect();
        let option_names: Vec<String> = match v.get("options") {
            Some(Value::Array(options)) => options
                .iter()
                .map(|o| text(o, "name").unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        };
        let variants = match v.get("variants") {
            Some(Value::Array(variants)) if !variants.is_empty() => variants,
            _ => return Ok(vec![base]),
        };
        let mut products = Vec::with_capacity(variants.len());
        for (i, variant) in variants.iter().enumerate() {
            let mut p = base.clone();
            p.offer_id = text(variant, "id")
                .or_else(|| text(variant, "sku"))
                .unwrap_or_else(|| format!("{product_id}/{}", i + 1));
            p.sku = text(variant, "sku");
            p.barcodes = text(variant, "barcode").into_iter().collect();
            p.variant_group_id = Some(product_id.clone());
            if let Some(price) = text(variant, "price") {
                let prices =
                    parse_prices(&price).map_err(|e| format!("variants[{i}].price: {e}"))?;
                p.price = Some(prices.current.amount);
                p.currency = prices.current.currency;
            }
            if let Some(old) = text(variant, "compare_at_price") {
                let prices = parse_prices(&old)
                    .map_err(|e| format!("variants[{i}].compare_at_price: {e}"))?;
                p.old_price = Some(prices.current.amount);
            }
            if let Some(q) = text(variant, "inventory_quantity") {
                p.quantity = Some(parse_quantity(&q).map_err(|e| format!("variants[{i}]: {e}"))?);
            }
            if let Some(available) = variant.get("available").and_then(Value::text) {
                p.availability = feed_kit::parse_availability(available).unwrap_or_default();
            }
            let own_image = variant
                .get("featured_image")
                .and_then(|f| text(f, "src"))
                .or_else(|| {
                    let id = text(variant, "image_id")?;
                    images
                        .iter()
                        .find(|(i, _)| i.as_deref() == Some(&id))
                        .map(|(_, s)| s.clone())
                });
            if let Some(image) = own_image {
                p.image_urls.insert(0, image);
            }
            for (n, name) in option_names.iter().enumerate() {
                if let Some(value) = text(variant, &format!("option{}", n + 1))
                    && value != "Default Title"
                {
                    let name = if name.is_empty() {
                        format!("option{}", n + 1)
                    } else {
                        name.clone()
                    };
                    p.attributes.push(Attribute::new(name, value));
                }
            }
            products.push(p);
        }
        Ok(products)
    }

    /// A WooCommerce REST product (or the flattened dumps shops make of it).
    fn woocommerce(&self, record: &Record<'_>) -> Result<Vec<Product>, String> {
        let v = record.value;
        let mut base = woo_product(v, None)?;
        if woo_text(v, "type").is_some_and(|t| t == "variable") {
            base.variant_group_id = Some(base.offer_id.clone());
        } else if let Some(parent) = woo_text(v, "parent_id").filter(|p| p != "0") {
            base.variant_group_id = Some(parent);
        }
        let variations: Vec<&Value> = match v.get("variations") {
            Some(Value::Array(items)) => items
                .iter()
                .filter(|i| matches!(i, Value::Object(_)))
                .collect(),
            _ => Vec::new(),
        };
        if !self.settings.expand_variations || variations.is_empty() {
            return Ok(vec![base]);
        }
        variations
            .into_iter()
            .map(|variation| woo_product(variation, Some(&base)))
            .collect()
    }
}

fn woo_text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::text)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Names of `[{"name": …}]`, or a `"; "`-joined string of them (flattened dumps).
fn woo_names(v: Option<&Value>, key: &str) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get(key).and_then(Value::text).or_else(|| i.text()))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(other) => other.text().map(|t| split(t, ";")).unwrap_or_default(),
        None => Vec::new(),
    }
}

/// A product, or a variation inheriting what it leaves empty from `parent`.
fn woo_product(v: &Value, parent: Option<&Product>) -> Result<Product, String> {
    let mut p = parent.cloned().unwrap_or_default();
    p.attributes.clear();
    if let Some(id) = woo_text(v, "id") {
        p.offer_id = id;
    }
    if let Some(name) = woo_text(v, "name") {
        p.name = name;
    }
    p.sku = woo_text(v, "sku").or(p.sku);
    if parent.is_none() {
        p.description = woo_text(v, "description").or_else(|| woo_text(v, "short_description"));
        p.url = woo_text(v, "permalink");
        let categories = woo_names(v.get("categories"), "name");
        p.category_path = categories.first().cloned().into_iter().collect();
        if categories.len() > 1 {
            p.attributes
                .push(Attribute::new("categories", categories.join("; ")));
        }
        let tags = woo_names(v.get("tags"), "name");
        if !tags.is_empty() {
            p.attributes.push(Attribute::new("tags", tags.join(", ")));
        }
        p.brand = woo_names(v.get("brands"), "name").into_iter().next();
    } else {
        p.variant_group_id = parent.map(|b| b.offer_id.clone());
    }
    let sale = woo_text(v, "sale_price");
    let regular = woo_text(v, "regular_price");
    let current = sale
        .clone()
        .or_else(|| woo_text(v, "price"))
        .or_else(|| regular.clone());
    if let Some(raw) = current {
        let prices = parse_prices(&raw).map_err(|e| format!("price: {e}"))?;
        p.price = Some(prices.current.amount);
        p.currency = prices.current.currency.or(p.currency);
        p.old_price = None;
        if sale.is_some()
            && let Some(regular) = regular
        {
            let prices = parse_prices(&regular).map_err(|e| format!("regular_price: {e}"))?;
            p.old_price = Some(prices.current.amount);
        }
    }
    if let Some(q) = woo_text(v, "stock_quantity") {
        p.quantity = Some(parse_quantity(&q)?);
    }
    if let Some(status) = woo_text(v, "stock_status") {
        p.availability = match status.as_str() {
            "onbackorder" => Availability::OnOrder,
            other => feed_kit::parse_availability(other).unwrap_or_default(),
        };
    }
    let images: Vec<String> = match v.get("images") {
        Some(Value::Array(_)) => woo_names(v.get("images"), "src"),
        _ => match v.get("image") {
            Some(Value::Object(_)) => woo_text(v.get("image").unwrap_or(&Value::Null), "src")
                .into_iter()
                .collect(),
            Some(other) => other
                .text()
                .map(|t| vec![t.trim().to_owned()])
                .unwrap_or_default(),
            None => woo_names(v.get("all_images"), "src"),
        },
    };
    let main = woo_text(v, "main_image");
    if !images.is_empty() || main.is_some() {
        p.image_urls = main
            .into_iter()
            .chain(images)
            .filter(|s| !s.is_empty())
            .collect();
    }
    match v.get("attributes") {
        Some(Value::Array(items)) => {
            for a in items {
                let Some(name) = woo_text(a, "name") else {
                    continue;
                };
                let value = match a.get("options") {
                    Some(Value::Array(options)) => options
                        .iter()
                        .filter_map(Value::text)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => woo_text(a, "option").unwrap_or_default(),
                };
                if !value.is_empty() {
                    p.attributes.push(Attribute::new(name, value));
                }
            }
        }
        Some(other) => {
            // Flattened dumps: "Veličina: 24m, Boja: plava".
            for pair in other.text().unwrap_or_default().split(", ") {
                if let Some((name, value)) = pair.split_once(':')
                    && !name.trim().is_empty()
                    && !value.trim().is_empty()
                {
                    p.attributes.push(Attribute::new(name.trim(), value.trim()));
                }
            }
        }
        None => {}
    }
    Ok(p)
}

fn split(text: &str, separator: &str) -> Vec<String> {
    text.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn keys(seen: &[String]) -> String {
    if seen.is_empty() {
        "(none)".to_owned()
    } else {
        seen.join(", ")
    }
}

fn shown_path(at: &str) -> String {
    if at.is_empty() {
        "the root".to_owned()
    } else {
        format!("`{at}`")
    }
}

fn shown_items(at: &str) -> String {
    if at.is_empty() {
        "$".to_owned()
    } else {
        at.to_owned()
    }
}

#[cfg(test)]
mod tests;
