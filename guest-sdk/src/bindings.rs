//! The generated WIT bindings and the glue between them and the SDK's own types.
//! Compiled only for wasm32 with one world feature; module authors never name anything here.

#![allow(unsafe_code, clippy::all, missing_docs, unused_qualifications)]

pub use wit_bindgen as __wit_bindgen;

/// Paths the export macros expand to inside module crates.
pub mod __rt {
    pub use std::vec::Vec;
}

#[cfg(feature = "transformer")]
pub mod transformer {
    wit_bindgen::generate!({
        path: "../wit/module@0.1.0",
        world: "transformer",
        pub_export_macro: true,
        export_macro_name: "__export_transformer",
        runtime_path: "::contextworker_guest::bindings::__wit_bindgen::rt",
    });
}
#[cfg(feature = "transformer")]
pub use transformer as active;

#[cfg(feature = "classifier")]
pub mod classifier {
    wit_bindgen::generate!({
        path: "../wit/module@0.1.0",
        world: "classifier",
        pub_export_macro: true,
        export_macro_name: "__export_classifier",
        runtime_path: "::contextworker_guest::bindings::__wit_bindgen::rt",
    });
}
#[cfg(all(feature = "classifier", not(feature = "transformer")))]
pub use classifier as active;

/// Contract 0.1.1's world; the host links 0.1.0 and 0.1.1 guests alike.
#[cfg(feature = "enricher")]
pub mod enricher {
    wit_bindgen::generate!({
        path: "../wit/module@0.1.1",
        world: "enricher",
        pub_export_macro: true,
        export_macro_name: "__export_enricher",
        runtime_path: "::contextworker_guest::bindings::__wit_bindgen::rt",
    });
}
#[cfg(all(
    feature = "enricher",
    not(any(feature = "transformer", feature = "classifier"))
))]
pub use enricher as active;

#[cfg(feature = "code")]
pub mod code {
    wit_bindgen::generate!({
        path: "../wit/module@0.1.0",
        world: "code",
        pub_export_macro: true,
        export_macro_name: "__export_code",
        runtime_path: "::contextworker_guest::bindings::__wit_bindgen::rt",
    });
}
#[cfg(all(
    feature = "code",
    not(any(feature = "transformer", feature = "classifier", feature = "enricher"))
))]
pub use code as active;

use active::contextworker::module::{log as wit_log, types as wit};

#[cfg(any(feature = "classifier", feature = "enricher"))]
use crate::Attribute;
#[cfg(any(feature = "transformer", feature = "classifier", feature = "enricher"))]
use crate::Availability;
use crate::log::Level;
use crate::{Config, Location, ModuleError, Product, Warning};

pub(crate) fn log(level: Level, message: &str, fields: &[(&str, String)]) {
    let level = match level {
        Level::Trace => wit_log::Level::Trace,
        Level::Debug => wit_log::Level::Debug,
        Level::Info => wit_log::Level::Info,
        Level::Warn => wit_log::Level::Warn,
        Level::Error => wit_log::Level::Error,
    };
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    wit_log::log(level, message, &fields);
}

#[cfg(feature = "transformer")]
pub(crate) fn deliver(products: Vec<Product>, warnings: Vec<Warning>) {
    use active::contextworker::module::sink;
    if !products.is_empty() {
        let batch: Vec<wit::Product> = products.into_iter().map(product_to_wit).collect();
        sink::emit(&batch);
    }
    if !warnings.is_empty() {
        let batch: Vec<wit::Warning> = warnings.into_iter().map(warning_to_wit).collect();
        sink::warn(&batch);
    }
}

#[cfg(not(feature = "transformer"))]
pub(crate) fn deliver(_products: Vec<Product>, _warnings: Vec<Warning>) {}

#[cfg(feature = "transformer")]
pub fn run_transformer<T: crate::Transformer>()
-> Result<transformer::TransformSummary, wit::ModuleError> {
    let config = Config::from_host();
    let mut input = crate::FeedReader::host();
    let mut sink = crate::ProductSink::host();
    let result = T::transform(&mut input, &mut sink, &config);
    sink.flush();
    result
        .map(|()| transformer::TransformSummary {
            records_seen: sink.records_seen(),
        })
        .map_err(error_to_wit)
}

#[cfg(feature = "classifier")]
pub fn run_classifier<T: crate::Classifier>(
    products: Vec<wit::Product>,
) -> Result<Vec<classifier::Classification>, wit::ModuleError> {
    let config = Config::from_host();
    let products = products.into_iter().map(product_from_wit).collect();
    T::classify(products, &config)
        .map(|out| {
            out.into_iter()
                .map(|c| classifier::Classification {
                    offer_id: c.offer_id,
                    category_path: c.category_path,
                    category_id: c.category_id,
                    confidence: c.confidence,
                })
                .collect()
        })
        .map_err(error_to_wit)
}

#[cfg(feature = "enricher")]
pub fn run_enricher<T: crate::Enricher>(
    products: Vec<wit::Product>,
) -> Result<Vec<enricher::ProductEnrichment>, enricher::EnrichError> {
    use crate::{EnrichError, Gender, Verdict};
    use enricher::contextworker::module::enrichment as e;
    let config = Config::from_host();
    let products = products.into_iter().map(product_from_wit).collect();
    let gender = |g: Gender| match g {
        Gender::Men => e::Gender::Men,
        Gender::Women => e::Gender::Women,
        Gender::Unisex => e::Gender::Unisex,
        Gender::Kids => e::Gender::Kids,
    };
    match T::enrich(products, &config) {
        Ok(out) => Ok(out
            .into_iter()
            .map(|x| e::ProductEnrichment {
                offer_id: x.offer_id,
                verdict: match x.verdict {
                    Verdict::Classified(f) => e::Verdict::Classified(e::Facets {
                        category_slug: f.category_slug,
                        category_path: f.category_path,
                        color: f.color,
                        size: f.size,
                        gender: f.gender.map(gender),
                        product_type: f.product_type,
                        model: f.model,
                    }),
                    Verdict::Abstained(reason) => e::Verdict::Abstained(reason),
                    Verdict::Failed(reason) => e::Verdict::Failed(reason),
                },
                confidence: x.confidence,
                tokens: x.tokens,
            })
            .collect()),
        Err(EnrichError::Module(m)) => Err(e::EnrichError::Module(error_to_wit(m))),
        Err(EnrichError::Unavailable(m)) => Err(e::EnrichError::Unavailable(m)),
    }
}

#[cfg(feature = "code")]
pub fn run_code<T: crate::Code>(input: wit::Data) -> Result<wit::Data, wit::ModuleError> {
    let config = Config::from_host();
    let input = match input {
        wit::Data::Text(s) => crate::Data::Text(s),
        wit::Data::Binary(b) => crate::Data::Binary(b),
    };
    T::run(input, &config)
        .map(|out| match out {
            crate::Data::Text(s) => wit::Data::Text(s),
            crate::Data::Binary(b) => wit::Data::Binary(b),
        })
        .map_err(error_to_wit)
}

fn error_to_wit(e: ModuleError) -> wit::ModuleError {
    match e {
        ModuleError::InvalidInput { message, location } => {
            wit::ModuleError::InvalidInput(wit::InputError {
                message,
                location: location.map(location_to_wit),
            })
        }
        ModuleError::Unsupported(m) => wit::ModuleError::Unsupported(m),
        ModuleError::Internal(m) => wit::ModuleError::Internal(m),
    }
}

fn location_to_wit(l: Location) -> wit::Location {
    wit::Location {
        byte_offset: l.byte_offset,
        line: l.line,
        column: l.column,
        record_index: l.record_index,
        path: l.path,
    }
}

#[cfg(feature = "transformer")]
fn warning_to_wit(w: Warning) -> wit::Warning {
    wit::Warning {
        message: w.message,
        location: w.location.map(location_to_wit),
        offer_id: w.offer_id,
    }
}

#[cfg(feature = "transformer")]
fn product_to_wit(p: Product) -> wit::Product {
    wit::Product {
        offer_id: p.offer_id,
        sku: p.sku,
        vendor_code: p.vendor_code,
        name: p.name,
        description: p.description,
        brand: p.brand,
        category_path: p.category_path,
        category_id: p.category_id,
        price: p.price,
        old_price: p.old_price,
        currency: p.currency,
        quantity: p.quantity,
        availability: match p.availability {
            Availability::InStock => wit::Availability::InStock,
            Availability::OutOfStock => wit::Availability::OutOfStock,
            Availability::Preorder => wit::Availability::Preorder,
            Availability::OnOrder => wit::Availability::OnOrder,
            Availability::Unknown => wit::Availability::Unknown,
        },
        url: p.url,
        image_urls: p.image_urls,
        barcodes: p.barcodes,
        attributes: p
            .attributes
            .into_iter()
            .map(|a| wit::Attribute {
                name: a.name,
                value: a.value,
                unit: a.unit,
            })
            .collect(),
        variant_group_id: p.variant_group_id,
    }
}

#[cfg(any(feature = "classifier", feature = "enricher"))]
fn product_from_wit(p: wit::Product) -> Product {
    Product {
        offer_id: p.offer_id,
        sku: p.sku,
        vendor_code: p.vendor_code,
        name: p.name,
        description: p.description,
        brand: p.brand,
        category_path: p.category_path,
        category_id: p.category_id,
        price: p.price,
        old_price: p.old_price,
        currency: p.currency,
        quantity: p.quantity,
        availability: match p.availability {
            wit::Availability::InStock => Availability::InStock,
            wit::Availability::OutOfStock => Availability::OutOfStock,
            wit::Availability::Preorder => Availability::Preorder,
            wit::Availability::OnOrder => Availability::OnOrder,
            wit::Availability::Unknown => Availability::Unknown,
        },
        url: p.url,
        image_urls: p.image_urls,
        barcodes: p.barcodes,
        attributes: p
            .attributes
            .into_iter()
            .map(|a| Attribute {
                name: a.name,
                value: a.value,
                unit: a.unit,
            })
            .collect(),
        variant_group_id: p.variant_group_id,
    }
}
