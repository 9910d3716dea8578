//! A supplier-specific transformer: the windows-1251 price list of a Ukrainian heating
//! distributor. Everything is a `<node>`: `isgroup="1"` nodes are categories and nest
//! recursively; `isgroup="0"` nodes are products carrying their data in attributes (`kod`,
//! four price tiers, stock per warehouse, `garant`) and child elements (`name`, `name_ru`,
//! `fullname`, `partnumber`, `manufacturer`).
//!
//! The group stack is an explicit `Vec`, never recursion, so nesting depth costs heap, not
//! stack (and `xml` caps it).

use feed_kit::xml;

use contextworker_guest::{
    Attribute, Availability, Config, FeedReader, Location, ModuleError, Product, ProductSink,
    Transformer, Warning,
};
use feed_kit::{Element, Offers};
use xml::{Node, Tag, Xml};

pub struct DealerXml;

const MODULE: &str = "dealer-xml";

/// Price tiers as the supplier names them: dealer, wholesale, small wholesale, retail.
const PRICE_TIERS: &[&str] = &[
    "cena_dyler",
    "cena_gurt",
    "cena_dribnyj_gurt",
    "cena_rozdrib",
];
const STOCK_PREFIX: &str = "ostatok_";

const PRODUCT_NODE: Element = Element::new("<node isgroup=\"0\">", "product node", "nodes");

impl Transformer for DealerXml {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let settings = Settings::from_config(config)?;
        Xml::run(input, out, config, settings.feed.lenient, |xml, out| {
            parse(xml, out, &settings)
        })
    }
}

contextworker_guest::export_transformer!(DealerXml);

struct Settings {
    feed: feed_kit::FeedSettings,
    price_tier: String,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let feed = feed_kit::FeedSettings::from_config(config)?;
        let price_tier = config
            .get_or("price_tier", "cena_rozdrib")
            .trim()
            .to_owned();
        if !PRICE_TIERS.contains(&price_tier.as_str()) {
            return Err(ModuleError::invalid_input(format!(
                "config key `price_tier` = {price_tier:?}: expected one of {}",
                PRICE_TIERS.join(", ")
            )));
        }
        Ok(Self { feed, price_tier })
    }
}

/// An open `<node>`: a group collecting its name, or a product collecting its fields.
#[derive(Debug)]
enum Open {
    Group { name: Option<String> },
    Item(Box<Item>),
}

#[derive(Debug, Default)]
struct Item {
    location: Location,
    attrs: Vec<(String, String)>,
    name: Option<String>,
    fields: Vec<(String, String)>,
}

fn parse(xml: &mut Xml, out: &mut ProductSink, settings: &Settings) -> Result<(), ModuleError> {
    let root = xml.root()?;
    if root.local() != "root" {
        return Err(xml::wrong_format(
            &root,
            MODULE,
            "<root> holding <node isgroup=\"1\"> groups",
        ));
    }
    for warning in xml.warnings.drain(..) {
        out.warn(warning);
    }
    let mut offers = Offers::new(settings.feed.lenient);
    let mut text = String::new();
    // One entry per open <node>; other elements are fields of the innermost node.
    let mut nodes: Vec<(usize, Open)> = Vec::new();
    let mut products_seen = 0usize;

    loop {
        match xml.next(&mut text)? {
            Node::Start(tag) => {
                text.clear();
                if tag.local() == "node" {
                    let open = if tag.attr("isgroup").map(str::trim) == Some("1") {
                        Open::Group { name: None }
                    } else {
                        products_seen += 1;
                        Open::Item(Box::new(Item {
                            location: tag.location.clone(),
                            attrs: tag.attrs.to_vec(),
                            ..Item::default()
                        }))
                    };
                    nodes.push((tag.depth, open));
                } else if let Some((depth, Open::Item(_))) = nodes.last()
                    && tag.depth > depth + 1
                {
                    return Err(nested_in_product(&tag));
                }
            }
            Node::End { name, depth } => {
                let local = xml::local_name(name);
                let closes_node = nodes.last().is_some_and(|(d, _)| *d == depth + 1);
                if closes_node && local == "node" {
                    if let Some((_, Open::Item(item))) = nodes.pop() {
                        let location = item.location.clone();
                        let path = group_path(&nodes);
                        let record = product(*item, path, settings);
                        offers.settle(out, &PRODUCT_NODE, &location, record)?;
                        for warning in xml.warnings.drain(..) {
                            out.warn(warning);
                        }
                    }
                } else if let Some((node_depth, open)) = nodes.last_mut()
                    && *node_depth == depth
                {
                    let value = text.trim();
                    match open {
                        Open::Group { name: slot } => {
                            if local == "name" && !value.is_empty() {
                                *slot = Some(value.to_owned());
                            }
                        }
                        Open::Item(item) => {
                            if local == "name" && !value.is_empty() {
                                item.name = Some(value.to_owned());
                            } else {
                                item.fields.push((local.to_owned(), value.to_owned()));
                            }
                        }
                    }
                }
                text.clear();
            }
            Node::Text => {}
            Node::Eof => break,
        }
    }
    if products_seen == 0 {
        out.warn(Warning::new(
            "the feed has no <node isgroup=\"0\"> products: no products",
        ));
    }
    Ok(())
}

fn nested_in_product(tag: &Tag<'_>) -> ModuleError {
    ModuleError::invalid_input(format!(
        "<{}> nested inside a product field: product nodes hold only flat fields",
        tag.name
    ))
    .at(tag.location.clone())
}

/// Names of the open groups, outermost first; a group whose <name> is missing is skipped.
fn group_path(nodes: &[(usize, Open)]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|(_, open)| match open {
            Open::Group { name } => name.clone(),
            Open::Item(_) => None,
        })
        .collect()
}

fn product(item: Item, category_path: Vec<String>, settings: &Settings) -> Result<Product, String> {
    let attr = |key: &str| {
        item.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let id = attr("kod")
        .ok_or("no kod attribute (the offer id)")?
        .to_owned();
    let name = item
        .name
        .clone()
        .ok_or_else(|| format!("offer {id:?} has no <name>"))?;
    let mut product = Product::new(id.clone(), name);
    product.category_path = category_path;
    product.currency = settings.feed.currency.clone();

    let mut quantity: Option<i64> = None;
    for (key, value) in &item.attrs {
        let value = value.trim();
        if PRICE_TIERS.contains(&key.as_str()) {
            let amount = feed_kit::parse_decimal(value)
                .map_err(|reason| format!("offer {id:?}: {key} {value:?} {reason}"))?;
            if *key == settings.price_tier {
                product.price = Some(amount.clone());
            }
            product.attributes.push(Attribute::new(key.clone(), amount));
        } else if let Some(warehouse) = key.strip_prefix(STOCK_PREFIX) {
            let units = parse_stock(value)
                .ok_or_else(|| format!("offer {id:?}: {key} {value:?} is not a whole number"))?;
            quantity = Some(quantity.unwrap_or(0).saturating_add(units));
            product.attributes.push(Attribute::new(
                format!("stock_{warehouse}"),
                units.to_string(),
            ));
        } else if key == "garant" {
            if !value.is_empty() && value != "0" {
                product
                    .attributes
                    .push(Attribute::new("warranty", value).with_unit("months"));
            }
        } else if !matches!(key.as_str(), "kod" | "isgroup") && !value.is_empty() {
            product.attributes.push(Attribute::new(key.clone(), value));
        }
    }
    if let Some(q) = quantity {
        product.quantity = Some(q);
        product.availability = if q > 0 {
            Availability::InStock
        } else {
            Availability::OutOfStock
        };
    }
    for (key, value) in item.fields {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            // Free text with tab-separated "key<TAB>value" runs: whitespace is collapsed.
            "fullname" => product.description = Some(collapse_whitespace(&value)),
            "partnumber" => product.vendor_code = Some(value),
            "manufacturer" => product.brand = Some(value),
            _ => product.attributes.push(Attribute::new(key, value)),
        }
    }
    Ok(product)
}

/// Stock counts are whole units; "2.000" (a 1C export habit) is accepted, "1.5" is not.
fn parse_stock(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(0);
    }
    let (whole, fraction) = raw.split_once(['.', ',']).unwrap_or((raw, ""));
    if !fraction.chars().all(|c| c == '0') {
        return None;
    }
    whole.parse().ok().filter(|n: &i64| *n >= 0)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
