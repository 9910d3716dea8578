//! Walking the document to the product array and turning each element into products.

use contextworker_guest::{Attribute, Availability, Location, ModuleError, Product, ProductSink};
use feed_kit::{Needed, Offers};

use crate::money::{parse_prices, parse_quantity};
use crate::path::FieldPath;
use crate::scan::{Scanner, Value};
use crate::settings::{FIELDS, Preset, Settings, generic_candidates};
use crate::woo::{woo_product, woo_text};

/// Keys an unconfigured `items_path` looks for in a root object, in order.
pub(crate) const ITEMS_KEYS: &[&str] =
    &["products", "items", "offers", "data", "results", "records"];

/// One element of the product array (with its member name when products are object values).
pub(crate) struct Record<'a> {
    pub(crate) value: &'a Value,
    pub(crate) key: Option<&'a str>,
}

pub(crate) struct Walker<'a> {
    settings: Settings,
    out: &'a mut ProductSink,
    offers: Offers,
    /// Decided by the first product object (see `Settings::preset_for`).
    preset: Option<Preset>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(settings: Settings, out: &'a mut ProductSink) -> Self {
        Self {
            offers: Offers::new(settings.lenient),
            settings,
            out,
            preset: None,
        }
    }

    pub(crate) fn document<R: std::io::Read>(
        &mut self,
        s: &mut Scanner<R>,
    ) -> Result<(), ModuleError> {
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
        self.offers.finish(self.out, how_to_map);
        Ok(())
    }

    /// Step into the object at the scanner and stop after the first key `wanted` accepts
    /// (its value is next). `Err` carries the keys seen, for the error message.
    pub(crate) fn find_key<R: std::io::Read>(
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

    pub(crate) fn items<R: std::io::Read>(
        &mut self,
        s: &mut Scanner<R>,
        at: &str,
    ) -> Result<(), ModuleError> {
        let depth = 2;
        // Products are an array's elements, or an object's member values (`$key` the name).
        let (open, close) = match s.peek_token()? {
            Some(b'[') => (b'[', b']'),
            Some(b'{') => (b'{', b'}'),
            found => {
                return Err(s.unexpected(
                    found,
                    &format!("an array of products at {}", shown_path(at)),
                ));
            }
        };
        let keyed = open == b'{';
        s.expect(open, "")?;
        let any = if keyed {
            s.first_member()?
        } else {
            s.first_element()?
        };
        if !any {
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            let key = if keyed { Some(s.key()?) } else { None };
            s.peek_token()?;
            let location = s.location();
            let value = s.value(depth)?;
            let path = match &key {
                None => format!("{}[{index}]", shown_items(at)),
                Some(key) if at.is_empty() => key.clone(),
                Some(key) => format!("{at}.{key}"),
            };
            let record = Record {
                value: &value,
                key: key.as_deref(),
            };
            self.record(&record, index, location, path)?;
            index += 1;
            if !s.more(close, "a product")? {
                return Ok(());
            }
        }
    }

    pub(crate) fn record(
        &mut self,
        record: &Record<'_>,
        index: usize,
        mut location: Location,
        path: String,
    ) -> Result<(), ModuleError> {
        location.record_index = Some(u32::try_from(index).unwrap_or(u32::MAX));
        location.path = Some(path);
        if !matches!(record.value, Value::Object(_)) {
            return self.offers.reject(
                self.out,
                &location,
                format!("the product is {}, expected an object", record.value.kind()),
            );
        }
        let preset = self.preset(record.value);
        let products = match preset {
            Preset::Generic => self.generic(record).map(|p| vec![p]),
            Preset::Shopify => self.shopify(record),
            Preset::WooCommerce => self.woocommerce(record),
        };
        let products = match products {
            Ok(products) => products,
            Err(reason) => return self.offers.reject(self.out, &location, reason),
        };
        for mut product in products {
            if preset != Preset::Generic
                && let Err(reason) = self.overrides(record, &mut product)
            {
                return self.offers.reject(self.out, &location, reason);
            }
            self.offers.read(&product);
            if let Err(reason) = self.finish(&mut product, preset) {
                self.offers.reject(self.out, &location, reason)?;
                continue;
            }
            self.offers.emit(self.out, product, &location);
        }
        Ok(())
    }

    /// The feed's preset, decided on its first product object and kept for the rest.
    fn preset(&mut self, first: &Value) -> Preset {
        if let Some(preset) = self.preset {
            return preset;
        }
        let preset = self.settings.preset_for(first);
        if self.settings.preset.is_none() && preset != Preset::Generic {
            contextworker_guest::info!(
                "the products have a known shape: read with its preset";
                preset = preset.name()
            );
        }
        self.preset = Some(preset);
        preset
    }

    /// The path the config names for `field`, else the first default that finds something.
    pub(crate) fn texts(&self, record: &Record<'_>, field: &str) -> (Vec<String>, String) {
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

    pub(crate) fn generic(&self, record: &Record<'_>) -> Result<Product, String> {
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
        if self.settings.attributes(Preset::Generic)
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
    pub(crate) fn overrides(&self, record: &Record<'_>, p: &mut Product) -> Result<(), String> {
        for (field, path) in &self.settings.map {
            self.set(p, field, path.texts(record), &path.text)?;
        }
        Ok(())
    }

    pub(crate) fn set(
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
    pub(crate) fn finish(&self, p: &mut Product, preset: Preset) -> Result<(), String> {
        if p.offer_id.is_empty() {
            let path = self.path_for("offer_id", preset);
            return Err(format!("no offer id (`{path}` is missing or empty)"));
        }
        if p.name.is_empty() {
            let path = self.path_for("name", preset);
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

    pub(crate) fn path_for(&self, field: &str, preset: Preset) -> String {
        match (self.settings.configured(field), preset, field) {
            (Some(p), _, _) => p.text.clone(),
            (None, Preset::Shopify, "name") => "title".to_owned(),
            (None, Preset::Generic, _) => generic_candidates(field).join("` or `"),
            (None, _, "offer_id") => "id".to_owned(),
            (None, _, _) => field.to_owned(),
        }
    }

    /// Shopify `products.json`: one product per variant, grouped by the product id.
    pub(crate) fn shopify(&self, record: &Record<'_>) -> Result<Vec<Product>, String> {
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
    pub(crate) fn woocommerce(&self, record: &Record<'_>) -> Result<Vec<Product>, String> {
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

/// How to point the module at a field no product had, for the coverage warning.
fn how_to_map(field: Needed) -> String {
    format!(
        "map.{} names the path inside one product (such as `prices.current` or `variants[0].{}`), \
         or preset=shopify or woocommerce reads a known shape",
        field.key(),
        field.key()
    )
}

pub(crate) fn split(text: &str, separator: &str) -> Vec<String> {
    text.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn keys(seen: &[String]) -> String {
    if seen.is_empty() {
        "(none)".to_owned()
    } else {
        seen.join(", ")
    }
}

pub(crate) fn shown_path(at: &str) -> String {
    if at.is_empty() {
        "the root".to_owned()
    } else {
        format!("`{at}`")
    }
}

pub(crate) fn shown_items(at: &str) -> String {
    if at.is_empty() {
        "$".to_owned()
    } else {
        at.to_owned()
    }
}
