"""Store tests run on every backend: a SQLite file, and an empty PostgreSQL
database on the local server (scripts/postgres start; skipped when it is not
running, except under CI=true). Select one with ``-k sqlite`` or ``-k postgresql``.

Creating a PostgreSQL database takes a quarter of a second, so each test module
gets one scratch database, emptied before every test (its schema dropped and
made again); tests that change the database itself take ``postgres_scratch_url``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.store import Store, open_store
from monitor.store.sql import SqlStore
from tests.services import postgres_scratch_url, postgres_service, postgres_url
from tests.store.factories import run_script_now

__all__ = ["postgres_scratch_url", "postgres_service"]  # fixtures, found by name


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the SQLite backend keeps its file (in a folder open() must create)."""
    return tmp_path / "data" / "nested" / "newsmon.db"


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    """A new database for this test module, dropped after it."""
    admin = postgres_url()
    name = f"newsmon_test_{uuid.uuid4().hex[:12]}"
    run_script_now(admin, f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        run_script_now(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """A ``storage:`` URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{db_path}"
    url: str = request.getfixturevalue("postgres_module_url")
    run_script_now(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return url


@pytest.fixture
async def store(storage_url: str) -> AsyncIterator[Store]:
    s = await open_store(storage_url)
    yield s
    await s.close()


@pytest.fixture
async def two_stores(storage_url: str) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one database, each with its own engine: two workers."""
    a, b = SqlStore(storage_url), SqlStore(storage_url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()
