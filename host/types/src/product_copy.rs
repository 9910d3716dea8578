//! The WIT `product` record has several Rust copies: [`crate::Product`], the runtime's
//! generated bindings and the guest SDK's. They live in crates that cannot depend on each
//! other (this one stays free of wasmtime), so no `From` impl can name two of them; the macro
//! below keeps the one field list every conversion between them uses.

/// Moves a product, by value, from one copy of the WIT `product` record to another.
///
/// `$from` and `$to` are the paths in scope (a module or crate alias) that hold each copy's
/// `Product`, `Attribute` and `Availability`; both copies have every field of the record under
/// the same name, so a field added to the record without being added here fails to compile.
/// For example `convert_product!(p, wit => t)`, with `t` standing for this crate.
#[macro_export]
macro_rules! convert_product {
    ($product:expr, $from:ident => $to:ident) => {{
        let p: $from::Product = $product;
        $to::Product {
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
                $from::Availability::InStock => $to::Availability::InStock,
                $from::Availability::OutOfStock => $to::Availability::OutOfStock,
                $from::Availability::Preorder => $to::Availability::Preorder,
                $from::Availability::OnOrder => $to::Availability::OnOrder,
                $from::Availability::Unknown => $to::Availability::Unknown,
            },
            url: p.url,
            image_urls: p.image_urls,
            barcodes: p.barcodes,
            attributes: p
                .attributes
                .into_iter()
                .map(|a| $to::Attribute {
                    name: a.name,
                    value: a.value,
                    unit: a.unit,
                })
                .collect(),
            variant_group_id: p.variant_group_id,
        }
    }};
}
