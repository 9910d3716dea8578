#!/usr/bin/env bash
# The second command of the README: the whole test suite. CI runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== guest components (built and linted for wasm32-wasip2, one module per invocation)"
"$root/scripts/build-modules.sh"
for dir in $(sed -n 's|^ *"\(modules/.*\)",$|\1|p' Cargo.toml); do
  package="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1)"
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/guests" \
    cargo clippy --quiet --profile module --target wasm32-wasip2 -p "$package" -- -D warnings
done
echo "== cargo test"
cargo test --workspace --no-fail-fast
