//! `contextworker-host`: wires the parts together. No domain logic lives here.

mod cli;
mod commands;
mod context;
mod logs;
mod report;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_scoped();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::EXIT_SETUP);
        }
    };
    // The trace exporter's gRPC connection lives on this runtime, so it starts inside it,
    // before the log subscriber it feeds.
    let telemetry = {
        let _inside = runtime.enter();
        contextworker_telemetry::Telemetry::start(&contextworker_telemetry::Settings::from_env())
    };
    let telemetry = match telemetry {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(commands::EXIT_SETUP);
        }
    };
    logs::init(&cli.global, telemetry.as_ref());
    let code = runtime.block_on(commands::run(cli));
    // The spans still queued go out while the runtime (and the exporter's connection) is up.
    if let Some(telemetry) = telemetry {
        let _inside = runtime.enter();
        telemetry.shutdown();
    }
    ExitCode::from(code)
}
