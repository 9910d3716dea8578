//! The module's settings and the chat-completions request it sends.

use contextworker_guest::{Config, ModuleError, Product};
use serde_json::json;

/// The allowed categories: slug → display path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    entries: Vec<(String, Vec<String>)>,
}

impl Taxonomy {
    /// `slug` or `slug = Root > Child`, one per line or comma-separated.
    pub fn parse(text: &str) -> Result<Self, ModuleError> {
        let mut entries: Vec<(String, Vec<String>)> = Vec::new();
        for item in text
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (slug, path) = match item.split_once('=') {
                Some((slug, path)) => (
                    slug.trim(),
                    path.split('>')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
                None => (item, Vec::new()),
            };
            if slug.is_empty()
                || !slug
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                return Err(ModuleError::invalid_input(format!(
                    "config key `slugs`: {slug:?} is not a slug (letters, digits, `.`, `-`, `_`)"
                )));
            }
            let path = if path.is_empty() {
                slug.split('.').map(str::to_owned).collect()
            } else {
                path
            };
            if !entries.iter().any(|(s, _)| s == slug) {
                entries.push((slug.to_owned(), path));
            }
        }
        if entries.is_empty() {
            return Err(ModuleError::invalid_input(
                "config key `slugs` names no category: the module can only choose among the tenant's slugs",
            ));
        }
        Ok(Self { entries })
    }

    pub fn path(&self, slug: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(s, _)| s == slug)
            .map(|(_, p)| p.as_slice())
    }

    fn slugs(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(s, _)| s.as_str())
    }
}

pub const DEFAULT_PROMPT: &str = "You classify products into a taxonomy. For each product in the user's JSON array, \
answer with one object {\"id\", \"category\", \"color\", \"size\", \"gender\", \"product_type\", \"model\", \"confidence\"}: \
`category` is exactly one of the allowed slugs below (or null when none fits), `gender` is one of men, women, unisex, kids \
(or null), `confidence` is 0.0 to 1.0. Reply with one JSON array of these objects, one per product, ids as given, and nothing else.";

/// Everything a call needs from its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `<base_url>/chat/completions`.
    pub endpoint: String,
    pub model: String,
    pub prompt: String,
    pub taxonomy: Taxonomy,
    pub min_confidence: f32,
    pub timeout_ms: u64,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Self, ModuleError> {
        let base = config.get("base_url").ok_or_else(|| {
            ModuleError::invalid_input(
                "config key `base_url` is not set: the OpenAI-compatible API root, e.g. https://router.internal/v1",
            )
        })?;
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ModuleError::invalid_input(format!(
                "config key `base_url` = {base:?}: not an http(s) URL"
            )));
        }
        let min_confidence = config.parse::<f32>("min_confidence")?.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_confidence) {
            return Err(ModuleError::invalid_input(format!(
                "config key `min_confidence` = {min_confidence}: outside 0.0 to 1.0"
            )));
        }
        let timeout_ms = config.parse::<u64>("timeout_ms")?.unwrap_or(30_000);
        if !(1..=600_000).contains(&timeout_ms) {
            return Err(ModuleError::invalid_input(format!(
                "config key `timeout_ms` = {timeout_ms}: outside 1..=600000"
            )));
        }
        Ok(Self {
            endpoint: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: config.get_or("model", "default").to_owned(),
            prompt: config.get_or("prompt", DEFAULT_PROMPT).to_owned(),
            taxonomy: Taxonomy::parse(config.get_or("slugs", ""))?,
            min_confidence,
            timeout_ms,
        })
    }
}

/// The request body: the system prompt with the allowed slugs, and the products as the
/// gardener sent them, `[{id, name, category}]`.
pub fn chat_body(products: &[Product], settings: &Settings) -> Vec<u8> {
    let items: Vec<_> = products
        .iter()
        .map(|p| json!({"id": p.offer_id, "name": p.name, "category": p.category_path.join(" > ")}))
        .collect();
    let system = format!(
        "{}\n\nAllowed slugs:\n{}",
        settings.prompt,
        settings.taxonomy.slugs().collect::<Vec<_>>().join("\n")
    );
    let body = json!({
        "model": settings.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": serde_json::Value::Array(items).to_string()},
        ],
    });
    body.to_string().into_bytes()
}
