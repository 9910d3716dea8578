//! Helpers shared by the integration tests: guests are built from source on first use (no
//! `.wasm` is committed), and a few process measurements.

#![allow(clippy::panic, clippy::expect_used)]

pub mod feed_server;
pub mod feedgen;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` or `<root>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Build the guest crate `package` for wasm32-wasip2 (profile `module`) once per test process
/// and return the component's path. Building is incremental: a no-op when nothing changed.
pub fn guest(package: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // A separate target directory: the one running this test may be locked by cargo.
    let target = target_dir().join("guests");
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--profile",
            "module",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
        ])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building guest {package} failed");
    let path = target
        .join("wasm32-wasip2/module")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.is_file(), "{} missing after build", path.display());
    built.insert(package.to_owned(), path.clone());
    path
}

/// Resident set size of this process in bytes (Linux), from /proc/self/status `VmRSS`.
pub fn rss_bytes() -> u64 {
    proc_status_kib("VmRSS:") * 1024
}

/// Peak resident set size of this process in bytes (Linux), `VmHWM`.
pub fn peak_rss_bytes() -> u64 {
    proc_status_kib("VmHWM:") * 1024
}

fn proc_status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
