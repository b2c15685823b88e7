"""Whole-pipeline throughput: embedded vs Kafka + PostgreSQL with 1..N workers.

A loopback feed server (in its own process, so it does not share a GIL with
the measurement) serves F feeds of K items each, with unique guids; a fraction
of the items (25 % by default) are labelled stories from tests/data/eval/ that
the shipped rules in rules/ catch, each a different story (copies would make
one alert), the rest distinct news text they do not catch. The only Apprise
channel is a loopback webhook sink. For each mode:

  embedded   one ``newsmon run``: in-memory lanes, SQLite store
  kafka xN   N ``newsmon run`` processes sharing one app_id (consumer group):
             Kafka topics, PostgreSQL store

it writes a fresh workspace (app_id, scratch database, data dir), starts the
worker process(es) and measures wall time from that start until

  seen       every item is recorded as seen (counted in the store's own table)
  alerts     every expected alert has arrived at the webhook: every item was
             fetched, matched, recorded and its alert delivered

and reports items/s (F*K over the time until both) and alerts/s, counted from
the start and, to set start-up (imports, Faust, the consumer group join) apart,
from the first feed request; the ratios against embedded; the workers' CPU time
per item; and alerts delivered twice for one item. The expected alerts are
computed up front with the service's own parser, rules and channel routing.

All feeds live on one loopback host, so the workspace sets ``fetch.per_host``
to the fetch concurrency (``--per-host``), as many real hosts would allow.
Numbers depend on free CPUs: the broker, the database, the feed server and the
workers share this machine (the ``busy`` column shows how much of it was used).

Needs the broker and the database (``scripts/kafka start``,
``scripts/postgres start``) unless ``--skip-kafka``; creates its own database
and topics per run and drops them afterwards (``--keep`` keeps the workspaces
and worker logs for a look).

    .venv/bin/python benchmarks/bench_pipeline.py [--feeds 50] [--items 40]
        [--workers-max 2] [--rounds 1] [--skip-kafka] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import (
    EVAL_FILES,
    POLL,
    FeedEntry,
    FeedProcess,
    Workers,
    Workspace,
    delivered,
    distinct_stories,
    feed_name,
    item_link,
    machine_busy,
    machine_cpu,
    quiet_texts,
    reachable,
    sqlite_count,
    stories,
)
from monitor.core.alerts import alerts_for
from monitor.fetch.parse import parse_feed
from monitor.notify.channels import load_channels
from monitor.rules.files import read_rules
from tests.feedserver import rss

KAFKA = ("127.0.0.1", int(os.environ.get("KAFKA_PORT", "9092")))
POSTGRES = ("127.0.0.1", int(os.environ.get("PGPORT", "5432")))
PG_ADMIN_URL = f"postgresql://newsmon:newsmon@{POSTGRES[0]}:{POSTGRES[1]}/newsmon"


# -- the feeds ---------------------------------------------------------------


def build_feeds(feeds: int, items: int, fraction: float) -> dict[str, str]:
    """Path -> RSS document; item g of all is a matching story when the running
    share of matching items would otherwise fall below ``fraction``. Every
    matching story is a different one (the service would take copies of one
    story for one alert), every quiet one distinct news text."""
    pool = stories(EVAL_FILES)
    matching = distinct_stories(pool.matching)
    hits = int(feeds * items * fraction)
    if hits > len(matching):
        raise SystemExit(
            f"bench_pipeline: {hits} matching items asked for, {len(matching)} distinct "
            "matching stories to draw them from: lower --match-fraction or the size"
        )
    quiet = quiet_texts(pool.quiet, feeds * items - hits)
    # recent, one second apart: older items would be old news (alerts.max_item_age)
    start = datetime.now(UTC).replace(microsecond=0)
    documents = {}
    used = 0
    for n in range(feeds):
        entries = []
        for i in range(items):
            g = n * items + i
            if int((g + 1) * fraction) > int(g * fraction):
                story = matching[used]
                used += 1
                title, summary, content = story.title, story.summary, story.content
            else:
                (title, summary), content = next(quiet), ""
            entry = {
                "title": title,
                "link": item_link(n, i),
                "guid": f"urn:newsmon-bench:{n}:{i}",
                "description": f"<p>{summary}</p>",
                "pubDate": start - timedelta(seconds=g),
            }
            if content:
                entry["content"] = "".join(
                    f"<p>{para}</p>" for para in content.split("\n") if para.strip()
                )
            entries.append(entry)
        documents[f"/feed/{n}.xml"] = rss(entries, title=feed_name(n))
    return documents


# -- one mode ----------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    workers: int
    kafka: bool


@dataclass
class Result:
    mode: Mode
    items: int
    alerts: int
    first_fetch: float  # seconds from the start
    all_fetched: float  # every feed requested at least once
    all_alerts: float
    all_seen: float
    cpu: float | None  # CPU seconds of the workers and their parsers, after the 1st request
    busy: float | None  # share of the machine's CPU time in use during the run
    extra_alerts: int = 0  # the same item's alert delivered again
    exit_codes: list[int | None] = field(default_factory=list)

    @property
    def done(self) -> float:
        return max(self.all_alerts, self.all_seen)

    @property
    def items_per_s(self) -> float:
        return self.items / self.done

    @property
    def alerts_per_s(self) -> float:
        return self.alerts / self.all_alerts

    @property
    def work_items_per_s(self) -> float:
        return self.items / (self.done - self.first_fetch)


def workspace(root: Path, mode: Mode, feeds: FeedProcess, args: Any) -> Workspace:
    """config/, rules/, data/ of one run of ``mode`` on the served feeds."""
    entries = [
        FeedEntry(f"{feeds.base_url}/feed/{n}.xml", feed_name(n), args.interval)
        for n in range(args.feeds)
    ]
    # every feed is on one loopback host: let the fetcher use its whole
    # concurrency on it, as it would across many real hosts
    settings = [f"fetch:\n  per_host: {args.per_host}\n  concurrency: {args.concurrency}"]
    space = Workspace(root, entries, settings)
    if mode.kafka:
        with space.config.open("a") as config:
            config.write(
                f"stream: kafka://{KAFKA[0]}:{KAFKA[1]}\n"
                f"storage: postgresql://newsmon:newsmon@{POSTGRES[0]}:{POSTGRES[1]}/"
                f"{space.database}\n"
                f"app_id: {space.app_id}\n"
                f"partitions: {args.partitions}\n"
            )
    return space


async def seen_count(space: Workspace, pg: asyncpg.Connection | None) -> int:
    """Items recorded as seen, read from the store's table (0 before it exists)."""
    if pg is not None:
        try:
            return int(await pg.fetchval("select count(*) from seen_items", timeout=10))
        except asyncpg.UndefinedTableError:
            return 0
    return sqlite_count(space.sqlite_file, "seen_items")


def expected_alerts(space: Workspace, feeds: FeedProcess, documents: dict[str, str]) -> int:
    """What the service should send: the same parser, rules and routing it uses."""
    rules = read_rules(space.root / "rules")
    channels = load_channels(space.root / "config" / "apprise.yml").channels
    total = 0
    for n, (path, document) in enumerate(documents.items()):
        parsed = parse_feed(document.encode(), feeds.base_url + path)
        for item in parsed.items:
            item = replace(item, feed_title=feed_name(n))
            fields = item.fields()
            fired = [m.fired(fields) for m in rules.match(fields)]
            total += len(alerts_for(item, fired, channels)) if fired else 0
    return total


async def measure(mode: Mode, feeds: FeedProcess, documents: dict[str, str], args: Any) -> Result:
    """One run of one mode in a fresh workspace, database and app_id."""
    root = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    space = workspace(root, mode, feeds, args)
    workers = Workers(space)
    pg: asyncpg.Connection | None = None
    try:
        alerts = expected_alerts(space, feeds, documents)
        if mode.kafka:
            await pg_execute(f'create database "{space.database}"')
            pg = await asyncpg.connect(pg_url(space.database), timeout=10)
        return await observe(mode, space, workers, pg, feeds, alerts, args)
    finally:
        workers.kill()
        if pg is not None:
            await pg.close()
        if mode.kafka:
            await pg_execute(f'drop database if exists "{space.database}" with (force)')
            await delete_topics(space.app_id)
        space.close(args.keep)


async def observe(
    mode: Mode,
    space: Workspace,
    workers: Workers,
    pg: asyncpg.Connection | None,
    feeds: FeedProcess,
    alerts: int,
    args: Any,
) -> Result:
    """Start the workers and time them until every alert and every item is in."""
    items = args.feeds * args.items
    feeds.reset()
    machine = machine_cpu()
    start = time.monotonic()
    workers.start(mode.workers)
    first_fetch = all_fetched = all_alerts = all_seen = None
    cpu_at_first_fetch: float | None = None
    deadline = start + args.timeout
    while all_alerts is None or all_seen is None:
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(
                f"{mode.name}: timed out after {args.timeout:.0f}s with "
                f"{delivered(space.sink)[0]}/{alerts} alerts, "
                f"{await seen_count(space, pg)}/{items} items seen\n{workers.tails()}"
            )
        workers.check_alive()
        if all_fetched is None:
            requests = feeds.requests()
            if first_fetch is None and requests > 0:
                first_fetch = now - start
                cpu_at_first_fetch = workers.cpu_seconds()
            if requests >= args.feeds:
                all_fetched = now - start
        if all_alerts is None and delivered(space.sink)[0] >= alerts:
            all_alerts = now - start
        if all_seen is None and await seen_count(space, pg) >= items:
            all_seen = now - start
        await asyncio.sleep(POLL)
    assert first_fetch is not None and all_fetched is not None
    cpu_now = workers.cpu_seconds()
    cpu = None if cpu_now is None or cpu_at_first_fetch is None else cpu_now - cpu_at_first_fetch
    busy = machine_busy(machine, machine_cpu())
    codes = workers.stop()
    unique, total = delivered(space.sink)
    return Result(
        mode=mode,
        items=items,
        alerts=alerts,
        first_fetch=first_fetch,
        all_fetched=all_fetched,
        all_alerts=all_alerts,
        all_seen=all_seen,
        cpu=cpu,
        busy=busy,
        extra_alerts=total - unique,
        exit_codes=codes,
    )


# -- the services ------------------------------------------------------------


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql, timeout=60)
    finally:
        await conn.close()


async def delete_topics(app_id: str) -> None:
    """Remove the run's topics (its lanes and Faust's own) from the shared broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=f"{KAFKA[0]}:{KAFKA[1]}")
    await asyncio.wait_for(admin.start(), 10)
    try:
        listed = await asyncio.wait_for(admin.list_topics(), 10)
        topics = [t for t in listed if t.startswith(f"{app_id}-")]
        if topics:
            await asyncio.wait_for(admin.delete_topics(topics), 30)
    finally:
        await admin.close()


# -- report ------------------------------------------------------------------


def modes(args: Any) -> Iterator[Mode]:
    yield Mode("embedded", 1, kafka=False)
    if not args.skip_kafka:
        for n in range(1, args.workers_max + 1):
            yield Mode(f"kafka x{n}", n, kafka=True)


def _opt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(results: list[Result], args: Any) -> None:
    print(
        f"\n{args.feeds} feeds x {args.items} items = {args.feeds * args.items} items, "
        f"{results[0].alerts} alerts expected, {os.cpu_count()} CPUs, {args.rounds} round(s)\n"
        "times: seconds from starting the worker(s) until the first feed request, every feed\n"
        "requested, every item seen in the store, every alert at the webhook\n"
    )
    header = (
        f"{'mode':<10} {'run':>3} {'1st req':>7} {'fetched':>7} {'seen':>6} {'alerts':>6} "
        f"{'items/s':>7} {'alerts/s':>8} {'items/s*':>8} {'cpu ms/item':>11} {'busy':>5} "
        f"{'exit':>5}"
    )
    print(header)
    print("-" * len(header))
    runs_of: dict[str, list[Result]] = {}
    for r in results:
        runs_of.setdefault(r.mode.name, []).append(r)
        codes = ",".join("-" if c is None else str(c) for c in r.exit_codes)
        cpu = None if r.cpu is None else r.cpu * 1000 / r.items
        busy = None if r.busy is None else r.busy * 100
        extra = f"  +{r.extra_alerts} duplicate alerts" if r.extra_alerts else ""
        print(
            f"{r.mode.name:<10} {len(runs_of[r.mode.name]):>3} {r.first_fetch:>7.2f} "
            f"{r.all_fetched:>7.2f} {r.all_seen:>6.2f} {r.all_alerts:>6.2f} "
            f"{r.items_per_s:>7.0f} {r.alerts_per_s:>8.1f} {r.work_items_per_s:>8.0f} "
            f"{_opt(cpu, '.2f'):>11} {_opt(busy, '.0f'):>4}% {codes:>5}{extra}"
        )
    print(
        "items/s = items / time to seen and alerts both; alerts/s = alerts / time to alerts;\n"
        "items/s* = the same from the first feed request (without start-up); cpu = the\n"
        "workers' and their parser processes' CPU time after the first feed request;\n"
        "busy = the whole machine's CPU use from start to finish\n"
    )

    def median(runs: list[Result], rate: str) -> float:
        return statistics.median(float(getattr(r, rate)) for r in runs)

    rates = ("items_per_s", "alerts_per_s", "work_items_per_s")
    base = {rate: median(runs_of["embedded"], rate) for rate in rates}
    print(f"{'median':<10} {'items/s':>7} {'alerts/s':>8} {'items/s*':>8}   vs embedded")
    for name, runs in runs_of.items():
        values = {rate: median(runs, rate) for rate in rates}
        spread = ""
        if len(runs) > 1:
            low = min(r.items_per_s for r in runs)
            high = max(r.items_per_s for r in runs)
            spread = f"   (items/s {low:.0f}-{high:.0f} over {len(runs)} runs)"
        ratios = ", ".join(f"{values[rate] / base[rate]:.2f}x" for rate in rates)
        print(
            f"{name:<10} {values['items_per_s']:>7.0f} {values['alerts_per_s']:>8.1f} "
            f"{values['work_items_per_s']:>8.0f}   {ratios}{spread}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=40, help="items per feed")
    parser.add_argument("--match-fraction", type=float, default=0.25)
    parser.add_argument("--workers-max", type=int, default=2, help="Kafka modes: 1..N workers")
    parser.add_argument("--skip-kafka", action="store_true", help="embedded mode only")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every mode")
    parser.add_argument("--partitions", type=int, default=8, help="per topic, Kafka modes")
    parser.add_argument("--per-host", type=int, default=32, help="config fetch.per_host")
    parser.add_argument("--concurrency", type=int, default=32, help="config fetch.concurrency")
    parser.add_argument("--interval", default="10m", help="feed poll interval")
    parser.add_argument("--timeout", type=float, default=300.0, help="per run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces (and logs)")
    args = parser.parse_args(argv)
    if not 0 < args.match_fraction <= 1:
        parser.error("--match-fraction must be in (0, 1]")
    for name in ("feeds", "items", "workers_max", "rounds", "partitions", "per_host"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.skip_kafka:
        services = (("Kafka", KAFKA, "kafka"), ("PostgreSQL", POSTGRES, "postgres"))
        for what, address, script in services:
            if not reachable(address):
                parser.error(
                    f"{what} is not answering on {address[0]}:{address[1]}: "
                    f"run scripts/{script} start, or pass --skip-kafka"
                )

    documents = build_feeds(args.feeds, args.items, args.match_fraction)
    feeds = FeedProcess.of_documents(documents)
    results: list[Result] = []
    try:
        for round_no in range(1, args.rounds + 1):
            for mode in modes(args):
                print(f"round {round_no}: {mode.name} ...", flush=True)
                results.append(asyncio.run(measure(mode, feeds, documents, args)))
    except RuntimeError as exc:
        raise SystemExit(f"bench_pipeline: {exc}") from None
    finally:
        feeds.close()
    report(results, args)


if __name__ == "__main__":
    main()
