//! Reading a chat-completions reply as the gardener did, then one verdict per product.

use contextworker_guest::{Enrichment, Facets, Gender, Product, Verdict};
use serde::Deserialize;
use serde_json::Value;

use crate::Settings;

/// What one reply said: the items the model returned and the tokens the service reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub items: Vec<Value>,
    pub tokens: u64,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    total_tokens: u64,
}

/// Parse the service's reply body. `Err` says why nothing in it is usable; every product of
/// the request then fails (and is retried on a later run).
pub fn parse_reply(body: &[u8]) -> Result<Reply, String> {
    let completion: Completion = serde_json::from_slice(body)
        .map_err(|e| format!("the reply is not a chat completion: {e}"))?;
    let content = completion
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .ok_or("the reply has no message content")?;
    let items = items_of(&content).ok_or("the model's answer holds no JSON array of results")?;
    Ok(Reply {
        items,
        tokens: completion.usage.map_or(0, |u| u.total_tokens),
    })
}

/// The gardener's parser: the first `[` to the last `]` (which skips markdown fences and
/// prose around them), else the whole answer; an object is one item, or holds them in
/// `results`.
fn items_of(content: &str) -> Option<Vec<Value>> {
    let span = match (content.find('['), content.rfind(']')) {
        (Some(start), Some(end)) if start < end => {
            serde_json::from_str::<Value>(&content[start..=end]).ok()
        }
        _ => None,
    };
    let value = span.or_else(|| {
        let trimmed = content
            .trim()
            .trim_start_matches("```json")
            .trim_start_matches("```")
            .trim_end_matches("```");
        serde_json::from_str::<Value>(trimmed).ok()
    })?;
    match value {
        Value::Array(items) => Some(items),
        Value::Object(mut map) => match map.remove("results") {
            Some(Value::Array(items)) => Some(items),
            _ => Some(vec![Value::Object(map)]),
        },
        _ => None,
    }
}

fn text(item: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| item.get(*k))
        .find_map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

fn id_of(item: &Value) -> Option<String> {
    text(item, &["id"])
}

impl Reply {
    /// One verdict per product, in the products' order. Tokens are split evenly across the
    /// products, as the gardener did.
    pub fn verdicts(&self, products: &[Product], settings: &Settings) -> Vec<Enrichment> {
        let share = u32::try_from(self.tokens / products.len().max(1) as u64).unwrap_or(u32::MAX);
        products
            .iter()
            .map(|p| {
                let item = self
                    .items
                    .iter()
                    .find(|i| id_of(i).as_deref() == Some(p.offer_id.as_str()));
                let (verdict, confidence) = match item {
                    None => (
                        Verdict::Failed("the reply left this product out".into()),
                        0.0,
                    ),
                    Some(item) => judge(item, settings),
                };
                Enrichment {
                    offer_id: p.offer_id.clone(),
                    verdict,
                    confidence,
                    tokens: share,
                }
            })
            .collect()
    }

    /// Ids in the reply that name no product of the request.
    pub fn extra_ids(&self, products: &[Product]) -> Vec<String> {
        self.items
            .iter()
            .filter_map(id_of)
            .filter(|id| !products.iter().any(|p| &p.offer_id == id))
            .collect()
    }
}

fn judge(item: &Value, settings: &Settings) -> (Verdict, f32) {
    let confidence = item
        .get("confidence")
        .and_then(Value::as_f64)
        .map_or(0.8, |c| c.clamp(0.0, 1.0)) as f32;
    let Some(slug) = text(item, &["category", "normalized_category"]) else {
        return (
            Verdict::Abstained("the model chose no category".into()),
            confidence,
        );
    };
    let Some(path) = settings.taxonomy.path(&slug) else {
        return (
            Verdict::Failed(format!(
                "the model answered {slug:?}, which is not one of the taxonomy's slugs"
            )),
            confidence,
        );
    };
    if confidence < settings.min_confidence {
        return (
            Verdict::Abstained(format!(
                "confidence {confidence:.2} is under min_confidence {:.2} (best: {slug})",
                settings.min_confidence
            )),
            confidence,
        );
    }
    let gender = text(item, &["gender"]).and_then(|g| match g.to_ascii_lowercase().as_str() {
        "men" | "male" => Some(Gender::Men),
        "women" | "female" => Some(Gender::Women),
        "unisex" => Some(Gender::Unisex),
        "kids" | "children" => Some(Gender::Kids),
        _ => None,
    });
    let facets = Facets {
        category_slug: slug,
        category_path: path.to_vec(),
        color: text(item, &["color", "normalized_color"]),
        size: text(item, &["size", "normalized_size"]),
        gender,
        product_type: text(item, &["product_type"]),
        model: text(item, &["model", "model_name"]),
    };
    (Verdict::Classified(facets), confidence)
}
