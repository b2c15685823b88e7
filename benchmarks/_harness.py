"""What the end-to-end benchmarks share: feeds, a feed server in its own
process, a workspace laid out as a user would, ``newsmon run`` workers, and
what to read off them (alerts at the webhook, items in the store, CPU, RSS).

The feed server runs in a spawned process, so it does not share a GIL with
the service or the measurement. Its request times are ``time.monotonic()``
readings of that process, which on Linux is the same clock as this one's
(CLOCK_MONOTONIC), so they can be set against times taken here.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.core.evaluation import Labelled, parse_labelled  # noqa: E402
from monitor.core.stories import StoryIndex, signature  # noqa: E402
from monitor.rules.files import read_rules  # noqa: E402
from tests.feedserver import BROKEN_XML, FeedServer, rss  # noqa: E402
from tests.servers import WebhookSink  # noqa: E402

ITEM_LINK = re.compile(r"https://news\.example\.org/bench/\d+/\d+")
POLL = 0.02  # how often a measurement looks at the sink, the store and the server
NEWSMON = [sys.executable, "-m", "monitor"]
STOP_TIMEOUT = 45.0  # the service drains for up to 30 s on SIGTERM
EVAL_FILES = ("tests/data/eval/dev.jsonl", "tests/data/eval/frozen.jsonl")

__all__ = [
    "BROKEN_XML",
    "ITEM_LINK",
    "NEWSMON",
    "POLL",
    "ROOT",
    "FeedEntry",
    "FeedProcess",
    "Route",
    "ServerStats",
    "Stories",
    "Target",
    "WebhookSink",
    "Workers",
    "Workspace",
    "alerted",
    "delivered",
    "distinct_stories",
    "feed_name",
    "item_link",
    "machine_busy",
    "machine_cpu",
    "process_tree_cpu",
    "process_tree_rss",
    "quiet_texts",
    "reachable",
    "rss",
    "sqlite_count",
    "stories",
]


@dataclass(frozen=True)
class Target:
    """One of the issue's targets as a benchmark measured it; a benchmark's
    ``main`` returns a list of these for benchmarks/run_all.py's summary
    (``met`` None: a number reported without a target)."""

    name: str
    met: bool | None
    measured: str

    def __str__(self) -> str:
        verdict = "n/a" if self.met is None else "met" if self.met else "NOT met"
        return f"{self.name}: {self.measured} -- {verdict}"


# -- the stories ---------------------------------------------------------------


@dataclass(frozen=True)
class Stories:
    matching: list[Labelled]
    quiet: list[Labelled]


def stories(files: Sequence[str] = ("tests/data/eval/dev.jsonl",)) -> Stories:
    """Labelled stories, split by what the shipped rules in rules/ say of them."""
    rules = read_rules(ROOT / "rules")
    matching: list[Labelled] = []
    quiet: list[Labelled] = []
    for name in files:
        path = ROOT / name
        for story in parse_labelled(path.read_text(encoding="utf-8").splitlines(), str(path)):
            (matching if rules.match(story.fields()) else quiet).append(story)
    if not matching or not quiet:
        raise SystemExit(f"{', '.join(files)}: need both matching and quiet stories")
    return Stories(matching, quiet)


def distinct_stories(candidates: Iterable[Labelled]) -> list[Labelled]:
    """The candidates that are no copy of an earlier one (as the service's story
    index would judge them), so each makes an alert of its own."""
    index = StoryIndex()
    now = datetime.now().astimezone()
    kept = []
    for story in candidates:
        sig = signature(story.title, story.summary or story.content)
        if index.find(sig, None, now) is None:
            index.add(str(story.id), sig, None, now)
            kept.append(story)
    return kept


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text.strip())
    return [p for p in parts if len(p) > 20]


def _halves(title: str) -> tuple[str, str]:
    """A headline cut in two at a word (or, without spaces, a character) near its middle."""
    words = title.split()
    if len(words) >= 4:
        cut = len(words) // 2
        return " ".join(words[:cut]), " ".join(words[cut:])
    cut = len(title) // 2
    return title[:cut], title[cut:]


def _languages() -> dict[str, str]:
    """The language of each eval story, by id."""
    found = {}
    for name in EVAL_FILES:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found[str(row["id"])] = str(row.get("lang", "en"))
    return found


def quiet_texts(pool: Sequence[Labelled], count: int, seed: int = 9) -> Iterator[tuple[str, str]]:
    """``count`` distinct (title, summary) pairs of real news text that no shipped
    rule matches: a headline spliced from the halves of two quiet headlines,
    and a summary of two sentences of two other quiet stories, all four in one
    language. Every title is new, and no two pairs share more than one of
    their four parts, so the items read like different stories (as a feed's
    items do), not like copies of a few."""
    rules = read_rules(ROOT / "rules")
    rng = random.Random(seed)
    language = _languages()
    by_language: dict[str, list[Labelled]] = {}
    for story in pool:
        by_language.setdefault(language.get(str(story.id), "en"), []).append(story)
    parts = []  # per language: (heads, tails, sentences)
    for stories_ in by_language.values():
        sentences = sorted({s for story in stories_ for s in _sentences(story.summary)})
        if len(stories_) >= 2 and len(sentences) >= 2:
            heads, tails = zip(*(_halves(s.title) for s in stories_), strict=True)
            parts.append((heads, tails, sentences))
    if not parts:
        raise SystemExit("the quiet stories have too few sentences to build items from")
    weights = [len(heads) for heads, _, _ in parts]  # languages as often as in the pool
    titles: set[str] = set()
    used: set[tuple[int, str, int, int]] = set()
    made = 0
    while made < count:
        lang = rng.choices(range(len(parts)), weights)[0]
        heads, tails, sentences = parts[lang]
        head, tail = rng.randrange(len(heads)), rng.randrange(len(tails))
        first, second = rng.sample(range(len(sentences)), 2)
        title = f"{heads[head]} {tails[tail]}"
        pairs = [("ht", head, tail), ("h1", head, first), ("t1", tail, first)]
        pairs += [("h2", head, second), ("t2", tail, second), ("12", first, second)]
        keys = [(lang, *pair) for pair in pairs]
        if title in titles or any(k in used for k in keys):
            continue
        summary = f"{sentences[first]} {sentences[second]}"
        if rules.match({"title": title, "summary": summary, "content": "", "feed": ""}):
            continue
        titles.add(title)
        used.update(keys)
        made += 1
        yield title, summary


def feed_name(n: int) -> str:
    return f"Bench feed {n}"


def item_link(n: int, i: int) -> str:
    """Item ``i`` of feed ``n``'s link (what ITEM_LINK finds in an alert)."""
    return f"https://news.example.org/bench/{n}/{i}"


# -- the feed server -----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """What the feed server answers at ``path``: a feed (200, or 304 to a
    conditional GET), a status, or an endless body (``kind="oversize"``)."""

    path: str
    kind: str = "feed"  # "feed", "status", "oversize"
    document: str | bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the answer starts
    status: int = 200  # kind "status"
    size: int = 0  # kind "oversize"

    def install(self, server: FeedServer) -> None:
        if self.kind == "feed":
            server.set_feed(
                self.path,
                self.document,
                etag=self.etag,
                last_modified=self.last_modified,
                delay=self.delay,
            )
        elif self.kind == "status":
            server.set_status(self.path, self.status, body=self.document)
        elif self.kind == "oversize":
            server.set_oversize(self.path, self.size)
        else:
            raise ValueError(f"unknown route kind {self.kind!r}")


@dataclass(frozen=True)
class ServerStats:
    """The requests since the last reset."""

    requests: int
    statuses: dict[int, int]  # answers by status (requests still in flight left out)
    paths: int  # distinct paths requested
    first: float | None  # monotonic: when the first request came
    last: float | None  # when the last finished answer was sent


def _stats(server: FeedServer, status: int | None) -> ServerStats:
    requests = [r for r in server.requests if status is None or r.status == status]
    finished = [r.finished for r in requests if r.finished is not None]
    return ServerStats(
        requests=len(requests),
        statuses=dict(Counter(r.status for r in requests if r.status is not None)),
        paths=len({r.path for r in requests}),
        first=min((r.started for r in requests), default=None),
        last=max(finished, default=None),
    )


def serve(routes: Sequence[Route], conn: Connection) -> None:
    """Feed server process: serve the routes, answer commands until "stop"."""
    server = FeedServer()
    for route in routes:
        route.install(server)
    with server:
        conn.send(server.base_url)
        while True:
            command, argument = conn.recv()
            if command == "count":
                conn.send(len(server.requests))
            elif command == "stats":  # argument: only answers of this status, or None
                conn.send(_stats(server, argument))
            elif command == "requests":  # argument: a path
                conn.send([(r.status, r.started, r.finished) for r in server.requests_to(argument)])
            elif command == "set":  # argument: a Route
                argument.install(server)
                conn.send(None)
            elif command == "reset":
                server.reset_stats()
                conn.send(None)
            else:
                return


class FeedProcess:
    """The feed server in a spawned process, driven over a pipe."""

    def __init__(self, routes: Sequence[Route]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(list(routes), theirs), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            self.close()
            raise SystemExit("the feed server did not start within 60 s")
        self.base_url: str = self._conn.recv()

    @classmethod
    def of_documents(cls, documents: dict[str, str]) -> FeedProcess:
        """Each document at its path, with an ETag and a Last-Modified."""
        stamp = "Mon, 06 Jan 2025 10:15:00 GMT"
        return cls(
            [
                Route(path, document=doc, etag=f'"bench-{n}"', last_modified=stamp)
                for n, (path, doc) in enumerate(documents.items())
            ]
        )

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        if not self._conn.poll(30):
            raise RuntimeError("the feed server stopped answering")
        return self._conn.recv()

    def requests(self) -> int:
        return int(self._ask("count"))

    def stats(self, status: int | None = None) -> ServerStats:
        result: ServerStats = self._ask("stats", status)
        return result

    def requests_to(self, path: str) -> list[tuple[int | None, float, float | None]]:
        """(status, started, finished) of every request to ``path``, in order."""
        result: list[tuple[int | None, float, float | None]] = self._ask("requests", path)
        return result

    def set(self, route: Route) -> None:
        self._ask("set", route)

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(("stop", None))
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


# -- the workspace and the workers ---------------------------------------------


def fresh_bytecode() -> None:
    """newsmon's bytecode up to date, as an installed newsmon has it (pip
    compiles at install, scripts/setup at every run). Under
    PYTHONDONTWRITEBYTECODE, as here and on CI, a module edited since would be
    compiled from source at every start of the service and of each of its
    parser processes: a cost of the checkout, not of newsmon."""
    compileall.compile_dir(ROOT / "monitor", quiet=1)


@dataclass(frozen=True)
class FeedEntry:
    url: str
    name: str
    interval: str


class Workspace:
    """config/, rules/, data/ of one run, as a user would lay them out, with a
    loopback webhook sink as the only Apprise channel."""

    def __init__(self, root: Path, feeds: Iterable[FeedEntry], settings: Iterable[str]) -> None:
        fresh_bytecode()  # before any start is timed
        self.root = root
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
        for feed in feeds:
            lines += [
                f"  - url: {feed.url}",
                f"    name: {feed.name}",
                f"    interval: {feed.interval}",
            ]
        lines += ["rules: ../rules", "notify: apprise.yml", "data_dir: ../data", *settings]
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def sqlite_file(self) -> Path:
        return self.root / "data" / "newsmon.db"

    def close(self, keep: bool) -> None:
        self.sink.stop()
        if keep:
            print(f"  kept {self.root}", flush=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


class Workers:
    """``newsmon run`` processes on one workspace; killed if still alive at exit."""

    def __init__(self, space: Workspace, command: Sequence[str] = tuple(NEWSMON)) -> None:
        self.space = space
        self.command = list(command)  # what runs newsmon: `python -m monitor` or the script
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, n: int) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for _ in range(n):
            log = self.space.root / f"worker-{len(self.logs)}.log"
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [*self.command, "run", "--config", str(self.space.config)],
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
        """SIGTERM, and the exit codes (None: did not stop in time, killed)."""
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
                codes.append(None)
        self.processes = []
        return codes

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def cpu_seconds(self) -> float | None:
        return process_tree_cpu(self.pids())

    def kill(self) -> None:
        """SIGKILL whatever is left of each worker's process group."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- what to read off a run ----------------------------------------------------


def delivered(sink: WebhookSink) -> tuple[int, int]:
    """(distinct items alerted, alerts received): every item has its own link;
    an alert that does not show it counts by its whole body."""
    keys = []
    for body in sink.bodies:
        text = json.dumps(body, sort_keys=True)
        link = ITEM_LINK.search(text)
        keys.append(link.group() if link else text)
    return len(set(keys)), len(keys)


def alerted(sink: WebhookSink) -> Counter[str]:
    """Alerts received, by the item link they show."""
    found: Counter[str] = Counter()
    for body in sink.bodies:
        link = ITEM_LINK.search(json.dumps(body))
        if link:
            found[link.group()] += 1
    return found


def sqlite_count(path: Path, table: str) -> int:
    """Rows in a table of a SQLite store (0 before the file or table exists)."""
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=1)) as db:
            return int(db.execute(f"select count(*) from {table}").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet, or a moment's lock
        return 0


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
    """CPU seconds used so far by ``roots`` and all their live descendants
    (Linux /proc; None elsewhere)."""
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


def process_tree_rss(pid: int) -> tuple[int, int]:
    """(the process's RSS, its and its descendants' RSS summed), in bytes."""
    try:
        process = psutil.Process(pid)
        own = process.memory_info().rss
        total = own
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0, 0
    return own, total


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


def reachable(address: tuple[str, int]) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(address, timeout=2):
        return True
    return False
