//! Whether a candidate may replace the active version of a module.

use contextworker_manifest::Manifest;
use contextworker_types::Digest;

use crate::RegistryError;

/// A candidate may replace `active` unless it breaks what callers rely on: a different world
/// (a different export) needs a new major version, and a lower version is a rollback, which
/// only a version kept by the store may be.
pub fn check_compatible(
    candidate: &Manifest,
    old: &Manifest,
    is_kept: impl Fn(&Digest) -> bool,
    bytes: &[u8],
) -> Result<(), RegistryError> {
    let incompatible = |reason: String| RegistryError::Incompatible {
        manifest: candidate.path.clone(),
        reason,
    };
    if candidate.world != old.world && candidate.version.major <= old.version.major {
        return Err(incompatible(format!(
            "it changes the module's world from {} to {} without a new major version ({} → {}); callers of `{}` expect the {} interface. Bump the major version to make a breaking change",
            old.world, candidate.world, old.version, candidate.version, old.name, old.world
        )));
    }
    if candidate.version < old.version && !is_kept(&Digest::of(bytes)) {
        return Err(incompatible(format!(
            "its version {} is lower than the active {}; to go back to an earlier version use `contextworker-host modules rollback {}`",
            candidate.version, old.version, old.name
        )));
    }
    Ok(())
}
