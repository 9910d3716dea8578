use super::*;

#[test]
fn usage_is_read_from_json_replies_only() {
    let mut headers = http::HeaderMap::new();
    let body =
        br#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#;
    assert_eq!(llm_usage(&headers, body), None, "no content type");
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    assert_eq!(llm_usage(&headers, body), Some((12, 5)));
    assert_eq!(llm_usage(&headers, b"{\"choices\":[]}"), None);
    assert_eq!(llm_usage(&headers, b"not json"), None);
}

#[test]
fn a_secret_header_never_prints() {
    let secret = SecretHeader {
        scheme: HttpScheme::Https,
        host: "router.internal".into(),
        port: 443,
        header: http::header::AUTHORIZATION,
        value: http::HeaderValue::from_static("Bearer sk-very-secret"),
    };
    let shown = format!("{secret:?}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(shown.contains("https://router.internal:443"));
}
