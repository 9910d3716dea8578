//! The gRPC WorkerService of a running host: authentication on every RPC, ExecuteCode against
//! hostile code, idempotent StartWorkflow and per-tenant GetTaskStatus, and a Python client
//! generated with grpcio-tools.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::rpc::{
    Rpc, SECRET, SERVING, claims, grpc_host, harness_with_supplier, health_until, in_an_hour,
    signed, token,
};
use common::{Harness, poll_until, python};
use contextworker_grpc::auth::{mint_hmac, mint_unsigned};
use contextworker_grpc::tonic::Code;
use contextworker_test_support::guest;
use serde_json::{Value, json};

fn code(package: &str) -> String {
    STANDARD.encode(std::fs::read(guest(package)).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_bad_tokens_and_accepts_the_right_one() {
    let h = Harness::start().await;
    let (_host, mut rpc) = grpc_host(&h, "auth", &["--no-temporal"]).await;
    assert_eq!(
        health_until(rpc.port, SERVING).await,
        SERVING,
        "no worker to wait for"
    );
    let hostile = code("hostile");
    let all = ["worker:*"];
    let expired = signed(&["acme"], &all, Some(1000.0));
    let forged = mint_hmac("test.v1", b"wrong secret", &claims(&["acme"], &all, None));
    let unsigned = mint_unsigned(&claims(&["acme"], &all, None));
    let good = token(&["acme"]);
    let read_only = signed(&["acme"], &["worker:read"], in_an_hour());
    // Correctly signed, but without an expiry, or valid for a month: refused like any bad token.
    let eternal = signed(&["acme"], &all, None);
    let month = signed(&["acme"], &all, in_an_hour().map(|t| t + 30.0 * 86400.0));
    let unknown_kid = mint_hmac(
        "someone-elses.v9",
        SECRET.as_bytes(),
        &claims(&["acme"], &all, in_an_hour()),
    );
    let payloads = [
        (
            "start",
            json!({"workflow_type": "harvest", "supplier_code": "demo", "tenant_id": "acme"}),
        ),
        ("status", json!({"workflow_id": "x", "tenant_id": "acme"})),
        (
            "exec",
            json!({"code": hostile, "input": "ok", "tenant_id": "acme"}),
        ),
    ];
    for (name, payload) in &payloads {
        let mut messages = std::collections::BTreeSet::new();
        for bad in [
            None,
            Some("not-a-token"),
            Some(expired.as_str()),
            Some(forged.as_str()),
            Some(unsigned.as_str()),
            Some(eternal.as_str()),
            Some(month.as_str()),
            Some(unknown_kid.as_str()),
        ] {
            let status = rpc.status_of(name, bad, payload).await;
            assert_eq!(status.code(), Code::Unauthenticated, "{name} with {bad:?}");
            messages.insert(status.message().to_owned());
        }
        // One answer for every way a token can be wrong: an unauthenticated caller cannot
        // tell a known key id from an unknown one, or a near miss from garbage.
        assert_eq!(messages.len(), 1, "{messages:?}");
        // A valid token for another tenant: answered, but refused.
        let mut other = payload.clone();
        other["tenant_id"] = json!("other-tenant");
        let v = rpc.answer(name, &good, &other).await;
        assert_eq!(v["error_type"], "permission_denied", "{name}: {v}");
    }
    // The right token passes: ExecuteCode runs, the Temporal RPCs say Temporal is off here.
    let v = rpc.answer("exec", &good, &payloads[2].1).await;
    assert_eq!(v["result"], "ok", "{v}");
    let v = rpc.answer("start", &good, &payloads[0].1).await;
    assert_eq!(v["error_type"], "unavailable", "{v}");
    // A token without worker:execute cannot run code.
    let v = rpc.answer("exec", &read_only, &payloads[2].1).await;
    assert_eq!(v["error_type"], "permission_denied", "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_code_contains_hostile_code_and_keeps_serving() {
    let h = Harness::start().await;
    let (_host, mut rpc) = grpc_host(&h, "exec", &["--no-temporal"]).await;
    let t = token(&["acme"]);
    let hostile = code("hostile");
    let run = |input: &str, extra: Value| {
        let mut p = json!({"code": hostile, "input": input, "timeout_ms": 500});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        p
    };
    let cases = [
        (run("loop", json!({})), "timeout"),
        (
            run("alloc", json!({"limits": {"memory_mb": 16}})),
            "out_of_memory",
        ),
        (run("huge-output:4", json!({})), "output_too_large"),
        // A 16 MiB log message and a 900 KiB error: neither is copied whole into the host,
        // and the answer fits the transport.
        (run("log-huge:16", json!({})), "output_too_large"),
        (run("huge-error-kib:900", json!({})), "invalid_input"),
        // 32 MiB of error message: refused while lifted, and still a typed answer.
        (run("huge-error-kib:32768", json!({})), "output_too_large"),
        (run("recurse", json!({})), "stack_overflow"),
        (
            json!({"code": STANDARD.encode(b"\0asm garbage bytes"), "input": "ok"}),
            "invalid_component",
        ),
        (
            json!({"code": STANDARD.encode(std::fs::read("/bin/true").unwrap()), "input": "ok"}),
            "precompiled_refused",
        ),
        (
            json!({"code": code("simple-tsv"), "input": "ok"}),
            "wrong_world",
        ),
        // externref leads into wasmtime's GC heap, where 48.0.8 still has aborts: refused
        // before compiling.
        (
            json!({"code": STANDARD.encode(wat::parse_str("(component (core module (table 1 externref)))").unwrap()), "input": "ok"}),
            "feature_refused",
        ),
        (
            json!({"code": hostile, "language": "cobol"}),
            "unsupported_language",
        ),
    ];
    for (payload, expected) in &cases {
        let v = rpc.answer("exec", &t, payload).await;
        assert_eq!(v["error_type"], *expected, "{v}");
        // And the server keeps serving after each.
        let ok = rpc.answer("exec", &t, &run("ok", json!({}))).await;
        assert_eq!(ok["result"], "ok");
    }
    // JavaScript runs in the js module, inside the same limits.
    let js = |source: &str, input: Value| json!({"code": source, "language": "javascript", "input": input, "timeout_ms": 1000});
    let v = rpc
        .answer(
            "exec",
            &t,
            &js(
                "console.log('sum'); input.a + input.b",
                json!({"a": 2, "b": 3}),
            ),
        )
        .await;
    assert_eq!(
        (v["result"].as_str(), v["stdout"].as_str()),
        (Some("5"), Some("sum\n")),
        "{v}"
    );
    let v = rpc
        .answer("exec", &t, &js("while (true) {}", Value::Null))
        .await;
    assert_eq!(v["error_type"], "timeout", "{v}");
    let v = rpc
        .answer("exec", &t, &js("throw new Error('bad input')", Value::Null))
        .await;
    assert_eq!(v["error_type"], "invalid_input", "{v}");
    assert!(v["error"].as_str().unwrap().contains("bad input"), "{v}");

    // Limits can be lowered, never raised: a 10-minute timeout request still stops at the cap.
    let v = rpc
        .answer("exec", &t, &run("busy:100", json!({"timeout_ms": 600_000})))
        .await;
    assert_eq!(v["result"], "done", "{v}");
    assert!(v["receipt"]["code_sha256"].as_str().unwrap().len() == 64);
    // A request over 4 MiB is refused by the transport.
    let big = json!({"code": "A".repeat(4 * 1024 * 1024 + 1)});
    let err = rpc
        .status_or_payload("exec", Some(&t), &big)
        .await
        .err()
        .map(|s| s.code());
    assert!(
        matches!(
            err,
            Some(Code::OutOfRange | Code::ResourceExhausted | Code::InvalidArgument)
        ),
        "{err:?}"
    );

    // Eight calls that would each hold a slot for 5 s, cancelled by their 300 ms gRPC
    // deadline: the guests stop, so the slots are free again at once.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let mut req = Rpc::request(Some(&t), &run("busy:5000", json!({"timeout_ms": 10_000})));
            req.set_timeout(Duration::from_millis(300));
            rpc.spawn_exec(req)
        })
        .collect();
    for task in tasks {
        // tonic reports its own client-side timeout as CANCELLED.
        let outcome = task.await.unwrap();
        assert!(
            matches!(outcome, Err(Code::DeadlineExceeded | Code::Cancelled)),
            "{outcome:?}"
        );
    }
    // All eight slots are free again: eight calls at once (each waits at most 200 ms for a
    // slot) all run, within the time a guest takes to notice its cancellation.
    let freed = std::time::Instant::now();
    loop {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (mut rpc, t, payload) = (rpc.clone(), t.clone(), run("ok", json!({})));
                tokio::spawn(async move { rpc.status_or_payload("exec", Some(&t), &payload).await })
            })
            .collect();
        let mut all_ran = true;
        for task in tasks {
            match task.await.unwrap() {
                Ok(v) => assert_eq!(v["result"], "ok", "{v}"),
                Err(status) => {
                    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                    all_ran = false;
                }
            }
        }
        if all_ran {
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(2),
            "the cancelled calls still hold slots"
        );
    }

    // 100 concurrent calls with a cap of 8: each either runs or is told to come back.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            rpc.spawn_exec(Rpc::request(
                Some(&t),
                &run("busy:300", json!({"timeout_ms": 2000})),
            ))
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Code::ResourceExhausted) => busy += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok + busy, 100);
    assert!(ok >= 8 && busy > 0, "ok {ok}, busy {busy}");
    let v = rpc.answer("exec", &t, &run("ok", json!({}))).await;
    assert_eq!(v["result"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_workflow_is_idempotent_per_request_and_status_is_per_tenant() {
    let (h, _server) = harness_with_supplier("rpcshop").await;
    let (host, mut rpc) = grpc_host(&h, "start", &[]).await;
    assert_eq!(
        health_until(rpc.port, SERVING).await,
        SERVING,
        "SERVING once the worker polls"
    );
    let t = token(&["acme"]);
    let payload =
        json!({"workflow_type": "harvest", "supplier_code": "rpcshop", "request_id": "req-1"});
    let mut ids = std::collections::HashSet::new();
    for v in rpc.call_concurrently(10, "start", &t, &payload).await {
        assert_eq!(v["status"], "started", "{v}");
        ids.insert((
            v["workflow_id"].as_str().unwrap().to_owned(),
            v["run_id"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        ids.len(),
        1,
        "ten concurrent starts of one request: one run ({ids:?})"
    );
    let (workflow_id, run_id) = ids.into_iter().next().unwrap();

    let status = json!({"workflow_id": workflow_id});
    let last = rpc.settled(&t, &workflow_id).await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["run_id"], run_id.as_str());
    assert_eq!(last["result"]["created"], 1, "{last}");
    // The request's trace id reached the activities' log lines.
    let log = host.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("products staged") && l.contains("trace_id=trace-abc ")),
        "{log}"
    );
    // Another tenant's token cannot see it.
    let other = token(&["beta"]);
    let v = rpc.answer("status", &other, &status).await;
    assert_eq!(v["error_type"], "not_found", "{v}");
    // The same request after completion still names the same run.
    let v = rpc.answer("start", &t, &payload).await;
    assert_eq!(
        (v["workflow_id"].as_str(), v["run_id"].as_str()),
        (Some(workflow_id.as_str()), Some(run_id.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_client_generated_from_the_protos_calls_all_three_rpcs() {
    let (h, _server) = harness_with_supplier("pyrpc").await;
    let (_host, rpc) = grpc_host(&h, "py", &[]).await;
    let proto = contextworker_test_support::workspace_root().join("proto");
    let pygen = h.path("pygen");
    let wasm = guest("text-stats");
    let args = [
        proto.to_str().unwrap(),
        &format!("127.0.0.1:{}", rpc.port),
        &token(&["acme"]),
        "pyrpc",
        wasm.to_str().unwrap(),
        pygen.to_str().unwrap(),
    ];
    let v = python("grpc_client.py", &args, String::new);
    assert_eq!(v["start"]["status"], "started", "{v}");
    assert_eq!(v["final"]["status"], "completed", "{v}");
    assert_eq!(v["final"]["result"]["created"], 1.0, "{v}");
    assert_eq!(
        v["exec"]["result"], "{\"lines\":1,\"words\":2,\"bytes\":11}",
        "{v}"
    );
    assert_eq!(v["exec_trace_id"], "py-trace", "{v}");
    assert_eq!(v["js"]["result"], "[2,4,6]", "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn javascript_runs_on_the_js_module_version_that_is_live() {
    let h = Harness::start().await;
    let (_host, mut rpc) = grpc_host(&h, "js-swap", &["--no-temporal"]).await;
    let t = token(&["acme"]);
    let js = json!({"code": "input.a * input.b", "language": "javascript", "input": {"a": 6, "b": 7}, "timeout_ms": 5000});
    let engine = h.path("modules/js/js.wasm");
    let old = std::fs::read(&engine).unwrap();
    let v = rpc.answer("exec", &t, &js).await;
    assert_eq!(v["result"], "42", "{v}");
    let old_hex = contextworker_types::Digest::of(&old).hex();
    assert_eq!(v["receipt"]["code_sha256"], old_hex.as_str());

    // A new version of the engine lands: once the worker has swapped it in, JavaScript calls
    // run on it, and the answers stay right throughout.
    let new = contextworker_test_support::component_variant(&old, 11);
    let new_hex = contextworker_types::Digest::of(&new).hex();
    contextworker_test_support::land(&engine, &new);
    let what = "JavaScript runs on the new engine";
    poll_until(what, Duration::from_secs(180), async || {
        let v = rpc.answer("exec", &t, &js).await;
        assert_eq!(v["result"], "42", "{v}");
        if v["receipt"]["code_sha256"] == new_hex.as_str() {
            return Some(());
        }
        assert_eq!(v["receipt"]["code_sha256"], old_hex.as_str(), "{v}");
        None
    })
    .await;
}
