//! The host from an attacker's side: a tenant's token trying to start, touch or read another
//! tenant's work, a Temporal client trying to read the worker's environment, and URLs that
//! point inside the host's network. Each test runs the real binary against a real Temporal dev
//! server on loopback.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::rpc::{
    Outbound, Rpc, SECRET, SECRET_ENV, grpc_host, grpc_worker, in_an_hour, signed, token,
};
use common::{Harness, QUEUE, assert_success, free_port, json_of};
use contextworker_staging::{FeedKey, Staging};
use contextworker_test_support::feed_server::FeedServer;
use serde_json::{Value, json};

fn yml(ids: &[&str]) -> String {
    let mut s = String::from("<yml_catalog><shop><offers>");
    for id in ids {
        s.push_str(&format!(
            "<offer id=\"{id}\"><name>N {id}</name><price>1</price><currencyId>UAH</currencyId></offer>"
        ));
    }
    s.push_str("</offers></shop></yml_catalog>");
    s
}

fn admin_token() -> String {
    let permissions = ["worker:execute", "worker:read", "worker:admin"];
    signed(&["acme"], &permissions, in_an_hour())
}

fn sqlite(h: &Harness) -> String {
    Staging::sqlite_url(&h.path("data/staging.db"))
}

/// The rows staged for `supplier` of `tenant` in the database at `url`.
async fn rows(url: &str, tenant: &str, supplier: &str) -> Vec<contextworker_staging::StagedRow> {
    let staging = Staging::open(url).await.unwrap();
    staging
        .rows(&FeedKey {
            tenant: tenant.into(),
            supplier: supplier.into(),
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_cannot_start_touch_or_read_another_tenants_work() {
    let h = Harness::start().await;
    let beta_feed = h.serve_supplier("bshop", "beta", yml(&["b1", "b2", "b3"]));
    let other_feed = FeedServer::start();
    other_feed.set_body(yml(&["x1"]), None);
    let (_host, mut rpc) = grpc_host(&h, "tenants", &[]).await;
    // Tenant beta's catalog, harvested by its operator.
    let out = h.cli(&["harvest", "bshop", "--tenant", "beta", "--wait", "--json"]);
    assert!(out.status.success(), "{}", json_of(&out));
    let before = rows(&sqlite(&h), "beta", "bshop").await;
    assert_eq!(before.len(), 3);

    let acme = token(&["acme"]);
    // 1. Arguments naming tenant beta's catalog are not the caller's to write: the server
    //    builds them. Without a URL there is nothing to import; naming beta is refused.
    for (payload, refusal) in [
        (
            json!({"workflow_type": "HarvesterImportWorkflow",
                "args": [{"url": beta_feed.url(), "tenant_id": "beta", "supplier_code": "bshop"}]}),
            "validation",
        ),
        (
            json!({"workflow_type": "HarvesterImportWorkflow", "url": other_feed.url(),
                "tenant_id": "beta", "supplier_code": "bshop"}),
            "permission_denied",
        ),
    ] {
        let v = rpc.answer("start", &acme, &payload).await;
        assert_eq!(v["error_type"], refusal, "{payload}: {v}");
    }
    // The same import without naming beta runs, for acme, in acme's own import catalog.
    let v = rpc
        .answer(
            "start",
            &acme,
            &json!({"workflow_type": "HarvesterImportWorkflow", "url": other_feed.url(),
                "supplier_code": "bshop"}),
        )
        .await;
    assert_eq!(v["status"], "started", "{v}");
    let done = rpc.settled(&acme, v["workflow_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["tenant"], "acme");
    assert!(
        done["result"]["supplier"]
            .as_str()
            .unwrap()
            .starts_with("import-"),
        "{done}"
    );

    // 2. Harvesting beta's supplier with acme's token fails before anything is fetched, and
    //    the answer says no more than it would for a code that does not exist.
    let fetched_before = beta_feed.requests();
    let v = rpc
        .answer(
            "start",
            &acme,
            &json!({"workflow_type": "harvest", "supplier_code": "bshop"}),
        )
        .await;
    assert_eq!(v["status"], "started", "{v}");
    let failed = rpc.settled(&acme, v["workflow_id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error_type"], "UnknownSupplier", "{failed}");
    let text = failed.to_string();
    assert!(
        !text.contains(&beta_feed.base_url()) && !text.contains("beta"),
        "the answer leaks beta's supplier: {text}"
    );
    assert_eq!(
        beta_feed.requests(),
        fetched_before,
        "beta's feed was fetched"
    );

    // 3. Other workflow types and other queues are closed to a tenant's token.
    for payload in [
        json!({"workflow_type": "EvilWorkflow", "args": ["bshop", "beta"]}),
        json!({"workflow_type": "harvest", "supplier_code": "bshop", "task_queue": "elsewhere"}),
    ] {
        let v = rpc.answer("start", &acme, &payload).await;
        assert_eq!(v["error_type"], "permission_denied", "{payload}: {v}");
    }

    // Beta's catalog is exactly as its own harvest left it.
    let after = rows(&sqlite(&h), "beta", "bshop").await;
    assert_eq!(after, before);
    assert!(after.iter().all(|r| r.missing_since_run.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_scoped_to_the_tenant_recorded_at_start_and_ids_are_the_servers() {
    let h = Harness::start().await;
    let feed = h.serve_supplier("bshop", "beta", yml(&["a"]));
    let (_host, mut rpc) = grpc_host(&h, "status", &[]).await;
    let (acme, beta, admin) = (token(&["acme"]), token(&["beta"]), admin_token());

    // A workflow started by another Temporal client, with no tenant recorded: nobody's but
    // an admin's, even with the id the original worker would have used.
    let start = "workflow start --type HarvestWorkflow --workflow-id harvest-nobody-beta";
    let mut args: Vec<&str> = start.split(' ').collect();
    args.extend(["--task-queue", QUEUE, "--input", "\"nobody\""]);
    common::temporal(&h.address, &args);
    let memo_less = json!({"workflow_id": "harvest-nobody-beta"});
    for t in [&acme, &beta] {
        let v = rpc.answer("status", t, &memo_less).await;
        assert_eq!(v["error_type"], "not_found", "{v}");
    }
    // The admin reads it. Unstarted suppliers fail fast, so the answer may already be the
    // workflow's own failure (its `error_type` then names that failure, not a refusal).
    let v = rpc.answer("status", &admin, &memo_less).await;
    assert_eq!(v["workflow_id"], "harvest-nobody-beta", "{v}");
    assert!(
        matches!(v["status"].as_str(), Some("running" | "failed")),
        "{v}"
    );
    assert!(
        !matches!(
            v["error_type"].as_str(),
            Some("not_found" | "permission_denied")
        ),
        "the admin was refused: {v}"
    );

    // Started by the CLI: the tenant is recorded, so beta reads it and acme does not.
    let out = h.cli(&["harvest", "bshop", "--tenant", "beta", "--wait", "--json"]);
    let v = json_of(&out);
    let id = v["workflow_id"].as_str().unwrap().to_owned();
    assert_eq!(id, "harvest:beta:bshop");
    let by_beta = rpc
        .answer("status", &beta, &json!({ "workflow_id": id }))
        .await;
    assert_eq!(by_beta["status"], "completed", "{by_beta}");
    let by_acme = rpc
        .answer("status", &acme, &json!({ "workflow_id": id }))
        .await;
    let nowhere = rpc
        .answer(
            "status",
            &acme,
            &json!({ "workflow_id": "harvest:beta:none" }),
        )
        .await;
    // "Not yours" and "does not exist" are the same answer.
    assert_eq!(by_acme["error_type"], "not_found");
    assert_eq!(
        by_acme["error"].as_str().unwrap().replace(&id, "ID"),
        nowhere["error"]
            .as_str()
            .unwrap()
            .replace("harvest:beta:none", "ID")
    );

    // Ids come from the tenant and the request id, never from the envelope: the same
    // request id from two tenants gives two runs, and repeating it gives the same run.
    let import = json!({"workflow_type": "import", "url": feed.url(), "request_id": "r-1"});
    let mut request = Rpc::request(Some(&acme), &import);
    request.get_mut().unit_id = "harvest:beta:bshop".into();
    let a1 = rpc
        .client
        .start_workflow(request)
        .await
        .unwrap()
        .into_inner();
    let a1 = contextworker_grpc::unit::struct_to_json(a1.payload.as_ref().unwrap());
    let b1 = rpc.answer("start", &beta, &import).await;
    assert!(
        a1["workflow_id"]
            .as_str()
            .unwrap()
            .starts_with("harvest:acme:import-"),
        "{a1:?}"
    );
    assert!(
        b1["workflow_id"]
            .as_str()
            .unwrap()
            .starts_with("harvest:beta:import-"),
        "{b1}"
    );
    let a2 = rpc.answer("start", &acme, &import).await;
    assert_eq!(a2["run_id"], a1["run_id"], "{a2}");
    assert_ne!(b1["run_id"], a1["run_id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporal_client_cannot_make_the_worker_send_its_own_environment() {
    let h = Harness::start().await;
    let server = FeedServer::start();
    server.set_body(yml(&["a"]), None);
    let port = free_port();
    let database_url = Staging::sqlite_url(&h.path("data/exfil.db"));
    let env = [
        ("DATABASE_URL", database_url.as_str()),
        ("SUPPLIER_ALLOWED_KEY", "allowed-value"),
    ];
    let _host = grpc_worker(&h, "exfil", port, Outbound::Loopback, &[], &env);
    let root = contextworker_test_support::workspace_root();
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/python/exfil.py"))
        .args([
            &h.address,
            QUEUE,
            &server.url(),
            "DATABASE_URL",
            SECRET_ENV,
            "HOME",
            "TEMPORAL_ADDRESS",
            "SUPPLIER_ALLOWED_KEY",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for r in &results {
        if r["var"] == "SUPPLIER_ALLOWED_KEY" {
            assert_eq!(r["fetched"], true, "{r}");
        } else {
            assert_eq!(r["type"], "CredentialNotAllowed", "{r}");
            assert_eq!(r["non_retryable"], true, "{r}");
        }
    }
    // Only the allowed secret ever reached the attacker's server.
    let headers: Vec<(String, String)> = server.seen().into_iter().flat_map(|(_, h)| h).collect();
    let mut sent: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "x-leak" || n == "authorization")
        .map(|(_, v)| v.as_str())
        .collect();
    sent.sort_unstable();
    assert_eq!(
        sent,
        ["Bearer allowed-value", "allowed-value"],
        "{headers:?}"
    );
    assert!(
        !headers
            .iter()
            .any(|(_, v)| v.contains(SECRET) || v.contains("exfil.db")),
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_refuses_feeds_inside_the_hosts_network() {
    let h = Harness::start().await;
    let server = h.serve_supplier("inside", "acme", yml(&["a"]));
    let port = free_port();
    // The production default: no allow list, so loopback is as closed as the rest.
    let _host = grpc_worker(&h, "ssrf", port, Outbound::Strict, &[], &[]);
    let mut rpc = Rpc::connect(port).await;
    let acme = token(&["acme"]);
    let port_of_feed = server.base_url().rsplit(':').next().unwrap().to_owned();
    let targets = [
        server.url(),
        format!("http://localhost:{port_of_feed}/feed"),
        format!("http://2130706433:{port_of_feed}/feed"),
        format!("http://[::ffff:127.0.0.1]:{port_of_feed}/feed"),
        "http://169.254.169.254/latest/meta-data/iam/".to_owned(),
    ];
    for url in &targets {
        let v = rpc
            .answer(
                "start",
                &acme,
                &json!({"workflow_type": "import", "url": url, "module": "yml"}),
            )
            .await;
        assert_eq!(v["status"], "started", "{url}: {v}");
        let done = rpc.settled(&acme, v["workflow_id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{url}: {done}");
        assert_eq!(done["error_type"], "FeedUrlRefused", "{url}: {done}");
        assert!(
            done["error"]
                .as_str()
                .unwrap()
                .contains("refused by the outbound policy"),
            "{done}"
        );
    }
    // A supplier file pointing inside is refused the same way, in one attempt.
    let out = h.cli(&["harvest", "inside", "--tenant", "acme", "--wait", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["failure"]["type_name"], "FeedUrlRefused", "{v:#}");
    assert_eq!(v["failure"]["non_retryable"], true);
    assert_eq!(server.requests(), 0, "a refused fetch never connects");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_product_postgres_cannot_hold_fails_the_harvest_once_and_stages_nothing() {
    let h = Harness::start().await;
    let server = FeedServer::start();
    server.set_body(
        b"<yml_catalog><shop><offers>\
          <offer id=\"fine\"><name>ok</name><price>1</price><currencyId>UAH</currencyId></offer>\
          <offer id=\"broken\"><name>bad\0name</name><price>1</price><currencyId>UAH</currencyId></offer>\
          </offers></shop></yml_catalog>"
            .to_vec(),
        None,
    );
    let tenant = common::unique("nul");
    h.write_supplier("nulshop", &tenant, &server.url());
    let postgres = common::postgres_url();
    let _worker = h.worker("nul", &[], &[("DATABASE_URL", &postgres)]);
    let out = h.cli(&[
        "harvest", "nulshop", "--tenant", &tenant, "--wait", "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["failure"]["type_name"], "InvalidProducts", "{v:#}");
    assert_eq!(v["failure"]["non_retryable"], true);
    let message = v["failure"]["message"].as_str().unwrap();
    assert!(
        message.contains("offer \"broken\": name contains a NUL character"),
        "{message}"
    );
    let attempts = common::activity_attempts(&h.address, v["workflow_id"].as_str().unwrap());
    assert_eq!(
        attempts,
        [1, 1, 1, 1],
        "one attempt per step, the parse failing"
    );
    let rows = rows(&postgres, &tenant, "nulshop").await;
    assert!(rows.is_empty(), "nothing staged: {rows:?}");
}
