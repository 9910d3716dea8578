"""End-to-end harvest benchmark: the whole pipeline through Temporal, wasm parser vs native.

Starts `contextworker-host --dev` (a Temporal dev server and the worker, release build with the
`native-parsers` feature), generates a YML feed of OFFERS offers with the repository's feed
generator, and imports it PAIRS times with the `yml` component and with `native-yml` (the same
parser linked into the host), interleaved (wasm, native, wasm, native, ...), each run into a
fresh tenant so every run creates every product. Prints one markdown table: per variant the
median wall time of the workflow, products/s, the fetch/parse/stage times and the share of the
time spent in orchestration (everything that is not one of the three steps: Temporal round
trips, pinning, scheduling), the median of the per-pair wasm/native ratios, and the host's
peak RSS.

Usage (from the repository root; scripts/bench.sh wraps it):
    python3 benches/harvest.py HOST_BINARY FEEDGEN_BINARY [OFFERS] [PAIRS]
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, peak_rss_mib


def main() -> None:
    host, feedgen = sys.argv[1], sys.argv[2]
    offers = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    root = tempfile.mkdtemp(prefix="cw-bench-")
    data, suppliers = os.path.join(root, "data"), os.path.join(root, "suppliers")
    os.makedirs(os.path.join(data, "import"))
    os.makedirs(suppliers)
    feed = os.path.join(data, "import", "feed.xml")
    subprocess.run([feedgen, "yml", str(offers), "7", feed], check=True)
    feed_mb = os.path.getsize(feed) / 1e6
    port, ui = free_port(), free_port()
    common = ["--data-dir", data, "--modules-dir", "modules", "--suppliers-dir", suppliers]
    log = open(os.path.join(root, "worker.log"), "w")
    worker = subprocess.Popen(
        [host, *common, "--dev", "--dev-port", str(port), "--dev-ui-port", str(ui),
         "--no-grpc", "--modules", "yml"],
        stderr=log, stdout=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        deadline = time.time() + 120
        while "serving task queue" not in open(log.name).read():
            if worker.poll() is not None or time.time() > deadline:
                sys.exit("the worker did not start:\n" + open(log.name).read())
            time.sleep(0.2)
        runs = {"yml": [], "native-yml": []}
        for i in range(pairs):
            for module in ("yml", "native-yml"):
                started = time.monotonic()
                out = subprocess.run(
                    [host, *common, "import", f"file://{feed}", "--module", module,
                     "--tenant", f"bench-{i}-{module}", "--wait", "--json",
                     "--temporal-address", f"127.0.0.1:{port}"],
                    capture_output=True, text=True,
                )
                wall = time.monotonic() - started
                if out.returncode != 0:
                    sys.exit(f"import with {module} failed:\n{out.stdout}\n{out.stderr}")
                result = json.loads(out.stdout)["result"]
                assert result["created"] == offers, result
                runs[module].append({"wall": wall, **result["timings"], "parsed": result["parsed"]})
        rss = peak_rss_mib(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    def med(module: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[module])

    ratios = [w["total_ms"] / n["total_ms"] for w, n in zip(runs["yml"], runs["native-yml"])]
    print(f"End-to-end harvest, {offers} offers ({feed_mb:.1f} MB YML), {pairs} interleaved pairs, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print()
    print("| parser | workflow total | products/s | fetch | parse | stage | orchestration share |")
    print("|---|---|---|---|---|---|---|")
    for module in ("yml", "native-yml"):
        total = med(module, "total_ms")
        steps = med(module, "fetch_ms") + med(module, "parse_ms") + med(module, "stage_ms")
        print(f"| {'wasm component' if module == 'yml' else 'native (linked in)'} "
              f"| {total / 1000:.2f} s | {offers / (total / 1000):,.0f} "
              f"| {med(module, 'fetch_ms'):.0f} ms | {med(module, 'parse_ms'):.0f} ms "
              f"| {med(module, 'stage_ms'):.0f} ms | {max(0.0, 1 - steps / total):.1%} |")
    print()
    ratio = statistics.median(ratios)
    print(f"wasm/native total time: {ratio:.2f}x (median of pair ratios; min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}); goal <= 1.2x: {'pass' if ratio <= 1.2 else 'FAIL'}")
    print(f"host peak RSS (worker process, whole run): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
