"""The real Kafka broker and PostgreSQL server for distributed-mode tests.

``scripts/kafka start`` and ``scripts/postgres start`` run them on loopback.
A test asks for them with::

    def test_something() -> None:
        stream = kafka_url()          # "kafka://127.0.0.1:9092"
        storage = postgres_url()      # "postgresql://newsmon:newsmon@127.0.0.1:5432/newsmon"

or with the fixtures ``kafka_service``, ``postgres_service`` and
``postgres_scratch_url`` (import them into a conftest.py). Each helper first
checks that the service really answers: a TCP connect, then a real round trip
with the client library newsmon uses (aiokafka lists topics; asyncpg logs in as
newsmon and runs ``select 1``). When it does not, the test is skipped with a
message that says how to start it, except under CI=true, where the test fails
with that message: CI starts both services, so a missing one is a bug there.

The ports follow the scripts' settings: KAFKA_PORT (9092) and PGPORT (5432).
Checks run once per port and process; their outcome is remembered.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NoReturn, TypeVar

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

HOST = "127.0.0.1"
CHECK_TIMEOUT = 5.0
PG_USER = PG_PASSWORD = PG_DATABASE = "newsmon"

T = TypeVar("T")


def kafka_port() -> int:
    return int(os.environ.get("KAFKA_PORT", "9092"))


def postgres_port() -> int:
    return int(os.environ.get("PGPORT", "5432"))


def kafka_bootstrap() -> str:
    """host:port as Kafka clients (aiokafka) take it, once the broker answers."""
    url = kafka_url()
    return url.removeprefix("kafka://")


def kafka_url() -> str:
    """newsmon's ``stream:`` URL for the local broker; skips (fails on CI) without one."""
    port = kafka_port()
    problem = _kafka_problem(HOST, port)
    if problem:
        _missing(f"Kafka is not running: start it with scripts/kafka start ({problem})")
    return f"kafka://{HOST}:{port}"


def postgres_url(database: str = PG_DATABASE) -> str:
    """newsmon's ``storage:`` URL for the local server; skips (fails on CI) without one."""
    port = postgres_port()
    problem = _postgres_problem(HOST, port)
    if problem:
        _missing(f"PostgreSQL is not running: start it with scripts/postgres start ({problem})")
    return f"postgresql://{PG_USER}:{PG_PASSWORD}@{HOST}:{port}/{database}"


def fresh_topic(prefix: str = "test") -> str:
    """A topic name no earlier test used; the broker creates topics on first use."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def kafka_service() -> str:
    return kafka_url()


@pytest.fixture
def postgres_service() -> str:
    return postgres_url()


@pytest.fixture
def postgres_scratch_url() -> Iterator[str]:
    """The URL of a new, empty database owned by newsmon, dropped after the test."""
    admin_url = postgres_url()
    name = f"newsmon_test_{uuid.uuid4().hex[:12]}"
    _in_thread(lambda: _execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url(name)
    finally:
        _in_thread(lambda: _execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _missing(message: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Runs a coroutine on its own loop in a worker thread.

    The helpers are plain functions, so sync tests and async tests (whose loop
    is already running in this thread) can both call them.
    """

    async def run() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _connect_problem(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=CHECK_TIMEOUT):
            return None
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


@functools.cache
def _kafka_problem(host: str, port: int) -> str | None:
    problem = _connect_problem(host, port)
    if problem:
        return problem

    async def list_topics() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"{host}:{port}", request_timeout_ms=int(CHECK_TIMEOUT * 1000)
        )
        try:
            await asyncio.wait_for(admin.start(), CHECK_TIMEOUT)
            await asyncio.wait_for(admin.list_topics(), CHECK_TIMEOUT)
        finally:
            await admin.close()

    try:
        _in_thread(list_topics)
    except Exception as exc:
        return f"{host}:{port} does not answer as a Kafka broker: {type(exc).__name__}: {exc}"
    return None


@functools.cache
def _postgres_problem(host: str, port: int) -> str | None:
    problem = _connect_problem(host, port)
    if problem:
        return problem
    url = f"postgresql://{PG_USER}:{PG_PASSWORD}@{host}:{port}/{PG_DATABASE}"
    try:
        answer = _in_thread(lambda: _fetchval(url, "select 1"))
    except Exception as exc:
        return f"{host}:{port} does not let newsmon in: {type(exc).__name__}: {exc}"
    if answer != 1:
        return f"{host}:{port} answered {answer!r} to select 1"
    return None


async def _fetchval(url: str, query: str) -> object:
    conn = await asyncpg.connect(url, timeout=CHECK_TIMEOUT)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def _execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url, timeout=CHECK_TIMEOUT)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
