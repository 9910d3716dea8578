//! The normalized product a transformer emits: plain data, built with chained setters.

/// Stock state as the supplier states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Availability {
    InStock,
    OutOfStock,
    Preorder,
    OnOrder,
    #[default]
    Unknown,
}

/// A name/value pair from the feed; `unit` kept apart so "12 kg" stays comparable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribute {
    pub name: String,
    pub value: String,
    pub unit: Option<String>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            unit: None,
        }
    }

    #[must_use]
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }
}

/// One supplier offer. Prices are exact decimal strings ("2187.00"): never go through a float.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Product {
    pub offer_id: String,
    pub sku: Option<String>,
    pub vendor_code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub brand: Option<String>,
    pub category_path: Vec<String>,
    pub category_id: Option<String>,
    pub price: Option<String>,
    pub old_price: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i64>,
    pub availability: Availability,
    pub url: Option<String>,
    pub image_urls: Vec<String>,
    pub barcodes: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub variant_group_id: Option<String>,
}

macro_rules! optional_setters {
    ($($field:ident),* $(,)?) => {
        $(
            #[must_use]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

impl Product {
    /// A product with the two fields every feed must give: the offer id and a name.
    pub fn new(offer_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            offer_id: offer_id.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    optional_setters!(
        sku,
        vendor_code,
        description,
        brand,
        category_id,
        price,
        old_price,
        currency,
        url,
        variant_group_id
    );

    #[must_use]
    pub fn quantity(mut self, quantity: i64) -> Self {
        self.quantity = Some(quantity);
        self
    }

    #[must_use]
    pub fn availability(mut self, availability: Availability) -> Self {
        self.availability = availability;
        self
    }

    #[must_use]
    pub fn category_path(mut self, path: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.category_path = path.into_iter().map(Into::into).collect();
        self
    }

    #[must_use]
    pub fn image(mut self, url: impl Into<String>) -> Self {
        self.image_urls.push(url.into());
        self
    }

    #[must_use]
    pub fn barcode(mut self, code: impl Into<String>) -> Self {
        self.barcodes.push(code.into());
        self
    }

    #[must_use]
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Rough size in bytes, used to cut batches that cross the component boundary.
    pub(crate) fn approx_size(&self) -> usize {
        fn opt(s: &Option<String>) -> usize {
            s.as_ref().map_or(0, String::len)
        }
        let strings = [
            &self.sku,
            &self.vendor_code,
            &self.description,
            &self.brand,
            &self.category_id,
            &self.price,
            &self.old_price,
            &self.currency,
            &self.url,
            &self.variant_group_id,
        ];
        64 + self.offer_id.len()
            + self.name.len()
            + strings.iter().map(|s| opt(s)).sum::<usize>()
            + self.category_path.iter().map(String::len).sum::<usize>()
            + self.image_urls.iter().map(String::len).sum::<usize>()
            + self.barcodes.iter().map(String::len).sum::<usize>()
            + self
                .attributes
                .iter()
                .map(|a| a.name.len() + a.value.len() + opt(&a.unit))
                .sum::<usize>()
    }
}
