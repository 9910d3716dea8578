//! The entry point of each world, in host terms.

use contextworker_types::Product;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use crate::Runtime;
use crate::bindings::classifier::ClassifierPre;
use crate::bindings::code::CodePre;
use crate::bindings::transformer::TransformerPre;
use crate::call::{CallOutcome, CallSpec};
use crate::component::LoadedComponent;
use crate::convert;
use crate::state::{CallState, FeedState, SinkEvent, SinkState};

/// The feed a transformer reads: any async byte source, plus its size when known.
pub struct FeedInput {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    size_hint: Option<u64>,
}

impl std::fmt::Debug for FeedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedInput")
            .field("size_hint", &self.size_hint)
            .finish_non_exhaustive()
    }
}

impl FeedInput {
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        size_hint: Option<u64>,
    ) -> Self {
        Self {
            reader: Box::new(reader),
            size_hint,
        }
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        Self::from_reader(std::io::Cursor::new(bytes), Some(len))
    }

    pub async fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        Ok(Self::from_reader(
            tokio::io::BufReader::with_capacity(256 * 1024, file),
            Some(len),
        ))
    }
}

/// What a transformer reported at the end (products and warnings went to the sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformSummary {
    pub records_seen: u64,
}

/// Input and output of a `code` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Text(String),
    Binary(Vec<u8>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Self::Text(s) => s.len(),
            Self::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One classifier decision; serialised as the `classify` activity's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Classification {
    pub offer_id: String,
    pub category_path: Vec<String>,
    pub category_id: Option<String>,
    pub confidence: f32,
}

impl Runtime {
    /// Run a transformer over `input`. Products and warnings arrive on `sink` in order while
    /// the guest runs; a bounded channel there slows the guest to the consumer's pace.
    pub async fn transform(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        input: FeedInput,
        sink: mpsc::Sender<SinkEvent>,
    ) -> CallOutcome<TransformSummary> {
        self.call::<TransformerPre<CallState>, _>(
            component,
            spec,
            |state| {
                state.feed = Some(FeedState {
                    reader: input.reader,
                    size_hint: input.size_hint,
                    bytes_read: 0,
                });
                state.sink = Some(SinkState { tx: sink });
            },
            |store, instance| {
                Box::pin(async move {
                    let result = instance.call_transform(&mut *store).await?;
                    Ok(result
                        .map(|s| TransformSummary {
                            records_seen: s.records_seen,
                        })
                        .map_err(convert::module_error))
                })
            },
            |_| 0,
        )
        .await
    }

    /// Run a `code` component on `input`.
    pub async fn run_code(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        input: Data,
    ) -> CallOutcome<Data> {
        self.call::<CodePre<CallState>, _>(
            component,
            spec,
            |_| {},
            |store, instance| {
                Box::pin(async move {
                    let input = match input {
                        Data::Text(s) => crate::bindings::types::Data::Text(s),
                        Data::Binary(b) => crate::bindings::types::Data::Binary(b),
                    };
                    let result = instance.call_run(&mut *store, &input).await?;
                    Ok(result
                        .map(|d| match d {
                            crate::bindings::types::Data::Text(s) => Data::Text(s),
                            crate::bindings::types::Data::Binary(b) => Data::Binary(b),
                        })
                        .map_err(convert::module_error))
                })
            },
            |out| out.len() as u64,
        )
        .await
    }

    /// Classify a batch of products.
    pub async fn classify(
        &self,
        component: &LoadedComponent,
        spec: &CallSpec,
        products: &[Product],
    ) -> CallOutcome<Vec<Classification>> {
        let products: Vec<_> = products.iter().map(convert::product_to_wit).collect();
        self.call::<ClassifierPre<CallState>, _>(
            component,
            spec,
            |_| {},
            |store, instance| {
                Box::pin(async move {
                    let result = instance.call_classify(&mut *store, &products).await?;
                    Ok(result
                        .map(|list| {
                            list.into_iter()
                                .map(|c| Classification {
                                    offer_id: c.offer_id,
                                    category_path: c.category_path,
                                    category_id: c.category_id,
                                    confidence: c.confidence,
                                })
                                .collect()
                        })
                        .map_err(convert::module_error))
                })
            },
            |out: &Vec<Classification>| out.iter().map(|c| 32 + c.offer_id.len() as u64).sum(),
        )
        .await
    }
}
