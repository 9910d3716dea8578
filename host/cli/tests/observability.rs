//! The operator endpoint of `serve --metrics-addr`: `/metrics` parsed by Prometheus's own
//! parser (the `prometheus-client` package) after a harvest, an ExecuteCode call, a refused
//! module and a swap; `/healthz`; `/readyz` following the database down and back.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use common::rpc::{grpc_host, token};
use common::{Harness, free_port, json_of, poll_until, python, yml_feed};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::postgres::TestDatabase;
use contextworker_test_support::tcp_proxy::TcpProxy;
use contextworker_test_support::{component_variant, guest, land};
use contextworker_types::Digest;
use serde_json::{Value, json};

/// One scrape, parsed: (name, labels) → value.
#[derive(Debug, Default)]
struct Scrape {
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
    types: BTreeMap<String, String>,
    content_type: String,
}

impl Scrape {
    fn take(url: &str) -> Self {
        let v = python("scrape.py", &[url], || {
            "the Prometheus parser refused the page".to_owned()
        });
        let mut scrape = Self {
            content_type: v["content_type"].as_str().unwrap().to_owned(),
            ..Self::default()
        };
        for s in v["samples"].as_array().unwrap() {
            let labels = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let value = s["value"].as_f64().unwrap_or(f64::NAN);
            scrape
                .samples
                .insert((s["name"].as_str().unwrap().to_owned(), labels), value);
        }
        for (k, t) in v["types"].as_object().unwrap() {
            scrape
                .types
                .insert(k.clone(), t.as_str().unwrap().to_owned());
        }
        scrape
    }

    /// The sum of `name`'s samples whose labels include `labels` (0 when none).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    fn series(&self, name: &str, labels: &[(&str, &str)]) -> Vec<BTreeMap<String, String>> {
        self.samples
            .keys()
            .filter(|(n, l)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// The bytes of the files under `dir` (recursively) that `keep` admits.
fn bytes_under(dir: &std::path::Path, keep: impl Fn(&std::path::Path) -> bool + Copy) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => bytes_under(&path, keep),
                Ok(meta) if keep(&path) => meta.len(),
                _ => 0,
            }
        })
        .sum()
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_a_harvest_a_code_run_a_refusal_and_a_swap() {
    let h = Harness::start().await;
    let feed = yml_feed(7, 0);
    let _server = h.serve_supplier("shop", "acme", feed.clone());
    let addr = format!("127.0.0.1:{}", free_port());
    let (worker, mut rpc) = grpc_host(&h, "metrics", &["--metrics-addr", &addr]).await;
    let url = format!("http://{addr}/metrics");
    assert!(
        worker.log_text().contains(&format!("metrics on {url}")),
        "the worker says where its metrics are:\n{}",
        worker.log_text()
    );
    assert_eq!(get(&format!("http://{addr}/healthz")).await.0, 200);
    let before = Scrape::take(&url);
    assert!(
        before.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        before.content_type
    );
    // Every module loaded at start has its version's info series.
    let stats_digest = Digest::of(&std::fs::read(guest("text-stats")).unwrap()).to_string();
    assert_eq!(
        before.series(
            "contextworker_module_active_info",
            &[("module", "text-stats")]
        ),
        vec![BTreeMap::from(
            [
                ("module", "text-stats"),
                ("version", "0.1.0"),
                ("world", "code"),
                ("digest", stats_digest.as_str())
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        )]
    );

    // A harvest of 7 products.
    let out = h.cli(&["harvest", "shop", "--tenant", "acme", "--wait", "--json"]);
    let v = json_of(&out);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(v["result"]["created"], 7, "{v:#}");

    // One ExecuteCode call (a compile: the cache has not seen this code).
    let code = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(guest("text-stats")).unwrap());
    let answer = rpc
        .answer(
            "exec",
            &token(&["acme"]),
            &json!({"code": code, "input": "one two three"}),
        )
        .await;
    assert!(answer.get("error").is_none(), "{answer}");

    // A module whose component is not wasm: refused at the next reload.
    let broken = h.path("modules/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("broken.wasm"), b"not a component").unwrap();
    // The manifest lands by rename: a reload between creating and filling the file would
    // otherwise see it empty and count a second, different refusal.
    land(
        &broken.join("module.toml"),
        b"name = \"broken\"\nversion = \"0.1.0\"\nworld = \"code\"\n",
    );
    // A new build of text-stats: swapped in.
    let component = h.path("modules/text-stats/text-stats.wasm");
    let variant = component_variant(&std::fs::read(&component).unwrap(), 7);
    let variant_digest = Digest::of(&variant).to_string();
    land(&component, &variant);

    let after = poll_until(
        "the refusal and the swap in the metrics",
        Duration::from_secs(20),
        || {
            let url = url.clone();
            async move {
                let s = tokio::task::spawn_blocking(move || Scrape::take(&url))
                    .await
                    .unwrap();
                (s.sum(
                    "contextworker_module_swaps_total",
                    &[("module", "text-stats")],
                ) >= 1.0
                    && s.sum("contextworker_module_refusals_total", &[]) >= 1.0)
                    .then_some(s)
            }
        },
    )
    .await;
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);

    // The stores on disk, measured at the scrape: what the directories hold.
    let disk = Scrape::take(&url);
    let blobs = bytes_under(&h.path("data/blobs/sha256"), |_| true);
    let compiled = bytes_under(&h.path("data/compiled"), |p| {
        p.extension().is_some_and(|e| e == "cwasm")
    });
    assert!(blobs > 0 && compiled > 0, "{blobs} {compiled}");
    assert_eq!(
        disk.sum("contextworker_disk_bytes", &[("store", "blobs")]),
        blobs as f64
    );
    assert_eq!(
        disk.sum("contextworker_disk_bytes", &[("store", "compile_cache")]),
        compiled as f64
    );

    // The guest calls' receipts fill their histograms: time taken, and at least one 64 KiB
    // page of memory.
    assert!(
        delta(
            "contextworker_guest_call_duration_seconds_sum",
            &[("module", "yml")]
        ) > 0.0
    );
    assert!(
        delta(
            "contextworker_guest_peak_memory_bytes_sum",
            &[("module", "yml")]
        ) >= 65_536.0
    );
    assert_eq!(after.sum("contextworker_sandbox_calls_running", &[]), 0.0);
    assert_eq!(
        after.types["contextworker_guest_call_duration_seconds"],
        "histogram"
    );

    // The guest calls; the harvest's counts and steps; gRPC and ExecuteCode (the same bytes
    // were compiled when the text-stats module loaded: a cache hit); the hot swap's refusal
    // and swap.
    type Labels<'a> = &'a [(&'a str, &'a str)];
    let expected: [(&str, Labels, f64); 18] = [
        (
            "contextworker_guest_calls_total",
            &[
                ("module", "yml"),
                ("version", "0.1.0"),
                ("world", "transformer"),
                ("outcome", "ok"),
            ],
            1.0,
        ),
        (
            "contextworker_guest_calls_total",
            &[
                ("module", "submitted-code"),
                ("world", "code"),
                ("outcome", "ok"),
            ],
            1.0,
        ),
        (
            "contextworker_guest_call_duration_seconds_count",
            &[("module", "yml")],
            1.0,
        ),
        (
            "contextworker_guest_peak_memory_bytes_count",
            &[("module", "yml")],
            1.0,
        ),
        (
            "contextworker_harvest_fetched_bytes_total",
            &[],
            feed.len() as f64,
        ),
        (
            "contextworker_harvest_products_total",
            &[("result", "parsed")],
            7.0,
        ),
        (
            "contextworker_harvest_products_total",
            &[("result", "created")],
            7.0,
        ),
        (
            "contextworker_harvest_products_total",
            &[("result", "updated")],
            0.0,
        ),
        (
            "contextworker_harvest_step_duration_seconds_count",
            &[("step", "fetch")],
            1.0,
        ),
        (
            "contextworker_harvest_step_duration_seconds_count",
            &[("step", "parse")],
            1.0,
        ),
        (
            "contextworker_harvest_step_duration_seconds_count",
            &[("step", "stage")],
            1.0,
        ),
        ("contextworker_staging_rows_per_second_count", &[], 1.0),
        (
            "contextworker_grpc_requests_total",
            &[("method", "worker:execute_code"), ("outcome", "ok")],
            1.0,
        ),
        (
            "contextworker_grpc_request_duration_seconds_count",
            &[("method", "worker:execute_code")],
            1.0,
        ),
        (
            "contextworker_exec_compile_cache_total",
            &[("result", "hit")],
            1.0,
        ),
        (
            "contextworker_exec_compile_cache_total",
            &[("result", "miss")],
            0.0,
        ),
        ("contextworker_module_refusals_total", &[], 1.0),
        (
            "contextworker_module_swaps_total",
            &[("module", "text-stats")],
            1.0,
        ),
    ];
    for (metric, labels, value) in expected {
        assert_eq!(delta(metric, labels), value, "{metric} {labels:?}");
    }
    assert_eq!(after.sum("contextworker_exec_queue_waiting", &[]), 0.0);

    // Hot swap: the refusal and the swap (counted above), and the info series now naming the
    // new build alone.
    assert!(delta("contextworker_module_reloads_total", &[]) >= 1.0);
    let active = after.series(
        "contextworker_module_active_info",
        &[("module", "text-stats")],
    );
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["digest"], variant_digest);

    // The Temporal SDK's own worker metrics, on the same page: the harvest's activities.
    assert!(
        after.sum(
            "temporal_activity_execution_latency_seconds_count",
            &[("activity_type", "parse_products")]
        ) >= 1.0,
        "SDK series: {:?}",
        after
            .types
            .keys()
            .filter(|k| k.starts_with("temporal"))
            .collect::<Vec<_>>()
    );
    // Labels stay bounded: no tenant or supplier on any host series.
    for (name, labels) in after.samples.keys() {
        if name.starts_with("contextworker_") {
            assert!(
                !labels.contains_key("tenant") && !labels.contains_key("supplier"),
                "{name} {labels:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_database_down_and_back() {
    let h = Harness::start().await;
    let db = TestDatabase::create("readyz");
    let server: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let mut proxy = TcpProxy::start(server);
    let url = db
        .url()
        .replace("127.0.0.1:5432", &proxy.addr().to_string());
    let addr = format!("127.0.0.1:{}", free_port());
    let _worker = h.worker(
        "readyz",
        &["--metrics-addr", &addr],
        &[("DATABASE_URL", &url)],
    );
    let ready = format!("http://{addr}/readyz");
    let status = |want: u16| {
        let ready = ready.clone();
        move || {
            let ready = ready.clone();
            async move {
                let (code, body) = get(&ready).await;
                (code == want).then_some(body)
            }
        }
    };
    let body = poll_until("ready", Duration::from_secs(20), status(200)).await;
    for check in ["temporal: ok", "worker: ok", "database: ok", "modules: ok"] {
        assert!(body.contains(check), "{body}");
    }

    proxy.stop();
    let body = poll_until(
        "unready without the database",
        Duration::from_secs(20),
        status(503),
    )
    .await;
    assert!(body.starts_with("not ready"), "{body}");
    assert!(!body.contains("database: ok"), "{body}");
    assert!(
        body.contains("temporal: ok"),
        "only the database is down: {body}"
    );
    // Alive all the while: an orchestrator must not restart a host for its database.
    assert_eq!(get(&format!("http://{addr}/healthz")).await.0, 200);

    proxy.resume();
    let body = poll_until("ready again", Duration::from_secs(30), status(200)).await;
    assert!(body.contains("database: ok"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_request_ids_on_every_activity_line() {
    let h = Harness::start().await;
    let _server = h.serve_supplier("shop", "acme", yml_feed(3, 0));
    let (worker, mut rpc) = grpc_host(&h, "json-logs", &["--log-json"]).await;
    let t = token(&["acme"]);
    let started = rpc
        .answer(
            "start",
            &t,
            &json!({"workflow_type": "harvest", "supplier_code": "shop", "tenant_id": "acme"}),
        )
        .await;
    let id = started["workflow_id"].as_str().unwrap().to_owned();
    let done = rpc.settled(&t, &id).await;
    assert_eq!(done["status"], "completed", "{done}");

    // Every line is one JSON object; the lines of the harvest's activities carry the request's
    // trace id, the workflow and run, the attempt and the tenant; the parse names its module.
    let lines: Vec<Value> = worker
        .log_text()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let text = worker.log_text();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // The few plain lines are the host's own messages to a person (where it serves).
        assert!(
            line.starts_with('{') || !line.contains("\"level\""),
            "a log line that is not JSON: {line}"
        );
    }
    let activity_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["workflow_id"] == id.as_str() && l.get("activity").is_some())
        .collect();
    // The three steps that log at info: each has its line.
    for step in ["download_feed", "parse_products", "store_products"] {
        assert!(
            activity_lines.iter().any(|l| l["activity"] == step),
            "no line of {step}: {lines:#?}"
        );
    }
    for line in &activity_lines {
        assert_eq!(line["trace_id"], "trace-abc", "{line}");
        assert_eq!(line["tenant"], "acme", "{line}");
        assert!(line["activity"].is_string(), "{line}");
        assert!(!line["run_id"].as_str().unwrap().is_empty(), "{line}");
        assert!(line["attempt"].as_u64().unwrap() >= 1, "{line}");
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    let parsed = activity_lines
        .iter()
        .find(|l| l["message"] == "feed parsed")
        .unwrap_or_else(|| panic!("{activity_lines:#?}"));
    assert_eq!(parsed["activity"], "parse_products");
    assert_eq!(parsed["module"], "yml");
    let yml_digest = Digest::of(&std::fs::read(guest("yml")).unwrap()).to_string();
    assert_eq!(parsed["digest"], yml_digest.as_str());
    // The gRPC request's own lines carry its unit and trace ids, and the unit id travels
    // with the workflow to every activity line.
    let request = lines
        .iter()
        .find(|l| l["method"] == "worker:start_workflow" && l["trace_id"] == "trace-abc")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let unit_id = request["unit_id"].as_str().unwrap();
    assert!(!unit_id.is_empty(), "{request}");
    for line in &activity_lines {
        assert_eq!(line["unit_id"], unit_id, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_level_is_honoured_as_the_original_worker_reads_it() {
    let h = Harness::start().await;
    let quiet = h.worker(
        "log-level",
        &["--log-json"],
        &[("RUST_LOG", ""), ("LOG_LEVEL", "WARNING")],
    );
    let loud = h.worker(
        "log-level-info",
        &["--log-json"],
        &[("RUST_LOG", ""), ("LOG_LEVEL", "INFO")],
    );
    let levels = |w: &common::Worker| -> Vec<String> {
        w.log_text()
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["level"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let (quiet, loud) = (levels(&quiet), levels(&loud));
    assert!(loud.iter().any(|l| l == "INFO"), "{loud:?}");
    assert!(
        quiet.iter().all(|l| l == "WARN" || l == "ERROR"),
        "{quiet:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_what_a_worker_does_now() {
    let h = Harness::start().await;
    let server = h.serve_supplier("slow", "acme", yml_feed(3, 0));
    let addr = format!("127.0.0.1:{}", free_port());
    let _worker = h.worker("status", &["--metrics-addr", &addr], &[]);

    // A fetch held up by the supplier: running, with its elapsed time growing.
    server.delay(Some(Duration::from_secs(4)));
    let out = h.cli(&["harvest", "slow", "--tenant", "acme", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json_of(&out)["workflow_id"].as_str().unwrap().to_owned();
    let running = poll_until(
        "the fetch shows as running",
        Duration::from_secs(20),
        || {
            let (h, addr, id) = (&h, addr.clone(), id.clone());
            async move {
                let out = h.cli(&["status", "--addr", &addr, "--json"]);
                let v = json_of(&out);
                v["running"]
                    .as_array()?
                    .iter()
                    .find(|a| a["workflow_id"] == id.as_str() && a["activity"] == "download_feed")
                    .filter(|a| a["elapsed_ms"].as_u64() >= Some(500))
                    .cloned()
            }
        },
    )
    .await;
    assert_eq!(running["attempt"], 1, "{running}");
    let text = h.cli(&["status", "--addr", &addr]);
    let shown = String::from_utf8_lossy(&text.stdout).into_owned();
    for part in [
        "harvester-tasks",
        "download_feed",
        id.as_str(),
        "yml",
        "text-stats",
        "MODULE",
    ] {
        assert!(shown.contains(part), "`{part}` missing from:\n{shown}");
    }
    server.delay(None);

    // Once the harvest is done, nothing is left on the board.
    poll_until("the board empties", Duration::from_secs(30), || {
        let (h, addr) = (&h, addr.clone());
        async move {
            let v = json_of(&h.cli(&["status", "--addr", &addr, "--json"]));
            (v["running"].as_array()?.is_empty()).then_some(())
        }
    })
    .await;

    // A supplier whose feed is gone: the attempt's failure is listed with its type.
    let gone = FeedServer::start();
    gone.force_status(Some(404));
    h.write_supplier("gone", "acme", &gone.url());
    let out = h.cli(&["harvest", "gone", "--tenant", "acme", "--wait", "--json"]);
    assert!(!out.status.success());
    let v = json_of(&h.cli(&["status", "--addr", &addr, "--json"]));
    let failure = &v["recent_failures"][0];
    assert_eq!(failure["activity"], "download_feed", "{v:#}");
    assert_eq!(failure["workflow_id"], "harvest:acme:gone", "{v:#}");
    assert_eq!(failure["failure_type"], "FeedHttpStatus", "{failure}");

    // No endpoint there: a clear error, exit 1.
    let out = h.cli(&["status", "--addr", &format!("127.0.0.1:{}", free_port())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metrics-addr"));
}
