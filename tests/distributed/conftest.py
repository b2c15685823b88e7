"""Distributed mode for real: ``newsmon run`` workers sharing one Kafka broker and
one PostgreSQL database, against loopback feed, SMTP and webhook servers.

Each test gets its own deployment: a fresh database and a unique ``app_id``, so
its topics and consumer group are its own; the topics are deleted afterwards.
The tests skip without the services (``scripts/kafka start``,
``scripts/postgres start``), and fail under CI=true.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.e2e.conftest import Service, Worker, loopback
from tests.feedserver import FeedServer, RecordedRequest
from tests.servers import SmtpSink, WebhookSink
from tests.services import kafka_bootstrap, kafka_service, postgres_scratch_url

__all__ = ["kafka_service", "loopback", "postgres_scratch_url"]  # fixtures, found by name

PARTITIONS = 8
# kafka: in the workers' config; the broker's least session timeout is 6 s
KAFKA = {"session_timeout": "6s", "heartbeat": "1s"}
POLLED = re.compile(r"DEBUG newsmon\.pipeline: polled (\S+): ")
DELIVERED = re.compile(r"DEBUG newsmon\.pipeline: alert (\d+) delivered to ")
LEADER = re.compile(r"leader: this worker (schedules|no longer schedules) the feeds")


@pytest.fixture
def cluster(
    tmp_path: Path,
    loopback: tuple[FeedServer, SmtpSink, WebhookSink],
    kafka_service: str,
    postgres_scratch_url: str,
) -> Iterator[Service]:
    """A workspace in distributed mode; start its workers with ``cluster.start(name)``.

    Workers log at DEBUG, where every poll is one line naming the feed. They
    keep the ``KAFKA`` timing: a worker that joins is handed its share within
    about a second, and a dead one's partitions move within 6 s.
    """
    app_id = f"t{uuid4().hex[:8]}"
    service = Service(
        tmp_path,
        *loopback,
        stream=kafka_service,
        storage=postgres_scratch_url,
        app_id=app_id,
        partitions=PARTITIONS,
        log_level="DEBUG",
    )
    service.options["kafka"] = dict(KAFKA)
    service.write_config(["/world.rss"])  # the workspace's first config, with it
    try:
        yield service
    finally:
        service.kill_all()
        asyncio.run(_delete_topics(app_id))


async def _delete_topics(app_id: str) -> None:
    """Best effort: the broker is shared, so leave it as we found it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap())
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith(f"{app_id}-")]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def start_together(cluster: Service, *names: str) -> list[Worker]:
    """Start the workers at once, as a deployment does, and wait until each
    runs: they join the group together, not each in a rebalance of its own."""
    workers = [cluster.start(name, wait=False) for name in names]
    for worker in workers:
        worker.wait_log("newsmon running", timeout=60)
    return workers


def feed_paths(n: int) -> list[str]:
    return [f"/feed-{i:02d}.rss" for i in range(n)]


def polled(worker: Worker) -> list[str]:
    """The URLs this worker polled, one entry per poll, in order."""
    return POLLED.findall(worker.output())


def delivered(worker: Worker) -> list[str]:
    """The outbox ids of the alerts this worker delivered, one entry per delivery."""
    return DELIVERED.findall(worker.output())


def is_leader(worker: Worker) -> bool:
    """Whether the worker's last word on leadership is that it schedules the feeds."""
    said = LEADER.findall(worker.output())
    return bool(said) and said[-1] == "schedules"


def overlapping(requests: list[RecordedRequest]) -> list[tuple[str, float, float]]:
    """Requests to one path that began before the previous one to it had ended."""
    found = []
    by_path: dict[str, list[RecordedRequest]] = {}
    for request in requests:
        by_path.setdefault(request.path, []).append(request)
    for path, of_path in by_path.items():
        of_path.sort(key=lambda r: r.started)
        for before, after in pairwise(of_path):
            if before.finished is None or after.started < before.finished:
                found.append((path, before.started, after.started))
    return found
