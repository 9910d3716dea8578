use contextworker_guest::Availability;
use contextworker_guest::native::TransformRun;
use contextworker_guest::native::testing::{self, attr};

use super::*;

fn run(bytes: &[u8], config: &[(&str, &str)]) -> Result<TransformRun, ModuleError> {
    testing::run::<Csv>(bytes, config)
}

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), name)
}

#[test]
fn semicolon_quotes_decimal_comma_bom_and_crlf() {
    let config = [
        ("map.offer_id", "Артикул"),
        ("map.name", "Назва"),
        ("map.price", "Ціна"),
        ("map.quantity", "Кількість"),
        ("map.category", "Категорія"),
        ("map.brand", "Виробник"),
        ("category_separator", "/"),
        ("currency", "UAH"),
    ];
    let run = run(&fixture("semicolon-decimal-comma.csv"), &config).expect("parses");
    assert_eq!(run.products.len(), 3);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.name.as_str()),
        ("A-100", "Чайник; скло")
    );
    assert_eq!(p.price.as_deref(), Some("1299.50"));
    assert_eq!(p.currency.as_deref(), Some("UAH"));
    assert_eq!(p.category_path, ["Кухня", "Чайники"]);
    assert_eq!(p.availability, Availability::InStock);
    assert_eq!(attr(p, "Колір"), Some("білий"));
    let p = &run.products[1];
    assert_eq!(p.name, "Кавоварка \"Espresso\"");
    assert_eq!(p.price.as_deref(), Some("2187.00"));
    assert_eq!(p.availability, Availability::OutOfStock);
    assert_eq!(run.products[2].name, "Тостер\r\nдвосекційний");
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

#[test]
fn preamble_rows_are_skipped_by_count_or_found_by_the_mapping() {
    let mapping = [
        ("map.offer_id", "Kod towaru"),
        ("map.name", "Nazwa artykułu"),
        ("map.price", "Cena netto"),
        ("map.category", "Kategoria"),
    ];
    let found = run(&fixture("preamble.csv"), &mapping).expect("header found by name");
    assert_eq!(found.products.len(), 3);
    let p = &found.products[0];
    assert_eq!(p.price.as_deref(), Some("8.48"));
    assert_eq!(p.currency.as_deref(), Some("PLN"));
    // Duplicate header names stay distinct attributes in order; the empty header is dropped.
    let weights: Vec<&str> = p
        .attributes
        .iter()
        .filter(|a| a.name == "Waga brutto")
        .map(|a| a.value.as_str())
        .collect();
    assert_eq!(weights, ["1.2", "12.0"]);
    let mut counted = mapping.to_vec();
    counted.push(("skip_rows", "3"));
    assert_eq!(
        run(&fixture("preamble.csv"), &counted)
            .expect("skip_rows")
            .products
            .len(),
        3
    );
}

#[test]
fn positional_columns_without_a_header() {
    let config = [
        ("header", "false"),
        ("map.brand", "#1"),
        ("map.offer_id", "#2"),
        ("map.price", "#3"),
        ("map.quantity", "#4"),
        ("map.name", "#5"),
        ("currency", "UAH"),
    ];
    let run = run(&fixture("no-header.csv"), &config).expect("parses");
    assert_eq!(run.products.len(), 3);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.brand.as_deref()),
        ("68377850AA", Some("CHRYSLER"))
    );
    assert_eq!(p.price.as_deref(), Some("16400"));
    assert_eq!(run.products[2].price, None);
    assert_eq!(run.products[1].quantity, Some(25));
}

#[test]
fn windows_1251_needs_the_encoding_key() {
    let config = [
        ("map.offer_id", "ID товари"),
        ("map.name", "Товарна пропозиція"),
        ("map.price", "Роздр. ціна, грн"),
        ("map.category", "Каталог"),
        ("map.brand", "Вендор"),
        ("currency", "UAH"),
    ];
    testing::expect_error(run(&fixture("cp1251.csv"), &config), "`encoding`");
    let mut with_encoding = config.to_vec();
    with_encoding.push(("encoding", "windows-1251"));
    let run = run(&fixture("cp1251.csv"), &with_encoding).expect("parses");
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.products[0].name, "Пончо-дощовик");
    assert_eq!(run.products[1].brand.as_deref(), Some("No brand"));
    assert_eq!(attr(&run.products[0], "Статус"), Some("не вивантажений"));
}

#[test]
fn pipe_delimiter_is_detected_and_availability_words_read() {
    let config = [
        ("map.name", "назва"),
        ("map.price", "ціна (грн)"),
        ("map.availability", "наявність"),
        ("map.image_urls", "фото"),
        ("map.brand", "виробник"),
        ("currency", "UAH"),
    ];
    let run = run(&fixture("pipe.csv"), &config).expect("parses");
    assert_eq!(run.products.len(), 2);
    assert_eq!(run.products[0].offer_id, "mtb1");
    assert_eq!(run.products[0].availability, Availability::InStock);
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    assert_eq!(run.products[1].image_urls.len(), 2);
}

#[test]
fn delimiter_detection() {
    assert_eq!(detect_delimiter(b"a;b;\"c,d,e\"\n1;2;3", 0), b';');
    assert_eq!(detect_delimiter(b"a\tb\tc", 0), b'\t');
    assert_eq!(detect_delimiter(b"a|b|c,d", 0), b'|');
    assert_eq!(detect_delimiter(b"\n;;;;\nTitle\na,b,c\n", 2), b',');
    assert_eq!(detect_delimiter(b"single", 0), b',');
    // A title row above the header does not decide alone.
    assert_eq!(
        detect_delimiter(b"Price list, 2026\nid;name;price\n1;A;2,50\n", 0),
        b';'
    );
}

#[test]
fn shopify_variants_inherit_the_product_row_and_share_images() {
    let run = run(&fixture("shopify.csv"), &[("preset", "shopify")]).expect("parses");
    assert_eq!(run.products.len(), 3, "{:?}", run.products);
    let s = &run.products[0];
    assert_eq!(s.offer_id, "sophie-top/BLACK/S");
    assert_eq!(s.variant_group_id.as_deref(), Some("sophie-top"));
    assert_eq!(
        (s.price.as_deref(), s.old_price.as_deref()),
        (Some("89.00"), Some("99.00"))
    );
    assert_eq!(s.category_path, ["Apparel", "Swimwear"]);
    assert_eq!(s.image_urls.len(), 3);
    assert_eq!(attr(s, "Size"), Some("S"));
    assert_eq!(
        attr(s, "Farbe (product.metafields.shopify.color-pattern)"),
        Some("schwarz")
    );
    let m = &run.products[1];
    assert_eq!(
        (m.offer_id.as_str(), m.name.as_str()),
        ("sophie-top/BLACK/M", "SOPHIE TOP")
    );
    assert_eq!(m.brand.as_deref(), Some("BILALI"));
    assert_eq!(attr(m, "Color"), Some("BLACK"));
    assert_eq!(m.availability, Availability::OutOfStock);
    assert_eq!(m.image_urls.len(), 3);
    let g = &run.products[2];
    assert_eq!(g.offer_id, "gift-card");
    assert_eq!(g.barcodes, ["4006381333931"]);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

#[test]
fn woocommerce_variations_ragged_rows_and_sale_prices() {
    let run = run(
        &fixture("woocommerce.csv"),
        &[("preset", "woocommerce"), ("currency", "USD")],
    )
    .expect("parses");
    assert_eq!(run.products.len(), 4);
    let parent = &run.products[0];
    assert_eq!(parent.variant_group_id.as_deref(), Some("20"));
    assert_eq!(parent.category_path, ["Games", "GTA"]);
    assert_eq!(attr(parent, "Tiers"), Some("Champions, Titans"));
    assert!(attr(parent, "Meta: _yoast_wpseo_focuskw").is_none());
    let champions = &run.products[1];
    assert_eq!(champions.variant_group_id.as_deref(), Some("20"));
    assert_eq!(
        (champions.price.as_deref(), champions.old_price.as_deref()),
        (Some("5.99"), Some("6.99"))
    );
    let simple = &run.products[3];
    assert_eq!(simple.offer_id, "30");
    assert_eq!(simple.sku.as_deref(), Some("MOD-1"));
    assert_eq!(simple.price.as_deref(), Some("12.50"));
    assert_eq!(simple.quantity, Some(7));
    assert_eq!(simple.image_urls.len(), 2);
    assert_eq!(simple.barcodes, ["4006381333931"]);
    assert!(
        run.warnings
            .iter()
            .any(|w| w.message.contains("1 rows had fewer")),
        "{:?}",
        run.warnings
    );
    let err = self::run(
        &fixture("woocommerce.csv"),
        &[("preset", "woocommerce"), ("ragged", "error")],
    )
    .expect_err("ragged refused");
    // The first record spans two lines (an embedded newline in Description).
    assert!(err.to_string().contains("line 4, record 2"), "{err}");
}

#[test]
fn russian_woocommerce_with_junk_before_the_bom() {
    let run = run(&fixture("woocommerce-ru.csv"), &[("preset", "woocommerce")]).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.name.as_str()),
        ("40", "Комбинезон с отделкой")
    );
    assert_eq!(p.price.as_deref(), Some("240"));
    assert_eq!(p.image_urls.len(), 2);
    assert_eq!(run.products[1].offer_id, "140");
}

#[test]
fn awin_price_with_currency_inside() {
    let run = run(&fixture("awin.csv"), &[]).expect("parses without a preset");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(
        (p.price.as_deref(), p.currency.as_deref()),
        (Some("89.0"), Some("EUR"))
    );
    assert_eq!(p.url.as_deref(), Some("https://shop.example/p/sophie"));
    assert_eq!(p.vendor_code.as_deref(), Some("SS-2025-01"));
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
    let preset = self::run(&fixture("awin.csv"), &[("preset", "awin")]).expect("preset");
    assert_eq!(preset.products, run.products);
}

#[test]
fn a_truncated_file_is_an_error_or_a_lenient_warning() {
    let err = run(&fixture("truncated.csv"), &[]).expect_err("truncated");
    assert!(matches!(err, ModuleError::InvalidInput { .. }));
    assert!(
        err.to_string().contains("truncated") && err.to_string().contains("line 3"),
        "{err}"
    );
    let lenient = run(&fixture("truncated.csv"), &[("lenient", "true")]).expect("lenient");
    assert_eq!(lenient.products.len(), 1);
    assert_eq!(lenient.warnings.len(), 1);
    testing::expect_error(run(b"id,name\n1,\"Kettle\n", &[]), "never closed");
}

#[test]
fn missing_required_fields_name_line_and_record() {
    let err = run(b"id,name,price\n1,A,1\n2,,3\n", &[]).expect_err("no name");
    let text = err.to_string();
    assert!(
        text.contains("line 3") && text.contains("record 2"),
        "{text}"
    );
    assert!(
        text.contains("no name") && text.contains("`name`"),
        "{text}"
    );
    let lenient = run(
        b"id,name,price\n1,A,1\n2,,3\n,C,4\n",
        &[("lenient", "true")],
    )
    .expect("ok");
    assert_eq!(lenient.products.len(), 1);
    assert_eq!(lenient.records_seen, 3);
    testing::assert_warning(&lenient, 1, "no offer id");
    testing::expect_error(run(b"id,name,price\n1,A,cheap\n", &[]), "`price`");
}

#[test]
fn a_mapping_naming_a_missing_column_lists_the_header() {
    let err = run(b"id,name\n1,A\n", &[("map.price", "Цена")]).expect_err("missing column");
    let text = err.to_string();
    assert!(
        text.contains("\"Цена\"") && text.contains("#1 \"id\", #2 \"name\""),
        "{text}"
    );
    testing::expect_error(run(b"a,b\n1,2\n", &[]), "map.offer_id");
    testing::expect_error(
        run(b"id,name\n1,A\n", &[("map.prise", "x")]),
        "unknown field `prise`",
    );
    testing::expect_error(
        run(b"1;2\n", &[("header", "false"), ("map.offer_id", "id")]),
        "#3",
    );
}

#[test]
fn wrong_formats_are_named() {
    let mut cp1251_xml =
        b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<price><name>".to_vec();
    cp1251_xml.extend_from_slice(&[0xcf, 0xf0, 0xe8]);
    // An XML feed in another encoding is named before decoding could fail on it.
    for (case, feed, named) in [
        ("xml", &b"<?xml version=\"1.0\"?>\n<Workbook>"[..], "XML"),
        ("windows-1251 xml", &cp1251_xml[..], "XML"),
        ("json", &b"[{\"id\": 1}]"[..], "JSON"),
        ("zip", &b"PK\x03\x04rest"[..], "xlsx"),
    ] {
        testing::expect_unsupported(run(feed, &[]), case, named);
    }
    testing::expect_error(run(b"", &[]), "empty");
}

#[test]
fn duplicate_offer_ids_warn_and_keep_both() {
    let run = run(b"id,name,price\n1,A,1\n2,B,2\n1,C,3\n", &[]).expect("parses");
    assert_eq!(run.products.len(), 3);
    assert_eq!(run.warnings.len(), 1);
    assert!(
        run.warnings[0].message.contains("line 2") && run.warnings[0].message.contains("line 4")
    );
}

#[test]
fn attributes_can_be_turned_off() {
    let run = run(b"id,name,colour\n1,A,red\n", &[("attributes", "false")]).expect("parses");
    assert!(run.products[0].attributes.is_empty());
}

#[test]
fn mutated_fixtures_never_panic() {
    let fixtures: [(&str, &[(&str, &str)]); 6] = [
        (
            "semicolon-decimal-comma.csv",
            &[
                ("map.offer_id", "Артикул"),
                ("map.name", "Назва"),
                ("map.price", "Ціна"),
            ],
        ),
        (
            "preamble.csv",
            &[
                ("map.offer_id", "Kod towaru"),
                ("map.name", "Nazwa artykułu"),
                ("map.price", "Cena netto"),
            ],
        ),
        (
            "no-header.csv",
            &[
                ("header", "false"),
                ("map.offer_id", "#2"),
                ("map.name", "#5"),
                ("map.price", "#3"),
            ],
        ),
        ("shopify.csv", &[("preset", "shopify")]),
        ("woocommerce.csv", &[("preset", "woocommerce")]),
        (
            "woocommerce-ru.csv",
            &[("preset", "woocommerce"), ("lenient", "true")],
        ),
    ];
    let cases = feed_kit::fuzz::assert_fixtures_never_panic::<Csv>(
        env!("CARGO_MANIFEST_DIR"),
        &fixtures,
        340,
    );
    assert_eq!(cases, 2040);
}

#[test]
fn the_readme_onboarding_example() {
    let config = [
        ("encoding", "windows-1251"),
        ("currency", "UAH"),
        ("map.offer_id", "Код"),
        ("map.name", "Найменування"),
        ("map.price", "Ціна, грн"),
        ("map.quantity", "Залишок"),
        ("map.brand", "Бренд"),
        ("map.image_urls", "Фото"),
        ("image_separator", "|"),
        ("lenient", "true"),
    ];
    let run = run(&fixture("onboarding.csv"), &config).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.name.as_str()),
        ("1001", "Чайник скляний")
    );
    assert_eq!(
        (p.price.as_deref(), p.currency.as_deref()),
        (Some("1299.50"), Some("UAH"))
    );
    assert_eq!(p.image_urls.len(), 2);
    assert_eq!(attr(p, "Гарантія"), Some("12 міс"));
    assert_eq!(run.products[1].availability, Availability::OutOfStock);
}

#[test]
fn a_shopify_export_is_recognised_without_a_preset() {
    let run = run(&fixture("shopify-export.csv"), &[("currency", "EUR")]).expect("parses");
    let ids: Vec<(&str, Option<&str>, Option<&str>)> = run
        .products
        .iter()
        .map(|p| (p.offer_id.as_str(), p.sku.as_deref(), p.price.as_deref()))
        .collect();
    assert_eq!(
        ids,
        [
            ("lorene-top/S", Some("LT-S"), Some("79.00")),
            ("lorene-top/M", Some("LT-M"), Some("79.00"))
        ]
    );
    let m = &run.products[1];
    assert_eq!((m.name.as_str(), m.quantity), ("LORENE TOP", Some(0)));
    assert_eq!(
        m.category_path,
        ["Apparel & Accessories", "Clothing", "Swimwear"]
    );
    assert_eq!(m.variant_group_id.as_deref(), Some("lorene-top"));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let preset = self::run(
        &fixture("shopify-export.csv"),
        &[("currency", "EUR"), ("preset", "shopify")],
    )
    .expect("preset");
    assert_eq!(preset.products, run.products);
}

#[test]
fn woocommerce_exports_english_and_russian_are_recognised_without_a_preset() {
    for name in ["woocommerce.csv", "woocommerce-ru.csv"] {
        let recognised = run(&fixture(name), &[]).expect("parses");
        let preset = run(&fixture(name), &[("preset", "woocommerce")]).expect("preset");
        assert_eq!(recognised.products, preset.products, "{name}");
        assert_eq!(testing::warnings(&recognised), testing::warnings(&preset));
    }
    let ru = run(&fixture("woocommerce-ru.csv"), &[]).expect("parses");
    assert_eq!(
        (
            ru.products[0].name.as_str(),
            ru.products[0].price.as_deref()
        ),
        ("Комбинезон с отделкой", Some("240"))
    );
}

#[test]
fn an_awin_export_is_recognised_by_its_aw_columns() {
    let run = run(&fixture("awin-export.csv"), &[]).expect("parses");
    assert_eq!(run.products.len(), 2);
    let p = &run.products[0];
    assert_eq!(
        (p.offer_id.as_str(), p.name.as_str(), p.price.as_deref()),
        ("3210001", "SOPHIE TOP", Some("89.00"))
    );
    assert_eq!(p.currency.as_deref(), Some("EUR"));
    assert_eq!(p.brand.as_deref(), Some("BILALI"));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

#[test]
fn an_explicit_preset_or_mapping_wins_over_recognition() {
    testing::expect_error(
        run(&fixture("shopify-export.csv"), &[("preset", "none")]),
        "no column for the offer id",
    );
    let mapped = run(
        &fixture("shopify-export.csv"),
        &[
            ("map.offer_id", "Variant SKU"),
            ("map.price", "Variant Price"),
            ("lenient", "true"),
        ],
    )
    .expect("parses");
    // Row by row, not grouped by handle: the variant row has no title of its own.
    let ids: Vec<&str> = mapped
        .products
        .iter()
        .map(|p| p.offer_id.as_str())
        .collect();
    assert_eq!(ids, ["LT-S"]);
    testing::assert_warning(&mapped, 0, "offer \"LT-M\" has no name");
}

#[test]
fn a_price_missing_from_every_record_is_one_warning_naming_it() {
    let run = run(b"id,name\n1,Kettle\n2,Toaster\n", &[]).expect("parses");
    assert_eq!(run.products.len(), 2, "the feed still yields what it can");
    assert_eq!(
        testing::warnings(&run),
        [
            "no record has a price (2 read): map.price names the column (a header name or a \
          position like #3), or preset=shopify, woocommerce or awin reads a known export"
        ]
    );
    let empty_column = self::run(b"id,name,price\n1,Kettle,\n2,Toaster,\n", &[]).expect("parses");
    testing::assert_warning(&empty_column, 0, "read from column `price`, which is empty");
}

#[test]
fn a_price_in_some_records_is_no_warning() {
    let run = run(b"id,name,price\n1,Kettle,\n2,Toaster,12.50\n", &[]).expect("parses");
    assert_eq!(run.products[1].price.as_deref(), Some("12.50"));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}
