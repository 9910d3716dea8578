//! A modules directory in a temp dir with the real `yml` transformer, and ways to change it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use contextworker_registry::{LiveModules, Module, ReloadReport};
use contextworker_runtime::{Counting, FeedInput, Runtime, RuntimeConfig};
use contextworker_storage::NamedObjects;
use contextworker_types::Digest;

pub struct Fixture {
    pub root: tempfile::TempDir,
    pub runtime: Arc<Runtime>,
    pub yml_bytes: Vec<u8>,
    pub yml_digest: Digest,
    manifest: String,
}

pub use contextworker_test_support::{component_variant as variant, land};

impl Fixture {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let repo = contextworker_test_support::workspace_root().join("modules/yml");
        let dir = root.path().join("modules/yml");
        std::fs::create_dir_all(dir.join("fixtures")).expect("module dir");
        for f in ["basic.xml", "no-offers-wrapper.xml"] {
            std::fs::copy(repo.join("fixtures").join(f), dir.join("fixtures").join(f))
                .expect("fixture");
        }
        let manifest = std::fs::read_to_string(repo.join("module.toml")).expect("manifest");
        std::fs::write(dir.join("module.toml"), &manifest).expect("manifest");
        let yml_bytes = std::fs::read(contextworker_test_support::guest("yml")).expect("yml");
        std::fs::write(dir.join("yml.wasm"), &yml_bytes).expect("component");
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(contextworker_test_support::target_dir().join("test-compile-cache")),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        Self {
            root,
            runtime,
            yml_digest: Digest::of(&yml_bytes),
            yml_bytes,
            manifest,
        }
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.root.path().join("modules")
    }

    pub fn module_dir(&self) -> PathBuf {
        self.modules_dir().join("yml")
    }

    pub fn data_dir(&self) -> contextworker_types::DataDir {
        contextworker_types::DataDir::new(self.root.path().join("data"))
    }

    pub fn feed(&self) -> PathBuf {
        self.module_dir().join("fixtures/basic.xml")
    }

    pub fn manifest_text(&self) -> String {
        self.manifest.clone()
    }

    pub fn put_component(&self, bytes: &[u8]) {
        land(&self.module_dir().join("yml.wasm"), bytes);
    }

    pub fn put_manifest(&self, text: &str) {
        land(&self.module_dir().join("module.toml"), text.as_bytes());
    }

    pub async fn start(&self) -> (Arc<LiveModules>, ReloadReport) {
        self.start_shared(None).await
    }

    /// Start as one host of a fleet whose module versions are in `shared`.
    pub async fn start_shared(
        &self,
        shared: Option<NamedObjects>,
    ) -> (Arc<LiveModules>, ReloadReport) {
        LiveModules::start(
            self.runtime.clone(),
            &self.modules_dir(),
            None,
            &self.data_dir(),
            shared,
            false,
        )
        .await
        .expect("modules start")
    }
}

/// Version `digest` of yml as `live` reaches it (`from`: its own store, or the fleet's bucket):
/// that very build, and it parses the three products of `feed`.
pub async fn assert_pinned_yml_parses(
    live: &LiveModules,
    digest: &Digest,
    feed: &Path,
    from: &str,
) {
    let pinned = live.version("yml", digest).await.expect(from);
    assert_eq!(pinned.component.digest(), *digest);
    assert_eq!(transform_count(live, &pinned, feed).await, 3);
}

/// Parse `feed` with `module` and count the products.
pub async fn transform_count(live: &LiveModules, module: &Module, feed: &Path) -> u64 {
    let input = FeedInput::open(feed).await.expect("feed");
    let (outcome, counted) = live
        .runtime()
        .transform_into(
            &module.component,
            &module.call_spec(&[]),
            input,
            Counting::default(),
        )
        .await;
    outcome.result.expect("parse succeeds");
    counted.expect("counter").products
}
