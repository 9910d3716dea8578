//! Availability as suppliers write it, in the languages of the corpus.

use contextworker_guest::Availability;

/// Map a feed's availability word or flag. `None` when the text says nothing recognizable.
pub fn parse_availability(raw: &str) -> Option<Availability> {
    let text = raw.trim().to_lowercase().replace(['_', '-'], " ");
    let text = text.as_str();
    Some(match text {
        "true"
        | "1"
        | "yes"
        | "+"
        | "in stock"
        | "instock"
        | "available"
        | "в наличии"
        | "в наявності"
        | "є в наявності"
        | "есть в наличии"
        | "є"
        | "есть"
        | "in stock now"
        | "na stanju"
        | "dostępny" => Availability::InStock,
        "false"
        | "0"
        | "no"
        | "-"
        | "out of stock"
        | "outofstock"
        | "unavailable"
        | "not available"
        | "нет в наличии"
        | "немає в наявності"
        | "немає"
        | "нет"
        | "відсутній"
        | "отсутствует"
        | "nema na stanju"
        | "niedostępny"
        | "discontinued" => Availability::OutOfStock,
        "preorder" | "pre order" | "предзаказ" | "передзамовлення" => {
            Availability::Preorder
        }
        "backorder"
        | "on order"
        | "on backorder"
        | "под заказ"
        | "під замовлення"
        | "на замовлення"
        | "под заказ 2 3 дня" => Availability::OnOrder,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_flags() {
        assert_eq!(parse_availability("true"), Some(Availability::InStock));
        assert_eq!(
            parse_availability(" In_Stock "),
            Some(Availability::InStock)
        );
        assert_eq!(
            parse_availability("out of stock"),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            parse_availability("Під замовлення"),
            Some(Availability::OnOrder)
        );
        assert_eq!(parse_availability("preorder"), Some(Availability::Preorder));
        assert_eq!(parse_availability("maybe"), None);
    }
}
