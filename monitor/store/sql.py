"""The Store on SQLAlchemy: SQLite through aiosqlite, PostgreSQL through asyncpg.

One schema and one set of statements serve both databases: portable column types,
and the two dialect-specific statements (insert-or-ignore, upsert) come from
``_insert``, whose ``on_conflict_*`` methods both dialects spell the same way.

Concurrency. Atomic steps are single transactions whose first statement is a
write, so SQLite takes its write lock up front and waits (busy timeout) instead
of failing, and PostgreSQL's unique indexes decide races. Within one process,
writes to SQLite are also queued on an asyncio lock: SQLite has one writer
anyway, and waiting on the lock is cheaper than a worker thread blocking in the
busy handler. An in-memory database lives on one shared connection, so there
every statement takes the lock. WAL mode lets a CLI command read the file
while the service writes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Row,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from monitor.core.alerts import Alert
from monitor.core.items import Item
from monitor.errors import ConfigError
from monitor.store import FeedState, PendingAlert

# SQLite limits the number of bound parameters in one statement
_CHUNK = 500
_BUSY_TIMEOUT_MS = 10_000
_MAX_ERROR_CHARS = 2_000


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps.

    SQLite has no time zones: values are stored as naive UTC text of fixed width,
    so comparisons in SQL stay correct. A naive datetime going in is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_poll_at", UTCDateTime),
    Column("last_polled_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_status", Integer),
    Column("last_error", Text),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("feed", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("payload", JSON, nullable=False),  # Alert.to_json()
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("last_error", Text),
    UniqueConstraint("fingerprint", "channel", name="outbox_one_alert_per_item_and_channel"),
    Index("outbox_due", "delivered_at", "next_attempt_at"),
)


def engine_url(url: str) -> URL:
    """The async driver URL for a storage URL; creates a SQLite file's folder."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"storage: not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    shown = parsed.render_as_string(hide_password=True)
    raise ConfigError(f"storage: unsupported database {shown!r} (use sqlite:/// or postgresql://)")


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode
    cursor.close()


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SqlStore:
    """The ``Store`` protocol on one SQLAlchemy async engine."""

    def __init__(self, url: str) -> None:
        self._url = engine_url(url)
        self._engine: AsyncEngine | None = None
        self._dialect = self._url.get_backend_name()
        if self._dialect == "postgres":
            self._dialect = "postgresql"
        self._memory = _is_memory(self._url)
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """The database URL with any password masked, for logs."""
        return self._url.render_as_string(hide_password=True)

    async def open(self) -> None:
        if self._engine is not None:
            return
        kwargs: dict[str, Any] = {}
        if self._memory:
            kwargs["poolclass"] = StaticPool  # one connection, or every checkout is a new DB
        try:
            engine = create_async_engine(self._url, **kwargs)
        except ImportError as exc:
            raise ConfigError(
                f"storage {self.url}: the database driver is not installed ({exc.name})"
            ) from exc
        if self._dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        except (OSError, SQLAlchemyError) as exc:
            await engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise ConfigError(f"storage {self.url}: cannot connect: {reason}") from exc
        self._engine = engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @contextlib.asynccontextmanager
    async def _tx(self, write: bool) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends without an exception."""
        if self._engine is None:
            raise RuntimeError("store is not open")
        serialize = self._memory or (write and self._dialect == "sqlite")
        async with (
            self._lock if serialize else contextlib.nullcontext(),
            self._engine.begin() as conn,
        ):
            yield conn

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        return postgresql.insert(table)

    # feeds ---------------------------------------------------------------

    async def feed_state(self, url: str) -> FeedState | None:
        async with self._tx(write=False) as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.url == url))).first()
        return _feed_state(row) if row is not None else None

    async def save_feed_state(self, state: FeedState) -> None:
        values = {
            "etag": state.etag,
            "last_modified": state.last_modified,
            "next_poll_at": state.next_poll_at,
            "last_polled_at": state.last_polled_at,
            "failures": state.failures,
            "last_status": state.last_status,
            "last_error": state.last_error,
        }
        stmt = (
            self._insert(feeds)
            .values(url=state.url, **values)
            .on_conflict_do_update(index_elements=[feeds.c.url], set_=values)
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def due_feeds(self, urls: Sequence[str], now: datetime) -> list[str]:
        wanted = list(dict.fromkeys(urls))
        next_poll: dict[str, datetime | None] = {}
        async with self._tx(write=False) as conn:
            for chunk in _chunks(wanted):
                query = select(feeds.c.url, feeds.c.next_poll_at).where(feeds.c.url.in_(chunk))
                for url, at in await conn.execute(query):
                    next_poll[url] = at
        return [u for u in wanted if (at := next_poll.get(u)) is None or at <= now]

    async def lease_feed(self, url: str, until: datetime) -> None:
        stmt = (
            self._insert(feeds)
            .values(url=url, next_poll_at=until, failures=0)
            .on_conflict_do_update(index_elements=[feeds.c.url], set_={"next_poll_at": until})
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def claim_feed(self, url: str, now: datetime, until: datetime) -> bool:
        first_time = (
            self._insert(feeds)
            .values(url=url, next_poll_at=until, failures=0)
            .on_conflict_do_nothing(index_elements=[feeds.c.url])
            .returning(feeds.c.url)
        )
        if_due = (
            update(feeds)
            .where(
                feeds.c.url == url,
                feeds.c.next_poll_at.is_(None) | (feeds.c.next_poll_at <= now),
            )
            .values(next_poll_at=until)
            .returning(feeds.c.url)
        )
        async with self._tx(write=True) as conn:
            if (await conn.execute(first_time)).first() is not None:
                return True
            return (await conn.execute(if_due)).first() is not None

    # items and outbox ----------------------------------------------------

    async def unseen(self, fingerprints: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(fingerprints))
        seen: set[str] = set()
        async with self._tx(write=False) as conn:
            for chunk in _chunks(wanted):
                query = select(seen_items.c.fingerprint).where(seen_items.c.fingerprint.in_(chunk))
                seen.update((await conn.execute(query)).scalars())
        return set(wanted) - seen

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        lease_until: datetime | None = None,
    ) -> list[int]:
        strays = [a.key for a in alerts if a.fingerprint != item.fingerprint]
        if strays:
            raise ValueError(f"alerts {strays} are not about item {item.fingerprint}")
        mark_seen = (
            self._insert(seen_items)
            .values(
                fingerprint=item.fingerprint,
                feed=item.feed,
                title=item.title,
                link=item.link,
                seen_at=now,
            )
            .on_conflict_do_nothing(index_elements=[seen_items.c.fingerprint])
            .returning(seen_items.c.fingerprint)
        )
        ids: list[int] = []
        async with self._tx(write=True) as conn:
            if (await conn.execute(mark_seen)).first() is None:
                return ids  # seen before: this is a redelivery or a restart
            for alert in alerts:
                enqueue = (
                    self._insert(outbox)
                    .values(
                        fingerprint=alert.fingerprint,
                        channel=alert.channel,
                        payload=alert.to_json(),
                        created_at=now,
                        attempts=0,
                        next_attempt_at=lease_until or now,
                    )
                    .on_conflict_do_nothing(index_elements=[outbox.c.fingerprint, outbox.c.channel])
                    .returning(outbox.c.id)
                )
                new_id = (await conn.execute(enqueue)).scalar_one_or_none()
                if new_id is not None:
                    ids.append(int(new_id))
        return ids

    def _due(self, now: datetime) -> Any:
        return (outbox.c.delivered_at.is_(None)) & (outbox.c.next_attempt_at <= now)

    async def due_alerts(self, now: datetime, limit: int = 100) -> list[PendingAlert]:
        query = select(outbox).where(self._due(now)).order_by(outbox.c.id).limit(limit)
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_pending(row) for row in rows]

    async def lease_alert(self, alert_id: int, until: datetime) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, outbox.c.delivered_at.is_(None))
            .values(next_attempt_at=until)
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def claim_alerts(
        self, now: datetime, until: datetime, limit: int = 100
    ) -> list[PendingAlert]:
        oldest_due = select(outbox.c.id).where(self._due(now)).order_by(outbox.c.id).limit(limit)
        # The due test is repeated outside the subquery: PostgreSQL rechecks it on
        # a row another worker claimed meanwhile, and then skips that row.
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(oldest_due), self._due(now))
            .values(next_attempt_at=until)
            .returning(*outbox.c)
        )
        async with self._tx(write=True) as conn:
            rows = (await conn.execute(claim)).all()
        return sorted((_pending(row) for row in rows), key=lambda p: p.id)

    async def mark_delivered(self, alert_id: int, now: datetime) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, outbox.c.delivered_at.is_(None))
            .values(
                delivered_at=now,
                last_attempt_at=now,
                attempts=outbox.c.attempts + 1,
                last_error=None,
            )
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def mark_failed(
        self, alert_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        stmt = (
            update(outbox)
            .where(outbox.c.id == alert_id, outbox.c.delivered_at.is_(None))
            .values(
                next_attempt_at=next_attempt_at,
                last_attempt_at=now,
                attempts=outbox.c.attempts + 1,
                last_error=error[:_MAX_ERROR_CHARS],
            )
        )
        async with self._tx(write=True) as conn:
            await conn.execute(stmt)

    async def delivered_count(self) -> int:
        return await self._count(outbox.c.delivered_at.is_not(None))

    async def pending_count(self) -> int:
        return await self._count(outbox.c.delivered_at.is_(None))

    async def _count(self, where: Any) -> int:
        query = select(func.count()).select_from(outbox).where(where)
        async with self._tx(write=False) as conn:
            return int((await conn.execute(query)).scalar_one())


def _feed_state(row: Row[Any]) -> FeedState:
    return FeedState(
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        failures=row.failures,
        last_status=row.last_status,
        last_error=row.last_error,
    )


def _pending(row: Row[Any]) -> PendingAlert:
    return PendingAlert(
        id=int(row.id),
        alert=Alert.from_json(row.payload),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )
