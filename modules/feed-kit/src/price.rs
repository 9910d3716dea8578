//! Exact prices: "2187,00", "599 CZK", "32.0 USD", "1 299,50 грн", "0.0000" become a plain
//! decimal string plus an ISO currency, without ever passing through a float.

use std::fmt;

/// An amount as a decimal string (digits, at most one '.', no sign) and its currency if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: String,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceError {
    pub raw: String,
    pub reason: &'static str,
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "price {:?} {}", self.raw, self.reason)
    }
}

/// Currency words and symbols seen in feeds, mapped to ISO 4217.
const CURRENCY_ALIASES: &[(&str, &str)] = &[
    ("грн", "UAH"),
    ("грн.", "UAH"),
    ("₴", "UAH"),
    ("uah", "UAH"),
    ("руб", "RUB"),
    ("руб.", "RUB"),
    ("₽", "RUB"),
    ("rur", "RUB"),
    ("€", "EUR"),
    ("$", "USD"),
    ("zł", "PLN"),
    ("zl", "PLN"),
    ("kč", "CZK"),
    ("₸", "KZT"),
    ("тг", "KZT"),
    ("тенге", "KZT"),
    ("дин", "RSD"),
    ("din", "RSD"),
    ("din.", "RSD"),
];

/// Parse a price that may carry a currency before or after the number.
pub fn parse_price(raw: &str) -> Result<Money, PriceError> {
    let trimmed = raw.trim();
    let split = trimmed
        .find(|c: char| c.is_ascii_digit())
        .zip(trimmed.rfind(|c: char| c.is_ascii_digit()));
    let Some((first, last)) = split else {
        return Err(PriceError {
            raw: raw.to_owned(),
            reason: "has no digits",
        });
    };
    let last = last + 1;
    let (before, number, after) = (&trimmed[..first], &trimmed[first..last], &trimmed[last..]);
    if before.trim_end().ends_with('-') {
        return Err(PriceError {
            raw: raw.to_owned(),
            reason: "is negative",
        });
    }
    let currency_text = format!("{}{}", before.trim(), after.trim());
    let amount = parse_decimal(number).map_err(|reason| PriceError {
        raw: raw.to_owned(),
        reason,
    })?;
    let currency = if currency_text.is_empty() {
        None
    } else {
        Some(currency_code(&currency_text).ok_or(PriceError {
            raw: raw.to_owned(),
            reason: "has an unknown currency",
        })?)
    };
    Ok(Money { amount, currency })
}

/// An ISO code for a currency word, symbol or code ("UAH", "грн", "€").
pub fn currency_code(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() == 3 && text.chars().all(|c| c.is_ascii_alphabetic()) {
        let upper = text.to_ascii_uppercase();
        return Some(if upper == "RUR" {
            "RUB".to_owned()
        } else {
            upper
        });
    }
    let lower = text.to_lowercase();
    CURRENCY_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, code)| (*code).to_owned())
}

/// The supplier config's `currency` key as an ISO code: `None` when unset or empty, an
/// `invalid-input` error naming the key when it is not a currency.
pub fn configured_currency(
    config: &contextworker_guest::Config,
) -> Result<Option<String>, contextworker_guest::ModuleError> {
    match config.get("currency").map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => currency_code(raw).map(Some).ok_or_else(|| {
            contextworker_guest::ModuleError::invalid_input(format!(
                "config key `currency` = {raw:?} is not a currency code (try UAH, USD, EUR)"
            ))
        }),
    }
}

/// Normalize a decimal number: thousands separators (space, NBSP, thin space, apostrophe)
/// removed, a decimal comma turned into a point. "1.299,50" and "1,299.50" both give
/// "1299.50"; a lone separator followed by exactly three digits ("1,299") is read as thousands
/// only when another separator kind is present, otherwise as a decimal mark.
pub fn parse_decimal(raw: &str) -> Result<String, &'static str> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’'))
        .collect();
    if cleaned.is_empty() {
        return Err("is empty");
    }
    if cleaned.starts_with('-') {
        return Err("is negative");
    }
    let cleaned = cleaned.trim_start_matches('+');
    if !cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err("is not a decimal number");
    }
    let last_dot = cleaned.rfind('.');
    let last_comma = cleaned.rfind(',');
    let decimal_mark = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(d), None) => (cleaned.matches('.').count() == 1).then_some(d),
        (None, Some(c)) => (cleaned.matches(',').count() == 1).then_some(c),
        (None, None) => None,
    };
    let mut out = String::with_capacity(cleaned.len());
    for (i, ch) in cleaned.char_indices() {
        match ch {
            '0'..='9' => out.push(ch),
            _ if Some(i) == decimal_mark => out.push('.'),
            _ => {} // a thousands separator
        }
    }
    if !out.chars().any(|c| c.is_ascii_digit()) {
        return Err("is not a decimal number");
    }
    if out.ends_with('.') {
        out.pop();
    }
    if out.starts_with('.') {
        out.insert(0, '0');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(raw: &str) -> (String, Option<String>) {
        let m = parse_price(raw).unwrap_or_else(|e| panic!("{e}"));
        (m.amount, m.currency)
    }

    #[test]
    fn corpus_price_shapes() {
        assert_eq!(money("2187,00"), ("2187.00".into(), None));
        assert_eq!(money("599 CZK"), ("599".into(), Some("CZK".into())));
        assert_eq!(money("32.0 USD"), ("32.0".into(), Some("USD".into())));
        assert_eq!(money("0.0000"), ("0.0000".into(), None));
        assert_eq!(
            money("1 299,50 грн"),
            ("1299.50".into(), Some("UAH".into()))
        );
        assert_eq!(money("1.299,50"), ("1299.50".into(), None));
        assert_eq!(money("1,299.50"), ("1299.50".into(), None));
        assert_eq!(money("$12"), ("12".into(), Some("USD".into())));
        assert_eq!(money("12 500 ₸"), ("12500".into(), Some("KZT".into())));
        assert_eq!(money("1.234.567"), ("1234567".into(), None));
    }

    #[test]
    fn bad_prices_say_why() {
        assert_eq!(parse_price("n/a").unwrap_err().reason, "has no digits");
        assert_eq!(parse_price("-5").unwrap_err().reason, "is negative");
        assert_eq!(
            parse_price("12 zorkmids").unwrap_err().reason,
            "has an unknown currency"
        );
        assert_eq!(parse_decimal("1e5"), Err("is not a decimal number"));
        assert_eq!(parse_decimal(","), Err("is not a decimal number"));
        assert_eq!(parse_decimal(".5").as_deref(), Ok("0.5"));
    }
}
