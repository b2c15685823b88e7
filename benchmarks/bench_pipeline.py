"""Whole-pipeline throughput: embedded vs Kafka + PostgreSQL with 1..N workers.

A loopback feed server (in its own process, so it does not share a GIL with
the measurement) serves F feeds of K items each, with unique guids; a fraction
of the items (25 % by default) are stories from tests/data/eval/dev.jsonl that
the shipped rules in rules/ catch, the rest are stories they do not. The only
Apprise channel is a loopback webhook sink. For each mode:

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
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core.alerts import alerts_for  # noqa: E402
from monitor.core.evaluation import Labelled, parse_labelled  # noqa: E402
from monitor.fetch.parse import parse_feed  # noqa: E402
from monitor.notify.channels import load_channels  # noqa: E402
from monitor.rules.files import read_rules  # noqa: E402
from tests.feedserver import FeedServer, rss  # noqa: E402
from tests.servers import WebhookSink  # noqa: E402

KAFKA = ("127.0.0.1", int(os.environ.get("KAFKA_PORT", "9092")))
POSTGRES = ("127.0.0.1", int(os.environ.get("PGPORT", "5432")))
PG_ADMIN_URL = f"postgresql://newsmon:newsmon@{POSTGRES[0]}:{POSTGRES[1]}/newsmon"
ITEM_LINK = re.compile(r"https://news\.example\.org/bench/\d+/\d+")
POLL = 0.02  # how often the measurement looks at the sink, the store and the server
NEWSMON = [sys.executable, "-m", "monitor"]
STOP_TIMEOUT = 45.0  # the service drains for up to 30 s on SIGTERM


# -- the feeds ---------------------------------------------------------------


@dataclass(frozen=True)
class Stories:
    matching: list[Labelled]
    quiet: list[Labelled]


def stories() -> Stories:
    """Labelled headlines, split by what the shipped rules say of them."""
    rules = read_rules(ROOT / "rules")
    matching: list[Labelled] = []
    quiet: list[Labelled] = []
    path = ROOT / "tests/data/eval/dev.jsonl"
    for story in parse_labelled(path.read_text(encoding="utf-8").splitlines(), str(path)):
        (matching if rules.match(story.fields()) else quiet).append(story)
    if not matching or not quiet:
        raise SystemExit("tests/data/eval/dev.jsonl: need both matching and quiet stories")
    return Stories(matching, quiet)


def feed_name(n: int) -> str:
    return f"Bench feed {n}"


def build_feeds(feeds: int, items: int, fraction: float) -> dict[str, str]:
    """Path -> RSS document; item g of all is a matching story when the running
    share of matching items would otherwise fall below ``fraction``."""
    pool = stories()
    # recent, one second apart: older items would be old news (alerts.max_item_age)
    start = datetime.now(UTC).replace(microsecond=0)
    documents = {}
    for n in range(feeds):
        entries = []
        for i in range(items):
            g = n * items + i
            hit = int((g + 1) * fraction) > int(g * fraction)
            source = pool.matching if hit else pool.quiet
            story = source[g % len(source)]
            entry = {
                "title": story.title,
                "link": f"https://news.example.org/bench/{n}/{i}",  # see ITEM_LINK
                "guid": f"urn:newsmon-bench:{n}:{i}",
                "description": f"<p>{story.summary}</p>",
                "pubDate": start - timedelta(seconds=g),
            }
            if story.content:
                entry["content"] = "".join(
                    f"<p>{para}</p>" for para in story.content.split("\n") if para.strip()
                )
            entries.append(entry)
        documents[f"/feed/{n}.xml"] = rss(entries, title=feed_name(n))
    return documents


def serve(documents: dict[str, str], conn: Connection) -> None:
    """Feed server process: serve the documents, answer "count" until "stop"."""
    server = FeedServer()
    for n, (path, document) in enumerate(documents.items()):
        server.set_feed(path, document, etag=f'"bench-{n}"')
    with server:
        conn.send(server.base_url)
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(len(server.requests))
            elif command == "reset":
                server.reset_stats()
                conn.send(None)
            else:
                return


class FeedProcess:
    """The feed server in a spawned process, driven over a pipe."""

    def __init__(self, documents: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(documents, theirs), daemon=True)
        self._process.start()
        if not self._conn.poll(30):
            self.close()
            raise SystemExit("the feed server did not start within 30 s")
        self.base_url: str = self._conn.recv()

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        if not self._conn.poll(10):
            raise RuntimeError("the feed server stopped answering")
        return self._conn.recv()

    def requests(self) -> int:
        return int(self._ask("count"))

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


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


class Workspace:
    """config/, rules/, data/ of one run, as a user would lay them out."""

    def __init__(self, root: Path, mode: Mode, feeds: FeedProcess, count: int, args: Any) -> None:
        self.root = root
        self.mode = mode
        self.app_id = f"bench-{uuid.uuid4().hex[:10]}"
        self.database = self.app_id.replace("-", "_")
        self.config = root / "config" / "monitor.yaml"
        shutil.copytree(ROOT / "rules", root / "rules")
        self.config.parent.mkdir()
        (root / "data").mkdir()
        self.sink = WebhookSink().start()
        (root / "config" / "apprise.yml").write_text(
            f"version: 1\nurls:\n  - {self.sink.apprise_url('/alerts')}\n"
        )
        lines = ["feeds:"]
        for n in range(count):
            lines += [
                f"  - url: {feeds.base_url}/feed/{n}.xml",
                f"    name: {feed_name(n)}",
                f"    interval: {args.interval}",
            ]
        lines += [
            "rules: ../rules",
            "notify: apprise.yml",
            "data_dir: ../data",
            # every feed is on one loopback host: let the fetcher use its whole
            # concurrency on it, as it would across many real hosts
            f"fetch:\n  per_host: {args.per_host}\n  concurrency: {args.concurrency}",
        ]
        if mode.kafka:
            lines += [
                f"stream: kafka://{KAFKA[0]}:{KAFKA[1]}",
                f"storage: postgresql://newsmon:newsmon@{POSTGRES[0]}:{POSTGRES[1]}/"
                f"{self.database}",
                f"app_id: {self.app_id}",
                f"partitions: {args.partitions}",
            ]
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def sqlite_file(self) -> Path:
        return self.root / "data" / "newsmon.db"


def delivered(sink: WebhookSink) -> tuple[int, int]:
    """(distinct items alerted, alerts received): every item has its own link;
    an alert that does not show it counts by its whole body."""
    keys = []
    for body in sink.bodies:
        text = json.dumps(body, sort_keys=True)
        link = ITEM_LINK.search(text)
        keys.append(link.group() if link else text)
    return len(set(keys)), len(keys)


async def seen_count(space: Workspace, pg: asyncpg.Connection | None) -> int:
    """Items recorded as seen, read from the store's table (0 before it exists)."""
    if pg is not None:
        try:
            return int(await pg.fetchval("select count(*) from seen_items", timeout=10))
        except asyncpg.UndefinedTableError:
            return 0
    if not space.sqlite_file.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(space.sqlite_file, timeout=1)) as db:
            return int(db.execute("select count(*) from seen_items").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet, or a moment's lock
        return 0


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


class Workers:
    """``newsmon run`` processes on one workspace; killed if still alive at exit."""

    def __init__(self, space: Workspace) -> None:
        self.space = space
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, n: int) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for k in range(n):
            log = self.space.root / f"worker-{k}.log"
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [*NEWSMON, "run", "--config", str(self.space.config)],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=self.space.root,
                        env=env,
                        # its own process group: kill() takes its parser processes too
                        start_new_session=True,
                    )
                )
            self.logs.append(log)

    def check_alive(self) -> None:
        for k, process in enumerate(self.processes):
            if process.poll() is not None:
                raise RuntimeError(f"worker {k} exited with {process.returncode}:\n{self.tail(k)}")

    def tail(self, k: int, chars: int = 3000) -> str:
        return self.logs[k].read_text(errors="replace")[-chars:]

    def tails(self) -> str:
        return "\n".join(f"worker {k} said:\n{self.tail(k)}" for k in range(len(self.logs)))

    def stop(self) -> list[int | None]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes:
            try:
                codes.append(process.wait(max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes.append(None)  # did not stop in time
        return codes

    def cpu_seconds(self) -> float | None:
        return process_tree_cpu([p.pid for p in self.processes])

    def kill(self) -> None:
        """SIGKILL whatever is left of each worker's process group."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def measure(mode: Mode, feeds: FeedProcess, documents: dict[str, str], args: Any) -> Result:
    """One run of one mode in a fresh workspace, database and app_id."""
    root = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    space = Workspace(root, mode, feeds, args.feeds, args)
    workers = Workers(space)
    pg: asyncpg.Connection | None = None
    try:
        alerts = expected_alerts(space, feeds, documents)
        if mode.kafka:
            await pg_execute(f'create database "{space.database}"')
            pg = await asyncpg.connect(pg_url(space.database), timeout=10)
        return await observe(space, workers, pg, feeds, alerts, args)
    finally:
        workers.kill()
        space.sink.stop()
        if pg is not None:
            await pg.close()
        if mode.kafka:
            await pg_execute(f'drop database if exists "{space.database}" with (force)')
            await delete_topics(space.app_id)
        if args.keep:
            print(f"  kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


async def observe(
    space: Workspace,
    workers: Workers,
    pg: asyncpg.Connection | None,
    feeds: FeedProcess,
    alerts: int,
    args: Any,
) -> Result:
    """Start the workers and time them until every alert and every item is in."""
    mode = space.mode
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


# -- CPU accounting (Linux /proc; None elsewhere) ------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def process_tree_cpu(roots: list[int]) -> float | None:
    """CPU seconds used so far by ``roots`` and all their live descendants."""
    if not Path("/proc/self/stat").exists():
        return None
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo += children.get(pid, [])
    return total


def machine_cpu() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [float(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


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


def reachable(address: tuple[str, int]) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(address, timeout=2):
        return True
    return False


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


def main() -> None:
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
    args = parser.parse_args()
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
    feeds = FeedProcess(documents)
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
