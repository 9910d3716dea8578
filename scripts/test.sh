#!/usr/bin/env bash
# The second command of the README: the whole test suite. CI runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh"
echo "== cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
echo "== cargo deny (advisories, bans, sources, licenses)"
"$root/scripts/deny.sh"
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
# The end-to-end benchmark's natively linked parser exists only behind this feature.
cargo clippy --locked -p contextworker-worker --features native-parsers -- -D warnings
# The fuzz targets are a workspace of their own; its lockfile is committed too.
cargo clippy --locked --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
echo "== guest components (built for wasm32-wasip2, one module per invocation)"
"$root/scripts/build-modules.sh"
# Module code is linted natively by the workspace clippy above; what only exists on wasm32 is
# the guest SDK's bindings and export macros, linted here through one module per world kind
# (transformer, code, enricher with the `http` feature). Linting every module again for wasm32 repeated the native pass at a
# cost of minutes of CI (the JavaScript engine alone is a large crate).
for package in simple-tsv text-stats llm-classifier; do
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/guests" \
    cargo clippy --locked --quiet --profile module --target wasm32-wasip2 -p "$package" -- -D warnings
done
echo "== cargo test"
cargo test --locked --workspace --no-fail-fast
echo "== fuzz (every target, bounded)"
"$root/scripts/fuzz.sh" "${CONTEXTWORKER_FUZZ_SECONDS:-20}"
