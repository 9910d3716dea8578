//! Each world's pre-instantiated form, and the one way a call picks it out of a component and
//! instantiates it.

use wasmtime::Store;

use crate::bindings::{classifier, code, enricher, transformer};
use crate::state::CallState;

/// The world-specific pre-instantiated form: imports resolved and exports type-checked once,
/// so each call only creates a store and instantiates.
pub(crate) enum WorldPre {
    Transformer(transformer::TransformerPre<CallState>),
    Classifier(classifier::ClassifierPre<CallState>),
    Enricher(enricher::EnricherPre<CallState>),
    Code(code::CodePre<CallState>),
}

/// One world's pre-instantiated form, as [`Runtime::call`] takes it: picked out of a
/// component's [`WorldPre`], then instantiated into each call's fresh store. Lets the call
/// check the world and instantiate in one place for every world.
pub(crate) trait Entry: Sync + Sized {
    /// The instance whose export the call runs.
    type Instance: Send;

    /// `pre` when it is this world's; `None` for a component of another world.
    fn of(pre: &WorldPre) -> Option<&Self>;

    fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send;
}

macro_rules! entry {
    ($variant:ident, $pre:ty, $instance:ty) => {
        impl Entry for $pre {
            type Instance = $instance;

            fn of(pre: &WorldPre) -> Option<&Self> {
                match pre {
                    WorldPre::$variant(pre) => Some(pre),
                    _ => None,
                }
            }

            fn instantiate(
                &self,
                store: &mut Store<CallState>,
            ) -> impl Future<Output = wasmtime::Result<$instance>> + Send {
                self.instantiate_async(store)
            }
        }
    };
}

entry!(
    Transformer,
    transformer::TransformerPre<CallState>,
    transformer::Transformer
);
entry!(
    Classifier,
    classifier::ClassifierPre<CallState>,
    classifier::Classifier
);
entry!(
    Enricher,
    enricher::EnricherPre<CallState>,
    enricher::Enricher
);
entry!(Code, code::CodePre<CallState>, code::Code);
