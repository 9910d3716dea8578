//! What the staging database can hold, checked before a product reaches it.
//!
//! PostgreSQL refuses the NUL character in `text` and `jsonb` (SQLSTATE 22021 and 22P05), and
//! the unique index over (tenant, supplier, sku) refuses keys past about 2.7 KB (54000). Left
//! to the database, such a product fails its whole batch as a generic error that looks like an
//! outage and is retried until the harvest gives up. Checked here, it is one clear,
//! non-retryable refusal that names the product and the field. Nothing is altered silently:
//! a feed with NUL characters is usually a wrong encoding, and the module is where to clean it.

use contextworker_types::Product;

/// Longest offer id (the `sku` column) staged.
pub const MAX_OFFER_ID_BYTES: usize = 1024;

/// A product the staging database cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offer {offer_id:?}: {field} {reason}")]
pub struct InvalidProduct {
    /// The offer id, shortened to 64 characters for the message.
    pub offer_id: String,
    pub field: String,
    pub reason: &'static str,
}

/// Whether the staging database can hold `p`.
pub fn check_product(p: &Product) -> Result<(), InvalidProduct> {
    let refuse = |field: &str, reason: &'static str| InvalidProduct {
        offer_id: p.offer_id.chars().take(64).collect(),
        field: field.to_owned(),
        reason,
    };
    if p.offer_id.trim().is_empty() {
        return Err(refuse("offer_id", "is empty"));
    }
    if p.offer_id.len() > MAX_OFFER_ID_BYTES {
        return Err(refuse("offer_id", "is longer than 1024 bytes"));
    }
    let nul = "contains a NUL character, which the staging database cannot store";
    let single = [
        ("offer_id", Some(&p.offer_id)),
        ("name", Some(&p.name)),
        ("sku", p.sku.as_ref()),
        ("vendor_code", p.vendor_code.as_ref()),
        ("description", p.description.as_ref()),
        ("brand", p.brand.as_ref()),
        ("category_id", p.category_id.as_ref()),
        ("price", p.price.as_ref()),
        ("old_price", p.old_price.as_ref()),
        ("currency", p.currency.as_ref()),
        ("url", p.url.as_ref()),
        ("variant_group_id", p.variant_group_id.as_ref()),
    ];
    for (field, value) in single {
        if value.is_some_and(|v| v.contains('\0')) {
            return Err(refuse(field, nul));
        }
    }
    let lists = [
        ("category_path", &p.category_path),
        ("image_urls", &p.image_urls),
        ("barcodes", &p.barcodes),
    ];
    for (field, values) in lists {
        if values.iter().any(|v| v.contains('\0')) {
            return Err(refuse(field, nul));
        }
    }
    for a in &p.attributes {
        if a.name.contains('\0')
            || a.value.contains('\0')
            || a.unit.as_ref().is_some_and(|u| u.contains('\0'))
        {
            return Err(refuse("attributes", nul));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use contextworker_types::Attribute;

    #[test]
    fn nul_anywhere_and_unusable_ids_are_refused_with_the_offer_and_field() {
        let good = Product {
            offer_id: "a-1".into(),
            name: "Tent".into(),
            ..Product::default()
        };
        assert!(check_product(&good).is_ok());
        let mut p = good.clone();
        p.description = Some("bad\0text".into());
        let e = check_product(&p).expect_err("NUL");
        assert_eq!(
            (e.offer_id.as_str(), e.field.as_str()),
            ("a-1", "description")
        );
        assert!(e.to_string().contains("NUL"), "{e}");
        let mut p = good.clone();
        p.attributes.push(Attribute {
            name: "colour".into(),
            value: "re\0d".into(),
            unit: None,
        });
        assert_eq!(check_product(&p).expect_err("NUL").field, "attributes");
        let mut p = good.clone();
        p.offer_id = "x".repeat(2000);
        let e = check_product(&p).expect_err("long id");
        assert_eq!(e.offer_id.len(), 64);
        let mut p = good;
        p.offer_id = "  ".into();
        assert_eq!(check_product(&p).expect_err("empty").reason, "is empty");
    }
}
