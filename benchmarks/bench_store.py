"""State store throughput with several workers sharing one database.

Each worker is its own ``SqlStore`` (own engine and connections), as separate
``newsmon run`` processes would be. Two phases per backend:

- record: the workers record N items, each with alerts for 3 channels; every
  item reaches two workers (a redelivery), so half the calls must find it seen.
- record quiet: N other items that fire no rule, recorded as the service
  records them, ``record_quiet`` on batches of up to 500 (one transaction a
  batch); again every item reaches two workers, and each must be kept once.
- deliver: the workers drain the outbox, ``claim_alerts`` then ``mark_delivered``
  for each claimed row, until nothing is pending.

Both phases check the outcome (every alert enqueued once, claimed once,
delivered once) and report operations per second. PostgreSQL runs in a new
database on the local server (scripts/postgres start), dropped afterwards.

    python benchmarks/bench_store.py [--items 2000] [--workers 4] [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.alerts import Alert
from monitor.core.items import Item
from monitor.store.sql import SqlStore
from monitor.stream.agents import ITEM_BATCH

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)  # the quiet items' time: counted apart
CHANNELS = ("mail", "chat", "sms")
POSTGRES = "postgresql://newsmon:newsmon@127.0.0.1:5432/newsmon"


@dataclass(frozen=True)
class Result:
    backend: str
    phase: str
    operations: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


def make_item(n: int) -> Item:
    return Item(
        fingerprint=f"guid:{n}",
        feed="https://news.example.org/world.rss",
        feed_title="Example World",
        title=f"Story {n}",
        summary="Warships near Taiwan.",
        content="",
        link=f"https://news.example.org/{n}",
        published=T0,
    )


def make_alerts(it: Item) -> list[Alert]:
    return [
        Alert(
            fingerprint=it.fingerprint,
            channel=channel,
            title=it.title,
            link=it.link,
            feed=it.feed_title,
            published=it.published,
            rules=("taiwan",),
            terms=("Taiwan",),
            snippet="Warships near **Taiwan**.",
        )
        for channel in CHANNELS
    ]


async def record(stores: list[SqlStore], items: int) -> tuple[int, float]:
    async def worker(index: int) -> list[int]:
        store, ids = stores[index], list[int]()
        for n in range(items):
            # item n goes to workers n % W and (n + 1) % W
            if index in {n % len(stores), (n + 1) % len(stores)}:
                it = make_item(n)
                ids += (await store.record_item(it, make_alerts(it), T0)).values()
        return ids

    start = time.perf_counter()
    results = await asyncio.gather(*(worker(i) for i in range(len(stores))))
    seconds = time.perf_counter() - start
    enqueued = [i for ids in results for i in ids]
    assert len(enqueued) == len(set(enqueued)) == items * len(CHANNELS), "alerts not enqueued once"
    return items * 2, seconds


async def record_quiet(stores: list[SqlStore], items: int, batch: int) -> tuple[int, float]:
    first = 10 * items  # fingerprints apart from record()'s

    async def worker(index: int) -> None:
        mine = [
            make_item(first + n)
            for n in range(items)
            if index in {n % len(stores), (n + 1) % len(stores)}
        ]
        for start in range(0, len(mine), batch):
            await stores[index].record_quiet(mine[start : start + batch], T1)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(len(stores))))
    seconds = time.perf_counter() - start
    kept = await stores[0].count_items_since(T1)
    assert kept == items, f"{kept} quiet items kept, not {items}"
    return items * 2, seconds


async def deliver(stores: list[SqlStore], total: int) -> tuple[int, float]:
    lease = T0 + timedelta(minutes=5)

    async def worker(store: SqlStore) -> list[int]:
        done: list[int] = []
        while claimed := await store.claim_alerts(T0, lease, limit=50):
            for pending in claimed:
                await store.mark_delivered(pending.id, T0)
                done.append(pending.id)
        return done

    start = time.perf_counter()
    results = await asyncio.gather(*(worker(s) for s in stores))
    seconds = time.perf_counter() - start
    counts = Counter(i for ids in results for i in ids)
    assert len(counts) == total and set(counts.values()) == {1}, "an alert was claimed twice"
    assert (await stores[0].outbox_summary()).delivered == total
    return total, seconds


async def bench(backend: str, url: str, items: int, workers: int) -> list[Result]:
    stores = [SqlStore(url) for _ in range(workers)]
    for store in stores:
        await store.open()
    try:
        ops, seconds = await record(stores, items)
        results = [Result(backend, "record_item", ops, seconds)]
        ops, seconds = await record_quiet(stores, items, ITEM_BATCH)
        results.append(Result(backend, "record_quiet", ops, seconds))
        ops, seconds = await deliver(stores, items * len(CHANNELS))
        results.append(Result(backend, "claim+deliver", ops, seconds))
        return results
    finally:
        for store in stores:
            await store.close()


async def with_postgres(admin_url: str, items: int, workers: int) -> list[Result]:
    name = f"bench_store_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            return await bench("postgresql", url, items, workers)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def main_async(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    if args.backend in {"sqlite", "both"}:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            results += await bench("sqlite", url, args.items, args.workers)
    if args.backend in {"postgresql", "both"}:
        results += await with_postgres(args.postgres, args.items, args.workers)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4, help="stores sharing the database")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default=POSTGRES, help="server URL (a database to log into)")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(f"{args.workers} workers, {args.items} items x {len(CHANNELS)} channels")
    print(f"{'backend':<12} {'phase':<14} {'ops':>7} {'seconds':>8} {'ops/s':>9}")
    for r in results:
        print(f"{r.backend:<12} {r.phase:<14} {r.operations:>7} {r.seconds:>8.2f} {r.rate:>9.0f}")


if __name__ == "__main__":
    main()
