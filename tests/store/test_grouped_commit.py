"""Group commit: operations asked for at once share a transaction, each gets
its own result, and one that fails does not fail the others."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from monitor.store.connection import Connection
from monitor.store.grouped import Grouped
from monitor.store.inline import InlineEngine


async def test_operations_at_once_share_transactions_and_each_gets_its_result(
    tmp_path: Path,
) -> None:
    engine = InlineEngine(make_url(f"sqlite:///{tmp_path / 'g.db'}"))
    async with engine.begin() as conn:
        await conn.execute(text("create table t (n integer primary key)"))
    transactions = 0

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[Connection]:
        nonlocal transactions
        transactions += 1
        async with engine.begin() as conn:
            yield conn

    grouped = Grouped(transaction)

    def insert(n: int):  # type: ignore[no-untyped-def]
        async def op(conn: Connection) -> int:
            if n == 13:
                raise ValueError("thirteen")
            await conn.execute(text("insert into t (n) values (:n)"), {"n": n})
            return n * 2

        return op

    results = await asyncio.gather(
        *(grouped.run(insert(n)) for n in range(100)), return_exceptions=True
    )

    assert [r for r in results if not isinstance(r, Exception)] == [
        n * 2 for n in range(100) if n != 13
    ]
    assert [str(r) for r in results if isinstance(r, Exception)] == ["thirteen"]
    async with engine.begin() as conn:
        stored = (await conn.execute(text("select count(*) from t"))).scalar_one()
    assert stored == 99
    # all asked for before the first transaction began: one for the hundred,
    # which failed, so each alone again
    assert transactions == 1 + 100
    before = transactions
    await asyncio.gather(*(grouped.run(insert(n)) for n in range(200, 250)))
    assert transactions - before == 1
    await engine.dispose()


async def test_batched_operations_at_once_run_once_for_all_and_one_failing_fails_alone(
    tmp_path: Path,
) -> None:
    engine = InlineEngine(make_url(f"sqlite:///{tmp_path / 'g.db'}"))
    async with engine.begin() as conn:
        await conn.execute(text("create table t (n integer primary key)"))
    grouped = Grouped(lambda: engine.begin())
    calls: list[list[int]] = []
    order: list[str] = []

    async def insert_all(conn: Connection, ns: Sequence[int]) -> list[int]:
        calls.append(list(ns))
        order.append("batch")
        if 13 in ns:
            raise ValueError("thirteen")
        await conn.execute(text("insert into t (n) values (:n)"), [{"n": n} for n in ns])
        return [n * 2 for n in ns]

    async def plain(conn: Connection) -> str:
        order.append("plain")
        return "plain"

    results = await asyncio.gather(
        *(grouped.run_batched(insert_all, n) for n in range(10)),
        grouped.run(plain),
        *(grouped.run_batched(insert_all, n) for n in range(10, 20)),
        return_exceptions=True,
    )
    assert results[:10] == [n * 2 for n in range(10)]
    assert results[10] == "plain"
    assert [str(r) if isinstance(r, Exception) else r for r in results[11:]] == [
        "thirteen" if n == 13 else n * 2 for n in range(10, 20)
    ]
    # one transaction: the runs of batched calls on either side of the plain
    # one, in their places; the second failed, so each alone again
    assert calls[:2] == [list(range(10)), list(range(10, 20))]
    assert order[:3] == ["batch", "plain", "batch"]
    assert calls[2:] == [[n] for n in range(20)]
    async with engine.begin() as conn:
        stored = (await conn.execute(text("select count(*) from t"))).scalar_one()
    assert stored == 19
    await engine.dispose()
