//! Google Merchant Center product feeds: RSS 2.0 (`rss/channel/item`) and Atom 1.0
//! (`feed/entry`) with the `g:` namespace. Each item is emitted as soon as it closes.
//!
//! Google fields are recognized by namespace, not by spelling: any prefix bound to a
//! `base.google.com` namespace URI counts, and `g:` always does (feeds that forget the
//! declaration are common).

use feed_kit::xml;

use std::collections::HashSet;

use contextworker_guest::{
    Attribute, Config, FeedReader, Location, ModuleError, Product, ProductSink, Transformer,
    Warning,
};
use feed_kit::{Element, Offers};
use xml::{Node, OwnedTag, Tag, Xml};

pub struct GoogleMerchant;

const MODULE: &str = "google-merchant";

const RSS_ITEM: Element = Element::new("<item>", "item", "items");
const ATOM_ENTRY: Element = Element::new("<entry>", "entry", "items");

impl Transformer for GoogleMerchant {
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

contextworker_guest::export_transformer!(GoogleMerchant);

type Settings = feed_kit::FeedSettings;

/// One `<item>`/`<entry>` as read.
#[derive(Debug, Default)]
struct Item {
    location: Location,
    g_id: Option<String>,
    atom_id: Option<String>,
    g_title: Option<String>,
    title: Option<String>,
    g_description: Option<String>,
    description: Option<String>,
    g_link: Option<String>,
    link: Option<String>,
    image: Option<String>,
    images: Vec<String>,
    price: Option<String>,
    sale_price: Option<String>,
    item_group_id: Option<String>,
    availability: Option<String>,
    gtins: Vec<String>,
    mpn: Option<String>,
    brand: Option<String>,
    product_types: Vec<String>,
    google_category: Option<String>,
    attributes: Vec<Attribute>,
}

fn parse(xml: &mut Xml, out: &mut ProductSink, settings: &Settings) -> Result<(), ModuleError> {
    let root = xml.root()?;
    // Items sit at rss/channel/item (depth 3) or feed/entry (depth 2).
    let (item_depth, item_name, element) = match root.local() {
        "rss" => (3, "item", &RSS_ITEM),
        "feed" => (2, "entry", &ATOM_ENTRY),
        _ => {
            return Err(xml::wrong_format(
                &root,
                MODULE,
                "an RSS 2.0 <rss> or Atom <feed> root",
            ));
        }
    };
    let mut google = Prefixes::default();
    google.learn(&root);
    for warning in xml.warnings.drain(..) {
        out.warn(warning);
    }

    let mut offers = Offers::new(settings.lenient);
    let mut text = String::new();
    let mut item: Option<Item> = None;
    let mut field: Option<OwnedTag> = None;
    // (local name, text) of elements nested in the current field: g:shipping, g:product_detail.
    let mut nested: Vec<(String, String)> = Vec::new();
    let mut items_seen = 0usize;

    loop {
        match xml.next(&mut text)? {
            Node::Start(tag) => {
                google.learn(&tag);
                let depth = tag.depth;
                if depth == item_depth && item.is_none() && tag.name == item_name {
                    items_seen += 1;
                    item = Some(Item {
                        location: tag.location.clone(),
                        ..Item::default()
                    });
                } else if depth == item_depth + 1 && item.is_some() {
                    field = Some(tag.to_owned_tag());
                    nested.clear();
                }
                text.clear();
            }
            Node::End { name, depth } => {
                if item.is_none() {
                    text.clear();
                    continue;
                }
                if depth > item_depth {
                    let local = xml::local_name(name);
                    if local == "product_detail" {
                        detail(&mut nested, item.as_mut());
                    } else {
                        let value = text.trim();
                        if !value.is_empty() {
                            nested.push((local.to_owned(), value.to_owned()));
                        }
                    }
                } else if depth == item_depth {
                    if let (Some(tag), Some(it)) = (field.take(), item.as_mut()) {
                        item_field(it, &tag.as_tag(), &text, &mut nested, &google);
                    }
                } else if let Some(it) = item.take() {
                    let location = it.location.clone();
                    let record = product(it, settings.currency.as_deref());
                    offers.settle(out, element, &location, record)?;
                    for warning in xml.warnings.drain(..) {
                        out.warn(warning);
                    }
                }
                text.clear();
            }
            Node::Text => {}
            Node::Eof => break,
        }
    }
    if items_seen == 0 {
        out.warn(Warning::new(format!(
            "the feed has no <{item_name}> elements: no products"
        )));
    }
    Ok(())
}

/// Namespace prefixes bound to Google's product namespace.
#[derive(Debug)]
struct Prefixes(HashSet<String>);

impl Default for Prefixes {
    fn default() -> Self {
        Self(HashSet::from(["g".to_owned()]))
    }
}

impl Prefixes {
    fn learn(&mut self, tag: &Tag<'_>) {
        for (key, value) in tag.attrs {
            if let Some(prefix) = key.strip_prefix("xmlns:")
                && value.contains("base.google.com")
                && !self.0.contains(prefix)
            {
                self.0.insert(prefix.to_owned());
            }
        }
    }

    fn is_google(&self, name: &str) -> bool {
        name.split_once(':')
            .is_some_and(|(prefix, _)| self.0.contains(prefix))
    }
}

fn clean(value: &str) -> Option<String> {
    let value = xml::unescape_twice_escaped(value.trim());
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn item_field(
    item: &mut Item,
    tag: &Tag<'_>,
    text: &str,
    nested: &mut Vec<(String, String)>,
    google: &Prefixes,
) {
    let local = tag.local();
    if !google.is_google(tag.name) {
        // Plain RSS/Atom elements are fallbacks for the g: ones.
        match tag.name {
            "title" => item.title = clean(text),
            "description" | "summary" => item.description = clean(text),
            "link" => item.link = clean(text).or_else(|| tag.attr("href").and_then(clean)),
            "id" => item.atom_id = clean(text),
            _ => {}
        }
        return;
    }
    let value = clean(text);
    match local {
        "id" => item.g_id = value,
        "title" => item.g_title = value,
        "description" => item.g_description = value,
        "link" => item.g_link = value,
        "image_link" => item.image = value,
        "additional_image_link" => item.images.extend(value),
        "price" => item.price = value,
        "sale_price" => item.sale_price = value,
        "item_group_id" => item.item_group_id = value,
        "availability" => item.availability = value,
        "gtin" => item.gtins.extend(
            text.split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned),
        ),
        "mpn" => item.mpn = value,
        "brand" => item.brand = value,
        "product_type" => item.product_types.extend(value),
        "google_product_category" => item.google_category = value,
        // Its inner g:price is a shipping cost, never the item price.
        "shipping" => {
            let parts: Vec<&str> = ["country", "region", "service", "price"]
                .iter()
                .filter_map(|key| nested.iter().find(|(k, _)| k == key))
                .map(|(_, v)| v.as_str())
                .collect();
            if !parts.is_empty() {
                item.attributes
                    .push(Attribute::new("shipping", parts.join(" ")));
            }
        }
        "product_detail" => detail(nested, Some(item)),
        other => {
            if let Some(v) = value {
                item.attributes.push(Attribute::new(other, v));
            }
        }
    }
    nested.clear();
}

/// A `g:product_detail` (attribute_name/attribute_value, with an optional section_name)
/// becomes an attribute.
fn detail(nested: &mut Vec<(String, String)>, item: Option<&mut Item>) {
    let take = |nested: &mut Vec<(String, String)>, key: &str| {
        nested
            .iter()
            .position(|(k, _)| k == key)
            .map(|at| nested.remove(at).1)
    };
    let name = take(nested, "attribute_name");
    let value = take(nested, "attribute_value");
    let _section = take(nested, "section_name");
    if let (Some(name), Some(value), Some(item)) = (name, value, item) {
        item.attributes.push(Attribute::new(
            xml::unescape_twice_escaped(&name).into_owned(),
            xml::unescape_twice_escaped(&value).into_owned(),
        ));
    }
}

fn product(item: Item, default_currency: Option<&str>) -> Result<Product, String> {
    let id = item
        .g_id
        .or(item.atom_id)
        .ok_or_else(|| "no g:id".to_owned())?;
    let name = item
        .g_title
        .or(item.title)
        .ok_or_else(|| format!("offer {id:?} has no g:title or title"))?;
    let mut product = Product::new(id.clone(), name);
    product.description = item.g_description.or(item.description);
    product.url = item.g_link.or(item.link);
    product.image_urls = item
        .image
        .into_iter()
        .chain(item.images)
        .map(|url| absolute(url, product.url.as_deref()))
        .collect();

    let regular = item
        .price
        .map(|raw| feed_kit::parse_price(&raw).map_err(|e| format!("offer {id:?}: g:{e}")))
        .transpose()?;
    let sale = item
        .sale_price
        .map(|raw| feed_kit::parse_price(&raw).map_err(|e| format!("offer {id:?}: g:sale_{e}")))
        .transpose()?;
    // A sale price is what the buyer pays now; the regular price becomes the old price.
    let (current, old) = match (sale, regular) {
        (Some(sale), regular) => (Some(sale), regular),
        (None, regular) => (regular, None),
    };
    if let Some(money) = current {
        product.currency = money
            .currency
            .or_else(|| old.as_ref().and_then(|o| o.currency.clone()))
            .or(default_currency.map(str::to_owned));
        product.price = Some(money.amount);
    }
    if let Some(money) = old {
        if product.currency.is_none() {
            product.currency = money.currency;
        }
        product.old_price = Some(money.amount);
    }

    product.variant_group_id = item.item_group_id;
    if let Some(raw) = item.availability {
        match feed_kit::parse_availability(&raw) {
            Some(a) => product.availability = a,
            None => product.attributes.push(Attribute::new("availability", raw)),
        }
    }
    product.barcodes = item.gtins;
    product.vendor_code = item.mpn;
    product.brand = item.brand;
    let mut types = item.product_types.into_iter();
    if let Some(path) = types.next() {
        product.category_path = path
            .split('>')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
    }
    for extra in types {
        product
            .attributes
            .push(Attribute::new("product_type", extra));
    }
    product.category_id = item.google_category;
    product.attributes.extend(item.attributes);
    Ok(product)
}

/// Resolve a root-relative image path (`/medias/x.jpg`) against the product link's origin;
/// anything else is kept as written.
fn absolute(url: String, link: Option<&str>) -> String {
    if !url.starts_with('/') || url.starts_with("//") {
        return url;
    }
    let Some(link) = link else { return url };
    let Some(scheme_end) = link.find("://") else {
        return url;
    };
    let host_end = link[scheme_end + 3..]
        .find('/')
        .map_or(link.len(), |at| scheme_end + 3 + at);
    format!("{}{url}", &link[..host_end])
}

#[cfg(test)]
mod tests;
