//! The harvest steps, one file each: resolve the supplier, fetch the feed, pin the module,
//! parse it in the sandbox, stage the products; and the enrichment steps after them. Feeds and products travel between steps as
//! blob references, so no payload grows with the feed.

mod download;
mod enrich;
mod parse;
mod pin;
mod resolve;
mod stage;

use std::time::Instant;

use contextworker_registry::Module;

use super::Outcome;
use crate::messages::ModuleUsed;

pub(super) use download::download_feed;
pub(super) use enrich::{classify_products, resolve_enrichment, select_products};
pub(super) use parse::parse_products;
pub(super) use pin::pin_module;
pub(super) use resolve::{list_suppliers, resolve_supplier};
pub(super) use stage::store_products;

pub(super) type Result<T> = std::result::Result<T, Outcome>;

pub(super) fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn module_used(module: &Module) -> ModuleUsed {
    ModuleUsed {
        name: module.manifest.name.as_str().to_owned(),
        version: module.manifest.version.to_string(),
        digest: module.component.digest(),
    }
}

/// The parser linked into the host that `module` names, if it names one: benchmark builds
/// parse with it instead of a component.
#[cfg(feature = "native-parsers")]
fn native_parser(module: Option<&str>) -> Option<&str> {
    module.filter(|n| crate::native::is_native(n))
}

/// Make `module`'s version loadable by every host of the fleet before a workflow pins it: a
/// retried step may run anywhere.
pub(super) async fn pin_shared(
    services: &crate::services::Services,
    module: &Module,
) -> std::result::Result<(), crate::failure::Failure> {
    services.ensure_shared(module).await.map_err(|e| {
        crate::failure::Failure::from_version(
            &e,
            &format!(
                "`{}` {} cannot be pinned",
                module.name(),
                module.component.digest()
            ),
        )
    })
}
