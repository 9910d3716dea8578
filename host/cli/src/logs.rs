//! The log subscriber: text for a person, or (`--log-json`) one JSON object per line with the
//! fields of every span the event happened in lifted to the top level
//! (`contextworker_telemetry::json_log_layer`). Level: `RUST_LOG`, else `LOG_LEVEL` (the
//! original worker's variable: `DEBUG`, `INFO`, `WARNING`, `ERROR`), else the flags.

use contextworker_telemetry::Telemetry;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::GlobalArgs;

pub fn init(args: &GlobalArgs, telemetry: Option<&Telemetry>) {
    let filter = filter(
        args,
        std::env::var("RUST_LOG").ok(),
        std::env::var("LOG_LEVEL").ok().as_deref(),
    );
    let stderr = if args.log_json {
        contextworker_telemetry::json_log_layer(std::io::stderr).boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .compact()
            .boxed()
    };
    // The level filters stderr only: exported spans have their own, fixed filter
    // (`contextworker-telemetry`), so a quiet log does not thin out a trace.
    tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(telemetry.map(Telemetry::layer))
        .init();
}

fn filter(args: &GlobalArgs, rust_log: Option<String>, log_level: Option<&str>) -> EnvFilter {
    // The trace exporter reports a collector it cannot reach at warn; its chatter below that is
    // not the operator's concern.
    let quiet_deps = "wasmtime=warn,cranelift=warn,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn";
    let default = match (args.quiet, args.verbose) {
        (true, _) => "warn".to_owned(),
        (false, 0) => match log_level.and_then(level_of) {
            Some(level) => format!("{level},{quiet_deps}"),
            None => format!("info,{quiet_deps}"),
        },
        (false, 1) => "debug,wasmtime=info,cranelift=info".to_owned(),
        (false, _) => "trace".to_owned(),
    };
    // An empty RUST_LOG is as good as none (a service file that clears it, say).
    rust_log
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default))
}

/// Python's level names, as the original worker's `LOG_LEVEL` takes them.
fn level_of(name: &str) -> Option<&'static str> {
    match name.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" | "WARNING" => Some("warn"),
        "ERROR" | "CRITICAL" => Some("error"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_takes_python_level_names() {
        assert_eq!(level_of("WARNING"), Some("warn"));
        assert_eq!(level_of("debug"), Some("debug"));
        assert_eq!(level_of("CRITICAL"), Some("error"));
        assert_eq!(level_of("loud"), None);
    }
}
