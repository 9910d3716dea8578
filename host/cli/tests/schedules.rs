//! `schedules` against a real `temporal server start-dev`: every subcommand with its output,
//! a triggered run that harvests, `sync` from supplier files and the host config, the Python
//! SDK on the same schedules, and bad input refused with exit code 2 before anything exists.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::{
    Harness, QUEUE, assert_contains, assert_success, json_of, python, stderr_of, stdout_of,
};

fn yml(ids: &[&str]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog date=\"2026-01-01 00:00\"><shop>\
         <currencies><currency id=\"UAH\" rate=\"1\"/></currencies><offers>\n",
    );
    for id in ids {
        s.push_str(&format!(
            "<offer id=\"{id}\" available=\"true\"><name>Tent {id}</name><price>10</price>\
             <currencyId>UAH</currencyId></offer>\n"
        ));
    }
    s.push_str("</offers></shop></yml_catalog>\n");
    s
}

/// `schedules create <name> --tenant <tenant>`, then `rest`.
fn create_schedule(h: &Harness, name: &str, tenant: &str, rest: &[&str]) -> Output {
    let mut args = vec!["schedules", "create", name, "--tenant", tenant];
    args.extend_from_slice(rest);
    h.cli(&args)
}

fn ok_json(h: &Harness, args: &[&str]) -> serde_json::Value {
    let out = h.cli(args);
    assert_success(&out);
    json_of(&out)
}

fn describe(h: &Harness, id: &str) -> serde_json::Value {
    ok_json(h, &["schedules", "describe", id, "--json"])
}

/// Poll `describe` until `check` holds.
fn describe_until(
    h: &Harness,
    id: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let v = describe(h, id);
        if check(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {v:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn ids_listed(h: &Harness) -> Vec<String> {
    let v = ok_json(h, &["schedules", "list", "--json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Poll `list` (visibility trails writes) until `check` holds for the ids listed.
fn list_until(h: &Harness, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ids = ids_listed(h);
        if check(&ids) {
            return ids;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {ids:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_subcommand_against_the_dev_server_and_a_triggered_run_harvests() {
    let h = Harness::start().await;
    let _server = h.serve_supplier("shop", "acme", yml(&["a", "b", "c"]));
    let worker = h.worker("w", &[], &[]);
    let id = "acme:harvest-shop";

    let out = create_schedule(
        &h,
        "harvest-shop",
        "acme",
        &[
            "--supplier",
            "shop",
            "--cron",
            "0 */6 * * *",
            "--timezone",
            "Europe/Kyiv",
            "--jitter",
            "30s",
        ],
    );
    let text = stdout_of(&out, 0);
    assert_contains(
        &text,
        &[
            "created schedule acme:harvest-shop (cron 0 */6 * * * (Europe/Kyiv), jitter 30s)",
            "HarvestWorkflow [\"shop\",\"acme\"]",
            "/namespaces/default/schedules/acme:harvest-shop",
        ],
    );

    let text = stdout_of(&h.cli(&["schedules", "list"]), 0);
    assert_contains(
        &text,
        &[
            "ID",
            "NEXT RUN",
            id,
            "HarvestWorkflow",
            "cron 0 */6 * * * (Europe/Kyiv)",
            "active",
        ],
    );
    let d = describe(&h, id);
    assert_eq!(d["workflow"], "HarvestWorkflow");
    assert_eq!(d["task_queue"], QUEUE);
    assert_eq!(d["args"], serde_json::json!(["shop", "acme"]));
    assert_eq!(d["tenant"], "acme");
    assert_eq!(d["managed_by"], "cli");
    assert_eq!(d["overlap"], "skip");
    assert_eq!(d["jitter"], "30s");
    assert_eq!(d["spec"], "cron 0 */6 * * *");
    assert!(d["next_runs"].as_array().unwrap().len() >= 3, "{d:#}");
    assert_eq!(d["paused"], false);

    // Pause with a note: `describe` shows both; unpause clears the pause.
    let out = h.cli(&["schedules", "pause", id, "--note", "supplier maintenance"]);
    assert_eq!(stdout_of(&out, 0).trim(), format!("paused schedule {id}"));
    let text = stdout_of(&h.cli(&["schedules", "describe", id]), 0);
    assert_contains(
        &text,
        &[
            "state:      paused: supplier maintenance",
            "workflow:   HarvestWorkflow on harvester-tasks",
            "arguments:  [\"shop\",\"acme\"]",
            "made by:    cli",
        ],
    );
    assert_success(&h.cli(&["schedules", "unpause", id]));
    assert_eq!(describe(&h, id)["paused"], false);

    // Update changes the timing and keeps the rest.
    assert_success(&h.cli(&["schedules", "update", id, "--interval", "12h"]));
    let d = describe(&h, id);
    assert_eq!(d["spec"], "every 12h");
    assert_eq!(d["args"], serde_json::json!(["shop", "acme"]));

    // Trigger runs a real harvest, which the schedule reports as completed.
    let out = h.cli(&["schedules", "trigger", id]);
    assert_eq!(
        stdout_of(&out, 0).trim(),
        format!("triggered schedule {id}")
    );
    let d = describe_until(&h, id, "the triggered run completes", |d| {
        d["recent_runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == "completed"))
    });
    assert_eq!(d["action_count"], 1, "{d:#}");
    let run = &d["recent_runs"][0];
    let wid = run["workflow_id"].as_str().unwrap();
    assert!(wid.starts_with("harvest:acme:shop-"), "{wid}");
    let status = ok_json(&h, &["workflow", "status", wid, "--json"]);
    assert_eq!(status["result"]["created"], 3, "{status:#}");
    assert_eq!(status["memo"]["tenant_id"], "acme", "{status:#}");
    assert_eq!(status["memo"]["schedule_id"], id, "{status:#}");

    // Backfill takes the runs of a past window: 12-hourly over a day and a half is three.
    assert_success(&h.cli(&[
        "schedules",
        "backfill",
        id,
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T11:00:00Z",
    ]));
    describe_until(&h, id, "three backfilled runs", |d| d["action_count"] == 4);

    let out = h.cli(&["schedules", "delete", id]);
    assert_eq!(stdout_of(&out, 0).trim(), format!("deleted schedule {id}"));
    let out = h.cli(&["schedules", "describe", id]);
    assert_contains(&stderr_of(&out, 1), &["no schedule acme:harvest-shop"]);
    list_until(&h, "the deleted schedule leaves the list", |ids| {
        !ids.iter().any(|i| i == id)
    });
    assert!(worker_alive(worker));
}

fn worker_alive(mut worker: common::Worker) -> bool {
    worker.child.try_wait().unwrap().is_none()
}

fn steps(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pair(action: &str, id: &str) -> (String, String) {
    (action.to_owned(), id.to_owned())
}

fn write_supplier_with(h: &Harness, code: &str, tenant: &str, extra: &str) {
    std::fs::write(
        h.path("suppliers").join(format!("{code}.toml")),
        format!(
            "code = \"{code}\"\nname = \"{code}\"\ntenant = \"{tenant}\"\n\
             url = \"https://feeds.example/{code}.xml\"\nmodule = \"yml\"\n{extra}"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_follows_the_configuration_and_never_touches_other_schedules() {
    let h = Harness::start().await;
    write_supplier_with(&h, "north", "acme", "schedule = \"0 */6 * * *\"\n");
    write_supplier_with(&h, "south", "acme", "");
    write_supplier_with(&h, "east", "beta", "schedule = \"6h\"\n");
    let config = h.path("contextworker.toml");
    std::fs::write(
        &config,
        "[[schedule]]\nname = \"gardener-every-5min\"\nworkflow = \"GardenerWorkflow\"\n\
         args = [\"{tenant}\", 50, 10]\ncron = \"*/5 * * * *\"\ntenants = [\"acme\"]\n",
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    // Made by hand: sync never changes or deletes it, even when it wants the same id.
    assert_success(&create_schedule(
        &h,
        "nightly",
        "acme",
        &["--gardener", "--cron", "0 3 * * *"],
    ));
    assert_success(&create_schedule(
        &h,
        "harvest-east",
        "beta",
        &[
            "--workflow",
            "GardenerWorkflow",
            "--arg",
            "\"beta\"",
            "--interval",
            "1h",
        ],
    ));

    // A plan with a conflict exits 1, dry run or not.
    let out = h.cli(&[
        "--host-config",
        cfg,
        "schedules",
        "sync",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out.stderr));
    let plan = json_of(&out);
    assert_eq!(
        steps(&plan),
        [
            pair("conflict", "beta:harvest-east"),
            pair("create", "acme:gardener-every-5min"),
            pair("create", "acme:harvest-north"),
        ],
        "{plan:#}"
    );
    // A dry run changes nothing.
    let out = h.cli(&["schedules", "describe", "acme:harvest-north"]);
    assert_contains(&stderr_of(&out, 1), &["no schedule acme:harvest-north"]);

    // The conflict is reported and exits 1; everything else is done.
    let out = h.cli(&["--host-config", cfg, "schedules", "sync"]);
    let text = stdout_of(&out, 1);
    assert_contains(
        &text,
        &[
            "create         acme:harvest-north  HarvestWorkflow cron 0 */6 * * *",
            "conflict: made by cli, left alone beta:harvest-east",
            "sync: 2 to create, 0 to update, 0 to delete, 0 unchanged, 1 conflicts",
        ],
    );
    let d = describe(&h, "acme:gardener-every-5min");
    assert_eq!(d["args"], serde_json::json!(["acme", 50, 10]));
    assert_eq!(d["managed_by"], "sync");
    assert_eq!(
        describe(&h, "beta:harvest-east")["workflow"],
        "GardenerWorkflow"
    );

    // The second run is a no-op.
    std::fs::remove_file(h.path("suppliers/east.toml")).unwrap();
    let again = ok_json(&h, &["--host-config", cfg, "schedules", "sync", "--json"]);
    assert_eq!(
        steps(&again),
        [
            pair("unchanged", "acme:gardener-every-5min"),
            pair("unchanged", "acme:harvest-north"),
        ],
        "{again:#}"
    );

    // An operator's pause survives a sync that changes the timing.
    assert_success(&h.cli(&["schedules", "pause", "acme:harvest-north", "--note", "hold"]));
    write_supplier_with(&h, "north", "acme", "schedule = \"4h\"\n");
    let changed = ok_json(&h, &["--host-config", cfg, "schedules", "sync", "--json"]);
    assert!(
        steps(&changed).contains(&pair("update", "acme:harvest-north")),
        "{changed:#}"
    );
    let d = describe(&h, "acme:harvest-north");
    assert_eq!(
        (d["spec"].as_str(), d["paused"].as_bool()),
        (Some("every 4h"), Some(true))
    );
    assert_eq!(d["note"], "hold");

    // A supplier's schedule removed: its schedule goes; the hand-made ones stay.
    write_supplier_with(&h, "north", "acme", "");
    list_until(&h, "sync's schedules are listed", |ids| {
        ids.iter().any(|i| i == "acme:harvest-north")
    });
    let removed = ok_json(&h, &["--host-config", cfg, "schedules", "sync", "--json"]);
    assert_eq!(
        steps(&removed),
        [
            pair("delete", "acme:harvest-north"),
            pair("unchanged", "acme:gardener-every-5min"),
        ],
        "{removed:#}"
    );
    let out = h.cli(&["schedules", "describe", "acme:harvest-north"]);
    assert_contains(&stderr_of(&out, 1), &["no schedule acme:harvest-north"]);
    assert_eq!(describe(&h, "acme:nightly")["managed_by"], "cli");
    assert_eq!(describe(&h, "beta:harvest-east")["managed_by"], "cli");

    // `serve --sync-schedules` syncs once before serving, and says what it did.
    write_supplier_with(&h, "north", "acme", "schedule = \"0 */6 * * *\"\n");
    let worker = h.worker("sync", &["--host-config", cfg, "--sync-schedules"], &[]);
    worker.wait_for_log(
        "schedules: sync: 1 to create, 0 to update, 0 to delete, 1 unchanged, 0 conflicts",
        Duration::from_secs(60),
    );
    assert!(
        worker
            .log_text()
            .contains("schedules: create acme:harvest-north")
    );
    assert_eq!(describe(&h, "acme:harvest-north")["managed_by"], "sync");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_controls_a_schedule_made_here_and_a_schedule_made_in_python_is_listed() {
    let h = Harness::start().await;
    write_supplier_with(&h, "shop", "acme", "");
    assert_success(&create_schedule(
        &h,
        "harvest-shop",
        "acme",
        &["--supplier", "shop", "--interval", "6h"],
    ));
    let args = [
        h.address.as_str(),
        "acme:harvest-shop",
        "made-in-python",
        QUEUE,
    ];
    let v = python("schedules.py", &args, String::new);
    let ours = &v["host_schedule"];
    assert_eq!(ours["workflow"], "HarvestWorkflow", "{v:#}");
    assert_eq!(ours["task_queue"], QUEUE);
    assert_eq!(ours["args"], serde_json::json!(["shop", "acme"]));
    assert_eq!(ours["memo"]["managed_by"], "cli");
    assert_eq!(ours["memo"]["tenant_id"], "acme");
    assert_eq!(ours["paused_after"], true);

    let d = describe(&h, "acme:harvest-shop");
    assert_eq!(
        (d["paused"].as_bool(), d["note"].as_str()),
        (Some(true), Some("paused from python"))
    );

    list_until(&h, "the Python schedule is listed", |ids| {
        ids.iter().any(|i| i == "made-in-python")
    });
    let all = ok_json(&h, &["schedules", "list", "--json"]);
    let py = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "made-in-python")
        .unwrap();
    assert_eq!(py["workflow"], "GardenerWorkflow", "{py:#}");
    assert_eq!(py["spec"], "every 1h");
    assert_eq!(py["managed_by"], serde_json::Value::Null);
    // A schedule made elsewhere can be controlled here too.
    assert_success(&h.cli(&[
        "schedules",
        "pause",
        "made-in-python",
        "--note",
        "from rust",
    ]));
    assert_eq!(describe(&h, "made-in-python")["note"], "from rust");
}

fn refused(out: &Output, needles: &[&str]) {
    let err = stderr_of(out, 2);
    assert_contains(&err, needles);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_exit_code_2_and_nothing_is_created() {
    let h = Harness::start().await;
    write_supplier_with(&h, "shop", "acme", "");
    let create = |extra: &[&str]| create_schedule(&h, "bad", "acme", extra);
    refused(
        &create(&["--gardener", "--cron", "0 25 * * *"]),
        &["cron \"0 25 * * *\": field 2 (hour): 25 is outside 0-23"],
    );
    refused(
        &create(&["--gardener", "--cron", "6h"]),
        &["a cron expression has 5"],
    );
    refused(
        &create(&["--gardener", "--interval", "0m"]),
        &["interval \"0m\": an interval must be longer than zero"],
    );
    // Well-formed but unknown: the server's time zone database says so.
    refused(
        &create(&[
            "--gardener",
            "--cron",
            "@daily",
            "--timezone",
            "Mars/Olympus",
        ]),
        &["the server refused schedule acme:bad", "Mars/Olympus"],
    );
    refused(
        &create(&["--supplier", "nosuch", "--cron", "@daily"]),
        &["no supplier `nosuch`"],
    );
    refused(
        &create_schedule(
            &h,
            "bad",
            "beta",
            &["--supplier", "shop", "--cron", "@daily"],
        ),
        &["supplier shop belongs to tenant acme, not beta"],
    );
    refused(
        &create(&["--workflow", "DropTables", "--cron", "@daily"]),
        &["workflow \"DropTables\" is not one this host serves"],
    );
    refused(
        &create(&["--gardener", "--cron", "@daily", "--overlap", "sometimes"]),
        &["overlap policy \"sometimes\""],
    );
    refused(
        &create(&["--gardener"]),
        &["say when: --cron EXPR or --interval DURATION"],
    );
    refused(
        &h.cli(&[
            "schedules",
            "create",
            "Bad Name",
            "--gardener",
            "--cron",
            "@daily",
        ]),
        &["invalid schedule name \"Bad Name\""],
    );
    refused(
        &h.cli(&["schedules", "update", "acme:x", "--cron", "61 * * * *"]),
        &["field 1 (minute): 61 is outside 0-59"],
    );
    // A supplier file with a bad schedule stops sync before it changes anything.
    write_supplier_with(&h, "broken", "acme", "schedule = \"*/0 * * * *\"\n");
    refused(
        &h.cli(&["schedules", "sync"]),
        &["broken.toml: `schedule`: cron \"*/0 * * * *\": field 1 (minute): step 0"],
    );
    assert_eq!(ids_listed(&h), Vec::<String>::new());
    let text = stdout_of(&h.cli(&["schedules", "list"]), 0);
    assert_eq!(text.trim(), "no schedules");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_schedules_from_the_python_grpc_client_and_a_harvest_of_all_suppliers() {
    use common::rpc::{Outbound, Rpc, grpc_worker, signed, token};

    let h = Harness::start().await;
    let server = h.serve_supplier("north", "acme", yml(&["a", "b"]));
    h.write_supplier("south", "acme", &server.url());
    h.write_supplier("west", "beta", &server.url());
    let port = common::free_port();
    let config = h.path("rpc.toml");
    std::fs::write(
        &config,
        "[grpc]\nrate_per_second = 100000\nrate_burst = 100000\nschedules_per_tenant = 3\n",
    )
    .unwrap();
    let host = grpc_worker(
        &h,
        "rpc",
        port,
        Outbound::Loopback,
        &["--host-config", config.to_str().unwrap()],
        &[],
    );
    let proto = contextworker_test_support::workspace_root().join("proto");
    let pygen = h.path("pygen");
    let read_only = signed(
        &["acme"],
        &["worker:execute", "worker:read"],
        common::rpc::in_an_hour(),
    );
    let args = [
        proto.to_str().unwrap(),
        &format!("127.0.0.1:{port}"),
        &token(&["acme"]),
        &read_only,
        pygen.to_str().unwrap(),
    ];
    let v = python("register_schedules.py", &args, || host.log_text());
    for key in ["first", "again"] {
        assert_eq!(v[key]["status"], "ok", "{key}: {v:#}");
        assert_eq!(v[key]["registered_count"], 2.0, "{key}: {v:#}");
    }
    assert_eq!(
        v["first"]["schedules"],
        serde_json::json!(["acme:harvester-daily", "acme:gardener-every-5min"])
    );
    for (key, kind, needle) in [
        ("other_tenant", "permission_denied", "beta"),
        (
            "other_tenant_in_args",
            "permission_denied",
            "name tenant \"beta\"",
        ),
        ("workflow", "permission_denied", "DropTablesWorkflow"),
        ("cron", "validation", "schedules[1]: cron \"0 25 * * *\""),
        (
            "no_project",
            "validation",
            "project_id and tenant_id are required",
        ),
        ("read_only", "permission_denied", "worker:schedule"),
    ] {
        assert_eq!(v[key]["error_type"], kind, "{key}: {v:#}");
        assert!(
            v[key]["error"].as_str().unwrap().contains(needle),
            "{key}: {v:#}"
        );
    }
    // Nothing but the two was made: the refused requests created nothing, not even the valid
    // first schedule of the request with a bad cron.
    let ids = list_until(&h, "the registered schedules are listed", |ids| {
        ids.len() >= 2
    });
    assert_eq!(ids, ["acme:gardener-every-5min", "acme:harvester-daily"]);
    // A tenant's schedules are bounded (3 here): two more would pass it, one more does not.
    let mut rpc = Rpc::connect(port).await;
    let extra = |names: &[&str]| {
        serde_json::json!({"project_id": "shop", "tenant_id": "acme", "schedules": names
            .iter()
            .map(|n| serde_json::json!({"schedule_id": n, "workflow_name": "GardenerWorkflow",
                                        "task_queue": QUEUE, "cron": "@daily"}))
            .collect::<Vec<_>>()})
    };
    let t = token(&["acme"]);
    let v = rpc
        .answer("schedules", &t, &extra(&["extra-1", "extra-2"]))
        .await;
    assert_eq!(v["error_type"], "limit", "{v:#}");
    assert!(v["error"].as_str().unwrap().contains("limit of 3"), "{v:#}");
    let v = rpc.answer("schedules", &t, &extra(&["extra-1"])).await;
    assert_eq!(v["registered_count"], 1, "{v:#}");
    assert_success(&h.cli(&["schedules", "delete", "acme:extra-1"]));

    let d = describe(&h, "acme:harvester-daily");
    assert_eq!(d["managed_by"], "rpc");
    assert_eq!(d["args"], serde_json::json!(["all", "acme"]));
    assert_eq!(d["spec"], "cron 0 6 * * *");

    // The original's harvester-daily: a harvest of every supplier of the tenant, each its own
    // workflow; the other tenant's supplier is not among them.
    assert_success(&h.cli(&["schedules", "trigger", "acme:harvester-daily"]));
    let d = describe_until(&h, "acme:harvester-daily", "the run completes", |d| {
        d["recent_runs"][0]["status"] == "completed"
    });
    let wid = d["recent_runs"][0]["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = ok_json(&h, &["workflow", "status", &wid, "--json"]);
    assert_eq!(all["result"]["status"], "started", "{all:#}");
    assert_eq!(
        all["result"]["harvests"],
        serde_json::json!(["harvest:acme:north", "harvest:acme:south"])
    );
    for id in ["harvest:acme:north", "harvest:acme:south"] {
        let out = h.cli(&["workflow", "status", id, "--wait", "--json"]);
        assert_success(&out);
        assert_eq!(json_of(&out)["result"]["created"], 2, "{id}");
    }
}
