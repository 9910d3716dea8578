"""What the databases themselves cost for a staging run, with no host in the way: the floor the
host's staging rate (benches: `cargo bench -p contextworker-staging --bench rate`) is measured
against.

- SQLite: Python's `sqlite3` (the C library and a thin binding) upserts N rows shaped like the
  host's (the host's own schema, read from its migrations; ~700-byte product JSON) in 5,000-row
  transactions, a first run (all created) and a second run (all conflicting), on a fresh file.
- PostgreSQL: the server inserts N such rows generated inside the server
  (`INSERT ... SELECT FROM generate_series`), then upserts them again, into a scratch copy of the
  host's table (`LIKE staged_products INCLUDING ALL`): no client, no network, no parameters.

Each is run ROUNDS times; medians, as rows per second.

    python3 benches/staging_floor.py [N] [ROUNDS] [POSTGRES_URL]
"""

import glob
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSERT = (
    "INSERT INTO staged_products (tenant, supplier, sku, name, brand, category, price, "
    "currency, quantity, availability, url, product, content_hash, first_seen_run, "
    "last_seen_run, last_outcome) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (tenant, supplier, sku) DO UPDATE SET last_seen_run = excluded.last_seen_run, "
    "product = excluded.product, content_hash = excluded.content_hash"
)


def sqlite_schema() -> str:
    files = sorted(glob.glob(os.path.join(ROOT, "host/staging/migrations/sqlite/*.sql")))
    return "\n".join(open(f).read() for f in files)


def sqlite_round(n: int) -> tuple:
    body = json.dumps({"name": "x" * 650})
    rows = {run: [("t", "s", f"offer-{i:07}", f"Name {i}", "Brand", "A > B", "100.00", "UAH", 5,
                   "in_stock", f"https://x/{i}", body, f"{i:064d}", run, run, "created")
                  for i in range(n)] for run in ("r1", "r2")}
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "floor.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(sqlite_schema())
        rates = []
        for run in ("r1", "r2"):
            started = time.monotonic()
            for i in range(0, n, 5000):
                db.execute("BEGIN")
                db.executemany(INSERT, rows[run][i:i + 5000])
                db.execute("COMMIT")
            rates.append(n / (time.monotonic() - started))
        db.close()
    return tuple(rates)


PG_INSERT = (
    "INSERT INTO staging_floor (tenant, supplier, sku, name, brand, category, price, currency, "
    "quantity, availability, url, product, content_hash, first_seen_run, last_seen_run, "
    "last_outcome) SELECT 't', 's', 'offer-' || i, 'Name ' || i, 'Brand', 'A > B', '100.00', "
    "'UAH', 5, 'in_stock', 'https://x/' || i, ('{\"name\":\"' || repeat('x', 650) || '\",\"i\":' "
    "|| i || '}')::jsonb, md5(i::text) || md5(i::text), 'RUN', 'RUN', 'created' "
    "FROM generate_series(1, N) i"
)


def postgres_round(url: str, n: int) -> tuple:
    def insert(run: str) -> str:
        return PG_INSERT.replace("RUN", run).replace("N) i", f"{n}) i")
    script = "\n".join([
        "\\timing on",
        "DROP TABLE IF EXISTS staging_floor;",
        "CREATE TABLE staging_floor (LIKE staged_products INCLUDING ALL);",
        insert("r1") + ";",
        insert("r2") + " ON CONFLICT (tenant, supplier, sku) DO UPDATE SET "
        "last_seen_run = excluded.last_seen_run, product = excluded.product, "
        "content_hash = excluded.content_hash;",
        "DROP TABLE staging_floor;",
    ])
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-f", "-"], input=script,
                         capture_output=True, text=True, check=True).stdout
    times = [float(t) / 1000 for t in re.findall(r"Time: ([\d.]+) ms", out)]
    # DROP, CREATE, INSERT, UPSERT, DROP
    return n / times[2], n / times[3]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    url = sys.argv[3] if len(sys.argv) > 3 else "postgres://postgres@127.0.0.1:5432/test"
    sqlite_runs, pg_runs = [], []
    for _ in range(rounds):
        sqlite_runs.append(sqlite_round(n))
        pg_runs.append(postgres_round(url, n))
    print("| database alone | first run (all created), rows/s | second run (all conflicting), rows/s |")
    print("|---|---:|---:|")
    for name, runs in (("SQLite (Python sqlite3, executemany)", sqlite_runs),
                       ("PostgreSQL (server-side INSERT ... SELECT)", pg_runs)):
        print(f"| {name} | {statistics.median(r[0] for r in runs):,.0f} "
              f"| {statistics.median(r[1] for r in runs):,.0f} |")
    print(f"\n{n} rows per run, {rounds} rounds, median")


if __name__ == "__main__":
    main()
