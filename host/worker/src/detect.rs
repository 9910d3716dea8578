//! Choosing a transformer from a feed's first bytes, for ad-hoc imports that do not name one.
//! Only unambiguous signs count; anything else asks the caller to name the module.

/// How many leading bytes detection looks at.
pub const SNIFF_BYTES: usize = 8192;

/// The module for a feed that starts with `head`, if the signs are clear.
pub fn detect_module(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        if trimmed.contains("<yml_catalog") {
            Some("yml")
        } else if trimmed.contains("base.google.com/ns/1.0") {
            Some("google-merchant")
        } else if trimmed.contains("<price") && trimmed.contains("<items") {
            Some("hotline")
        } else {
            None
        }
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        Some("json")
    } else {
        let first_line = trimmed.lines().next().unwrap_or("");
        [',', ';', '\t']
            .iter()
            .any(|sep| first_line.contains(*sep))
            .then_some("csv")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_signs_pick_a_module_and_anything_else_does_not() {
        let cases: [(&str, Option<&str>); 7] = [
            (
                "\u{feff}<?xml version=\"1.0\"?>\n<yml_catalog date=\"x\">",
                Some("yml"),
            ),
            (
                "<rss xmlns:g=\"http://base.google.com/ns/1.0\">",
                Some("google-merchant"),
            ),
            ("<?xml?><price><date>x</date><items>", Some("hotline")),
            ("  [{\"sku\": 1}]", Some("json")),
            ("sku;name;price\n1;a;2", Some("csv")),
            ("<catalog><item/></catalog>", None),
            ("just some words", None),
        ];
        for (head, expected) in cases {
            assert_eq!(detect_module(head.as_bytes()), expected, "{head}");
        }
    }
}
