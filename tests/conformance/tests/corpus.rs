//! Every feed of the real-world corpus (`../shared/feeds`, beside the repository) through the
//! transformer module that fits it, as a wasm component in the sandbox. Well-formed feeds must
//! yield exactly the record count of `MANIFEST.tsv`; broken ones a typed error naming where.
//! The table below is also the onboarding reference: the configuration each supplier needs.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;

use contextworker_conformance::{corpus_dir, run_file, runtime, transformer};
use contextworker_runtime::CallError;

enum Expect {
    /// Exactly this many products (the manifest's count), without error.
    Products(u64),
    /// A typed error whose text contains all of these.
    Error(&'static str, &'static [&'static str]),
}

use Expect::{Error, Products};

/// Supplier configuration: key/value pairs, as in `suppliers/<code>.toml`'s `[config]`.
type Settings = &'static [(&'static str, &'static str)];

/// (file, module, config, expectation)
const TABLE: &[(&str, &str, Settings, Expect)] = &[
    // YML and its marketplace dialects
    (
        "yml-epicentr__kryshtof208-prog-Feed-Marketplaces__epicentr_feed.xml",
        "yml",
        &[],
        Products(206),
    ),
    (
        "yml__AndriiSolodovnyk-feed__rozetka.xml",
        "yml",
        &[],
        Products(379),
    ),
    (
        "yml__IgorBoichuk-exel_To_xml__price.xml",
        "yml",
        &[],
        Products(293),
    ),
    (
        "yml__SunlistOG-testxml__allo_ua_ymlfeed.xml",
        "yml",
        &[],
        Products(304),
    ),
    (
        "yml__byline-ru-yml-feed__price.xml",
        "yml",
        &[],
        Products(52),
    ),
    (
        "yml__kryshtof208-prog-Feed-Marketplaces__maudau_feed.xml",
        "yml",
        &[],
        Products(290),
    ),
    (
        "yml__laspavel-xls_to_rozetkaxml__pricelist.xml",
        "yml",
        &[],
        Products(982),
    ),
    (
        "yml__pojitonov-pricelist__rozetka.xml",
        "yml",
        &[],
        Products(25),
    ),
    (
        "yml__qled2017-ops-xml-feeds__eva.xml",
        "yml",
        &[],
        Products(283),
    ),
    (
        "yml__xvalikan-avtopro-pricelist__prom.xml",
        "yml",
        &[],
        Products(152),
    ),
    (
        "messy-yml__SunlistOG-testxml__price-rozetka.xml",
        "yml",
        &[],
        Products(812),
    ),
    (
        "messy-yml__SunlistOG-testxml__stringCouldNotBeParsedAsXML.xml",
        "yml",
        &[],
        Error("InvalidInput", &["line 18, column 3", "not well-formed"]),
    ),
    // The wrong format for the module: refused with the module that fits
    (
        "messy-spreadsheetml__Bekzat707-kaspi-price__prise01.xml",
        "yml",
        &[],
        Error("UnsupportedInput", &["Workbook"]),
    ),
    // CSV
    (
        "csv-awin__bilalithelabel-product-feed__awin_product_feed.csv",
        "csv-module",
        // Recognised without a preset, from the header.
        &[],
        Products(48),
    ),
    (
        "csv-cp1251-semicolon__NastyaZakharina-kinezis__feed_firm_43515.csv",
        "csv-module",
        &[
            ("encoding", "windows-1251"),
            ("map.offer_id", "ID товари"),
            ("map.name", "Товарна пропозиція"),
            ("map.price", "Роздр. ціна, грн"),
            ("map.category", "Каталог"),
            ("map.brand", "Вендор"),
            ("currency", "UAH"),
        ],
        Products(2882),
    ),
    (
        "csv-dealer-semicolon__xvalikan-avtopro-pricelist__pricelist.csv",
        "csv-module",
        &[
            ("header", "false"),
            ("delimiter", ";"),
            ("map.brand", "#1"),
            ("map.offer_id", "#2"),
            ("map.vendor_code", "#2"),
            ("map.price", "#3"),
            ("map.quantity", "#4"),
            ("map.name", "#5"),
            ("currency", "UAH"),
        ],
        Products(209),
    ),
    (
        "csv-pipe__NastyaZakharina-kinezis__hotline_feed.csv",
        "csv-module",
        &[
            ("map.category", "категорія"),
            ("map.name", "назва"),
            ("map.brand", "виробник"),
            ("map.price", "ціна (грн)"),
            ("map.availability", "наявність"),
            ("map.image_urls", "посилання на фото"),
            ("map.description", "опис/характеристики"),
            ("currency", "UAH"),
        ],
        Products(50),
    ),
    (
        "csv-semicolon-EXCERPT__miechuliv-nasz_sklep__cennik.csv",
        "csv-module",
        &[
            ("map.offer_id", "Kod towaru"),
            ("map.name", "Nazwa artykułu"),
            ("map.price", "Cena netto katalogowa"),
            ("map.category", "Kategoria"),
            ("map.description", "Opis"),
        ],
        Products(8),
    ),
    (
        "csv-shopify__bilalithelabel-product-feed__products_export.csv",
        "csv-module",
        &[("currency", "EUR")],
        Products(130),
    ),
    (
        "csv-woocommerce__marroxo-Website__wc-product-export-25-2-2026-1772060174291.csv",
        "csv-module",
        &[("currency", "USD")],
        Products(243),
    ),
    (
        "csv-woocommerce__vemid-bambini__woocommerce_variations.csv",
        "csv-module",
        // A custom export of variations (parent_id, parent_name, …), not WooCommerce's own
        // header: the preset names the mapping.
        &[("preset", "woocommerce"), ("currency", "RSD")],
        Products(577),
    ),
    (
        "csv-woocommerce__vinoteka-15-milja__woocommerce-products.csv",
        "csv-module",
        &[("currency", "RSD")],
        Products(404),
    ),
    (
        "messy-csv-woocommerce__artur8800-shop__wc-product-export.csv",
        "csv-module",
        &[("currency", "RUB")],
        Products(9),
    ),
    // JSON
    (
        "json-supplier__pedroro-byte-kk__supplier_products.json",
        "json",
        &[
            ("map.name", "nome"),
            ("map.price", "preco"),
            ("map.image_urls", "imagem"),
            ("map.category", "liga"),
            ("currency", "BRL"),
        ],
        Products(128),
    ),
    (
        "json-woocommerce__vemid-bambini__woocommerce_products.json",
        "json",
        &[("currency", "RSD")],
        Products(96),
    ),
    (
        "messy-json__vemid-bambini__bambini_products.json",
        "json",
        &[
            ("map.offer_id", "url"),
            ("map.name", "title"),
            ("currency", "RSD"),
        ],
        Products(162),
    ),
    // Google Merchant
    (
        "gmc-atom__az1k3n-ai-samsung-feed-fix__google-shopping.xml",
        "google-merchant",
        &[],
        Products(663),
    ),
    (
        "gmc-rss__SunlistOG-testxml__unsupported-google-feed.xml",
        "google-merchant",
        &[],
        Products(70),
    ),
    (
        "gmc-rss__petrfilo-arch-importpc-feed__google_feed.xml",
        "google-merchant",
        &[],
        Products(1255),
    ),
    // Hotline
    (
        "hotline-cp1251__zfged-sledoc__price.xml",
        "hotline",
        &[],
        Products(56),
    ),
    (
        "hotline__AndriiSolodovnyk-feed__allo.xml",
        "hotline",
        &[],
        Products(375),
    ),
    (
        "messy-hotline__apelsinlutskua-prog-orantech__price.xml",
        "hotline",
        &[],
        Error("InvalidInput", &["line 9, column 60", "not well-formed"]),
    ),
    // The supplier-specific transformer
    (
        "dealer-xml-cp1251__spolischook-SimpleShop__price.xml",
        "dealer-xml",
        &[("currency", "USD")],
        Products(34),
    ),
];

/// Broken feeds in lenient mode: products recovered, each problem reported.
const LENIENT: &[(&str, &str, u64)] = &[(
    "messy-hotline__apelsinlutskua-prog-orantech__price.xml",
    "hotline",
    172,
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_feed_parses_to_its_manifest_count_or_a_clear_error() {
    let Some(dir) = corpus_dir() else {
        // A green run must have parsed the real feeds; leaving them out is a decision the
        // runner states, not something that happens because a folder is missing.
        assert!(
            std::env::var_os("CONTEXTWORKER_SKIP_CORPUS").is_some(),
            "the feed corpus (../shared/feeds beside the repository) is not present; \
             put it there, or set CONTEXTWORKER_SKIP_CORPUS=1 to run without it"
        );
        eprintln!("SKIPPED (CONTEXTWORKER_SKIP_CORPUS is set): the feed corpus is not present");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let expected: HashMap<&str, &str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((*cols.first()?, *cols.get(3)?))
        })
        .collect();

    let rt = runtime();
    let mut components = HashMap::new();
    let mut failures = Vec::new();
    for (file, module, config, expect) in TABLE {
        // The table's counts are the manifest's: a drift in either is a test failure.
        match (expect, expected.get(file)) {
            (Products(n), Some(count)) if count.parse::<u64>().ok() != Some(*n) => {
                failures.push(format!("{file}: table says {n}, MANIFEST.tsv says {count}"));
            }
            (_, None) => failures.push(format!("{file}: not in MANIFEST.tsv")),
            _ => {}
        }
        if !components.contains_key(module) {
            components.insert(*module, transformer(&rt, module).await);
        }
        let run = run_file(&rt, &components[module], module, &dir.join(file), config).await;
        let verdict = match (expect, &run.result) {
            (Products(n), Ok(_)) if run.products == *n => Ok(()),
            (Products(n), Ok(_)) => Err(format!("{} products, expected {n}", run.products)),
            (Products(_), Err(e)) => Err(format!("failed: {e}")),
            (Error(kind, needles), Err(e)) => check_error(e, kind, needles),
            (Error(..), Ok(_)) => Err(format!("expected an error, got {} products", run.products)),
        };
        match verdict {
            Ok(()) => eprintln!(
                "ok   {module:<16} {file}: {} products, {} warnings",
                run.products,
                run.warnings.len()
            ),
            Err(why) => failures.push(format!("{module} {file}: {why}")),
        }
    }
    for (file, module, n) in LENIENT {
        if !components.contains_key(module) {
            components.insert(*module, transformer(&rt, module).await);
        }
        let run = run_file(
            &rt,
            &components[module],
            module,
            &dir.join(file),
            &[("lenient", "true")],
        )
        .await;
        match run.result {
            Ok(_) if run.products == *n && !run.warnings.is_empty() => {
                eprintln!(
                    "ok   {module:<16} {file} (lenient): {} products, {} warnings",
                    run.products,
                    run.warnings.len()
                );
            }
            other => failures.push(format!(
                "{module} {file} lenient: {other:?}, {} products, {} warnings",
                run.products,
                run.warnings.len()
            )),
        }
    }
    let covered: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    for file in expected.keys() {
        if !covered.contains(file) {
            failures.push(format!(
                "{file}: in the corpus but not in this test's table"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_error(e: &CallError, kind: &str, needles: &[&str]) -> Result<(), String> {
    let text = e.to_string();
    if e.class().name() != kind {
        return Err(format!(
            "expected {kind}, got {} ({text})",
            e.class().name()
        ));
    }
    match needles.iter().find(|n| !text.contains(**n)) {
        Some(missing) => Err(format!("error lacks {missing:?}: {text}")),
        None => Ok(()),
    }
}
