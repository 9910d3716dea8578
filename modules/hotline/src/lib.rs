//! Hotline.ua price XML: `<price>` with element-style `<categories><category>` and
//! `<items><item>`. Streams the feed: categories are kept (they are few and items refer to
//! them), items are emitted as soon as they close.

use feed_kit::xml;

use std::collections::{HashMap, HashSet};

use contextworker_guest::{
    Attribute, Availability, Config, FeedReader, Location, ModuleError, Product, ProductSink,
    Transformer, Warning,
};
use feed_kit::{Element, Offers};
use xml::{Node, OwnedTag, Tag, Xml};

pub struct Hotline;

const MODULE: &str = "hotline";

const ITEM: Element = Element::new("<item>", "item", "items");

impl Transformer for Hotline {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        Xml::run(input, out, config, settings.lenient, |xml, out| {
            parse(xml, out, &settings)
        })
    }
}

contextworker_guest::export_transformer!(Hotline);

type Settings = feed_kit::FeedSettings;

#[derive(Debug, Default)]
struct Category {
    id: Option<String>,
    parent: Option<String>,
    name: String,
}

/// One `<item>` as read, before it is checked and turned into a product.
#[derive(Debug, Default)]
struct Item {
    location: Location,
    id: Option<String>,
    category_id: Option<String>,
    code: Option<String>,
    vendor_code: Option<String>,
    articl_code: Option<String>,
    vendor: Option<String>,
    name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    images: Vec<String>,
    /// (element name, raw value): kept apart so the preferred price tag wins in any order.
    prices: Vec<(String, String)>,
    old_price: Option<String>,
    stock: Option<String>,
    available: Option<String>,
    quantity: Option<String>,
    barcodes: Vec<String>,
    attributes: Vec<Attribute>,
}

fn parse(xml: &mut Xml, out: &mut ProductSink, settings: &Settings) -> Result<(), ModuleError> {
    let root = xml.root()?;
    if root.local() != "price" {
        return Err(xml::wrong_format(
            &root,
            MODULE,
            "<price> with <categories> and <items>",
        ));
    }
    let mut categories: HashMap<String, Category> = HashMap::new();
    let mut feed_currency: Option<String> = None;
    let mut offers = Offers::new(settings.lenient);
    let mut text = String::new();
    let mut category: Option<Category> = None;
    let mut item: Option<Item> = None;
    // The field element open inside an item or a category (depth 4), and its start tag.
    let mut field: Option<OwnedTag> = None;
    let mut items_seen = 0usize;

    loop {
        match xml.next(&mut text)? {
            Node::Start(tag) => {
                match tag.depth {
                    2 if tag.local() == "currency" => {
                        if let Some(code) =
                            tag.attr("code").and_then(feed_kit::price::currency_code)
                        {
                            feed_currency = Some(code);
                        }
                        text.clear();
                    }
                    3 if tag.local() == "category" => {
                        category = Some(Category {
                            id: tag.attr("id").map(str::to_owned),
                            parent: tag
                                .attr("parentId")
                                .or(tag.attr("parentID"))
                                .map(str::to_owned),
                            name: String::new(),
                        });
                        text.clear();
                    }
                    3 if tag.local() == "item" => {
                        items_seen += 1;
                        item = Some(Item {
                            location: tag.location.clone(),
                            id: tag.attr("id").map(str::to_owned),
                            ..Item::default()
                        });
                        text.clear();
                    }
                    4 if item.is_some() || category.is_some() => {
                        field = Some(tag.to_owned_tag());
                        text.clear();
                    }
                    // Markup inside a field (HTML descriptions written as elements) is kept.
                    d if d > 4 && field.is_some() => xml::push_start_markup(&mut text, &tag),
                    _ => text.clear(),
                }
            }
            Node::End { name, depth } => match depth {
                d if d >= 4 && field.is_some() => {
                    xml::push_end_markup(&mut text, name);
                }
                3 => {
                    if let Some(tag) = field.take() {
                        let value = std::mem::take(&mut text);
                        if let Some(item) = item.as_mut() {
                            item_field(item, &tag.as_tag(), &value);
                        } else if let Some(category) = category.as_mut() {
                            category_field(category, &tag.as_tag(), &value);
                        }
                    }
                }
                2 => {
                    if let Some(mut c) = category.take() {
                        if c.name.is_empty() {
                            c.name = text.trim().to_owned();
                        }
                        match c.id.clone() {
                            Some(id) if !id.is_empty() => {
                                categories.insert(id, c);
                            }
                            _ => out.warn(
                                Warning::new(format!(
                                    "category {:?} has no id and cannot be referenced",
                                    c.name
                                ))
                                .at(xml.location()),
                            ),
                        }
                    }
                    if let Some(it) = item.take() {
                        let location = it.location.clone();
                        let currency = feed_currency.as_deref().or(settings.currency.as_deref());
                        let record = product(it, &categories, currency);
                        // A skipped item's recoveries are reported after the next product.
                        if offers.settle(out, &ITEM, &location, record)? {
                            for warning in xml.warnings.drain(..) {
                                out.warn(warning);
                            }
                        }
                    }
                    text.clear();
                }
                _ => text.clear(),
            },
            Node::Text => {}
            Node::Eof => break,
        }
    }
    if items_seen == 0 {
        out.warn(Warning::new(
            "the feed has no <items><item> elements: no products",
        ));
    }
    Ok(())
}

fn category_field(category: &mut Category, tag: &Tag<'_>, value: &str) {
    let value = value.trim();
    match tag.local() {
        "id" => category.id = Some(value.to_owned()),
        "parentId" | "parentID" | "parent_id" => {
            category.parent = (!value.is_empty()).then(|| value.to_owned());
        }
        "name" => category.name = xml::unescape_twice_escaped(value).into_owned(),
        _ => {}
    }
}

fn some_text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn item_field(item: &mut Item, tag: &Tag<'_>, value: &str) {
    let name = tag.local();
    match name {
        "id" => item.id = some_text(value),
        "categoryId" | "categoryID" => item.category_id = some_text(value),
        "code" => item.code = some_text(value),
        "vendorCode" => item.vendor_code = some_text(value),
        "articlCode" | "article" => item.articl_code = some_text(value),
        "vendor" | "brand" => {
            item.vendor = some_text(&xml::unescape_twice_escaped(value));
        }
        "name" => item.name = some_text(&xml::unescape_twice_escaped(value)),
        // Descriptions are HTML in practice: twice-escaped entities are valid HTML, kept.
        "description" => item.description = some_text(value),
        "url" => item.url = some_text(value),
        "image" | "picture" => item.images.extend(some_text(value)),
        "priceRUAH" | "priceUAH" | "price" | "priceRUSD" | "priceUSD" => {
            if let Some(v) = some_text(value) {
                item.prices.push((name.to_owned(), v));
            }
        }
        "oldprice" | "oldPrice" | "priceOld" => item.old_price = some_text(value),
        "stock" => item.stock = some_text(value),
        "available" => item.available = some_text(value),
        "quantity_in_stock" | "quantity" | "stock_quantity" => item.quantity = some_text(value),
        "barcode" | "ean" | "gtin" => {
            item.barcodes.extend(
                value
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned),
            );
        }
        "param" => {
            let key = tag.attr("name").map(str::trim).unwrap_or_default();
            let value = value.trim();
            if !key.is_empty() && !value.is_empty() {
                let mut attribute = Attribute::new(key, value);
                if let Some(unit) = tag.attr("unit").filter(|u| !u.trim().is_empty()) {
                    attribute = attribute.with_unit(unit.trim());
                }
                item.attributes.push(attribute);
            }
        }
        other => {
            if let Some(v) = some_text(value) {
                item.attributes.push(Attribute::new(other, v));
            }
        }
    }
}

/// Preference among price tags: the hryvnia retail price first, dollars last.
const PRICE_TAGS: &[(&str, Option<&str>)] = &[
    ("priceRUAH", Some("UAH")),
    ("priceUAH", Some("UAH")),
    ("price", None),
    ("priceRUSD", Some("USD")),
    ("priceUSD", Some("USD")),
];

fn product(
    item: Item,
    categories: &HashMap<String, Category>,
    feed_currency: Option<&str>,
) -> Result<Product, String> {
    let id = item
        .id
        .ok_or_else(|| "no id (neither an <id> element nor an id attribute)".to_owned())?;
    let name = item
        .name
        .ok_or_else(|| format!("offer {id:?} has no <name>"))?;
    let mut product = Product::new(id.clone(), name);
    let (vendor_code, spare_code) = match (item.code, item.vendor_code) {
        (Some(code), Some(vc)) => (Some(code), Some(vc)),
        (code, vc) => (code.or(vc), None),
    };
    product.vendor_code = vendor_code;
    if let Some(vc) = spare_code {
        product.attributes.push(Attribute::new("vendorCode", vc));
    }
    product.sku = item.articl_code;
    product.brand = item.vendor;
    product.description = item.description;
    product.url = item.url;
    product.image_urls = item.images;
    product.barcodes = item.barcodes;

    let mut chosen: Option<(&str, Option<&str>)> = None;
    for (tag, hint) in PRICE_TAGS {
        if let Some((_, raw)) = item.prices.iter().find(|(t, _)| t == tag) {
            if chosen.is_none() {
                chosen = Some((raw.as_str(), *hint));
            } else {
                product.attributes.push(Attribute::new(*tag, raw.clone()));
            }
        }
    }
    if let Some((raw, hint)) = chosen {
        let money = feed_kit::parse_price(raw).map_err(|e| format!("offer {id:?}: {e}"))?;
        product.currency = money
            .currency
            .or(hint.map(str::to_owned))
            .or(feed_currency.map(str::to_owned));
        product.price = Some(money.amount);
    }
    if let Some(raw) = item.old_price {
        let money = feed_kit::parse_price(&raw).map_err(|e| format!("offer {id:?}: old {e}"))?;
        product.old_price = Some(money.amount);
    }

    if let Some(raw) = item.quantity {
        let q: i64 = raw
            .trim()
            .parse()
            .map_err(|_| format!("offer {id:?}: quantity {raw:?} is not a whole number"))?;
        product.quantity = Some(q);
    }
    let stated = item
        .stock
        .as_deref()
        .and_then(feed_kit::parse_availability)
        .or_else(|| {
            item.available
                .as_deref()
                .and_then(feed_kit::parse_availability)
        });
    product.availability = match (stated, product.quantity) {
        (Some(a), _) => a,
        (None, Some(q)) if q > 0 => Availability::InStock,
        (None, Some(_)) => Availability::OutOfStock,
        (None, None) => Availability::Unknown,
    };
    if let Some(stock) = item.stock
        && stated.is_none()
    {
        product.attributes.push(Attribute::new("stock", stock));
    }
    if let Some(category_id) = item.category_id {
        product.category_path = category_path(&category_id, categories);
        product.category_id = Some(category_id);
    }
    product.attributes.extend(item.attributes);
    Ok(product)
}

/// Root-first names of a category and its parents; a cycle or a missing parent ends the walk.
fn category_path(id: &str, categories: &HashMap<String, Category>) -> Vec<String> {
    let mut path = Vec::new();
    let mut seen = HashSet::new();
    let mut next = Some(id);
    while let Some(id) = next {
        if !seen.insert(id) {
            break;
        }
        let Some(category) = categories.get(id) else {
            break;
        };
        path.push(category.name.clone());
        next = category.parent.as_deref();
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests;
