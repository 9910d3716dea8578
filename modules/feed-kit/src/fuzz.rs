//! A tiny deterministic mutator for "no input panics" tests: bit flips, truncations, byte
//! insertions and splices of a seed input. No dependency, same cases on every run.

/// `count` mutations of `seed`, deterministic for a given `salt`.
pub fn mutations(seed: &[u8], count: usize, salt: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut state = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count).map(move |i| {
        let mut bytes = seed.to_vec();
        let len = bytes.len().max(1) as u64;
        match i % 6 {
            0 => bytes.truncate((next() % len) as usize),
            1 => {
                for _ in 0..1 + next() % 8 {
                    let at = (next() % len) as usize;
                    if let Some(b) = bytes.get_mut(at) {
                        *b ^= 1 << (next() % 8);
                    }
                }
            }
            2 => {
                let at = (next() % len) as usize;
                let junk: &[u8] = match next() % 6 {
                    0 => b"<",
                    1 => b"&bogus;",
                    2 => b"\"",
                    3 => b"\xff\xfe",
                    4 => b"]]>",
                    _ => b"\n;|,\t",
                };
                bytes.splice(
                    at.min(bytes.len())..at.min(bytes.len()),
                    junk.iter().copied(),
                );
            }
            3 => {
                let a = (next() % len) as usize;
                let b = (next() % len) as usize;
                let (lo, hi) = (a.min(b).min(bytes.len()), a.max(b).min(bytes.len()));
                bytes.drain(lo..hi);
            }
            4 => {
                let a = (next() % len) as usize;
                let chunk: Vec<u8> = bytes.iter().skip(a).take(64).copied().collect();
                let at = (next() % len) as usize;
                bytes.splice(at.min(bytes.len())..at.min(bytes.len()), chunk);
            }
            _ => {
                let at = (next() % len) as usize;
                if let Some(b) = bytes.get_mut(at) {
                    *b = (next() % 256) as u8;
                }
            }
        }
        bytes
    })
}

/// A seed input and the configuration to parse its mutations with.
pub type Seed<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

/// Run `per_seed` mutations of each seed (with its config) through transformer `T` natively
/// and fail loudly if any panics or returns an error other than `InvalidInput`/`Unsupported`:
/// bad bytes are the feed's fault, never the module's. Returns the number of cases run.
///
/// For modules' own tests: a panic in the native build is a trap in the component.
#[allow(clippy::panic)] // a test assertion, called only from tests
pub fn assert_never_panics<T: contextworker_guest::Transformer>(
    seeds: &[Seed<'_>],
    per_seed: usize,
) -> usize {
    use contextworker_guest::{Config, ModuleError, native};
    let mut cases = 0;
    for (salt, (seed, config)) in seeds.iter().enumerate() {
        let config = Config::new(config.iter().copied());
        for input in mutations(seed, per_seed, salt as u64 + 1) {
            let copy = input.clone();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                native::transform::<T>(std::io::Cursor::new(copy), &config)
            }));
            match outcome {
                Ok(Ok(_) | Err(ModuleError::InvalidInput { .. } | ModuleError::Unsupported(_))) => {
                }
                Ok(Err(other)) => {
                    panic!(
                        "seed {salt}, case {cases}: unexpected error kind {other:?} for {:?}",
                        String::from_utf8_lossy(&input)
                    )
                }
                Err(_) => panic!(
                    "seed {salt}, case {cases}: the parser panicked on {:?}",
                    String::from_utf8_lossy(&input)
                ),
            }
            cases += 1;
        }
    }
    cases
}

/// [`assert_never_panics`] over files of the calling crate's `fixtures/` directory, each named
/// with the configuration to parse its mutations with. Call it with
/// `env!("CARGO_MANIFEST_DIR")`.
pub fn assert_fixtures_never_panic<T: contextworker_guest::Transformer>(
    manifest_dir: &str,
    fixtures: &[(&str, &[(&str, &str)])],
    per_seed: usize,
) -> usize {
    let seeds: Vec<Vec<u8>> = fixtures
        .iter()
        .map(|(name, _)| contextworker_guest::native::testing::fixture(manifest_dir, name))
        .collect();
    let cases: Vec<Seed<'_>> = seeds
        .iter()
        .zip(fixtures)
        .map(|(seed, (_, config))| (seed.as_slice(), *config))
        .collect();
    assert_never_panics::<T>(&cases, per_seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let a: Vec<_> = mutations(b"<a><b>1</b></a>", 50, 7).collect();
        let b: Vec<_> = mutations(b"<a><b>1</b></a>", 50, 7).collect();
        assert_eq!(a, b);
        assert!(
            a.iter()
                .filter(|m| m.as_slice() != b"<a><b>1</b></a>")
                .count()
                > 40
        );
    }
}
