//! The CLI as a user runs it: exit codes, stdout, stderr of the `modules`, `exec` and `gc`
//! commands. Flags, settings and suppliers are in `settings.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "common/host.rs"]
mod host;
#[path = "common/output.rs"]
mod output;

use std::path::Path;

use contextworker_test_support::{guest, workspace_root};
use host::{Host, fixture, json, json_lines, wasm};
use output::{assert_contains, stderr_of, stdout_of};

#[test]
fn modules_test_prints_ndjson_and_a_summary() {
    let host = Host::new();
    let out = host.run(&["modules", "test", "simple-tsv", &fixture()]);
    stdout_of(&out, 0);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["offer_id"], "1001");
    assert_eq!(lines[0]["price"], "899.00");
    assert_contains(
        &stderr_of(&out, 0),
        &[
            "3 products, 0 warnings from 3 records",
            "receipt: simple-tsv@0.1.0",
        ],
    );
}

#[test]
fn modules_test_accepts_a_wasm_path_and_config_overrides() {
    let host = Host::new();
    let feed = host.write("semicolon.csv", "offer_id;name;price\n7;Lamp;10,5\n");
    let component = wasm("simple-tsv");
    let args = [
        "modules",
        "test",
        &component,
        &feed,
        "--config",
        "delimiter=;",
    ];
    let out = host.run(&args);
    assert_contains(&stdout_of(&out, 0), &[r#""price":"10.5""#]);
}

#[test]
fn modules_test_errors_are_clear() {
    let host = Host::new();
    let junk = host.write("junk.wasm", b"definitely not wasm");
    let bad_feed = host.write("bad.tsv", "name\tprice\nA\t1\n");
    let (fixture, code) = (fixture(), wasm("text-stats"));
    let cases: [([&str; 2], i32, &[&str]); 5] = [
        (
            ["simple-tsv", "/nonexistent/feed.tsv"],
            2,
            &["cannot open the input /nonexistent/feed.tsv"],
        ),
        ([&junk, &fixture], 2, &["not a WebAssembly component"]),
        ([&code, &fixture], 2, &["implements the `code` world"]),
        (["no-such-module", &fixture], 2, &["no module of that name"]),
        (
            ["simple-tsv", &bad_feed],
            1,
            &["error[InvalidInput]", "line 1"],
        ),
    ];
    for ([module, feed], code, expected) in cases {
        let out = host.run(&["modules", "test", module, feed]);
        assert_contains(&stderr_of(&out, code), expected);
    }
}

#[test]
fn exec_prints_output_receipt_and_typed_errors() {
    let host = Host::new();
    let stats = wasm("text-stats");
    let ok = host.run(&["exec", &stats, "--input", "a b c"]);
    assert_eq!(
        stdout_of(&ok, 0).trim(),
        r#"{"lines":1,"words":3,"bytes":5}"#
    );
    assert_contains(
        &stderr_of(&ok, 0),
        &["[guest stdout] counted 1 lines", "receipt: text_stats@file"],
    );

    let input_file = host.write("in.txt", "one\ntwo\n");
    let input = format!("@{input_file}");
    let out = host.run(&["exec", &stats, "--input", &input, "--json"]);
    stdout_of(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["output"]["text"], r#"{"lines":2,"words":2,"bytes":8}"#);
    let digest = doc["receipt"]["digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{doc}");

    let hostile = wasm("hostile");
    let looping = host.run(&[
        "exec",
        &hostile,
        "--input",
        "loop",
        "--timeout-ms",
        "300",
        "--json",
    ]);
    stdout_of(&looping, 1);
    let doc = json(&looping);
    assert_eq!(doc["error"]["type"], "GuestTimeout");
    assert_eq!(doc["error"]["retryable"], false);

    let cases = [
        (["loop", "--fuel", "1000000"], "error[GuestOutOfFuel]"),
        (
            ["alloc", "--memory-mb", "16"],
            "error[GuestOutOfMemory]: the guest hit its memory limit of 16 MiB",
        ),
    ];
    for ([input, flag, value], expected) in cases {
        let out = host.run(&["exec", &hostile, "--input", input, flag, value]);
        assert_contains(&stderr_of(&out, 1), &[expected]);
    }
}

#[test]
fn exec_refuses_bad_components_with_a_reason() {
    let host = Host::new();
    let junk = host.write("junk.wasm", b"\0asm\x01\0\0\0");
    let cases = [
        (
            "/nonexistent/code.wasm".to_owned(),
            "/nonexistent/code.wasm: cannot read the file",
        ),
        (junk, "core WebAssembly module"),
        (wasm("simple-tsv"), "implements the `transformer` world"),
    ];
    for (component, expected) in cases {
        let out = host.run(&["exec", &component]);
        assert_contains(&stderr_of(&out, 2), &[expected]);
    }
}

#[test]
fn exec_runs_a_javascript_file_in_the_js_module() {
    let host = Host::new();
    host.add_module("js", &guest("js-engine"), None);
    let script = host.write(
        "double.js",
        "console.log('doubling'); input.map(x => x * 2)",
    );
    let out = host.run(&["exec", "--js", &script, "--input", "[1, 2, 3]"]);
    assert_eq!(stdout_of(&out, 0).trim(), "[2,4,6]");
    assert_contains(&stderr_of(&out, 0), &["doubling"]);
    let script = host.write("double.js", "while (true) {}");
    let out = host.run(&["exec", "--js", &script, "--timeout-ms", "300"]);
    assert_contains(&stderr_of(&out, 1), &["GuestTimeout"]);
}

#[test]
fn broken_modules_are_refused_by_name_while_good_ones_load() {
    let host = Host::new();
    let good =
        std::fs::read_to_string(workspace_root().join("modules/simple-tsv/module.toml")).unwrap();
    let named = |name: &str| good.replace("name = \"simple-tsv\"", &format!("name = \"{name}\""));
    let typo = good.replace("name = \"simple-tsv\"", "name = \"typo\"\ncolour = 1");
    host.add_module("typo", &guest("simple-tsv"), Some(&typo));
    host.add_module("liar", &guest("text-stats"), Some(&named("liar")));
    let junk = host.write("junk.wasm", b"not wasm");
    host.add_module("junk", Path::new(&junk), Some(&named("junk")));

    let stdout = stdout_of(&host.run(&["modules", "list"]), 0);
    assert_contains(
        &stdout,
        &[
            "simple-tsv",
            "text-stats",
            "typo/module.toml: line 2, column 1: unknown field `colour`",
            "liar/module.toml",
            "implements the `code` world",
            "junk/module.toml",
            "not a WebAssembly component",
        ],
    );
    let validate = host.run(&["modules", "validate"]);
    assert_contains(&stdout_of(&validate, 1), &["ok   simple-tsv@0.1.0"]);

    let only = host.run(&["modules", "list", "--modules", "text-stats"]);
    let stdout = output::text(&only.stdout);
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
    let failing = manifest.replace("products = 3", "products = 4");
    host.add_module("simple-tsv", &guest("simple-tsv"), Some(&failing));
    let out = host.run(&["modules", "validate", "--modules", "simple-tsv"]);
    assert_contains(&stdout_of(&out, 1), &["expected 4 products, got 3"]);
}

#[test]
fn a_second_start_loads_from_the_compiled_cache() {
    let host = Host::new();
    let first = host.run(&["modules", "list", "--json"]);
    let second = host.run(&["modules", "list", "--json"]);
    let rows = |o: &std::process::Output| json(o)["modules"].as_array().unwrap().clone();
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
    let config = host.write("host.toml", "[sandbox]\ncompile_cache_max_mb = 16\n");
    let compiled = data.join("compiled/somekey");
    std::fs::create_dir_all(&compiled).unwrap();
    for i in 0..10u64 {
        let path = compiled.join(format!("{i:02}.cwasm"));
        std::fs::write(&path, vec![0u8; 4 << 20]).unwrap();
        aged(&path, std::time::Duration::from_secs(100 * (10 - i)));
    }
    let out = host.run(&["--host-config", &config, "gc", "--json"]);
    stdout_of(&out, 0);
    let v = json(&out);
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
fn an_enricher_is_tested_and_validated_from_the_command_line() {
    let host = Host::new();
    let dir = host.add_module("taxonomy-rules", &guest("taxonomy-rules"), None);
    let products = dir.join("fixtures/products.ndjson");
    let products = products.to_str().unwrap();

    let out = host.run(&["modules", "test", "taxonomy-rules", products]);
    let stdout = stdout_of(&out, 0);
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdicts: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| {
            (
                a["offer_id"].as_str().unwrap(),
                a["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("101", "classified"),
            ("102", "classified"),
            ("103", "classified"),
            ("104", "abstained")
        ]
    );
    assert_eq!(answers[0]["category_slug"], "kitchen.kettles");
    assert_eq!(answers[2]["gender"], "women");
    assert_contains(
        &output::text(&out.stderr),
        &["taxonomy-rules: 4 products: 3 classified, 1 abstained, 0 failed; 0 tokens"],
    );

    // A tenant's taxonomy through --config; a broken one is the module's typed error.
    let out = host.run(&[
        "modules",
        "test",
        "taxonomy-rules",
        products,
        "--config",
        "taxonomy=[[category]]\nslug = \"x\"\nrule = [{ field = \"name\", keywords = [\"a\"], weight = -1 }]",
    ]);
    assert_contains(
        &stderr_of(&out, 1),
        &[
            "error[InvalidInput]",
            "config key `taxonomy`: category 1: `x` rule 1: weight -1",
        ],
    );
    // Input that is not products names the line.
    let bad = host.write(
        "bad.ndjson",
        "{\"offer_id\":\"1\",\"name\":\"a\"}\n\nnot json\n",
    );
    let out = host.run(&["modules", "test", "taxonomy-rules", &bad]);
    assert_contains(&stderr_of(&out, 2), &["bad.ndjson line 3 is not a product"]);

    let out = host.run(&["modules", "validate", "--modules", "taxonomy-rules"]);
    assert_contains(
        &stdout_of(&out, 0),
        &["ok   taxonomy-rules@0.1.0", "3 of 4 products classified"],
    );
    let manifest = std::fs::read_to_string(dir.join("module.toml")).unwrap();
    std::fs::write(
        dir.join("module.toml"),
        manifest.replace("classified = 3", "classified = 4"),
    )
    .unwrap();
    let out = host.run(&["modules", "validate", "--modules", "taxonomy-rules"]);
    assert_contains(
        &stdout_of(&out, 1),
        &["expected 4 classified, got 3 of 4 products classified"],
    );
}
