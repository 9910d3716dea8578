//! Kept versions: every module version that went live, by digest, on disk and, in a fleet, in
//! the fleet's bucket.
//!
//! A harvest pins the digest it parses with, and a retry of its parse may run on another
//! worker, after a swap, after a restart, or on another machine: so versions are kept outside
//! the process, in the data directory that workers of one host share and, when the host has a
//! shared object store, under `modules/` in its bucket, where every host of the fleet finds
//! them. Files are content-addressed and written by temp file + rename (a single PUT in the
//! bucket), so concurrent workers never see half a version. The local directory is then a
//! cache of the bucket: a version another host made live is downloaded once, checked against
//! its digest, and kept here like one of this host's own.
//!
//! Layout, the same in both places: `<hex>.wasm` (the component as it was loaded) and
//! `<hex>.json` (a [`VersionRecord`]: the manifest text and when the version was seen and last
//! active).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use contextworker_storage::NamedObjects;
use contextworker_types::Digest;
use serde::{Deserialize, Serialize};

use crate::RegistryError;
use contextworker_manifest::Manifest;

/// The folder of a fleet's bucket that holds its module versions.
pub const MODULE_VERSIONS_FOLDER: &str = "modules";

/// How many versions of one module are kept on disk (the active and staged ones always are).
pub const KEEP_VERSIONS: usize = 10;

/// What is kept about one version of a module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionRecord {
    pub name: String,
    pub version: String,
    pub world: String,
    pub digest: Digest,
    pub size_bytes: u64,
    /// Where the manifest was when this version was loaded; relative paths in its text
    /// (self-test inputs) resolve against it.
    pub manifest_path: PathBuf,
    pub manifest_text: String,
    /// Unix milliseconds.
    pub first_seen_ms: u64,
    /// Unix milliseconds of the last time a worker made this version active; 0 for a version
    /// that was only ever staged as a shadow candidate.
    pub last_active_ms: u64,
}

/// A record is a manifest and a few fields: anything larger in the bucket is not one.
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// A self-test input is a small sample feed; a larger object in the bucket is not one.
const MAX_SELF_TEST_INPUT_BYTES: u64 = 64 << 20;

/// The self-test inputs a record's manifest names, in its order (none when its text does not
/// parse, which a kept record's always did).
fn self_test_inputs(record: &VersionRecord) -> Vec<PathBuf> {
    Manifest::parse(&record.manifest_path, &record.manifest_text, u64::MAX)
        .map(|m| m.self_tests.into_iter().map(|t| t.input).collect())
        .unwrap_or_default()
}

/// The kept versions under one directory, and in the fleet's bucket when there is one.
#[derive(Debug, Clone)]
pub struct VersionStore {
    dir: PathBuf,
    shared: Option<NamedObjects>,
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn store_io(path: &Path, source: &std::io::Error) -> RegistryError {
    RegistryError::Store {
        path: path.to_path_buf(),
        reason: source.to_string(),
    }
}

/// Write `bytes` to `path` so that readers see the old file or the whole new one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    // No fsync: readers need all-or-nothing, which the rename gives; after a crash a lost
    // record only means a version is recompiled from the modules directory.
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl VersionStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            shared: None,
        }
    }

    /// Share versions with the other hosts of a fleet through `shared` (a folder of the
    /// fleet's bucket).
    #[must_use]
    pub fn with_shared(mut self, shared: NamedObjects) -> Self {
        self.shared = Some(shared);
        self
    }

    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn component_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.wasm", digest.hex()))
    }

    /// Where self-test input `index` of a version from the fleet's store is kept.
    fn input_path(&self, digest: &Digest, index: usize) -> PathBuf {
        self.dir
            .join(format!("{}.inputs", digest.hex()))
            .join(index.to_string())
    }

    fn record_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", digest.hex()))
    }

    /// Keep `bytes` (whose digest is `digest`) as a version of the module `manifest` describes.
    /// Keeping a version again updates its manifest text and keeps its history.
    pub fn keep(
        &self,
        manifest: &Manifest,
        digest: Digest,
        bytes: &[u8],
        active: bool,
    ) -> Result<VersionRecord, RegistryError> {
        let wasm = self.component_path(&digest);
        if !wasm.is_file() {
            write_atomically(&wasm, bytes).map_err(|e| store_io(&wasm, &e))?;
        }
        let now = now_ms();
        let previous = self.get(&digest);
        let record = VersionRecord {
            name: manifest.name.to_string(),
            version: manifest.version.to_string(),
            world: manifest.world.to_string(),
            digest,
            size_bytes: bytes.len() as u64,
            manifest_path: manifest.path.clone(),
            manifest_text: manifest.text.clone(),
            first_seen_ms: previous.as_ref().map_or(now, |p| p.first_seen_ms),
            last_active_ms: if active {
                now
            } else {
                previous.as_ref().map_or(0, |p| p.last_active_ms)
            },
        };
        self.write_record(&record)?;
        Ok(record)
    }

    /// Note that `digest` became active now.
    pub fn mark_active(&self, digest: &Digest) -> Result<(), RegistryError> {
        if let Some(mut record) = self.get(digest) {
            record.last_active_ms = now_ms();
            self.write_record(&record)?;
        }
        Ok(())
    }

    fn write_record(&self, record: &VersionRecord) -> Result<(), RegistryError> {
        let path = self.record_path(&record.digest);
        let json = serde_json::to_vec_pretty(record).map_err(|e| RegistryError::Store {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, &json).map_err(|e| store_io(&path, &e))
    }

    /// The record of `digest`, if that version is kept (and its record is readable).
    pub fn get(&self, digest: &Digest) -> Option<VersionRecord> {
        let text = std::fs::read(self.record_path(digest)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Every kept version of `name`, most recently active first (then most recently seen).
    pub fn history(&self, name: &str) -> Vec<VersionRecord> {
        let mut records: Vec<VersionRecord> =
            self.all().into_iter().filter(|r| r.name == name).collect();
        records.sort_by(|a, b| {
            (b.last_active_ms, b.first_seen_ms).cmp(&(a.last_active_ms, a.first_seen_ms))
        });
        records
    }

    fn all(&self) -> Vec<VersionRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| std::fs::read(&p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }

    /// Find a kept version of `name` by a digest or a unique prefix of its hex digits.
    pub fn find(&self, name: &str, prefix: &str) -> Result<VersionRecord, RegistryError> {
        let wanted = prefix
            .trim()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase();
        let history = self.history(name);
        let matches: Vec<&VersionRecord> = history
            .iter()
            .filter(|r| !wanted.is_empty() && r.digest.hex().starts_with(&wanted))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(RegistryError::VersionNotKept {
                name: name.to_owned(),
                digest: prefix.to_owned(),
                kept: history.iter().map(|r| r.digest.short()).collect(),
                shared: false,
            }),
            _ => Err(RegistryError::AmbiguousDigest {
                name: name.to_owned(),
                prefix: prefix.to_owned(),
            }),
        }
    }

    /// The manifest of a kept version, its component pointing at the kept file.
    pub fn manifest(
        &self,
        record: &VersionRecord,
        memory_ceiling: u64,
    ) -> Result<Manifest, RegistryError> {
        let mut manifest =
            Manifest::parse(&record.manifest_path, &record.manifest_text, memory_ceiling)?;
        manifest.component = self.component_path(&record.digest);
        // A version from the fleet's store brought its self-test inputs along.
        for (i, test) in manifest.self_tests.iter_mut().enumerate() {
            let shipped = self.input_path(&record.digest, i);
            if shipped.is_file() {
                test.input = shipped;
            }
        }
        Ok(manifest)
    }

    /// Write a kept version back as the module whose manifest is at `manifest_path`: its
    /// component first, then its manifest, each replaced atomically. Returns the component
    /// path written.
    pub fn restore(
        &self,
        record: &VersionRecord,
        manifest_path: &Path,
        memory_ceiling: u64,
    ) -> Result<PathBuf, RegistryError> {
        let manifest = Manifest::parse(manifest_path, &record.manifest_text, memory_ceiling)?;
        let kept = self.component_path(&record.digest);
        let bytes = std::fs::read(&kept).map_err(|e| store_io(&kept, &e))?;
        if Digest::of(&bytes) != record.digest {
            return Err(RegistryError::Store {
                path: kept,
                reason: format!("the kept file no longer has digest {}", record.digest),
            });
        }
        write_atomically(&manifest.component, &bytes)
            .map_err(|e| store_io(&manifest.component, &e))?;
        write_atomically(manifest_path, record.manifest_text.as_bytes())
            .map_err(|e| store_io(manifest_path, &e))?;
        Ok(manifest.component)
    }

    /// Put a kept version where the fleet's other hosts find it (nothing without a shared
    /// store). The component is uploaded once; the record each time, so the bucket says when
    /// the version was last made active anywhere.
    pub async fn share(
        &self,
        record: &VersionRecord,
        component: &[u8],
    ) -> Result<(), RegistryError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let hex = record.digest.hex();
        let wasm = format!("{hex}.wasm");
        if !shared.exists(&wasm).await? {
            shared.put(&wasm, component.to_vec()).await?;
        }
        let json = serde_json::to_vec_pretty(record).map_err(|e| RegistryError::Store {
            path: shared.describe(&format!("{hex}.json")).into(),
            reason: e.to_string(),
        })?;
        shared.put(&format!("{hex}.json"), json).await?;
        // Self-test inputs travel with the version, so every host can run its self-tests.
        for (i, input) in self_test_inputs(record).iter().enumerate() {
            let name = format!("{hex}.inputs/{i}");
            if shared.exists(&name).await? {
                continue;
            }
            if let Ok(bytes) = std::fs::read(input) {
                shared.put(&name, bytes).await?;
            }
        }
        Ok(())
    }

    /// Make sure the fleet can find kept version `digest` (nothing without a shared store): a
    /// harvest pins a version only once every host can load it. Returns whether it had to be
    /// uploaded.
    pub async fn ensure_shared(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let Some(shared) = &self.shared else {
            return Ok(false);
        };
        if shared.exists(&format!("{}.json", digest.hex())).await? {
            return Ok(false);
        }
        let record = self.get(digest).ok_or_else(|| RegistryError::Store {
            path: self.record_path(digest),
            reason: "the version is not kept on this host, so it cannot be shared".into(),
        })?;
        let wasm = self.component_path(digest);
        let bytes = std::fs::read(&wasm).map_err(|e| store_io(&wasm, &e))?;
        self.share(&record, &bytes).await?;
        Ok(true)
    }

    /// The record of version `digest` of `name`: from this host's directory, or else from the
    /// fleet's bucket, downloaded into the directory after its component is checked against
    /// the digest. `None` when neither has it. Components over `max_component_bytes` are
    /// refused before they are read.
    pub async fn fetch(
        &self,
        name: &str,
        digest: &Digest,
        max_component_bytes: u64,
    ) -> Result<Option<VersionRecord>, RegistryError> {
        if let Some(record) = self.get(digest).filter(|r| r.name == name)
            && self.component_path(digest).is_file()
        {
            return Ok(Some(record));
        }
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        let hex = digest.hex();
        let json_name = format!("{hex}.json");
        let Some(json) = shared.get(&json_name, MAX_RECORD_BYTES).await? else {
            return Ok(None);
        };
        let bad = |reason: String| RegistryError::Store {
            path: shared.describe(&json_name).into(),
            reason,
        };
        let mut record: VersionRecord =
            serde_json::from_slice(&json).map_err(|e| bad(format!("not a version record: {e}")))?;
        if record.digest != *digest {
            return Err(bad(format!("the record is of {}", record.digest)));
        }
        if record.name != name {
            return Ok(None);
        }
        let wasm_name = format!("{hex}.wasm");
        let bytes = shared
            .get(&wasm_name, max_component_bytes)
            .await?
            .ok_or_else(|| bad(format!("the record's component {wasm_name} is missing")))?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(RegistryError::Store {
                path: shared.describe(&wasm_name).into(),
                reason: format!("the component's bytes hash to {actual}, not to its name"),
            });
        }
        for i in 0..self_test_inputs(&record).len() {
            let name = format!("{hex}.inputs/{i}");
            if let Some(input) = shared.get(&name, MAX_SELF_TEST_INPUT_BYTES).await? {
                let path = self.input_path(digest, i);
                write_atomically(&path, &input).map_err(|e| store_io(&path, &e))?;
            }
        }
        let wasm = self.component_path(digest);
        write_atomically(&wasm, &bytes).map_err(|e| store_io(&wasm, &e))?;
        // Active elsewhere, not here: this host's history (rollback) is about this host.
        record.last_active_ms = self.get(digest).map_or(0, |r| r.last_active_ms);
        self.write_record(&record)?;
        Ok(Some(record))
    }

    /// Drop the oldest versions of `name` beyond [`KEEP_VERSIONS`], never one in `protect`.
    pub fn prune(&self, name: &str, protect: &[Digest]) {
        for old in self.history(name).into_iter().skip(KEEP_VERSIONS) {
            if protect.contains(&old.digest) {
                continue;
            }
            // A failed delete only leaves an extra version behind.
            let _ = std::fs::remove_file(self.record_path(&old.digest));
            let _ = std::fs::remove_file(self.component_path(&old.digest));
            let _ = std::fs::remove_dir_all(self.dir.join(format!("{}.inputs", old.digest.hex())));
        }
    }
}
