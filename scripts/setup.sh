#!/usr/bin/env bash
# The first command of the README: install what is missing, build the host and the modules,
# and run the main job (validate every module and supplier, parse the demo feed, run a code module).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh"
cargo build --release -p contextworker-host
"$root/scripts/build-modules.sh"
host="${CARGO_TARGET_DIR:-$root/target}/release/contextworker-host"
echo
echo "== modules validate"
"$host" --modules-dir modules modules validate
echo
echo "== suppliers validate (the demo supplier's feed through its module)"
"$host" --modules-dir modules --suppliers-dir suppliers suppliers validate
echo
echo "== modules test yml suppliers/feeds/demo.xml --config language=uk"
"$host" --modules-dir modules modules test yml suppliers/feeds/demo.xml --config language=uk
echo
echo "== exec modules/text-stats/text-stats.wasm"
"$host" exec modules/text-stats/text-stats.wasm --input "the quick brown fox
jumps over the lazy dog"
echo
echo "The host binary is $host"
