//! One test per dialect quirk, each on a small fixture of its own (fixtures/).

// The helpers below fail the calling test by panicking; clippy only exempts `#[test]` bodies.
#![allow(clippy::panic)]

use contextworker_guest::native::{TransformRun, testing};
use contextworker_guest::{Attribute, Availability, ModuleError, Product};
use yml::Yml;

fn run_with(feed: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<Yml>(feed, config)
}

fn run(feed: &[u8]) -> TransformRun {
    run_with(feed, &[]).unwrap_or_else(|e| panic!("feed should parse: {e}"))
}

fn product<'a>(run: &'a TransformRun, id: &str) -> &'a Product {
    run.products
        .iter()
        .find(|p| p.offer_id == id)
        .unwrap_or_else(|| panic!("no offer {id}"))
}

fn attribute<'a>(p: &'a Product, name: &str) -> Option<&'a Attribute> {
    p.attributes.iter().find(|a| a.name == name)
}

/// The error message and its line/column; panics unless it is a located invalid-input.
fn located(error: &ModuleError) -> (String, u32, u32) {
    let (message, at) = testing::invalid_input_at(error);
    (
        message.to_owned(),
        at.line.expect("line in location"),
        at.column.expect("column in location"),
    )
}

#[test]
fn basic_feed_maps_every_field() {
    let run = run(include_bytes!("../fixtures/basic.xml"));
    assert_eq!(run.products.len(), 3);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let k1 = product(&run, "k-1");
    // Ukrainian is the default language: `name_ua` beats the unsuffixed (Russian) `name`.
    assert_eq!(k1.name, "Чайник Bosch TWK-1, білий");
    assert_eq!(k1.description.as_deref(), Some("<p>Швидко кип'ятить</p>"));
    assert_eq!(k1.category_path, ["Kitchen", "Appliances", "Kettles"]);
    assert_eq!(k1.category_id.as_deref(), Some("100"));
    assert_eq!(k1.price.as_deref(), Some("1299.50"));
    assert_eq!(k1.old_price.as_deref(), Some("1499.00"));
    assert_eq!(k1.currency.as_deref(), Some("UAH"));
    assert_eq!(k1.quantity, Some(7));
    assert_eq!(k1.availability, Availability::InStock);
    assert_eq!(k1.brand.as_deref(), Some("Bosch"));
    assert_eq!(k1.vendor_code.as_deref(), Some("TWK-1"));
    assert_eq!(k1.barcodes, ["4006381333931"]);
    assert_eq!(k1.url.as_deref(), Some("https://shop.example/k-1"));
    assert_eq!(k1.variant_group_id.as_deref(), Some("kettle"));
    assert_eq!(
        k1.image_urls,
        [
            "https://shop.example/k-1a.jpg",
            "https://shop.example/k-1b.jpg"
        ]
    );
    let volume = attribute(k1, "Об'єм").expect("param");
    assert_eq!(
        (volume.value.as_str(), volume.unit.as_deref()),
        ("1,7", Some("л"))
    );
    assert_eq!(k1.attributes.len(), 3, "delivery is not an attribute");

    let k2 = product(&run, "k-2");
    assert_eq!(k2.currency.as_deref(), Some("USD"));
    assert_eq!(k2.availability, Availability::OutOfStock);
    // No currencyId: the base currency of <currencies> (rate 1).
    let k3 = product(&run, "k-3");
    assert_eq!(k3.currency.as_deref(), Some("UAH"));
    assert_eq!(k3.category_path, ["Kitchen", "Appliances"]);
    // No `available` attribute: the stock count decides.
    assert_eq!(k3.availability, Availability::OutOfStock);
}

#[test]
fn language_config_selects_the_variant() {
    let feed = include_bytes!("../fixtures/basic.xml");
    let ru = run_with(feed, &[("language", "ru")]).expect("parses");
    // No `name_ru`: the unsuffixed name is the fallback.
    assert_eq!(product(&ru, "k-1").name, "Чайник Bosch TWK-1, белый");
    let en = run_with(feed, &[("language", "en")]).expect("parses");
    assert_eq!(product(&en, "k-1").name, "Чайник Bosch TWK-1, белый");
    let ua = run_with(feed, &[("language", "ua")]).expect("parses");
    assert_eq!(product(&ua, "k-1").name, "Чайник Bosch TWK-1, білий");
}

#[test]
fn currency_config_is_the_fallback_and_is_validated() {
    let feed = include_bytes!("../fixtures/no-shop-lang-attr.xml");
    assert_eq!(run(feed).products[0].currency, None);
    let with = run_with(feed, &[("currency", "грн")]).expect("parses");
    assert_eq!(with.products[0].currency.as_deref(), Some("UAH"));
    testing::expect_error(run_with(feed, &[("currency", "zorkmid")]), "`currency`");
    testing::expect_error(run_with(feed, &[("lenient", "maybe")]), "`lenient`");
}

#[test]
fn offers_directly_under_shop_with_a_stray_text_node() {
    let run = run(include_bytes!("../fixtures/no-offers-wrapper.xml"));
    // Every record is emitted, the repeated id too.
    assert_eq!(run.products.len(), 4);
    assert_eq!(run.products[0].category_path, ["Phones", "Blackview"]);
    assert_eq!(run.products[0].old_price.as_deref(), Some("7999"));
    assert_eq!(run.products[1].category_id, None);
    assert!(run.products[2].category_path.is_empty());
    let duplicate = run
        .warnings
        .iter()
        .find(|w| w.message.contains("duplicate offer id \"1\""))
        .expect("duplicate warning");
    assert!(
        duplicate.message.contains("first at line 13")
            && duplicate.message.contains("again at line 24"),
        "{}",
        duplicate.message
    );
    let unknown: Vec<_> = run
        .warnings
        .iter()
        .filter(|w| w.message.contains("\"269\""))
        .collect();
    assert_eq!(unknown.len(), 1, "one warning per undeclared category");
    assert_eq!(run.warnings.len(), 2);
}

#[test]
fn parent_id_capitalized_and_cdata_everywhere() {
    let run = run(include_bytes!("../fixtures/parent-id-cdata.xml"));
    let p = &run.products[0];
    assert_eq!(
        p.category_path,
        ["Техника", "Автотовары", "Bluetooth адаптеры"]
    );
    assert_eq!(p.category_id.as_deref(), Some("190"));
    assert_eq!(p.name, "Автомобільний адаптер");
    assert_eq!(p.currency.as_deref(), Some("UAH"));
    assert_eq!(p.price.as_deref(), Some("349"));
    assert_eq!(p.quantity, Some(3));
    assert_eq!(p.url.as_deref(), Some("https://shop.example/a?x=1&y=2"));
    assert_eq!(p.image_urls, ["https://shop.example/a.jpg"]);
    assert_eq!(p.vendor_code, None, "empty CDATA is no value");
    assert_eq!(p.variant_group_id.as_deref(), Some("134397"));
    assert_eq!(
        attribute(p, "model").map(|a| a.value.as_str()),
        Some("BT-5")
    );
    assert_eq!(
        attribute(p, "price_rrc").map(|a| a.value.as_str()),
        Some("399")
    );
}

#[test]
fn no_shop_no_categories_and_lang_attributes() {
    let run = run(include_bytes!("../fixtures/no-shop-lang-attr.xml"));
    let p = &run.products[0];
    assert_eq!(p.name, "Валіза велика чорна");
    assert_eq!(p.description.as_deref(), Some("Опис"));
    assert_eq!(p.category_path, ["Валізи"]);
    assert_eq!(p.category_id.as_deref(), Some("5442"));
    assert_eq!(p.brand.as_deref(), Some("Snowball"));
    assert_eq!(p.old_price.as_deref(), Some("3500"));
    assert_eq!(p.image_urls.len(), 2);
    assert_eq!(
        attribute(p, "Міра виміру").map(|a| a.value.as_str()),
        Some("шт.")
    );
    // A param without a name is named by its code.
    assert_eq!(attribute(p, "ratio").map(|a| a.value.as_str()), Some("1"));
    let ru = run_with(
        include_bytes!("../fixtures/no-shop-lang-attr.xml"),
        &[("language", "ru")],
    )
    .expect("parses");
    assert_eq!(ru.products[0].name, "Чемодан большой черный");
}

#[test]
fn misspelled_available_with_a_cyrillic_letter() {
    let run = run(include_bytes!("../fixtures/cyrillic-available.xml"));
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.products[0].availability, Availability::InStock);
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    assert_eq!(run.products[0].category_path, ["Мёд", "Чих-пых", "250"]);
    assert_eq!(
        run.products[0].description.as_deref(),
        Some("<p>Мёд<br><b>Вес:</b>250 г</p>")
    );
}

#[test]
fn float_formatted_category_ids() {
    let run = run(include_bytes!("../fixtures/float-category-ids.xml"));
    let p = &run.products[0];
    assert_eq!(p.category_id.as_deref(), Some("105454"));
    assert_eq!(p.category_path, ["Ігрова форма", "Тримачі"]);
    assert_eq!(p.name, "Тримач для телефону");
    assert_eq!(p.quantity, Some(8));
}

#[test]
fn price_and_stock_update_feed() {
    let run = run(include_bytes!("../fixtures/price-update.xml"));
    assert_eq!(run.products.len(), 2);
    let p = &run.products[1];
    assert_eq!((p.offer_id.as_str(), p.name.as_str()), ("110679723", ""));
    assert_eq!(p.price.as_deref(), Some("6420"));
    assert_eq!(p.quantity, Some(0));
    assert_eq!(p.availability, Availability::OutOfStock);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0]
            .message
            .starts_with("2 offer(s) have no name")
    );
}

#[test]
fn vendor_model_offers_get_a_composed_name() {
    let run = run(include_bytes!("../fixtures/vendor-model.xml"));
    let p = &run.products[0];
    assert_eq!(p.name, "Смартфон Acme X100 128GB");
    assert_eq!(p.brand.as_deref(), Some("Acme"));
}

#[test]
fn escaped_html_double_escaped_cdata_and_placeholders() {
    let run = run(include_bytes!("../fixtures/escaped-html.xml"));
    let first = &run.products[0];
    assert_eq!(first.currency.as_deref(), Some("RUB"), "legacy RUR");
    assert_eq!(first.description.as_deref(), Some("Стілець & табурет"));
    let ru = run_with(
        include_bytes!("../fixtures/escaped-html.xml"),
        &[("language", "ru")],
    )
    .expect("parses");
    assert_eq!(
        ru.products[0].description.as_deref(),
        Some("<p>Стул&nbsp;массажиста</p>")
    );
    let second = &run.products[1];
    assert_eq!(second.price, None, "a dash is no price");
    assert_eq!(
        second.description.as_deref(),
        Some("<p>Кушетка <b>складная</b><br/>белая</p>"),
        "well-formed XHTML in a description is kept as markup"
    );
    assert!(
        run.warnings
            .iter()
            .any(|w| w.message.contains("placeholder"))
    );
    assert!(
        attribute(first, "weight").is_none(),
        "empty elements add nothing"
    );
}

#[test]
fn windows_1251_is_decoded() {
    let run = run(include_bytes!("../fixtures/windows-1251.xml"));
    let p = &run.products[0];
    assert_eq!(p.name, "Домофон Коммакс");
    assert_eq!(p.category_path, ["Домофони"]);
    assert_eq!(p.price.as_deref(), Some("2187.00"), "decimal comma");
    assert_eq!(p.currency.as_deref(), Some("UAH"), "грн");
    // A wrong override is refused instead of producing mojibake silently.
    testing::expect_error(
        run_with(
            include_bytes!("../fixtures/windows-1251.xml"),
            &[("encoding", "utf-8")],
        ),
        "not valid UTF-8",
    );
}

#[test]
fn not_well_formed_names_line_and_column() {
    let err = run_with(
        include_bytes!("../fixtures/bad-not-well-formed.xml"),
        &[("lenient", "true")],
    )
    .expect_err("not well-formed");
    let (message, line, column) = located(&err);
    assert_eq!((line, column), (6, 3), "{message}");
    assert!(message.contains("not well-formed"), "{message}");

    let err = run_with(include_bytes!("../fixtures/bad-mismatched-tag.xml"), &[])
        .expect_err("mismatched");
    let (message, line, _) = located(&err);
    assert_eq!(line, 7, "{message}");
    assert!(message.contains("not well-formed"), "{message}");
}

#[test]
fn truncated_feed_is_an_error() {
    let err =
        run_with(include_bytes!("../fixtures/bad-truncated.xml"), &[]).expect_err("truncated");
    let (message, _, _) = located(&err);
    assert!(
        message.contains("truncated") || message.contains("not well-formed"),
        "{message}"
    );
    // Cut at every point of a small feed: always an error, never a panic or a silent success.
    let whole = include_bytes!("../fixtures/vendor-model.xml");
    let end = whole.len() - b"</yml_catalog>\n".len();
    for cut in 1..end {
        let result = run_with(&whole[..cut], &[]);
        assert!(
            result.is_err(),
            "cut at {cut} parsed: {:?}",
            result.map(|r| r.products.len())
        );
    }
}

#[test]
fn dtd_entities_are_never_expanded() {
    let err =
        run_with(include_bytes!("../fixtures/bad-entity-bomb.xml"), &[]).expect_err("refused");
    let (message, line, _) = located(&err);
    assert!(message.contains("<!ENTITY"), "{message}");
    assert_eq!(line, 2);
    let err =
        run_with(include_bytes!("../fixtures/bad-undefined-entity.xml"), &[]).expect_err("refused");
    let (message, line, _) = located(&err);
    assert!(message.contains("&nbsp;"), "{message}");
    assert_eq!(line, 3);
}

#[test]
fn missing_offer_id_fails_or_is_skipped_when_lenient() {
    let feed = include_bytes!("../fixtures/bad-missing-id.xml");
    let (message, line, column) = located(&run_with(feed, &[]).expect_err("strict"));
    assert!(message.contains("`id`"), "{message}");
    assert_eq!((line, column), (4, 1));
    let run = run_with(feed, &[("lenient", "true")]).expect("lenient");
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.records_seen, 3);
    testing::assert_warning(&run, 0, "skipped");
}

#[test]
fn bad_values_fail_strict_and_are_skipped_lenient() {
    let feed = include_bytes!("../fixtures/bad-values.xml");
    let (message, line, _) = located(&run_with(feed, &[]).expect_err("strict"));
    assert!(message.contains("\"ten\""), "{message}");
    assert_eq!(line, 4);
    let run = run_with(feed, &[("lenient", "true")]).expect("lenient");
    let ids: Vec<_> = run.products.iter().map(|p| p.offer_id.as_str()).collect();
    assert_eq!(ids, ["1", "5"]);
    assert_eq!(run.warnings.len(), 3, "{:?}", run.warnings);
    assert!(run.warnings[1].message.contains("\"lots\""));
    assert!(run.warnings[2].message.contains("zorkmid"));
}

#[test]
fn other_formats_are_unsupported_and_name_the_right_module() {
    for (feed, root, module) in [
        (
            &include_bytes!("../fixtures/wrong-spreadsheetml.xml")[..],
            "<Workbook>",
            "csv",
        ),
        (
            &include_bytes!("../fixtures/wrong-google-rss.xml")[..],
            "<rss>",
            "google-merchant",
        ),
    ] {
        let err = run_with(feed, &[]).expect_err("wrong format");
        let ModuleError::Unsupported(message) = err else {
            panic!("{err:?}")
        };
        assert!(
            message.contains(root) && message.contains(module),
            "{message}"
        );
    }
    let err = run_with(b"sku;price\nA;1\n", &[]).expect_err("not XML");
    let (message, line, column) = located(&err);
    assert!(message.contains("not XML"), "{message}");
    assert_eq!((line, column), (1, 1));
    let (message, _, _) = located(&run_with(b"", &[]).expect_err("empty"));
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn a_giant_text_node_fails_instead_of_exhausting_memory() {
    let mut feed = b"<yml_catalog><shop><offers><offer id=\"1\"><description>".to_vec();
    feed.resize(feed.len() + 17 * 1024 * 1024, b'x');
    feed.extend_from_slice(b"</description></offer></offers></shop></yml_catalog>");
    let (message, line, _) = located(&run_with(&feed, &[]).expect_err("refused"));
    assert!(message.contains("MiB"), "{message}");
    assert_eq!(line, 1);
}

#[test]
fn offers_without_any_price_get_one_warning_naming_the_element() {
    let feed = br#"<yml_catalog><shop><offers>
<offer id="1"><name>Kettle</name></offer><offer id="2"><name>Toaster</name></offer>
</offers></shop></yml_catalog>"#;
    let run = run(feed);
    assert_eq!(run.products.len(), 2);
    assert_eq!(
        testing::warnings(&run),
        ["no record has a price (2 read): each <offer> needs a <price> element"]
    );
    let one_priced = br#"<yml_catalog><offers><offer id="1"><name>A</name></offer>
<offer id="2"><name>B</name><price>5</price></offer></offers></yml_catalog>"#;
    assert!(testing::warnings(&run_with(one_priced, &[]).expect("parses")).is_empty());
}

#[test]
fn empty_xhtml_elements_in_a_description_keep_their_spelling() {
    let feed = br#"<yml_catalog><offers><offer id="1"><name>A</name><price>1</price>
<description><p class="x" >one<br />two<br/></p></description></offer></offers></yml_catalog>"#;
    assert_eq!(
        run(feed).products[0].description.as_deref(),
        Some(r#"<p class="x" >one<br />two<br/></p>"#)
    );
}
