"""The Python peer: a harvest worker of the kind the original ContextWorker is, for benchmarks.

A `temporalio` worker with one workflow (`PeerHarvest`) and three activities that pass file
references, as the original's harvester does: `download` streams the feed over HTTP into a
file, `parse` reads it with `lxml.etree.iterparse` (elements cleared as it goes) into NDJSON,
`stage` upserts into SQLite in 1,000-row transactions. Its stage step does what the host's
does that a user relies on, no more: one row per (tenant, supplier, sku) with a SHA-256 content
hash, exact created / updated / unchanged / missing counts (a row seen by this run keeps the
outcome it recorded, so a retried step counts the same), missing rows marked, never deleted.

    python3 benches/peer/worker.py ADDRESS TASK_QUEUE DATA_DIR

The benchmark driver (benches/peer.py) starts it beside the host on the same dev server.
"""

import asyncio
import concurrent.futures
import hashlib
import json
import os
import sqlite3
import sys
import time
import urllib.request
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from lxml import etree

CHUNK = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS staged_products (
    tenant TEXT NOT NULL, supplier TEXT NOT NULL, sku TEXT NOT NULL,
    name TEXT NOT NULL, brand TEXT, category TEXT, price TEXT, currency TEXT,
    quantity INTEGER, availability TEXT NOT NULL, url TEXT, product TEXT NOT NULL,
    content_hash TEXT NOT NULL, last_seen_run TEXT NOT NULL, last_outcome TEXT NOT NULL,
    missing_since_run TEXT,
    PRIMARY KEY (tenant, supplier, sku)
);
CREATE INDEX IF NOT EXISTS staged_by_run ON staged_products (tenant, supplier, last_seen_run);
"""


@activity.defn
def download(url: str, path: str) -> dict:
    started = time.monotonic()
    size = 0
    with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
    return {"bytes": size, "ms": (time.monotonic() - started) * 1000}


def _text(el, tag):
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text else None


def _price(raw):
    return raw.replace(",", ".").replace(" ", "") if raw else None


@activity.defn
def parse(feed: str, out_path: str) -> dict:
    started = time.monotonic()
    categories, parents, parsed = {}, {}, 0

    def path(cid):
        out, seen = [], set()
        while cid in categories and cid not in seen:
            seen.add(cid)
            out.append(categories[cid])
            cid = parents.get(cid)
        return out[::-1]

    with open(out_path, "w", encoding="utf-8") as out:
        for _, el in etree.iterparse(feed, events=("end",), tag=("category", "offer")):
            if el.tag == "category":
                cid = el.get("id")
                categories[cid] = (el.text or "").strip()
                if el.get("parentId"):
                    parents[cid] = el.get("parentId")
                el.clear()
                continue
            quantity = _text(el, "stock_quantity")
            product = {
                "offer_id": el.get("id"),
                "vendor_code": _text(el, "vendorCode"),
                "name": _text(el, "name") or "",
                "description": _text(el, "description"),
                "brand": _text(el, "vendor"),
                "category_path": path(_text(el, "categoryId")),
                "category_id": _text(el, "categoryId"),
                "price": _price(_text(el, "price")),
                "old_price": _price(_text(el, "oldprice")),
                "currency": _text(el, "currencyId"),
                "quantity": int(quantity) if quantity else None,
                "availability": "in_stock" if el.get("available") == "true" else "out_of_stock",
                "url": _text(el, "url"),
                "image_urls": [p.text for p in el.iter("picture")],
                "barcodes": [b.text for b in el.iter("barcode")],
                "attributes": [
                    {"name": p.get("name"), "value": p.text, **({"unit": p.get("unit")} if p.get("unit") else {})}
                    for p in el.iter("param")
                ],
                "variant_group_id": el.get("group_id"),
            }
            out.write(json.dumps({k: v for k, v in product.items() if v not in (None, [])},
                                 ensure_ascii=False))
            out.write("\n")
            parsed += 1
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    return {"parsed": parsed, "ms": (time.monotonic() - started) * 1000}


def _stage_chunk(db, tenant, supplier, run, chunk):
    skus = [p["offer_id"] for p in chunk]
    existing = {}
    for i in range(0, len(skus), 500):
        part = skus[i:i + 500]
        rows = db.execute(
            "SELECT sku, content_hash, last_seen_run, last_outcome, missing_since_run "
            f"FROM staged_products WHERE tenant = ? AND supplier = ? AND sku IN ({','.join('?' * len(part))})",
            [tenant, supplier, *part],
        )
        existing.update((r[0], r[1:]) for r in rows)
    values = []
    for p in chunk:
        body = json.dumps(p, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()
        old = existing.get(p["offer_id"])
        if old is None:
            outcome = "created"
        elif old[1] == run:
            outcome = old[2]
        elif old[0] != digest or old[3] is not None:
            outcome = "updated"
        else:
            outcome = "unchanged"
        category = " > ".join(p.get("category_path", [])) or None
        values.append((tenant, supplier, p["offer_id"], p["name"], p.get("brand"), category,
                       p.get("price"), p.get("currency"), p.get("quantity"), p["availability"],
                       p.get("url"), body, digest, run, outcome))
    db.executemany(
        "INSERT INTO staged_products (tenant, supplier, sku, name, brand, category, price, "
        "currency, quantity, availability, url, product, content_hash, last_seen_run, "
        "last_outcome) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (tenant, supplier, sku) DO UPDATE SET name = excluded.name, "
        "brand = excluded.brand, category = excluded.category, price = excluded.price, "
        "currency = excluded.currency, quantity = excluded.quantity, "
        "availability = excluded.availability, url = excluded.url, product = excluded.product, "
        "content_hash = excluded.content_hash, last_seen_run = excluded.last_seen_run, "
        "last_outcome = excluded.last_outcome, missing_since_run = NULL",
        values,
    )


@activity.defn
def stage(db_path: str, tenant: str, supplier: str, run: str, products: str) -> dict:
    started = time.monotonic()
    db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(SCHEMA)
    staged = 0
    with open(products, encoding="utf-8") as f:
        chunk = []
        for line in f:
            chunk.append(json.loads(line))
            if len(chunk) == CHUNK:
                db.execute("BEGIN")
                _stage_chunk(db, tenant, supplier, run, chunk)
                db.execute("COMMIT")
                staged += len(chunk)
                chunk = []
        if chunk:
            db.execute("BEGIN")
            _stage_chunk(db, tenant, supplier, run, chunk)
            db.execute("COMMIT")
            staged += len(chunk)
    db.execute("BEGIN")
    db.execute(
        "UPDATE staged_products SET missing_since_run = ?, last_outcome = 'missing' "
        "WHERE tenant = ? AND supplier = ? AND last_seen_run <> ? AND missing_since_run IS NULL",
        (run, tenant, supplier, run),
    )
    counts = dict(db.execute(
        "SELECT last_outcome, COUNT(*) FROM staged_products WHERE tenant = ? AND supplier = ? "
        "AND (last_seen_run = ? OR missing_since_run = ?) GROUP BY last_outcome",
        (tenant, supplier, run, run),
    ).fetchall())
    db.execute("COMMIT")
    db.close()
    return {"staged": staged, "created": counts.get("created", 0),
            "updated": counts.get("updated", 0), "unchanged": counts.get("unchanged", 0),
            "missing": counts.get("missing", 0), "ms": (time.monotonic() - started) * 1000}


@workflow.defn
class PeerHarvest:
    @workflow.run
    async def run(self, args: dict) -> dict:
        started = workflow.now()
        options = {"start_to_close_timeout": timedelta(minutes=10),
                   "retry_policy": RetryPolicy(maximum_attempts=3)}
        work = args["work_dir"]
        feed, products = f"{work}/feed.xml", f"{work}/products.ndjson"
        fetched = await workflow.execute_activity(download, args=[args["url"], feed], **options)
        parsed = await workflow.execute_activity(parse, args=[feed, products], **options)
        staged = await workflow.execute_activity(
            stage, args=[args["db"], args["tenant"], args["supplier"], workflow.info().run_id,
                         products], **options)
        return {"parsed": parsed["parsed"], **{k: v for k, v in staged.items() if k != "ms"},
                "fetch_ms": fetched["ms"], "parse_ms": parsed["ms"], "stage_ms": staged["ms"],
                "total_ms": (workflow.now() - started).total_seconds() * 1000}


async def main() -> None:
    address, queue = sys.argv[1], sys.argv[2]
    client = await Client.connect(address)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        worker = Worker(client, task_queue=queue, workflows=[PeerHarvest],
                        activities=[download, parse, stage], activity_executor=pool)
        print("peer worker ready", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
