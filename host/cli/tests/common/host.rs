//! A host run command by command, without a Temporal server: a private data directory and a
//! modules directory holding simple-tsv and text-stats, copied from the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use contextworker_test_support::{guest, workspace_root};

pub struct Host {
    pub data: tempfile::TempDir,
    pub modules: tempfile::TempDir,
}

impl Host {
    /// A host with a private data dir and a modules dir holding simple-tsv and text-stats.
    pub fn new() -> Self {
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
    pub fn add_module(&self, name: &str, component: &Path, manifest: Option<&str>) -> PathBuf {
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

    /// A file in the data directory with `contents`; its path as text.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.data.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Output {
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

    /// A host whose suppliers directory holds the repository's demo supplier and its feed.
    pub fn with_demo_supplier() -> (Self, tempfile::TempDir) {
        let host = Self::new();
        host.add_module("yml", &guest("yml"), None);
        let suppliers = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(suppliers.path().join("feeds")).unwrap();
        let src = workspace_root().join("suppliers");
        for file in ["demo.toml", "feeds/demo.xml"] {
            std::fs::copy(src.join(file), suppliers.path().join(file)).unwrap();
        }
        (host, suppliers)
    }
}

/// simple-tsv's sample feed: three products.
pub fn fixture() -> String {
    workspace_root()
        .join("modules/simple-tsv/fixtures/sample.tsv")
        .display()
        .to_string()
}

/// A guest component's path as text.
pub fn wasm(package: &str) -> String {
    guest(package).display().to_string()
}

/// The lines of an NDJSON stdout, each parsed.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// A command's stdout as one JSON document.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}
