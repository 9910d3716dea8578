//! Scoring one product against the taxonomy: deterministic, so the same product and taxonomy
//! always get the same verdict and confidence.

use contextworker_guest::{Enrichment, Facets, Product, Verdict};

use crate::taxonomy::{Field, Taxonomy};

/// Text looked at per field: a pathological description cannot make one product expensive.
const MAX_FIELD_BYTES: usize = 16 * 1024;

/// A product's fields as rules see them: lowercased, capped.
struct Texts {
    name: String,
    category: String,
    brand: String,
    description: String,
}

impl Texts {
    fn of(p: &Product) -> Self {
        let prep = |s: &str| capped(s).to_lowercase();
        Self {
            name: prep(&p.name),
            category: prep(&p.category_path.join(" / ")),
            brand: prep(p.brand.as_deref().unwrap_or_default()),
            description: prep(p.description.as_deref().unwrap_or_default()),
        }
    }

    fn fields(&self, field: Field) -> Vec<&str> {
        match field {
            Field::Name => vec![&self.name],
            Field::Category => vec![&self.category],
            Field::Brand => vec![&self.brand],
            Field::Description => vec![&self.description],
            Field::Any => vec![&self.name, &self.category, &self.brand, &self.description],
        }
    }
}

/// `s` cut to at most [`MAX_FIELD_BYTES`] on a character boundary.
fn capped(s: &str) -> &str {
    if s.len() <= MAX_FIELD_BYTES {
        return s;
    }
    let mut end = MAX_FIELD_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Taxonomy {
    pub fn classify(&self, p: &Product) -> Enrichment {
        let texts = Texts::of(p);
        let scores: Vec<f32> = self
            .categories
            .iter()
            .map(|c| {
                c.rules
                    .iter()
                    .filter(|r| {
                        texts.fields(r.field).into_iter().any(|text| {
                            r.keywords.iter().any(|k| has_word_starting(text, k))
                                || r.pattern.as_ref().is_some_and(|re| re.is_match(text))
                        })
                    })
                    .map(|r| r.weight)
                    .sum()
            })
            .collect();
        // The best and the runner-up; on equal scores the category listed first wins, so the
        // answer never depends on anything but the file's order.
        let (mut best, mut second) = (None::<usize>, 0.0f32);
        for (i, &s) in scores.iter().enumerate() {
            match best {
                Some(b) if s > scores[b] => {
                    second = scores[b];
                    best = Some(i);
                }
                Some(_) => second = second.max(s),
                None => best = Some(i),
            }
        }
        let best = best.unwrap_or(0);
        let score = scores.get(best).copied().unwrap_or(0.0);
        let abstain = |reason: String, confidence: f32| Enrichment {
            offer_id: p.offer_id.clone(),
            verdict: Verdict::Abstained(reason),
            confidence,
            tokens: 0,
        };
        if score <= 0.0 {
            return abstain("no rule of the taxonomy matched".to_owned(), 0.0);
        }
        let confidence = (score / self.full_score).min(1.0) * score / (score + second);
        let category = &self.categories[best];
        if confidence < self.threshold {
            return abstain(
                format!(
                    "the best category, `{}`, has confidence {confidence:.2}, under the threshold {}",
                    category.slug, self.threshold
                ),
                confidence,
            );
        }
        Enrichment {
            offer_id: p.offer_id.clone(),
            verdict: Verdict::Classified(Facets {
                category_slug: category.slug.clone(),
                category_path: category.path.clone(),
                color: self.color(p, &texts),
                size: attribute(p, &["size", "розмір", "размер"]).map(str::to_owned),
                gender: self
                    .genders
                    .iter()
                    .find(|(_, words)| {
                        words.iter().any(|w| {
                            has_word_starting(&texts.name, w)
                                || has_word_starting(&texts.category, w)
                        })
                    })
                    .map(|(g, _)| *g),
                product_type: category.product_type.clone(),
                model: attribute(p, &["model", "модель"]).map(str::to_owned),
            }),
            confidence,
            tokens: 0,
        }
    }

    /// The colour attribute, or a colour word in the name; normalized to the table's name
    /// when the table knows it.
    fn color(&self, p: &Product, texts: &Texts) -> Option<String> {
        let known = |text: &str| {
            self.colors
                .iter()
                .find(|(_, words)| words.iter().any(|w| has_word_starting(text, w)))
                .map(|(name, _)| name.clone())
        };
        match attribute(p, &["color", "colour", "колір", "цвет"]) {
            Some(value) => known(&value.to_lowercase()).or_else(|| Some(value.to_owned())),
            None => known(&texts.name),
        }
    }
}

/// Whether a word of `text` starts with `keyword`: stems match their inflections ("чайник" in
/// "чайники") while "men's" does not match inside "women's".
fn has_word_starting(text: &str, keyword: &str) -> bool {
    text.match_indices(keyword).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The first non-empty attribute whose name is one of `names` (case-insensitive), trimmed.
fn attribute<'p>(p: &'p Product, names: &[&str]) -> Option<&'p str> {
    p.attributes
        .iter()
        .filter(|a| names.contains(&a.name.trim().to_lowercase().as_str()))
        .map(|a| a.value.trim())
        .find(|v| !v.is_empty())
}
