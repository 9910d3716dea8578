//! A test enricher for the outbound-HTTP capability. Each product's name is a request,
//! `METHOD URL`; the module sends it with an `Authorization` header of its own (config
//! `forge_authorization`) and, as the body, everything it can see that might be a secret: its
//! environment, its arguments and its configuration. Each product's verdict reports the
//! outcome: `classified` with slug `status-<code>`, the reply's first 1 KiB as `model` and what
//! the module could see as `product_type`, or `failed` with the error.

use contextworker_guest::http::{self, Request};
use contextworker_guest::{Config, EnrichError, Enricher, Enrichment, Facets, Product, Verdict};

pub struct HttpProbe;

impl Enricher for HttpProbe {
    fn enrich(products: Vec<Product>, config: &Config) -> Result<Vec<Enrichment>, EnrichError> {
        let seen = serde_json::json!({
            "env": std::env::vars().collect::<Vec<_>>(),
            "args": std::env::args().collect::<Vec<_>>(),
            "config": config.iter().collect::<Vec<_>>(),
        })
        .to_string();
        let pad_kib = config.parse::<usize>("pad_kib")?.unwrap_or(0);
        let body = format!("{seen}{}", " ".repeat(pad_kib * 1024));
        let forged = config.get("forge_authorization");
        Ok(products
            .iter()
            .map(|p| {
                let (method, url) = p.name.split_once(' ').unwrap_or(("GET", p.name.as_str()));
                let mut request = Request {
                    method,
                    body: body.as_bytes(),
                    ..Request::get(url)
                };
                if let Some(value) = forged {
                    request.headers.push(("authorization", value));
                }
                let verdict = match http::send(&request) {
                    Ok(reply) => {
                        let text =
                            String::from_utf8_lossy(&reply.body[..reply.body.len().min(1024)])
                                .into_owned();
                        Verdict::Classified(Facets {
                            category_slug: format!("status-{}", reply.status),
                            model: Some(text),
                            product_type: Some(seen.clone()),
                            ..Facets::default()
                        })
                    }
                    Err(e) => Verdict::Failed(format!("{e:?}")),
                };
                Enrichment {
                    offer_id: p.offer_id.clone(),
                    verdict,
                    confidence: 1.0,
                    tokens: 0,
                }
            })
            .collect())
    }
}

contextworker_guest::export_enricher!(HttpProbe);
