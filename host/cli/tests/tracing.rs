//! OpenTelemetry traces over OTLP (`OTEL_ENABLED`), received by a collector written with the
//! OpenTelemetry project's own protocol code (`tests/python/otlp_receiver.py`): one
//! StartWorkflow sent with a known `trace_id` is one trace, from the gRPC request through the
//! workflow's start to every activity attempt, on whichever worker process ran it; an
//! ExecuteCode call's guest log lines are events of its guest-call span.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use common::rpc::{Outbound, Rpc, SERVING, grpc_worker, health_until, hostile_ok, token};
use common::{Harness, free_port, wait_until, yml_feed};
use contextworker_grpc::pb::core::ContextUnit;
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::{guest, workspace_root};
use contextworker_types::Digest;
use serde_json::{Value, json};

/// The collector: spans as JSON lines in a file.
struct Receiver {
    child: Child,
    out: PathBuf,
    port: u16,
}

impl Receiver {
    /// A harness, and a collector for the spans of the hosts it starts.
    async fn with_harness() -> (Harness, Self) {
        let h = Harness::start().await;
        let out = h.path("spans.jsonl");
        let port = free_port();
        let child = Command::new("python3")
            .arg(workspace_root().join("tests/python/otlp_receiver.py"))
            .arg(port.to_string())
            .arg(&out)
            .spawn()
            .unwrap();
        wait_until("the OTLP receiver listens", Duration::from_secs(20), || {
            out.exists()
        });
        (h, Self { child, out, port })
    }

    /// What a host needs in its environment to export here.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("OTEL_ENABLED".into(), "true".into()),
            (
                "OTEL_ENDPOINT".into(),
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("SERVICE_NAME".into(), "contextworker-test".into()),
        ]
    }

    fn spans(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The spans of one trace, once `done` holds of them.
    async fn trace(&self, trace_id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            let all = self.spans();
            let spans: Vec<Value> = all
                .iter()
                .filter(|s| s["trace_id"] == trace_id)
                .cloned()
                .collect();
            if done(&spans) {
                return spans;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "trace {trace_id} incomplete after 90 s; received:\n{}",
                all.iter()
                    .map(|s| format!(
                        "{} {} <- {} {} {} {}",
                        s["trace_id"],
                        s["span_id"],
                        s["parent_span_id"],
                        s["name"],
                        s["attributes"],
                        s["events"]
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn one<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one {name} span: {spans:#?}");
    found[0]
}

fn env_of(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_start_workflow_is_one_trace_across_the_grpc_host_and_two_workers() {
    let (h, receiver) = Receiver::with_harness().await;
    let env = receiver.env();
    let server = FeedServer::start();
    server.set_body(yml_feed(20, 0), None);
    // The download takes long enough for the second worker to be the one that parses.
    server.delay(Some(Duration::from_secs(3)));
    // A token in the query, as suppliers hand them out: it must not reach any span.
    h.write_supplier(
        "traced",
        "acme",
        &format!("{}?token=s3cr3t-feed-token", server.url()),
    );
    let port = free_port();
    let mut first = grpc_worker(&h, "first", port, Outbound::Loopback, &[], &env_of(&env));
    assert_eq!(health_until(port, SERVING).await, SERVING);
    let mut rpc = Rpc::connect(port).await;

    let trace_id = "4bf92f35-77b3-4da6-a3ce-929d0e0e4736";
    let otel_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let unit_id = "unit-traced-1";
    let mut request = Rpc::request(
        Some(&token(&["acme"])),
        &json!({"workflow_type": "harvest", "supplier_code": "traced"}),
    );
    let unit: &mut ContextUnit = request.get_mut();
    unit.trace_id = trace_id.into();
    unit.unit_id = unit_id.into();
    let answer = rpc
        .client
        .start_workflow(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.trace_id, trace_id);

    wait_until("the download began", Duration::from_secs(60), || {
        server.requests() >= 1
    });
    let second = h.worker("second", &[], &env_of(&env));
    // A clean stop finishes (or hands back) what the first worker runs and flushes its spans;
    // the rest of the harvest is the second worker's.
    assert!(
        first
            .signal_and_wait("TERM", Duration::from_secs(60))
            .is_some()
    );
    let spans = receiver
        .trace(otel_trace, |spans| {
            !named(spans, "staging.batch").is_empty()
                && !named(spans, "RunActivity:store_products").is_empty()
        })
        .await;

    let (first_pid, second_pid) = (i64::from(first.pid()), i64::from(second.pid()));
    // The request: its span is the gRPC method, under the caller's unit.
    let rpc_span = one(&spans, "WorkerService/start_workflow");
    assert_eq!(rpc_span["pid"], first_pid);
    assert_eq!(rpc_span["service"], "contextworker-test");
    assert_eq!(rpc_span["attributes"]["unit_id"], unit_id, "{rpc_span}");
    assert_eq!(rpc_span["attributes"]["trace_id"], trace_id);
    assert_eq!(rpc_span["attributes"]["outcome"], "ok");
    assert_ne!(
        rpc_span["parent_span_id"], "",
        "the caller's unit is the parent"
    );
    let start = one(&spans, "workflow.start");
    assert_eq!(start["parent_span_id"], rpc_span["span_id"]);
    assert_eq!(
        start["attributes"]["workflow"], "HarvestWorkflow",
        "{start}"
    );
    let workflow_id = start["attributes"]["workflow_id"].as_str().unwrap();

    // Every activity attempt, on either worker, is a child of the start.
    let activities: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"].as_str().unwrap().starts_with("RunActivity:"))
        .collect();
    assert!(activities.len() >= 4, "{activities:#?}");
    for a in &activities {
        assert_eq!(a["parent_span_id"], start["span_id"], "{a}");
        assert_eq!(a["attributes"]["workflow_id"], workflow_id, "{a}");
        assert!(a["attributes"]["attempt"].as_i64() >= Some(1), "{a}");
        assert_eq!(a["attributes"]["tenant"], "acme", "{a}");
    }
    let pids: std::collections::BTreeSet<i64> =
        spans.iter().map(|s| s["pid"].as_i64().unwrap()).collect();
    assert_eq!(
        pids,
        [first_pid, second_pid].into(),
        "spans from both worker processes"
    );

    // Which module version parsed the products, how long it took: on the parse attempt and
    // on its guest call.
    let yml = Digest::of(&std::fs::read(guest("yml")).unwrap()).to_string();
    let parses = named(&spans, "RunActivity:parse_products");
    let parse = parses
        .iter()
        .find(|p| p["attributes"]["call_outcome"] == "ok")
        .expect("a parse that succeeded");
    assert_eq!(parse["pid"], second_pid, "the second worker parsed");
    assert_eq!(parse["attributes"]["module"], "yml", "{parse}");
    assert_eq!(parse["attributes"]["digest"], yml.as_str(), "{parse}");
    assert!(!parse["attributes"]["version"].as_str().unwrap().is_empty());
    assert_eq!(parse["attributes"]["output_items"], 20, "{parse}");
    assert!(parse["attributes"]["wall_time_us"].as_i64().unwrap() > 0);
    assert!(parse["attributes"]["peak_memory_bytes"].as_i64().unwrap() > 0);
    let call = spans
        .iter()
        .find(|s| s["name"] == "guest yml" && s["parent_span_id"] == parse["span_id"])
        .expect("the parse's guest call");
    assert_eq!(call["attributes"]["digest"], yml.as_str());
    assert_eq!(call["attributes"]["outcome"], "ok");

    // The fetch names the host it read from and nothing of the URL's path or query.
    let fetches = named(&spans, "fetch");
    assert!(!fetches.is_empty(), "{spans:#?}");
    for fetch in fetches {
        let download = activities
            .iter()
            .find(|a| a["span_id"] == fetch["parent_span_id"])
            .expect("the fetch's activity");
        assert_eq!(download["name"], "RunActivity:download_feed");
        assert_eq!(fetch["attributes"]["server.address"], "127.0.0.1");
        assert_eq!(fetch["attributes"]["url.scheme"], "http");
    }
    let everything = serde_json::to_string(&spans).unwrap();
    assert!(
        !everything.contains("s3cr3t"),
        "a URL's query reached a span"
    );

    let batch = named(&spans, "staging.batch")[0];
    let store = activities
        .iter()
        .find(|a| a["span_id"] == batch["parent_span_id"])
        .expect("the batch's activity");
    assert_eq!(store["name"], "RunActivity:store_products");
    assert_eq!(batch["attributes"]["rows"], 20, "{batch}");
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_log_lines_are_events_of_the_guest_call_span() {
    let (h, receiver) = Receiver::with_harness().await;
    let env = receiver.env();
    let port = free_port();
    let config = h.path("exec.toml");
    std::fs::write(&config, "").unwrap();
    let config = config.display().to_string();
    let _host = grpc_worker(
        &h,
        "exec",
        port,
        Outbound::Loopback,
        &["--host-config", &config, "--no-temporal"],
        &env_of(&env),
    );
    let mut rpc = Rpc::connect(port).await;
    let mut payload = hostile_ok();
    payload["input"] = json!("log-flood:2");
    // A trace id that is not hex names a trace all the same: its hash.
    let mut request = Rpc::request(Some(&token(&["acme"])), &payload);
    request.get_mut().trace_id = "exec-trace-1".into();
    let answer = rpc.client.execute_code(request).await.unwrap().into_inner();
    assert_eq!(answer.trace_id, "exec-trace-1");

    let trace = contextworker_telemetry::trace_id_of("exec-trace-1").to_string();
    let spans = receiver
        .trace(&trace, |spans| {
            !named(spans, "guest submitted-code").is_empty()
        })
        .await;
    let rpc_span = one(&spans, "WorkerService/execute_code");
    let call = one(&spans, "guest submitted-code");
    assert_eq!(call["parent_span_id"], rpc_span["span_id"]);
    let logged: Vec<&Value> = call["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().unwrap().starts_with("mmmm"))
        .collect();
    assert_eq!(logged.len(), 2, "{:?}", call["events"]);
    // Bounded as the host bounds every guest log record, escaped as on stderr.
    for event in logged {
        assert!(event["name"].as_str().unwrap().len() < 64 * 1024, "{event}");
        let fields = event["attributes"]["fields"].as_str().unwrap();
        assert!(fields.contains("field=v\\n"), "{fields}");
        assert_eq!(event["attributes"]["module"], call["attributes"]["module"]);
        // A log line names the module's digest itself: the guest-call span is the trace's
        // alone, so the log never lends its fields to the line.
        assert_eq!(event["attributes"]["digest"], call["attributes"]["digest"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_started_without_trace_context_is_the_trace_of_its_run_id() {
    let (h, receiver) = Receiver::with_harness().await;
    let env = receiver.env();
    let _server = h.serve_supplier("untraced", "acme", yml_feed(3, 0));
    let _worker = h.worker("traced", &[], &env_of(&env));
    // The client exports nothing (as a schedule or another SDK's client would not).
    let out = h.cli(&["harvest", "untraced", "--tenant", "acme", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let started: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = started["run_id"].as_str().unwrap();
    let trace = run_id.replace('-', "");
    let spans = receiver
        .trace(&trace, |spans| {
            !named(spans, "RunActivity:store_products").is_empty()
        })
        .await;
    for name in [
        "RunActivity:resolve_supplier",
        "RunActivity:download_feed",
        "RunActivity:parse_products",
    ] {
        let attempt = one(&spans, name);
        assert_eq!(attempt["attributes"]["run_id"], run_id, "{attempt}");
        assert!(attempt["attributes"].get("trace_id").is_none(), "{attempt}");
    }
}
