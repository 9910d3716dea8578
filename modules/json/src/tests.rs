use contextworker_guest::Availability;
use contextworker_guest::native::TransformRun;
use contextworker_guest::native::testing::{self, attr};

use super::*;

fn run(bytes: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<Json>(bytes, config)
}

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), name)
}

#[test]
fn non_english_keys_numbers_stay_exact_and_duplicates_warn() {
    let config = [
        ("map.name", "nome"),
        ("map.price", "preco"),
        ("map.image_urls", "imagem"),
        ("map.category", "liga"),
        ("currency", "BRL"),
    ];
    let run = run(&fixture("supplier-pt.json"), &config).expect("parses");
    assert_eq!(run.products.len(), 3);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.price.as_deref()),
        ("302582757", Some("75.0"))
    );
    assert_eq!(p.currency.as_deref(), Some("BRL"));
    assert_eq!(p.category_path, ["Clubes"]);
    assert_eq!(attr(p, "tamanhos"), Some("P, M, G, GG, 2XL"));
    assert_eq!(attr(p, "cor1"), Some("#0E2B1D"));
    assert_eq!(run.products[1].name, "Camisa Flamengo \"Retrô\" é");
    assert_eq!(run.products[1].price.as_deref(), Some("79.99"));
    // Far beyond f64 precision: a float would have rounded it.
    assert_eq!(
        run.products[2].price.as_deref(),
        Some("12345678901234567.89")
    );
    assert_eq!(run.warnings.len(), 1);
    testing::assert_warning(&run, 0, "record 0");
}

#[test]
fn nested_paths_arrays_and_an_items_path() {
    let config = [
        ("items_path", "data.items"),
        ("map.offer_id", "код"),
        ("map.name", "назва.uk"),
        ("map.price", "prices.current"),
        ("map.old_price", "prices.old"),
        ("map.image_urls", "images[].src"),
        ("map.category", "categories[].name"),
        ("map.quantity", "stock.qty"),
        ("currency", "UAH"),
    ];
    let run = run(&fixture("nested.json"), &config).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(p.name, "Чайник");
    assert_eq!(
        (p.price.as_deref(), p.old_price.as_deref()),
        (Some("1299.50"), Some("1499.00"))
    );
    assert_eq!(p.category_path, ["Кухня", "Чайники"]);
    assert_eq!(p.image_urls.len(), 2);
    assert_eq!(p.availability, Availability::InStock);
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    assert_eq!(run.products[1].price.as_deref(), Some("599"));
    let err = self::run(&fixture("nested.json"), &[("items_path", "data.products")])
        .expect_err("wrong path");
    let text = err.to_string();
    assert!(
        text.contains("no key `products`") && text.contains("items, page"),
        "{text}"
    );
    testing::expect_error(self::run(&fixture("nested.json"), &[]), "items_path");
}

#[test]
fn shopify_products_json_gives_one_product_per_variant() {
    let run = run(&fixture("shopify.json"), &[("preset", "shopify")]).expect("parses");
    assert_eq!(run.products.len(), 3);
    let s = &run.products[0];
    assert_eq!(s.offer_id, "9001");
    assert_eq!(s.variant_group_id.as_deref(), Some("7001"));
    assert_eq!(s.name, "SOPHIE TOP");
    assert_eq!(
        (s.price.as_deref(), s.old_price.as_deref()),
        (Some("89.00"), Some("99.00"))
    );
    assert_eq!(s.image_urls[0], "https://cdn.example/s2.jpg");
    assert_eq!(s.image_urls.len(), 2);
    assert_eq!(attr(s, "Size"), Some("S"));
    assert_eq!(s.availability, Availability::InStock);
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    let gift = &run.products[2];
    assert_eq!(gift.offer_id, "9003");
    assert!(attr(gift, "Title").is_none());
    assert_eq!(attr(gift, "tags"), Some("gift"));
}

#[test]
fn woocommerce_rest_dump_and_expanded_variations() {
    let config = [("preset", "woocommerce"), ("currency", "RSD")];
    let run = run(&fixture("woocommerce.json"), &config).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.price.as_deref()),
        ("994268", Some("2890"))
    );
    assert_eq!(p.variant_group_id.as_deref(), Some("994268"));
    assert_eq!(p.category_path, ["Dečaci"]);
    assert_eq!(
        p.image_urls,
        ["https://shop.example/a.webp", "https://shop.example/b.webp"]
    );
    assert_eq!(p.currency.as_deref(), Some("RSD"));
    let k = &run.products[1];
    assert_eq!(
        (k.price.as_deref(), k.old_price.as_deref()),
        (Some("900"), Some("1200"))
    );
    assert_eq!(attr(k, "Boja"), Some("plava, crvena"));
    assert_eq!(k.image_urls, ["https://shop.example/k.webp"]);
    assert_eq!(k.availability, Availability::InStock);

    let mut expanded = config.to_vec();
    expanded.push(("expand_variations", "true"));
    let run = self::run(&fixture("woocommerce.json"), &expanded).expect("parses");
    assert_eq!(run.products.len(), 3);
    let v = &run.products[0];
    assert_eq!(
        (v.offer_id.as_str(), v.name.as_str()),
        ("994271", "REEBOK Set majica i šorc")
    );
    assert_eq!(v.variant_group_id.as_deref(), Some("994268"));
    assert_eq!(
        v.price.as_deref(),
        Some("2890"),
        "inherits the parent's price"
    );
    assert_eq!(attr(v, "Veličina"), Some("24m"));
}

#[test]
fn scraped_glued_prices_and_placeholder_skus() {
    let config = [("map.offer_id", "url"), ("map.name", "title")];
    let run = run(&fixture("scraped.json"), &config).expect("parses");
    assert_eq!(run.products.len(), 3);
    let p = &run.products[0];
    assert_eq!(
        (p.price.as_deref(), p.old_price.as_deref()),
        (Some("2023.00"), Some("2890.00"))
    );
    assert_eq!(p.currency.as_deref(), Some("RSD"));
    assert_eq!(p.sku.as_deref(), Some("SKU"));
    let k = &run.products[1];
    assert_eq!(
        (k.price.as_deref(), k.old_price.as_deref()),
        (Some("990.00"), Some("1490.00"))
    );
    assert_eq!(run.warnings.len(), 1, "the repeated url is a duplicate");
}

#[test]
fn a_root_object_of_products_keyed_by_id() {
    let run = run(
        &fixture("keyed.json"),
        &[("items_path", ""), ("map.offer_id", "$key")],
    )
    .expect("parses");
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.products[1].offer_id, "A-2");
    assert_eq!(run.products[1].currency.as_deref(), Some("EUR"));
}

#[test]
fn truncated_and_malformed_documents_name_line_and_column() {
    let err = run(&fixture("truncated.json"), &[]).expect_err("truncated");
    let text = err.to_string();
    assert!(matches!(err, ModuleError::InvalidInput { .. }));
    assert!(
        text.contains("truncated") && text.contains("line 3"),
        "{text}"
    );
    testing::expect_error(
        run(b"[{\"id\": \"1\", \"name\": \"A\"} {\"id\": 2}]", &[]),
        "line 1, column 27",
    );
    testing::expect_error(
        run(b"[{\"id\": \"1\", \"name\": \"A\"}] trailing", &[]),
        "after the end",
    );
}

#[test]
fn missing_required_fields_name_record_and_path() {
    let err = run(b"[{\"id\": 1, \"name\": \"A\"}, {\"id\": 2}]", &[]).expect_err("no name");
    let text = err.to_string();
    assert!(
        text.contains("record 1") && text.contains("$[1]") && text.contains("no name"),
        "{text}"
    );
    let lenient = run(
        b"[{\"id\": 1, \"name\": \"A\"}, {\"id\": 2}, 7]",
        &[("lenient", "true")],
    )
    .expect("lenient");
    assert_eq!(lenient.products.len(), 1);
    assert_eq!(lenient.records_seen, 3);
    assert!(
        lenient.warnings[1].message.contains("a number"),
        "{:?}",
        lenient.warnings
    );
    testing::expect_error(
        run(b"[{\"id\": 1, \"name\": \"A\", \"price\": \"cheap\"}]", &[]),
        "`price`",
    );
}

#[test]
fn wrong_formats_are_named() {
    let mut cp1251_xml = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<a>".to_vec();
    cp1251_xml.extend_from_slice(&[0xcf, 0xf0]);
    for (case, feed, named) in [
        ("xml", &b"<?xml version=\"1.0\"?><yml_catalog/>"[..], "XML"),
        ("windows-1251 xml", &cp1251_xml[..], "XML"),
        ("csv", &b"id;name\n1;A\n"[..], "csv"),
    ] {
        testing::expect_unsupported(run(feed, &[]), case, named);
    }
    testing::expect_error(run(b"  \n", &[]), "empty");
    testing::expect_error(run(b"[]", &[("map.prise", "x")]), "unknown field `prise`");
    assert!(run(b"[]", &[]).expect("empty array").products.is_empty());
}

#[test]
fn mutated_fixtures_never_panic() {
    let fixtures: [(&str, &[(&str, &str)]); 6] = [
        (
            "supplier-pt.json",
            &[("map.name", "nome"), ("map.price", "preco")],
        ),
        (
            "nested.json",
            &[
                ("items_path", "data.items"),
                ("map.offer_id", "код"),
                ("map.name", "назва.uk"),
            ],
        ),
        ("shopify.json", &[("preset", "shopify")]),
        (
            "woocommerce.json",
            &[("preset", "woocommerce"), ("expand_variations", "true")],
        ),
        (
            "scraped.json",
            &[
                ("map.offer_id", "url"),
                ("map.name", "title"),
                ("lenient", "true"),
            ],
        ),
        (
            "keyed.json",
            &[("items_path", ""), ("map.offer_id", "$key")],
        ),
    ];
    let cases = feed_kit::fuzz::assert_fixtures_never_panic::<Json>(
        env!("CARGO_MANIFEST_DIR"),
        &fixtures,
        340,
    );
    assert_eq!(cases, 2040);
}

#[test]
fn a_shopify_products_json_is_recognised_without_a_preset() {
    let run = run(&fixture("shopify-products.json"), &[]).expect("parses");
    let variants: Vec<(&str, Option<&str>, Option<&str>)> = run
        .products
        .iter()
        .map(|p| (p.offer_id.as_str(), p.sku.as_deref(), p.price.as_deref()))
        .collect();
    assert_eq!(
        variants,
        [
            ("9101", Some("LT-S"), Some("79.00")),
            ("9102", Some("LT-M"), Some("81.50"))
        ]
    );
    assert_eq!(run.products[0].old_price.as_deref(), Some("89.00"));
    assert_eq!(run.products[1].variant_group_id.as_deref(), Some("8101"));
    assert_eq!(attr(&run.products[1], "Size"), Some("M"));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let preset =
        self::run(&fixture("shopify-products.json"), &[("preset", "shopify")]).expect("preset");
    assert_eq!(preset.products, run.products);
}

#[test]
fn a_woocommerce_rest_dump_is_recognised_without_a_preset() {
    let config = [("currency", "RSD")];
    let recognised = run(&fixture("woocommerce.json"), &config).expect("parses");
    let mut with_preset = config.to_vec();
    with_preset.push(("preset", "woocommerce"));
    let preset = run(&fixture("woocommerce.json"), &with_preset).expect("preset");
    assert_eq!(recognised.products, preset.products);
    assert_eq!(
        recognised.products[0].variant_group_id.as_deref(),
        Some("994268")
    );
}

#[test]
fn a_mapped_key_field_turns_recognition_off_and_the_missing_prices_are_named() {
    let run = run(&fixture("shopify-products.json"), &[("map.name", "title")]).expect("parses");
    assert_eq!(
        run.products.len(),
        1,
        "one product per object, not per variant"
    );
    assert_eq!(run.products[0].price, None);
    assert_eq!(
        testing::warnings(&run),
        [
            "no record has a price (1 read): map.price names the path inside one product (such \
          as `prices.current` or `variants[0].price`), or preset=shopify or woocommerce reads a \
          known shape"
        ]
    );
}

#[test]
fn a_price_in_some_products_is_no_warning() {
    let feed =
        br#"[{"id": "1", "name": "Kettle"}, {"id": "2", "name": "Toaster", "price": "9.90"}]"#;
    let run = run(feed, &[]).expect("parses");
    assert_eq!(run.products[1].price.as_deref(), Some("9.90"));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}
