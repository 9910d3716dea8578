//! Parsers linked into the host instead of run as components (feature `native-parsers`).
//!
//! Only the end-to-end benchmark uses them: it runs the same harvest with `module =
//! "native-yml"` beside the `yml` component, to measure what the sandbox costs in the whole
//! pipeline. A normal build never has them: they run without any of the sandbox's limits.

use contextworker_guest as guest;
use contextworker_runtime::SinkEvent;
use contextworker_storage::BlobReader;
use contextworker_types::{self as t, Digest};
use tokio::sync::mpsc::Sender;

use crate::messages::ModuleUsed;

const NATIVE_YML: &str = "native-yml";

pub(crate) fn is_native(name: &str) -> bool {
    name == NATIVE_YML
}

pub(crate) fn module_used(name: &str) -> ModuleUsed {
    ModuleUsed {
        name: name.to_owned(),
        version: "native".to_owned(),
        digest: Digest::of(name.as_bytes()),
    }
}

/// Parse `reader` with the native build of the named parser, products to `tx` in the batches
/// the parser emits (the same batches a component hands the host).
pub(crate) async fn transform(
    _name: &str,
    reader: BlobReader,
    config: Vec<(String, String)>,
    tx: Sender<SinkEvent>,
) -> Result<(), String> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let input = tokio_util::io::SyncIoBridge::new_with_handle(reader, handle);
        let config = guest::Config::new(config);
        let mut sink = guest::ProductSink::native(move |products, warnings| {
            if !products.is_empty() {
                let _ = tx.blocking_send(SinkEvent::Products(
                    products.into_iter().map(product).collect(),
                ));
            }
            if !warnings.is_empty() {
                let _ = tx.blocking_send(SinkEvent::Warnings(
                    warnings.into_iter().map(warning).collect(),
                ));
            }
        });
        let mut feed = guest::FeedReader::from_reader(input);
        <yml::Yml as guest::Transformer>::transform(&mut feed, &mut sink, &config)
            .map_err(|e| format!("{e:?}"))?;
        sink.flush();
        Ok(())
    })
    .await
    .map_err(|e| format!("the native parser's thread failed: {e}"))?
}

fn product(p: guest::Product) -> t::Product {
    t::convert_product!(p, guest => t)
}

fn warning(w: guest::Warning) -> t::Warning {
    t::Warning {
        message: w.message,
        location: w.location.map(|l| t::Location {
            byte_offset: l.byte_offset,
            line: l.line,
            column: l.column,
            record_index: l.record_index,
            path: l.path,
        }),
        offer_id: w.offer_id,
    }
}
