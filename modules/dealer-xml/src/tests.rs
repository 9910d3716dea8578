use contextworker_guest::native::TransformRun;
use contextworker_guest::native::testing::{self, attr};
use contextworker_guest::{Availability, ModuleError};

use super::DealerXml;

const PRICE: &[u8] = include_bytes!("../fixtures/price.xml");

fn run_with(feed: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<DealerXml>(feed, config)
}

fn run(feed: &[u8]) -> Result<TransformRun, ModuleError> {
    run_with(feed, &[])
}

#[test]
fn recursive_groups_become_the_category_path() {
    let run = run(PRICE).expect("parses");
    assert_eq!(run.products.len(), 3);
    assert_eq!(
        run.products[0].category_path,
        ["ОПАЛЕННЯ, БОЙЛЕРИ", "БОЙЛЕРИ ЕЛЕКТРИЧНІ"]
    );
    assert_eq!(
        run.products[1].category_path,
        ["ОПАЛЕННЯ, БОЙЛЕРИ", "РАДІАТОРИ"]
    );
    assert_eq!(run.products[2].category_path, ["Аксесуари"]);
}

#[test]
fn retail_tier_is_the_price_and_every_tier_is_kept() {
    let run = run_with(PRICE, &[("currency", "USD")]).expect("parses");
    let boiler = &run.products[0];
    assert_eq!(boiler.offer_id, "111");
    assert_eq!(boiler.price.as_deref(), Some("169"));
    assert_eq!(boiler.currency.as_deref(), Some("USD"));
    assert_eq!(attr(boiler, "cena_dyler"), Some("146"));
    assert_eq!(attr(boiler, "cena_gurt"), Some("148"));
    assert_eq!(attr(boiler, "cena_dribnyj_gurt"), Some("151"));
    assert_eq!(attr(boiler, "cena_rozdrib"), Some("169"));
    assert_eq!(run.products[1].price.as_deref(), Some("9.1"));
    let dealer = run_with(PRICE, &[("price_tier", "cena_dyler")]).expect("parses");
    assert_eq!(dealer.products[0].price.as_deref(), Some("146"));
    assert_eq!(
        dealer.products[0].currency, None,
        "the feed states no currency"
    );
    testing::expect_error(
        run_with(PRICE, &[("price_tier", "cena_vip")]),
        "config key `price_tier` = \"cena_vip\": expected one of",
    );
}

#[test]
fn warehouse_stock_is_summed_and_kept() {
    let run = run(PRICE).expect("parses");
    let boiler = &run.products[0];
    assert_eq!(boiler.quantity, Some(3));
    assert_eq!(boiler.availability, Availability::InStock);
    assert_eq!(attr(boiler, "stock_lviv"), Some("2"));
    assert_eq!(attr(boiler, "stock_kyyiv"), Some("1"));
    assert_eq!(attr(boiler, "stock_odesa"), Some("0"));
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    assert_eq!(run.products[2].quantity, Some(5));
}

#[test]
fn fields_and_windows_1251_text() {
    let run = run(PRICE).expect("parses");
    let boiler = &run.products[0];
    assert_eq!(boiler.name, "Бойлер Electrolux EWH 100");
    assert_eq!(boiler.vendor_code.as_deref(), Some("EWH 100"));
    assert_eq!(boiler.brand.as_deref(), Some("Electrolux"));
    assert_eq!(
        boiler.description.as_deref(),
        Some("Бойлер Electrolux EWH 100 Тип накопичувальний Обєм 100 л")
    );
    assert_eq!(attr(boiler, "warranty"), Some("24"));
    assert_eq!(
        attr(&run.products[1], "name_ru"),
        Some("Радиатор алюминиевый 500/85")
    );
    assert_eq!(run.products[1].vendor_code, None, "empty <partnumber/>");
}

#[test]
fn bad_prices_and_missing_fields_are_errors_or_skips() {
    let feed = b"<root><node kod=\"1\" isgroup=\"1\"><name>G</name>\n<node kod=\"2\" isgroup=\"0\" cena_rozdrib=\"n/a\"><name>A</name></node>\n<node isgroup=\"0\"><name>B</name></node>\n<node kod=\"4\" isgroup=\"0\" cena_rozdrib=\"5\"><name>C</name></node></node></root>";
    let err = run(feed).expect_err("bad price");
    let (message, at) = testing::invalid_input_at(&err);
    assert!(message.contains("cena_rozdrib"), "{message}");
    assert_eq!(at.line, Some(2));
    let run = run_with(feed, &[("lenient", "true")]).expect("skips");
    assert_eq!((run.products.len(), run.records_seen), (1, 3));
    assert!(run.warnings.iter().any(|w| w.message.contains("no kod")));
}

#[test]
fn duplicates_wrong_formats_truncation_and_entities() {
    let dup = b"<root><node kod=\"1\" isgroup=\"0\"><name>A</name></node><node kod=\"1\" isgroup=\"0\"><name>B</name></node></root>";
    let dups = run(dup).expect("parses");
    assert_eq!((dups.products.len(), dups.warnings.len()), (2, 1));

    let err = run(b"<price><items/></price>").expect_err("hotline feed");
    assert!(
        matches!(err, ModuleError::Unsupported(_)) && err.to_string().contains("`hotline`"),
        "{err}"
    );

    testing::expect_error(run(&PRICE[..PRICE.len() - b"</root>\n".len()]), "truncated");

    testing::expect_error(run(b"<!DOCTYPE root [<!ENTITY e \"x\">]><root><node kod=\"1\" isgroup=\"0\"><name>&e;</name></node></root>"), "&e;");
}

#[test]
fn mutated_fixtures_never_panic() {
    let cases = feed_kit::fuzz::assert_never_panics::<DealerXml>(&[(PRICE, &[])], 2000);
    assert!(cases >= 2000);
}
