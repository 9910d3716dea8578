//! Reading a modules directory: which manifests declare which modules. One-shot discovery
//! (`modules validate`, `modules test`), a running worker's reload and `modules rollback` all
//! read a directory through [`scan`], so they always agree on what it holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use contextworker_manifest::{MANIFEST_FILE, Manifest};
use contextworker_types::ModuleName;

use crate::RegistryError;

/// What a modules directory declares.
#[derive(Debug, Default)]
pub struct Scan {
    /// Valid manifests, in directory order: the first declaration of each name, and with a
    /// selection only the selected modules.
    pub manifests: Vec<Manifest>,
    /// What the caller must report: manifests that cannot be read (with a selection, only
    /// those in a folder named like a selected module: the usual layout) and later
    /// declarations of a name already declared.
    pub refused: Vec<Refused>,
    /// Every manifest that cannot be read, reported or not: a module whose manifest is only
    /// broken for now keeps serving its last good version.
    pub unreadable: Vec<PathBuf>,
    /// Selected names that no manifest declares.
    pub missing: Vec<String>,
}

/// A manifest that cannot serve, and why.
#[derive(Debug)]
pub struct Refused {
    pub path: PathBuf,
    /// The module it declares, when the manifest could be read that far.
    pub module: Option<ModuleName>,
    pub error: RegistryError,
}

/// Read `dir/*/module.toml` (sorted, so which of two declarations of a name wins is stable),
/// keeping the modules named in `only` when given. Only an unreadable directory is an error;
/// everything wrong with one module is in [`Scan::refused`].
pub fn scan(
    dir: &Path,
    only: Option<&[String]>,
    memory_ceiling: u64,
) -> Result<Scan, RegistryError> {
    let mut scan = Scan::default();
    let mut first_seen: BTreeMap<ModuleName, PathBuf> = BTreeMap::new();
    let selected = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    for path in manifest_paths(dir)? {
        let manifest = match Manifest::read(&path, memory_ceiling) {
            Ok(m) => m,
            Err(e) => {
                let folder = path
                    .parent()
                    .and_then(Path::file_name)
                    .map(|f| f.to_string_lossy().into_owned());
                if folder.is_none_or(|f| selected(&f)) {
                    scan.refused.push(Refused {
                        path: path.clone(),
                        module: None,
                        error: e.into(),
                    });
                }
                scan.unreadable.push(path);
                continue;
            }
        };
        if !selected(manifest.name.as_str()) {
            continue;
        }
        if let Some(first) = first_seen.get(&manifest.name) {
            scan.refused.push(Refused {
                error: RegistryError::Duplicate {
                    name: manifest.name.to_string(),
                    path: path.clone(),
                    first: first.clone(),
                },
                path,
                module: Some(manifest.name),
            });
            continue;
        }
        first_seen.insert(manifest.name.clone(), path);
        scan.manifests.push(manifest);
    }
    scan.missing = only
        .unwrap_or_default()
        .iter()
        .filter(|name| !first_seen.keys().any(|n| n.as_str() == name.as_str()))
        .cloned()
        .collect();
    Ok(scan)
}

/// `dir/*/module.toml`, sorted. Directories without a manifest (build folders, test guests)
/// are skipped.
pub(crate) fn manifest_paths(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RegistryError::Directory {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join(MANIFEST_FILE))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}
