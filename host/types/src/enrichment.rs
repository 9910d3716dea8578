//! What an enricher module made of a product: the host's one shape of the WIT `enrichment`
//! interface, and the JSON shape staging keeps per product.

use serde::{Deserialize, Serialize};

/// The audience a product is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Men,
    Women,
    Unisex,
    Kids,
}

/// A chosen category and what else was recognised in the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub category_slug: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// An enricher's decision about one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Classified(Facets),
    /// Nothing good enough; not an error.
    Abstained {
        reason: String,
    },
    /// Not enriched this time; retried by the host up to its limit.
    Failed {
        reason: String,
    },
}

/// One product's enrichment, exactly one per product sent to the enricher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductEnrichment {
    pub offer_id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// 0.0 to 1.0.
    pub confidence: f32,
    pub tokens: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrichment_is_one_flat_json_object_and_reads_back() {
        let e = ProductEnrichment {
            offer_id: "k1".into(),
            verdict: Verdict::Classified(Facets {
                category_slug: "kitchen.kettles".into(),
                category_path: vec!["Kitchen".into(), "Kettles".into()],
                color: None,
                size: None,
                gender: Some(Gender::Kids),
                product_type: Some("kettle".into()),
                model: None,
            }),
            confidence: 0.75,
            tokens: 12,
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "offer_id": "k1", "verdict": "classified", "category_slug": "kitchen.kettles",
                "category_path": ["Kitchen", "Kettles"], "gender": "kids",
                "product_type": "kettle", "confidence": 0.75, "tokens": 12
            })
        );
        assert_eq!(
            serde_json::from_value::<ProductEnrichment>(json).unwrap(),
            e
        );
        let abstained = serde_json::json!({
            "offer_id": "g", "verdict": "abstained", "reason": "no rule", "confidence": 0.0, "tokens": 0
        });
        let back: ProductEnrichment = serde_json::from_value(abstained).unwrap();
        assert_eq!(
            back.verdict,
            Verdict::Abstained {
                reason: "no rule".into()
            }
        );
    }
}
