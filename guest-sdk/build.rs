//! Decides whether the WIT bindings are compiled: only for wasm32 with exactly one world feature.
use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(guest_bindings)");
    let wasm = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let worlds = ["TRANSFORMER", "CLASSIFIER", "ENRICHER", "CODE"]
        .iter()
        .filter(|w| env::var_os(format!("CARGO_FEATURE_{w}")).is_some())
        .count();
    if wasm && worlds > 1 {
        // Cargo unifies features across the packages of one build: build each module on its own.
        println!(
            "cargo::warning=contextworker-guest: more than one world feature is enabled for a wasm32 build; \
             build one module per `cargo build -p <module>` invocation"
        );
    }
    if wasm && worlds >= 1 {
        println!("cargo::rustc-cfg=guest_bindings");
    }
}
