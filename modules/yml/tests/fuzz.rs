//! No input panics: ~2000 deterministic mutations (bit flips, cuts, splices, junk such as `<`,
//! `&bogus;`, `]]>` and invalid UTF-8) of the fixtures go through the parser. Each either parses
//! or fails with a typed, located `invalid-input` or an `unsupported`; never a panic or an
//! internal error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use contextworker_guest::{Config, ModuleError, native};
use yml::Yml;

const SEEDS: &[&[u8]] = &[
    include_bytes!("../fixtures/basic.xml"),
    include_bytes!("../fixtures/no-offers-wrapper.xml"),
    include_bytes!("../fixtures/parent-id-cdata.xml"),
    include_bytes!("../fixtures/cyrillic-available.xml"),
    include_bytes!("../fixtures/escaped-html.xml"),
    include_bytes!("../fixtures/windows-1251.xml"),
    include_bytes!("../fixtures/bad-entity-bomb.xml"),
    include_bytes!("../fixtures/no-shop-lang-attr.xml"),
];

const PER_SEED: usize = 250;

#[test]
fn mutated_fixtures_never_panic() {
    let configs = [
        Config::default(),
        Config::new([("lenient", "true"), ("language", "ru")]),
    ];
    let mut outcomes = [0usize; 3];
    for (seed_index, seed) in SEEDS.iter().enumerate() {
        for (i, input) in
            feed_kit::fuzz::mutations(seed, PER_SEED, seed_index as u64 + 1).enumerate()
        {
            let config = &configs[i % configs.len()];
            let copy = input.clone();
            let result = catch_unwind(AssertUnwindSafe(|| {
                native::transform::<Yml>(std::io::Cursor::new(copy), config)
            }));
            let shown = || String::from_utf8_lossy(&input).into_owned();
            match result {
                Err(_) => panic!("seed {seed_index} mutation {i} panicked on:\n{}", shown()),
                Ok(Ok(_)) => outcomes[0] += 1,
                Ok(Err(ModuleError::InvalidInput { location, message })) => {
                    assert!(
                        location.is_some(),
                        "seed {seed_index} mutation {i}: error without a location: {message}"
                    );
                    outcomes[1] += 1;
                }
                Ok(Err(ModuleError::Unsupported(_))) => outcomes[2] += 1,
                Ok(Err(other)) => {
                    panic!("seed {seed_index} mutation {i}: {other:?} on:\n{}", shown())
                }
            }
        }
    }
    eprintln!(
        "parsed {}, invalid-input {}, unsupported {}",
        outcomes[0], outcomes[1], outcomes[2]
    );
    assert_eq!(outcomes.iter().sum::<usize>(), SEEDS.len() * PER_SEED);
}
