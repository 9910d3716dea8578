//! Starting the host: discover and load the modules directory.

use crate::cli::GlobalArgs;
use crate::commands::{EXIT_OK, EXIT_SETUP};
use crate::context;

pub async fn run(args: &GlobalArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    tracing::info!(
        modules_dir = %config.modules_dir.display(),
        data_dir = %config.data_dir.display(),
        pooling = runtime.is_pooled(),
        "starting contextworker-host {}",
        env!("CARGO_PKG_VERSION")
    );
    let discovery = contextworker_registry::Registry::discover(
        &runtime,
        &config.modules_dir,
        config.modules.as_deref(),
    )
    .await?;
    let (loaded, refused) = (discovery.registry.len(), discovery.failures.len());
    tracing::info!(loaded, refused, "modules ready");
    // The Temporal worker (issue #4) and the gRPC service (issue #5) start here once they
    // exist; until then starting the host loads and reports the modules.
    eprintln!(
        "{loaded} module(s) loaded, {refused} refused. No worker is configured in this build yet: \
         use `contextworker-host modules test` or `contextworker-host exec` to run modules."
    );
    Ok(if loaded == 0 && refused > 0 {
        EXIT_SETUP
    } else {
        EXIT_OK
    })
}
