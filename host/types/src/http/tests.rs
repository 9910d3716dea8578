use super::*;

fn rule(s: &str) -> HttpRule {
    HttpRule::parse(s).unwrap()
}

#[test]
fn a_rule_parses_and_prints_back() {
    let r = rule("post https://Router.Internal/v1/");
    assert_eq!(r.host.as_deref(), Some("router.internal"));
    assert_eq!(r.port, Some(443));
    assert_eq!(r.methods, ["POST"]);
    assert_eq!(r.to_string(), "POST https://router.internal:443/v1/");
    assert_eq!(rule(&r.to_string()), r);
    let w = rule("GET,HEAD http://*:*/");
    assert!(w.is_wildcard());
    assert_eq!(rule("GET http://[::1]:8080/x").host.as_deref(), Some("::1"));
}

#[test]
fn a_rules_json_is_its_line_and_a_bad_line_fails_with_the_parsers_message() {
    let r = rule("POST https://router.internal/v1/");
    let json = serde_json::to_value(&r).expect("serializes");
    assert_eq!(json, "POST https://router.internal:443/v1/");
    assert_eq!(
        serde_json::from_value::<HttpRule>(json).expect("reads back"),
        r
    );
    let err = serde_json::from_value::<HttpRule>("https://x/".into()).expect_err("no methods");
    assert!(err.to_string().contains("no methods"), "{err}");
}

#[test]
fn bad_rules_say_what_is_wrong() {
    for (line, says) in [
        ("https://x/", "no methods"),
        ("FETCH https://x/", "unknown method"),
        ("GET ftp://x/", "not http or https"),
        ("GET https://u:p@x/", "credentials"),
        ("GET https://x:0/", "port"),
        ("GET https://x:99999/", "port"),
        ("GET https://x:80:90/", "one port"),
        ("GET https://::1/", "brackets"),
        ("GET https:///v1", "no host"),
        ("GET https://x/v1/../admin", "plain path"),
        ("GET https://x/v1?q=1", "plain path"),
    ] {
        let e = HttpRule::parse(line).unwrap_err().to_string();
        assert!(e.contains(says), "{line}: {e}");
    }
}

#[test]
fn a_rule_admits_only_its_destination() {
    let r = rule("POST https://router.internal/v1");
    use HttpScheme::{Http, Https};
    let cases = [
        (Https, "ROUTER.internal", 443, "POST", "/v1/chat", true),
        (Https, "router.internal", 443, "POST", "/v1", true),
        (Http, "router.internal", 443, "POST", "/v1/chat", false),
        (Https, "router.internal", 8443, "POST", "/v1/chat", false),
        (Https, "evil.example", 443, "POST", "/v1/chat", false),
        (Https, "router.internal", 443, "GET", "/v1/chat", false),
        (Https, "router.internal", 443, "POST", "/v1beta", false),
        (Https, "router.internal", 443, "POST", "/v1/../admin", false),
        (
            Https,
            "router.internal",
            443,
            "POST",
            "/v1/%2e%2e/admin",
            false,
        ),
        (
            Https,
            "router.internal",
            443,
            "POST",
            "/v1/..\\admin",
            false,
        ),
    ];
    for (scheme, host, port, method, path, admitted) in cases {
        let target = HttpTarget {
            scheme,
            host,
            port,
            method,
            path,
        };
        assert_eq!(
            r.admits(&target),
            admitted,
            "{method} {scheme:?} {host}:{port}{path}"
        );
    }
}

#[test]
fn the_operator_narrows_and_never_widens() {
    let grant = HttpGrant {
        rules: vec![
            rule("POST,GET https://*:*/v1/"),
            rule("GET https://docs.example/"),
        ],
        caps: HttpCaps::default(),
    };
    // No operator rules: the wildcard admits nothing, the concrete rule stands.
    let alone = grant.narrowed(None);
    assert_eq!(alone.rules, vec![rule("GET https://docs.example/")]);
    // The operator names the router: only POST under /v1/chat on it, nothing wider.
    let narrowed = grant.narrowed(Some(&[
        rule("POST,DELETE https://router.internal:8443/v1/chat"),
        rule("PUT https://elsewhere.example/"),
        rule("POST http://router.internal/"),
    ]));
    assert_eq!(
        narrowed.rules,
        vec![rule("POST https://router.internal:8443/v1/chat")]
    );
    // An operator rule wider than the manifest keeps the manifest's bounds.
    let wider = HttpGrant {
        rules: vec![rule("POST https://router.internal/v1/")],
        caps: HttpCaps::default(),
    }
    .narrowed(Some(&[rule("GET,POST https://*:*/")]));
    assert_eq!(wider.rules, vec![rule("POST https://router.internal/v1/")]);
    // An operator wildcard over a manifest wildcard opens nothing.
    let open = HttpGrant {
        rules: vec![rule("POST https://*:*/")],
        caps: HttpCaps::default(),
    }
    .narrowed(Some(&[rule("POST https://*/")]));
    assert!(open.rules.is_empty());
}
