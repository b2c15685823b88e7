"""The local Kafka broker and PostgreSQL server work for real, and their helpers
tell a missing service apart from a running one (skip locally, fail on CI)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests import services
from tests.services import (
    fresh_topic,
    kafka_bootstrap,
    kafka_port,
    kafka_url,
    postgres_port,
    postgres_url,
)

postgres_scratch_url = services.postgres_scratch_url  # the fixture, found by name


async def test_kafka_carries_a_message_through_a_new_topic() -> None:
    bootstrap = kafka_bootstrap()
    topic = fresh_topic("services")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"breaking: it works", key=b"item-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"item-1", b"breaking: it works")


def test_kafka_url_names_the_local_broker() -> None:
    assert kafka_url() == f"kafka://127.0.0.1:{kafka_port()}"
    assert kafka_bootstrap() == f"127.0.0.1:{kafka_port()}"


async def test_postgres_logs_newsmon_in_and_answers_a_query() -> None:
    conn = await asyncpg.connect(postgres_url())
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_user") == "newsmon"
    finally:
        await conn.close()


def test_postgres_url_names_the_newsmon_database() -> None:
    expected = f"postgresql://newsmon:newsmon@127.0.0.1:{postgres_port()}/newsmon"
    assert postgres_url() == expected


async def test_scratch_database_starts_empty_and_is_separate(postgres_scratch_url: str) -> None:
    conn = await asyncpg.connect(postgres_scratch_url)
    try:
        tables = await conn.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        await conn.execute("create table seen (id text primary key)")
        name = await conn.fetchval("select current_database()")
    finally:
        await conn.close()
    assert tables == 0
    assert name != "newsmon"


@pytest.fixture
def not_kafka_port() -> Iterator[int]:
    """A loopback port that accepts connections and hangs up: open, but no broker."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_kafka_skips_locally_and_fails_on_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("KAFKA_PORT", str(closed_port()))
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="Kafka is not running: start it with scripts/kafka start"):
        kafka_url()


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_postgres_skips_locally_and_fails_on_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("PGPORT", str(closed_port()))
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(
        outcome, match="PostgreSQL is not running: start it with scripts/postgres start"
    ):
        postgres_url()


def test_an_open_port_that_is_not_kafka_counts_as_missing(
    monkeypatch: pytest.MonkeyPatch, not_kafka_port: int
) -> None:
    monkeypatch.setenv("CI", "")
    monkeypatch.setenv("KAFKA_PORT", str(not_kafka_port))
    with pytest.raises(pytest.skip.Exception, match="does not answer as a Kafka broker"):
        kafka_url()
