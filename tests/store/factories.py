"""Items, alerts and raw database access shared by the store tests.

The store's protocol holds only what the service asks of it; what a test wants
to see beyond that (which items are marked seen, which rows are due) it reads
with SQL, here."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Connection, MetaData, event, select
from sqlalchemy.engine import make_url

from monitor.core.alerts import Alert
from monitor.core.items import Item
from monitor.core.outbox import PendingAlert
from monitor.core.retention import Cutoffs
from monitor.store import Store
from monitor.store.schema import outbox, seen_items
from monitor.store.sql import SqlStore, engine_url, open_engine

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LONG_AGO = T0 - timedelta(days=3650)
FEED = "https://news.example.org/world.rss"
DATA = Path(__file__).parent / "data"

T = TypeVar("T")


def item(fingerprint: str = "guid:1", title: str = "Strait tensions rise") -> Item:
    return Item(
        fingerprint=fingerprint,
        feed=FEED,
        feed_title="Example World",
        title=title,
        summary="Warships near Taiwan.",
        content="",
        link=f"https://news.example.org/{fingerprint}",
        published=T0 - timedelta(minutes=5),
    )


def alert(it: Item, channel: str, rules: tuple[str, ...] = ("taiwan",)) -> Alert:
    return Alert(
        fingerprint=it.fingerprint,
        channel=channel,
        title=it.title,
        link=it.link,
        feed=it.feed_title,
        published=it.published,
        rules=rules,
        terms=("Taiwan",),
        snippet="Warships near **Taiwan**.",
    )


def cuts(**at: datetime) -> Cutoffs:
    """Cutoffs that prune only the kinds named (``cuts(alerts=T0)``)."""
    nothing = Cutoffs(*(LONG_AGO for _ in fields(Cutoffs)))
    return replace(nothing, **at)


def backend(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine_url(url).get_backend_name()


async def run_script(url: str, script: str) -> None:
    """Runs SQL text (several statements) on the database, outside newsmon."""
    if backend(url) == "sqlite":
        database = make_url(url).database
        assert database
        with sqlite3.connect(database) as raw:
            raw.executescript(script)
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(script)
    finally:
        await conn.close()


def run_script_now(url: str, script: str) -> None:
    """``run_script`` for sync code, even while an event loop runs in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run_script(url, script)).result()


# the schema versions with a frozen database in tests/store/data
SNAPSHOTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


async def load_snapshot(url: str, version: int) -> None:
    """Fills the empty database with the frozen fixture of that schema version
    on its backend (data/v<version>.<backend>.sql)."""
    await run_script(url, (DATA / f"v{version}.{backend(url)}.sql").read_text())


async def inspect_db(url: str, look: Callable[[Connection], T]) -> T:
    """Runs ``look`` on a plain SQLAlchemy connection to the database and commits."""
    engine = open_engine(engine_url(url))
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(look)
    finally:
        await engine.dispose()


async def drop_everything(url: str) -> None:
    def drop(conn: Connection) -> None:
        found = MetaData()
        found.reflect(conn)
        found.drop_all(conn)

    await inspect_db(url, drop)


async def unseen(url: str, fingerprints: Sequence[str]) -> set[str]:
    """Those of ``fingerprints`` that have no seen mark in the database at ``url``."""

    def look(conn: Connection) -> set[str]:
        query = select(seen_items.c.fingerprint).where(seen_items.c.fingerprint.in_(fingerprints))
        return set(fingerprints) - set(conn.execute(query).scalars())

    return await inspect_db(url, look)


async def due_alerts(url: str, now: datetime, limit: int = 100) -> list[PendingAlert]:
    """The outbox rows due to go out on their own at ``now``, oldest first: what
    ``claim_alerts`` would take, left where they are."""

    def look(conn: Connection) -> list[PendingAlert]:
        query = (
            select(outbox)
            .where(
                outbox.c.delivered_at.is_(None),
                outbox.c.dead_at.is_(None),
                outbox.c.digest_due.is_(None),
                outbox.c.next_attempt_at <= now,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [
            PendingAlert(
                id=row.id,
                alert=Alert.from_json(row.payload),
                attempts=row.attempts,
                created_at=row.created_at,
                next_attempt_at=row.next_attempt_at,
                last_error=row.last_error,
                story=row.story,
            )
            for row in conn.execute(query)
        ]

    return await inspect_db(url, look)


async def sent_since(store: Store, channel: str, since: datetime) -> int:
    """Messages sent to ``channel`` after ``since``, as the rate limit counts them
    (with no alert going out as long ago as ``LONG_AGO``)."""
    async with store.serialized() as unit:
        return await unit.counted(channel, since, LONG_AGO)


@contextmanager
def statements(
    store: SqlStore, kinds: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE")
) -> Iterator[list[str]]:
    """The SQL statements of ``kinds`` that ``store`` runs inside the block (one
    per executemany)."""
    seen: list[str] = []
    engine = store._engine
    assert engine is not None

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(kinds):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
