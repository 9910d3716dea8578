//! Hosts of one fleet as separate processes, each with a data directory of its own (as on
//! machines of their own), sharing one Temporal dev server, one PostgreSQL database (staging and
//! releases) and one SeaweedFS bucket (blobs and module versions): harvests spread over the
//! hosts, a host killed with SIGKILL in the middle of a parse, a release published while
//! harvests run, and the object store away for a while and then for good.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Harness, Worker, describe, json_of, steps_run, unique, yml_feed};
use contextworker_staging::{FeedKey, Staging};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::object_server::ObjectServer;
use contextworker_test_support::postgres::TestDatabase;
use contextworker_types::Digest;

/// One Temporal, one database, one bucket, and the settings every host of the fleet shares.
struct Rig {
    h: Harness,
    s3: ObjectServer,
    database: TestDatabase,
    env: Vec<(&'static str, String)>,
}

impl Rig {
    async fn start(label: &str) -> Self {
        let h = Harness::start().await;
        let s3 = ObjectServer::start(&h.path("s3"), "fleet");
        let database = TestDatabase::create(label);
        let mut env = s3.env();
        env.push(("CONTEXTWORKER_BLOB_STORE", s3.url("prod")));
        env.push(("DATABASE_URL", database.url()));
        Self {
            h,
            s3,
            database,
            env,
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// `serve --fleet` as host `label`, not yet waited for.
    fn launch(&self, label: &str) -> Worker {
        self.launch_with(label, &[])
    }

    fn launch_with(&self, label: &str, extra: &[&str]) -> Worker {
        let args: Vec<&str> = ["--fleet"].iter().chain(extra).copied().collect();
        self.h.launch_host(label, &args, &self.env())
    }

    /// A command of the fleet's (publish, rollback, list) from an operator's machine.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        self.h.cli_with(args, &self.env())
    }

    /// `modules list --fleet --json`.
    fn fleet(&self) -> serde_json::Value {
        let out = self.cli(&["modules", "list", "--fleet", "--json"]);
        assert!(out.status.success(), "{}", both(&out));
        json_of(&out)
    }

    /// The yml digest each host reports serving, by identity.
    fn serving(&self) -> Vec<(String, String)> {
        self.fleet()["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .map(|h| {
                (
                    h["identity"].as_str().unwrap_or("").to_owned(),
                    h["modules"]["yml"]["digest"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            })
            .collect()
    }

    /// Start a harvest without waiting; its workflow id.
    fn start_harvest(&self, supplier: &str, tenant: &str) -> String {
        let id = unique(supplier);
        let out = self.h.cli(&[
            "harvest",
            supplier,
            "--tenant",
            tenant,
            "--workflow-id",
            &id,
        ]);
        assert!(out.status.success(), "{}", both(&out));
        id
    }

    /// Wait for a workflow's result.
    fn result(&self, id: &str) -> serde_json::Value {
        let out = self.h.cli(&["workflow", "status", id, "--wait", "--json"]);
        let v = json_of(&out);
        assert_eq!(v["status"], "completed", "{id}: {v:#}");
        v["result"].clone()
    }

    /// The component in the modules directory with a custom section appended: a new digest, the
    /// same behaviour, landed in the operator's modules directory for `modules publish`.
    fn build_variant(&self, seed: u32) -> Digest {
        let path = self.h.path("modules/yml/yml.wasm");
        let variant =
            contextworker_test_support::component_variant(&std::fs::read(&path).unwrap(), seed);
        contextworker_test_support::land(&path, &variant);
        Digest::of(&variant)
    }

    fn original(&self) -> Digest {
        Digest::of(&std::fs::read(self.h.path("modules/yml/yml.wasm")).unwrap())
    }

    /// Products staged for a tenant's supplier, and how many distinct SKUs among them.
    async fn staged(&self, tenant: &str, supplier: &str) -> (usize, usize) {
        let staging = Staging::open(&self.database.url()).await.unwrap();
        let rows = staging
            .rows(&FeedKey {
                tenant: tenant.to_owned(),
                supplier: supplier.to_owned(),
            })
            .await
            .unwrap();
        let distinct: BTreeSet<&str> = rows.iter().map(|r| r.sku.as_str()).collect();
        (rows.len(), distinct.len())
    }
}

/// The pending activity `name` of a workflow, as `temporal workflow describe` shows it.
fn pending(address: &str, id: &str, name: &str) -> Option<serde_json::Value> {
    describe(address, id)["pendingActivities"]
        .as_array()?
        .iter()
        .find(|a| a["activityType"]["name"] == name)
        .cloned()
}

/// The host running activity `name` of a workflow, once one has started it.
fn running_on(address: &str, id: &str, name: &str) -> Option<String> {
    pending(address, id, name)
        .filter(|a| a["state"] == "PENDING_ACTIVITY_STATE_STARTED")
        .and_then(|a| a["lastWorkerIdentity"].as_str().map(str::to_owned))
}

/// Whether step `name` of a workflow has run to its end (Temporal records a step's start in
/// the history when the step ends).
fn has_run(address: &str, id: &str, name: &str) -> bool {
    steps_run(address, id)
        .iter()
        .any(|(step, _, _)| step == name)
}

/// A command's stdout and stderr.
fn both(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn errors_in(worker: &Worker) -> Vec<String> {
    worker
        .log_text()
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.starts_with("error:"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_hosts_share_harvests_and_follow_one_release() {
    const HARVESTS: usize = 8;
    const OFFERS: usize = 20_000;
    let rig = Rig::start("fleet_three").await;
    let original = rig.original();

    // Three hosts started at the same moment against an empty database and bucket: one of them
    // creates the tables and makes the first release, the others take it, nobody errs. Two
    // activity slots each: a host with a free slot runs the steps of the harvests it
    // orchestrates itself (Temporal's eager dispatch), so only full hosts hand steps to others,
    // which is what this test is about.
    let hosts: Vec<Worker> = ["host-a", "host-b", "host-c"]
        .iter()
        .map(|label| rig.launch_with(label, &["--max-concurrent", "2"]))
        .collect();
    for host in &hosts {
        host.ready();
    }
    let fleet = rig.fleet();
    let yml = fleet["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|history| history[0]["module"] == "yml")
        .expect("yml released")
        .clone();
    assert_eq!(
        yml.as_array().unwrap().len(),
        1,
        "one first release: {yml:#}"
    );
    assert_eq!(yml[0]["action"], "first");
    assert_eq!(yml[0]["digest"], original.to_string());
    let serving = rig.serving();
    assert_eq!(serving.len(), 3, "{fleet:#}");
    assert!(
        serving.iter().all(|(_, d)| *d == original.to_string()),
        "{serving:?}"
    );
    for host in &hosts {
        assert_eq!(errors_in(host), Vec::<String>::new(), "{}", host.log_text());
    }

    // Eight harvests at once, of distinct generated feeds.
    let servers: Vec<FeedServer> = (0..HARVESTS)
        .map(|i| {
            let server = FeedServer::start();
            server.set_body(yml_feed(OFFERS, 1000 * u32::try_from(i).unwrap()), None);
            server
        })
        .collect();
    let tenant = unique("fleet");
    let mut runs = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        let supplier = format!("shop{i}");
        rig.h.write_supplier(&supplier, &tenant, &server.url());
        runs.push((supplier.clone(), rig.start_harvest(&supplier, &tenant)));
    }

    // Once every harvest has pinned its parser, a new version goes out to the fleet: the
    // harvests keep the version they pinned, on whichever host their later steps run.
    for (_, id) in &runs {
        common::poll_until(
            "every harvest pinned its parser",
            Duration::from_secs(120),
            async || has_run(&rig.h.address, id, "pin_module").then_some(()),
        )
        .await;
    }
    let v2 = rig.build_variant(7);
    let published = rig.cli(&["modules", "publish", "yml", "--timeout-secs", "60"]);
    let out = both(&published);
    assert!(published.status.success(), "{out}");
    assert_eq!(out.matches(": live").count(), 3, "{out}");
    let settled_ms: u64 = out
        .split(" host(s) settled in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no settle time in: {out}"));
    // Each host downloads, compiles and validates the version while six parses share the two
    // cores with it, so the figure is reported (BENCHMARKS.md) rather than held to the 2 s goal
    // here; that hosts hear of a release at once is host/fleet/tests/releases.rs's test.
    eprintln!("release settled on 3 hosts in {settled_ms} ms, with {HARVESTS} harvests running");
    assert!(settled_ms < 30_000, "{out}");
    assert!(
        rig.serving().iter().all(|(_, d)| *d == v2.to_string()),
        "{:?}",
        rig.serving()
    );

    let mut hosts_per_harvest = Vec::new();
    for (supplier, id) in &runs {
        let result = rig.result(id);
        assert_eq!(result["created"], OFFERS as u64, "{result:#}");
        assert_eq!(result["parsed"], OFFERS as u64, "{result:#}");
        assert_eq!(
            result["module"]["digest"],
            original.to_string(),
            "{id} pinned the version live when it started: {result:#}"
        );
        assert_eq!(rig.staged(&tenant, supplier).await, (OFFERS, OFFERS));
        let identities: BTreeSet<String> = steps_run(&rig.h.address, id)
            .into_iter()
            .map(|(_, _, who)| who)
            .collect();
        hosts_per_harvest.push(identities.len());
    }
    eprintln!("hosts per harvest: {hosts_per_harvest:?}");
    assert!(
        hosts_per_harvest.iter().any(|n| *n >= 2),
        "no harvest had steps on two hosts: {hosts_per_harvest:?}"
    );

    // Rollback: the fleet goes back to the version live before.
    let back = rig.cli(&[
        "modules",
        "rollback",
        "yml",
        "--fleet",
        "--timeout-secs",
        "60",
    ]);
    let out = both(&back);
    assert!(back.status.success(), "{out}");
    assert_eq!(out.matches(": live").count(), 3, "{out}");
    assert!(
        rig.serving()
            .iter()
            .all(|(_, d)| *d == original.to_string()),
        "{:?}",
        rig.serving()
    );

    // A host that stops cleanly leaves the list; a publish does not wait for it.
    let mut hosts = hosts;
    let mut gone = hosts.pop().unwrap();
    assert!(
        gone.signal_and_wait("TERM", Duration::from_secs(30))
            .is_some()
    );
    let serving = rig.serving();
    assert_eq!(serving.len(), 2, "{serving:?}");
    assert!(
        !serving.iter().any(|(who, _)| who == "host-c"),
        "{serving:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_killed_mid_parse_leaves_the_harvest_to_another_on_the_pinned_version() {
    const OFFERS: usize = 60_000;
    let rig = Rig::start("fleet_kill").await;
    let original = rig.original();
    let mut hosts: Vec<Worker> = ["host-a", "host-b"]
        .iter()
        .map(|label| rig.launch(label))
        .collect();
    for host in &hosts {
        host.ready();
    }
    let tenant = unique("kill");
    let _server = rig.h.serve_supplier("big", &tenant, yml_feed(OFFERS, 0));
    let id = rig.start_harvest("big", &tenant);

    let victim = common::poll_until(
        "the parse step runs on a host",
        Duration::from_secs(120),
        async || running_on(&rig.h.address, &id, "parse_products"),
    )
    .await;
    let index = usize::from(victim == "host-b");
    let mut killed = hosts.remove(index);
    killed
        .signal_and_wait("KILL", Duration::from_secs(10))
        .expect("SIGKILL ends the host");
    let survivor = if index == 0 { "host-b" } else { "host-a" };

    // A new version goes out while the parse waits for its retry: the surviving host serves
    // it, and the retried parse still runs on the digest the harvest pinned. (The killed host
    // is still on the list until its row ages out, so the publish reports it as not yet.)
    let v2 = rig.build_variant(11);
    let published = rig.cli(&["modules", "publish", "yml", "--timeout-secs", "3"]);
    let out = both(&published);
    assert!(out.contains(&format!("{survivor}: live")), "{out}");
    assert!(out.contains(&format!("{victim}: not yet")), "{out}");
    assert!(
        rig.serving()
            .iter()
            .any(|(who, d)| who == survivor && *d == v2.to_string()),
        "{:?}",
        rig.serving()
    );

    let result = rig.result(&id);
    assert_eq!(result["created"], OFFERS as u64, "{result:#}");
    assert_eq!(
        result["module"]["digest"],
        original.to_string(),
        "{result:#}"
    );
    assert_eq!(rig.staged(&tenant, "big").await, (OFFERS, OFFERS));
    let steps = steps_run(&rig.h.address, &id);
    let parse = steps
        .iter()
        .find(|(name, _, _)| name == "parse_products")
        .expect("a parse ran");
    assert_eq!(
        (parse.1 >= 2, parse.2.as_str()),
        (true, survivor),
        "the parse was retried on the surviving host: {steps:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_object_store_away_for_20_s_mid_harvest_then_gone_for_good() {
    const OFFERS: usize = 60_000;
    let mut rig = Rig::start("fleet_store").await;
    let _host = {
        let host = rig.launch("host-a");
        host.ready();
        host
    };
    let tenant = unique("away");
    let server = rig.h.serve_supplier("shop", &tenant, yml_feed(OFFERS, 0));
    let id = rig.start_harvest("shop", &tenant);
    common::poll_until(
        "the parse step runs",
        Duration::from_secs(120),
        async || running_on(&rig.h.address, &id, "parse_products"),
    )
    .await;
    let away = Instant::now();
    rig.s3.stop();
    tokio::time::sleep(Duration::from_secs(20)).await;
    rig.s3.restart();
    eprintln!("object store away for {:?}", away.elapsed());
    let result = rig.result(&id);
    assert_eq!(result["created"], OFFERS as u64, "{result:#}");
    assert_eq!(rig.staged(&tenant, "shop").await, (OFFERS, OFFERS));
    eprintln!("steps: {:?}", steps_run(&rig.h.address, &id));

    // Gone for good: the step that needs it fails retryably, naming the store and its address.
    rig.s3.stop();
    server.set_body(yml_feed(OFFERS, 5), None);
    let id = rig.start_harvest("shop", &tenant);
    let endpoint = rig.s3.endpoint();
    let address = endpoint.trim_start_matches("http://");
    let step = common::poll_until(
        "a step fails for want of the store",
        Duration::from_secs(180),
        async || {
            pending(&rig.h.address, &id, "download_feed")
                .filter(|a| a["lastFailure"]["message"].is_string())
        },
    )
    .await;
    let failure = &step["lastFailure"];
    let message = failure["message"].as_str().unwrap_or("");
    assert!(step["attempt"].as_u64() >= Some(2), "retried: {step:#}");
    assert!(message.contains("object store s3://fleet/prod"), "{step:#}");
    assert!(message.contains(address), "names {address}: {step:#}");
    assert_eq!(
        failure["applicationFailureInfo"]["type"], "BlobStoreError",
        "{step:#}"
    );
}
