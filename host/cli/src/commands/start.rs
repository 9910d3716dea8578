//! Starting the host: optionally the embedded Temporal dev server, then the modules.

use std::time::Duration;

use contextworker_temporal::{DevServer, DevServerOptions};

use crate::cli::GlobalArgs;
use crate::commands::{EXIT_OK, EXIT_SETUP};
use crate::context;

pub async fn run(args: &GlobalArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let dev = if args.dev {
        let server = DevServer::start(DevServerOptions::new(
            &config.data_dir,
            args.dev_port,
            args.dev_ui_port,
        ))
        .await?;
        eprintln!(
            "Temporal dev server on {} (namespace {}); UI at {}",
            server.address(),
            server.namespace(),
            server.ui_url()
        );
        Some(server)
    } else {
        None
    };
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
    if let Some(server) = dev {
        eprintln!("The dev server runs until Ctrl-C.");
        wait_for_shutdown_signal().await;
        server.stop(Duration::from_secs(10)).await;
    }
    Ok(if loaded == 0 && refused > 0 {
        EXIT_SETUP
    } else {
        EXIT_OK
    })
}

async fn wait_for_shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
