//! Small text normalizations shared by the parser and the offer builder.

use std::borrow::Cow;

/// Feeds say `ua` for Ukrainian far more often than the ISO `uk`; both (and the three-letter
/// forms) must select the same variant.
pub(crate) fn normalize_language(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    match lower.as_str() {
        "ua" | "ukr" | "uk-ua" | "ua-ua" => "uk".to_owned(),
        "rus" | "ru-ru" => "ru".to_owned(),
        "eng" | "en-us" | "en-gb" => "en".to_owned(),
        _ => lower,
    }
}

/// A field value as it should be emitted: surrounding whitespace (including the no-break spaces
/// spreadsheet exports leave) removed, and CDATA markers that were escaped instead of used
/// (`&lt;![CDATA[...]]&gt;`, an Excel-to-XML converter habit) taken off so they do not end up
/// in names and descriptions.
pub(crate) fn clean(raw: &str) -> &str {
    let trimmed = raw.trim();
    match trimmed
        .strip_prefix("<![CDATA[")
        .and_then(|inner| inner.strip_suffix("]]>"))
    {
        Some(inner) => inner.trim(),
        None => trimmed,
    }
}

/// Category ids are compared as text, but a pandas/Excel round trip writes `105454.0` for
/// `105454`; both sides of the comparison (and the emitted `category_id`) drop such a zero
/// fraction so the id stays the supplier's integer.
pub(crate) fn normalize_id(raw: &str) -> &str {
    let id = raw.trim();
    if let Some((int, frac)) = id.split_once('.')
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
    {
        return int;
    }
    id
}

/// A stock count: a whole number, optionally written with a zero fraction (`5.0`, `5,00`) or
/// thousands spaces. Anything else is refused rather than guessed.
pub(crate) fn parse_quantity(raw: &str) -> Result<i64, String> {
    let compact: Cow<'_, str> = if raw.contains([' ', '\u{a0}']) {
        Cow::Owned(
            raw.chars()
                .filter(|c| !matches!(c, ' ' | '\u{a0}'))
                .collect(),
        )
    } else {
        Cow::Borrowed(raw.trim())
    };
    let text = compact.trim();
    let whole = match text.split_once(['.', ',']) {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int,
        Some(_) => return Err(format!("stock quantity {raw:?} is not a whole number")),
        None => text,
    };
    whole
        .parse::<i64>()
        .map_err(|_| format!("stock quantity {raw:?} is not a whole number"))
}

/// An empty value or a dash standing in for one (`-`, `—`, `–`).
pub(crate) fn is_placeholder(value: &str) -> bool {
    value
        .chars()
        .all(|c| matches!(c, '-' | '\u{2013}' | '\u{2014}'))
}

/// The language a suffixed tag carries: `name_ua` -> `uk`, `description-ru` -> `ru`.
pub(crate) fn language_suffix<'a>(tag: &'a str, base: &str) -> Option<&'a str> {
    let rest = tag.strip_prefix(base)?;
    let suffix = rest.strip_prefix('_').or_else(|| rest.strip_prefix('-'))?;
    (!suffix.is_empty() && suffix.len() <= 5 && suffix.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(normalize_language("UA"), "uk");
        assert_eq!(normalize_language("ru"), "ru");
        assert_eq!(language_suffix("name_ua", "name"), Some("ua"));
        assert_eq!(language_suffix("name", "name"), None);
        assert_eq!(language_suffix("names", "name"), None);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("  \u{a0}Kettle "), "Kettle");
        assert_eq!(clean("<![CDATA[Саморез ]]>"), "Саморез");
        assert_eq!(normalize_id(" 105454.0 "), "105454");
        assert_eq!(normalize_id("1.5"), "1.5");
        assert_eq!(normalize_id("abc.0"), "abc.0");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("12"), Ok(12));
        assert_eq!(parse_quantity(" 1 000 "), Ok(1000));
        assert_eq!(parse_quantity("5.0"), Ok(5));
        assert_eq!(parse_quantity("-1"), Ok(-1));
        assert_eq!(
            parse_quantity("2.5"),
            Err("stock quantity \"2.5\" is not a whole number".to_owned())
        );
        assert_eq!(
            parse_quantity("many"),
            Err("stock quantity \"many\" is not a whole number".to_owned())
        );
    }
}
