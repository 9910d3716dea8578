//! Outbound HTTP through `wasi:http` for granted modules: what the grant, the operator's
//! narrowing, the outbound policy and the caps let through, secrets the guest never holds,
//! and the receipt's count. A real loopback server answers; the guest is `http-probe`.

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contextworker_runtime::{
    CallOutcome, CallSpec, Capabilities, HttpHostConfig, Limits, LoadedComponent, Metering,
    Runtime, RuntimeConfig, SecretHeader,
};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::guest;
use contextworker_types::{
    HttpCaps, HttpGrant, HttpRule, HttpScheme, Product, ProductEnrichment, Receipt, Verdict, World,
};

const SECRET: &str = "sk-test-3f9a-never-in-the-guest";

fn rule(line: &str) -> HttpRule {
    HttpRule::parse(line).expect("rule")
}

fn runtime(config: HttpHostConfig) -> Arc<Runtime> {
    Runtime::new(RuntimeConfig {
        max_concurrent_instances: 8,
        cache_dir: Some(contextworker_test_support::target_dir().join("test-compile-cache")),
        http: config,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

/// Loopback admitted (a test server), the operator narrowing the probe to `narrow`, and the
/// secret set for the server's origin.
fn host_config(server: &FeedServer, narrow: Option<&[&str]>) -> HttpHostConfig {
    let port: u16 = server
        .base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut narrowing = BTreeMap::new();
    if let Some(rules) = narrow {
        narrowing.insert(
            "http-probe".to_owned(),
            rules.iter().map(|r| rule(r)).collect(),
        );
    }
    HttpHostConfig {
        outbound_allow: vec!["127.0.0.1/32".into()],
        narrowing,
        secrets: vec![SecretHeader {
            scheme: HttpScheme::Http,
            host: "127.0.0.1".into(),
            port,
            header: http::header::AUTHORIZATION,
            value: http::HeaderValue::from_str(&format!("Bearer {SECRET}")).expect("value"),
        }],
    }
}

async fn probe(rt: &Runtime, grant: &HttpGrant) -> Arc<LoadedComponent> {
    let path = guest("http-probe");
    let bytes = std::fs::read(&path).expect("built");
    rt.load_granted(
        "http-probe",
        bytes,
        World::Enricher,
        Metering::Epoch,
        Capabilities {
            module: "http-probe",
            http: Some(grant),
        },
    )
    .await
    .expect("the probe loads with its grant")
}

fn grant(rules: &[&str], caps: HttpCaps) -> HttpGrant {
    HttpGrant {
        rules: rules.iter().map(|r| rule(r)).collect(),
        caps,
    }
}

/// One product per request, named `METHOD URL`.
async fn run(
    rt: &Runtime,
    component: &LoadedComponent,
    requests: &[String],
    config: &[(&str, &str)],
) -> CallOutcome<Vec<ProductEnrichment>> {
    let products: Vec<Product> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| Product {
            offer_id: i.to_string(),
            name: r.clone(),
            ..Product::default()
        })
        .collect();
    let spec = CallSpec::new("http-probe", "0.1.0", Limits::for_world(World::Enricher))
        .with_config(
            config
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        );
    rt.enrich(component, &spec, &products).await
}

fn status(e: &ProductEnrichment) -> String {
    match &e.verdict {
        Verdict::Classified(f) => f.category_slug.clone(),
        Verdict::Failed { reason } | Verdict::Abstained { reason } => reason.clone(),
    }
}

/// [`run`] without config, which must succeed: what each request came to ([`status`]), in
/// order, and the call's receipt.
async fn statuses(
    rt: &Runtime,
    component: &LoadedComponent,
    requests: &[String],
) -> (Vec<String>, Receipt) {
    let out = run(rt, component, requests, &[]).await;
    let got = out
        .result
        .expect("the call succeeds")
        .iter()
        .map(status)
        .collect();
    (got, out.receipt)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_request_goes_out_with_the_hosts_secret_and_is_counted() {
    let server = FeedServer::start();
    server.set_body("hello from the service", None);
    server.require_bearer(SECRET);
    let base = server.base_url();
    let rt = runtime(host_config(&server, None));
    let probe = probe(
        &rt,
        &grant(&[&format!("GET,POST {base}/feed")], HttpCaps::default()),
    )
    .await;
    let out = run(
        &rt,
        &probe,
        &[format!("GET {base}/feed"), format!("POST {base}/feed")],
        &[
            ("forge_authorization", "Bearer forged-by-the-guest"),
            ("note", "config"),
        ],
    )
    .await;
    let verdicts = out.result.expect("the call succeeds");
    // The server answers 401 unless it gets the host's secret: both got through.
    assert_eq!(
        verdicts.iter().map(status).collect::<Vec<_>>(),
        ["status-200", "status-200"]
    );
    let Verdict::Classified(facets) = &verdicts[0].verdict else {
        panic!()
    };
    assert_eq!(facets.model.as_deref(), Some("hello from the service"));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for (_, headers) in &seen {
        let auth: Vec<_> = headers
            .iter()
            .filter(|(n, _)| n == "authorization")
            .collect();
        assert_eq!(
            auth.len(),
            1,
            "the guest's header is replaced, not joined: {auth:?}"
        );
        assert_eq!(auth[0].1, format!("Bearer {SECRET}"));
    }
    let http = out.receipt.http;
    assert_eq!((http.requests, http.refused), (2, 0), "{http:?}");
    assert!(http.bytes_received >= 2 * 22, "{http:?}");
    assert!(
        http.bytes_sent > 0,
        "the POST carried what the guest could see"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guest_never_sees_the_secret() {
    let server = FeedServer::start();
    server.set_body("ok", None);
    let base = server.base_url();
    let rt = runtime(host_config(&server, None));
    let probe = probe(
        &rt,
        &grant(&[&format!("POST {base}/")], HttpCaps::default()),
    )
    .await;
    let out = run(&rt, &probe, &[format!("POST {base}/feed")], &[("k", "v")]).await;
    let verdicts = out.result.expect("ok");
    let Verdict::Classified(facets) = &verdicts[0].verdict else {
        panic!("{verdicts:?}")
    };
    // Everything the probe could see (environment, arguments, configuration) holds no secret;
    // the server got it in the header the host set.
    let saw = facets.product_type.as_deref().expect("the probe's view");
    assert!(
        saw.contains(r#""env":[]"#) && saw.contains(r#"["k","v"]"#),
        "{saw}"
    );
    assert!(!saw.contains(SECRET), "{saw}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .1
            .iter()
            .any(|(n, v)| n == "authorization" && v.contains(SECRET))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_outside_the_grant_are_refused_before_they_leave() {
    let server = FeedServer::start();
    server.set_body("ok", None);
    let base = server.base_url();
    let port = base.rsplit(':').next().expect("port");
    // The manifest allows GET under /feed on this server and POST anywhere (a wildcard); the
    // operator narrows the wildcard to POST /api/ on this server.
    let rt = runtime(host_config(
        &server,
        Some(&[&format!("POST {base}/api/"), &format!("GET {base}/")]),
    ));
    let probe = probe(
        &rt,
        &grant(
            &[&format!("GET {base}/feed"), "POST http://*:*/"],
            HttpCaps::default(),
        ),
    )
    .await;
    let requests = [
        format!("GET {base}/feed"),                    // granted
        format!("GET {base}/feed/../admin"),           // a dot segment out of the prefix
        format!("GET {base}/feedback"),                // not under /feed
        format!("DELETE {base}/feed"),                 // method
        format!("GET http://localhost:{port}/feed"),   // another host name
        format!("POST {base}/api/x"),                  // the narrowed wildcard
        format!("POST {base}/other"),                  // the wildcard beyond the narrowing
        format!("POST http://127.0.0.2:{port}/api/x"), // another host through the wildcard
        format!("GET https://{}/feed", &base[7..]),    // another scheme
    ];
    let (got, receipt) = statuses(&rt, &probe, &requests).await;
    let expected = [
        "status-200",
        "Denied",
        "Denied",
        "Denied",
        "Denied",
        "status-404",
        "Denied",
        "Denied",
        "Denied",
    ];
    assert_eq!(got, expected, "{requests:#?}");
    assert_eq!(
        server.requests(),
        2,
        "refused requests never reach the server"
    );
    assert_eq!((receipt.http.requests, receipt.http.refused), (2, 7));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outbound_policy_still_applies_to_granted_destinations() {
    let server = FeedServer::start();
    server.set_body("ok", None);
    let base = server.base_url();
    // Granted by the manifest, but loopback is not admitted by the host's network policy.
    let mut config = host_config(&server, None);
    config.outbound_allow.clear();
    let rt = runtime(config);
    let probe = probe(
        &rt,
        &grant(
            &[&format!("GET {base}/"), "GET http://localhost:*/"],
            HttpCaps::default(),
        ),
    )
    .await;
    let port = base.rsplit(':').next().expect("port");
    let requests = [
        format!("GET {base}/feed"),
        format!("GET http://localhost:{port}/feed"),
    ];
    let (got, _) = statuses(&rt, &probe, &requests).await;
    assert_eq!(
        got,
        ["Denied", "Denied"],
        "an IP literal and a name resolving to loopback"
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_returned_not_followed() {
    let server = FeedServer::start();
    server.set_body("ok", None);
    server.redirect("/go", "http://169.254.169.254/latest/meta-data/");
    let base = server.base_url();
    let rt = runtime(host_config(&server, None));
    let probe = probe(&rt, &grant(&[&format!("GET {base}/")], HttpCaps::default())).await;
    let requests = [
        format!("GET {base}/go"),
        "GET http://169.254.169.254/latest/meta-data/".into(),
    ];
    let (got, _) = statuses(&rt, &probe, &requests).await;
    assert_eq!(
        got,
        ["status-302", "Denied"],
        "the next hop is a new request, checked again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caps_hold() {
    let server = FeedServer::start();
    server.set_body(vec![b'x'; 64 * 1024], None);
    let base = server.base_url();
    let rt = runtime(host_config(&server, None));
    // Three requests a call; replies up to 16 KiB.
    let caps = HttpCaps {
        max_requests: 3,
        max_response_bytes: 16 * 1024,
        ..HttpCaps::default()
    };
    let capped = probe(&rt, &grant(&[&format!("GET {base}/")], caps)).await;
    let requests: Vec<String> = (0..5).map(|_| format!("GET {base}/feed")).collect();
    let (got, _) = statuses(&rt, &capped, &requests).await;
    assert_eq!(
        got,
        ["TooLarge", "TooLarge", "TooLarge", "Denied", "Denied"]
    );
    assert_eq!(server.requests(), 3, "the fourth and fifth never left");

    // Request bodies: 8 KiB (several chunks) goes out, 64 KiB is over the 16 KiB cap.
    let sized = probe(
        &rt,
        &grant(
            &[&format!("POST {base}/")],
            HttpCaps {
                max_request_bytes: 16 * 1024,
                ..HttpCaps::default()
            },
        ),
    )
    .await;
    server.set_body("ok", None);
    let post = [format!("POST {base}/feed")];
    let fits = run(&rt, &sized, &post, &[("pad_kib", "8")]).await;
    assert_eq!(status(&fits.result.expect("ok")[0]), "status-200");
    assert!(
        fits.receipt.http.bytes_sent > 8 * 1024,
        "{:?}",
        fits.receipt.http
    );
    let over = run(&rt, &sized, &post, &[("pad_kib", "64")]).await;
    let got = status(&over.result.expect("ok")[0]);
    assert!(got.contains("larger than the module may send"), "{got}");

    // The network budget: a slow server uses it up, and the call still ends.
    let slow = FeedServer::start();
    slow.set_body("late", None);
    slow.delay(Some(Duration::from_millis(1500)));
    let slow_base = slow.base_url();
    let rt = runtime(host_config(&slow, None));
    let caps = HttpCaps {
        network_time: Duration::from_millis(500),
        ..HttpCaps::default()
    };
    let slow_probe = probe(&rt, &grant(&[&format!("GET {slow_base}/")], caps)).await;
    let requests = [
        format!("GET {slow_base}/feed"),
        format!("GET {slow_base}/feed"),
    ];
    let (got, receipt) = statuses(&rt, &slow_probe, &requests).await;
    assert!(got[0].contains("Unavailable"), "{got:?}");
    assert_eq!(got[1], "Denied", "the budget is spent");
    assert!(
        receipt.wall_time < Duration::from_secs(2),
        "{:?}",
        receipt.wall_time
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_without_a_grant_cannot_link_wasi_http() {
    let rt = runtime(HttpHostConfig::default());
    let path = guest("http-probe");
    let err = rt
        .load_file(&path, World::Enricher, Metering::Epoch)
        .await
        .expect_err("no grant, no wasi:http");
    let text = err.to_string();
    assert!(
        text.contains("wasi:http") && text.contains("[http]"),
        "{text}"
    );
    // Code components never get it, even when asked.
    let bytes = std::fs::read(guest("hostile")).expect("built");
    let grant = grant(&["GET https://example.com/"], HttpCaps::default());
    let err = rt
        .load_granted(
            "hostile",
            bytes,
            World::Code,
            Metering::Epoch,
            Capabilities {
                module: "hostile",
                http: Some(&grant),
            },
        )
        .await
        .expect_err("code never gets wasi:http");
    assert!(err.to_string().contains("never get outbound HTTP"), "{err}");
}
