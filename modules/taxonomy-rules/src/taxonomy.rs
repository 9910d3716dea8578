//! The taxonomy file: read, checked and compiled once per call. It comes from a tenant's
//! configuration, so every part of it is bounded and every mistake is an `invalid-input` error
//! that names the key, the category and the rule.

use contextworker_guest::{Gender, ModuleError};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// The default taxonomy, built in.
pub const DEFAULT: &str = include_str!("../taxonomy.toml");

const MAX_TAXONOMY_BYTES: usize = 1 << 20;
const MAX_CATEGORIES: usize = 10_000;
const MAX_RULES: usize = 100;
const MAX_KEYWORDS: usize = 1_000;
const MAX_PATTERN_CHARS: usize = 1_000;
/// Compiled size of one pattern: regex refuses larger programs instead of building them.
const MAX_PATTERN_BYTES: usize = 256 * 1024;
const MAX_SLUG_BYTES: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    threshold: Option<f32>,
    full_score: Option<f32>,
    #[serde(default)]
    colors: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    genders: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    category: Vec<CategoryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    slug: String,
    #[serde(default)]
    path: Vec<String>,
    product_type: Option<String>,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    field: Field,
    #[serde(default)]
    keywords: Vec<String>,
    pattern: Option<String>,
    weight: f32,
}

/// The part of a product a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    /// The category path, joined with " / ".
    Category,
    Brand,
    Description,
    /// All four.
    Any,
}

pub struct Rule {
    pub field: Field,
    /// Lowercased.
    pub keywords: Vec<String>,
    pub pattern: Option<Regex>,
    pub weight: f32,
}

pub struct Category {
    pub slug: String,
    pub path: Vec<String>,
    pub product_type: Option<String>,
    pub rules: Vec<Rule>,
}

pub struct Taxonomy {
    pub threshold: f32,
    pub full_score: f32,
    pub categories: Vec<Category>,
    /// Normalized colour name and its lowercased keywords.
    pub colors: Vec<(String, Vec<String>)>,
    pub genders: Vec<(Gender, Vec<String>)>,
}

fn invalid(message: impl std::fmt::Display) -> ModuleError {
    ModuleError::invalid_input(format!("config key `taxonomy`: {message}"))
}

impl Taxonomy {
    /// Read `text` (the taxonomy TOML); `threshold` overrides the file's.
    pub fn parse(text: &str, threshold: Option<f32>) -> Result<Self, ModuleError> {
        if text.len() > MAX_TAXONOMY_BYTES {
            return Err(invalid(format!(
                "{} bytes, over the limit of {MAX_TAXONOMY_BYTES}",
                text.len()
            )));
        }
        let file: File = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let threshold = threshold.or(file.threshold).unwrap_or(0.6);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(invalid(format!(
                "threshold {threshold} is not between 0 and 1"
            )));
        }
        let full_score = file.full_score.unwrap_or(1.0);
        if !(full_score.is_finite() && full_score > 0.0) {
            return Err(invalid(format!(
                "full_score {full_score} must be a positive number"
            )));
        }
        if file.category.is_empty() {
            return Err(invalid("no [[category]] is defined".to_owned()));
        }
        if file.category.len() > MAX_CATEGORIES {
            return Err(invalid(format!(
                "{} categories, over the limit of {MAX_CATEGORIES}",
                file.category.len()
            )));
        }
        let mut categories = Vec::with_capacity(file.category.len());
        for (i, c) in file.category.into_iter().enumerate() {
            let category =
                compile_category(c).map_err(|e| invalid(format!("category {}: {e}", i + 1)))?;
            if categories
                .iter()
                .any(|k: &Category| k.slug == category.slug)
            {
                return Err(invalid(format!(
                    "category {}: slug `{}` is defined twice",
                    i + 1,
                    category.slug
                )));
            }
            categories.push(category);
        }
        let colors = file
            .colors
            .into_iter()
            .map(|(name, words)| (name, lowercase(words)))
            .collect();
        let mut genders = Vec::new();
        for (name, words) in file.genders {
            let gender = match name.as_str() {
                "men" => Gender::Men,
                "women" => Gender::Women,
                "unisex" => Gender::Unisex,
                "kids" => Gender::Kids,
                other => {
                    return Err(invalid(format!(
                        "genders: `{other}` is not one of men, women, unisex, kids"
                    )));
                }
            };
            genders.push((gender, lowercase(words)));
        }
        Ok(Self {
            threshold,
            full_score,
            categories,
            colors,
            genders,
        })
    }
}

fn lowercase(words: Vec<String>) -> Vec<String> {
    words
        .into_iter()
        .map(|w| w.to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn compile_category(c: CategoryFile) -> Result<Category, String> {
    let slug_ok = !c.slug.is_empty()
        && c.slug.len() <= MAX_SLUG_BYTES
        && c.slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !slug_ok {
        return Err(format!(
            "slug {:?} must be 1 to {MAX_SLUG_BYTES} characters of a-z, 0-9, '.', '_' and '-'",
            c.slug
        ));
    }
    if c.rule.is_empty() {
        return Err(format!("`{}` has no rule", c.slug));
    }
    if c.rule.len() > MAX_RULES {
        return Err(format!(
            "`{}` has {} rules, over the limit of {MAX_RULES}",
            c.slug,
            c.rule.len()
        ));
    }
    let mut rules = Vec::with_capacity(c.rule.len());
    for (i, r) in c.rule.into_iter().enumerate() {
        let rule = compile_rule(r).map_err(|e| format!("`{}` rule {}: {e}", c.slug, i + 1))?;
        rules.push(rule);
    }
    Ok(Category {
        slug: c.slug,
        path: c.path,
        product_type: c.product_type,
        rules,
    })
}

fn compile_rule(r: RuleFile) -> Result<Rule, String> {
    if !(r.weight.is_finite() && r.weight > 0.0) {
        return Err(format!("weight {} must be a positive number", r.weight));
    }
    if r.keywords.len() > MAX_KEYWORDS {
        return Err(format!(
            "{} keywords, over the limit of {MAX_KEYWORDS}",
            r.keywords.len()
        ));
    }
    let keywords = lowercase(r.keywords);
    let pattern = match r.pattern {
        None => None,
        Some(p) if p.chars().count() > MAX_PATTERN_CHARS => {
            return Err(format!(
                "the pattern is over {MAX_PATTERN_CHARS} characters"
            ));
        }
        Some(p) => Some(
            RegexBuilder::new(&p)
                .case_insensitive(true)
                .size_limit(MAX_PATTERN_BYTES)
                .dfa_size_limit(MAX_PATTERN_BYTES)
                .build()
                .map_err(|e| format!("pattern {p:?}: {e}"))?,
        ),
    };
    if keywords.is_empty() && pattern.is_none() {
        return Err("a rule needs keywords or a pattern".to_owned());
    }
    Ok(Rule {
        field: r.field,
        keywords,
        pattern,
        weight: r.weight,
    })
}
