//! Helpers shared by the integration tests: guests are built from source on first use (no
//! `.wasm` is committed), and a few process measurements.

#![allow(clippy::panic, clippy::expect_used)]

pub mod feed_server;
pub mod feedgen;
pub mod http1;
pub mod llm_server;
pub mod object_server;
pub mod postgres;
pub mod tcp_proxy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    // Cargo sets CARGO_MANIFEST_DIR for the running test: walk up from it to the workspace.
    // The compile-time value is only a fallback, because this crate's build may be reused by a
    // checkout at another path that shares the target directory.
    let from_runtime = std::env::var_os("CARGO_MANIFEST_DIR").and_then(|dir| {
        Path::new(&dir)
            .ancestors()
            .find(|d| d.join("Cargo.lock").is_file())
            .map(Path::to_path_buf)
    });
    from_runtime
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
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
            "--locked",
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

/// `component` with a custom section appended: the same code under a different digest, as a
/// rebuilt module would be. Tests use it to make new versions without building guests.
pub fn component_variant(component: &[u8], n: u32) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut v: usize) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"contextworker-test-variant";
    let mut section = Vec::new();
    leb(&mut section, name.len());
    section.extend_from_slice(name);
    section.extend_from_slice(&n.to_le_bytes());
    let mut out = component.to_vec();
    out.push(0); // a custom section
    leb(&mut out, section.len());
    out.extend_from_slice(&section);
    out
}

/// Replace `path` the way a careful deploy does: write a temp file beside it, rename it over.
pub fn land(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("landing");
    std::fs::write(&tmp, bytes).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename into place");
}

/// Resident set size of this process in bytes (Linux), from /proc/self/status `VmRSS`.
pub fn rss_bytes() -> u64 {
    proc_status_kib("VmRSS:") * 1024
}

/// Peak resident set size of this process in bytes (Linux), `VmHWM`.
pub fn peak_rss_bytes() -> u64 {
    proc_status_kib("VmHWM:") * 1024
}

/// Resident set size of process `pid` in bytes (Linux).
pub fn process_rss_bytes(pid: u32) -> u64 {
    status_kib(&format!("/proc/{pid}/status"), "VmRSS:") * 1024
}

/// Threads of process `pid` whose name (`comm`, at most 15 bytes) is `name`.
pub fn process_threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == name)
        })
        .count()
}

/// CPU time process `pid` has used so far (user + system), in clock ticks (proc(5)).
pub fn process_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: indices 11 and 12 after the name
    // (field 3, the state, is index 0).
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tick(11) + tick(12)
}

fn proc_status_kib(key: &str) -> u64 {
    status_kib("/proc/self/status", key)
}

fn status_kib(path: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
