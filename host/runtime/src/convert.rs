//! Conversions from the generated binding types into the host's shared types. Guest output is
//! untrusted: conversion is total (every value maps) and sizes are counted before anything is kept.

use contextworker_types as t;

use crate::bindings::types as wit;
use crate::error::{GuestError, GuestErrorKind, capped_message};

pub(crate) fn product(p: wit::Product) -> t::Product {
    t::convert_product!(p, wit => t)
}

pub(crate) fn product_to_wit(p: &t::Product) -> wit::Product {
    t::convert_product!(p.clone(), t => wit)
}

/// Bytes a product holds, counted against the call's output cap.
pub(crate) fn approx_product_size(p: &wit::Product) -> u64 {
    fn opt(s: &Option<String>) -> usize {
        s.as_ref().map_or(0, String::len)
    }
    let optional = [
        &p.sku,
        &p.vendor_code,
        &p.description,
        &p.brand,
        &p.category_id,
        &p.price,
        &p.old_price,
        &p.currency,
        &p.url,
        &p.variant_group_id,
    ];
    let total = 64
        + p.offer_id.len()
        + p.name.len()
        + optional.iter().map(|s| opt(s)).sum::<usize>()
        + p.category_path.iter().map(String::len).sum::<usize>()
        + p.image_urls.iter().map(String::len).sum::<usize>()
        + p.barcodes.iter().map(String::len).sum::<usize>()
        + p.attributes
            .iter()
            .map(|a| a.name.len() + a.value.len() + opt(&a.unit))
            .sum::<usize>();
    total as u64
}

pub(crate) fn location(l: wit::Location) -> t::Location {
    t::Location {
        byte_offset: l.byte_offset,
        line: l.line,
        column: l.column,
        record_index: l.record_index,
        // A JSON pointer or an XML path: a few hundred bytes in any real feed.
        path: l.path.map(|mut p| {
            crate::text::truncate_marked(&mut p, 1024);
            p
        }),
    }
}

pub(crate) fn warning(w: wit::Warning) -> t::Warning {
    t::Warning {
        message: w.message,
        location: w.location.map(location),
        offer_id: w.offer_id,
    }
}

pub(crate) fn module_error(e: wit::ModuleError) -> GuestError {
    match e {
        wit::ModuleError::InvalidInput(i) => GuestError {
            kind: GuestErrorKind::InvalidInput,
            message: capped_message(i.message),
            location: i.location.map(location),
        },
        wit::ModuleError::Unsupported(m) => GuestError {
            kind: GuestErrorKind::Unsupported,
            message: capped_message(m),
            location: None,
        },
        wit::ModuleError::Internal(m) => GuestError {
            kind: GuestErrorKind::Internal,
            message: capped_message(m),
            location: None,
        },
    }
}
