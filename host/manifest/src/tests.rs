use super::*;

fn parse(text: &str) -> Result<Manifest, String> {
    Manifest::parse(Path::new("/m/yml/module.toml"), text, 1024 * MIB).map_err(|e| e.to_string())
}

const MINIMAL: &str =
    "name = \"yml\"\nversion = \"0.1.0\"\nworld = \"transformer\"\ndescription = \"d\"\n";

#[test]
fn a_minimal_manifest_gets_defaults() {
    let m = parse(MINIMAL).expect("valid");
    assert_eq!(m.component, PathBuf::from("/m/yml/yml.wasm"));
    assert_eq!(m.limits, Limits::for_world(World::Transformer));
    assert_eq!(m.metering, Metering::Epoch);
}

#[test]
fn errors_name_the_file_and_the_field() {
    let enricher = MINIMAL.replace("transformer", "enricher");
    let code = MINIMAL.replace("transformer", "code");
    let cases = [
        (MINIMAL.replace("\"yml\"", "\"Y M L\""), "`name`"),
        (MINIMAL.replace("0.1.0", "one"), "`version`"),
        (MINIMAL.replace("transformer", "parser"), "`world`"),
        (
            format!("{MINIMAL}[limits]\nmemory_mb = 99999\n"),
            "`limits.memory_mb`",
        ),
        (
            format!("{MINIMAL}[limits]\nmemroy_mb = 1\n"),
            "unknown field `memroy_mb`",
        ),
        (
            format!("{MINIMAL}colour = \"red\"\n"),
            "line 5, column 1: unknown field `colour`",
        ),
        (
            format!("{MINIMAL}[config]\nmap = {{ a = 1 }}\n"),
            "`config.map`",
        ),
        (
            format!("{MINIMAL}[[self_test]]\ninput = \"x\"\n"),
            "`self_test[0].products`",
        ),
        (
            format!("{MINIMAL}component = \"yml.wasm.tmp\"\n"),
            "`component`: /m/yml/yml.wasm.tmp: a temporary file's name",
        ),
        (
            format!("{MINIMAL}component = \".yml.wasm\"\n"),
            "`component`",
        ),
        (
            format!("{MINIMAL}[detect]\npriority = 1\n"),
            "`detect`: give at least one",
        ),
        (
            format!("{code}[detect]\ncontains = [\"x\"]\n"),
            "`detect`: only transformers",
        ),
        (
            format!("{MINIMAL}[[self_test]]\ninput = \"x\"\nproducts = 1\nclassified = 1\n"),
            "`self_test[0].classified`: only enrichers classify products; this is a transformer module",
        ),
        (
            format!("{enricher}[http]\nallow = []\n"),
            "`http.allow`: names no destination",
        ),
        (
            format!("{enricher}[http]\nallow = [\"POST ftp://x/\"]\n"),
            "`http.allow[0]`",
        ),
        (
            format!("{enricher}[http]\nallow = [\"GET https://x/\"]\nmax_requests = 0\n"),
            "`http.max_requests`",
        ),
        (
            format!("{enricher}[http]\nallow = [\"GET https://x/\"]\nmax_concurrent = 65\n"),
            "`http.max_concurrent`",
        ),
        (
            format!("{enricher}[http]\nallow = [\"GET https://x/\"]\nproxy = true\n"),
            "unknown field `proxy`",
        ),
        (
            format!("{code}[http]\nallow = [\"GET https://x/\"]\n"),
            "code modules never reach the network",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err("must be refused");
        assert!(err.starts_with("/m/yml/module.toml"), "{text}: {err}");
        assert!(
            err.contains(expected),
            "{text}: expected {expected:?} in {err}"
        );
    }
}

#[test]
fn fuel_turns_metering_on_and_config_overlays() {
    let m = parse(&format!(
        "{MINIMAL}[limits]\nfuel = 1000\n[config]\ndelimiter = \";\"\nskip = 2\n"
    ))
    .expect("valid");
    assert_eq!(m.metering, Metering::Fuel);
    let merged = m.config_with(&[("skip".into(), "3".into())]);
    assert_eq!(
        merged,
        vec![
            ("delimiter".into(), ";".into()),
            ("skip".into(), "3".into())
        ]
    );
}

#[test]
fn an_enricher_self_test_may_say_how_many_it_classifies() {
    let enricher = MINIMAL.replace("transformer", "enricher");
    let m = parse(&format!(
        "{enricher}[[self_test]]\ninput = \"p.ndjson\"\nclassified = 3\n"
    ))
    .expect("valid");
    assert_eq!(m.world, World::Enricher);
    assert_eq!(m.limits, Limits::for_world(World::Enricher));
    assert!(matches!(
        m.self_tests[0].expect,
        SelfTestExpectation::Classified(3)
    ));
    let m = parse(&format!("{enricher}[[self_test]]\ninput = \"p.ndjson\"\n")).expect("valid");
    assert!(matches!(
        m.self_tests[0].expect,
        SelfTestExpectation::Succeeds
    ));
}

#[test]
fn an_http_grant_is_parsed_with_its_caps() {
    let text = format!(
        "{}[http]\nallow = [\"POST https://*:*/v1/\", \"GET https://docs.example/\"]\nmax_requests = 3\nmax_response_kb = 64\nnetwork_timeout_ms = 2500\n",
        MINIMAL.replace("transformer", "enricher")
    );
    let grant = parse(&text).expect("valid").http.expect("a grant");
    assert_eq!(grant.rules.len(), 2);
    assert_eq!(grant.caps.max_requests, 3);
    assert_eq!(grant.caps.max_response_bytes, 64 * 1024);
    assert_eq!(grant.caps.network_time, Duration::from_millis(2500));
    assert!(parse(MINIMAL).expect("valid").http.is_none());
}
