//! Fleet-wide releases with real processes' parts: PostgreSQL (a fresh database per test),
//! SeaweedFS for the bucket, and hosts that are `LiveModules` with their own data and modules
//! directories, as on separate machines. Publishing, rolling back, a host refusing what its
//! limits do not allow, and several hosts starting at once on an empty fleet.

#![allow(clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_fleet::{Action, Fleet, FollowSettings, FollowState, follow, sync_once};
use contextworker_registry::{LiveModules, MODULE_VERSIONS_FOLDER, Manifest, VersionStore};
use contextworker_runtime::{Runtime, RuntimeConfig};
use contextworker_storage::NamedObjects;
use contextworker_test_support::object_server::ObjectServer;
use contextworker_test_support::postgres::TestDatabase;
use contextworker_test_support::{component_variant, guest, target_dir, workspace_root};
use contextworker_types::{BucketUrl, DataDir, Digest};

const MIB: u64 = 1024 * 1024;

fn shared(server: &ObjectServer) -> NamedObjects {
    let url: BucketUrl = server.url("fleet").parse().expect("bucket url");
    let builder = server.s3_builder();
    NamedObjects::s3_with(
        builder,
        url,
        MODULE_VERSIONS_FOLDER,
        contextworker_storage::RIDE_OUT,
    )
    .expect("shared store")
}

/// A modules directory holding the real `yml` and its self-test inputs.
fn modules_dir(root: &Path, component: &[u8], manifest: &str) -> PathBuf {
    let repo = workspace_root().join("modules/yml");
    let dir = root.join("modules/yml");
    std::fs::create_dir_all(dir.join("fixtures")).expect("module dir");
    for f in ["basic.xml", "no-offers-wrapper.xml"] {
        std::fs::copy(repo.join("fixtures").join(f), dir.join("fixtures").join(f))
            .expect("fixture");
    }
    std::fs::write(dir.join("module.toml"), manifest).expect("manifest");
    std::fs::write(dir.join("yml.wasm"), component).expect("component");
    root.join("modules")
}

fn yml() -> (Vec<u8>, String) {
    let bytes = std::fs::read(guest("yml")).expect("yml built");
    let manifest = std::fs::read_to_string(workspace_root().join("modules/yml/module.toml"))
        .expect("manifest");
    (bytes, manifest)
}

fn runtime(max_memory_mb: u64) -> Arc<Runtime> {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(target_dir().join("test-compile-cache")),
        max_memory_bytes: max_memory_mb * MIB,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

/// One host: its own disk, the fleet's bucket.
struct Host {
    _root: tempfile::TempDir,
    live: Arc<LiveModules>,
    settings: FollowSettings,
}

impl Host {
    async fn start(server: &ObjectServer, identity: &str, max_memory_mb: u64) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let (bytes, manifest) = yml();
        let dir = modules_dir(root.path(), &bytes, &manifest);
        let (live, report) = LiveModules::start(
            runtime(max_memory_mb),
            &dir,
            None,
            &DataDir::new(root.path().join("data")),
            Some(shared(server)),
            false,
        )
        .await
        .expect("modules start");
        assert!(report.refused.is_empty(), "{report:?}");
        Self {
            _root: root,
            live,
            settings: FollowSettings {
                identity: identity.to_owned(),
                host_version: "test".to_owned(),
                // Long: a host that swaps quickly was told, not polling.
                poll: Duration::from_secs(60),
            },
        }
    }

    fn serving(&self) -> Digest {
        self.live.get("yml").expect("yml").component.digest()
    }
}

/// What `modules publish` does once it has validated a build: keep it in the bucket (with its
/// self-test inputs), then release it. The publisher's files are gone afterwards, as on a
/// laptop that published and went home.
async fn publish(server: &ObjectServer, fleet: &Fleet, component: &[u8], manifest: &str) -> Digest {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = modules_dir(root.path(), component, manifest);
    let manifest = Manifest::read(&dir.join("yml/module.toml"), u64::MAX).expect("manifest");
    let store = VersionStore::new(root.path().join("versions")).with_shared(shared(server));
    let digest = Digest::of(component);
    let record = store
        .keep(&manifest, digest, component, true)
        .expect("kept");
    store.share(&record, component).await.expect("shared");
    fleet
        .release(
            "yml",
            &digest,
            &manifest.version.to_string(),
            Action::Publish,
            "laptop",
        )
        .await
        .expect("released")
        .expect("a new release");
    digest
}

/// How long until every host serves `digest` (at most `limit`).
async fn until_served(hosts: &[&Host], digest: Digest, limit: Duration) -> Duration {
    let started = Instant::now();
    while hosts.iter().any(|h| h.serving() != digest) {
        assert!(
            started.elapsed() < limit,
            "not every host serves {digest} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_reaches_every_host_a_rollback_returns_them_and_a_refusal_is_reported() {
    let database = TestDatabase::create("fleet");
    let url = database.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = ObjectServer::start(dir.path(), "releases");
    // Two hosts meet an empty database at the same moment: both set it up.
    let (a, b) = tokio::join!(Fleet::connect(&url), Fleet::connect(&url));
    let (fleet_a, fleet_b) = (a.expect("host a connects"), b.expect("host b connects"));
    let (host_a, host_b) = tokio::join!(
        Host::start(&server, "host-a", 1024),
        Host::start(&server, "host-b", 1024)
    );
    let original = host_a.serving();
    // Both find the module unreleased; one of them makes the first release.
    let (mut state_a, mut state_b) = (FollowState::default(), FollowState::default());
    let (ra, rb) = tokio::join!(
        sync_once(&fleet_a, &host_a.live, &host_a.settings, &mut state_a),
        sync_once(&fleet_b, &host_b.live, &host_b.settings, &mut state_b)
    );
    ra.expect("host a syncs");
    rb.expect("host b syncs");
    let history = fleet_a.history("yml").await.expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (history[0].action, history[0].digest),
        (Action::First, original)
    );

    let followers = [
        tokio::spawn(follow(
            fleet_a.clone(),
            Arc::clone(&host_a.live),
            host_a.settings.clone(),
        )),
        tokio::spawn(follow(
            fleet_b.clone(),
            Arc::clone(&host_b.live),
            host_b.settings.clone(),
        )),
    ];
    // Let both listeners subscribe before the announcement.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (bytes, manifest) = yml();
    let v2 = publish(&server, &fleet_a, &component_variant(&bytes, 2), &manifest).await;
    let took = until_served(&[&host_a, &host_b], v2, Duration::from_secs(20)).await;
    eprintln!("publish → both hosts serve it: {} ms", took.as_millis());

    let back = fleet_b.rollback("yml", "operator").await.expect("rollback");
    assert_eq!(
        (back.action, back.digest, back.previous),
        (Action::Rollback, original, Some(v2))
    );
    let took = until_served(&[&host_a, &host_b], original, Duration::from_secs(20)).await;
    eprintln!("rollback → both hosts serve it: {} ms", took.as_millis());

    // A third host whose sandbox allows less memory than the next version asks for.
    let host_c = Host::start(&server, "host-c", 200).await;
    let mut state_c = FollowState::default();
    sync_once(&fleet_a, &host_c.live, &host_c.settings, &mut state_c)
        .await
        .expect("host c syncs");
    assert_eq!(host_c.serving(), original);
    let greedy = manifest.replace("memory_mb = 128", "memory_mb = 256");
    assert_ne!(greedy, manifest);
    let v3 = publish(&server, &fleet_a, &component_variant(&bytes, 3), &greedy).await;
    until_served(&[&host_a, &host_b], v3, Duration::from_secs(20)).await;
    sync_once(&fleet_a, &host_c.live, &host_c.settings, &mut state_c)
        .await
        .expect("host c syncs");
    assert_eq!(host_c.serving(), original, "host c keeps what it can run");
    let hosts = fleet_a.hosts().await.expect("hosts");
    let c = hosts
        .iter()
        .find(|h| h.identity == "host-c")
        .expect("host c reported");
    assert!(
        c.refusals
            .iter()
            .any(|r| r.starts_with(&format!("yml {}: ", v3.short())) && r.contains("256")),
        "{c:?}"
    );
    assert_eq!(c.modules["yml"].digest, original.to_string());
    for id in ["host-a", "host-b"] {
        let h = hosts.iter().find(|h| h.identity == id).expect("reported");
        assert_eq!(h.modules["yml"].digest, v3.to_string(), "{h:?}");
        assert!(h.refusals.is_empty(), "{h:?}");
    }
    let actions: Vec<Action> = fleet_a
        .history("yml")
        .await
        .expect("history")
        .iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        [
            Action::Publish,
            Action::Rollback,
            Action::Publish,
            Action::First
        ]
    );
    for follower in followers {
        follower.abort();
    }
}
