//! The enricher world (contract 0.1.1) through the sandbox, beside guests built against 0.1.0.

#![allow(clippy::expect_used, clippy::panic)]

mod common;

use contextworker_runtime::{CallError, CallSpec, GuestErrorKind, Limits, Metering};
use contextworker_test_support::guest;
use contextworker_types::{Availability, Gender, Product, Verdict, World};

fn product(id: &str, name: &str, category: &[&str]) -> Product {
    Product {
        offer_id: id.to_owned(),
        name: name.to_owned(),
        category_path: category.iter().map(|s| (*s).to_owned()).collect(),
        availability: Availability::InStock,
        ..Product::default()
    }
}

fn imports(bytes: &[u8], name: &str) -> bool {
    bytes.windows(name.len()).any(|w| w == name.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enricher_answers_once_per_product_beside_guests_of_the_older_contract() {
    let rt = common::runtime();
    let rules_path = guest("taxonomy-rules");
    let yml_path = guest("yml");
    // The compatibility rule at work: the host's bindings are 0.1.1, the parser was built
    // against 0.1.0, and both load into one runtime.
    let rules_bytes = std::fs::read(&rules_path).expect("built");
    let yml_bytes = std::fs::read(&yml_path).expect("built");
    assert!(imports(&rules_bytes, "contextworker:module/config@0.1.1"));
    assert!(imports(&yml_bytes, "contextworker:module/config@0.1.0"));
    assert!(!imports(&yml_bytes, "@0.1.1"));
    rt.load_file(&yml_path, World::Transformer, Metering::Epoch)
        .await
        .expect("a 0.1.0 guest still loads");
    let rules = rt
        .load_file(&rules_path, World::Enricher, Metering::Epoch)
        .await
        .expect("the enricher loads");

    let mut jacket = product("j", "Women's hardshell jacket", &["Outdoor"]);
    jacket.attributes = vec![contextworker_types::Attribute {
        name: "Size".into(),
        value: "L".into(),
        unit: None,
    }];
    let batch = vec![
        product("k", "Чайник сталевий 1,7 л", &["Кухня", "Чайники"]),
        jacket,
        product("g", "Gift card", &[]),
    ];
    let spec = CallSpec::new(
        "taxonomy-rules",
        "0.1.0",
        Limits::for_world(World::Enricher),
    );
    let outcome = rt.enrich(&rules, &spec, &batch).await;
    let answer = outcome.result.expect("enriched");
    let ids: Vec<&str> = answer.iter().map(|e| e.offer_id.as_str()).collect();
    assert_eq!(ids, ["k", "j", "g"]);
    let Verdict::Classified(kettle) = &answer[0].verdict else {
        panic!("{:?}", answer[0]);
    };
    assert_eq!(kettle.category_slug, "kitchen.kettles");
    assert_eq!(answer[0].confidence, 1.0);
    let Verdict::Classified(jacket) = &answer[1].verdict else {
        panic!("{:?}", answer[1]);
    };
    assert_eq!(
        (
            jacket.category_slug.as_str(),
            jacket.gender,
            jacket.size.as_deref()
        ),
        ("clothing.jackets", Some(Gender::Women), Some("L"))
    );
    assert!(
        matches!(answer[2].verdict, Verdict::Abstained { .. }),
        "{:?}",
        answer[2]
    );
    assert_eq!(outcome.receipt.output_items, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_taxonomy_is_the_modules_typed_error_naming_the_key() {
    let rt = common::runtime();
    let rules = rt
        .load_file(&guest("taxonomy-rules"), World::Enricher, Metering::Epoch)
        .await
        .expect("the enricher loads");
    let spec = CallSpec::new("taxonomy-rules", "0.1.0", Limits::for_world(World::Enricher))
        .with_config(vec![(
            "taxonomy".into(),
            "[[category]]\nslug = \"x\"\nrule = [{ field = \"name\", pattern = \"(\", weight = 1.0 }]\n".into(),
        )]);
    let outcome = rt.enrich(&rules, &spec, &[product("1", "x", &[])]).await;
    match outcome.result {
        Err(CallError::Guest(e)) => {
            assert_eq!(e.kind, GuestErrorKind::InvalidInput);
            assert!(
                e.message.contains("config key `taxonomy`") && e.message.contains("`x` rule 1"),
                "{}",
                e.message
            );
        }
        other => panic!("expected the module's error, got {other:?}"),
    }
    // The same component is not a transformer: refused at load, naming both worlds.
    let wrong = rt
        .load_file(
            &guest("taxonomy-rules"),
            World::Transformer,
            Metering::Epoch,
        )
        .await
        .expect_err("an enricher is not a transformer");
    assert!(wrong.to_string().contains("`enricher` world"), "{wrong}");
}
