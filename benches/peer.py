"""The host against its Python peer: the same harvest, the same feed, the same dev server.

Generates a YML feed of OFFERS offers (the repository's feed generator) and a copy with 10% of
the offers' prices changed, serves them over loopback HTTP, starts `contextworker-host --dev`
(SQLite staging, the `yml` component) and the Python peer worker (benches/peer/worker.py:
temporalio, lxml iterparse, sqlite3) on the same Temporal dev server, and runs PAIRS rounds,
interleaved (host, peer, host, peer, ...). A round is two harvests into a fresh catalog: the
first run creates every product, the second fetches the changed feed (new validators, so the
conditional GET cannot skip it) and updates 10%. Both report the workflow's own time (first
workflow task to last), and per-step times. Then, when POSTGRES_URL is given, a second host on
its own task queue stages into PostgreSQL, PAIRS rounds again.

Prints a markdown table with the medians and the median of the per-round peer/host ratios, and
the host's peak RSS.

Usage (from the repository root; scripts/bench.sh peer wraps it):
    python3 benches/peer.py HOST_BINARY FEEDGEN_BINARY [OFFERS] [PAIRS] [POSTGRES_URL]
"""

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, peak_rss_mib, stop_all, wait_for_log
from temporalio.client import Client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer"))
from worker import PeerHarvest  # noqa: E402


def change_prices(src: str, dst: str) -> int:
    """Copy the feed with every tenth offer's price raised by 1: 10% of the offers change."""
    offer, changed = None, 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.startswith("<offer id="):
                offer = int(re.match(r'<offer id="(\d+)"', line).group(1))
            elif offer is not None and offer % 10 == 0 and line.startswith("<price>"):
                value = line[len("<price>"):line.index("</price>")].replace(",", ".")
                line = f"<price>{float(value) + 1:.2f}</price>\n"
                changed += 1
            out.write(line)
    return changed


def run_host(host, common, url, tenant, port, queue=None) -> dict:
    extra = ["--task-queue", queue] if queue else []
    out = subprocess.run(
        [host, *common, "import", url, "--module", "yml", "--tenant", tenant, "--wait", "--json",
         "--temporal-address", f"127.0.0.1:{port}", *extra],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"host import failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(out.stdout)["result"]
    return {**result["timings"], **{k: result[k] for k in ("created", "updated", "unchanged")}}


async def run_peer(client, url, work, db, tenant) -> dict:
    os.makedirs(work, exist_ok=True)
    result = await client.execute_workflow(
        PeerHarvest.run,
        {"url": url, "work_dir": work, "db": db, "tenant": tenant, "supplier": "feed"},
        id=f"peer-{tenant}-{time.time_ns()}", task_queue="peer-bench",
    )
    return result


def check(label, result, offers, run):
    want = (offers, 0, 0) if run == "first" else (0, offers // 10, offers - offers // 10)
    got = (result["created"], result["updated"], result["unchanged"])
    assert got == want, f"{label} {run} run counted {got}, expected {want}"


async def main() -> None:
    host, feedgen = sys.argv[1], sys.argv[2]
    offers = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    postgres = sys.argv[5] if len(sys.argv) > 5 else None
    root = tempfile.mkdtemp(prefix="cw-peer-")
    serve, data, suppliers = (os.path.join(root, d) for d in ("serve", "data", "suppliers"))
    for d in (serve, data, suppliers):
        os.makedirs(d)
    first_feed, second_feed = os.path.join(root, "first.xml"), os.path.join(root, "second.xml")
    subprocess.run([feedgen, "yml", str(offers), "7", first_feed], check=True)
    assert change_prices(first_feed, second_feed) == offers // 10
    feed_mb = os.path.getsize(first_feed) / 1e6
    served = os.path.join(serve, "feed.xml")

    http_port, port, ui = free_port(), free_port(), free_port()
    procs = []
    http = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(http_port), "--bind", "127.0.0.1",
         "--directory", serve], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(http)
    url = f"http://127.0.0.1:{http_port}/feed.xml"
    common = ["--data-dir", data, "--modules-dir", "modules", "--suppliers-dir", suppliers]
    log_path = os.path.join(root, "host.log")
    worker = subprocess.Popen(
        [host, *common, "--dev", "--dev-port", str(port), "--dev-ui-port", str(ui),
         "--no-grpc", "--modules", "yml", "--outbound-allow", "127.0.0.1/32"],
        stderr=open(log_path, "w"), stdout=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"})
    procs.append(worker)
    runs = {(who, run): [] for who in ("host", "peer", "host-pg") for run in ("first", "second")}
    try:
        wait_for_log(worker, log_path, "serving task queue", "the host")
        peer_log = os.path.join(root, "peer.log")
        peer = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(__file__), "peer", "worker.py"),
             f"127.0.0.1:{port}", "peer-bench", root],
            stdout=open(peer_log, "w"), stderr=subprocess.STDOUT)
        procs.append(peer)
        wait_for_log(peer, peer_log, "peer worker ready", "the peer worker")
        client = await Client.connect(f"127.0.0.1:{port}")
        # One warm-up harvest each, not counted: the first compile of the component, the
        # first connections, Python's imports.
        shutil.copy(first_feed, served)
        run_host(host, common, url, "warmup", port)
        await run_peer(client, url, os.path.join(root, "peer-warmup"),
                       os.path.join(root, "peer-warmup.db"), "warmup")
        for i in range(pairs):
            work, db = os.path.join(root, f"peer-{i}"), os.path.join(root, f"peer-{i}.db")
            for run, feed in (("first", first_feed), ("second", second_feed)):
                shutil.copy(feed, served)
                result = run_host(host, common, url, f"bench-{i}", port)
                check("host", result, offers, run)
                runs[("host", run)].append(result)
                result = await run_peer(client, url, work, db, f"bench-{i}")
                check("peer", result, offers, run)
                runs[("peer", run)].append(result)
        rss = peak_rss_mib(worker.pid)
        rss_pg = None
        if postgres:
            pg_log = os.path.join(root, "host-pg.log")
            pg_data = os.path.join(root, "data-pg")
            os.makedirs(pg_data)
            pg_common = ["--data-dir", pg_data, "--modules-dir", "modules",
                         "--suppliers-dir", suppliers]
            pg_worker = subprocess.Popen(
                [host, *pg_common, "--temporal-address", f"127.0.0.1:{port}", "--no-grpc",
                 "--modules", "yml", "--task-queue", "bench-pg", "--database-url", postgres,
                 "--outbound-allow", "127.0.0.1/32"],
                stderr=open(pg_log, "w"), stdout=subprocess.DEVNULL,
                env={**os.environ, "RUST_LOG": "warn"})
            procs.append(pg_worker)
            wait_for_log(pg_worker, pg_log, "serving task queue", "the PostgreSQL host")
            stamp = time.time_ns()
            shutil.copy(first_feed, served)
            run_host(host, pg_common, url, f"pg-warmup-{stamp}", port, "bench-pg")
            for i in range(pairs):
                for run, feed in (("first", first_feed), ("second", second_feed)):
                    shutil.copy(feed, served)
                    result = run_host(host, pg_common, url, f"pg-{stamp}-{i}", port, "bench-pg")
                    check("host-pg", result, offers, run)
                    runs[("host-pg", run)].append(result)
            rss_pg = peak_rss_mib(pg_worker.pid)
    finally:
        stop_all(procs)
        shutil.rmtree(root, ignore_errors=True)

    def med(who, run, key):
        return statistics.median(r[key] for r in runs[(who, run)])

    print(f"Harvest, host vs Python peer: {offers} offers ({feed_mb:.1f} MB YML over loopback "
          f"HTTP), {pairs} interleaved rounds, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print()
    print("| worker | run | total | fetch | parse | stage | peer ÷ host |")
    print("|---|---|---:|---:|---:|---:|---:|")
    labels = {"host": "contextworker-host, SQLite", "peer": "Python peer, SQLite",
              "host-pg": "contextworker-host, PostgreSQL"}
    for who in ("host", "peer", "host-pg"):
        for run in ("first", "second"):
            if not runs[(who, run)]:
                continue
            ratio = ""
            if who == "host":
                ratios = [p["total_ms"] / h["total_ms"]
                          for h, p in zip(runs[("host", run)], runs[("peer", run)])]
                ratio = f"{statistics.median(ratios):.1f}×"
            print(f"| {labels[who]} | {run} | {med(who, run, 'total_ms') / 1000:.2f} s "
                  f"| {med(who, run, 'fetch_ms'):.0f} ms | {med(who, run, 'parse_ms'):.0f} ms "
                  f"| {med(who, run, 'stage_ms'):.0f} ms | {ratio} |")
    print()
    print("first: every product created; second: the feed changed in 10% of offers, "
          "the rest unchanged")
    print(f"host peak RSS (worker process, whole run): {rss:.0f} MiB"
          + (f"; PostgreSQL host: {rss_pg:.0f} MiB" if rss_pg else ""))


if __name__ == "__main__":
    asyncio.run(main())
