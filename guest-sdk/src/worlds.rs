//! The module kinds, one trait each, and the macros that export an implementation.

use crate::{Config, EnrichError, Enrichment, FeedReader, ModuleError, Product, ProductSink};

/// Feed bytes in, products out. Read from `input` as a stream and emit products as they are
/// parsed: the host never needs the whole feed or the whole result in guest memory.
pub trait Transformer {
    fn transform(
        input: &mut FeedReader,
        output: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError>;
}

/// A category decision for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub offer_id: String,
    /// Root to leaf; empty when the classifier abstains.
    pub category_path: Vec<String>,
    pub category_id: Option<String>,
    /// 0.0 to 1.0.
    pub confidence: f32,
}

/// A batch of products in, a classification per product out.
pub trait Classifier {
    fn classify(
        products: Vec<Product>,
        config: &Config,
    ) -> Result<Vec<Classification>, ModuleError>;
}

/// Products in, the gardener's enrichment of each out (contract 0.1.1). Return one
/// [`Enrichment`] per product you can say something about; a product left out is retried by
/// the host, so a partial answer is better than an error.
pub trait Enricher {
    fn enrich(products: Vec<Product>, config: &Config) -> Result<Vec<Enrichment>, EnrichError>;
}

/// Input and output of a [`Code`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Text(String),
    Binary(Vec<u8>),
}

impl Data {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(s) => s.as_bytes(),
            Self::Binary(b) => b,
        }
    }
}

/// The ExecuteCode entry point. Whatever the code prints to stdout/stderr is captured by the host.
pub trait Code {
    fn run(input: Data, config: &Config) -> Result<Data, ModuleError>;
}

/// Export a [`Transformer`] as this component's `transform` function.
#[cfg(all(guest_bindings, feature = "transformer"))]
#[macro_export]
macro_rules! export_transformer {
    ($ty:ty) => {
        const _: () = {
            struct __ContextWorkerExport;
            impl $crate::bindings::transformer::Guest for __ContextWorkerExport {
                fn transform() -> ::core::result::Result<
                    $crate::bindings::transformer::TransformSummary,
                    $crate::bindings::transformer::ModuleError,
                > {
                    $crate::bindings::run_transformer::<$ty>()
                }
            }
            $crate::bindings::transformer::__export_transformer!(
                __ContextWorkerExport with_types_in $crate::bindings::transformer
            );
        };
    };
}

/// Export a [`Transformer`] (natively: only checks the type implements the trait).
#[cfg(not(all(guest_bindings, feature = "transformer")))]
#[macro_export]
macro_rules! export_transformer {
    ($ty:ty) => {
        const _: fn() = || {
            fn implements<T: $crate::Transformer>() {}
            implements::<$ty>();
        };
    };
}

/// Export a [`Classifier`] as this component's `classify` function.
#[cfg(all(guest_bindings, feature = "classifier"))]
#[macro_export]
macro_rules! export_classifier {
    ($ty:ty) => {
        const _: () = {
            struct __ContextWorkerExport;
            impl $crate::bindings::classifier::Guest for __ContextWorkerExport {
                fn classify(
                    products: $crate::bindings::__rt::Vec<$crate::bindings::classifier::Product>,
                ) -> ::core::result::Result<
                    $crate::bindings::__rt::Vec<$crate::bindings::classifier::Classification>,
                    $crate::bindings::classifier::ModuleError,
                > {
                    $crate::bindings::run_classifier::<$ty>(products)
                }
            }
            $crate::bindings::classifier::__export_classifier!(
                __ContextWorkerExport with_types_in $crate::bindings::classifier
            );
        };
    };
}

/// Export a [`Classifier`] (natively: only checks the type implements the trait).
#[cfg(not(all(guest_bindings, feature = "classifier")))]
#[macro_export]
macro_rules! export_classifier {
    ($ty:ty) => {
        const _: fn() = || {
            fn implements<T: $crate::Classifier>() {}
            implements::<$ty>();
        };
    };
}

/// Export a [`Code`] implementation as this component's `run` function.
#[cfg(all(guest_bindings, feature = "code"))]
#[macro_export]
macro_rules! export_code {
    ($ty:ty) => {
        const _: () = {
            struct __ContextWorkerExport;
            impl $crate::bindings::code::Guest for __ContextWorkerExport {
                fn run(
                    input: $crate::bindings::code::Data,
                ) -> ::core::result::Result<$crate::bindings::code::Data, $crate::bindings::code::ModuleError> {
                    $crate::bindings::run_code::<$ty>(input)
                }
            }
            $crate::bindings::code::__export_code!(__ContextWorkerExport with_types_in $crate::bindings::code);
        };
    };
}

/// Export a [`Code`] implementation (natively: only checks the type implements the trait).
#[cfg(not(all(guest_bindings, feature = "code")))]
#[macro_export]
macro_rules! export_code {
    ($ty:ty) => {
        const _: fn() = || {
            fn implements<T: $crate::Code>() {}
            implements::<$ty>();
        };
    };
}

/// Export an [`Enricher`] as this component's `enrich` function.
#[cfg(all(guest_bindings, feature = "enricher"))]
#[macro_export]
macro_rules! export_enricher {
    ($ty:ty) => {
        const _: () = {
            struct __ContextWorkerExport;
            impl $crate::bindings::enricher::Guest for __ContextWorkerExport {
                fn enrich(
                    products: $crate::bindings::__rt::Vec<$crate::bindings::enricher::Product>,
                ) -> ::core::result::Result<
                    $crate::bindings::__rt::Vec<$crate::bindings::enricher::ProductEnrichment>,
                    $crate::bindings::enricher::EnrichError,
                > {
                    $crate::bindings::run_enricher::<$ty>(products)
                }
            }
            $crate::bindings::enricher::__export_enricher!(
                __ContextWorkerExport with_types_in $crate::bindings::enricher
            );
        };
    };
}

/// Export an [`Enricher`] (natively: only checks the type implements the trait).
#[cfg(not(all(guest_bindings, feature = "enricher")))]
#[macro_export]
macro_rules! export_enricher {
    ($ty:ty) => {
        const _: fn() = || {
            fn implements<T: $crate::Enricher>() {}
            implements::<$ty>();
        };
    };
}
