"""Group commit: many small operations, one transaction.

Every poll of a feed reads its state, notes the items it still carries and
saves its new state: three transactions of a statement or two each, from as
many polls as run at once. A transaction costs more than its statements (a
begin, a commit, a connection from the pool, on SQLite a turn at the one
writer), so the store gathers them: an operation asked for while a
transaction of its group is in flight waits and runs in the next one, with
every other operation that arrived meanwhile. Each caller still gets its own
result, and only once the transaction holding its operation has committed.

One failing operation must not fail the others: when a grouped transaction
fails, each of its operations is run again in a transaction of its own, and
only the ones that fail alone report an error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

R = TypeVar("R")
Operation = Callable[[AsyncConnection], Awaitable[Any]]
Transaction = Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]


class Grouped:
    """Runs operations in shared transactions opened by ``transaction``."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._waiting: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._turn = asyncio.Lock()  # one transaction of this group at a time
        self._flushes: set[asyncio.Task[None]] = set()

    async def run(self, operation: Callable[[AsyncConnection], Awaitable[R]]) -> R:
        """``operation`` on a connection inside a transaction; its result once
        that transaction has committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((operation, done))
        if len(self._waiting) == 1:  # the first since the last flush took its batch
            flush = asyncio.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await done

    async def _flush(self) -> None:
        async with self._turn:
            batch, self._waiting = self._waiting, []
            try:
                async with self._transaction() as conn:
                    results = [await operation(conn) for operation, _ in batch]
            except Exception:
                await self._one_by_one(batch)
                return
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():  # its caller may have been cancelled
                    done.set_result(result)

    async def _one_by_one(self, batch: list[tuple[Operation, asyncio.Future[Any]]]) -> None:
        for operation, done in batch:
            try:
                async with self._transaction() as conn:
                    result = await operation(conn)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(result)
