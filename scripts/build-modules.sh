#!/usr/bin/env bash
# Build every module under modules/ for wasm32-wasip2 and put each component next to its
# manifest (modules/<dir>/<name>.wasm), where `contextworker-host --modules-dir modules/` finds it.
# Modules are built one per cargo invocation: each selects one WIT world feature of the guest
# SDK, and cargo would unify the features of modules built together.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}/guests"
built=0
for manifest in modules/*/module.toml; do
  dir="$(dirname "$manifest")"
  [ -f "$dir/Cargo.toml" ] || continue
  package="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1)"
  name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n1)"
  CARGO_TARGET_DIR="$target" cargo build --locked --quiet --profile module --target wasm32-wasip2 -p "$package"
  cp "$target/wasm32-wasip2/module/${package//-/_}.wasm" "$dir/$name.wasm.tmp"
  # Rename into place: a running host watching the directory never sees a half-written file.
  mv "$dir/$name.wasm.tmp" "$dir/$name.wasm"
  echo "built $dir/$name.wasm ($(wc -c < "$dir/$name.wasm") bytes)"
  built=$((built + 1))
done
echo "$built module(s) built"
