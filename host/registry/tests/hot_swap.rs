//! Hot swap at the registry level: real components, a real modules directory, the version
//! store on disk. The worker-level tests (200 activities under load, pinning across a worker
//! restart) are in `host/cli/tests/hotswap.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Fixture, assert_pinned_yml_parses, transform_count, variant};
use contextworker_registry::{LiveModules, ReloadCause, watch};
use contextworker_runtime::CancellationToken;
use contextworker_types::Digest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_goes_live_and_calls_already_holding_the_old_one_finish_on_it() {
    let fx = Fixture::new();
    let (live, first) = fx.start().await;
    assert_eq!(first.swapped.len(), 1, "{first:?}");
    let before = live.get("yml").expect("yml loaded");
    let v1 = variant(&fx.yml_bytes, 1);
    fx.put_component(&v1);
    let report = live.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    let swap = &report.swapped[0];
    assert_eq!(swap.from.as_ref().map(|f| f.digest), Some(fx.yml_digest));
    assert_eq!(swap.to.digest, Digest::of(&v1));
    assert!(swap.landed_to_live_ms.is_some(), "a landed file is timed");
    let after = live.get("yml").expect("yml loaded");
    assert_eq!(after.component.digest(), Digest::of(&v1));
    // The snapshot taken before the swap still calls the old version.
    assert_eq!(before.component.digest(), fx.yml_digest);
    assert_eq!(transform_count(&live, &before, &fx.feed()).await, 3);
    assert_eq!(transform_count(&live, &after, &fx.feed()).await, 3);
    // Both versions are kept, the older one reachable by digest.
    let kept = live
        .version("yml", &fx.yml_digest)
        .await
        .expect("old version kept");
    assert_eq!(kept.component.digest(), fx.yml_digest);
    assert_eq!(live.store().history("yml").len(), 2);
    // Reloading an unchanged directory changes nothing.
    let again = live.reload(ReloadCause::Signal).await;
    assert!(!again.changed() && again.refused.is_empty(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_candidates_never_go_live_and_the_current_version_keeps_serving() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let text_stats = std::fs::read(contextworker_test_support::guest("text-stats")).unwrap();
    let manifest = fx.manifest_text();
    let half = fx.yml_bytes[..fx.yml_bytes.len() / 2].to_vec();
    let cases: Vec<(&str, Vec<u8>, String, &str)> = vec![
        ("truncated", half, manifest.clone(), "yml.wasm"),
        (
            "not a component",
            b"<html>oops</html>".to_vec(),
            manifest.clone(),
            "magic bytes",
        ),
        (
            "a core module",
            b"\0asm\x01\0\0\0".to_vec(),
            manifest.clone(),
            "core WebAssembly module",
        ),
        (
            "wrong world",
            text_stats.clone(),
            manifest.clone(),
            "transformer",
        ),
        (
            "failing self-test",
            variant(&fx.yml_bytes, 7),
            manifest.replacen("products = 3", "products = 4", 1),
            "self-test",
        ),
        (
            "world change without a major version",
            text_stats.clone(),
            as_code_module(&manifest, "0.2.0"),
            "without a new major version",
        ),
        (
            "a lower version that was never live",
            variant(&fx.yml_bytes, 8),
            manifest.replace("version = \"0.1.0\"", "version = \"0.0.9\""),
            "modules rollback yml",
        ),
        (
            "a broken manifest",
            variant(&fx.yml_bytes, 9),
            format!("{manifest}\ncolour = \"red\"\n"),
            "unknown field `colour`",
        ),
    ];
    for (what, bytes, text, expected) in cases {
        fx.put_manifest(&text);
        fx.put_component(&bytes);
        let report = live.reload(ReloadCause::Signal).await;
        assert!(report.swapped.is_empty(), "{what}: went live: {report:?}");
        assert_eq!(report.refused.len(), 1, "{what}: {report:?}");
        let reason = &report.refused[0].reason;
        assert!(
            reason.contains(expected),
            "{what}: {expected:?} not in {reason}"
        );
        let serving = live.get("yml").expect("still loaded");
        assert_eq!(serving.component.digest(), fx.yml_digest, "{what}");
        assert_eq!(
            transform_count(&live, &serving, &fx.feed()).await,
            3,
            "{what}"
        );
        // The same broken input is reported once, not on every reload.
        let again = live.reload(ReloadCause::Signal).await;
        assert!(
            again.refused.is_empty(),
            "{what}: reported twice: {again:?}"
        );
    }
    assert_eq!(live.status().counters.refusals, 8);
    // A valid file after all that goes live.
    fx.put_manifest(&manifest);
    let good = variant(&fx.yml_bytes, 10);
    fx.put_component(&good);
    let report = live.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    assert_eq!(
        live.get("yml").unwrap().component.digest(),
        Digest::of(&good)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_change_with_a_new_major_version_is_allowed() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let text_stats = std::fs::read(contextworker_test_support::guest("text-stats")).unwrap();
    let manifest = as_code_module(&fx.manifest_text(), "1.0.0");
    fx.put_manifest(&manifest);
    fx.put_component(&text_stats);
    let report = live.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    assert_eq!(live.get("yml").unwrap().manifest.version.major, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_ignores_temp_files_refuses_half_a_file_and_swaps_the_whole_one() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let stop = watching(&live, Duration::from_millis(100), Duration::from_secs(3600));
    let mut changes = live.subscribe();

    // A temp file beside the component is not the component: no reload follows it. Absence
    // is observed over five debounce periods (the only way to see a reload that never comes).
    let before = live.status().counters.reloads;
    std::fs::write(fx.module_dir().join("yml.wasm.tmp"), b"partial").unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(500), changes.changed()).await;
    assert!(quiet.is_err(), "a temp file caused a reload");
    assert_eq!(live.status().counters.reloads, before);
    // Half a component written in place is refused; the old version keeps serving.
    // A digest never seen before, so the figure below includes a real compile, not a cache hit.
    let fresh = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let v2 = variant(&fx.yml_bytes, fresh);
    std::fs::write(fx.module_dir().join("yml.wasm"), &v2[..v2.len() / 3]).unwrap();
    wait_for(&mut changes, &live, |l| l.status().counters.refusals >= 1).await;
    assert_eq!(live.get("yml").unwrap().component.digest(), fx.yml_digest);

    // The rest of it lands: it goes live, timed from the file landing.
    let landed = Instant::now();
    std::fs::write(fx.module_dir().join("yml.wasm"), &v2).unwrap();
    wait_for(&mut changes, &live, |l| {
        l.get("yml").unwrap().component.digest() == Digest::of(&v2)
    })
    .await;
    let visible = landed.elapsed();
    println!(
        "swap visible to new calls {} ms after the file landed (debounce 100 ms)",
        visible.as_millis()
    );
    let status = live.status();
    assert_eq!(status.counters.swaps, 1, "{status:?}");
    stop.cancel();
}

/// Watch the modules directory of `live` (`debounce` after a change, a full poll every
/// `poll`) until the returned token is cancelled.
fn watching(live: &Arc<LiveModules>, debounce: Duration, poll: Duration) -> CancellationToken {
    let stop = CancellationToken::new();
    watch(Arc::clone(live), debounce, poll, stop.clone()).expect("watching");
    stop
}

/// Wait, reload by reload, until `done` holds (or 60 s).
async fn wait_for(
    changes: &mut tokio::sync::watch::Receiver<u64>,
    live: &LiveModules,
    done: impl Fn(&LiveModules) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(live) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out; status: {:?}", live.status());
        let _ = tokio::time::timeout(left, changes.changed()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_a_kept_version_and_a_restart_keeps_it() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    swapped_to_a_variant(&fx, &live).await;
    let record = live
        .store()
        .find("yml", &fx.yml_digest.hex()[..8])
        .expect("kept");
    live.store()
        .restore(&record, &fx.module_dir().join("module.toml"), 1 << 30)
        .expect("restored");
    let report = live.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    assert_eq!(report.swapped[0].to.digest, fx.yml_digest);
    assert_eq!(
        std::fs::read(fx.module_dir().join("yml.wasm")).unwrap(),
        fx.yml_bytes
    );
    drop(live);
    let (restarted, _) = fx.start().await;
    assert_eq!(
        restarted.get("yml").unwrap().component.digest(),
        fx.yml_digest
    );
    // An unknown prefix names what is kept.
    let err = restarted
        .store()
        .find("yml", "ffffffff")
        .unwrap_err()
        .to_string();
    assert!(err.contains(&fx.yml_digest.short()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_candidate_is_staged_beside_the_active_version_and_survives_a_restart() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let v1 = variant(&fx.yml_bytes, 1);
    let shadow = format!("{}\n[rollout]\nshadow = true\n", fx.manifest_text());
    fx.put_manifest(&shadow);
    fx.put_component(&v1);
    let report = live.reload(ReloadCause::Signal).await;
    assert!(report.swapped.is_empty(), "{report:?}");
    assert_eq!(report.staged.len(), 1, "{report:?}");
    assert_shadowed(&live, fx.yml_digest, Digest::of(&v1));
    drop(live);

    // After a restart the directory holds the candidate; the active version comes back
    // from the store.
    let (restarted, _) = fx.start().await;
    assert_shadowed(&restarted, fx.yml_digest, Digest::of(&v1));

    // Promotion: drop the shadow flag.
    fx.put_manifest(&fx.manifest_text());
    let report = restarted.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    let snapshot = restarted.snapshot();
    assert_eq!(
        snapshot.get("yml").unwrap().component.digest(),
        Digest::of(&v1)
    );
    assert!(snapshot.candidate("yml").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_version_is_loaded_from_the_store_by_another_process() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let v1 = swapped_to_a_variant(&fx, &live).await;
    drop(live);
    // A fresh process (same data directory) serves v1 and can still run the original.
    let (other, _) = fx.start().await;
    assert_eq!(
        other.get("yml").unwrap().component.digest(),
        Digest::of(&v1)
    );
    assert_pinned_yml_parses(&other, &fx.yml_digest, &fx.feed(), "from the store").await;
    let missing = other
        .version("yml", &Digest::of(b"never seen"))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("not kept"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_a_refused_file_serves_the_last_live_version() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    fx.put_component(b"\0asm\x0d\0\x01\0 broken");
    assert_eq!(live.reload(ReloadCause::Signal).await.refused.len(), 1);
    drop(live);
    let (restarted, report) = fx.start().await;
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(
        restarted.get("yml").unwrap().component.digest(),
        fx.yml_digest
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_pointed_symlinked_directory_is_picked_up_by_the_poll() {
    let fx = Fixture::new();
    // modules -> releases/1; the deploy then points it at releases/2 holding a new version.
    let releases = fx.root.path().join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    std::fs::rename(fx.modules_dir(), releases.join("1")).unwrap();
    std::os::unix::fs::symlink(releases.join("1"), fx.modules_dir()).unwrap();
    let (live, _) = fx.start().await;
    let stop = watching(&live, Duration::from_millis(50), Duration::from_millis(300));
    let second = releases.join("2/yml");
    std::fs::create_dir_all(second.join("fixtures")).unwrap();
    for f in [
        "module.toml",
        "fixtures/basic.xml",
        "fixtures/no-offers-wrapper.xml",
    ] {
        std::fs::copy(releases.join("1/yml").join(f), second.join(f)).unwrap();
    }
    let v3 = variant(&fx.yml_bytes, 3);
    std::fs::write(second.join("yml.wasm"), &v3).unwrap();
    let link = fx.root.path().join("modules.next");
    std::os::unix::fs::symlink(releases.join("2"), &link).unwrap();
    std::fs::rename(&link, fx.modules_dir()).unwrap();
    let mut changes = live.subscribe();
    wait_for(&mut changes, &live, |l| {
        l.get("yml").unwrap().component.digest() == Digest::of(&v3)
    })
    .await;
    assert_eq!(live.status().last_reload.cause, ReloadCause::Poll);
    stop.cancel();
}

/// Land a variant of yml and reload: it goes live. Its bytes.
async fn swapped_to_a_variant(fx: &Fixture, live: &LiveModules) -> Vec<u8> {
    let v1 = variant(&fx.yml_bytes, 1);
    fx.put_component(&v1);
    let report = live.reload(ReloadCause::Signal).await;
    assert_eq!(report.swapped.len(), 1, "{report:?}");
    v1
}

/// `active` serves yml, and `candidate` is staged beside it.
fn assert_shadowed(live: &LiveModules, active: Digest, candidate: Digest) {
    let snapshot = live.snapshot();
    let digest_of = |m: Option<&contextworker_registry::Module>| m.map(|m| m.component.digest());
    assert_eq!(digest_of(snapshot.get("yml").as_deref()), Some(active));
    assert_eq!(
        digest_of(snapshot.candidate("yml").as_deref()),
        Some(candidate)
    );
}

/// yml's manifest turned into one for a `code` module at `version`: no self-tests and no
/// `[detect]` table (only transformers parse feeds).
fn as_code_module(manifest: &str, version: &str) -> String {
    let manifest = manifest
        .replace("world = \"transformer\"", "world = \"code\"")
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
    let mut in_detect = false;
    manifest
        .split("[[self_test]]")
        .next()
        .unwrap()
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                in_detect = *line == "[detect]";
            }
            !in_detect
        })
        .map(|line| format!("{line}\n"))
        .collect()
}
