//! The CLI as a user runs it: exit codes, stdout, stderr.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use contextworker_test_support::{guest, workspace_root};

struct Host {
    data: tempfile::TempDir,
    modules: tempfile::TempDir,
}

impl Host {
    /// A host with a private data dir and a modules dir holding simple-tsv and text-stats.
    fn new() -> Self {
        let host = Self {
            data: tempfile::tempdir().unwrap(),
            modules: tempfile::tempdir().unwrap(),
        };
        host.add_module("simple-tsv", &guest("simple-tsv"), None);
        host.add_module("text-stats", &guest("text-stats"), None);
        host
    }

    /// Copy a repository module (manifest + fixtures) with `component` as its .wasm;
    /// `manifest` replaces the manifest text when given.
    fn add_module(&self, name: &str, component: &Path, manifest: Option<&str>) -> PathBuf {
        let src = workspace_root().join("modules").join(name);
        let dir = self.modules.path().join(name);
        std::fs::create_dir_all(dir.join("fixtures")).unwrap();
        let text = manifest.map_or_else(
            || std::fs::read_to_string(src.join("module.toml")).unwrap(),
            str::to_owned,
        );
        std::fs::write(dir.join("module.toml"), text).unwrap();
        if let Ok(entries) = std::fs::read_dir(src.join("fixtures")) {
            for entry in entries.flatten() {
                std::fs::copy(entry.path(), dir.join("fixtures").join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(component, dir.join(format!("{name}.wasm"))).unwrap();
        dir
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
            .arg("--data-dir")
            .arg(self.data.path())
            .arg("--modules-dir")
            .arg(self.modules.path())
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("CONTEXTWORKER_CONFIG")
            .output()
            .expect("the binary runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture() -> PathBuf {
    workspace_root().join("modules/simple-tsv/fixtures/sample.tsv")
}

#[test]
fn modules_test_prints_ndjson_and_a_summary() {
    let host = Host::new();
    let out = host.run(&["modules", "test", "simple-tsv", fixture().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["offer_id"], "1001");
    assert_eq!(lines[0]["price"], "899.00");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("3 products, 0 warnings from 3 records"),
        "{stderr}"
    );
    assert!(stderr.contains("receipt: simple-tsv@0.1.0"), "{stderr}");
}

#[test]
fn modules_test_accepts_a_wasm_path_and_config_overrides() {
    let host = Host::new();
    let feed = host.data.path().join("semicolon.csv");
    std::fs::write(&feed, "offer_id;name;price\n7;Lamp;10,5\n").unwrap();
    let wasm = guest("simple-tsv");
    let out = host.run(&[
        "modules",
        "test",
        wasm.to_str().unwrap(),
        feed.to_str().unwrap(),
        "--config",
        "delimiter=;",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(r#""price":"10.5""#),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn modules_test_errors_are_clear() {
    let host = Host::new();
    let missing = host.run(&["modules", "test", "simple-tsv", "/nonexistent/feed.tsv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("cannot open the input /nonexistent/feed.tsv"),
        "{}",
        text(&missing.stderr)
    );

    let junk = host.data.path().join("junk.wasm");
    std::fs::write(&junk, b"definitely not wasm").unwrap();
    let not_component = host.run(&[
        "modules",
        "test",
        junk.to_str().unwrap(),
        fixture().to_str().unwrap(),
    ]);
    assert_eq!(not_component.status.code(), Some(2));
    assert!(
        text(&not_component.stderr).contains("not a WebAssembly component"),
        "{}",
        text(&not_component.stderr)
    );

    let code = guest("text-stats");
    let wrong = host.run(&[
        "modules",
        "test",
        code.to_str().unwrap(),
        fixture().to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("implements the `code` world"),
        "{}",
        text(&wrong.stderr)
    );

    let unknown = host.run(&[
        "modules",
        "test",
        "no-such-module",
        fixture().to_str().unwrap(),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no module of that name"),
        "{}",
        text(&unknown.stderr)
    );

    let bad_feed = host.data.path().join("bad.tsv");
    std::fs::write(&bad_feed, "name\tprice\nA\t1\n").unwrap();
    let invalid = host.run(&["modules", "test", "simple-tsv", bad_feed.to_str().unwrap()]);
    assert_eq!(invalid.status.code(), Some(1));
    let stderr = text(&invalid.stderr);
    assert!(
        stderr.contains("error[InvalidInput]") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[test]
fn exec_prints_output_receipt_and_typed_errors() {
    let host = Host::new();
    let stats = guest("text-stats");
    let ok = host.run(&["exec", stats.to_str().unwrap(), "--input", "a b c"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(
        text(&ok.stdout).trim(),
        r#"{"lines":1,"words":3,"bytes":5}"#
    );
    assert!(
        text(&ok.stderr).contains("[guest stdout] counted 1 lines"),
        "{}",
        text(&ok.stderr)
    );
    assert!(
        text(&ok.stderr).contains("receipt: text_stats@file"),
        "{}",
        text(&ok.stderr)
    );

    let input_file = host.data.path().join("in.txt");
    std::fs::write(&input_file, "one\ntwo\n").unwrap();
    let json = host.run(&[
        "exec",
        stats.to_str().unwrap(),
        "--input",
        &format!("@{}", input_file.display()),
        "--json",
    ]);
    assert_eq!(json.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(doc["output"]["text"], r#"{"lines":2,"words":2,"bytes":8}"#);
    assert!(
        doc["receipt"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    let hostile = guest("hostile");
    let looping = host.run(&[
        "exec",
        hostile.to_str().unwrap(),
        "--input",
        "loop",
        "--timeout-ms",
        "300",
        "--json",
    ]);
    assert_eq!(looping.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&looping.stdout).unwrap();
    assert_eq!(doc["error"]["type"], "GuestTimeout");
    assert_eq!(doc["error"]["retryable"], false);

    let fuel = host.run(&[
        "exec",
        hostile.to_str().unwrap(),
        "--input",
        "loop",
        "--fuel",
        "1000000",
    ]);
    assert_eq!(fuel.status.code(), Some(1));
    assert!(
        text(&fuel.stderr).contains("error[GuestOutOfFuel]"),
        "{}",
        text(&fuel.stderr)
    );

    let oom = host.run(&[
        "exec",
        hostile.to_str().unwrap(),
        "--input",
        "alloc",
        "--memory-mb",
        "16",
    ]);
    assert_eq!(oom.status.code(), Some(1));
    assert!(
        text(&oom.stderr)
            .contains("error[GuestOutOfMemory]: the guest hit its memory limit of 16 MiB"),
        "{}",
        text(&oom.stderr)
    );
}

#[test]
fn exec_refuses_bad_components_with_a_reason() {
    let host = Host::new();
    let missing = host.run(&["exec", "/nonexistent/code.wasm"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("/nonexistent/code.wasm: cannot read the file"),
        "{}",
        text(&missing.stderr)
    );

    let junk = host.data.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let core = host.run(&["exec", junk.to_str().unwrap()]);
    assert_eq!(core.status.code(), Some(2));
    assert!(
        text(&core.stderr).contains("core WebAssembly module"),
        "{}",
        text(&core.stderr)
    );

    let transformer = guest("simple-tsv");
    let wrong = host.run(&["exec", transformer.to_str().unwrap()]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("implements the `transformer` world"),
        "{}",
        text(&wrong.stderr)
    );
}

#[test]
fn broken_modules_are_refused_by_name_while_good_ones_load() {
    let host = Host::new();
    let good =
        std::fs::read_to_string(workspace_root().join("modules/simple-tsv/module.toml")).unwrap();
    host.add_module(
        "typo",
        &guest("simple-tsv"),
        Some(&good.replace("name = \"simple-tsv\"", "name = \"typo\"\ncolour = 1")),
    );
    host.add_module(
        "liar",
        &guest("text-stats"),
        Some(&good.replace("name = \"simple-tsv\"", "name = \"liar\"")),
    );
    let junk = host.data.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    host.add_module(
        "junk",
        &junk,
        Some(&good.replace("name = \"simple-tsv\"", "name = \"junk\"")),
    );

    let out = host.run(&["modules", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("simple-tsv") && stdout.contains("text-stats"),
        "{stdout}"
    );
    assert!(
        stdout.contains("typo/module.toml: line 2, column 1: unknown field `colour`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("liar/module.toml") && stdout.contains("implements the `code` world"),
        "{stdout}"
    );
    assert!(
        stdout.contains("junk/module.toml") && stdout.contains("not a WebAssembly component"),
        "{stdout}"
    );

    let validate = host.run(&["modules", "validate"]);
    assert_eq!(validate.status.code(), Some(1));
    assert!(
        text(&validate.stdout).contains("ok   simple-tsv@0.1.0"),
        "{}",
        text(&validate.stdout)
    );

    let only = host.run(&["modules", "list", "--modules", "text-stats"]);
    let stdout = text(&only.stdout);
    assert!(
        stdout.contains("text-stats")
            && !stdout.contains("simple-tsv")
            && !stdout.contains("refused"),
        "{stdout}"
    );
}

#[test]
fn a_failing_self_test_fails_validation() {
    let host = Host::new();
    let manifest =
        std::fs::read_to_string(workspace_root().join("modules/simple-tsv/module.toml")).unwrap();
    host.add_module(
        "simple-tsv",
        &guest("simple-tsv"),
        Some(&manifest.replace("products = 3", "products = 4")),
    );
    let out = host.run(&["modules", "validate", "--modules", "simple-tsv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("expected 4 products, got 3"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_second_start_loads_from_the_compiled_cache() {
    let host = Host::new();
    let first = host.run(&["modules", "list", "--json"]);
    let second = host.run(&["modules", "list", "--json"]);
    let rows = |o: &Output| -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        doc["modules"].as_array().unwrap().clone()
    };
    let (cold, warm) = (rows(&first), rows(&second));
    assert_eq!(cold.len(), 2);
    for (c, w) in cold.iter().zip(&warm) {
        assert_eq!(c["from_cache"], false, "{c}");
        assert_eq!(w["from_cache"], true, "{w}");
        assert!(
            w["load_ms"].as_f64().unwrap() < c["load_ms"].as_f64().unwrap(),
            "cold {c} warm {w}"
        );
    }
}

/// A host whose suppliers directory holds the repository's demo supplier and its feed.
fn host_with_demo_supplier() -> (Host, tempfile::TempDir) {
    let host = Host::new();
    host.add_module("yml", &guest("yml"), None);
    let suppliers = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(suppliers.path().join("feeds")).unwrap();
    let src = workspace_root().join("suppliers");
    std::fs::copy(src.join("demo.toml"), suppliers.path().join("demo.toml")).unwrap();
    std::fs::copy(
        src.join("feeds/demo.xml"),
        suppliers.path().join("feeds/demo.xml"),
    )
    .unwrap();
    (host, suppliers)
}

#[test]
fn suppliers_validate_parses_local_feeds_with_their_config() {
    let (host, suppliers) = host_with_demo_supplier();
    let dir = suppliers.path().to_str().unwrap();
    let out = host.run(&["--suppliers-dir", dir, "suppliers", "validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("ok   demo: yml parses")
            && text(&out.stdout).contains("into 3 products"),
        "{}",
        text(&out.stdout)
    );

    let list = host.run(&["--suppliers-dir", dir, "suppliers", "list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(doc["suppliers"][0]["code"], "demo");
    assert_eq!(doc["suppliers"][0]["module"], "yml");
}

#[test]
fn suppliers_validate_names_each_problem() {
    let (host, suppliers) = host_with_demo_supplier();
    let dir = suppliers.path();
    std::fs::write(dir.join("typo.toml"), "code = \"typo\"\nname = \"T\"\ntenant = \"t\"\nurl = \"https://x.example/f\"\nmodule = \"yml\"\nmodul = 1\n").unwrap();
    std::fs::write(
        dir.join("secret.toml"),
        "code = \"secret\"\nname = \"S\"\ntenant = \"t\"\nurl = \"https://x.example/f\"\nmodule = \"yml\"\n[auth]\nbearer_token_env = \"SUPPLIER_CW_TEST_UNSET\"\n",
    )
    .unwrap();
    // A supplier naming one of the host's own variables is refused, whatever the environment.
    std::fs::write(
        dir.join("exfil.toml"),
        "code = \"exfil\"\nname = \"E\"\ntenant = \"t\"\nurl = \"https://x.example/f\"\nmodule = \"yml\"\n[auth]\nheaders = { \"X-Leak\" = \"DATABASE_URL\" }\n",
    )
    .unwrap();
    std::fs::write(dir.join("nomod.toml"), "code = \"nomod\"\nname = \"N\"\ntenant = \"t\"\nurl = \"file:feeds/demo.xml\"\nmodule = \"no-such\"\n").unwrap();
    let out = host.run(&[
        "--suppliers-dir",
        dir.to_str().unwrap(),
        "suppliers",
        "validate",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("typo.toml: line 6, column 1: unknown field `modul`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL secret: environment variable(s) SUPPLIER_CW_TEST_UNSET not set"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "FAIL exfil: environment variable DATABASE_URL holds the host's own settings"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL nomod: module `no-such` is not loaded"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   demo"), "{stdout}");
}

#[test]
fn temporal_settings_are_checked_before_connecting() {
    let host = Host::new();
    let pem = host.data.path().join("client.pem");
    std::fs::write(&pem, "not really a certificate").unwrap();
    let pem = pem.to_str().unwrap();
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
        let out = host.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unreachable_server_is_named_with_the_way_to_start_one() {
    let host = Host::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let out = host.run(&["harvest", "demo", "--temporal-address", &address]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the Temporal server at {address}"))
            && stderr.contains("temporal server start-dev")
            && stderr.contains("--dev"),
        "{stderr}"
    );
}

#[test]
fn exec_runs_a_javascript_file_in_the_js_module() {
    let host = Host::new();
    host.add_module("js", &guest("js-engine"), None);
    let script = host.data.path().join("double.js");
    std::fs::write(&script, "console.log('doubling'); input.map(x => x * 2)").unwrap();
    let out = host.run(&[
        "exec",
        "--js",
        script.to_str().unwrap(),
        "--input",
        "[1, 2, 3]",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[2,4,6]");
    assert!(text(&out.stderr).contains("doubling"));
    std::fs::write(&script, "while (true) {}").unwrap();
    let out = host.run(&[
        "exec",
        "--js",
        script.to_str().unwrap(),
        "--timeout-ms",
        "300",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("GuestTimeout"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn gc_frees_what_no_running_work_can_need_and_keeps_the_rest() {
    let host = Host::new();
    let data = host.data.path();
    let day = std::time::Duration::from_secs(24 * 3600);
    let aged = |path: &Path, age: std::time::Duration| {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    };
    // Two blobs: one untouched for two days, one used an hour ago (a harvest may need it).
    let shard = data.join("blobs/sha256/ab");
    std::fs::create_dir_all(&shard).unwrap();
    let (old, recent) = (shard.join("ab01"), shard.join("ab02"));
    std::fs::write(&old, vec![1u8; 1 << 20]).unwrap();
    std::fs::write(&recent, vec![2u8; 1 << 20]).unwrap();
    aged(&old, day * 2);
    aged(&recent, day / 24);
    // Compiled artifacts: 40 MiB against a 16 MiB cap; the least recently used go.
    let config = data.join("host.toml");
    std::fs::write(&config, "[sandbox]\ncompile_cache_max_mb = 16\n").unwrap();
    let compiled = data.join("compiled/somekey");
    std::fs::create_dir_all(&compiled).unwrap();
    for i in 0..10u64 {
        let path = compiled.join(format!("{i:02}.cwasm"));
        std::fs::write(&path, vec![0u8; 4 << 20]).unwrap();
        aged(&path, std::time::Duration::from_secs(100 * (10 - i)));
    }
    let out = host.run(&["--host-config", config.to_str().unwrap(), "gc", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["blobs"]["removed"], 1, "{v}");
    assert!(!old.exists() && recent.exists());
    assert!(
        v["compiled"]["kept_bytes"].as_u64().unwrap() <= 16 << 20,
        "{v}"
    );
    // The newest artifacts stay.
    assert!(compiled.join("09.cwasm").exists() && !compiled.join("00.cwasm").exists());
}

#[test]
fn a_module_filter_before_a_subcommand_does_not_swallow_it() {
    let host = Host::new();
    // `--modules NAME` takes one value; the words after it are the subcommand.
    let out = host.run(&["--modules", "simple-tsv", "modules", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["simple-tsv"], "{v}");
    // Repeated and comma-separated mean the same.
    for args in [
        &["--modules", "simple-tsv", "--modules", "text-stats"][..],
        &["--modules", "simple-tsv,text-stats"][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["modules", "list", "--json"]);
        let out = host.run(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["modules"].as_array().map(Vec::len),
            Some(2),
            "{args:?}: {v}"
        );
    }
}

#[test]
fn flags_belong_to_the_commands_that_use_them() {
    let host = Host::new();
    // `token` mints a token: no TLS, worker or dev-server flags in its help.
    let out = host.run(&["token", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    for flag in [
        "--grpc-tls-cert",
        "--dev",
        "--database-url",
        "--temporal-address",
    ] {
        assert!(!help.contains(flag), "token --help lists {flag}:\n{help}");
    }
    assert!(help.contains("--secret-env"), "{help}");
    // `serve` has them all; the bare form is the same command.
    let out = host.run(&["serve", "--help"]);
    let help = text(&out.stdout);
    for flag in [
        "--grpc-tls-cert",
        "--dev",
        "--database-url",
        "--temporal-address",
    ] {
        assert!(help.contains(flag), "serve --help misses {flag}:\n{help}");
    }
    // A serve flag before another command is refused, not taken for a worker start.
    let out = host.run(&["--dev", "modules", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("modules"),
        "{}",
        text(&out.stderr)
    );
    // The starter commands take the Temporal connection after their name.
    let out = host.run(&["harvest", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("--temporal-address") && help.contains("--task-queue"),
        "{help}"
    );
    assert!(!help.contains("--grpc-addr"), "{help}");
}
