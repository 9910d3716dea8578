use contextworker_guest::native::TransformRun;
use contextworker_guest::native::testing::{self, attr};
use contextworker_guest::{Availability, ModuleError};

use super::GoogleMerchant;

const RSS: &[u8] = include_bytes!("../fixtures/rss.xml");
const ATOM: &[u8] = include_bytes!("../fixtures/atom.xml");

fn run_with(feed: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<GoogleMerchant>(feed, config)
}

fn run(feed: &[u8]) -> Result<TransformRun, ModuleError> {
    run_with(feed, &[])
}

#[test]
fn rss_item_fields() {
    let run = run(RSS).expect("parses");
    assert_eq!(run.products.len(), 3);
    let p = &run.products[0];
    assert_eq!(p.offer_id, "A-1");
    assert_eq!(p.name, "Nabíječka 19.5V");
    assert_eq!(p.description.as_deref(), Some("Power & more"));
    assert_eq!(p.url.as_deref(), Some("https://shop.example/a1/"));
    assert_eq!(p.image_urls.len(), 3);
    assert_eq!(
        (p.price.as_deref(), p.currency.as_deref()),
        (Some("599"), Some("CZK"))
    );
    assert_eq!(p.availability, Availability::InStock);
    assert_eq!(p.brand.as_deref(), Some("Movano"));
    assert_eq!(p.barcodes, ["5902687180165"]);
    assert_eq!(p.vendor_code.as_deref(), Some("LA90PM111"));
    assert_eq!(p.category_path, ["Elektronika", "Počítače", "Nabíječky"]);
    assert_eq!(p.category_id.as_deref(), Some("276"));
    assert_eq!(attr(p, "condition"), Some("new"));
}

#[test]
fn the_shipping_price_is_never_the_item_price() {
    let run = run(RSS).expect("parses");
    assert_eq!(run.products[0].price.as_deref(), Some("599"));
    assert_eq!(attr(&run.products[0], "shipping"), Some("CZ 79 CZK"));
    // Shipping before the price in the item: still the item's own price.
    let chair = &run.products[1];
    assert_eq!(chair.price.as_deref(), Some("5546.40"));
}

#[test]
fn a_sale_price_becomes_the_price_and_the_regular_one_the_old_price() {
    let run = run(RSS).expect("parses");
    let chair = &run.products[1];
    assert_eq!(chair.price.as_deref(), Some("5546.40"));
    assert_eq!(chair.old_price.as_deref(), Some("6933.00"));
    assert_eq!(chair.currency.as_deref(), Some("UAH"));
    assert_eq!(chair.variant_group_id.as_deref(), Some("chair"));
    assert_eq!(chair.availability, Availability::OutOfStock);
    assert_eq!(attr(chair, "Країна"), Some("Польща"));
}

#[test]
fn duplicate_ids_warn_with_both_positions_and_all_records_are_emitted() {
    let run = run(RSS).expect("parses");
    assert_eq!(run.products.len(), 3);
    assert_eq!(run.warnings.len(), 1);
    let w = &run.warnings[0];
    assert!(
        w.message.contains("\"A-1\"") && w.message.contains("first at line 2"),
        "{}",
        w.message
    );
    assert_eq!(w.offer_id.as_deref(), Some("A-1"));
}

#[test]
fn atom_entries_with_empty_elements_and_relative_images() {
    let run = run(ATOM).expect("parses");
    assert_eq!(run.products.len(), 2);
    let box_ = &run.products[0];
    assert_eq!(box_.name, "BESPOKE box", "titles are trimmed");
    assert_eq!(
        (box_.price.as_deref(), box_.description.as_deref()),
        (None, None)
    );
    assert!(box_.category_path.is_empty());
    assert!(
        attr(box_, "color").is_none(),
        "empty elements are not attributes"
    );
    assert_eq!(
        box_.image_urls,
        ["https://shop.example/medias/box.jpg?context=abc"]
    );
}

#[test]
fn atom_double_escaped_paths_and_nested_details() {
    let run = run(ATOM).expect("parses");
    let p = &run.products[1];
    assert_eq!(
        p.category_path,
        ["Products", "Бытовая техника", "Стиральные машины"]
    );
    assert_eq!(p.category_id.as_deref(), Some("Products > Бытовая техника"));
    assert_eq!(
        (p.price.as_deref(), p.old_price.as_deref()),
        (Some("354990"), Some("374990"))
    );
    assert_eq!(p.currency.as_deref(), Some("KZT"));
    assert_eq!(p.availability, Availability::Preorder);
    assert_eq!(p.variant_group_id.as_deref(), Some("WW90-group"));
    assert_eq!(attr(p, "Цвет корпуса"), Some("Белый"));
    assert_eq!(attr(p, "html_code_color"), Some("ffffff"));
    assert_eq!(attr(p, "shipping"), Some("KZ pony 0.0 KZT"));
}

#[test]
fn the_google_namespace_is_matched_by_uri_under_any_prefix() {
    let feed = br#"<rss xmlns:gm="http://base.google.com/ns/1.0"><channel><item><gm:id>1</gm:id><gm:title>T</gm:title><gm:price>5 EUR</gm:price></item></channel></rss>"#;
    let run = run(feed).expect("parses");
    assert_eq!(run.products[0].offer_id, "1");
    assert_eq!(run.products[0].price.as_deref(), Some("5"));
}

#[test]
fn plain_rss_fields_are_fallbacks_and_config_currency_fills_in() {
    let feed = b"<rss><channel><item><g:id>1</g:id><title>Plain</title><link>https://x.example/1</link><g:price>12.50</g:price></item></channel></rss>";
    let run = run_with(feed, &[("currency", "EUR")]).expect("parses");
    let p = &run.products[0];
    assert_eq!(
        (p.name.as_str(), p.url.as_deref()),
        ("Plain", Some("https://x.example/1"))
    );
    assert_eq!(p.currency.as_deref(), Some("EUR"));
}

#[test]
fn missing_id_is_an_error_with_a_location_or_a_skip() {
    let feed = b"<rss><channel>\n<item><g:title>No id</g:title></item>\n<item><g:id>2</g:id><g:title>B</g:title></item></channel></rss>";
    let err = run(feed).expect_err("no id");
    let (message, at) = testing::invalid_input_at(&err);
    assert!(message.contains("no g:id"), "{message}");
    assert_eq!(at.line, Some(2));
    let run = run_with(feed, &[("lenient", "true")]).expect("skips");
    assert_eq!((run.products.len(), run.records_seen), (1, 2));
}

#[test]
fn wrong_formats_name_the_module_that_fits() {
    for (feed, module) in [
        (&b"<yml_catalog><shop/></yml_catalog>"[..], "`yml`"),
        (&b"<price><items/></price>"[..], "`hotline`"),
    ] {
        let err = run(feed).expect_err("wrong format");
        assert!(matches!(err, ModuleError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains(module), "{err}");
    }
    let err = run(b"{\"products\": []}").expect_err("not xml");
    assert!(matches!(err, ModuleError::InvalidInput { .. }), "{err:?}");
}

#[test]
fn truncated_and_malformed_feeds_are_errors() {
    let cut = &RSS[..RSS.len() * 2 / 3];
    let err = run(cut).expect_err("truncated");
    testing::invalid_input_at(&err);
    testing::expect_error(
        run(b"<rss><channel><item><g:id>1</g:title></item></channel></rss>"),
        "line 1, column",
    );
}

#[test]
fn dtd_entities_are_never_expanded() {
    let feed = br#"<!DOCTYPE rss [<!ENTITY x "boom">]><rss><channel><item><g:id>&x;</g:id><g:title>t</g:title></item></channel></rss>"#;
    testing::expect_error(run(feed), "&x;");
}

#[test]
fn mutated_fixtures_never_panic() {
    let cases =
        feed_kit::fuzz::assert_never_panics::<GoogleMerchant>(&[(RSS, &[]), (ATOM, &[])], 1000);
    assert!(cases >= 2000);
}
