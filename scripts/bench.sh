#!/usr/bin/env bash
# The benchmark suite behind BENCHMARKS.md, in one command. Release builds; on 2 cores the first
# run builds for several minutes, the measurements themselves take about twenty (the fleet part seven).
#
#   scripts/bench.sh            every part
#   scripts/bench.sh micro      call overhead, compile cache, epoch cost, hot swap (goals table)
#   scripts/bench.sh throughput parser throughput, native vs wasm, three formats
#   scripts/bench.sh e2e        100,000-product harvest through Temporal, wasm vs native parser
#   scripts/bench.sh fleet      S3 store vs file-system store; 8 harvests on 1, 2 and 3 hosts
#   scripts/bench.sh observe    a 100,000-product harvest with metrics and JSON logs on ÷ off
#   scripts/bench.sh peer       the host against a Python temporalio/lxml/sqlite3 worker, same
#                               harvest, interleaved; then the host into PostgreSQL
#   scripts/bench.sh staging    staging alone, rows/s, SQLite and PostgreSQL
#   scripts/bench.sh enrich     taxonomy-rules over 100,000 staged products through Temporal,
#                               SQLite and PostgreSQL; llm-classifier's overhead per batch over
#                               a chat service's latency, against a plain reqwest request
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/contextworker-target}"
what="${1:-all}"

# The harvest benchmarks' tools: the modules, the host (release; with the natively linked
# parser the e2e benchmark compares against, one build for both) and the feed generator.
host="$CARGO_TARGET_DIR/release/contextworker-host"
feedgen="$CARGO_TARGET_DIR/release/feedgen"
build_harvest_tools() {
  bash scripts/build-modules.sh > /dev/null
  cargo build --locked --quiet --release -p contextworker-host --features native-parsers
  cargo build --locked --quiet --release -p contextworker-test-support --bin feedgen
}

echo "# $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), $(rustc --version)"
if [ "$what" = all ] || [ "$what" = micro ]; then
  echo; echo "## Sandbox micro-benchmarks"
  cargo run --locked --quiet --release -p contextworker-bench --bin goals
fi
if [ "$what" = all ] || [ "$what" = throughput ]; then
  echo; echo "## Parser throughput (100,000 offers, 5 interleaved pairs)"
  cargo run --locked --quiet --release -p contextworker-conformance --bin throughput 100000 5
fi
if [ "$what" = all ] || [ "$what" = e2e ]; then
  echo; echo "## End-to-end harvest"
  build_harvest_tools
  python3 benches/harvest.py "$host" "$feedgen" 100000 3
fi
if [ "$what" = all ] || [ "$what" = staging ]; then
  echo; echo "## Staging alone (100,000 products, 3 rounds)"
  cargo bench --locked --quiet -p contextworker-staging --bench rate -- 100000 3
  echo; echo "The databases alone, the floor under those figures:"
  python3 benches/staging_floor.py 100000 3 \
    "${CONTEXTWORKER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
fi
if [ "$what" = all ] || [ "$what" = peer ]; then
  echo; echo "## Harvest: the host and its Python peer"
  build_harvest_tools
  python3 -m pip install --quiet --disable-pip-version-check temporalio==1.35.0 lxml==6.1.3
  python3 benches/peer.py "$host" "$feedgen" 100000 3 \
    "${CONTEXTWORKER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
fi
if [ "$what" = all ] || [ "$what" = enrich ]; then
  echo; echo "## Enrichment"
  build_harvest_tools
  python3 benches/enrich.py "$host" "$feedgen" 100000 3 \
    "${CONTEXTWORKER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
  echo
  cargo run --locked --quiet --release -p contextworker-bench --bin llm_overhead 30
fi
if [ "$what" = all ] || [ "$what" = observe ]; then
  echo; echo "## Observability cost"
  build_harvest_tools
  python3 benches/observe.py "$host" "$feedgen" 100000 5
fi
if [ "$what" = all ] || [ "$what" = fleet ]; then
  echo; echo "## Fleet"
  build_harvest_tools
  python3 benches/fleet.py "$host" "$feedgen" 100000 3 20000 2
fi
