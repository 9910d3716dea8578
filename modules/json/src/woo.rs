//! WooCommerce REST product objects (and their variations) into products.

use contextworker_guest::{Attribute, Availability, Product};

use crate::money::{parse_prices, parse_quantity};
use crate::scan::Value;
use crate::walker::split;

pub(crate) fn woo_text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::text)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Names of `[{"name": …}]`, or a `"; "`-joined string of them (flattened dumps).
pub(crate) fn woo_names(v: Option<&Value>, key: &str) -> Vec<String> {
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
pub(crate) fn woo_product(v: &Value, parent: Option<&Product>) -> Result<Product, String> {
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
