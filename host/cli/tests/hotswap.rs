//! Hot swap in a running worker process: under load through a real Temporal dev server,
//! pinning across a retry, and the `modules reload | list | rollback | diff` commands.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{
    Harness, QUEUE, Worker, activity_attempts, assert_contains, history, json_of, stderr_of,
    stdout_of, text, yml_feed,
};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::{component_variant, land};
use contextworker_types::Digest;

fn unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The status a worker publishes about its modules.
fn status_of(h: &Harness, worker: &Worker) -> serde_json::Value {
    let path = h
        .path("data/modules/workers")
        .join(format!("{}.json", worker.pid()));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null)
}

fn module_status(status: &serde_json::Value, module: &str) -> serde_json::Value {
    status["modules"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["name"] == module))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

fn active_digest(status: &serde_json::Value, module: &str) -> Option<String> {
    module_status(status, module)["active"]["digest"]
        .as_str()
        .map(str::to_owned)
}

fn event_ms(event: &serde_json::Value) -> u64 {
    let t = event["eventTime"].as_str().expect("eventTime");
    let parsed =
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
    u64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap()
}

fn as_u64(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// For every `parse_products` activity of a workflow: when it started and the digest its
/// result names.
fn parse_activities(address: &str, workflow_id: &str) -> Vec<(u64, String)> {
    let events = history(address, workflow_id);
    let mut scheduled = Vec::new();
    let mut started: HashMap<u64, u64> = HashMap::new();
    let mut digests: HashMap<u64, String> = HashMap::new();
    for e in &events {
        if let Some(a) = e.get("activityTaskScheduledEventAttributes")
            && a["activityType"]["name"] == "parse_products"
        {
            scheduled.push(as_u64(&e["eventId"]));
        }
        if let Some(a) = e.get("activityTaskStartedEventAttributes") {
            started.insert(as_u64(&a["scheduledEventId"]), event_ms(e));
        }
        if let Some(a) = e.get("activityTaskCompletedEventAttributes") {
            let payload = &a["result"]["payloads"][0]["data"];
            let result: serde_json::Value = match payload {
                serde_json::Value::String(b64) => serde_json::from_slice(
                    &base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap(),
                )
                .unwrap(),
                other => other.clone(),
            };
            if let Some(d) = result["module"]["digest"].as_str() {
                digests.insert(as_u64(&a["scheduledEventId"]), d.to_owned());
            }
        }
    }
    scheduled
        .into_iter()
        .map(|id| (started[&id], digests[&id].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_parses_in_flight_see_no_failure_when_their_module_is_swapped() {
    const PARSES: usize = 200;
    let h = Harness::start().await;
    let server = FeedServer::start();
    server.set_body(yml_feed(5_000, 100), None);
    let worker = h.worker("load", &[], &[("WORKER_MAX_CONCURRENT", "50")]);
    let component = h.path("modules/yml/yml.wasm");
    let old = std::fs::read(&component).unwrap();
    let new = component_variant(&old, 1);
    let (old_digest, new_digest) = (Digest::of(&old).to_string(), Digest::of(&new).to_string());

    let script = contextworker_test_support::workspace_root().join("tests/python/swap_load.py");
    let driver = std::process::Command::new("python3")
        .arg(script)
        .args([&h.address, QUEUE, &server.url(), &PARSES.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Land the new version while the parses run: after the first few have finished.
    worker.wait_until("ten parses have finished", Duration::from_secs(180), || {
        worker.log_text().matches("feed parsed").count() >= 10
    });
    let landed_ms = unix_ms();
    land(&component, &new);
    let out = driver.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "driver failed:\n{}\nworker log:\n{}",
        text(&out.stderr),
        worker.log_text()
    );
    let v = json_of(&out);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), PARSES);
    let failed: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r.get("error").is_some())
        .collect();
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
    assert!(results.iter().all(|r| r["parsed"] == 5_000), "{v}");

    let status = status_of(&h, &worker);
    assert_eq!(
        active_digest(&status, "yml").as_deref(),
        Some(new_digest.as_str()),
        "{status:#}"
    );
    let live_ms = module_status(&status, "yml")["since_ms"].as_u64().unwrap();
    let activities = parse_activities(&h.address, v["workflow_id"].as_str().unwrap());
    assert_eq!(activities.len(), PARSES);
    let (mut on_old, mut on_new) = (0, 0);
    for (started_ms, digest) in &activities {
        assert!(
            digest == &old_digest || digest == &new_digest,
            "unknown digest {digest}"
        );
        if *started_ms < landed_ms {
            assert_eq!(digest, &old_digest, "started before the file landed");
        }
        // Event times come from the server; allow for the poll-to-dispatch gap.
        if *started_ms > live_ms + 250 {
            assert_eq!(
                digest,
                &new_digest,
                "started {} ms after the swap",
                started_ms - live_ms
            );
        }
        if digest == &old_digest {
            on_old += 1;
        } else {
            on_new += 1;
        }
    }
    eprintln!(
        "swap under load: file landed → live in {} ms; {on_old} parses on the old version, {on_new} on the new; report: {}",
        live_ms.saturating_sub(landed_ms),
        status["last_reload"]
    );
    assert!(on_old > 0 && on_new > 0, "old {on_old}, new {on_new}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_parse_keeps_the_digest_its_harvest_pinned_across_a_swap() {
    const OFFERS: usize = 100_000;
    let h = Harness::start().await;
    let _server = h.serve_supplier("pinned", "acme", yml_feed(OFFERS, 1));
    let component = h.path("modules/yml/yml.wasm");
    let old = std::fs::read(&component).unwrap();
    let new = component_variant(&old, 2);

    let mut first = h.worker("pin-first", &["--shutdown-grace-secs", "0"], &[]);
    let id = format!("pin-{}", unix_ms());
    let out = h.cli(&[
        "harvest",
        "pinned",
        "--tenant",
        "acme",
        "--workflow-id",
        &id,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The parse writes its products to a scratch file: once one exists, it is running.
    first.wait_until(
        "the parse has a scratch file",
        Duration::from_secs(120),
        || std::fs::read_dir(h.path("data/tmp")).map_or(0, Iterator::count) > 0,
    );
    first
        .signal_and_wait("TERM", Duration::from_secs(15))
        .expect("the first worker stops");
    // The new version lands while no worker runs; the next worker starts with it active.
    land(&component, &new);
    let second = h.worker("pin-second", &[], &[]);
    assert_eq!(
        active_digest(&status_of(&h, &second), "yml"),
        Some(Digest::of(&new).to_string())
    );
    let out = h.cli(&["workflow", "status", &id, "--wait", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["status"], "completed", "{v:#}\n{}", second.log_text());
    assert_eq!(v["result"]["created"], OFFERS as u64);
    assert_eq!(
        v["result"]["module"]["digest"],
        Digest::of(&old).to_string(),
        "the retried parse used the pinned version"
    );
    let attempts = activity_attempts(&h.address, &id);
    assert!(attempts.contains(&2), "the parse was retried: {attempts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_list_rollback_and_diff_from_the_command_line() {
    let h = Harness::start().await;
    let worker = h.worker("cli", &["--no-temporal", "--no-watch"], &[]);
    let component = h.path("modules/yml/yml.wasm");
    let old = std::fs::read(&component).unwrap();
    let new = component_variant(&old, 3);
    let (old_d, new_d) = (Digest::of(&old), Digest::of(&new));

    // Nothing reloads by itself without the watcher: `modules reload` does it.
    land(&component, &new);
    let stdout = stdout_of(&h.cli(&["modules", "reload"]), 0);
    let (old_s, new_s, pid) = (old_d.short(), new_d.short(), worker.pid());
    assert_contains(
        &stdout,
        &[&format!(
            "worker {pid}: yml 0.1.0 ({old_s}) → 0.1.0 ({new_s}) live"
        )],
    );

    let out = h.cli(&["modules", "list"]);
    let stdout = text(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("yml "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_contains(row, &[&new_s, &format!("0.1.0 {old_s}")]);
    assert_contains(&stdout, &[&format!("worker {pid}")]);
    let json = json_of(&h.cli(&["modules", "list", "--json"]));
    let yml = json["workers"][0]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "yml")
        .unwrap()
        .clone();
    assert_eq!(yml["digest"], new_d.to_string());
    assert_eq!(yml["previous"][0]["digest"], old_d.to_string());

    // A broken candidate is refused, named, and the worker keeps the good version.
    land(&component, b"not a component");
    let stdout = stdout_of(&h.cli(&["modules", "reload"]), 1);
    assert_contains(&stdout, &["refused:", "yml.wasm"]);
    assert_eq!(
        active_digest(&status_of(&h, &worker), "yml"),
        Some(new_d.to_string())
    );

    // Rollback goes to the version active before the live one, in the running worker and on
    // disk: not to the live one, although the folder holds the refused file.
    let stdout = stdout_of(&h.cli(&["modules", "rollback", "yml"]), 0);
    assert_contains(
        &stdout,
        &[
            &format!("yml: {new_s} → 0.1.0 ({old_s})"),
            &format!("worker {pid}: yml 0.1.0 ({old_s}) live"),
        ],
    );
    assert_eq!(std::fs::read(&component).unwrap(), old);
    assert_eq!(
        active_digest(&status_of(&h, &worker), "yml"),
        Some(old_d.to_string())
    );
    let stderr = stderr_of(
        &h.cli(&["modules", "rollback", "yml", "--to", "ffffffff"]),
        2,
    );
    assert_contains(&stderr, &["not kept", &old_s]);

    // Diff: the same code is identical (exit 0); a configuration that changes names shows
    // each changed field with both values (exit 1).
    let feed = h.path("names.xml");
    std::fs::write(
        &feed,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog><shop><currencies><currency id=\"UAH\" rate=\"1\"/></currencies>\
         <categories><category id=\"1\">Tents</category></categories><offers>\
         <offer id=\"a\"><name_ua>Намет</name_ua><name_ru>Палатка</name_ru><price>10</price><currencyId>UAH</currencyId><categoryId>1</categoryId></offer>\
         <offer id=\"b\"><name>Tent B</name><price>20</price><currencyId>UAH</currencyId><categoryId>1</categoryId></offer>\
         </offers></shop></yml_catalog>\n",
    )
    .unwrap();
    let candidate = h.path("candidate.wasm");
    std::fs::write(&candidate, &new).unwrap();
    let (c, f) = (candidate.to_str().unwrap(), feed.to_str().unwrap());
    let stdout = stdout_of(&h.cli(&["modules", "diff", "yml", c, f]), 0);
    assert_contains(&stdout, &["added 0, removed 0, changed 0, unchanged 2"]);
    let ru = [
        "modules",
        "diff",
        "yml",
        c,
        f,
        "--candidate-config",
        "language=ru",
    ];
    let stdout = stdout_of(&h.cli(&ru), 1);
    assert_contains(
        &stdout,
        &[
            "added 0, removed 0, changed 1, unchanged 1",
            "changed fields: name (1)",
            "~ a",
            "    name: \"Намет\" → \"Палатка\"",
        ],
    );
    let mut with_json = ru.to_vec();
    with_json.push("--json");
    let json = json_of(&h.cli(&with_json));
    assert_eq!(
        json["diff"]["changed_samples"][0]["fields"][0]["after"],
        "Палатка"
    );
    assert_eq!(json["candidate"]["digest"], new_d.short());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_fails_to_start_leaves_no_status_file_and_stale_ones_are_ignored() {
    let h = Harness::start().await;
    let workers = h.path("data/modules/workers");
    // A Temporal address nobody answers on: the worker loads its modules, then cannot connect.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
        .args(["--modules-dir", h.path("modules").to_str().unwrap()])
        .args(["--data-dir", h.path("data").to_str().unwrap()])
        .args([
            "--temporal-address",
            &format!("127.0.0.1:{}", common::free_port()),
        ])
        .arg("--no-grpc")
        .output()
        .unwrap();
    stderr_of(&out, 2);
    let left: Vec<_> = std::fs::read_dir(&workers)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "status files left behind: {left:?}");
    // A file naming a live pid that started at another time (a reused pid) is not a worker:
    // `modules reload` does not signal it, and the file is removed.
    std::fs::create_dir_all(&workers).unwrap();
    let me = std::process::id();
    let stale = workers.join(format!("{me}.json"));
    let status = contextworker_registry::LiveStatus {
        pid: me,
        process_start: Some(1),
        ..contextworker_registry::LiveStatus::default()
    };
    std::fs::write(&stale, serde_json::to_vec(&status).unwrap()).unwrap();
    let stderr = stderr_of(&h.cli(&["modules", "reload", "--timeout-secs", "5"]), 2);
    assert_contains(&stderr, &["no worker is running"]);
    assert!(!stale.exists(), "the stale file was kept");
}
