//! The host side of the `contextworker:module` imports.

use tokio::io::AsyncReadExt;

use crate::bindings::{clock, config, feed, log, sink, types};
use crate::convert;
use crate::state::{CallState, HostStop, MAX_LOG_BYTES, MAX_LOG_RECORDS, SinkEvent};
use crate::text::truncate_marked;

/// Largest chunk one `feed.read` returns, whatever the guest asks for: bounds the host-side
/// allocation a guest can request per call.
const MAX_READ_CHUNK: u32 = 1 << 20;
/// Longest log message kept; the rest is cut with a marker.
const MAX_LOG_MESSAGE: usize = 8 * 1024;
/// Fields kept per log record, and the longest key or value kept.
const MAX_LOG_FIELDS: usize = 32;
const MAX_LOG_FIELD: usize = 1024;

impl types::Host for CallState {}

/// Types only: the enricher world's records.
impl crate::bindings::enricher::contextworker::module::enrichment::Host for CallState {}

impl log::Host for CallState {
    fn log(
        &mut self,
        level: log::Level,
        mut message: String,
        mut fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        // What wasmtime lifted was already bounded by the store's hostcall fuel; what the
        // host keeps and writes is bounded here, per record and per call.
        self.log_records = self.log_records.saturating_add(1);
        if self.log_records > MAX_LOG_RECORDS || self.log_bytes >= MAX_LOG_BYTES {
            if !self.log_capped {
                self.log_capped = true;
                tracing::warn!(module = %self.label.module, "guest log limit ({MAX_LOG_RECORDS} records, {MAX_LOG_BYTES} bytes) reached; dropping the rest of this call's logs");
            }
            return Ok(());
        }
        truncate_marked(&mut message, MAX_LOG_MESSAGE);
        fields.truncate(MAX_LOG_FIELDS);
        for (k, v) in &mut fields {
            truncate_marked(k, MAX_LOG_FIELD);
            truncate_marked(v, MAX_LOG_FIELD);
        }
        let bytes = message.len()
            + fields
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>();
        self.log_bytes = self.log_bytes.saturating_add(bytes as u64);
        self.charge_output(bytes as u64, 0)?;
        // Escaped: a guest's newlines and control characters must not forge host log lines.
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{}={}", k.escape_debug(), v.escape_debug()))
            .collect::<Vec<_>>()
            .join(" ");
        let message = message.escape_debug();
        let (module, version) = (self.label.module.as_str(), self.label.version.as_str());
        let digest = tracing::field::display(&self.label.digest);
        match level {
            log::Level::Trace => {
                tracing::trace!(target: "guest", module, version, digest, fields, "{message}")
            }
            log::Level::Debug => {
                tracing::debug!(target: "guest", module, version, digest, fields, "{message}")
            }
            log::Level::Info => {
                tracing::info!(target: "guest", module, version, digest, fields, "{message}")
            }
            log::Level::Warn => {
                tracing::warn!(target: "guest", module, version, digest, fields, "{message}")
            }
            log::Level::Error => {
                tracing::error!(target: "guest", module, version, digest, fields, "{message}")
            }
        }
        Ok(())
    }
}

impl config::Host for CallState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self
            .config
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone()))
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.config.as_ref().clone())
    }
}

impl clock::Host for CallState {
    fn monotonic_now(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(self.clock_origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

impl feed::Host for CallState {
    async fn read(&mut self, max_bytes: u32) -> wasmtime::Result<Vec<u8>> {
        let Some(feed) = self.feed.as_mut() else {
            return Ok(Vec::new());
        };
        let want = max_bytes.clamp(1, MAX_READ_CHUNK) as usize;
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        // Fill the chunk unless the source ends: fewer, larger crossings of the boundary.
        while filled < want {
            match feed.reader.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    self.stop = Some(HostStop::FeedRead(e.to_string()));
                    return Err(wasmtime::format_err!("reading the feed failed: {e}"));
                }
            }
        }
        buf.truncate(filled);
        feed.bytes_read += filled as u64;
        Ok(buf)
    }

    async fn size_hint(&mut self) -> wasmtime::Result<Option<u64>> {
        Ok(self.feed.as_ref().and_then(|f| f.size_hint))
    }
}

impl sink::Host for CallState {
    async fn emit(&mut self, products: Vec<types::Product>) -> wasmtime::Result<()> {
        let bytes: u64 = products.iter().map(convert::approx_product_size).sum();
        self.charge_output(bytes, products.len() as u64)?;
        let products = products.into_iter().map(convert::product).collect();
        self.send(SinkEvent::Products(products)).await
    }

    async fn warn(&mut self, warnings: Vec<types::Warning>) -> wasmtime::Result<()> {
        let bytes: u64 = warnings.iter().map(|w| w.message.len() as u64 + 64).sum();
        self.charge_output(bytes, 0)?;
        let warnings = warnings.into_iter().map(convert::warning).collect();
        self.send(SinkEvent::Warnings(warnings)).await
    }
}

impl CallState {
    async fn send(&mut self, event: SinkEvent) -> wasmtime::Result<()> {
        let Some(sink) = self.sink.as_ref() else {
            return Ok(());
        };
        // A bounded channel: a slow consumer (the staging database) slows the guest down
        // instead of letting parsed products pile up in host memory.
        if sink.tx.send(event).await.is_err() {
            self.stop = Some(HostStop::SinkClosed);
            return Err(wasmtime::format_err!(
                "the consumer of this call's products stopped"
            ));
        }
        Ok(())
    }
}
