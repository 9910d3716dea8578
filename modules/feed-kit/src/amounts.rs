//! Prices and quantities as feeds write them, on top of `feed_kit::parse_price`.
//!
//! Shared by the tabular modules (csv, json) so both read price and stock cells the same way.

use crate::{Money, parse_decimal, parse_price};

/// A cell's price, and the earlier price when the cell holds two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub current: Money,
    pub earlier: Option<Money>,
}

/// Parse a price cell. Besides what `parse_price` reads, a cell holding several amounts
/// (scraped WooCommerce markup: `2.890,00RSD2.023,00RSD`, regular then sale) gives the last
/// amount as the price and the first as the old price: shops print the struck-through regular
/// price before the current one.
pub fn parse_prices(raw: &str) -> Result<Prices, String> {
    let single = match parse_price(raw) {
        Ok(money) => {
            return Ok(Prices {
                current: money,
                earlier: None,
            });
        }
        Err(e) => e,
    };
    let amounts = amounts(raw);
    if amounts.len() < 2 {
        return Err(single.to_string());
    }
    let parse = |(number, currency): &(&str, &str)| -> Result<Money, String> {
        let amount = parse_decimal(number)
            .map_err(|reason| format!("price {raw:?}: {number:?} {reason}"))?;
        Ok(Money {
            amount,
            currency: crate::price::currency_code(currency),
        })
    };
    let first = parse(&amounts[0])?;
    let last = parse(&amounts[amounts.len() - 1])?;
    let earlier = (first.amount != last.amount).then_some(first);
    Ok(Prices {
        current: last,
        earlier,
    })
}

/// Every number in `raw` (digits with `.`/`,` inside) with the letters right after it.
fn amounts(raw: &str) -> Vec<(&str, &str)> {
    let bytes = raw.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_digit()
                || (matches!(bytes[i], b'.' | b',')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        let number = &raw[start..i];
        let rest = raw[i..].trim_start_matches([' ', '\u{a0}']);
        let letters = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic() && !matches!(c, '$' | '€' | '₴' | '₽' | '₸'))
            .map_or(rest, |(at, _)| &rest[..at]);
        found.push((number, letters));
    }
    found
}

/// A stock count: `12`, `34000.0` (exporters that write every number as a float), `>10`
/// (taken as 10: the supplier promises at least that many).
pub fn parse_quantity(raw: &str) -> Result<i64, String> {
    let text = raw.trim().trim_start_matches(['>', '<', '~', '+']).trim();
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(decimal) = parse_decimal(text)
        && let Some((whole, fraction)) = decimal.split_once('.').or(Some((&decimal, "")))
        && fraction.chars().all(|c| c == '0')
        && let Ok(n) = whole.parse::<i64>()
    {
        return Ok(n);
    }
    Err(format!("quantity {raw:?} is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_glued_prices_give_price_and_old_price() {
        let p = parse_prices("2.890,00RSD2.023,00RSD").expect("parses");
        assert_eq!(p.current.amount, "2023.00");
        assert_eq!(p.current.currency.as_deref(), Some("RSD"));
        assert_eq!(p.earlier.map(|m| m.amount).as_deref(), Some("2890.00"));
        let p = parse_prices("8,48 zł").expect("parses");
        assert_eq!((p.current.amount.as_str(), p.earlier), ("8.48", None));
        let err = parse_prices("n/a").expect_err("no number");
        assert!(err.contains("\"n/a\""), "{err}");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("34000.0"), Ok(34000));
        assert_eq!(parse_quantity(">10"), Ok(10));
        assert_eq!(parse_quantity("-1"), Ok(-1));
        assert_eq!(
            parse_quantity("2.5"),
            Err("quantity \"2.5\" is not a whole number".to_owned())
        );
        assert_eq!(
            parse_quantity("many"),
            Err("quantity \"many\" is not a whole number".to_owned())
        );
    }
}
