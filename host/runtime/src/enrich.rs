//! The enricher world's call: products in, exactly one enrichment per product out.
//!
//! The guest's answer is untrusted. The caller needs one entry per product it sent, so the
//! answer is reconciled here, once: entries about products not in the batch and repeated entries
//! are dropped, a product the guest said nothing about is `failed` for this attempt, a
//! confidence outside 0..=1 is clamped, and a `classified` verdict without a category slug is
//! `failed`. A guest cannot make one product's answer fail the others.

use std::collections::HashMap;

use contextworker_types::{Facets, Gender, Product, ProductEnrichment, Verdict};

use crate::Runtime;
use crate::bindings::enricher::EnricherPre;
use crate::bindings::enricher::contextworker::module::enrichment as wit;
use crate::call::{CallOutcome, CallSpec};
use crate::component::LoadedComponent;
use crate::convert;
use crate::error::{GuestError, GuestErrorKind, capped_message};
use crate::state::CallState;

/// The reason given for a product the enricher left out of its answer.
pub const NO_VERDICT: &str = "the enricher returned nothing for this product";

impl Runtime {
    /// Enrich a batch of products. On success the list has one entry per product, in the
    /// order of `products` (offer ids are unique within a batch; a repeated id gets the
    /// first answer about it).
    pub async fn enrich(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        products: &[Product],
    ) -> CallOutcome<Vec<ProductEnrichment>> {
        let wit_products: Vec<_> = products.iter().map(convert::product_to_wit).collect();
        let ids: Vec<String> = products.iter().map(|p| p.offer_id.clone()).collect();
        self.call::<EnricherPre<CallState>, _>(
            component,
            spec,
            |_| {},
            |store, instance| {
                Box::pin(async move {
                    let result = instance.call_enrich(&mut *store, &wit_products).await?;
                    let result = result
                        .map(|answer| reconcile(&ids, answer))
                        .map_err(enrich_error);
                    // The receipt's output items: the answers the caller gets.
                    if let Ok(answer) = &result {
                        store.data_mut().output_items = answer.len() as u64;
                    }
                    Ok(result)
                })
            },
            |out: &Vec<ProductEnrichment>| out.iter().map(approx_size).sum(),
        )
        .await
    }
}

fn enrich_error(e: wit::EnrichError) -> GuestError {
    match e {
        wit::EnrichError::Module(e) => convert::module_error(e),
        wit::EnrichError::Unavailable(message) => GuestError {
            kind: GuestErrorKind::Unavailable,
            message: capped_message(message),
            location: None,
        },
    }
}

/// One entry per id in `ids`, in order, from what the guest answered.
fn reconcile(ids: &[String], answer: Vec<wit::ProductEnrichment>) -> Vec<ProductEnrichment> {
    let mut by_id: HashMap<&str, Option<wit::ProductEnrichment>> =
        ids.iter().map(|id| (id.as_str(), None)).collect();
    let mut ignored = 0usize;
    for entry in answer {
        match by_id.get_mut(entry.offer_id.as_str()) {
            Some(slot @ None) => *slot = Some(entry),
            _ => ignored += 1,
        }
    }
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "the enricher answered about products it was not given, or twice about one; those entries were dropped"
        );
    }
    ids.iter()
        .map(
            |id| match by_id.get_mut(id.as_str()).and_then(Option::take) {
                Some(entry) => enrichment(entry),
                None => ProductEnrichment {
                    offer_id: id.clone(),
                    verdict: Verdict::Failed {
                        reason: NO_VERDICT.to_owned(),
                    },
                    confidence: 0.0,
                    tokens: 0,
                },
            },
        )
        .collect()
}

fn enrichment(e: wit::ProductEnrichment) -> ProductEnrichment {
    let confidence = if e.confidence.is_finite() {
        e.confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let verdict = match e.verdict {
        wit::Verdict::Classified(f) if f.category_slug.trim().is_empty() => Verdict::Failed {
            reason: "the enricher classified the product without a category slug".to_owned(),
        },
        wit::Verdict::Classified(f) => Verdict::Classified(facets(f)),
        wit::Verdict::Abstained(reason) => Verdict::Abstained {
            reason: capped_message(reason),
        },
        wit::Verdict::Failed(reason) => Verdict::Failed {
            reason: capped_message(reason),
        },
    };
    ProductEnrichment {
        offer_id: e.offer_id,
        verdict,
        confidence,
        tokens: e.tokens,
    }
}

fn facets(f: wit::Facets) -> Facets {
    Facets {
        category_slug: f.category_slug,
        category_path: f.category_path,
        color: f.color,
        size: f.size,
        gender: f.gender.map(|g| match g {
            wit::Gender::Men => Gender::Men,
            wit::Gender::Women => Gender::Women,
            wit::Gender::Unisex => Gender::Unisex,
            wit::Gender::Kids => Gender::Kids,
        }),
        product_type: f.product_type,
        model: f.model,
    }
}

/// Bytes an enrichment holds, counted against the call's output cap.
fn approx_size(e: &ProductEnrichment) -> u64 {
    fn opt(s: &Option<String>) -> usize {
        s.as_ref().map_or(0, String::len)
    }
    let verdict = match &e.verdict {
        Verdict::Classified(f) => {
            f.category_slug.len()
                + f.category_path.iter().map(String::len).sum::<usize>()
                + opt(&f.color)
                + opt(&f.size)
                + opt(&f.product_type)
                + opt(&f.model)
        }
        Verdict::Abstained { reason } | Verdict::Failed { reason } => reason.len(),
    };
    (32 + e.offer_id.len() + verdict) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, verdict: wit::Verdict, confidence: f32) -> wit::ProductEnrichment {
        wit::ProductEnrichment {
            offer_id: id.to_owned(),
            verdict,
            confidence,
            tokens: 3,
        }
    }

    fn classified(slug: &str) -> wit::Verdict {
        wit::Verdict::Classified(wit::Facets {
            category_slug: slug.to_owned(),
            category_path: vec!["Clothing".into(), "Jackets".into()],
            color: Some("black".into()),
            size: None,
            gender: Some(wit::Gender::Women),
            product_type: None,
            model: None,
        })
    }

    #[test]
    fn every_product_gets_exactly_one_answer_in_its_order() {
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let answer = vec![
            entry("c", wit::Verdict::Abstained("no rule matched".into()), 0.2),
            entry("zzz", classified("clothing.jackets"), 0.9),
            entry("a", classified("clothing.jackets"), 0.9),
            entry("a", wit::Verdict::Failed("second answer".into()), 0.1),
        ];
        let out = reconcile(&ids, answer);
        let got: Vec<(&str, &Verdict)> = out
            .iter()
            .map(|e| (e.offer_id.as_str(), &e.verdict))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "a");
        let Verdict::Classified(f) = got[0].1 else {
            panic!("{:?}", got[0]);
        };
        assert_eq!(f.category_slug, "clothing.jackets");
        assert_eq!(f.gender, Some(Gender::Women));
        assert_eq!(
            got[1],
            (
                "b",
                &Verdict::Failed {
                    reason: NO_VERDICT.into()
                }
            )
        );
        assert_eq!(
            got[2],
            (
                "c",
                &Verdict::Abstained {
                    reason: "no rule matched".into()
                }
            )
        );
    }

    #[test]
    fn hostile_values_are_made_harmless() {
        let ids: Vec<String> = ["nan", "big", "blank"].map(String::from).into();
        let answer = vec![
            entry("nan", classified("x"), f32::NAN),
            entry("big", classified("x"), 7.5),
            entry("blank", classified("  "), 0.9),
        ];
        let out = reconcile(&ids, answer);
        assert_eq!(out[0].confidence, 0.0);
        assert_eq!(out[1].confidence, 1.0);
        assert!(
            matches!(&out[2].verdict, Verdict::Failed { reason } if reason.contains("without a category slug")),
            "{:?}",
            out[2]
        );
    }
}
