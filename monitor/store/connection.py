"""What the store asks of a database connection.

Two kinds serve it: SQLAlchemy's ``AsyncConnection`` on asyncpg for PostgreSQL,
and ``InlineConnection`` on SQLAlchemy's synchronous engine for SQLite
(``monitor.store.inline``). The store's statements, results and transactions
are SQLAlchemy's either way; only the awaiting differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from typing import TypeVarTuple

    from sqlalchemy import Executable
    from sqlalchemy.engine import Connection as SyncConnection
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.sql.selectable import TypedReturnsRows

    _Ts = TypeVarTuple("_Ts")

P = ParamSpec("P")
T = TypeVar("T")


class Connection(Protocol):
    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Any = None
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[*tuple[Any, ...]]: ...

    async def exec_driver_sql(
        self, statement: str, parameters: Any = None
    ) -> CursorResult[*tuple[Any, ...]]: ...

    async def run_sync(
        self,
        fn: Callable[Concatenate[SyncConnection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T: ...

    async def close(self) -> None: ...
