//! Flags, settings and supplier files as a user gets them wrong: each is checked before
//! anything runs, and the message names the problem. Exit codes, stdout, stderr.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "common/host.rs"]
mod host;
#[path = "common/output.rs"]
mod output;
#[path = "common/port.rs"]
mod port;

use host::{Host, json};
use output::{assert_contains, stderr_of, stdout_of, text};
use port::free_port;

#[test]
fn suppliers_validate_parses_local_feeds_with_their_config() {
    let (host, suppliers) = Host::with_demo_supplier();
    let dir = suppliers.path().to_str().unwrap();
    let out = host.run(&["--suppliers-dir", dir, "suppliers", "validate"]);
    assert_contains(
        &stdout_of(&out, 0),
        &["ok   demo: yml parses", "into 3 products"],
    );

    let list = host.run(&["--suppliers-dir", dir, "suppliers", "list", "--json"]);
    let doc = json(&list);
    assert_eq!(doc["suppliers"][0]["code"], "demo");
    assert_eq!(doc["suppliers"][0]["module"], "yml");
}

#[test]
fn suppliers_validate_names_each_problem() {
    let (host, suppliers) = Host::with_demo_supplier();
    let dir = suppliers.path();
    let supplier = |code: &str, url: &str, module: &str, rest: &str| {
        let text = format!(
            "code = \"{code}\"\nname = \"{code}\"\ntenant = \"t\"\nurl = \"{url}\"\nmodule = \"{module}\"\n{rest}"
        );
        std::fs::write(dir.join(format!("{code}.toml")), text).unwrap();
    };
    let remote = "https://x.example/f";
    supplier("typo", remote, "yml", "modul = 1\n");
    supplier(
        "secret",
        remote,
        "yml",
        "[auth]\nbearer_token_env = \"SUPPLIER_CW_TEST_UNSET\"\n",
    );
    // A supplier naming one of the host's own variables is refused, whatever the environment.
    supplier(
        "exfil",
        remote,
        "yml",
        "[auth]\nheaders = { \"X-Leak\" = \"DATABASE_URL\" }\n",
    );
    supplier("nomod", "file:feeds/demo.xml", "no-such", "");
    let out = host.run(&[
        "--suppliers-dir",
        dir.to_str().unwrap(),
        "suppliers",
        "validate",
    ]);
    assert_contains(
        &stdout_of(&out, 1),
        &[
            "typo.toml: line 6, column 1: unknown field `modul`",
            "FAIL secret: environment variable(s) SUPPLIER_CW_TEST_UNSET not set",
            "FAIL exfil: environment variable DATABASE_URL holds the host's own settings",
            "FAIL nomod: module `no-such` is not loaded",
            "ok   demo",
        ],
    );
}

#[test]
fn temporal_settings_are_checked_before_connecting() {
    let host = Host::new();
    let pem = host.write("client.pem", "not really a certificate");
    let pem = pem.as_str();
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--temporal-api-key",
                "k",
                "--temporal-tls-cert",
                pem,
                "--temporal-tls-key",
                pem,
            ],
            "not both",
        ),
        (&["--temporal-tls-cert", pem], "TEMPORAL_TLS_KEY is not"),
        (&["--temporal-address", "localhost"], "not host:port"),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["workflow", "status", "x"];
        args.extend(flags);
        assert_contains(&stderr_of(&host.run(&args), 2), &[expected]);
    }
}

#[test]
fn an_unreachable_server_is_named_with_the_way_to_start_one() {
    let host = Host::new();
    let address = format!("127.0.0.1:{}", free_port());
    let out = host.run(&["harvest", "demo", "--temporal-address", &address]);
    assert_contains(
        &stderr_of(&out, 2),
        &[
            &format!("cannot reach the Temporal server at {address}"),
            "temporal server start-dev",
            "--dev",
        ],
    );
}

#[test]
fn a_short_token_secret_stops_the_start() {
    let host = Host::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
        .args(["--data-dir", host.data.path().to_str().unwrap()])
        .args(["--modules-dir", host.modules.path().to_str().unwrap()])
        .args(["--no-temporal", "--grpc-addr", &addr])
        .args(["--token-hmac-key", "k=CW_SHORT_SECRET"])
        .env("CW_SHORT_SECRET", "secret")
        .output()
        .unwrap();
    assert_contains(&stderr_of(&out, 2), &["at least 32 are required"]);
}

#[test]
fn a_malformed_blob_store_stops_the_start_with_the_rule_it_broke() {
    let host = Host::new();
    let addr = format!("127.0.0.1:{}", free_port());
    for (url, rule) in [
        ("https://blobs.example/x", "expected s3://bucket/prefix"),
        ("s3://Fleet_Blobs/x", "the bucket name must be"),
        ("s3://fleet/../x", "the prefix is segments"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
            .args(["--data-dir", host.data.path().to_str().unwrap()])
            .args(["--modules-dir", host.modules.path().to_str().unwrap()])
            .args(["serve", "--no-temporal", "--grpc-addr", &addr])
            .args(["--blob-store", url])
            .output()
            .unwrap();
        assert_contains(&stderr_of(&out, 2), &["storage.blob_store", url, rule]);
    }
}

#[test]
fn a_module_filter_before_a_subcommand_does_not_swallow_it() {
    let host = Host::new();
    let modules = |filter: &[&str]| {
        let mut args = filter.to_vec();
        args.extend(["modules", "list", "--json"]);
        let out = host.run(&args);
        stdout_of(&out, 0);
        json(&out)["modules"].as_array().unwrap().clone()
    };
    // `--modules NAME` takes one value; the words after it are the subcommand.
    let only = modules(&["--modules", "simple-tsv"]);
    let names: Vec<&str> = only.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["simple-tsv"], "{only:?}");
    // Repeated and comma-separated mean the same.
    for filter in [
        &["--modules", "simple-tsv", "--modules", "text-stats"][..],
        &["--modules", "simple-tsv,text-stats"][..],
    ] {
        assert_eq!(modules(filter).len(), 2, "{filter:?}");
    }
}

#[test]
fn flags_belong_to_the_commands_that_use_them() {
    let host = Host::new();
    let serve_flags = [
        "--grpc-tls-cert",
        "--dev",
        "--database-url",
        "--temporal-address",
    ];
    // `token` mints a token: no TLS, worker or dev-server flags in its help.
    let help = stdout_of(&host.run(&["token", "--help"]), 0);
    for flag in serve_flags {
        assert!(!help.contains(flag), "token --help lists {flag}:\n{help}");
    }
    assert_contains(&help, &["--secret-env"]);
    // `serve` has them all; the bare form is the same command.
    let help = text(&host.run(&["serve", "--help"]).stdout);
    assert_contains(&help, &serve_flags);
    // A serve flag before another command is refused, not taken for a worker start.
    let out = host.run(&["--dev", "modules", "list"]);
    assert_contains(&stderr_of(&out, 2), &["modules"]);
    // The starter commands take the Temporal connection after their name.
    let help = text(&host.run(&["harvest", "--help"]).stdout);
    assert_contains(&help, &["--temporal-address", "--task-queue"]);
    assert!(!help.contains("--grpc-addr"), "{help}");
}
