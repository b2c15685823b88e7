"""SQLite on the event loop's own thread.

aiosqlite runs every call on a thread of its own. Through SQLAlchemy a
statement is three or four hand-offs to that thread and back, each waking the
event loop: about half a millisecond of the service's CPU for a statement
SQLite itself runs in microseconds (measured here: 630 µs a statement, 26 µs
through SQLAlchemy's synchronous engine). A firing item takes some twenty
statements, so the hand-offs, not SQLite, bounded the embedded pipeline.

``InlineConnection`` is aiosqlite's connection with its calls run where they
are awaited; SQLAlchemy's aiosqlite dialect drives it unchanged. That is safe
because the store's statements are short (writes are batched, reads go by
index), and because one process never waits on itself: ``SqlStore`` lets one
write transaction at a time into a database file (``write_lock``), and in WAL
mode readers never wait for the writer. What remains is another process
holding the write lock (a CLI command): the loop then waits with the busy
timeout, as the writing coroutine would have anyway.

Bulk writes are the exception: an ``executemany`` of hundreds of rows, and
the commit that follows it, keep SQLite busy for milliseconds without the GIL,
so they go to aiosqlite's thread and overlap the loop's other work.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run inline, not on its thread.

    Opening and closing still go through the thread (aiosqlite starts and
    stops it), hence ``check_same_thread=False`` on the SQLite connection."""

    _bulk = False  # this transaction wrote rows by the hundred

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")  # aiosqlite's words: SQLAlchemy reads them
        name = getattr(fn, "__name__", "")
        if name == "executemany" and len(args) > 1 and len(args[1]) >= BULK_ROWS:
            self._bulk = True
        elif name in ("commit", "rollback") and self._bulk:
            self._bulk = False
        else:
            return fn(*args, **kwargs)
        # Rows by the hundred, and the commit that writes their pages: SQLite
        # works on them for milliseconds without holding the GIL, so on
        # aiosqlite's thread they overlap the loop's own work.
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


BULK_ROWS = 100  # an executemany of this many rows runs on the connection's thread


def inline_connector(url: URL) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` for ``create_async_engine``: the database the URL
    names, opened as SQLAlchemy's aiosqlite dialect would open it."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, options = SQLiteDialect_aiosqlite().create_connect_args(url)
    options = {**options, "check_same_thread": False}

    async def connect() -> InlineConnection:
        connection = InlineConnection(partial(sqlite3.connect, *args, **options), 64)
        connection._thread.daemon = True  # as SQLAlchemy sets aiosqlite's own
        await connection  # opens it, on aiosqlite's thread
        return connection

    return connect


# one write lock per database file and event loop, shared by every store of the
# process on that file: two of them writing at once would wait on each other
# in SQLite's busy handler, on the loop's one thread, until the timeout
_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def write_lock(database: str) -> asyncio.Lock:
    """The lock a write transaction on ``database`` (a resolved path) holds."""
    locks = _WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(database, asyncio.Lock())
