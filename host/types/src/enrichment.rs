//! What an enricher module made of a product: the host's one shape of the WIT `enrichment`
//! interface, and the JSON shape staging keeps per product.

use serde::{Deserialize, Serialize};

use crate::as_text::serde_as_text;

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

/// A staged product across a tenant's catalogs: the supplier's code and its offer id, written
/// `supplier/sku` (a supplier code has no `/`, so the first one separates them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductRef {
    pub supplier: String,
    pub sku: String,
}

impl std::fmt::Display for ProductRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.supplier, self.sku)
    }
}

impl std::str::FromStr for ProductRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((supplier, sku)) if !supplier.is_empty() && !sku.is_empty() => Ok(Self {
                supplier: supplier.to_owned(),
                sku: sku.to_owned(),
            }),
            _ => Err(format!(
                "product id {s:?}: write it as SUPPLIER/SKU (the supplier's code, then the offer id)"
            )),
        }
    }
}

serde_as_text!(ProductRef);

/// The enrichment task the classifier modules perform, under its name in a product's
/// `enrichment` JSON (the original gardener's name for it).
pub const TAXONOMY_TASK: &str = "taxonomy";

/// Where one enrichment task of one product stands: the `status` of a task in the original
/// gardener's `enrichment` JSON, and the product's `enrichment_status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not tried yet, or failed fewer times than the retry limit.
    Pending,
    /// Classified, or the classifier abstained (a person decides; trying again would not help).
    Done,
    /// Failed as many times as the retry limit allows; `error` says why the last time.
    Error,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Error => "error",
        }
    }

    /// The product's review status once its tasks stand so: a person approves a product
    /// whose every task is done (the original gardener's `pending_approval`).
    pub fn product_status(self) -> &'static str {
        match self {
            Self::Done => "pending_approval",
            Self::Pending | Self::Error => "enriching",
        }
    }
}

/// One task's record in a product's `enrichment` JSON: the original gardener's `{status,
/// result, tokens, at, error}`, plus what made it (module and digest), its confidence, and
/// how many enrichment runs have tried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Facets>,
    /// Why the classifier abstained, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abstained: Option<String>,
    #[serde(default)]
    pub confidence: f32,
    #[serde(default)]
    pub tokens: u32,
    /// When the run that wrote this started (RFC 3339): the same for every attempt of it.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Enrichment runs that tried this content (a retried attempt of one run counts once).
    pub attempts: u32,
    /// The staged content hash this record judged: attempts count per content, so a product
    /// that changed starts again with a full set of tries.
    #[serde(default)]
    pub content: String,
    /// The workflow run that wrote this record.
    pub run: String,
    /// `name@version` of the module.
    pub module: String,
    pub digest: String,
}

/// What made a record and when: the same for every product of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext<'a> {
    pub run: &'a str,
    pub at: &'a str,
    pub module: &'a str,
    pub digest: &'a str,
    /// Runs a failing product is tried in before it ends as `error`.
    pub retry_max: u32,
}

impl TaskRecord {
    /// The record an enrichment leaves, given the record before it. Rewriting the same run's
    /// record (a retried attempt) does not count another try, so a retried batch writes the
    /// same thing.
    pub fn next(
        previous: Option<&TaskRecord>,
        content: &str,
        enrichment: &ProductEnrichment,
        cx: &TaskContext<'_>,
    ) -> Self {
        let attempts = match previous {
            // Tries of older content do not count against this one.
            Some(p) if p.content != content => 1,
            Some(p) if p.run == cx.run => p.attempts,
            // A record from before the content changed (status back to pending) started
            // its count again when the product was reset; an error record never comes back
            // here unless the product changed.
            Some(p) if p.status == TaskStatus::Pending => p.attempts.saturating_add(1),
            _ => 1,
        };
        let (status, result, abstained, error) = match &enrichment.verdict {
            Verdict::Classified(facets) => (TaskStatus::Done, Some(facets.clone()), None, None),
            Verdict::Abstained { reason } => (TaskStatus::Done, None, Some(reason.clone()), None),
            Verdict::Failed { reason } => (
                if attempts >= cx.retry_max {
                    TaskStatus::Error
                } else {
                    TaskStatus::Pending
                },
                None,
                None,
                Some(reason.clone()),
            ),
        };
        Self {
            status,
            result,
            abstained,
            confidence: enrichment.confidence,
            tokens: enrichment.tokens,
            at: cx.at.to_owned(),
            error,
            attempts,
            content: content.to_owned(),
            run: cx.run.to_owned(),
            module: cx.module.to_owned(),
            digest: cx.digest.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reason: &str) -> ProductEnrichment {
        ProductEnrichment {
            offer_id: "k1".into(),
            verdict: Verdict::Failed {
                reason: reason.into(),
            },
            confidence: 0.0,
            tokens: 3,
        }
    }

    fn cx<'a>(run: &'a str) -> TaskContext<'a> {
        TaskContext {
            run,
            at: "2026-12-03T08:00:00Z",
            module: "m@1.0.0",
            digest: "sha256:00",
            retry_max: 3,
        }
    }

    #[test]
    fn a_failing_product_is_pending_until_the_retry_limit_then_an_error() {
        let first = TaskRecord::next(None, "h1", &failed("timeout"), &cx("r1"));
        assert_eq!((first.status, first.attempts), (TaskStatus::Pending, 1));
        // A retried attempt of the same run writes the same record.
        let again = TaskRecord::next(Some(&first), "h1", &failed("timeout"), &cx("r1"));
        assert_eq!(again, first);
        let second = TaskRecord::next(Some(&first), "h1", &failed("timeout"), &cx("r2"));
        assert_eq!((second.status, second.attempts), (TaskStatus::Pending, 2));
        let third = TaskRecord::next(Some(&second), "h1", &failed("bad reply"), &cx("r3"));
        assert_eq!((third.status, third.attempts), (TaskStatus::Error, 3));
        assert_eq!(third.error.as_deref(), Some("bad reply"));
        assert_eq!(third.status.product_status(), "enriching");
        // New content starts its count again, whatever the old content's record says.
        let changed = TaskRecord::next(Some(&second), "h2", &failed("timeout"), &cx("r3"));
        assert_eq!((changed.status, changed.attempts), (TaskStatus::Pending, 1));
        assert_eq!(changed.content, "h2");
    }

    #[test]
    fn an_abstention_is_done_and_waits_for_a_person() {
        let e = ProductEnrichment {
            offer_id: "k1".into(),
            verdict: Verdict::Abstained {
                reason: "no rule".into(),
            },
            confidence: 0.2,
            tokens: 0,
        };
        let r = TaskRecord::next(None, "h1", &e, &cx("r1"));
        assert_eq!(r.status, TaskStatus::Done);
        assert_eq!(r.abstained.as_deref(), Some("no rule"));
        assert_eq!(r.status.product_status(), "pending_approval");
    }

    #[test]
    fn a_product_ref_is_supplier_slash_sku_and_the_sku_may_hold_slashes() {
        let r: ProductRef = "acme/a/b".parse().unwrap();
        assert_eq!((r.supplier.as_str(), r.sku.as_str()), ("acme", "a/b"));
        assert_eq!(serde_json::to_value(&r).unwrap(), "acme/a/b");
        for bad in ["acme", "/x", "acme/", ""] {
            let e = bad.parse::<ProductRef>().unwrap_err();
            assert!(e.contains("SUPPLIER/SKU"), "{e}");
        }
    }

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
