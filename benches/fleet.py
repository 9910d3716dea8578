"""Fleet benchmarks: the shared object store against the local one, and harvests spread over
one, two and three hosts.

Starts a Temporal dev server (`temporal server start-dev`) and SeaweedFS (`weed server -s3`) on
loopback, then:

1. Blob store. Two hosts, each with a data directory and task queue of its own: one keeps its
   blobs in the file-system store under its data directory, the other in the S3 bucket
   (`--blob-store s3://bench/fs-vs-s3`). Both stage into SQLite in their data directory, so the
   difference is the blob store alone. The same OFFERS-offer YML feed is imported PAIRS times
   on each, interleaved (fs, s3, fs, s3, ...), each run into a fresh tenant so every run creates
   every product. Prints the medians and the median of the per-pair s3/fs ratios.

   Every pair imports a feed of its own, so every S3 run uploads its feed and product set.

2. Scale-out. Six hosts: one serving queue `fleet-1`, two serving `fleet-2`, three serving
   `fleet-3`, all with the S3 store and one PostgreSQL database for staging (as a fleet runs).
   HARVESTS distinct feeds of FLEET_OFFERS offers, served over loopback HTTP, are harvested at
   once on each queue in turn (1, 2, 3, 1, 2, 3, ...: ROUNDS rounds). Prints per host count the
   median wall time of the batch and where the steps' time went (summed over the harvests).

3. Release. Three `--fleet` hosts; `modules publish` of a new build of `yml` (the component
   with a custom section appended), PUBLISHES times with the hosts idle and PUBLISHES times
   while HARVESTS harvests run on them: how long until every host serves it (the publish
   command's own figure: download from the bucket, compile, validate, swap, report).

On one 2-core machine extra hosts add no cores: part 2 shows what the steps cost and which
shared service they wait on, not the speed-up of N machines (BENCHMARKS.md works that out).

Usage (from the repository root; scripts/bench.sh fleet wraps it):
    python3 benches/fleet.py HOST_BINARY FEEDGEN_BINARY [OFFERS] [PAIRS] [FLEET_OFFERS] [ROUNDS]
Needs `temporal`, `weed` and `psql` on PATH and PostgreSQL at $CONTEXTWORKER_TEST_POSTGRES
(default postgres://postgres@127.0.0.1:5432/test).
"""

import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from benchlib import free_port

HARVESTS = 8


def wait_for(what: str, check, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.2)


def http_status(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Services:
    """Temporal dev server, SeaweedFS and a PostgreSQL database of this run's own."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.procs: list[subprocess.Popen] = []
        port, ui = free_port(), free_port()
        self.temporal = f"127.0.0.1:{port}"
        self.procs.append(subprocess.Popen(
            ["temporal", "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
             "--ui-port", str(ui), "--headless",
             "--db-filename", os.path.join(root, "temporal.db")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports = [free_port() for _ in range(8)]
        self.s3 = f"http://127.0.0.1:{ports[0]}"
        weed_dir = os.path.join(root, "weed")
        os.makedirs(weed_dir)
        self.procs.append(subprocess.Popen(
            ["weed", "server", f"-dir={weed_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
             f"-s3.port={ports[0]}", f"-s3.port.grpc={ports[1]}", "-s3.port.iceberg=0",
             "-s3.port.lance=0", f"-master.port={ports[2]}", f"-master.port.grpc={ports[3]}",
             f"-volume.port={ports[4]}", f"-volume.port.grpc={ports[5]}",
             f"-filer.port={ports[6]}", f"-filer.port.grpc={ports[7]}",
             "-master.volumeSizeLimitMB=1024", "-master.electionTimeout=1s"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(weed_dir, "weed.log"), "w")))
        wait_for("SeaweedFS", lambda: http_status(self.s3) == 200)
        if http_status(f"{self.s3}/bench", "PUT") not in (200, 409):
            sys.exit("could not create the bucket")
        server = os.environ.get("CONTEXTWORKER_TEST_POSTGRES",
                                "postgres://postgres@127.0.0.1:5432/test").rsplit("/", 1)[0]
        self.pg_server = server
        self.db = f"fleet_bench_{os.getpid()}"
        self.psql(f"CREATE DATABASE {self.db}")
        self.database_url = f"{server}/{self.db}"
        wait_for("Temporal", lambda: _connects(port))

    def psql(self, statement: str) -> None:
        subprocess.run(["psql", f"{self.pg_server}/postgres", "-qc", statement], check=True,
                       capture_output=True)

    def env(self, blob_prefix: str | None) -> dict:
        env = {**os.environ, "RUST_LOG": "warn", "TEMPORAL_ADDRESS": self.temporal,
               "CONTEXTWORKER_OUTBOUND_ALLOW": "127.0.0.1/32"}
        env.pop("DATABASE_URL", None)
        if blob_prefix is not None:
            env.update({"CONTEXTWORKER_BLOB_STORE": f"s3://bench/{blob_prefix}",
                        "AWS_ENDPOINT_URL": self.s3, "AWS_ALLOW_HTTP": "true",
                        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_REGION": "us-east-1"})
        return env

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            self.psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Host:
    """One `contextworker-host` worker process with its own data directory."""

    def __init__(self, binary: str, root: str, name: str, queue: str, env: dict,
                 extra: tuple = ()) -> None:
        self.binary, self.queue, self.env = binary, queue, env
        self.modules = os.path.join(root, "modules")
        self.data = os.path.join(root, name)
        self.suppliers = os.path.join(root, "suppliers")
        os.makedirs(os.path.join(self.data, "import"), exist_ok=True)
        os.makedirs(self.suppliers, exist_ok=True)
        self.log = os.path.join(root, f"{name}.log")
        self.proc = subprocess.Popen(
            [binary, *self.common(), "--no-grpc", "--modules", "yml", "--identity", name,
             "--task-queue", queue, *extra],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), env=env)

    def common(self) -> list:
        return ["--data-dir", self.data, "--modules-dir", self.modules,
                "--suppliers-dir", self.suppliers]

    def ready(self) -> None:
        def serving() -> bool:
            if self.proc.poll() is not None:
                sys.exit(f"{self.log}:\n{open(self.log).read()}")
            return "serving task queue" in open(self.log).read()
        wait_for(f"{self.log} to say it serves", serving)

    def run(self, *args: str) -> str:
        """A command of this host's binary and settings (publish, list) to its end; stdout."""
        out = subprocess.run([self.binary, *self.common(), *args], capture_output=True,
                             text=True, env=self.env)
        if out.returncode != 0:
            sys.exit(f"{args} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def import_feed(self, url: str, tenant: str) -> dict:
        """Run an import through this host's queue to the end; the wall time and the result."""
        started = time.monotonic()
        out = subprocess.run(
            [self.binary, *self.common(), "import", url, "--module", "yml", "--tenant", tenant,
             "--wait", "--json"],
            capture_output=True, text=True, env={**self.env, "WORKER_TASK_QUEUE": self.queue})
        wall = time.monotonic() - started
        if out.returncode != 0:
            sys.exit(f"import of {url} on {self.queue} failed:\n{out.stdout}\n{out.stderr}")
        result = json.loads(out.stdout)["result"]
        return {"wall": wall, **result["timings"], "created": result["created"]}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def serve_dir(directory: str) -> str:
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=directory, **k)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def blob_store(binary: str, feedgen: str, services: Services, root: str, offers: int,
               pairs: int) -> None:
    fs = Host(binary, root, "fs", "bench-fs", services.env(None))
    s3 = Host(binary, root, "s3", "bench-s3", services.env("fs-vs-s3"))
    for host in (fs, s3):
        host.ready()
    feed = os.path.join(root, "feed.xml")
    runs = {"fs": [], "s3": []}
    try:
        for i in range(pairs):
            # A new feed for every pair: a blob the bucket already holds is not uploaded again,
            # so a repeated feed would leave the uploads out of the comparison.
            subprocess.run([feedgen, "yml", str(offers), str(7 + i), feed], check=True)
            for host in (fs, s3):
                shutil.copy(feed, os.path.join(host.data, "import", f"feed-{i}.xml"))
            for name, host in (("fs", fs), ("s3", s3)):
                path = os.path.join(host.data, "import", f"feed-{i}.xml")
                run = host.import_feed(f"file://{path}", f"bench-{i}-{name}")
                assert run["created"] == offers, run
                runs[name].append(run)
    finally:
        fs.stop()
        s3.stop()

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    ratios = [b["total_ms"] / a["total_ms"] for a, b in zip(runs["fs"], runs["s3"])]
    print(f"### Blob store: {offers:,} offers ({os.path.getsize(feed) / 1e6:.1f} MB YML), "
          f"{pairs} interleaved pairs, SQLite staging")
    print()
    print("| blob store | workflow total | fetch | parse | stage |")
    print("|---|---|---|---|---|")
    for name in ("fs", "s3"):
        print(f"| {'file system' if name == 'fs' else 'S3 (SeaweedFS, loopback)'} "
              f"| {med(name, 'total_ms') / 1000:.2f} s | {med(name, 'fetch_ms'):.0f} ms "
              f"| {med(name, 'parse_ms'):.0f} ms | {med(name, 'stage_ms'):.0f} ms |")
    ratio = statistics.median(ratios)
    print()
    print(f"s3/fs total time: {ratio:.2f}x (median of pair ratios; min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}); goal <= 1.3x: {'pass' if ratio <= 1.3 else 'FAIL'}")


def scale_out(binary: str, feedgen: str, services: Services, root: str, offers: int,
              rounds: int) -> None:
    feeds = os.path.join(root, "feeds")
    os.makedirs(feeds)
    for i in range(HARVESTS):
        subprocess.run([feedgen, "yml", str(offers), str(100 + i),
                        os.path.join(feeds, f"feed-{i}.xml")], check=True)
    base = serve_dir(feeds)
    env = {**services.env("fleet"), "DATABASE_URL": services.database_url}
    hosts = {n: [Host(binary, root, f"n{n}-{k}", f"fleet-{n}", env) for k in range(n)]
             for n in (1, 2, 3)}
    for group in hosts.values():
        for host in group:
            host.ready()
    results: dict[int, list] = {1: [], 2: [], 3: []}
    try:
        for r in range(rounds):
            for n, group in hosts.items():
                started = time.monotonic()
                with ThreadPoolExecutor(HARVESTS) as pool:
                    runs = list(pool.map(
                        lambda i: group[0].import_feed(f"{base}/feed-{i}.xml",
                                                       f"scale-{r}-{n}-{i}"),
                        range(HARVESTS)))
                wall = time.monotonic() - started
                assert all(run["created"] == offers for run in runs), runs
                results[n].append({"wall": wall,
                                   **{k: sum(run[k] for run in runs)
                                      for k in ("fetch_ms", "parse_ms", "stage_ms", "total_ms")}})
    finally:
        for group in hosts.values():
            for host in group:
                host.stop()

    print(f"### Scale-out: {HARVESTS} harvests of {offers:,} offers at once, S3 store, "
          f"PostgreSQL staging, {rounds} interleaved rounds, {os.cpu_count()} cores")
    print()
    print("| hosts | batch wall time | products/s | fetch (sum) | parse (sum) | stage (sum) |")
    print("|---|---|---|---|---|---|")
    for n, runs in results.items():
        def med(key: str) -> float:
            return statistics.median(run[key] for run in runs)
        print(f"| {n} | {med('wall'):.1f} s | {HARVESTS * offers / med('wall'):,.0f} "
              f"| {med('fetch_ms') / 1000:.1f} s | {med('parse_ms') / 1000:.1f} s "
              f"| {med('stage_ms') / 1000:.1f} s |")


def variant(component: bytes, n: int) -> bytes:
    """The component with a custom section appended: the same code under a new digest."""
    def leb(v: int) -> bytes:
        out = bytearray()
        while True:
            byte, v = v & 0x7F, v >> 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                return bytes(out)
    name = b"bench-variant"
    payload = leb(len(name)) + name + n.to_bytes(4, "little")
    return component + b"\x00" + leb(len(payload)) + payload


def release_latency(binary: str, services: Services, root: str, offers: int,
                    publishes: int) -> None:
    """`modules publish` to three `--fleet` hosts: how long until every host serves the new
    version, idle and while HARVESTS harvests run on them."""
    env = {**services.env("fleet"), "DATABASE_URL": services.database_url}
    hosts = [Host(binary, root, f"r-{k}", "release", env, ("--fleet",)) for k in range(3)]
    for host in hosts:
        host.ready()
    component = os.path.join(root, "modules", "yml", "yml.wasm")
    original = open(component, "rb").read()
    base = serve_dir(os.path.join(root, "feeds"))
    settled = {"idle": [], "busy": []}
    try:
        for i in range(publishes):
            for state in ("idle", "busy"):
                pool = ThreadPoolExecutor(HARVESTS)
                if state == "busy":
                    runs = [pool.submit(hosts[0].import_feed, f"{base}/feed-{k}.xml",
                                        f"release-{i}-{k}") for k in range(HARVESTS)]
                    time.sleep(3)  # the harvests are parsing
                tmp = component + ".tmp"
                open(tmp, "wb").write(variant(original, 2 * i + (state == "busy") + 1))
                os.replace(tmp, component)
                out = hosts[0].run("modules", "publish", "yml", "--timeout-secs", "60")
                ms = int(out.split(" host(s) settled in ")[1].split(" ")[0])
                settled[state].append(ms)
                if state == "busy":
                    assert all(r.result()["created"] == offers for r in runs)
                pool.shutdown()
    finally:
        for host in hosts:
            host.stop()
    print(f"### Release: `modules publish yml` to 3 hosts until every host serves it "
          f"(download, compile, validate, swap), {publishes} publishes each")
    print()
    print("| hosts were | median | min | max |")
    print("|---|---|---|---|")
    for state, label in (("idle", "idle"), ("busy", f"running {HARVESTS} harvests")):
        xs = settled[state]
        print(f"| {label} | {statistics.median(xs):.0f} ms | {min(xs)} ms | {max(xs)} ms |")


def main() -> None:
    binary, feedgen = sys.argv[1], sys.argv[2]
    offers = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    fleet_offers = int(sys.argv[5]) if len(sys.argv) > 5 else 20_000
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    root = tempfile.mkdtemp(prefix="cw-fleet-bench-")
    # A copy of the yml module (manifest, component, self-test fixtures): part 3 publishes new
    # builds of it, which must not touch the checkout.
    shutil.copytree(os.path.join("modules", "yml"), os.path.join(root, "modules", "yml"),
                    ignore=shutil.ignore_patterns("src", "tests", "Cargo.toml", "README.md"))
    services = Services(root)
    try:
        print(f"Fleet benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
        print()
        blob_store(binary, feedgen, services, root, offers, pairs)
        print()
        scale_out(binary, feedgen, services, root, fleet_offers, rounds)
        print()
        release_latency(binary, services, root, fleet_offers, 3)
    finally:
        services.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
