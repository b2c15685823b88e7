"""Group commit: many small operations, one transaction.

Every poll of a feed reads its state, notes the items it still carries and
saves its new state: three transactions of a statement or two each, from as
many polls as run at once. A transaction costs more than its statements (a
begin, a commit, a connection from the pool, on SQLite a turn at the one
writer), so the store gathers them: an operation asked for while a
transaction of its group is in flight waits and runs in the next one, with
every other operation that arrived meanwhile. Each caller still gets its own
result, and only once the transaction holding its operation has committed.

A statement costs more than its rows, too (SQLAlchemy's part in running one
is some hundred microseconds; a row is a few): an operation asked for with
``run_batched`` is run once for the arguments of all its callers next to each
other in the transaction (a feed state read for each of a hundred polls: one
query for the hundred rows), and returns one result for each argument.

One failing operation must not fail the others: when a grouped transaction
fails, each of its operations is run again in a transaction of its own (a
batched one with its own argument alone), and only the ones that fail alone
report an error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from monitor.store.connection import Connection

A = TypeVar("A")
R = TypeVar("R")
Operation = Callable[[Connection], Awaitable[Any]]
# one result for each argument, in their order
Batched = Callable[[Connection, Sequence[Any]], Awaitable[Sequence[Any]]]
Transaction = Callable[[], contextlib.AbstractAsyncContextManager[Connection]]


@dataclass(slots=True)
class _Call:
    operation: Operation | Batched
    argument: Any
    done: asyncio.Future[Any]
    batched: bool


class Grouped:
    """Runs operations in shared transactions opened by ``transaction``."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._waiting: list[_Call] = []
        self._turn = asyncio.Lock()  # one transaction of this group at a time
        self._flushes: set[asyncio.Task[None]] = set()

    async def run(self, operation: Callable[[Connection], Awaitable[R]]) -> R:
        """``operation`` on a connection inside a transaction; its result once
        that transaction has committed."""
        result: R = await self._ask(_Call(operation, None, self._future(), batched=False))
        return result

    async def run_batched(
        self,
        operation: Callable[[Connection, Sequence[A]], Awaitable[Sequence[R]]],
        argument: A,
    ) -> R:
        """``operation`` over ``argument`` and those of the other calls of it
        next to this one in the transaction, in one call; this argument's result."""
        result: R = await self._ask(_Call(operation, argument, self._future(), batched=True))
        return result

    @staticmethod
    def _future() -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _ask(self, call: _Call) -> Any:
        self._waiting.append(call)
        if len(self._waiting) == 1:  # the first since the last flush took its batch
            flush = asyncio.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await call.done

    async def _flush(self) -> None:
        async with self._turn:
            batch, self._waiting = self._waiting, []
            try:
                async with self._transaction() as conn:
                    results = await _run(conn, batch)
            except Exception:
                await self._one_by_one(batch)
                return
            for call, result in zip(batch, results, strict=True):
                if not call.done.done():  # its caller may have been cancelled
                    call.done.set_result(result)

    async def _one_by_one(self, batch: list[_Call]) -> None:
        for call in batch:
            try:
                async with self._transaction() as conn:
                    (result,) = await _run(conn, [call])
            except Exception as exc:
                if not call.done.done():
                    call.done.set_exception(exc)
            else:
                if not call.done.done():
                    call.done.set_result(result)


async def _run(conn: Connection, calls: Sequence[_Call]) -> list[Any]:
    """The calls' results in order: each plain one alone, each run of batched
    calls of the same operation in one call of it."""
    results: list[Any] = []
    start = 0
    while start < len(calls):
        first = calls[start]
        end = start + 1
        if not first.batched:
            results.append(await cast(Operation, first.operation)(conn))
            start = end
            continue
        # == and not `is`: a bound method is a new object at each access
        while end < len(calls) and calls[end].batched and calls[end].operation == first.operation:
            end += 1
        arguments = [call.argument for call in calls[start:end]]
        out = await cast(Batched, first.operation)(conn, arguments)
        if len(out) != len(arguments):
            raise RuntimeError(f"{first.operation!r}: {len(out)} results for {len(arguments)}")
        results.extend(out)
        start = end
    return results
