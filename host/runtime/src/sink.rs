//! Where a transformer's products go. The guest emits batches into a bounded channel (its
//! back-pressure is the guest's pace); [`Runtime::transform_into`] drains that channel into a
//! [`ProductSink`] while the call runs, so callers say what to do with a batch and never
//! build the channel, the consumer task and its join themselves.
//!
//! The sinks here are the ones several callers share: [`Counting`], [`Collecting`] and
//! [`Ndjson`] (products as JSON lines into any writer: stdout, a file, a blob). Callers with
//! their own needs (the parse step's deduplicating writer, the diff's indexes) implement the
//! trait.

use std::future::Future;

use contextworker_types::{Product, Warning};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::call::CallOutcome;
use crate::state::SinkEvent;
use crate::worlds::{FeedInput, TransformSummary};
use crate::{CallSpec, LoadedComponent, Runtime};

/// Batches of products in flight between the guest and the sink: enough to keep both busy,
/// few enough that a slow sink stops the guest instead of buffering the feed.
const IN_FLIGHT_BATCHES: usize = 16;

/// A consumer of a transformer's output, called in the order the guest emitted it. An error
/// stops the call (the guest sees its sink closed) and is returned beside the call's outcome.
pub trait ProductSink: Send {
    type Error: Send;

    fn products(
        &mut self,
        batch: Vec<Product>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    fn warnings(
        &mut self,
        batch: Vec<Warning>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = batch;
        async { Ok(()) }
    }
}

/// Counts products and warnings and drops them (`modules validate`, `suppliers validate`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counting {
    pub products: u64,
    pub warnings: u64,
}

impl ProductSink for Counting {
    type Error = std::convert::Infallible;

    async fn products(&mut self, batch: Vec<Product>) -> Result<(), Self::Error> {
        self.products += batch.len() as u64;
        Ok(())
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> Result<(), Self::Error> {
        self.warnings += batch.len() as u64;
        Ok(())
    }
}

/// Keeps everything in memory: tests, self-tests and small inputs only.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Collecting {
    pub products: Vec<Product>,
    pub warnings: Vec<Warning>,
}

impl ProductSink for Collecting {
    type Error = std::convert::Infallible;

    async fn products(&mut self, batch: Vec<Product>) -> Result<(), Self::Error> {
        self.products.extend(batch);
        Ok(())
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> Result<(), Self::Error> {
        self.warnings.extend(batch);
        Ok(())
    }
}

/// Writes products as NDJSON (one JSON object per line, the shape `modules test` prints and
/// the product sets in the blob store hold), counting them; warnings are counted and kept up
/// to `keep_warnings`.
#[derive(Debug)]
pub struct Ndjson<W> {
    out: W,
    pub products: u64,
    pub warnings: Vec<Warning>,
    pub warnings_seen: u64,
    keep_warnings: usize,
    line: Vec<u8>,
}

impl<W: AsyncWrite + Unpin + Send> Ndjson<W> {
    pub fn new(out: W, keep_warnings: usize) -> Self {
        Self {
            out,
            products: 0,
            warnings: Vec::new(),
            warnings_seen: 0,
            keep_warnings,
            line: Vec::new(),
        }
    }

    /// Flush what was written so far.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().await
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: AsyncWrite + Unpin + Send> ProductSink for Ndjson<W> {
    type Error = std::io::Error;

    async fn products(&mut self, batch: Vec<Product>) -> Result<(), Self::Error> {
        self.line.clear();
        for product in &batch {
            serde_json::to_writer(&mut self.line, product)?;
            self.line.push(b'\n');
        }
        self.out.write_all(&self.line).await?;
        self.products += batch.len() as u64;
        Ok(())
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> Result<(), Self::Error> {
        self.warnings_seen += batch.len() as u64;
        let room = self.keep_warnings.saturating_sub(self.warnings.len());
        self.warnings.extend(batch.into_iter().take(room));
        Ok(())
    }
}

/// The channel a transformer emits into, sized for [`drain_into`].
pub fn sink_channel() -> (mpsc::Sender<SinkEvent>, mpsc::Receiver<SinkEvent>) {
    mpsc::channel(IN_FLIGHT_BATCHES)
}

/// Deliver everything sent on `rx` to `sink`, in order, until the sender is gone or the sink
/// fails (which drops `rx`, so the producer's next send fails). For producers other than a
/// guest (the benchmark's natively linked parser); guests go through
/// [`Runtime::transform_into`].
pub async fn drain_into<S: ProductSink>(
    mut rx: mpsc::Receiver<SinkEvent>,
    sink: &mut S,
) -> Result<(), S::Error> {
    while let Some(event) = rx.recv().await {
        match event {
            SinkEvent::Products(batch) => sink.products(batch).await?,
            SinkEvent::Warnings(batch) => sink.warnings(batch).await?,
        }
    }
    Ok(())
}

/// Why a sink did not come back from [`Runtime::transform_into`].
#[derive(Debug, thiserror::Error)]
pub enum SinkFailed<E> {
    /// The sink refused a batch; the call was stopped.
    #[error("{0}")]
    Sink(E),
    /// The task draining into the sink was cancelled (the process is shutting down).
    #[error("the product consumer was cancelled")]
    Cancelled,
}

impl Runtime {
    /// Run a transformer and hand its output to `sink` as it comes; the sink comes back when
    /// the call ends. The sink runs on a task of its own, so on a multi-core host the guest
    /// parses while the previous batch is written. If the sink fails, the guest sees its
    /// output closed and the call ends as `SinkClosed`; the sink's error comes back beside it.
    pub async fn transform_into<S>(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        input: FeedInput,
        mut sink: S,
    ) -> (
        CallOutcome<TransformSummary>,
        Result<S, SinkFailed<S::Error>>,
    )
    where
        S: ProductSink + 'static,
        S::Error: 'static,
    {
        let (tx, rx) = sink_channel();
        let drain = tokio::spawn(async move {
            // Returning drops the receiver: the guest's next emit fails.
            drain_into(rx, &mut sink).await.map_err(SinkFailed::Sink)?;
            Ok(sink)
        });
        let outcome = self.transform(component, spec, input, tx).await;
        let drained = match drain.await {
            Ok(drained) => drained,
            // A sink that panicked panics here, as it would have inline.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(SinkFailed::Cancelled),
        };
        (outcome, drained)
    }
}
