"""The Store on SQLAlchemy: SQLite on its synchronous engine, run inline; PostgreSQL on asyncpg.

One schema (``monitor.store.schema``, created and upgraded by
``monitor.store.migrations`` when the store opens) and one set of statements
serve both databases: portable column types, and the two dialect-specific
statements (insert-or-ignore, upsert) come from ``_insert``, whose
``on_conflict_*`` methods both dialects spell the same way.

Concurrency. Several workers may share one PostgreSQL database, so every atomic
step is one transaction that the database itself arbitrates:

- ``record_item`` inserts the seen item first; a second worker's insert of the
  same fingerprint waits on the unique index and then does nothing, so the
  item's text is kept and its alerts are enqueued once. Two copies of one
  story recorded at once meet the same way on the outbox's unique (story,
  channel) index; each inserts its alerts in channel order, so neither can
  hold a row the other waits for while waiting for one the other holds.
- ``claim_feed``, ``claim_alerts`` and ``claim_digests`` update only rows that
  are still due, and PostgreSQL re-checks that condition on a row another
  worker has just changed. The alert claims pick their rows with ``FOR UPDATE
  SKIP LOCKED`` (SQLite has no such clause and needs none), so two workers take
  different rows instead of one of them waiting for, then losing, the same ones.
  ``prune`` picks its rows the same way, so workers pruning at once share the
  work instead of queueing behind each other, a few hundred rows at a time.

On SQLite, a transaction whose first statement is a write takes the write lock
up front and waits (busy timeout) instead of failing. Within one process,
writes are also queued on an asyncio lock, one for each database file: SQLite
has one writer anyway, and its statements run on the event loop's thread
(``monitor.store.inline``), where waiting in the busy handler would stop the
loop. An in-memory database lives on one shared connection, so there every
statement takes the lock. WAL mode lets a CLI command read the file while the
service writes to it.

PostgreSQL connections come from a small pool (several agents of one worker
use the store at once), each checked before use, so a restarted server or a
dropped connection costs a reconnect, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    event,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from monitor.core.activity import AlertRecord
from monitor.core.alerts import Alert
from monitor.core.feeds import DueFeed, FeedState, ManagedFeed
from monitor.core.health import HEALTH_STATES
from monitor.core.items import Item, StoredItem
from monitor.core.marks import Ack, Mute
from monitor.core.outbox import MESSAGE_KINDS, MessageKind, OutboxSummary, PendingAlert, Plan
from monitor.core.retention import Cutoffs, Pruned
from monitor.core.stories import (
    StoryEntry,
    StoryKeys,
    StoryRow,
    StorySignature,
    StorySource,
    story_keys,
)
from monitor.core.websub import SUBSCRIPTION_STATES, Subscription, SubscriptionState
from monitor.errors import ConfigError
from monitor.store.connection import Connection
from monitor.store.grouped import Grouped
from monitor.store.inline import InlineEngine, write_lock
from monitor.store.migrations import SCHEMA_LOCK, STEPS, Step, prepare_schema
from monitor.store.reads import ActivityReads, _record, feed_state
from monitor.store.schema import (
    alert_acks,
    feeds,
    item_texts,
    managed_feeds,
    messages,
    outbox,
    rule_mutes,
    seen_items,
    story_bands,
    story_item_key,
    story_item_keys_from,
    story_items,
    websub,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.ext.asyncio import AsyncEngine

# what save_feed_state writes: every field of a FeedState but the key
_FEED_STATE_COLUMNS = tuple(f.name for f in dataclasses.fields(FeedState) if f.name != "url")
# SQLite limits the number of bound parameters in one statement
_CHUNK = 500
_BUSY_TIMEOUT_MS = 10_000
# The advisory lock that serializes matching across workers: held while a story
# is joined and its alerts planned and enqueued. Not the schema upgrade's.
_MATCH_LOCK = SCHEMA_LOCK + 1
_MAX_ERROR_CHARS = 2_000
# more than the bands an item has: a candidate carrying the link ranks first
_LINK_WEIGHT = 1_000
# how far take_poll moves a feed's lease: the least that makes it another lease
_TAKEN = timedelta(microseconds=1)

# A worker's agents (scheduler, fetch, match, notify, retries) share its pool.
_POSTGRES_ENGINE: dict[str, Any] = {
    "pool_size": 5,
    "max_overflow": 5,
    "pool_timeout": 30,
    "pool_pre_ping": True,  # a server restart or idle timeout costs a reconnect
    "pool_recycle": 1800,
    "connect_args": {"timeout": 10, "server_settings": {"application_name": "newsmon"}},
}


def engine_url(url: str) -> URL:
    """The driver URL for a storage URL; creates a SQLite file's folder."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        # not the URL itself: it may carry a password
        raise ConfigError("storage: not a database URL SQLAlchemy can read") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    shown = parsed.render_as_string(hide_password=True)
    raise ConfigError(f"storage: unsupported database {shown!r} (use sqlite:/// or postgresql://)")


def open_engine(url: URL) -> InlineEngine | AsyncEngine:
    """The engine for a driver URL (``engine_url``): SQLite inline on SQLAlchemy's
    synchronous engine (``monitor.store.inline``), PostgreSQL on asyncpg."""
    if url.get_backend_name() == "sqlite":
        # in memory: one connection, or every checkout is a new database
        return InlineEngine(url, poolclass=StaticPool) if _is_memory(url) else InlineEngine(url)
    # imported for PostgreSQL only: SQLAlchemy's asyncio layer imports its ORM too
    from sqlalchemy.ext.asyncio import create_async_engine

    try:
        return create_async_engine(url, **_POSTGRES_ENGINE)
    except ImportError as exc:
        shown = url.render_as_string(hide_password=True)
        raise ConfigError(
            f"storage {shown}: the database driver is not installed ({exc.name})"
        ) from exc


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")  # first: WAL switch may wait
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Switching a database to WAL needs it to itself. A connection that finds
    another one mid-write (a worker upgrading the schema) is told "locked" at
    once: SQLite skips the busy handler there to avoid a deadlock. So try again
    until the busy timeout has passed."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, as adapted
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


T = TypeVar("T")


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SqlStore(ActivityReads):
    """The ``Store`` protocol on one SQLAlchemy engine.

    ``steps`` are the schema migrations this store applies when it opens; the
    default is newsmon's own list, and only tests pass another.
    """

    def __init__(self, url: str, *, steps: Sequence[Step] = STEPS) -> None:
        self._url = engine_url(url)
        self._shown = make_url(url).render_as_string(hide_password=True)
        self._engine: InlineEngine | AsyncEngine | None = None
        self._dialect = self._url.get_backend_name()
        self._memory = _is_memory(self._url)
        self._steps = tuple(steps)
        self._lock = asyncio.Lock()
        # the small per-poll operations, group-committed (monitor.store.grouped)
        self._reads = Grouped(lambda: self._tx(write=False))
        self._writes = Grouped(lambda: self._tx(write=True))
        self._rows_of_feeds: set[str] | None = None  # see due_feeds
        # a statement per poll, each built once (building one cost more than running it)
        self._save_feed = self._feed_upsert()
        self._claim_first, self._claim_due, self._claim_due_many = self._claims()
        # take_poll: the lease moved on by a microsecond, so the claim is taken once
        self._take_poll = (
            update(feeds)
            .where(feeds.c.url == bindparam("feed"), feeds.c.next_poll_at == bindparam("until"))
            .values(next_poll_at=bindparam("taken"))
            .returning(feeds.c.url)
        )
        self._read_feeds = select(feeds).where(feeds.c.url.in_(bindparam("urls", expanding=True)))
        # and those of the rows an item makes, bound to each row's values: built
        # with the values in them, they cost more than running them
        self._mark_seen = self._insert(seen_items).on_conflict_do_nothing(
            index_elements=[seen_items.c.fingerprint]
        )
        self._first_seen = self._mark_seen.returning(seen_items.c.fingerprint)
        self._keep_text = self._insert(item_texts).on_conflict_do_nothing(
            index_elements=[item_texts.c.fingerprint]
        )
        self._add_story_item = (
            self._insert(story_items)
            .on_conflict_do_nothing(index_elements=[story_items.c.fingerprint])
            .returning(story_items.c.fingerprint)
        )
        # two keys of one item, or two items of one key, may coincide: once is enough
        self._file_bands = self._insert(story_bands).on_conflict_do_nothing()
        # no target: a clash on (item, channel) or on (story, channel) is a repeat
        self._enqueue = self._insert(outbox).on_conflict_do_nothing().returning(outbox.c.id)
        # the statements of what each poll and each alert sent asks (see _carried)
        self._carried = self._carried_statements()
        alerts: BindParameter[list[int]] = bindparam("alerts", expanding=True)
        self._unsettled_of = select(outbox.c.id).where(outbox.c.id.in_(alerts), self._unsettled)
        self._channels_of = select(outbox.c.id, outbox.c.channel).where(outbox.c.id.in_(alerts))
        # a dead letter that was sent after all counts as delivered
        self._settle_one = (
            update(outbox)
            .where(outbox.c.id == bindparam("alert"), outbox.c.delivered_at.is_(None))
            .values(
                delivered_at=bindparam("now"),
                last_attempt_at=bindparam("now"),
                attempts=outbox.c.attempts + 1,
                last_error=None,
                dead_at=None,
            )
        )
        self._sources_of = (
            select(story_items)
            .where(story_items.c.story.in_(bindparam("stories", expanding=True)))
            .order_by(story_items.c.story, story_items.c.seen_at, story_items.c.fingerprint)
        )
        # SQLite: the many-row inserts through the driver (see _DriverRows), made at open
        self._driver_rows: tuple[_DriverRows, _DriverRows, _DriverRows] | None = None

    @property
    def url(self) -> str:
        """The database URL as configured, any password masked, for logs."""
        return self._shown

    async def open(self) -> None:
        """Connect, then create, upgrade or check the schema (``ConfigError`` if it can't)."""
        if self._engine is not None:
            return
        engine = open_engine(self._url)
        if self._dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            self._driver_rows = (
                _DriverRows(self._mark_seen, engine.dialect),
                _DriverRows(self._keep_text, engine.dialect),
                _DriverRows(self._file_bands, engine.dialect),
            )
        try:
            await self._prepare(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine

    async def _prepare(self, engine: InlineEngine | AsyncEngine) -> None:
        try:
            conn = await engine.connect()
        except (OSError, SQLAlchemyError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise ConfigError(f"storage {self.url}: cannot connect: {reason}") from exc
        try:
            await conn.run_sync(prepare_schema, self._steps)
        except ConfigError as exc:
            raise ConfigError(f"storage {self.url}: {exc.message}") from exc
        except (OSError, SQLAlchemyError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise ConfigError(f"storage {self.url}: cannot prepare the schema: {reason}") from exc
        finally:
            await conn.close()

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @contextlib.asynccontextmanager
    async def _tx(self, write: bool) -> AsyncIterator[Connection]:
        """One transaction, committed when the block ends without an exception."""
        if self._engine is None:
            raise RuntimeError("store is not open")
        async with self._serializing(write), self._engine.begin() as conn:
            yield conn

    def _serializing(self, write: bool) -> contextlib.AbstractAsyncContextManager[Any]:
        """What a transaction waits for first: on SQLite, the process's one
        writer on its file (``monitor.store.inline``); in memory, the one
        connection."""
        if self._memory:
            return self._lock
        if write and self._dialect == "sqlite":
            return write_lock(str(Path(self._url.database or "").resolve()))
        return contextlib.nullcontext()

    def _within(
        self, conn: Connection | None, write: bool
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        """The unit's connection when a call is part of one, else a transaction of its own."""
        return contextlib.nullcontext(conn) if conn is not None else self._tx(write)

    @contextlib.asynccontextmanager
    async def serialized(self) -> AsyncIterator[SqlUnit]:
        """See ``Store.serialized``: one transaction, and no other worker's at once.
        PostgreSQL: a transaction-scoped advisory lock, released at commit or
        rollback; SQLite: writes are serialized in the process already."""
        async with self._tx(write=True) as conn:
            if self._dialect == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(_MATCH_LOCK)))
            yield SqlUnit(self, conn)

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        # imported for PostgreSQL only: on SQLite it would be 0.05 s of the start
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)

    # feeds ---------------------------------------------------------------

    async def feed_state(self, url: str) -> FeedState | None:
        return await self._reads.run_batched(self._feed_states, url)

    async def _feed_states(self, conn: Connection, urls: Sequence[str]) -> list[FeedState | None]:
        """feed_state of the polls asking at once: a query for each chunk of them."""
        found: dict[str, FeedState] = {}
        for chunk in _chunks(sorted(set(urls))):
            for row in await conn.execute(self._read_feeds, {"urls": list(chunk)}):
                found[row.url] = feed_state(row)
        return [found.get(url) for url in urls]

    async def save_feed_state(self, state: FeedState) -> None:
        if state.health not in HEALTH_STATES:
            raise ValueError(
                f"feed health {state.health!r}: expected one of {sorted(HEALTH_STATES)}"
            )
        params = {name: getattr(state, name) for name in _FEED_STATE_COLUMNS}
        params["url"] = state.url
        await self._writes.run_batched(self._save_feed_states, params)

    async def _save_feed_states(
        self, conn: Connection, rows: Sequence[dict[str, Any]]
    ) -> list[None]:
        """save_feed_state of the polls saving at once: their rows in one execution
        (of a feed saved twice, the last, as saving one after the other leaves it)."""
        latest = {row["url"]: row for row in rows}
        await conn.execute(self._save_feed, list(latest.values()))
        return [None] * len(rows)

    async def due_feeds(self, urls: Sequence[str], now: datetime) -> list[DueFeed]:
        # Asked every scheduler tick: read only the rows that are due, not one
        # per feed. A feed without a row has never been polled, so it is due;
        # which feeds have rows is read once, then grown by claims. (A row
        # another worker made since counts as due here: its claim decides.)
        columns = (feeds.c.url, feeds.c.next_poll_at, feeds.c.last_polled_at)
        query = select(*columns).where(
            feeds.c.next_poll_at.is_(None) | (feeds.c.next_poll_at <= now)
        )
        async with self._tx(write=False) as conn:
            if self._rows_of_feeds is None:
                self._rows_of_feeds = set((await conn.execute(select(feeds.c.url))).scalars())
            due = {url: DueFeed(url, at, polled) for url, at, polled in await conn.execute(query)}
        listed = self._rows_of_feeds
        return [
            due.get(url) or DueFeed(url, None, None)
            for url in dict.fromkeys(urls)
            if url in due or url not in listed
        ]

    async def claim_feed(self, url: str, now: datetime, until: datetime) -> bool:
        won = await self._writes.run_batched(self._claim_feeds, (url, now, until))
        if self._rows_of_feeds is not None:
            self._rows_of_feeds.add(url)  # it has a row now, won or not
        return won

    async def _claim_feeds(
        self, conn: Connection, claims: Sequence[tuple[str, datetime, datetime]]
    ) -> list[bool]:
        """claim_feed of the claims made at once (a tick claims every feed due).

        The claim of a feed without a row, then of a due one: the feed is won
        by whichever returns it. The feeds known to have a row (every feed once
        polled: a restart claims them all at once) try the second first, all
        of them with the same times in one statement, which wins most.
        """
        known = self._rows_of_feeds or set()
        by_times: dict[tuple[datetime, datetime], set[str]] = {}
        new_by_times: dict[tuple[datetime, datetime], set[str]] = {}
        for url, now, until in claims:
            (by_times if url in known else new_by_times).setdefault((now, until), set()).add(url)
        updated: set[tuple[str, datetime, datetime]] = set()
        for (now, until), urls in by_times.items():
            for chunk in _chunks(sorted(urls)):  # sorted: workers lock shared rows alike
                params = {"feeds": list(chunk), "now": now, "until": until}
                won = (await conn.execute(self._claim_due_many, params)).scalars()
                updated.update((url, now, until) for url in won)
        # and the first claims of feeds without a row (a first start claims all
        # of them): their rows in one statement; a row already there is not won
        for (now, until), urls in new_by_times.items():
            for chunk in _chunks(sorted(urls)):
                rows = [{"url": url, "next_poll_at": until, "failures": 0} for url in chunk]
                first = self._insert(feeds).values(rows)
                first = first.on_conflict_do_nothing(index_elements=[feeds.c.url])
                won = (await conn.execute(first.returning(feeds.c.url))).scalars()
                updated.update((url, now, until) for url in won)
        results: list[bool] = []
        taken: set[str] = set()  # asked for twice at once: the second finds it leased
        for url, now, until in claims:
            if url in taken:
                results.append(False)
                continue
            won_now = (url, now, until) in updated
            if not won_now:  # known: not due, or its row is gone; else its row was there
                params = {"feed": url, "now": now, "until": until}
                statement = self._claim_first if url in known else self._claim_due
                won_now = (await conn.execute(statement, params)).first() is not None
            if won_now:
                taken.add(url)
            results.append(won_now)
        return results

    def _feed_upsert(self) -> sqlite.Insert | postgresql.Insert:
        """save_feed_state's statement: a feed's row, its state columns bound."""
        insert = self._insert(feeds)
        return insert.on_conflict_do_update(
            index_elements=[feeds.c.url],
            set_={name: insert.excluded[name] for name in _FEED_STATE_COLUMNS},
        )

    async def take_poll(self, url: str, until: datetime) -> bool:
        taken: bool = await self._writes.run_batched(self._take_polls, (url, until))
        return taken

    async def _take_polls(
        self, conn: Connection, takes: Sequence[tuple[str, datetime]]
    ) -> list[bool]:
        results: list[bool] = []
        for url, until in takes:
            params = {"feed": url, "until": until, "taken": until + _TAKEN}
            results.append((await conn.execute(self._take_poll, params)).first() is not None)
        return results

    def _claims(self) -> tuple[Executable, Executable, Executable]:
        """claim_feed's statements: a first claim of a feed, one of a due feed,
        and one of many due feeds."""
        first_time = (
            self._insert(feeds)
            .values(url=bindparam("feed"), next_poll_at=bindparam("until"), failures=0)
            .on_conflict_do_nothing(index_elements=[feeds.c.url])
            .returning(feeds.c.url)
        )
        if_due = (
            update(feeds)
            .where(
                feeds.c.url == bindparam("feed"),
                feeds.c.next_poll_at.is_(None) | (feeds.c.next_poll_at <= bindparam("now")),
            )
            .values(next_poll_at=bindparam("until"))
            .returning(feeds.c.url)
        )
        if_due_many = (
            update(feeds)
            .where(
                feeds.c.url.in_(bindparam("feeds", expanding=True)),
                feeds.c.next_poll_at.is_(None) | (feeds.c.next_poll_at <= bindparam("now")),
            )
            .values(next_poll_at=bindparam("until"))
            .returning(feeds.c.url)
        )
        return first_time, if_due, if_due_many

    # items and outbox ----------------------------------------------------

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story: StoryEntry | None = None,
        plans: Mapping[str, Plan] | None = None,
        within: Connection | None = None,
    ) -> dict[str, int]:
        """See ``Store.record_item``: ``SqlUnit``'s three steps, for one item
        (``enqueue`` refuses alerts about another item: nothing is written)."""
        async with self._within(within, write=True) as conn:
            unit = SqlUnit(self, conn)
            if not await unit.mark_seen([item], now):
                return {}  # seen before: this is a redelivery or a restart
            story_id = story.story_id if story is not None else item.fingerprint
            ids = await unit.enqueue(item, alerts, now, story_id=story_id, plans=plans or {})
            await unit.keep([(item, story)], now)
        return ids

    async def record_quiet(self, items: Sequence[Item], now: datetime) -> None:
        """See ``Store.record_quiet``."""
        if not items:
            return
        marks = [_seen_row(item, now) for item in items]
        texts = [_text_row(item, now) for item in items]
        async with self._tx(write=True) as conn:
            if self._driver_rows is not None:
                seen, kept, _ = self._driver_rows
                await seen.insert(conn, marks)
                await kept.insert(conn, texts)
            else:  # executemany: SQLAlchemy pages the rows
                await conn.execute(self._mark_seen, marks)
                await conn.execute(self._keep_text, texts)

    async def reported_stories(self, since: datetime, sources: int = 2) -> list[str]:
        first = func.min(story_items.c.seen_at)
        query = (
            select(story_items.c.story)
            .where(story_items.c.seen_at > since)
            .group_by(story_items.c.story)
            .having(func.count() >= sources)
            .order_by(first, story_items.c.story)
        )
        async with self._tx(write=False) as conn:
            return list((await conn.execute(query)).scalars())

    async def story_sources(self, story_id: str) -> list[StorySource]:
        return await self._reads.run_batched(self._sources, story_id)  # asked for every alert sent

    async def _sources(self, conn: Connection, story_ids: Sequence[str]) -> list[list[StorySource]]:
        found: dict[str, list[StorySource]] = {}
        for chunk in _chunks(sorted(set(story_ids))):
            for row in await conn.execute(self._sources_of, {"stories": list(chunk)}):
                found.setdefault(row.story, []).append(
                    StorySource(
                        feed_title=row.feed_title,
                        link=row.link,
                        title=row.title,
                        seen_at=row.seen_at,
                    )
                )
        return [found.get(story_id, []) for story_id in story_ids]

    # item texts ----------------------------------------------------------

    async def items_since(
        self, since: datetime, batch: int = 500
    ) -> AsyncIterator[list[StoredItem]]:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        seen_at, fingerprint = item_texts.c.seen_at, item_texts.c.fingerprint
        page = (
            select(item_texts, story_items.c.story)
            .select_from(
                item_texts.outerjoin(story_items, story_items.c.fingerprint == fingerprint)
            )
            .order_by(seen_at, fingerprint)
            .limit(batch)
        )
        where: ColumnElement[bool] = seen_at >= since
        while True:
            async with self._tx(write=False) as conn:
                rows = (await conn.execute(page.where(where))).all()
            if rows:
                yield [_stored_item(row) for row in rows]
            if len(rows) < batch:
                return
            # keyset paging: resume after the last row (OFFSET would rescan the skipped rows)
            last = rows[-1]
            where = (seen_at > last.seen_at) | (
                (seen_at == last.seen_at) & (fingerprint > last.fingerprint)
            )

    async def count_items_since(self, since: datetime) -> int:
        query = select(func.count()).select_from(item_texts).where(item_texts.c.seen_at >= since)
        async with self._tx(write=False) as conn:
            return int((await conn.execute(query)).scalar_one())

    # retention -----------------------------------------------------------

    async def carried(
        self,
        feed: str,
        fingerprints: Sequence[str],
        now: datetime,
        fresh_since: datetime,
        *,
        whole: bool = True,
    ) -> set[str]:
        wanted = sorted(set(fingerprints))  # sorted: workers lock shared rows alike
        refresh, read, note = self._carried

        async def mark(conn: Connection) -> set[str]:
            seen: set[str] = set()
            for chunk in _chunks(wanted):
                found = sorted((await conn.execute(read, {"items": chunk})).scalars())
                if found:  # a feed's new items have no mark to refresh
                    await conn.execute(refresh, {"items": found, "now": now, "fresh": fresh_since})
                seen.update(found)
            if whole:
                await conn.execute(note, {"feed": feed, "fresh": fresh_since})
            return set(wanted) - seen

        return await self._writes.run(mark)

    def _carried_statements(self) -> tuple[Executable, Executable, Executable]:
        """carried's statements: refresh the stale seen marks among some items,
        read which of them were seen, note when the feed was last read whole."""
        items = seen_items.c.fingerprint.in_(bindparam("items", expanding=True))
        last_seen = seen_items.c.last_seen_at
        # only stale marks: a feed polled every few minutes rewrites no row
        refresh = (
            update(seen_items)
            .where(items, last_seen.is_(None) | (last_seen < bindparam("fresh")))
            .values(last_seen_at=bindparam("now"))
        )
        read = select(seen_items.c.fingerprint).where(items)
        note = self._insert(feeds).values(
            url=bindparam("feed"), failures=0, dropped_before=bindparam("fresh")
        )
        note = note.on_conflict_do_update(
            index_elements=[feeds.c.url], set_={"dropped_before": note.excluded.dropped_before}
        )
        return refresh, read, note

    async def prune(self, cuts: Cutoffs, batch: int = 500) -> Pruned:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        # The item's feed, read after its mark was last refreshed, no longer had it.
        # No feed row: nothing polls that feed, so nothing can bring the item back.
        still_carried = (
            select(feeds.c.url)
            .where(
                feeds.c.url == seen_items.c.feed,
                feeds.c.dropped_before.is_(None)
                | (feeds.c.dropped_before <= seen_items.c.last_seen_at),
            )
            .exists()
        )
        texts, seen, stories = item_texts.c, seen_items.c, story_items.c
        # texts first: an item's text is never younger than its mark (first seen,
        # last seen), so a mark pruned goes with its text
        pruned_texts = await self._prune(
            item_texts, texts.fingerprint, texts.seen_at < cuts.item_texts, texts.seen_at, batch
        )
        pruned_seen = await self._prune(
            seen_items,
            seen.fingerprint,
            (seen.last_seen_at < cuts.seen_items) & ~still_carried,
            seen.last_seen_at,
            batch,
        )
        # an item pruned from the story index stays a source of its story; one that
        # goes altogether takes its keys with it
        pruned_bands = await self._prune_bands(max(cuts.story_bands, cuts.story_items), batch)
        pruned_stories = await self._prune(
            story_items,
            stories.fingerprint,
            stories.seen_at < cuts.story_items,
            stories.seen_at,
            batch,
        )
        pruned_messages = await self._prune(
            messages, messages.c.id, messages.c.sent_at < cuts.messages, messages.c.sent_at, batch
        )
        # settled rows only: pending, held and digest rows have neither time set
        delivered = await self._prune(
            outbox, outbox.c.id, outbox.c.delivered_at < cuts.alerts, outbox.c.delivered_at, batch
        )
        dead = await self._prune(
            outbox,
            outbox.c.id,
            outbox.c.delivered_at.is_(None) & (outbox.c.dead_at < cuts.alerts),
            outbox.c.dead_at,
            batch,
        )
        return Pruned(
            item_texts=pruned_texts,
            seen_items=pruned_seen,
            story_items=pruned_stories,
            story_bands=pruned_bands,
            messages=pruned_messages,
            alerts=delivered + dead,
        )

    async def _prune(
        self,
        table: Table,
        key: ColumnElement[Any],
        where: ColumnElement[bool],
        oldest_first: ColumnElement[Any],
        batch: int,
    ) -> int:
        """Delete the rows of ``table`` matching ``where``, oldest first, ``batch``
        rows per transaction, so writers are never held up for long."""
        # PostgreSQL: rows another worker is deleting right now are skipped, not waited for
        oldest = (
            select(key)
            .where(where)
            .order_by(oldest_first)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        prune = delete(table).where(key.in_(oldest))
        removed = 0
        while True:
            async with self._tx(write=True) as conn:
                count = (await conn.execute(prune)).rowcount
            removed += count
            if count < batch:
                return removed
            await asyncio.sleep(0)  # between batches, other writers go first

    async def _prune_bands(self, cut: datetime, batch: int) -> int:
        """Take the story items seen before ``cut`` out of the story index, oldest
        first, about ``batch`` rows (an item has some 65) per transaction; returns
        how many rows went."""
        items = story_items.c
        per_transaction = max(1, batch // 65)
        oldest = (
            select(items.fingerprint, items.item_key, items.signature, items.link)
            .where(items.item_key < story_item_keys_from(cut))
            .order_by(items.item_key)
            .limit(per_transaction)
            .with_for_update(skip_locked=True)
        )
        filed = tuple_(story_bands.c.band, story_bands.c.item_key)
        removed = 0
        while True:
            async with self._tx(write=True) as conn:
                rows = (await conn.execute(oldest)).all()
                # the rows an item was filed under are made from what it was filed with
                pairs = [
                    (band, row.item_key)
                    for row in rows
                    for band in _filed_under(bytes(row.signature), row.link)
                ]
                for chunk in _chunks(pairs):
                    gone = await conn.execute(delete(story_bands).where(filed.in_(chunk)))
                    removed += gone.rowcount
                for chunk in _chunks([row.fingerprint for row in rows]):
                    unfiled = update(story_items).where(items.fingerprint.in_(chunk))
                    await conn.execute(unfiled.values(item_key=None))
            if len(rows) < per_transaction:
                return removed
            await asyncio.sleep(0)  # between batches, other writers go first

    # outbox row states (see monitor.store): settled rows are delivered or dead
    _unsettled = outbox.c.delivered_at.is_(None) & outbox.c.dead_at.is_(None)

    def _due(self, now: datetime) -> ColumnElement[bool]:
        """Rows to be sent on their own, their next attempt due."""
        return self._unsettled & outbox.c.digest_due.is_(None) & (outbox.c.next_attempt_at <= now)

    def _digest_due(self, now: datetime) -> ColumnElement[bool]:
        """Digest rows whose digest and next attempt (not a claim's lease) are due."""
        return self._unsettled & (outbox.c.digest_due <= now) & (outbox.c.next_attempt_at <= now)

    async def unsettled_for(self, fingerprint: str) -> list[PendingAlert]:
        query = (
            select(outbox)
            .where(
                (outbox.c.fingerprint == fingerprint)
                & self._unsettled
                & outbox.c.digest_due.is_(None)
            )
            .order_by(outbox.c.id)
        )
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_pending(row) for row in rows]

    async def claim_alerts(
        self, now: datetime, until: datetime, limit: int = 100
    ) -> list[PendingAlert]:
        return await self._claim(self._due(now), until, limit)

    async def claim_digests(self, now: datetime, until: datetime) -> dict[str, list[PendingAlert]]:
        digests: dict[str, list[PendingAlert]] = {}
        for pending in await self._claim(self._digest_due(now), until, limit=None):
            digests.setdefault(pending.alert.channel, []).append(pending)
        return digests

    async def _claim(
        self, where: ColumnElement[bool], until: datetime, limit: int | None
    ) -> list[PendingAlert]:
        # PostgreSQL: lock the oldest rows, skipping those another worker is
        # claiming right now; a row claimed and committed meanwhile is re-checked
        # and, no longer due, left out. MATERIALIZED: the pick runs exactly once.
        picked = (
            select(outbox.c.id)
            .where(where)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(select(picked.c.id)))
            .values(next_attempt_at=until)
            .returning(*outbox.c)
        )
        async with self._tx(write=True) as conn:
            rows = (await conn.execute(claim)).all()
        return sorted((_pending(row) for row in rows), key=lambda p: p.id)

    async def mark_delivered(self, alert_id: int, now: datetime) -> None:
        # group-committed: the alerts a burst of news sends, settled together
        await self._writes.run_batched(self._settle_each, (alert_id, now))

    async def _settle_each(
        self, conn: Connection, reports: Sequence[tuple[int, datetime]]
    ) -> list[None]:
        """mark_delivered of the alerts reported at once, each of which went out
        in a message of its own: a statement for their rows, one for their
        channels and one for their messages, not three for each."""
        await conn.execute(self._settle_one, [{"alert": i, "now": now} for i, now in reports])
        channel_of: dict[int, str] = {}
        for chunk in _chunks(sorted({alert_id for alert_id, _ in reports})):
            rows = await conn.execute(self._channels_of, {"alerts": list(chunk)})
            channel_of.update((alert_id, channel) for alert_id, channel in rows)
        sent = [
            {"channel": channel_of[alert_id], "sent_at": now, "kind": "alert"}
            for alert_id, now in reports
            if alert_id in channel_of  # a repeat report counts again, as its message did
        ]
        if sent:
            await conn.execute(messages.insert(), sent)
        return [None] * len(reports)

    async def mark_delivered_many(
        self, alert_ids: Sequence[int], now: datetime, kind: MessageKind = "digest"
    ) -> None:
        _check_kind(kind)
        async with self._tx(write=True) as conn:
            await self._settle(conn, alert_ids, now, kind)

    async def _settle(
        self, conn: Connection, alert_ids: Sequence[int], now: datetime, kind: MessageKind
    ) -> None:
        """The alerts went out in one message: history now, and the message recorded."""
        wanted = list(dict.fromkeys(alert_ids))
        channels: set[str] = set()
        for chunk in _chunks(wanted):
            # a dead letter that was sent after all counts as delivered
            settle = (
                update(outbox)
                .where(outbox.c.id.in_(chunk), outbox.c.delivered_at.is_(None))
                .values(
                    delivered_at=now,
                    last_attempt_at=now,
                    attempts=outbox.c.attempts + 1,
                    last_error=None,
                    dead_at=None,
                )
            )
            await conn.execute(settle)
            # the message went out even if the row was settled already (a repeat
            # report): it counts against the rate limit all the same
            sent_to = select(outbox.c.channel).where(outbox.c.id.in_(chunk)).distinct()
            channels.update((await conn.execute(sent_to)).scalars())
        if channels:
            rows = [{"channel": ch, "sent_at": now, "kind": kind} for ch in sorted(channels)]
            await conn.execute(messages.insert(), rows)

    async def mark_failed(
        self, alert_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, self._unsettled)
            .values(
                next_attempt_at=next_attempt_at,
                last_attempt_at=now,
                attempts=outbox.c.attempts + 1,
                last_error=error[:_MAX_ERROR_CHARS],
            )
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def mark_dead(self, alert_id: int, error: str, now: datetime) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, self._unsettled)
            .values(
                dead_at=now,
                last_attempt_at=now,
                attempts=outbox.c.attempts + 1,
                last_error=error[:_MAX_ERROR_CHARS],
            )
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def dead_letters(self, limit: int = 100) -> list[PendingAlert]:
        query = (
            select(outbox)
            .where(outbox.c.dead_at.is_not(None), outbox.c.delivered_at.is_(None))
            .order_by(outbox.c.dead_at.desc(), outbox.c.id.desc())
            .limit(limit)
        )
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_pending(row) for row in rows]

    # messages ------------------------------------------------------------

    async def record_message(self, channel: str, now: datetime, kind: MessageKind) -> None:
        _check_kind(kind)
        async with self._tx(write=True) as conn:
            await conn.execute(messages.insert().values(channel=channel, sent_at=now, kind=kind))

    # counts --------------------------------------------------------------

    async def is_settled(self, alert_id: int) -> bool:
        return await self._reads.run_batched(self._settled, alert_id)  # asked for every alert sent

    async def _settled(self, conn: Connection, alert_ids: Sequence[int]) -> list[bool]:
        unsettled: set[int] = set()
        for chunk in _chunks(sorted(set(alert_ids))):
            unsettled.update((await conn.execute(self._unsettled_of, {"alerts": chunk})).scalars())
        return [alert_id not in unsettled for alert_id in alert_ids]

    async def outbox_summary(self) -> OutboxSummary:
        def count(where: ColumnElement[bool]) -> Any:
            return func.count(case((where, 1)))  # COUNT skips the NULL of the other rows

        query = select(
            count(self._unsettled & outbox.c.digest_due.is_(None)),
            count(self._unsettled & outbox.c.digest_due.is_not(None)),
            count(outbox.c.delivered_at.is_(None) & outbox.c.dead_at.is_not(None)),
            count(outbox.c.delivered_at.is_not(None)),
        )
        async with self._tx(write=False) as conn:
            pending, digest, dead, delivered = (await conn.execute(query)).one()
        return OutboxSummary(
            pending=int(pending), digest=int(digest), dead=int(dead), delivered=int(delivered)
        )

    # feeds added at run time -----------------------------------------------

    async def managed_feeds(self) -> list[ManagedFeed]:
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(select(managed_feeds).order_by(managed_feeds.c.url))).all()
        return [
            ManagedFeed(url=r.url, name=r.name, interval_s=r.interval_s, added_at=r.added_at)
            for r in rows
        ]

    async def add_managed_feed(self, feed: ManagedFeed) -> bool:
        if feed.added_at is None:
            raise ValueError(f"managed feed {feed.url} without added_at")
        add = (
            self._insert(managed_feeds)
            .values(
                url=feed.url, name=feed.name, interval_s=feed.interval_s, added_at=feed.added_at
            )
            .on_conflict_do_nothing(index_elements=[managed_feeds.c.url])
            .returning(managed_feeds.c.url)
        )
        async with self._tx(write=True) as conn:
            return (await conn.execute(add)).first() is not None

    async def remove_managed_feed(self, url: str) -> bool:
        async with self._tx(write=True) as conn:
            gone = await conn.execute(delete(managed_feeds).where(managed_feeds.c.url == url))
        return bool(gone.rowcount == 1)

    # WebSub subscriptions --------------------------------------------------

    async def subscription(self, feed: str) -> Subscription | None:
        return await self._subscription(websub.c.feed == feed)

    async def subscription_by_callback(self, callback_id: str) -> Subscription | None:
        return await self._subscription(websub.c.callback_id == callback_id)

    async def _subscription(self, where: ColumnElement[bool]) -> Subscription | None:
        async with self._tx(write=False) as conn:
            row = (await conn.execute(select(websub).where(where))).first()
        return _subscription(row) if row is not None else None

    async def subscriptions(self) -> list[Subscription]:
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(select(websub).order_by(websub.c.feed))).all()
        return [_subscription(row) for row in rows]

    async def due_subscriptions(self, now: datetime, limit: int = 100) -> list[Subscription]:
        query = (
            select(websub)
            .where(websub.c.next_action_at <= now)
            .order_by(websub.c.next_action_at, websub.c.feed)
            .limit(limit)
        )
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_subscription(row) for row in rows]

    async def swap_subscription(self, old: Subscription | None, new: Subscription | None) -> bool:
        if old is None and new is None:
            return True
        if old is not None and new is not None and old.feed != new.feed:
            raise ValueError(f"subscription of {old.feed} swapped for one of {new.feed}")
        if new is not None and new.state not in SUBSCRIPTION_STATES:
            raise ValueError(f"subscription state {new.state!r}")
        if old is None:
            assert new is not None
            add = (
                self._insert(websub)
                .values(feed=new.feed, **_subscription_values(new, revision=0))
                .on_conflict_do_nothing(index_elements=[websub.c.feed])
                .returning(websub.c.feed)
            )
            async with self._tx(write=True) as conn:
                return (await conn.execute(add)).first() is not None
        same = (websub.c.feed == old.feed) & (websub.c.revision == old.revision)
        if new is None:
            change: Any = delete(websub).where(same)
        else:
            values = _subscription_values(new, old.revision + 1)
            change = update(websub).where(same).values(**values)
        async with self._tx(write=True) as conn:
            return bool((await conn.execute(change)).rowcount == 1)

    async def poll_soon(self, url: str, at: datetime) -> None:
        stmt = (
            update(feeds)
            .where(feeds.c.url == url, feeds.c.next_poll_at > at)
            .values(next_poll_at=at)
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    # the dashboard's marks (monitor.core.marks) ---------------------------

    async def mute_rule(self, rule: str, until: datetime, now: datetime) -> Mute:
        mute = self._insert(rule_mutes).values(rule=rule, until=until, muted_at=now)
        mute = mute.on_conflict_do_update(
            index_elements=[rule_mutes.c.rule], set_={"until": until, "muted_at": now}
        )
        async with self._tx(write=True) as conn:
            await conn.execute(delete(rule_mutes).where(rule_mutes.c.until <= now))
            await conn.execute(mute)
        return Mute(rule=rule, until=until, muted_at=now)

    async def unmute_rule(self, rule: str) -> bool:
        async with self._tx(write=True) as conn:
            gone = await conn.execute(delete(rule_mutes).where(rule_mutes.c.rule == rule))
        return bool(gone.rowcount)

    async def mutes(self, now: datetime) -> list[Mute]:
        query = select(rule_mutes).where(rule_mutes.c.until > now).order_by(rule_mutes.c.rule)
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [Mute(rule=r.rule, until=r.until, muted_at=r.muted_at) for r in rows]

    async def acknowledge(self, alert_id: int, until: datetime, now: datetime) -> Ack | None:
        ack = self._insert(alert_acks).values(alert_id=alert_id, until=until, acked_at=now)
        ack = ack.on_conflict_do_update(
            index_elements=[alert_acks.c.alert_id], set_={"until": until, "acked_at": now}
        )
        async with self._tx(write=True) as conn:
            if (await conn.execute(select(outbox.c.id).where(outbox.c.id == alert_id))).first():
                await conn.execute(delete(alert_acks).where(alert_acks.c.until <= now))
                await conn.execute(ack)
                return Ack(alert_id=alert_id, until=until, acked_at=now)
        return None

    async def unacknowledge(self, alert_id: int) -> bool:
        async with self._tx(write=True) as conn:
            gone = await conn.execute(delete(alert_acks).where(alert_acks.c.alert_id == alert_id))
        return bool(gone.rowcount)

    async def acknowledgements(self, now: datetime) -> list[Ack]:
        query = select(alert_acks).where(alert_acks.c.until > now).order_by(alert_acks.c.alert_id)
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [Ack(alert_id=int(r.alert_id), until=r.until, acked_at=r.acked_at) for r in rows]

    async def alerts_after(self, after_id: int, limit: int = 100) -> list[AlertRecord]:
        query = select(outbox).where(outbox.c.id > after_id).order_by(outbox.c.id).limit(limit)
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def last_alert_id(self) -> int:
        async with self._tx(write=False) as conn:
            last = (await conn.execute(select(func.max(outbox.c.id)))).scalar()
        return int(last or 0)


def _subscription_values(sub: Subscription, revision: int) -> dict[str, Any]:
    return {
        "callback_id": sub.callback_id,
        "hub": sub.hub,
        "topic": sub.topic,
        "secret": sub.secret,
        "state": sub.state,
        "next_action_at": sub.next_action_at,
        "lease_expires_at": sub.lease_expires_at,
        "attempts": sub.attempts,
        "last_error": (sub.last_error or "")[:_MAX_ERROR_CHARS] or None,
        "revision": revision,
    }


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        feed=row.feed,
        callback_id=row.callback_id,
        hub=row.hub,
        topic=row.topic,
        secret=row.secret,
        state=cast(SubscriptionState, row.state),
        next_action_at=row.next_action_at,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        last_error=row.last_error,
        revision=row.revision,
    )


def _candidates() -> Select[Any]:
    """``SqlUnit.story_candidates``, built once: the story items of the window
    filed under the most of the keys, those under the link first (a NULL link
    matches none)."""
    bands, items = story_bands.c, story_items.c
    hits = func.sum(case((bands.band == bindparam("link"), _LINK_WEIGHT), else_=1))
    ranked = (
        select(bands.item_key, hits.label("hits"))
        .where(bands.band.in_(bindparam("keys", expanding=True)))
        .where(bands.item_key >= bindparam("from_key"))
        .group_by(bands.item_key)
        .order_by(hits.desc(), bands.item_key)
        .limit(bindparam("limit"))
        .subquery()
    )
    return (
        select(items.fingerprint, items.story, items.signature, items.link, items.seen_at)
        .join(ranked, items.item_key == ranked.c.item_key)
        .where(items.seen_at > bindparam("since"))
        .order_by(items.seen_at, items.fingerprint)
    )


_CANDIDATES = _candidates()


def _filed_under(signature: bytes, link: str) -> tuple[int, ...]:
    """The keys a story item is filed under in story_bands, made again the same
    way when it is pruned; none for a signature of another version (it is never
    compared)."""
    try:
        sig = StorySignature.from_bytes(signature)
    except ValueError:
        return ()
    return tuple(sorted(set(story_keys(sig, link).all)))


class _DriverRows:
    """An insert of many rows at once through the driver's executemany.

    SQLAlchemy's executemany runs every value of every row through its
    parameter processing in Python, which cost SQLite's cold ingest more than
    SQLite's inserting the rows (about 40 µs an item against a few). Here the
    statement is compiled once for the rows' columns, so its SQL is the one
    SQLAlchemy would run; each row goes in as a tuple in the order the SQL binds
    them, each value converted as its column's type would convert it (the UTC
    times to SQLite's text), and nothing else.
    """

    def __init__(self, statement: Insert, dialect: Dialect) -> None:
        self.statement = statement
        self.dialect = dialect
        self.table = cast(Table, statement.table)
        # by the rows' columns: (SQL, (column, its conversion or None) in bind order)
        self.compiled: dict[tuple[str, ...], tuple[str, tuple[tuple[str, Any], ...]]] = {}

    def _compiled(self, columns: tuple[str, ...]) -> tuple[str, tuple[tuple[str, Any], ...]]:
        if columns not in self.compiled:
            dialect = self.dialect
            compiled = self.statement.compile(dialect=dialect, column_keys=list(columns))
            assert compiled.positiontup is not None  # SQLite's parameters are positional
            order = tuple(
                (name, self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in compiled.positiontup
            )
            self.compiled[columns] = (str(compiled), order)
        return self.compiled[columns]

    async def insert(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows``, dicts of the same columns (as the statement's executemany takes)."""
        if not rows:
            return
        sql, order = self._compiled(tuple(rows[0]))
        names = [name for name, _ in order]
        # each distinct value converted once (the rows of a batch share their times)
        converts: list[tuple[int, Any, dict[Any, Any]]] = [
            (k, convert, {}) for k, (_, convert) in enumerate(order) if convert
        ]
        values = []
        for row in rows:
            value = [row[name] for name in names]
            for k, convert, done in converts:
                raw = value[k]
                value[k] = done[raw] if raw in done else done.setdefault(raw, convert(raw))
            values.append(tuple(value))
        await conn.exec_driver_sql(sql, values)


def _seen_row(item: Item, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": item.fingerprint,
        "feed": item.feed,
        "title": item.title,
        "link": item.link,
        "seen_at": now,
        "last_seen_at": now,
    }


def _text_row(item: Item, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": item.fingerprint,
        "feed": item.feed,
        "feed_title": item.feed_title,
        "title": item.title,
        "summary": item.summary,
        "content": item.content,
        "link": item.link,
        "published": item.published,
        "seen_at": now,
    }


def _check_about(item: Item, alerts: Sequence[Alert]) -> None:
    strays = [a.key for a in alerts if a.fingerprint != item.fingerprint]
    if strays:
        raise ValueError(f"alerts {strays} are not about item {item.fingerprint}")


def _check_kind(kind: str) -> None:
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"message kind {kind!r}: expected one of {sorted(MESSAGE_KINDS)}")


def _stored_item(row: Row[Any]) -> StoredItem:
    item = Item(
        fingerprint=row.fingerprint,
        feed=row.feed,
        feed_title=row.feed_title,
        title=row.title,
        summary=row.summary,
        content=row.content,
        link=row.link,
        published=row.published,
    )
    return StoredItem(item=item, seen_at=row.seen_at, story=row.story)


def _pending(row: Row[Any]) -> PendingAlert:
    return PendingAlert(
        id=int(row.id),
        alert=Alert.from_json(row.payload),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        story=row.story,
        digest_due=row.digest_due,
        dead_at=row.dead_at,
    )


class SqlUnit:
    """Store calls made inside one ``serialized`` transaction (see ``StoreUnit``)."""

    def __init__(self, store: SqlStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn

    async def story_candidates(
        self, keys: StoryKeys, since: datetime, limit: int = 100
    ) -> list[StoryRow]:
        if not keys.all:
            return []
        values = {
            "keys": sorted(set(keys.all)),
            "link": keys.link,
            "from_key": story_item_keys_from(since),
            "since": since,
            "limit": limit,
        }
        return [
            StoryRow(
                fingerprint=row.fingerprint,
                story_id=row.story,
                signature=bytes(row.signature),
                link=row.link,
                seen_at=row.seen_at,
            )
            for row in await self._conn.execute(_CANDIDATES, values)
        ]

    async def counted(
        self, channel: str, since: datetime, until: datetime, excluding: Sequence[int] = ()
    ) -> int:
        sent = (
            select(func.count())
            .select_from(messages)
            .where(messages.c.channel == channel, messages.c.sent_at > since)
            .scalar_subquery()
        )
        going_out = (
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.channel == channel,
                SqlStore._unsettled,
                outbox.c.digest_due.is_(None),
                outbox.c.next_attempt_at <= until,
                outbox.c.id.not_in(list(excluding)),
            )
            .scalar_subquery()
        )
        # One statement, one snapshot: read apart, a delivery committed between
        # the two reads (on another worker) would count as neither.
        return int((await self._conn.execute(select(sent + going_out))).scalar_one())

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story: StoryEntry | None = None,
        plans: Mapping[str, Plan] | None = None,
    ) -> dict[str, int]:
        return await self._store.record_item(
            item, alerts, now, story=story, plans=plans, within=self._conn
        )

    async def mark_seen(self, items: Sequence[Item], now: datetime) -> set[str]:
        rows = [_seen_row(item, now) for item in items]
        if not rows:
            return set()
        # one statement: the rows not inserted (seen before, or twice here) come back as none
        return {row.fingerprint for row in await self._conn.execute(self._store._first_seen, rows)}

    async def enqueue(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story_id: str,
        plans: Mapping[str, Plan],
    ) -> dict[str, int]:
        _check_about(item, alerts)
        ids: dict[str, int] = {}
        # in channel order, so concurrent copies of a story lock rows alike
        for alert in sorted(alerts, key=lambda a: a.channel):
            plan = plans.get(alert.channel)
            row = {
                "fingerprint": alert.fingerprint,
                "channel": alert.channel,
                "payload": alert.to_json(),
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": plan.not_before if plan else now,
                "story": story_id,
                "digest_due": plan.digest_due if plan else None,
            }
            new_id = (await self._conn.execute(self._store._enqueue, row)).scalar_one_or_none()
            if new_id is not None:
                ids[alert.channel] = int(new_id)
        return ids

    async def keep(self, entries: Sequence[tuple[Item, StoryEntry | None]], now: datetime) -> None:
        if not entries:
            return
        store, conn = self._store, self._conn
        texts = [_text_row(item, now) for item, _ in entries]
        if store._driver_rows is not None:
            await store._driver_rows[1].insert(conn, texts)
        else:
            await conn.execute(store._keep_text, texts)
        story_rows, filed = [], {}
        for item, story in entries:
            if story is None:
                continue
            keys = _filed_under(story.signature, item.link)
            item_key = story_item_key(item.fingerprint, now) if keys else None
            story_rows.append(
                {
                    "fingerprint": item.fingerprint,
                    "story": story.story_id,
                    "signature": story.signature,
                    "link": item.link,
                    "feed_title": item.feed_title or item.feed,
                    "title": item.title,
                    "seen_at": now,
                    "item_key": item_key,
                }
            )
            filed[item.fingerprint] = [{"band": key, "item_key": item_key} for key in keys]
        if not story_rows:
            return
        added = await conn.execute(store._add_story_item, story_rows)
        # filed only with the row that pruning will find them by
        bands = [band for row in added for band in filed[row.fingerprint]]
        if not bands:
            return
        if store._driver_rows is not None:
            await store._driver_rows[2].insert(conn, bands)
        else:
            await conn.execute(store._file_bands, bands)

    async def replan(self, alert_id: int, plan: Plan) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, SqlStore._unsettled)
            .values(next_attempt_at=plan.not_before, digest_due=plan.digest_due)
        )
        await self._conn.execute(stmt)
