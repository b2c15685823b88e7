"""SQLite on the event loop's own thread, through SQLAlchemy's synchronous engine.

SQLAlchemy's asyncio layer runs each statement in a greenlet and, with
aiosqlite, hands each call to a thread of its own and back: measured here,
110 µs of the loop's CPU for a statement SQLite runs in a few, and 320 µs for
a transaction, against 45 and 70 µs through the synchronous engine. A poll
takes a few statements and a firing item some ten, so that layer, not SQLite,
bounded the embedded pipeline; importing it (it imports the ORM) was also a
tenth of a second of the service's start.

``InlineEngine`` and ``InlineConnection`` give the store the few awaitable
methods it uses (``monitor.store.connection.Connection``) on a synchronous
engine, each run where it is awaited. That is safe because the store's
statements are short (writes are batched, reads go by index), and because one
process never waits on itself: ``SqlStore`` lets one write transaction at a
time into a database file (``write_lock``), and in WAL mode readers never wait
for the writer. What remains is another process holding the write lock (a CLI
command): the loop then waits with the busy timeout, as the writing coroutine
would have anyway.

Bulk writes are the exception: an executemany of hundreds of rows, and the
commit that follows it, keep SQLite busy for milliseconds without the GIL, so
they go to the engine's one worker thread and overlap the loop's other work.
The transaction's end (its commit or rollback, the connection's return to the
pool) goes there too, queued behind them, so the connection is never used by
two threads at once, even when the task awaiting them is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, CursorResult, Dialect, Engine

if TYPE_CHECKING:
    from sqlalchemy import Executable

P = ParamSpec("P")
T = TypeVar("T")

BULK_ROWS = 100  # an executemany of this many rows runs on the engine's worker thread


class InlineConnection:
    """A synchronous SQLAlchemy connection, awaited (see the module's doc)."""

    def __init__(self, sync_connection: Connection, worker: ThreadPoolExecutor) -> None:
        self.sync_connection = sync_connection
        self._worker = worker
        self._bulk = False  # the transaction sent work to the worker thread

    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[*tuple[Any, ...]]:
        return await self._run(self.sync_connection.execute, statement, parameters)

    async def exec_driver_sql(
        self, statement: str, parameters: Any = None
    ) -> CursorResult[*tuple[Any, ...]]:
        return await self._run(self.sync_connection.exec_driver_sql, statement, parameters)

    async def _run(self, run: Callable[[Any, Any], T], statement: Any, parameters: Any) -> T:
        """Inline, or an executemany of ``BULK_ROWS`` rows or more on the worker thread."""
        if isinstance(parameters, list) and len(parameters) >= BULK_ROWS:
            return await self._on_worker(run, statement, parameters)
        return run(statement, parameters)

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return fn(self.sync_connection, *args, **kwargs)

    async def close(self) -> None:
        await self._finish(self.sync_connection.close)

    async def _finish(self, step: Callable[[], None]) -> None:
        """Commit, roll back or close: after any bulk work, on its thread."""
        if self._bulk:
            await self._on_worker(step)
        else:
            step()

    async def _on_worker(self, fn: Callable[..., T], *args: Any) -> T:
        self._bulk = True
        done = asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)
        # Shielded: a cancelled caller must not leave it running unseen. Its
        # rollback and close are queued behind it on the same thread.
        return await asyncio.shield(done)


class InlineEngine:
    """A synchronous SQLAlchemy engine on SQLite, awaited (see the module's doc)."""

    def __init__(self, url: URL, **options: Any) -> None:
        # the worker thread uses connections the loop's thread opened
        connect_args = {**options.pop("connect_args", {}), "check_same_thread": False}
        self.sync_engine: Engine = create_engine(url, connect_args=connect_args, **options)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="newsmon-sqlite")

    @property
    def dialect(self) -> Dialect:
        return self.sync_engine.dialect

    async def connect(self) -> InlineConnection:
        return InlineConnection(self.sync_engine.connect(), self._worker)

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[InlineConnection]:
        """A connection in a transaction, committed when the block ends
        without an exception, else rolled back; then returned to the pool."""
        conn = await self.connect()
        try:
            transaction = conn.sync_connection.begin()
            try:
                yield conn
            except BaseException:
                await conn._finish(transaction.rollback)
                raise
            await conn._finish(transaction.commit)
        finally:
            await conn.close()

    async def dispose(self) -> None:
        # after whatever the worker thread is still doing with a connection
        await asyncio.get_running_loop().run_in_executor(self._worker, self.sync_engine.dispose)
        self._worker.shutdown()


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
