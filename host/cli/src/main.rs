//! `contextworker-host`: wires the parts together. No domain logic lives here.

mod cli;
mod commands;
mod context;
mod logs;
mod report;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_scoped();
    logs::init(&cli.global);
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
    let code = runtime.block_on(commands::run(cli));
    ExitCode::from(code)
}
