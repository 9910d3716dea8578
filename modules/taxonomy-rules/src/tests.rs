use contextworker_guest::{
    Attribute, Config, EnrichError, Enricher, Enrichment, Facets, Gender, Product, Verdict,
};

use crate::TaxonomyRules;

fn product(id: &str, name: &str, category: &[&str]) -> Product {
    Product {
        offer_id: id.to_owned(),
        name: name.to_owned(),
        category_path: category.iter().map(|s| (*s).to_owned()).collect(),
        ..Product::default()
    }
}

fn enrich(products: Vec<Product>, config: &[(&str, &str)]) -> Result<Vec<Enrichment>, EnrichError> {
    TaxonomyRules::enrich(products, &Config::new(config.iter().copied()))
}

fn facets(e: &Enrichment) -> &Facets {
    match &e.verdict {
        Verdict::Classified(f) => f,
        other => panic!("{} was not classified: {other:?}", e.offer_id),
    }
}

fn error_text(config: &[(&str, &str)]) -> String {
    match enrich(vec![product("1", "x", &[])], config) {
        Err(EnrichError::Module(e)) => e.to_string(),
        other => panic!("accepted: {other:?}"),
    }
}

#[test]
fn the_default_taxonomy_classifies_the_demo_catalog_and_abstains_on_the_rest() {
    let mut mug = product("102", "Кружка керамічна 350 мл", &["Кухня", "Посуд"]);
    mug.attributes.push(Attribute::new("Колір", "Білий"));
    let mut jacket = product(
        "103",
        "Women's hardshell jacket Beta AR",
        &["Outdoor", "Jackets"],
    );
    jacket.brand = Some("Arc'teryx".into());
    jacket.attributes = vec![
        Attribute::new("Size", " M "),
        Attribute::new("Color", "Black"),
        Attribute::new("Model", "Beta AR"),
    ];
    let out = enrich(
        vec![
            product("101", "Чайник сталевий 1,7 л", &["Кухня", "Чайники"]),
            mug,
            jacket,
            product("104", "Gift card 500", &["Misc"]),
        ],
        &[],
    )
    .unwrap();
    let ids: Vec<&str> = out.iter().map(|e| e.offer_id.as_str()).collect();
    assert_eq!(ids, ["101", "102", "103", "104"]);

    let kettle = facets(&out[0]);
    assert_eq!(kettle.category_slug, "kitchen.kettles");
    assert_eq!(kettle.category_path, ["Kitchen", "Kettles"]);
    assert_eq!(kettle.product_type.as_deref(), Some("kettle"));
    // Name (2.0) and category (1.0) match, nothing competes: min(1, 3/2) * 3/3.
    assert_eq!(out[0].confidence, 1.0);

    let mug = facets(&out[1]);
    assert_eq!(mug.category_slug, "kitchen.mugs");
    assert_eq!(
        mug.color.as_deref(),
        Some("white"),
        "the attribute, normalized"
    );
    // Mugs 2.5 (name and volume pattern) against cookware 0.5 (category "Посуд").
    assert!(
        (out[1].confidence - 2.5 / 3.0).abs() < 1e-6,
        "{}",
        out[1].confidence
    );

    let jacket = facets(&out[2]);
    assert_eq!(jacket.category_slug, "clothing.jackets");
    assert_eq!(jacket.gender, Some(Gender::Women));
    assert_eq!(jacket.size.as_deref(), Some("M"));
    assert_eq!(jacket.color.as_deref(), Some("black"));
    assert_eq!(jacket.model.as_deref(), Some("Beta AR"));
    assert_eq!(out[2].tokens, 0);

    assert_eq!(
        out[3].verdict,
        Verdict::Abstained("no rule of the taxonomy matched".into())
    );
    assert_eq!(out[3].confidence, 0.0);
}

const TWO_EQUAL: &str = r#"
full_score = 1.0
[[category]]
slug = "b.second-listed-first"
rule = [{ field = "name", keywords = ["tent"], weight = 1.0 }]
[[category]]
slug = "a.first-alphabetically"
rule = [{ field = "any", keywords = ["TENT"], weight = 1.0 }]
"#;

#[test]
fn a_tie_abstains_under_the_threshold_and_the_first_listed_category_wins_over_it() {
    let tent = || vec![product("1", "Family tent", &[])];
    let out = enrich(tent(), &[("taxonomy", TWO_EQUAL)]).unwrap();
    assert_eq!(out[0].confidence, 0.5);
    let Verdict::Abstained(reason) = &out[0].verdict else {
        panic!("{:?}", out[0]);
    };
    assert!(
        reason.contains("`b.second-listed-first`")
            && reason.contains("0.50")
            && reason.contains("0.6"),
        "{reason}"
    );
    let out = enrich(tent(), &[("taxonomy", TWO_EQUAL), ("threshold", "0.5")]).unwrap();
    assert_eq!(facets(&out[0]).category_slug, "b.second-listed-first");
    // Deterministic: the same batch again gives the same answer.
    assert_eq!(
        out,
        enrich(tent(), &[("taxonomy", TWO_EQUAL), ("threshold", "0.5")]).unwrap()
    );
}

#[test]
fn patterns_match_case_insensitively_and_a_weak_match_abstains() {
    let taxonomy = r#"
full_score = 2.0
[[category]]
slug = "equipment.backpacks"
rule = [
  { field = "name", pattern = '\b\d{2,3}\s?(l|л)\b', weight = 0.5 },
  { field = "brand", keywords = ["osprey"], weight = 1.5 },
]
"#;
    let mut pack = product("1", "Talon 22 L", &[]);
    let out = enrich(vec![pack.clone()], &[("taxonomy", taxonomy)]).unwrap();
    assert!(
        matches!(out[0].verdict, Verdict::Abstained(_)),
        "{:?}",
        out[0]
    );
    assert_eq!(out[0].confidence, 0.25);
    pack.brand = Some("OSPREY".into());
    let out = enrich(vec![pack], &[("taxonomy", taxonomy)]).unwrap();
    assert_eq!(facets(&out[0]).category_slug, "equipment.backpacks");
    assert_eq!(out[0].confidence, 1.0);
}

#[test]
fn mistakes_in_a_taxonomy_are_named_with_their_category_and_rule() {
    let cat = |rule: &str| format!("[[category]]\nslug = \"x.y\"\nrule = [{rule}]\n");
    let cases = [
        (
            cat(r#"{ field = "title", keywords = ["a"], weight = 1.0 }"#),
            "unknown variant `title`",
        ),
        (
            cat(r#"{ field = "name", keywords = ["a"], weight = 0.0 }"#),
            "category 1: `x.y` rule 1: weight 0 must be a positive number",
        ),
        (
            cat(r#"{ field = "name", weight = 1.0 }"#),
            "`x.y` rule 1: a rule needs keywords or a pattern",
        ),
        (
            cat(r#"{ field = "name", pattern = "(unclosed", weight = 1.0 }"#),
            "`x.y` rule 1: pattern \"(unclosed\"",
        ),
        (
            cat(r#"{ field = "name", pattern = '\w{900}\w{900}', weight = 1.0 }"#),
            "exceeds size limit",
        ),
        (
            "[[category]]\nslug = \"Bad Slug\"\nrule = []\n".to_owned(),
            "category 1: slug \"Bad Slug\" must be",
        ),
        (
            format!(
                "{}{}",
                cat(r#"{ field = "name", keywords = ["a"], weight = 1.0 }"#),
                cat(r#"{ field = "name", keywords = ["b"], weight = 1.0 }"#)
            ),
            "category 2: slug `x.y` is defined twice",
        ),
        ("threshold = 0.5\n".to_owned(), "no [[category]] is defined"),
        (
            format!(
                "[genders]\nboys = [\"b\"]\n{}",
                cat(r#"{ field = "name", keywords = ["a"], weight = 1.0 }"#)
            ),
            "`boys` is not one of",
        ),
        ("x".repeat(2 << 20), "over the limit of 1048576"),
    ];
    for (taxonomy, needle) in cases {
        let text = error_text(&[("taxonomy", &taxonomy)]);
        assert!(
            text.contains("config key `taxonomy`") && text.contains(needle),
            "{needle}: {text}"
        );
    }
    let text = error_text(&[("threshold", "1.5")]);
    assert!(
        text.contains("threshold 1.5 is not between 0 and 1"),
        "{text}"
    );
    let text = error_text(&[("threshold", "high")]);
    assert!(text.contains("config key `threshold`"), "{text}");
}

#[test]
fn a_hostile_pattern_and_a_huge_product_stay_cheap() {
    // Backtracking engines take exponential time here; regex's automata take linear time.
    let taxonomy = r#"
[[category]]
slug = "x"
rule = [{ field = "any", pattern = '(a*)*(a|b)*c', weight = 1.0 }]
"#;
    let mut p = product("1", &"a".repeat(1 << 20), &[]);
    p.description = Some("a".repeat(1 << 20));
    let out = enrich(vec![p], &[("taxonomy", taxonomy)]).unwrap();
    assert!(matches!(out[0].verdict, Verdict::Abstained(_)));
}
