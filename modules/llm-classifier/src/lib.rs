//! `llm-classifier`: the gardener's LLM taxonomy classification as a module. Products go to
//! an OpenAI-compatible chat-completions service in batches of up to 50 as
//! `[{id, name, category}]`; the reply's first JSON array is read as the gardener read it
//! (markdown fences tolerated, an object wrapped in a list, `{"results": [...]}` accepted), and
//! each product gets its own verdict: a reply that leaves a product out, names a slug outside
//! the taxonomy or does not parse fails that product, never the batch. A service that is down
//! or asks to slow down (429, 5xx, no connection) fails the batch as `unavailable`, which the
//! host retries with backoff.

mod reply;
mod request;

use contextworker_guest::http::{self, HttpError, Request};
use contextworker_guest::{
    Config, EnrichError, Enricher, Enrichment, ModuleError, Product, Verdict,
};

pub use reply::{Reply, parse_reply};
pub use request::{Settings, Taxonomy, chat_body};

/// Products per request: the gardener's batch.
pub const MAX_PER_REQUEST: usize = 50;

pub struct LlmClassifier;

impl Enricher for LlmClassifier {
    fn enrich(products: Vec<Product>, config: &Config) -> Result<Vec<Enrichment>, EnrichError> {
        let settings = Settings::from_config(config)?;
        let mut out = Vec::with_capacity(products.len());
        for chunk in products.chunks(MAX_PER_REQUEST) {
            out.extend(classify_chunk(chunk, &settings)?);
        }
        Ok(out)
    }
}

fn classify_chunk(
    products: &[Product],
    settings: &Settings,
) -> Result<Vec<Enrichment>, EnrichError> {
    let body = chat_body(products, settings);
    let request = Request {
        timeout_ms: Some(settings.timeout_ms),
        ..Request::post_json(&settings.endpoint, &body)
    };
    let (status, bytes) = match http::send(&request) {
        Ok(reply) => (reply.status, reply.body),
        Err(e @ HttpError::Unavailable(_)) => return Err(EnrichError::Unavailable(e.to_string())),
        // A reply too large or cut short is a bad reply: each product fails, the batch goes on.
        Err(e @ (HttpError::TooLarge | HttpError::BadReply(_))) => {
            return Ok(fail_all(products, &e.to_string()));
        }
        Err(e @ (HttpError::Denied | HttpError::Invalid(_))) => {
            return Err(EnrichError::Module(ModuleError::unsupported(e.to_string())));
        }
    };
    match status {
        200..=299 => {}
        429 | 500..=599 => {
            return Err(EnrichError::Unavailable(format!(
                "the service answered {status}"
            )));
        }
        _ => {
            return Err(EnrichError::Module(ModuleError::invalid_input(format!(
                "the service answered {status}: {}",
                snippet(&bytes)
            ))));
        }
    }
    Ok(match parse_reply(&bytes) {
        Ok(reply) => {
            let extra = reply.extra_ids(products);
            if !extra.is_empty() {
                contextworker_guest::warn!("the reply named products not in the request; ignored"; ids = extra.join(","));
            }
            reply.verdicts(products, settings)
        }
        Err(why) => fail_all(products, &why),
    })
}

fn fail_all(products: &[Product], why: &str) -> Vec<Enrichment> {
    products
        .iter()
        .map(|p| Enrichment {
            offer_id: p.offer_id.clone(),
            verdict: Verdict::Failed(why.to_owned()),
            confidence: 0.0,
            tokens: 0,
        })
        .collect()
}

/// The start of a body, for an error message.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    text.chars().filter(|c| !c.is_control()).collect()
}

contextworker_guest::export_enricher!(LlmClassifier);

#[cfg(test)]
mod tests;
