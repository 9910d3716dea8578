//! Text fields that carry markup, and naming the module that fits a feed of another format.

use contextworker_guest::ModuleError;

use super::{Tag, local_name};

/// Decode the HTML entities a feed escaped twice (`&amp;gt;` arrives as `&gt;`) in fields that
/// are plain text. Only the common ones: anything else stays as written.
pub fn unescape_twice_escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // Entity names are ASCII, so a `;` within the next few bytes is on a char boundary.
        let entity = tail.as_bytes()[1..]
            .iter()
            .take(9)
            .position(|b| *b == b';')
            .map(|end| &tail[1..=end]);
        let replacement = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" | "#160" => Some('\u{a0}'),
            _ => None,
        });
        match (entity, replacement) {
            (Some(e), Some(ch)) => {
                out.push(ch);
                rest = &tail[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Append a nested element's start tag to a text field that carries markup (HTML descriptions
/// written as elements instead of CDATA).
pub fn push_start_markup(text: &mut String, tag: &Tag<'_>) {
    text.push('<');
    text.push_str(tag.name);
    let attrs = tag.raw_attrs.trim();
    if !attrs.is_empty() {
        text.push(' ');
        text.push_str(attrs);
    }
    text.push('>');
}

pub fn push_end_markup(text: &mut String, name: &str) {
    text.push_str("</");
    text.push_str(name);
    text.push('>');
}

/// The module that fits a feed whose root element is `root`, for "wrong module" errors.
pub fn module_for_root(root: &str) -> Option<&'static str> {
    Some(match local_name(root) {
        "yml_catalog" => "yml",
        "price" => "hotline",
        "rss" | "feed" => "google-merchant",
        "root" => "dealer-xml",
        "Workbook" => "none (an Excel 2003 SpreadsheetML workbook: export it to CSV for `csv`)",
        _ => return None,
    })
}

/// `unsupported` error for a feed of another format.
pub fn wrong_format(root: &Tag<'_>, this_module: &str, expected: &str) -> ModuleError {
    let hint = match module_for_root(root.name) {
        Some(m) if m != this_module => format!("; use the `{m}` module"),
        _ => String::new(),
    };
    ModuleError::unsupported(format!(
        "root element <{}> at {}: this is not a feed for `{this_module}` (expected {expected}){hint}",
        root.name, root.location
    ))
}
