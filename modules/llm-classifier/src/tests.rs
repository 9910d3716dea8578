use contextworker_guest::{Config, Product, Verdict};

use crate::{Settings, chat_body, parse_reply};

fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut values = vec![
        ("base_url", "http://router.test/v1/"),
        (
            "slugs",
            "clothing.jackets = Clothing > Jackets\nfootwear.boots, accessories",
        ),
    ];
    values.extend_from_slice(extra);
    Settings::from_config(&Config::new(values)).expect("valid settings")
}

fn product(id: &str, name: &str) -> Product {
    Product {
        offer_id: id.to_owned(),
        name: name.to_owned(),
        category_path: vec!["Outdoor".into(), "Jackets".into()],
        ..Product::default()
    }
}

fn completion(content: &str, tokens: u64) -> Vec<u8> {
    serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": tokens / 2, "completion_tokens": tokens - tokens / 2, "total_tokens": tokens},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn the_request_is_the_gardeners() {
    let s = settings(&[("model", "gpt-test")]);
    assert_eq!(s.endpoint, "http://router.test/v1/chat/completions");
    let body: serde_json::Value =
        serde_json::from_slice(&chat_body(&[product("a/1", "Beta AR")], &s)).unwrap();
    assert_eq!(body["model"], "gpt-test");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("Allowed slugs:\nclothing.jackets\nfootwear.boots\naccessories"),
        "{system}"
    );
    let user: serde_json::Value =
        serde_json::from_str(body["messages"][1]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        user,
        serde_json::json!([{"id": "a/1", "name": "Beta AR", "category": "Outdoor > Jackets"}])
    );
}

#[test]
fn a_fenced_reply_is_read_and_each_product_gets_its_verdict() {
    let s = settings(&[("min_confidence", "0.5")]);
    let content = "Here you go:\n```json\n[\n{\"id\":\"a\",\"category\":\"clothing.jackets\",\"color\":\"black\",\"gender\":\"men\",\"model\":\"Beta AR\",\"confidence\":0.9},\n{\"id\":\"b\",\"category\":\"weapons\"},\n{\"id\":\"c\",\"category\":null},\n{\"id\":\"d\",\"category\":\"footwear.boots\",\"confidence\":0.2},\n{\"id\":\"zzz\",\"category\":\"accessories\"}\n]\n```";
    let products: Vec<Product> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|id| product(id, "x"))
        .collect();
    let reply = parse_reply(&completion(content, 100)).expect("parses");
    assert_eq!(reply.extra_ids(&products), ["zzz"]);
    let v = reply.verdicts(&products, &s);
    let Verdict::Classified(f) = &v[0].verdict else {
        panic!("{:?}", v[0])
    };
    assert_eq!(f.category_slug, "clothing.jackets");
    assert_eq!(f.category_path, ["Clothing", "Jackets"]);
    assert_eq!(
        (f.color.as_deref(), f.model.as_deref()),
        (Some("black"), Some("Beta AR"))
    );
    assert!((v[0].confidence - 0.9).abs() < 1e-6);
    assert!(
        matches!(&v[1].verdict, Verdict::Failed(m) if m.contains("not one of the taxonomy's slugs")),
        "{:?}",
        v[1]
    );
    assert!(matches!(&v[2].verdict, Verdict::Abstained(_)), "{:?}", v[2]);
    assert!(
        matches!(&v[3].verdict, Verdict::Abstained(m) if m.contains("min_confidence")),
        "{:?}",
        v[3]
    );
    assert!(
        matches!(&v[4].verdict, Verdict::Failed(m) if m.contains("left this product out")),
        "{:?}",
        v[4]
    );
    assert!(
        v.iter().all(|e| e.tokens == 20),
        "100 tokens over 5 products"
    );
}

#[test]
fn replies_in_other_shapes_are_read() {
    let p = [product("1", "x")];
    for content in [
        "{\"id\": \"1\", \"category\": \"accessories\"}",
        "{\"results\": [{\"id\": 1, \"normalized_category\": \"accessories\"}]}",
        "[{\"id\":\"1\",\"category\":\"accessories\"}]",
    ] {
        let v = parse_reply(&completion(content, 0))
            .expect(content)
            .verdicts(&p, &settings(&[]));
        assert!(
            matches!(&v[0].verdict, Verdict::Classified(f) if f.category_slug == "accessories"),
            "{content}: {v:?}"
        );
        assert!(
            (v[0].confidence - 0.8).abs() < 1e-6,
            "the gardener's default confidence"
        );
    }
}

#[test]
fn a_reply_that_does_not_parse_says_why() {
    for (body, says) in [
        (
            b"<html>bad gateway</html>".to_vec(),
            "not a chat completion",
        ),
        (br#"{"choices": []}"#.to_vec(), "no message content"),
        (completion("I cannot help with that.", 5), "no JSON array"),
    ] {
        let e = parse_reply(&body).unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn bad_settings_name_the_key() {
    for (extra, says) in [
        (vec![("base_url", "ftp://x")], "`base_url`"),
        (vec![("slugs", "")], "`slugs` names no category"),
        (vec![("slugs", "a b")], "`slugs`"),
        (vec![("min_confidence", "2")], "`min_confidence`"),
        (vec![("timeout_ms", "0")], "`timeout_ms`"),
    ] {
        let mut values = vec![("base_url", "https://r/v1"), ("slugs", "a")];
        for (k, v) in extra {
            values.retain(|(key, _)| *key != k);
            values.push((k, v));
        }
        let e = Settings::from_config(&Config::new(values))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
    }
    let e = Settings::from_config(&Config::new([("slugs", "a")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`base_url` is not set"), "{e}");
}
