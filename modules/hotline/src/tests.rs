use contextworker_guest::native::TransformRun;
use contextworker_guest::native::testing::{self, attr};
use contextworker_guest::{Availability, ModuleError};

use super::Hotline;

const SAMPLE: &[u8] = include_bytes!("../fixtures/sample.xml");
const CP1251: &[u8] = include_bytes!("../fixtures/cp1251.xml");
const MALFORMED: &[u8] = include_bytes!("../fixtures/malformed.xml");

fn run_with(feed: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<Hotline>(feed, config)
}

fn run(feed: &[u8]) -> Result<TransformRun, ModuleError> {
    run_with(feed, &[])
}

#[test]
fn element_style_categories_become_a_path() {
    let run = run(SAMPLE).expect("parses");
    assert_eq!(run.products.len(), 3);
    let axe = &run.products[0];
    assert_eq!(axe.offer_id, "1001");
    assert_eq!(axe.category_path, ["Сад", "Сокири & колуни"]);
    assert_eq!(axe.category_id.as_deref(), Some("2"));
    assert_eq!(run.products[1].category_path, ["Сад"]);
    // An unknown category keeps its id and gets no path.
    assert!(run.products[2].category_path.is_empty());
    assert_eq!(run.products[2].category_id.as_deref(), Some("99"));
}

#[test]
fn item_fields_prices_and_params() {
    let run = run(SAMPLE).expect("parses");
    let axe = &run.products[0];
    assert_eq!(axe.vendor_code.as_deref(), Some("A18"));
    assert_eq!(attr(axe, "vendorCode"), Some("1052045"));
    assert_eq!(axe.brand.as_deref(), Some("Fiskars"));
    assert_eq!(axe.barcodes, ["6411501310835"]);
    assert_eq!(axe.image_urls.len(), 2);
    assert_eq!(axe.image_urls[1], "https://example.com/a18 2.jpg");
    assert_eq!(axe.price.as_deref(), Some("2187.00"));
    assert_eq!(axe.old_price.as_deref(), Some("2499"));
    assert_eq!(axe.currency.as_deref(), Some("UAH"));
    assert_eq!(axe.availability, Availability::InStock);
    assert_eq!(attr(axe, "Вага, кг"), Some("1,2"));
    assert_eq!(
        attr(axe, "Колір"),
        Some("чорний"),
        "param names are trimmed"
    );
    assert_eq!(attr(axe, "guarantee"), Some("24"));
    assert_eq!(
        axe.description.as_deref(),
        Some("<p>Колун &mdash; <b>сталь</b></p>")
    );
}

#[test]
fn id_attribute_price_tag_and_markup_inside_description() {
    let run = run(SAMPLE).expect("parses");
    let spade = &run.products[1];
    assert_eq!(spade.offer_id, "1002");
    assert_eq!(spade.price.as_deref(), Some("0.0000"));
    assert_eq!(spade.availability, Availability::OutOfStock);
    let description = spade.description.as_deref().unwrap_or_default();
    assert!(
        description.contains("<br></br>і розміткою <p>всередині</p>"),
        "{description}"
    );
    let rakes = &run.products[2];
    assert_eq!(
        (rakes.price.as_deref(), rakes.currency.as_deref()),
        (Some("599"), Some("UAH"))
    );
    assert_eq!(rakes.availability, Availability::InStock);
}

#[test]
fn windows_1251_is_decoded() {
    let run = run(CP1251).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(p.name, "Видеодомофон Commax CDV-71AM");
    assert_eq!(p.category_path, ["Домофоны", "Видеодомофоны"]);
    assert_eq!(p.price.as_deref(), Some("178"));
    assert_eq!(p.availability, Availability::InStock);
    assert!(
        p.description
            .as_deref()
            .unwrap_or_default()
            .contains("7&quot; дисплей")
    );
    assert_eq!(
        p.image_urls,
        ["http://example.com/image/Commax CDV-71AM-600x600.jpg"]
    );
    assert_eq!(run.products[1].availability, Availability::OnOrder);
}

#[test]
fn not_well_formed_is_an_error_with_line_and_column() {
    let err = testing::expect_error(run(MALFORMED), "not well-formed");
    let (_, at) = testing::invalid_input_at(&err);
    assert_eq!(at.line, Some(6));
    assert!(at.column.is_some() && at.byte_offset.is_some());
}

#[test]
fn lenient_mode_recovers_raw_ampersands_and_unclosed_html() {
    let run = run_with(MALFORMED, &[("lenient", "true")]).expect("recovers");
    assert_eq!(run.products.len(), 2);
    let pump = &run.products[0];
    assert_eq!(
        pump.url.as_deref(),
        Some("https://example.com/index.php?route=product&path=&product_id=1")
    );
    assert_eq!(pump.vendor_code.as_deref(), Some("000249756"));
    assert_eq!(
        (pump.price.as_deref(), pump.currency.as_deref()),
        (Some("715.0000"), Some("UAH"))
    );
    assert_eq!(pump.quantity, Some(3));
    assert_eq!(pump.availability, Availability::InStock);
    assert_eq!(run.products[1].old_price.as_deref(), Some("900.0000"));
    assert!(!run.warnings.is_empty(), "each recovery is reported");
}

#[test]
fn truncated_feed_is_an_error() {
    let cut = &SAMPLE[..SAMPLE.len() / 2];
    let err = run(cut).expect_err("truncated");
    assert!(matches!(err, ModuleError::InvalidInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("truncated") || err.to_string().contains("not well-formed"),
        "{err}"
    );
}

#[test]
fn a_yml_feed_names_the_right_module() {
    let err = run(b"<?xml version=\"1.0\"?><yml_catalog><shop/></yml_catalog>")
        .expect_err("wrong format");
    let text = err.to_string();
    assert!(matches!(err, ModuleError::Unsupported(_)), "{err:?}");
    assert!(
        text.contains("<yml_catalog>") && text.contains("`yml`"),
        "{text}"
    );
}

#[test]
fn dtd_entities_are_never_expanded() {
    let feed = br#"<?xml version="1.0"?>
<!DOCTYPE price [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<price><items><item><id>1</id><name>&b;</name></item></items></price>"#;
    let err = testing::expect_error(run(feed), "&b;");
    assert_eq!(testing::invalid_input_at(&err).1.line, Some(3));
}

#[test]
fn missing_name_is_an_error_or_a_skip_in_lenient_mode() {
    let feed = b"<price><items><item><id>1</id></item><item><id>2</id><name>B</name></item></items></price>";
    testing::expect_error(run(feed), "no <name>");
    let run = run_with(feed, &[("lenient", "yes")]).expect("skips");
    assert_eq!(run.products.len(), 1);
    assert_eq!(run.records_seen, 2);
}

#[test]
fn duplicate_ids_warn_and_every_record_is_emitted() {
    let feed = b"<price><items>\n<item><id>1</id><name>A</name></item>\n<item><id>1</id><name>B</name></item>\n</items></price>";
    let run = run(feed).expect("parses");
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.warnings.len(), 1);
    assert!(
        run.warnings[0].message.contains("first at line 2"),
        "{}",
        run.warnings[0].message
    );
}

#[test]
fn config_currency_applies_when_the_feed_has_none() {
    let feed =
        b"<price><items><item><id>1</id><name>A</name><price>10</price></item></items></price>";
    let run = run_with(feed, &[("currency", "usd")]).expect("parses");
    assert_eq!(run.products[0].currency.as_deref(), Some("USD"));
    testing::expect_error(
        run_with(feed, &[("currency", "zorkmid")]),
        "config key `currency` = \"zorkmid\" is not a currency code",
    );
}

#[test]
fn mutated_fixtures_never_panic() {
    let strict: &[(&str, &str)] = &[("lenient", "false")];
    let lenient: &[(&str, &str)] = &[("lenient", "true")];
    let seeds: Vec<feed_kit::fuzz::Seed<'_>> = [SAMPLE, CP1251, MALFORMED]
        .into_iter()
        .flat_map(|seed| [(seed, strict), (seed, lenient)])
        .collect();
    let cases = feed_kit::fuzz::assert_never_panics::<Hotline>(&seeds, 350);
    assert!(cases >= 2000);
}
