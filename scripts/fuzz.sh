#!/usr/bin/env bash
# Run every fuzz target for a bounded time (default 20 s each): the parsers that read hostile
# input must not crash. A crash fails the script and leaves its input in fuzz/artifacts/.
#
#   scripts/fuzz.sh            every target, 20 s each
#   scripts/fuzz.sh 300 token  one target for five minutes
#
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# New inputs go to a scratch directory; the committed corpus (fuzz/corpus/) is only read.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
seconds="${1:-20}"
shift || true
if ! cargo fuzz --version 2>/dev/null | grep -q "0.13.2"; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/contextworker-fuzz-target}"
# The lockfile is committed: refuse to build anything it does not pin.
cargo fetch --locked --quiet
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "corpus/$target"
  echo "== fuzz $target (${seconds} s)"
  set +e
  cargo fuzz run -O "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -print_final_stats=1 > "$scratch/$target.log" 2>&1
  status=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch/$target.log" >&2
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
