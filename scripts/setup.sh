#!/usr/bin/env bash
# The first command of the README: install what is missing, build the host and the modules,
# check them, and run the main command once: a local Temporal dev server, the worker, and a
# harvest of the demo supplier (fetch → parse in the sandbox → stage into SQLite).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh"
cargo build --locked --release -p contextworker-host
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
echo "== contextworker-host --dev --once (dev server + worker; harvests the demo supplier, then stops)"
"$host" --modules-dir modules --suppliers-dir suppliers --dev --once -q
echo
echo "The host binary is $host. Run \`$host --dev\` to keep the worker serving (Ctrl-C stops it)."

