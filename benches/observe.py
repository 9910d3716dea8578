"""What observing a host costs a harvest: metrics, JSON logs and traces on ÷ off, side by side
in one run.

Starts a Temporal dev server and two workers of the same binary on one machine, each on its own
task queue and data directory: one plain, one with `--metrics-addr` (every guest call, step and
reload recorded, the endpoint scraped every second as Prometheus would, more often than its
usual 15 s), `--log-json` and `OTEL_ENABLED` (spans exported over OTLP to the tests' Python
collector, `tests/python/otlp_receiver.py`, which decodes every span). Imports one generated YML feed of OFFERS offers PAIRS times into
each, interleaved (off, on, off, on, ...), each run into a fresh tenant so every run creates
every product. Prints the median workflow time of each side and the median of the per-pair
on/off ratios (goal ≤ 1.05×).

Usage (from the repository root; scripts/bench.sh observe wraps it):
    python3 benches/observe.py HOST_BINARY FEEDGEN_BINARY [OFFERS] [PAIRS]
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import free_port, stop_all, wait_for_log


def main() -> None:
    host, feedgen = sys.argv[1], sys.argv[2]
    offers = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    root = tempfile.mkdtemp(prefix="cw-observe-")
    procs = []
    scraping = threading.Event()
    try:
        port, ui = free_port(), free_port()
        address = f"127.0.0.1:{port}"
        procs.append(subprocess.Popen(
            ["temporal", "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
             "--ui-port", str(ui), "--headless", "--db-filename", os.path.join(root, "t.db")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        suppliers = os.path.join(root, "suppliers")
        os.makedirs(suppliers)
        feed_dir = os.path.join(root, "feeds")
        os.makedirs(feed_dir)
        feed = os.path.join(feed_dir, "feed.xml")
        subprocess.run([feedgen, "yml", str(offers), "7", feed], check=True)
        metrics_port = free_port()
        sides = {"off": [], "on": ["--metrics-addr", f"127.0.0.1:{metrics_port}", "--log-json"]}
        otlp_port = free_port()
        spans = os.path.join(root, "spans.jsonl")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join("tests", "python", "otlp_receiver.py"),
             str(otlp_port), spans]))
        while not os.path.exists(spans):
            time.sleep(0.1)
        traced = {"OTEL_ENABLED": "1", "OTEL_ENDPOINT": f"http://127.0.0.1:{otlp_port}"}
        envs = {"off": {}, "on": traced}
        common = {}
        for side, extra in sides.items():
            data = os.path.join(root, f"data-{side}")
            os.makedirs(os.path.join(data, "import"))
            shutil.copy(feed, os.path.join(data, "import", "feed.xml"))
            common[side] = ["--data-dir", data, "--modules-dir", "modules",
                            "--suppliers-dir", suppliers]
            log = os.path.join(root, f"worker-{side}.log")
            proc = subprocess.Popen(
                [host, *common[side], "serve", "--temporal-address", address,
                 "--task-queue", f"bench-{side}", "--no-grpc", "--modules", "yml",
                 "--identity", f"bench-{side}", *extra],
                stderr=open(log, "w"), stdout=subprocess.DEVNULL,
                env={**os.environ, "RUST_LOG": "", "LOG_LEVEL": "INFO", **envs[side]})
            procs.append(proc)
            wait_for_log(proc, log, "serving task queue", f"the {side} worker")

        def scrape() -> None:
            while not scraping.is_set():
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                           timeout=5).read()
                except OSError:
                    pass
                scraping.wait(1.0)

        threading.Thread(target=scrape, daemon=True).start()
        runs = {"off": [], "on": []}
        for i in range(pairs):
            for side in ("off", "on"):
                data = common[side][1]
                out = subprocess.run(
                    [host, *common[side], "import",
                     f"file://{os.path.join(data, 'import', 'feed.xml')}", "--module", "yml",
                     "--tenant", f"bench-{i}-{side}", "--wait", "--json",
                     "--temporal-address", address, "--task-queue", f"bench-{side}"],
                    capture_output=True, text=True, env={**os.environ, **envs[side]})
                if out.returncode != 0:
                    sys.exit(f"import on the {side} worker failed:\n{out.stdout}\n{out.stderr}")
                result = json.loads(out.stdout)["result"]
                assert result["created"] == offers, result
                runs[side].append(result["timings"]["total_ms"])
        time.sleep(2)  # the last batch of spans
        with open(spans, encoding="utf-8") as f:
            exported = sum(1 for _ in f)
    finally:
        scraping.set()
        stop_all(procs)
        shutil.rmtree(root, ignore_errors=True)

    ratios = [on / off for off, on in zip(runs["off"], runs["on"])]
    ratio = statistics.median(ratios)
    print(f"Harvest of {offers} offers, metrics, JSON logs and traces on ÷ off ({exported} spans exported), {pairs} interleaved pairs, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print()
    print("| side | workflow total (median) | products/s |")
    print("|---|---|---|")
    for side in ("off", "on"):
        total = statistics.median(runs[side]) / 1000
        print(f"| {side} | {total:.2f} s | {offers / total:,.0f} |")
    print()
    print(f"on/off: {ratio:.3f}x (median of pair ratios; min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}); goal <= 1.05x: {'pass' if ratio <= 1.05 else 'FAIL'}")


if __name__ == "__main__":
    main()
