//! A deliberately small transformer: one offer per line, columns named by the header row.
//! It is the example module of the guest SDK; the real feed formats live in their own modules.

use std::io::BufRead;

use contextworker_guest::{
    Availability, Config, FeedReader, Location, ModuleError, Product, ProductSink, Transformer,
    Warning,
};

pub struct SimpleTsv;

/// Product fields a header may name. Any other column becomes an attribute.
const FIELDS: &[&str] = &[
    "offer_id", "name", "price", "currency", "quantity", "category", "brand", "sku", "url",
];

impl Transformer for SimpleTsv {
    fn transform(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
    ) -> Result<(), ModuleError> {
        let delimiter = delimiter(config)?;
        let mut lines = input.buffered().lines();
        let header = match lines.next() {
            Some(line) => line.map_err(|e| read_error(&e, 1))?,
            None => {
                return Err(
                    ModuleError::invalid_input("empty feed: expected a header row").at_line(1, 1),
                );
            }
        };
        let columns: Vec<String> = header
            .trim_start_matches('\u{feff}')
            .split(delimiter)
            .map(str::to_owned)
            .collect();
        for required in ["offer_id", "name"] {
            if !columns.iter().any(|c| c == required) {
                return Err(ModuleError::invalid_input(format!(
                    "header has no `{required}` column"
                ))
                .at_line(1, 1));
            }
        }
        for (index, line) in lines.enumerate() {
            let line_no = u32::try_from(index + 2).unwrap_or(u32::MAX);
            let line = line.map_err(|e| read_error(&e, line_no))?;
            if line.trim().is_empty() {
                continue;
            }
            match parse_row(&columns, &line, delimiter) {
                Ok(product) => out.emit(product),
                Err(reason) => out.skip(Warning::new(reason).at(Location {
                    line: Some(line_no),
                    ..Location::default()
                })),
            }
        }
        Ok(())
    }
}

contextworker_guest::export_transformer!(SimpleTsv);

fn delimiter(config: &Config) -> Result<char, ModuleError> {
    let raw = config.get_or("delimiter", "\t");
    let mut chars = raw.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(ModuleError::invalid_input(format!(
            "config key `delimiter` = {raw:?}: expected one character"
        ))),
    }
}

fn read_error(e: &std::io::Error, line: u32) -> ModuleError {
    ModuleError::invalid_input(format!("cannot read line: {e}")).at_line(line, 1)
}

fn parse_row(columns: &[String], line: &str, delimiter: char) -> Result<Product, String> {
    let mut product = Product::default();
    for (column, value) in columns.iter().zip(line.split(delimiter)) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match column.as_str() {
            "offer_id" => product.offer_id = value.to_owned(),
            "name" => product.name = value.to_owned(),
            "price" => {
                product.price = Some(
                    decimal(value).ok_or_else(|| format!("price {value:?} is not a decimal"))?,
                )
            }
            "currency" => product.currency = Some(value.to_ascii_uppercase()),
            "quantity" => {
                let q: i64 = value
                    .parse()
                    .map_err(|_| format!("quantity {value:?} is not an integer"))?;
                product.quantity = Some(q);
                product.availability = if q > 0 {
                    Availability::InStock
                } else {
                    Availability::OutOfStock
                };
            }
            "category" => product.category_path = value.split('/').map(str::to_owned).collect(),
            "brand" => product.brand = Some(value.to_owned()),
            "sku" => product.sku = Some(value.to_owned()),
            "url" => product.url = Some(value.to_owned()),
            other if !FIELDS.contains(&other) => {
                product
                    .attributes
                    .push(contextworker_guest::Attribute::new(other, value));
            }
            _ => {}
        }
    }
    if product.offer_id.is_empty() {
        return Err("row has no offer_id".to_owned());
    }
    if product.name.is_empty() {
        return Err(format!("offer {} has no name", product.offer_id));
    }
    Ok(product)
}

/// Normalize "1 299,50" or "45" to a plain decimal string without going through a float.
fn decimal(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let (int, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let valid = !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
        && !(cleaned.contains('.') && frac.is_empty());
    valid.then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contextworker_guest::native::{TransformRun, testing};

    fn run(feed: &str) -> Result<TransformRun, ModuleError> {
        testing::run::<SimpleTsv>(feed.as_bytes(), &[])
    }

    #[test]
    fn parses_the_fixture() {
        let feed = include_str!("../fixtures/sample.tsv");
        let run = run(feed).expect("fixture parses");
        assert_eq!(run.products.len(), 3);
        let kettle = &run.products[0];
        assert_eq!(kettle.offer_id, "1001");
        assert_eq!(kettle.price.as_deref(), Some("899.00"));
        assert_eq!(kettle.category_path, ["Kitchen", "Kettles"]);
        assert_eq!(kettle.availability, Availability::InStock);
        assert_eq!(run.products[1].availability, Availability::OutOfStock);
    }

    #[test]
    fn bad_rows_are_skipped_with_a_warning_naming_the_line() {
        let run = run("offer_id\tname\tprice\n1\tA\t10\n2\tB\tten\n").expect("parses leniently");
        assert_eq!(run.products.len(), 1);
        assert_eq!(run.records_seen, 2);
        assert_eq!(
            run.warnings[0].location.as_ref().and_then(|l| l.line),
            Some(3)
        );
        assert!(
            run.warnings[0].message.contains("not a decimal"),
            "{:?}",
            run.warnings
        );
    }

    #[test]
    fn a_header_without_offer_id_is_invalid_input() {
        let err = run("name\tprice\nA\t1\n").expect_err("must fail");
        assert!(matches!(err, ModuleError::InvalidInput { .. }), "{err:?}");
        assert!(err.to_string().contains("offer_id"), "{err}");
    }

    #[test]
    fn decimals_stay_exact() {
        assert_eq!(decimal("1 299,50").as_deref(), Some("1299.50"));
        assert_eq!(decimal("0.0000").as_deref(), Some("0.0000"));
        assert_eq!(decimal("12."), None);
        assert_eq!(decimal("-1"), None);
    }
}
