//! `pin_module`: which version of which transformer parses a feed, decided once per harvest so
//! a retried parse uses it even after a swap.

use std::sync::Arc;

use contextworker_registry::{Detected, Module, SNIFF_BYTES};
use contextworker_storage::BlobRef;
use contextworker_types::{ErrorClass, World};
use temporalio_common::data_converters::RawValue;
use tokio::io::AsyncReadExt;

use crate::args::encode;
use crate::failure::Failure;
use crate::messages::PinInput;
use crate::services::Services;

use super::{Result, module_used, pin_shared};

async fn sniff(services: &Services, feed: &BlobRef) -> std::result::Result<Vec<u8>, Failure> {
    let reader = services.open_blob(feed).await?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .await
        .map_err(|e| Failure::new(ErrorClass::BlobStoreError, e.to_string()))?;
    Ok(head)
}

/// The transformer `name`, or the one the feed's first bytes point to, as active now.
pub(super) async fn choose_transformer(
    services: &Services,
    feed: &BlobRef,
    name: Option<&str>,
) -> Result<Arc<Module>> {
    let Some(name) = name else {
        return match services.registry().detect(&sniff(services, feed).await?) {
            Detected::One(module) => Ok(module),
            Detected::Nothing => Err(Failure::new(
                ErrorClass::ModuleNotDetected,
                "no loaded module recognises the feed's format (their manifests' [detect] \
                 tables); name the module (--module, or `module` in the arguments)",
            )
            .into()),
            Detected::Ambiguous(modules) => Err(Failure::new(
                ErrorClass::ModuleNotDetected,
                format!(
                    "the feed looks like a feed for any of {}; name the module (--module, or \
                     `module` in the arguments)",
                    modules
                        .iter()
                        .map(|m| format!("`{}`", m.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into()),
        };
    };
    let module = services.module(name).ok_or_else(|| {
        Failure::new(
            ErrorClass::UnknownModule,
            format!("no module `{name}` is loaded on this worker"),
        )
    })?;
    transformer_only(module)
}

pub(super) fn transformer_only(module: Arc<Module>) -> Result<Arc<Module>> {
    if module.manifest.world != World::Transformer {
        return Err(Failure::new(
            ErrorClass::WrongModuleKind,
            format!(
                "module `{}` is a {} module; parsing needs a transformer",
                module.name(),
                module.manifest.world.as_str()
            ),
        )
        .into());
    }
    Ok(module)
}

/// `pin_module(feed, module?)`: the version that will parse this feed, decided once.
pub(in crate::activities) async fn pin_module(
    services: &Services,
    args: PinInput,
) -> Result<RawValue> {
    #[cfg(feature = "native-parsers")]
    if let Some(name) = super::native_parser(args.module.as_deref()) {
        return Ok(encode(&crate::native::module_used(name)));
    }
    let module = choose_transformer(services, &args.feed, args.module.as_deref()).await?;
    // A retried parse may land on any host of the fleet: pin only what all of them can load.
    pin_shared(services, &module).await?;
    Ok(encode(&module_used(&module)))
}
