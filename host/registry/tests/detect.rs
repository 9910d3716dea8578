//! Format detection as the shipped modules declare it: each transformer's `[detect]` table in
//! its own manifest, read through the same directory scan a worker uses.

use std::path::Path;

use contextworker_registry::{Detected, FeedHead, scan};
use contextworker_types::{MIB, World};

fn detected(head: &str) -> Option<String> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../modules");
    let scan = scan(&modules, None, 1024 * MIB).expect("the modules directory reads");
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);
    let head = FeedHead::new(head.as_bytes());
    let candidates = scan
        .manifests
        .iter()
        .filter(|m| m.world == World::Transformer)
        .filter_map(|m| Some((m.name.to_string(), m.detect.as_ref()?)));
    match contextworker_registry::detect(&head, candidates) {
        Detected::One(name) => Some(name),
        Detected::Nothing => None,
        // Reported as a value, so the assertion names both the feed and the claimants.
        Detected::Ambiguous(names) => Some(format!("ambiguous between {names:?}")),
    }
}

#[test]
fn each_shipped_transformer_recognises_its_own_feeds_and_nothing_else_is_guessed() {
    let cases: [(&str, Option<&str>); 9] = [
        (
            "\u{feff}<?xml version=\"1.0\"?>\n<yml_catalog date=\"x\">",
            Some("yml"),
        ),
        (
            "<rss xmlns:g=\"http://base.google.com/ns/1.0\">",
            Some("google-merchant"),
        ),
        ("<?xml?><price><date>x</date><items>", Some("hotline")),
        (
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<root>\n<node kod=\"1\" isgroup=\"1\">",
            Some("dealer-xml"),
        ),
        ("  [{\"sku\": 1}]", Some("json")),
        ("sku;name;price\n1;a;2", Some("csv")),
        // A one-line YML feed has commas on its first line; the specific module still wins.
        ("<yml_catalog><shop><name>a, b</name>", Some("yml")),
        ("<catalog><item/></catalog>", None),
        ("just some words", None),
    ];
    for (head, expected) in cases {
        assert_eq!(detected(head).as_deref(), expected, "{head}");
    }
}
