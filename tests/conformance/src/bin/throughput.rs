//! Parser throughput, the same transformer compiled natively and run as a wasm component in
//! the host, measured in one run on the same generated feed, interleaved (native, wasm,
//! native, wasm, ...) so machine noise hits both alike.
//!
//! `cargo run --release -p contextworker-conformance --bin throughput [OFFERS] [PAIRS]`
//!
//! `... --bin throughput ab MODULE A.wasm B.wasm [OFFERS] [PAIRS]` compares two builds of one
//! module instead (A B A B ... on the same generated feed): is a change to a parser faster?

#![allow(clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use contextworker_conformance::{run_file, runtime, transformer};
use contextworker_guest::{Config, Transformer, native};
use contextworker_test_support::feedgen;

struct Sample {
    secs: f64,
    products: u64,
}

fn native_run<T: Transformer>(path: &Path, config: &Config) -> Sample {
    let started = Instant::now();
    let file = std::fs::File::open(path).expect("feed opens");
    let products = native::transform_streaming::<T>(file, config, |p| {
        std::hint::black_box(p);
    })
    .expect("native parse succeeds");
    Sample {
        secs: started.elapsed().as_secs_f64(),
        products,
    }
}

/// One transformer to compare: its module, a feed generator and the native entry point.
struct Case {
    module: &'static str,
    ext: &'static str,
    native: fn(&Path, &Config) -> Sample,
    config: Vec<(&'static str, &'static str)>,
    generate: fn(BufWriter<std::fs::File>, usize, u64) -> std::io::Result<()>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cases() -> [Case; 3] {
    [
        Case {
            module: "yml",
            ext: "xml",
            native: native_run::<yml::Yml>,
            config: vec![],
            generate: feedgen::write_yml,
        },
        Case {
            module: "google-merchant",
            ext: "xml",
            native: native_run::<google_merchant::GoogleMerchant>,
            config: vec![],
            generate: feedgen::write_gmc_rss,
        },
        Case {
            module: "csv-module",
            ext: "csv",
            native: native_run::<csv_module::Csv>,
            config: vec![("delimiter", ";")],
            generate: feedgen::write_csv,
        },
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("ab") {
        let (Some(module), Some(a), Some(b)) = (args.get(1), args.get(2), args.get(3)) else {
            eprintln!("usage: throughput ab MODULE A.wasm B.wasm [OFFERS] [PAIRS]");
            std::process::exit(2);
        };
        let (offers, pairs) = sizes(args.get(4..).unwrap_or_default());
        return compare_builds(module, Path::new(a), Path::new(b), offers, pairs).await;
    }
    let (offers, pairs) = sizes(&args);
    let dir = scratch_dir();
    let rt = runtime();

    println!(
        "| module | feed | native MB/s | wasm MB/s | native products/s | wasm products/s | wasm/native (median of pair ratios) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for Case {
        module,
        ext,
        native: native_fn,
        config,
        generate,
    } in cases()
    {
        let path = dir.join(format!("{module}.{ext}"));
        write_feed(generate, &path, offers);
        let mb = std::fs::metadata(&path).expect("stat").len() as f64 / 1e6;
        let native_config = Config::new(config.iter().copied());
        let component = transformer(&rt, module).await;
        let (mut ratios, mut native_mbs, mut wasm_mbs, mut native_pps, mut wasm_pps) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..pairs {
            let n = tokio::task::block_in_place(|| native_fn(&path, &native_config));
            let started = Instant::now();
            let w = run_file(&rt, &component, module, &path, &config).await;
            let wasm_secs = started.elapsed().as_secs_f64();
            w.result.expect("wasm parse succeeds");
            assert_eq!(
                n.products, w.products,
                "native and wasm disagree on {module}"
            );
            ratios.push(n.secs / wasm_secs);
            native_mbs.push(mb / n.secs);
            wasm_mbs.push(mb / wasm_secs);
            native_pps.push(n.products as f64 / n.secs);
            wasm_pps.push(w.products as f64 / wasm_secs);
        }
        println!(
            "| {module} | {offers} offers, {mb:.1} MB | {:.1} | {:.1} | {:.0} | {:.0} | {:.2}× (min {:.2}, max {:.2}) |",
            median(native_mbs),
            median(wasm_mbs),
            median(native_pps),
            median(wasm_pps),
            median(ratios.clone()),
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        let _ = std::fs::remove_file(&path);
    }
}

/// `[OFFERS] [PAIRS]`, defaulting to 100,000 offers and 3 pairs.
fn sizes(args: &[String]) -> (usize, usize) {
    let number = |i: usize, default| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    (number(0, 100_000), number(1, 3))
}

/// Every comparison uses the same seed, so runs on different days parse the same feed.
fn write_feed(
    generate: fn(BufWriter<std::fs::File>, usize, u64) -> std::io::Result<()>,
    path: &Path,
    offers: usize,
) {
    generate(
        BufWriter::new(std::fs::File::create(path).expect("create")),
        offers,
        7,
    )
    .expect("generate");
}

fn scratch_dir() -> std::path::PathBuf {
    let dir = contextworker_test_support::target_dir().join("throughput");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Two builds of one module on the same generated feed, alternated; prints the median ratio of
/// B's speed to A's (above 1: B is faster).
async fn compare_builds(module: &str, a: &Path, b: &Path, offers: usize, pairs: usize) {
    let Some(case) = cases().into_iter().find(|c| c.module == module) else {
        eprintln!("unknown module {module:?}: one of yml, google-merchant, csv-module");
        std::process::exit(2);
    };
    let path = scratch_dir().join(format!("ab-{module}.{}", case.ext));
    write_feed(case.generate, &path, offers);
    let rt = runtime();
    let mut loaded = Vec::new();
    for build in [a, b] {
        let component = rt
            .load_file(
                build,
                contextworker_types::World::Transformer,
                contextworker_runtime::Metering::Epoch,
            )
            .await;
        match component {
            Ok(component) => loaded.push(component),
            Err(e) => {
                eprintln!("{} does not load: {e}", build.display());
                std::process::exit(2);
            }
        }
    }
    let [a_component, b_component] = [&loaded[0], &loaded[1]];
    let mut ratios = Vec::new();
    for pair in 1..=pairs {
        let (a_secs, a_products) = timed(&rt, a_component, module, &path, &case.config).await;
        let (b_secs, b_products) = timed(&rt, b_component, module, &path, &case.config).await;
        assert_eq!(
            a_products, b_products,
            "A and B disagree on the product count"
        );
        println!("pair {pair}: A {a_secs:.3} s, B {b_secs:.3} s");
        ratios.push(a_secs / b_secs);
    }
    println!(
        "{module}, {offers} offers: B's speed / A's = {:.3} (median of {pairs} pairs; min {:.3}, max {:.3})",
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    let _ = std::fs::remove_file(&path);
}

async fn timed(
    rt: &contextworker_runtime::Runtime,
    component: &contextworker_runtime::LoadedComponent,
    module: &str,
    path: &Path,
    config: &[(&str, &str)],
) -> (f64, u64) {
    let started = Instant::now();
    let run = run_file(rt, component, module, path, config).await;
    run.result.expect("parse succeeds");
    (started.elapsed().as_secs_f64(), run.products)
}
