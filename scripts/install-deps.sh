#!/usr/bin/env bash
# Install what the build and the tests need beyond a Rust toolchain. Idempotent and quick
# when everything is already there.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
