//! The event loop: `feed_kit::xml` nodes in, products out, one offer in memory at a time.
//!
//! Reading the markup (well-formedness, entities, nesting and text-size limits) is
//! `feed_kit::xml`'s; this file only decides what each element means for an offer.

use contextworker_guest::{Attribute, Location, ModuleError, ProductSink, Warning};
use feed_kit::Offers;
use feed_kit::xml::{MAX_TEXT_BYTES, Node, Tag, Xml};

use crate::Options;
use crate::categories::{Categories, Currencies};
use crate::offer::{Context, Draft, Notes, Variant};
use crate::text;

/// What the element being read is, as far as this module cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// `yml_catalog`, `shop`, `offers` and any wrapper outside an offer: offers and
    /// category lists may appear anywhere below them.
    Structural,
    Categories,
    /// One `<category>` definition; its text is the name.
    Category,
    Currencies,
    Offer,
    /// A direct child of an offer.
    Field(Field),
    /// An element inside a field or category name (HTML in a description, say).
    Markup,
    /// Ignored with everything inside.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Description,
    Price,
    OldPrice,
    Currency,
    CategoryId,
    Category,
    Vendor,
    VendorCode,
    Sku,
    Model,
    TypePrefix,
    Url,
    Picture,
    Barcode,
    Param,
    Quantity,
    GroupId,
    Available,
    /// Any other leaf element: kept as an attribute named after the tag.
    Extra,
    Ignore,
}

/// Offer children by tag (compared ignoring ASCII case: `vendorcode` and `currencyID` occur).
const FIELDS: &[(&str, Field)] = &[
    ("name", Field::Name),
    ("description", Field::Description),
    ("price", Field::Price),
    ("oldprice", Field::OldPrice),
    ("old_price", Field::OldPrice),
    ("price_old", Field::OldPrice),
    ("currencyId", Field::Currency),
    ("categoryId", Field::CategoryId),
    ("category", Field::Category),
    ("vendor", Field::Vendor),
    ("vendorCode", Field::VendorCode),
    ("sku", Field::Sku),
    ("model", Field::Model),
    ("typePrefix", Field::TypePrefix),
    ("url", Field::Url),
    ("picture", Field::Picture),
    ("image", Field::Picture),
    ("barcode", Field::Barcode),
    ("ean", Field::Barcode),
    ("gtin", Field::Barcode),
    ("param", Field::Param),
    ("stock_quantity", Field::Quantity),
    ("quantity_in_stock", Field::Quantity),
    ("quantity", Field::Quantity),
    ("group_id", Field::GroupId),
    ("available", Field::Available),
    // Delivery terms and marketplace bidding say nothing about the product.
    ("delivery", Field::Ignore),
    ("delivery-options", Field::Ignore),
    ("pickup", Field::Ignore),
    ("pickup-options", Field::Ignore),
    ("store", Field::Ignore),
    ("cpa", Field::Ignore),
    ("bid", Field::Ignore),
    ("cbid", Field::Ignore),
    ("fee", Field::Ignore),
];

/// Spellings of the offer's `available` attribute seen in real feeds, including one whose
/// first letter is the Cyrillic `а` (U+0430), which a plain lookup misses on every offer.
const AVAILABLE_KEYS: &[&str] = &["available", "\u{430}vailable", "avaliable", "availible"];

fn field_kind(tag: &str) -> Field {
    // The exact spellings are by far the most common: match them without the case-folding scan.
    let exact = match tag {
        "name" => Some(Field::Name),
        "description" => Some(Field::Description),
        "price" => Some(Field::Price),
        "currencyId" => Some(Field::Currency),
        "categoryId" => Some(Field::CategoryId),
        "picture" => Some(Field::Picture),
        "param" => Some(Field::Param),
        "vendor" => Some(Field::Vendor),
        "vendorCode" => Some(Field::VendorCode),
        "url" => Some(Field::Url),
        _ => None,
    };
    if let Some(kind) = exact {
        return kind;
    }
    if let Some((_, kind)) = FIELDS.iter().find(|(t, _)| t.eq_ignore_ascii_case(tag)) {
        return *kind;
    }
    if text::language_suffix(tag, "name").is_some() {
        Field::Name
    } else if text::language_suffix(tag, "description").is_some() {
        Field::Description
    } else {
        Field::Extra
    }
}

/// Run the whole feed.
pub(crate) fn parse(
    xml: &mut Xml,
    out: &mut ProductSink,
    options: &Options,
) -> Result<(), ModuleError> {
    let mut state = State::new(options);
    // A field's text goes straight into `state.text`, without a copy; text outside the fields
    // is only checked.
    loop {
        let node = if state.collects_text() {
            xml.next(&mut state.text)?
        } else {
            xml.next_skipping_text()?
        };
        match node {
            Node::Start(tag) => state.open(&tag)?,
            Node::End { name, .. } => state.close(name, out)?,
            Node::Text => state.check_text_size(|| xml.location())?,
            Node::Eof => return state.finish(xml.location(), out),
        }
    }
}

fn invalid(message: impl Into<String>, location: Location) -> ModuleError {
    ModuleError::invalid_input(message).at(location)
}

/// The first attribute named one of `keys`, ignoring ASCII case (`parentID`, `Available`).
fn find<'v>(attrs: &'v [(String, String)], keys: &[&str]) -> Option<&'v str> {
    attrs
        .iter()
        .find(|(k, _)| keys.iter().any(|key| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v.as_str())
}

struct State<'o> {
    options: &'o Options,
    stack: Vec<Ctx>,
    root_closed: bool,
    /// The element just opened was written `<x/>`: the end that follows has no end tag.
    opened_empty: bool,
    /// Text of the current field or category name.
    text: String,
    field: Option<Field>,
    field_location: Location,
    /// Param name, or the tag of an extra field.
    field_name: String,
    field_unit: Option<String>,
    field_lang: Option<String>,
    field_code: Option<String>,
    /// An extra field with child elements is a structure, not a value: dropped.
    field_nested: bool,
    category_id: Option<String>,
    category_parent: Option<String>,
    category_location: Location,
    draft: Option<Draft>,
    offers: u32,
    nameless: u64,
    categories: Categories,
    currencies: Currencies,
    emitted: Offers,
}

impl<'o> State<'o> {
    fn new(options: &'o Options) -> Self {
        Self {
            options,
            stack: Vec::with_capacity(16),
            root_closed: false,
            opened_empty: false,
            text: String::with_capacity(4096),
            field: None,
            field_location: Location::default(),
            field_name: String::new(),
            field_unit: None,
            field_lang: None,
            field_code: None,
            field_nested: false,
            category_id: None,
            category_parent: None,
            category_location: Location::default(),
            draft: None,
            offers: 0,
            nameless: 0,
            categories: Categories::default(),
            currencies: Currencies::default(),
            emitted: Offers::default(),
        }
    }

    fn in_description(&self) -> bool {
        self.field == Some(Field::Description)
    }

    /// Whether the element being read keeps its text: a field, a category name, or markup
    /// inside either.
    fn collects_text(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Ctx::Field(kind)) if *kind != Field::Ignore
        ) || matches!(self.stack.last(), Some(Ctx::Markup | Ctx::Category))
    }

    fn check_text_size(&self, here: impl Fn() -> Location) -> Result<(), ModuleError> {
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(invalid(
                format!(
                    "an element's text exceeds {} MiB: not a product field",
                    MAX_TEXT_BYTES >> 20
                ),
                here(),
            ));
        }
        Ok(())
    }

    fn open(&mut self, element: &Tag<'_>) -> Result<(), ModuleError> {
        let tag = element.name;
        let attrs = element.attrs;
        let location = element.location.clone();
        let ctx = match self.stack.last().copied() {
            None => self.root(tag, &location)?,
            Some(Ctx::Structural) => match tag {
                "offer" => {
                    self.begin_offer(attrs, location);
                    Ctx::Offer
                }
                "categories" => Ctx::Categories,
                "currencies" => Ctx::Currencies,
                _ => Ctx::Structural,
            },
            Some(Ctx::Categories) if tag == "category" => {
                self.category_id = find(attrs, &["id"]).map(|v| text::normalize_id(v).to_owned());
                self.category_parent = find(attrs, &["parentId"])
                    .map(|v| text::normalize_id(v).to_owned())
                    .filter(|v| !v.is_empty());
                self.category_location = location;
                self.text.clear();
                Ctx::Category
            }
            Some(Ctx::Currencies) if tag == "currency" => {
                if let Some(code) = find(attrs, &["id"]).and_then(feed_kit::price::currency_code) {
                    self.currencies.declare(code, find(attrs, &["rate"]));
                }
                Ctx::Skip
            }
            Some(Ctx::Offer) => Ctx::Field(self.begin_field(tag, attrs, location)),
            Some(Ctx::Field(Field::Ignore) | Ctx::Skip | Ctx::Categories | Ctx::Currencies) => {
                Ctx::Skip
            }
            Some(Ctx::Field(_) | Ctx::Markup | Ctx::Category) => {
                if self.field == Some(Field::Extra) {
                    self.field_nested = true;
                }
                if self.in_description() {
                    // Unescaped XHTML in a description is still the description, as written.
                    self.text.push('<');
                    self.text.push_str(tag);
                    self.text.push_str(element.raw_attrs);
                    self.text.push_str(if element.empty { "/>" } else { ">" });
                }
                Ctx::Markup
            }
        };
        self.stack.push(ctx);
        self.opened_empty = element.empty;
        Ok(())
    }

    fn root(&mut self, tag: &str, location: &Location) -> Result<Ctx, ModuleError> {
        let position = match (location.line, location.column) {
            (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
            _ => String::new(),
        };
        let local = tag.rsplit(':').next().unwrap_or(tag);
        let hint = match local {
            "yml_catalog" | "shop" | "offers" => return Ok(Ctx::Structural),
            "rss" | "feed" => {
                "an RSS/Atom feed: Google Merchant feeds are read by the `google-merchant` module"
            }
            "price" => "a Hotline.ua price list: use the `hotline` module",
            "Workbook" => {
                "an Excel 2003 SpreadsheetML workbook, not a feed: export it as CSV and use the `csv` module"
            }
            "root" => {
                "not YML; if it is the windows-1251 dealer price list with <node> groups, use the `dealer-xml` module"
            }
            _ => "not a YML feed",
        };
        Err(ModuleError::unsupported(format!(
            "the root element is <{tag}>{position}, expected <yml_catalog>: this is {hint}"
        )))
    }

    fn begin_offer(&mut self, attrs: &[(String, String)], mut location: Location) {
        location.record_index = Some(self.offers);
        self.offers = self.offers.saturating_add(1);
        let mut draft = Draft {
            location,
            ..Draft::default()
        };
        Draft::set_once(
            &mut draft.id,
            find(attrs, &["id"]).unwrap_or_default().trim(),
        );
        draft.available = find(attrs, AVAILABLE_KEYS).map(str::to_owned);
        Draft::set_once(
            &mut draft.group_id,
            find(attrs, &["group_id"]).unwrap_or_default().trim(),
        );
        self.draft = Some(draft);
    }

    fn begin_field(&mut self, tag: &str, attrs: &[(String, String)], location: Location) -> Field {
        let kind = field_kind(tag);
        self.text.clear();
        self.field = Some(kind);
        self.field_location = location;
        self.field_nested = false;
        self.field_unit = None;
        self.field_lang = None;
        self.field_code = None;
        self.field_name.clear();
        match kind {
            Field::Param => {
                let name = find(attrs, &["name"])
                    .filter(|n| !n.trim().is_empty())
                    .or_else(|| find(attrs, &["paramcode"]));
                self.field_name.push_str(name.unwrap_or_default().trim());
                self.field_unit = find(attrs, &["unit"])
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned);
            }
            Field::Name | Field::Description => {
                let base = if kind == Field::Name {
                    "name"
                } else {
                    "description"
                };
                let lang = text::language_suffix(tag, base)
                    .or_else(|| find(attrs, &["lang", "xml:lang"]))
                    .map(text::normalize_language)
                    .filter(|l| !l.is_empty());
                self.field_lang = lang;
            }
            Field::Category => {
                self.field_code = find(attrs, &["code", "id"])
                    .map(|c| text::normalize_id(c).to_owned())
                    .filter(|c| !c.is_empty());
            }
            Field::Extra => self.field_name.push_str(tag),
            _ => {}
        }
        kind
    }

    /// The end of element `name` (at once after its start when it was written `<x/>`).
    fn close(&mut self, name: &str, out: &mut ProductSink) -> Result<(), ModuleError> {
        let written_end = !std::mem::take(&mut self.opened_empty);
        let Some(ctx) = self.stack.pop() else {
            return Ok(());
        };
        match ctx {
            Ctx::Markup if written_end && self.in_description() => {
                feed_kit::xml::push_end_markup(&mut self.text, name);
            }
            Ctx::Field(kind) => self.end_field(kind),
            Ctx::Category => self.end_category(out),
            Ctx::Offer => self.end_offer(out)?,
            _ => {}
        }
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        if let Some((reason, location)) = self.strict_problem() {
            return Err(invalid(reason, location));
        }
        Ok(())
    }

    /// In strict mode a bad field fails the feed where the field is, not at the offer's end.
    fn strict_problem(&mut self) -> Option<(String, Location)> {
        if self.options.lenient {
            return None;
        }
        let draft = self.draft.as_mut()?;
        let (reason, location) = draft.problem.take()?;
        let id = draft.id.as_deref().unwrap_or("?");
        Some((format!("offer {id:?}: {reason}"), location))
    }

    fn end_field(&mut self, kind: Field) {
        self.field = None;
        let Some(draft) = self.draft.as_mut() else {
            return;
        };
        let value = text::clean(&self.text);
        let location = &self.field_location;
        match kind {
            Field::Name | Field::Description => {
                if !value.is_empty() {
                    let variant = Variant {
                        lang: self.field_lang.take(),
                        text: value.to_owned(),
                    };
                    if kind == Field::Name {
                        draft.names.push(variant);
                    } else {
                        draft.descriptions.push(variant);
                    }
                }
            }
            Field::Price | Field::OldPrice if text::is_placeholder(value) => {
                // "-" is how some shop engines say "price on request": no price, not a bad one.
                if !value.is_empty() {
                    let id = draft.id.as_deref().unwrap_or("?");
                    let which = if kind == Field::Price {
                        "price"
                    } else {
                        "old price"
                    };
                    draft.warnings.push(format!(
                        "offer {id:?}: {which} {value:?} is a placeholder; left empty"
                    ));
                }
            }
            Field::Price => Draft::set_once(&mut draft.price, value),
            Field::OldPrice => Draft::set_once(&mut draft.old_price, value),
            Field::Currency => Draft::set_once(&mut draft.currency, value),
            Field::CategoryId => {
                Draft::set_once(&mut draft.category_id, text::normalize_id(value));
            }
            Field::Category => {
                if draft.inline_category.is_none() {
                    draft.inline_category = Some((self.field_code.take(), value.to_owned()));
                }
            }
            Field::Vendor => Draft::set_once(&mut draft.vendor, value),
            Field::VendorCode => Draft::set_once(&mut draft.vendor_code, value),
            Field::Sku => Draft::set_once(&mut draft.sku, value),
            Field::Model => {
                Draft::set_once(&mut draft.model, value);
                if !value.is_empty() {
                    draft.attributes.push(Attribute::new("model", value));
                }
            }
            Field::TypePrefix => Draft::set_once(&mut draft.type_prefix, value),
            Field::Url => Draft::set_once(&mut draft.url, value),
            Field::Picture => {
                if !value.is_empty() {
                    draft.pictures.push(value.to_owned());
                }
            }
            Field::Barcode => {
                if !value.is_empty() {
                    draft.barcodes.push(value.to_owned());
                }
            }
            Field::Param => {
                if !value.is_empty() && !self.field_name.is_empty() {
                    draft.attributes.push(Attribute {
                        name: self.field_name.clone(),
                        value: value.to_owned(),
                        unit: self.field_unit.take(),
                    });
                }
            }
            Field::Quantity => {
                if !value.is_empty() && draft.quantity.is_none() {
                    if let Err(reason) = text::parse_quantity(value) {
                        draft.flag(reason, location);
                    }
                    draft.quantity = Some(value.to_owned());
                }
            }
            Field::GroupId => Draft::set_once(&mut draft.group_id, value),
            Field::Available => {
                if draft.available.is_none() && !value.is_empty() {
                    draft.available = Some(value.to_owned());
                }
            }
            Field::Extra => {
                if !value.is_empty() && !self.field_nested {
                    draft
                        .attributes
                        .push(Attribute::new(self.field_name.as_str(), value));
                }
            }
            Field::Ignore => {}
        }
        // Values that must convert are checked here so a strict run stops at the field.
        let priced = match kind {
            Field::Price => draft.price.as_deref(),
            Field::OldPrice => draft.old_price.as_deref(),
            _ => None,
        };
        if let Some(Err(e)) = priced.map(feed_kit::parse_price) {
            let reason = if kind == Field::OldPrice {
                format!("old {e}")
            } else {
                e.to_string()
            };
            draft.flag(reason, location);
        }
        if kind == Field::Currency
            && let Some(raw) = &draft.currency
            && feed_kit::price::currency_code(raw).is_none()
        {
            let reason = format!("currencyId {raw:?} is not a currency code");
            draft.flag(reason, location);
        }
        self.text.clear();
    }

    fn end_category(&mut self, out: &mut ProductSink) {
        let name = text::clean(&self.text).to_owned();
        self.text.clear();
        match self.category_id.take() {
            Some(id) if !id.is_empty() => {
                self.categories
                    .insert(id, name, self.category_parent.take());
            }
            _ => out.warn(
                Warning::new(format!(
                    "category {name:?} has no `id` attribute; offers cannot refer to it"
                ))
                .at(self.category_location.clone()),
            ),
        }
    }

    fn end_offer(&mut self, out: &mut ProductSink) -> Result<(), ModuleError> {
        let Some(draft) = self.draft.take() else {
            return Ok(());
        };
        let location = draft.location.clone();
        let mut notes = Notes::default();
        let mut cx = Context {
            options: self.options,
            categories: &mut self.categories,
            currencies: &self.currencies,
        };
        let built = draft.build(&mut cx, &mut notes);
        for note in notes.warnings {
            out.warn(Warning::new(note).at(location.clone()));
        }
        match built {
            Ok(product) => {
                self.emitted.read(&product);
                if notes.nameless {
                    self.nameless += 1;
                }
                self.emitted.emit(out, product, &location);
                Ok(())
            }
            Err((reason, at)) if self.options.lenient => {
                out.skip(Warning::new(format!("{reason}; offer skipped (lenient)")).at(at));
                Ok(())
            }
            Err((reason, at)) => Err(invalid(reason, at)),
        }
    }

    /// The end of the feed; `feed_kit::xml` has already refused one that ends inside an element.
    fn finish(&mut self, at: Location, out: &mut ProductSink) -> Result<(), ModuleError> {
        if !self.root_closed {
            return Err(invalid("the feed is empty: no root element", at));
        }
        // YML has no mapping to fix: the warning says which element the offers lack.
        self.emitted.finish(out, |field| match field {
            feed_kit::Needed::OfferId => "each <offer> needs an `id` attribute".to_owned(),
            feed_kit::Needed::Price => "each <offer> needs a <price> element".to_owned(),
        });
        if self.nameless > 0 {
            out.warn(Warning::new(format!(
                "{} offer(s) have no name (a price/stock update feed?): emitted with an empty \
                 name, to be matched by offer id",
                self.nameless
            )));
        }
        Ok(())
    }
}
