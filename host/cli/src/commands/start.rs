//! `serve`: optionally the embedded Temporal dev server, then the modules, the
//! staging database and the Temporal worker until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use contextworker_config::HostConfig;
use contextworker_devserver::{DevServer, DevServerOptions};
use contextworker_grpc::exec::{ExecCaps, Executor};
use contextworker_grpc::start::StartPolicy;
use contextworker_grpc::{Authenticator, RateLimits, ServerSettings, Service, TemporalSide};
use contextworker_registry::{LiveModules, MODULE_VERSIONS_FOLDER, ReloadCause};
use contextworker_runtime::CancellationToken;
use contextworker_storage::NamedObjects;
use contextworker_types::World;
use contextworker_worker::{Services, WorkerSettings};

use crate::cli::{GlobalArgs, ServeArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP};
use crate::context;

pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<u8> {
    let mut config = context::serve_config(global, args)?;
    let dev = if args.dev {
        let server = DevServer::start(DevServerOptions::new(
            config.data_dir.clone(),
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
        config.temporal.address = Some(server.address().to_owned());
        config.temporal.namespace = Some(server.namespace().to_owned());
        Some(server)
    } else {
        None
    };
    let result = serve(args, &config, dev.as_ref()).await;
    if let Some(server) = dev {
        server.stop(Duration::from_secs(10)).await;
    }
    result
}

async fn serve(
    args: &ServeArgs,
    config: &HostConfig,
    dev: Option<&DevServer>,
) -> anyhow::Result<u8> {
    if args.metrics_addr.is_some() {
        // Before the modules load: the first reload's refusals and live versions count too.
        contextworker_metrics::enable();
    }
    let runtime = context::runtime(config)?;
    tracing::info!(
        modules_dir = %config.modules_dir.display(),
        data_dir = %config.data_dir.root().display(),
        pooling = runtime.is_pooled(),
        "starting contextworker-host {}",
        env!("CARGO_PKG_VERSION")
    );
    // In a fleet, versions that go live are kept in the bucket too, under `modules/`.
    let shared_versions = match &config.storage.shared {
        Some(url) => Some(NamedObjects::s3(url.clone(), MODULE_VERSIONS_FOLDER)?),
        None => None,
    };
    let (modules, first) = LiveModules::start(
        runtime.clone(),
        &config.modules_dir,
        config.modules.clone(),
        &config.data_dir,
        shared_versions,
        true,
    )
    .await?;
    // However this function ends (an error on the way up included), the status file other
    // commands read goes with it: a leftover file would name a pid that may be reused.
    let _published = Unpublish(modules.clone());
    let loaded = modules.snapshot().len();
    let refused = first.refused.len();
    for refusal in &first.refused {
        eprintln!("module refused: {}", refusal.reason);
    }
    if loaded == 0 && refused > 0 {
        eprintln!("no module loaded; fix the modules above");
        return Ok(EXIT_SETUP);
    }
    let services = Services::open(
        config,
        runtime,
        modules.clone(),
        config.database_url.as_deref(),
    )
    .await?;
    tracing::info!(
        loaded,
        refused,
        staging = services.staging.url(),
        "modules and staging ready"
    );
    let client = if args.grpc.no_temporal {
        None
    } else {
        Some(context::temporal_client(config).await?)
    };
    let identity = config
        .worker
        .identity
        .clone()
        .unwrap_or_else(contextworker_temporal::default_identity);
    let membership = if args.fleet {
        match super::fleet::join(config, modules.clone(), &identity).await? {
            Ok(membership) => Some(membership),
            Err(missing) => {
                eprintln!("error: --fleet: {missing}");
                return Ok(EXIT_SETUP);
            }
        }
    } else {
        None
    };
    let stop = CancellationToken::new();
    // The health check says SERVING once the worker polls (at once without Temporal).
    let polling = CancellationToken::new();
    if client.is_none() {
        polling.cancel();
    }
    let sdk_metrics = match args.metrics_addr {
        Some(addr) => {
            let about = super::observe::Identity {
                identity: identity.clone(),
                task_queues: config.worker.task_queues.clone(),
                activity_slots: config.worker.max_concurrent,
            };
            let started =
                super::observe::start(addr, client.clone(), &services, about, &polling, &stop)
                    .await?;
            Some(started.sdk_meter)
        }
        None => None,
    };
    let settings = WorkerSettings {
        task_queues: config.worker.task_queues.clone(),
        max_concurrent_activities: config.worker.max_concurrent,
        identity,
        graceful_shutdown: config.worker.graceful_shutdown,
        sdk_metrics,
    };

    let on_signal = stop.clone();
    tokio::spawn(async move {
        wait_for_shutdown_signal().await;
        on_signal.cancel();
    });
    reload_on_sighup(modules.clone(), stop.clone());
    if args.no_watch {
        eprintln!(
            "not watching {}; SIGHUP or `contextworker-host modules reload` reloads it",
            config.modules_dir.display()
        );
    } else {
        match contextworker_registry::watch(
            modules.clone(),
            Duration::from_millis(args.watch_debounce_ms),
            Duration::from_secs(args.watch_poll_secs.max(1)),
            stop.clone(),
        ) {
            Ok(_) => {
                tracing::info!(dir = %config.modules_dir.display(), "watching the modules directory")
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    let grpc_config = &config.grpc;
    let grpc = if grpc_config.enabled {
        let tls = match &grpc_config.tls {
            Some((cert, key)) => Some((
                std::fs::read(cert).map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?,
                std::fs::read(key).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?,
            )),
            None => None,
        };
        let listener = contextworker_grpc::bind(grpc_config.addr)?;
        let verifier = context::token_verifier(grpc_config)?;
        if verifier.allows_unsigned() {
            tracing::warn!(
                "unsigned tokens are accepted (--allow-unsigned-tokens): development only"
            );
        }
        // ExecuteCode's `javascript` runs on the live `js` module and follows its swaps.
        let js_engine = modules.active_component("js", World::Code).await?;
        let js_digest = js_engine.as_ref().map(|v| v.digest);
        let executor = Arc::new(Executor::new(
            services.runtime.clone(),
            ExecCaps {
                max_concurrent: grpc_config.exec_concurrency,
                compile_timeout: Duration::from_millis(grpc_config.exec_compile_timeout_ms),
                compile_limits: contextworker_runtime::CompileLimits {
                    max_functions: grpc_config.exec_max_functions,
                    ..contextworker_runtime::CompileLimits::default()
                },
                ..ExecCaps::default()
            },
            js_engine.map(|v| v.bytes),
        ));
        {
            let executor = executor.clone();
            modules.follow("js", World::Code, js_digest, stop.clone(), move |engine| {
                tracing::info!(digest = ?engine.as_ref().map(|v| v.digest.short()), "ExecuteCode javascript engine replaced");
                executor.set_js_engine(engine.map(|v| v.bytes));
            });
        }
        let policy = StartPolicy::new(
            grpc_config.start_workflows.as_deref(),
            grpc_config.task_queues.clone(),
        )?;
        let service = Service::new(
            client.clone().map(|client| TemporalSide { client }),
            executor,
            policy,
            RateLimits {
                per_second: grpc_config.rate_per_second,
                burst: grpc_config.rate_burst,
            },
        )
        .schedules_per_tenant(grpc_config.schedules_per_tenant);
        let authenticator = Authenticator::new(Arc::new(verifier));
        let shutdown = {
            let stop = stop.clone();
            async move { stop.cancelled().await }
        };
        let client_ca = match &grpc_config.tls_client_ca {
            Some(path) => {
                Some(std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let ready = {
            let polling = polling.clone();
            async move { polling.cancelled().await }
        };
        eprintln!("gRPC WorkerService on {}", grpc_config.addr);
        Some(tokio::spawn(contextworker_grpc::serve(
            listener,
            ServerSettings {
                tls,
                client_ca,
                max_connections: grpc_config.max_connections,
                max_streams_per_connection: grpc_config.max_streams_per_connection,
                handshake_timeout: Duration::from_millis(grpc_config.handshake_timeout_ms),
            },
            service,
            authenticator,
            ready,
            shutdown,
        )))
    } else {
        None
    };

    let harvest_outcome = Arc::new(std::sync::atomic::AtomicU8::new(EXIT_OK));
    match client {
        Some(client) => {
            eprintln!(
                "worker {} serving task queue(s) {} with {loaded} module(s); Ctrl-C or SIGTERM stops it",
                settings.identity,
                settings.task_queues.join(", ")
            );
            if args.sync_schedules {
                super::schedules::sync_at_start(config, &client).await;
            }
            if let Some(secs) = args.gardener_interval {
                eprintln!("gardener: a pass per tenant every {secs} s");
                super::gardener::Gardener {
                    client: client.clone(),
                    suppliers_dir: config.suppliers_dir.clone(),
                    tenants_dir: config.tenants_dir.clone(),
                    queue: settings.task_queues[0].clone(),
                    every: Duration::from_secs(secs),
                }
                .spawn(stop.clone());
            }
            if let Some(server) = dev {
                let (client, queue) = (client.clone(), settings.task_queues[0].clone());
                let suppliers_dir = config.suppliers_dir.clone();
                let ui = server.ui_url();
                let namespace = server.namespace().to_owned();
                let (stop, once, outcome) = (stop.clone(), args.once, harvest_outcome.clone());
                tokio::spawn(async move {
                    let ok = super::first_run::initial_harvest(
                        &client,
                        &suppliers_dir,
                        &queue,
                        &ui,
                        &namespace,
                    )
                    .await;
                    if !ok {
                        outcome.store(EXIT_FAILED, std::sync::atomic::Ordering::SeqCst);
                    }
                    if once {
                        stop.cancel();
                    } else {
                        eprintln!("The worker keeps serving; Ctrl-C stops it and the dev server.");
                    }
                });
            }
            let shutdown = {
                let stop = stop.clone();
                async move { stop.cancelled().await }
            };
            let served =
                contextworker_worker::serve(client, services.clone(), &settings, shutdown, || {
                    polling.cancel();
                })
                .await;
            // Whatever ended the worker ends the gRPC side too.
            stop.cancel();
            served?;
        }
        None => {
            eprintln!("no Temporal worker (--no-temporal); Ctrl-C or SIGTERM stops the host");
            stop.cancelled().await;
        }
    }
    if let Some(grpc) = grpc {
        grpc.await??;
    }
    if let Some(membership) = membership {
        membership.leave().await;
    }
    services.staging.close().await;
    Ok(harvest_outcome.load(std::sync::atomic::Ordering::SeqCst))
}

/// Removes the worker's status file when dropped.
struct Unpublish(Arc<LiveModules>);

impl Drop for Unpublish {
    fn drop(&mut self) {
        self.0.unpublish();
    }
}

/// SIGHUP reloads the modules directory, as in most Unix daemons.
fn reload_on_sighup(modules: Arc<LiveModules>, stop: CancellationToken) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("SIGHUP cannot be handled here; use the watcher or restart to reload");
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                got = hup.recv() => if got.is_none() { return },
            }
            modules.reload(ReloadCause::Signal).await;
        }
    });
}

async fn wait_for_shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
