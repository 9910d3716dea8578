"""Enrichment benchmark: `taxonomy-rules` over OFFERS staged products, end to end through Temporal.

Starts `contextworker-host --dev` (a Temporal dev server and a worker staging into SQLite) and,
when a PostgreSQL URL is given, a second worker on the same server staging into PostgreSQL.
Each round imports a generated YML feed of OFFERS offers into a fresh tenant (so every product
is pending) and then runs `enrich` over that tenant with `taxonomy-rules`; the variants take
turns within a round (SQLite at batch 50, SQLite at batch 200, PostgreSQL at batch 50), so
drift on this shared machine falls on all of them alike. Prints one markdown table: per
variant the median time of the enrichment workflow (its own `duration_ms`), products/s, each step's time summed
over the run's batches, and the share of that activity time spent in staging reads and writes
(selecting pages, reading each batch, writing the results back) against the classifier.

Usage (from the repository root; scripts/bench.sh wraps it):
    python3 benches/enrich.py HOST_BINARY FEEDGEN_BINARY [OFFERS] [ROUNDS] [POSTGRES_URL]
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, peak_rss_mib, stop_all, wait_for_log

STEPS = ("select_ms", "read_ms", "classify_ms", "write_ms")


def run_json(host, common, args, port, queue):
    extra = ["--task-queue", queue] if queue else []
    out = subprocess.run(
        [host, *common, *args, "--wait", "--json",
         "--temporal-address", f"127.0.0.1:{port}", *extra],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout)["result"]


def main() -> None:
    host, feedgen = sys.argv[1], sys.argv[2]
    offers = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    postgres = sys.argv[5] if len(sys.argv) > 5 else None
    root = tempfile.mkdtemp(prefix="cw-bench-enrich-")
    suppliers = os.path.join(root, "suppliers")
    os.makedirs(suppliers)
    port, ui = free_port(), free_port()
    # variant -> (data dir, task queue or None, batch size)
    variants = {"SQLite, batch 50": ("data", None, 50),
                "SQLite, batch 200": ("data", None, 200)}
    if postgres:
        variants["PostgreSQL, batch 50"] = ("data-pg", "bench-enrich-pg", 50)
    commons = {}
    for data, _, _ in variants.values():
        if data in commons:
            continue
        os.makedirs(os.path.join(root, data, "import"))
        commons[data] = ["--data-dir", os.path.join(root, data), "--modules-dir", "modules",
                         "--suppliers-dir", suppliers]
    feed = os.path.join(root, "data", "import", "feed.xml")
    subprocess.run([feedgen, "yml", str(offers), "7", feed], check=True)
    if postgres:
        shutil.copy(feed, os.path.join(root, "data-pg", "import", "feed.xml"))
    modules = ["--modules", "yml,taxonomy-rules", "--no-grpc"]
    procs = []
    env = {**os.environ, "RUST_LOG": "warn"}
    try:
        log = os.path.join(root, "worker.log")
        worker = subprocess.Popen(
            [host, *commons["data"], "--dev", "--dev-port", str(port), "--dev-ui-port", str(ui),
             *modules],
            stderr=open(log, "w"), stdout=subprocess.DEVNULL, env=env)
        procs.append(worker)
        wait_for_log(worker, log, "serving task queue", "the worker")
        pg_worker = None
        if postgres:
            pg_log = os.path.join(root, "worker-pg.log")
            pg_worker = subprocess.Popen(
                [host, *commons["data-pg"], "--temporal-address", f"127.0.0.1:{port}",
                 "--task-queue", "bench-enrich-pg", "--database-url", postgres, *modules],
                stderr=open(pg_log, "w"), stdout=subprocess.DEVNULL, env=env)
            procs.append(pg_worker)
            wait_for_log(pg_worker, pg_log, "serving task queue", "the PostgreSQL worker")
        stamp = time.time_ns()
        runs = {name: [] for name in variants}
        for i in range(rounds + 1):
            for n, (name, (data, queue, batch)) in enumerate(variants.items()):
                tenant = f"bench-{stamp}-{i}-{n}"
                staged = run_json(host, commons[data],
                                  ["import", f"file://{os.path.join(root, data, 'import', 'feed.xml')}",
                                   "--module", "yml",
                                   "--tenant", tenant], port, queue)
                assert staged["created"] == offers, staged
                # Round 0 only warms the worker: a few batches, not counted.
                warmup = ["--max-batches", "4"] if i == 0 else []
                result = run_json(host, commons[data],
                                  ["enrich", tenant, "--classifier", "taxonomy-rules",
                                   "--batch-size", str(batch), *warmup], port, queue)
                if i == 0:
                    continue
                assert result["status"] == "completed", result
                assert result["processed"] == offers, result
                assert result["failed"] == 0, result
                runs[name].append({"duration_ms": result["duration_ms"],
                                   "batches": result["batches"], **result["timings"]})
        rss = peak_rss_mib(worker.pid)
        rss_pg = peak_rss_mib(pg_worker.pid) if pg_worker else None
    finally:
        stop_all(procs)
        shutil.rmtree(root, ignore_errors=True)

    def med(name, key):
        return statistics.median(r[key] for r in runs[name])

    print(f"Enrichment, taxonomy-rules over {offers} staged products through Temporal, "
          f"{rounds} interleaved rounds (after one warm-up), 2 batches at a time, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print()
    print("| staging, batch size | workflow | products/s | batches | select | read | classify "
          "| write | staging share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in variants:
        total = med(name, "duration_ms")
        shares = []
        for r in runs[name]:
            busy = sum(r[s] for s in STEPS)
            shares.append((r["select_ms"] + r["read_ms"] + r["write_ms"]) / busy if busy else 0)
        print(f"| {name} | {total / 1000:.2f} s | {offers / (total / 1000):,.0f} "
              f"| {med(name, 'batches'):.0f} | {med(name, 'select_ms') / 1000:.2f} s "
              f"| {med(name, 'read_ms') / 1000:.2f} s | {med(name, 'classify_ms') / 1000:.2f} s "
              f"| {med(name, 'write_ms') / 1000:.2f} s | {statistics.median(shares):.0%} |")
    print()
    print("select, read, classify, write: each step's time summed over the run (two batches "
          "run at once, so the sum can exceed the workflow's time); staging share: (select + "
          "read + write) / (select + read + classify + write); the rest of the workflow's time "
          "is Temporal's round trips between the steps.")
    print(f"worker peak RSS (whole run): SQLite {rss:.0f} MiB"
          + (f", PostgreSQL {rss_pg:.0f} MiB" if rss_pg else ""))


if __name__ == "__main__":
    main()
