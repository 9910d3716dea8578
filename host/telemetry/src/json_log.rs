//! `--log-json`: one JSON object per line, with the fields of every span the event happened in
//! lifted to the top level, so a log pipeline can filter on `trace_id`, `workflow_id`,
//! `activity`, `tenant` or `module` without knowing which span carried them.
//!
//! A span's fields are kept as JSON object members without the braces (`"a":1,"b":"x"`), so a
//! field recorded later (a guest call records its receipt field by field when it ends) is
//! appended. tracing-subscriber's own `JsonFields` parses and re-writes the whole object on
//! every record instead, which cost a no-op guest call about 10 µs (BENCHMARKS.md,
//! "Observability cost").

use std::fmt::{self, Write as _};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The stderr (or any writer's) layer of `--log-json`.
pub fn json_log_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .fmt_fields(JsonMembers)
        .event_format(FlatJson)
}

/// A span's fields as JSON object members, appended to on each record. `otel.*` fields shape
/// the exported span and say nothing a log reader needs: they are left out.
struct JsonMembers;

impl<'w> FormatFields<'w> for JsonMembers {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut members = Members::new(writer, true);
        fields.record(&mut members);
        members.result
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let empty = current.fields.is_empty();
        let mut members = Members::new(current.as_writer(), empty);
        fields.record(&mut members);
        members.result
    }
}

struct Members<'w> {
    out: Writer<'w>,
    empty: bool,
    result: fmt::Result,
}

impl<'w> Members<'w> {
    fn new(out: Writer<'w>, empty: bool) -> Self {
        Self {
            out,
            empty,
            result: Ok(()),
        }
    }

    /// `"name":` and a value already written as JSON by `value`.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'w>) -> fmt::Result) {
        if self.result.is_err() || field.name().starts_with("otel.") {
            return;
        }
        let separator = if self.empty { "" } else { "," };
        self.empty = false;
        self.result = write!(self.out, "{separator}")
            .and_then(|()| write_json_str(&mut self.out, field.name()))
            .and_then(|()| self.out.write_char(':'))
            .and_then(|()| value(&mut self.out));
    }
}

impl Visit for Members<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_json_str(out, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        self.member(field, |out| match value.is_finite() {
            true => write!(out, "{value}"),
            false => out.write_str("null"),
        });
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| write_json_display(out, value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            write_json_display(out, format_args!("{value:?}"))
        });
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped (a guest's log
/// line or a feed's URL is whatever its author made it).
fn write_json_str(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaping(out).write_str(s)?;
    out.write_char('"')
}

/// A value's `Display` or `Debug` as a JSON string, escaped as it is written: no copy of it is
/// made first.
fn write_json_display(out: &mut impl fmt::Write, value: impl fmt::Display) -> fmt::Result {
    out.write_char('"')?;
    write!(Escaping(&mut *out), "{value}")?;
    out.write_char('"')
}

/// Writes through to `W` what it is given, escaped for the inside of a JSON string.
struct Escaping<'a, W>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        // Byte by byte: every byte that needs escaping is ASCII, so never inside a multi-byte
        // character, and slicing at it stays on a character boundary.
        for (i, &byte) in s.as_bytes().iter().enumerate() {
            let escaped = match byte {
                b'"' => Some("\\\""),
                b'\\' => Some("\\\\"),
                b'\n' => Some("\\n"),
                b'\r' => Some("\\r"),
                b'\t' => Some("\\t"),
                0..=0x1f => None,
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            match escaped {
                Some(escaped) => self.0.write_str(escaped)?,
                None => write!(self.0, "\\u{byte:04x}")?,
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

/// `{"timestamp", "level", "target", <span fields, outermost first>, <event fields>}`.
struct FlatJson;

impl<S> FormatEvent<S, JsonMembers> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonMembers>,
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
            // Outermost first: an inner span's field wins over an outer one's of the same name,
            // and within a span the last value recorded wins (JSON parsing keeps the last of a
            // repeated member).
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonMembers>>()
                    && let Ok(fields) = serde_json::from_str::<Map<String, Value>>(&format!(
                        "{{{}}}",
                        fields.fields
                    ))
                {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut EventFields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct EventFields<'a>(&'a mut Map<String, Value>);

impl Visit for EventFields<'_> {
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
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Lines written by the layer, kept for the test.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(body: impl FnOnce()) -> Vec<Map<String, Value>> {
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::registry().with(json_log_layer(move || sink.clone()));
        tracing::subscriber::with_default(subscriber, body);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn span_fields_recorded_later_reach_the_line_and_the_last_value_wins() {
        let lines = logged(|| {
            let outer = tracing::info_span!("activity", tenant = "acme", module = "outer");
            let _outer = outer.enter();
            let span = tracing::info_span!(
                "guest.call",
                otel.name = "guest yml",
                module = "yml",
                wall_time_us = tracing::field::Empty,
                outcome = tracing::field::Empty,
            );
            let _inside = span.enter();
            span.record("outcome", "trap");
            span.record("wall_time_us", 17_i64);
            span.record("outcome", "ok");
            tracing::info!(rows = 3_u64, "done");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["message"], "done");
        assert_eq!(line["rows"], 3);
        assert_eq!(line["tenant"], "acme");
        // The inner span's value of a name both spans carry.
        assert_eq!(line["module"], "yml");
        assert_eq!(line["wall_time_us"], 17);
        assert_eq!(line["outcome"], "ok");
        assert!(!line.contains_key("otel.name"), "{line:?}");
    }

    #[test]
    fn hostile_strings_stay_one_well_formed_line() {
        let nasty = "a\"b\\c\nd\re\tf\u{1}g\u{7f}h é 🦀 \"}";
        let lines = logged(|| {
            let span = tracing::info_span!("guest.call", module = nasty, note = ?nasty);
            let _inside = span.enter();
            tracing::info!(field = nasty, "{nasty}");
        });
        assert_eq!(lines.len(), 1, "one line, not split by the newline");
        let line = &lines[0];
        assert_eq!(line["module"], nasty);
        assert_eq!(line["note"], format!("{nasty:?}"));
        assert_eq!(line["field"], nasty);
        assert_eq!(line["message"], nasty);
    }

    #[test]
    fn non_finite_floats_are_null() {
        let lines = logged(|| {
            let span = tracing::info_span!("s", ratio = f64::NAN, share = 0.5_f64);
            let _inside = span.enter();
            tracing::info!("x");
        });
        assert_eq!(lines[0]["ratio"], Value::Null);
        assert_eq!(lines[0]["share"], 0.5);
    }
}
