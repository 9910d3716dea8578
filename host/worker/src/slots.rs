//! Registering activities whose names are only known at run time.
//!
//! The SDK (1.1.1) registers an activity per Rust type and takes the name from
//! `ActivityDefinition::name`; it has no catch-all handler. So [`Slot<I>`] is a type per index
//! whose name is entry `I` of a table filled before the worker is built, and every slot runs
//! [`ActivityHost::dispatch`], which reads the real name from the activity context.
//! (Research notes: `../shared/research/temporal-rust-sdk.md` §2.3; the upstream request for
//! dynamic activities is temporalio/features#201.)
//!
//! The table holds leaked `&'static str`s because `name()` returns a borrow of `&self`, and
//! slots are zero-sized. A worker is rebuilt (a new table generation) when the module set
//! changes; the strings leaked per rebuild are a few bytes per module name.

use std::sync::{Arc, RwLock};

use futures::FutureExt;
use futures::future::BoxFuture;
use temporalio_common::ActivityDefinition;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::{
    ActivityContext, ActivityDefinitions, ActivityError, ActivityImplementer, ExecutableActivity,
};

use crate::activities::ActivityHost;

/// How many distinct activity names one worker can serve (native steps included).
pub const MAX_ACTIVITIES: usize = 128;

static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

#[derive(Debug, thiserror::Error)]
#[error("{count} activities to register, but a worker has {MAX_ACTIVITIES} slots")]
pub struct TooManyActivities {
    pub count: usize,
}

/// Set the names the next worker registers.
pub fn set_names(names: &[String]) -> Result<(), TooManyActivities> {
    if names.len() > MAX_ACTIVITIES {
        return Err(TooManyActivities { count: names.len() });
    }
    let leaked: Vec<&'static str> = names
        .iter()
        .map(|n| &*Box::leak(n.clone().into_boxed_str()))
        .collect();
    match NAMES.write() {
        Ok(mut table) => *table = leaked,
        Err(poisoned) => *poisoned.into_inner() = leaked,
    }
    Ok(())
}

fn name_at(index: usize) -> &'static str {
    let table = NAMES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    table.get(index).copied().unwrap_or("")
}

fn name_count() -> usize {
    NAMES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
}

/// Activity slot `I`.
#[derive(Debug, Clone, Copy)]
pub struct Slot<const I: usize>;

impl<const I: usize> ActivityDefinition for Slot<I> {
    type Input = RawValue;
    type Output = RawValue;

    fn name(&self) -> &str {
        name_at(I)
    }
}

impl<const I: usize> ExecutableActivity for Slot<I> {
    type Implementer = ActivityHost;
    const REQUIRES_INSTANCE: bool = true;

    fn definition() -> Self {
        Self
    }

    fn execute(
        receiver: Option<Arc<ActivityHost>>,
        ctx: ActivityContext,
        input: RawValue,
    ) -> BoxFuture<'static, Result<RawValue, ActivityError>> {
        match receiver {
            Some(host) => host.dispatch(ctx, input).boxed(),
            // The SDK passes the instance for REQUIRES_INSTANCE activities; without one there
            // is nothing to run.
            None => async {
                Err(ActivityError::application(
                    temporalio_common::error::ApplicationFailure::new(
                        "activity host missing (worker bug)",
                    ),
                ))
            }
            .boxed(),
        }
    }
}

macro_rules! register_slots {
    ($defs:expr, $host:expr, $count:expr; $($i:literal)*) => {
        $( if $i < $count { $defs.register_activity::<Slot<$i>>($host.clone()); } )*
    };
}

impl ActivityImplementer for ActivityHost {
    fn register_all(self: Arc<Self>, defs: &mut ActivityDefinitions) {
        let count = name_count();
        register_slots!(defs, self, count;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89
            90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113
            114 115 116 117 118 119 120 121 122 123 124 125 126 127);
    }
}
