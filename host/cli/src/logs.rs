//! The log subscriber: text for a person, or (`--log-json`) one JSON object per line with the
//! fields of every span the event happened in lifted to the top level, so a log pipeline can
//! filter on `trace_id`, `workflow_id`, `activity`, `tenant` or `module` without knowing which
//! span carried them. Level: `RUST_LOG`, else `LOG_LEVEL` (the original worker's variable:
//! `DEBUG`, `INFO`, `WARNING`, `ERROR`), else the flags.

use std::fmt;

use contextworker_telemetry::Telemetry;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::GlobalArgs;

pub fn init(args: &GlobalArgs, telemetry: Option<&Telemetry>) {
    let filter = filter(
        args,
        std::env::var("RUST_LOG").ok(),
        std::env::var("LOG_LEVEL").ok().as_deref(),
    );
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let stderr = if args.log_json {
        stderr
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .boxed()
    } else {
        stderr
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

/// `{"timestamp", "level", "target", <span fields, outermost first>, <event fields>}`.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            humantime::format_rfc3339_micros(std::time::SystemTime::now())
                .to_string()
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            // Outermost first: an inner span's field wins over an outer one's of the same name.
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields)
                {
                    // `otel.*` fields shape the exported span; they say nothing a log reader needs.
                    line.extend(fields.into_iter().filter(|(k, _)| !k.starts_with("otel.")));
                }
            }
        }
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
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
