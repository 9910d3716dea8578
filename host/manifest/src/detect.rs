//! `[detect]`: how a transformer recognises a feed it parses from the feed's first bytes, so
//! a harvest or import that names no module finds one without the host naming any module.
//!
//! Rules are plain text tests on the feed's head (its first [`SNIFF_BYTES`], decoded lossily,
//! with a byte-order mark and leading white space dropped). When several modules match, the
//! highest `priority` wins; a tie chooses nothing, and the caller is asked to name the module:
//! a guess between two parsers that both claim a feed is worse than a clear question.

use serde::Deserialize;

/// How many leading bytes detection looks at.
pub const SNIFF_BYTES: usize = 8192;

/// At most this many strings in one rule, each at most [`MAX_PATTERN_BYTES`]: detection runs on
/// every undeclared feed, and a manifest is input like any other.
const MAX_PATTERNS: usize = 16;
const MAX_PATTERN_BYTES: usize = 256;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectToml {
    #[serde(default)]
    starts_with: Vec<String>,
    #[serde(default)]
    not_starts_with: Vec<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    first_line_contains: Vec<String>,
    #[serde(default)]
    priority: i32,
}

/// A validated `[detect]` table. Every rule given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detect {
    /// The head starts with one of these.
    pub starts_with: Vec<String>,
    /// The head starts with none of these.
    pub not_starts_with: Vec<String>,
    /// The head contains every one of these.
    pub contains: Vec<String>,
    /// The head's first line contains one of these.
    pub first_line_contains: Vec<String>,
    /// Higher wins when several modules match.
    pub priority: i32,
}

impl Detect {
    pub(crate) fn resolve(raw: DetectToml) -> Result<Self, (&'static str, String)> {
        let lists = [
            ("detect.starts_with", &raw.starts_with),
            ("detect.not_starts_with", &raw.not_starts_with),
            ("detect.contains", &raw.contains),
            ("detect.first_line_contains", &raw.first_line_contains),
        ];
        for (field, list) in lists {
            if list.len() > MAX_PATTERNS {
                return Err((
                    field,
                    format!("{} strings; at most {MAX_PATTERNS}", list.len()),
                ));
            }
            if let Some(bad) = list
                .iter()
                .find(|p| p.is_empty() || p.len() > MAX_PATTERN_BYTES)
            {
                return Err((
                    field,
                    format!("{bad:?}: each string must be 1 to {MAX_PATTERN_BYTES} bytes"),
                ));
            }
        }
        if raw.starts_with.is_empty()
            && raw.contains.is_empty()
            && raw.first_line_contains.is_empty()
        {
            return Err((
                "detect",
                "give at least one of starts_with, contains or first_line_contains (a table that \
                 matches every feed would claim them all)"
                    .to_owned(),
            ));
        }
        Ok(Self {
            starts_with: raw.starts_with,
            not_starts_with: raw.not_starts_with,
            contains: raw.contains,
            first_line_contains: raw.first_line_contains,
            priority: raw.priority,
        })
    }

    /// Whether a feed whose head is `head` (see [`FeedHead`]) looks like this module's.
    pub fn matches(&self, head: &FeedHead) -> bool {
        let text = head.text();
        let first_line = text.lines().next().unwrap_or("");
        (self.starts_with.is_empty()
            || self
                .starts_with
                .iter()
                .any(|p| text.starts_with(p.as_str())))
            && !self
                .not_starts_with
                .iter()
                .any(|p| text.starts_with(p.as_str()))
            && self.contains.iter().all(|p| text.contains(p.as_str()))
            && (self.first_line_contains.is_empty()
                || self
                    .first_line_contains
                    .iter()
                    .any(|p| first_line.contains(p.as_str())))
    }
}

/// A feed's first bytes as detection reads them.
#[derive(Debug, Clone)]
pub struct FeedHead {
    text: String,
}

impl FeedHead {
    /// `bytes` are the feed's first bytes; only the first [`SNIFF_BYTES`] are read.
    pub fn new(bytes: &[u8]) -> Self {
        let bytes = &bytes[..bytes.len().min(SNIFF_BYTES)];
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_start_matches('\u{feff}').trim_start().to_owned();
        Self { text }
    }

    fn text(&self) -> &str {
        &self.text
    }
}

/// What detection concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected<T> {
    /// One module's rules match, or one outranks the others.
    One(T),
    /// No module's rules match.
    Nothing,
    /// Several match at the highest priority.
    Ambiguous(Vec<T>),
}

/// The candidate whose `[detect]` matches `head`, the highest priority winning.
pub fn detect<'a, T: Clone + 'a>(
    head: &FeedHead,
    candidates: impl IntoIterator<Item = (T, &'a Detect)>,
) -> Detected<T> {
    let mut best: Option<i32> = None;
    let mut winners: Vec<T> = Vec::new();
    for (candidate, rules) in candidates {
        if !rules.matches(head) {
            continue;
        }
        match best {
            Some(p) if rules.priority < p => {}
            Some(p) if rules.priority == p => winners.push(candidate),
            _ => {
                best = Some(rules.priority);
                winners = vec![candidate];
            }
        }
    }
    match winners.len() {
        0 => Detected::Nothing,
        1 => Detected::One(winners.remove(0)),
        _ => Detected::Ambiguous(winners),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Detect {
        let raw: DetectToml = toml::from_str(toml_text).expect("toml");
        Detect::resolve(raw).expect("valid")
    }

    #[test]
    fn each_rule_must_hold_and_the_head_is_read_past_bom_and_white_space() {
        let yml = rules("starts_with = [\"<\"]\ncontains = [\"<yml_catalog\"]");
        assert!(yml.matches(&FeedHead::new(
            "\u{feff}  <?xml version=\"1.0\"?>\n<yml_catalog>".as_bytes()
        )));
        assert!(!yml.matches(&FeedHead::new(b"<rss>")));
        assert!(!yml.matches(&FeedHead::new(b"text <yml_catalog")));
        let csv = rules(
            "not_starts_with = [\"<\", \"{\"]\nfirst_line_contains = [\",\", \";\"]\npriority = -10",
        );
        assert!(csv.matches(&FeedHead::new(b"sku;name\n1;a")));
        assert!(
            !csv.matches(&FeedHead::new(b"sku name\n1;a")),
            "first line only"
        );
        assert!(!csv.matches(&FeedHead::new(b"<a b=\"1,2\">")));
    }

    #[test]
    fn the_highest_priority_wins_and_a_tie_chooses_nothing() {
        let specific = rules("contains = [\"<items\"]\npriority = 10");
        let general = rules("starts_with = [\"<\"]");
        let other = rules("starts_with = [\"<\"]");
        let head = FeedHead::new(b"<price><items>");
        assert_eq!(
            detect(&head, [("hotline", &specific), ("xml", &general)]),
            Detected::One("hotline")
        );
        assert_eq!(
            detect(
                &FeedHead::new(b"<catalog>"),
                [("a", &general), ("b", &other)]
            ),
            Detected::Ambiguous(vec!["a", "b"])
        );
        assert_eq!(
            detect(&FeedHead::new(b"words"), [("a", &general)]),
            Detected::Nothing
        );
    }

    #[test]
    fn a_table_that_would_claim_every_feed_or_carries_huge_patterns_is_refused() {
        let refuse = |text: &str| {
            Detect::resolve(toml::from_str(text).expect("toml"))
                .expect_err("refused")
                .0
        };
        assert_eq!(refuse("priority = 3"), "detect");
        assert_eq!(refuse("not_starts_with = [\"<\"]"), "detect");
        assert_eq!(refuse("contains = [\"\"]"), "detect.contains");
        let long = "x".repeat(MAX_PATTERN_BYTES + 1);
        assert_eq!(
            refuse(&format!("starts_with = [\"{long}\"]")),
            "detect.starts_with"
        );
    }

    #[test]
    fn only_the_first_sniff_bytes_are_read() {
        let mut feed = vec![b' '; SNIFF_BYTES];
        feed.extend_from_slice(b"<yml_catalog>");
        let yml = rules("contains = [\"<yml_catalog\"]");
        assert!(!yml.matches(&FeedHead::new(&feed)));
    }
}
