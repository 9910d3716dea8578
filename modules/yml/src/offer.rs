//! One `<offer>` as it is read, and the product it becomes.

use contextworker_guest::{Attribute, Availability, Location, Product};

use crate::Options;
use crate::categories::{Categories, Currencies};
use crate::text;

/// A text that may come in several languages: `name`, `name_ua`, `name lang="ru"`.
#[derive(Debug)]
pub(crate) struct Variant {
    /// Normalized language, `None` for the plain unsuffixed element.
    pub lang: Option<String>,
    pub text: String,
}

/// The fields of the offer being read. Everything is kept as written; conversion (prices,
/// quantities, currencies) happens once the offer is complete, in [`Draft::build`].
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub location: Location,
    pub id: Option<String>,
    pub available: Option<String>,
    pub group_id: Option<String>,
    pub names: Vec<Variant>,
    pub descriptions: Vec<Variant>,
    pub price: Option<String>,
    pub old_price: Option<String>,
    pub currency: Option<String>,
    pub category_id: Option<String>,
    /// Epicentr style: `<category code="5442">Валізи</category>` inside the offer.
    pub inline_category: Option<(Option<String>, String)>,
    pub vendor: Option<String>,
    pub vendor_code: Option<String>,
    pub sku: Option<String>,
    pub model: Option<String>,
    pub type_prefix: Option<String>,
    pub url: Option<String>,
    pub pictures: Vec<String>,
    pub barcodes: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub quantity: Option<String>,
    /// The first field whose value cannot be used, and where it was.
    pub problem: Option<(String, Location)>,
    /// Things worth telling the supplier that do not stop the offer.
    pub warnings: Vec<String>,
}

/// What building an offer produced besides the product.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub warnings: Vec<String>,
    pub nameless: bool,
}

/// Where an offer's category and currency are looked up.
pub(crate) struct Context<'a> {
    pub options: &'a Options,
    pub categories: &'a mut Categories,
    pub currencies: &'a Currencies,
}

impl Draft {
    pub(crate) fn set_once(slot: &mut Option<String>, value: &str) {
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }

    pub(crate) fn flag(&mut self, reason: String, location: &Location) {
        if self.problem.is_none() {
            self.problem = Some((reason, location.clone()));
        }
    }

    /// The product, or why this offer cannot be one (with where).
    pub(crate) fn build(
        mut self,
        cx: &mut Context<'_>,
        notes: &mut Notes,
    ) -> Result<Product, (String, Location)> {
        notes.warnings.append(&mut self.warnings);
        let Some(id) = self.id.take() else {
            return Err((
                "offer without an `id` attribute (the offer id is required)".to_owned(),
                self.location,
            ));
        };
        if let Some(problem) = self.problem.take() {
            return Err((format!("offer {id:?}: {}", problem.0), problem.1));
        }
        let at = |reason: String| (format!("offer {id:?}: {reason}"), self.location.clone());

        let name = match pick(&mut self.names, &cx.options.language) {
            Some(name) => name,
            None => match &self.model {
                // type="vendor.model" offers describe themselves in parts.
                Some(model) => [self.type_prefix.as_deref(), self.vendor.as_deref()]
                    .into_iter()
                    .flatten()
                    .chain([model.as_str()])
                    .collect::<Vec<_>>()
                    .join(" "),
                None => {
                    notes.nameless = true;
                    String::new()
                }
            },
        };
        let description = pick(&mut self.descriptions, &cx.options.language);

        let mut price_currency = None;
        let price = match self.price.as_deref() {
            Some(raw) => {
                let money = feed_kit::parse_price(raw).map_err(|e| at(e.to_string()))?;
                price_currency = money.currency;
                Some(money.amount)
            }
            None => None,
        };
        let old_price = match self.old_price.as_deref() {
            Some(raw) => Some(
                feed_kit::parse_price(raw)
                    .map_err(|e| at(format!("old {e}")))?
                    .amount,
            ),
            None => None,
        };
        let currency = match self.currency.as_deref() {
            Some(raw) => Some(
                feed_kit::price::currency_code(raw)
                    .ok_or_else(|| at(format!("currencyId {raw:?} is not a currency code")))?,
            ),
            None => price_currency
                .or_else(|| cx.options.currency.clone())
                .or_else(|| cx.currencies.base().map(str::to_owned)),
        };
        let quantity = match self.quantity.as_deref() {
            Some(raw) => Some(text::parse_quantity(raw).map_err(at)?),
            None => None,
        };
        let availability = match self.available.as_deref() {
            Some(raw) => match feed_kit::parse_availability(raw) {
                Some(a) => a,
                None => {
                    if !raw.trim().is_empty() {
                        notes.warnings.push(format!(
                            "offer {id:?}: availability {raw:?} is not recognized; left unknown"
                        ));
                    }
                    Availability::Unknown
                }
            },
            None => match quantity {
                Some(q) if q > 0 => Availability::InStock,
                Some(_) => Availability::OutOfStock,
                None => Availability::Unknown,
            },
        };

        let (category_id, category_path) = match self.category_id.take() {
            Some(cid) => match cx.categories.path(&cid) {
                Some(path) => (Some(cid), path),
                None => {
                    if cx.categories.first_unknown(&cid) {
                        notes.warnings.push(format!(
                            "offer {id:?} refers to category {cid:?}, which is not declared \
                             (before this offer); offers in it get an empty category path \
                             (reported once per category)"
                        ));
                    }
                    (Some(cid), Vec::new())
                }
            },
            None => match self.inline_category.take() {
                Some((code, name)) if !name.is_empty() => (code, vec![name]),
                Some((code, _)) => (code, Vec::new()),
                None => (None, Vec::new()),
            },
        };

        Ok(Product {
            offer_id: id,
            sku: self.sku,
            vendor_code: self.vendor_code,
            name,
            description,
            brand: self.vendor,
            category_path,
            category_id,
            price,
            old_price,
            currency,
            quantity,
            availability,
            url: self.url,
            image_urls: self.pictures,
            barcodes: self.barcodes,
            attributes: self.attributes,
            variant_group_id: self.group_id,
        })
    }
}

/// The variant in `language`, else the unsuffixed one, else the first given.
fn pick(variants: &mut Vec<Variant>, language: &str) -> Option<String> {
    let index = variants
        .iter()
        .position(|v| v.lang.as_deref() == Some(language))
        .or_else(|| variants.iter().position(|v| v.lang.is_none()))
        .or(if variants.is_empty() { None } else { Some(0) })?;
    Some(variants.swap_remove(index).text)
}
