"""The Faust app and its three lanes, in embedded or Kafka mode.

Embedded mode (``stream: memory://``, the default) runs Faust without a broker:
a BootStrategy with Kafka disabled, lanes as in-memory channels. Kafka mode runs
the same agents on topics. This module is the only place that knows which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faust
import faust.utils.venusian
from faust.app import BootStrategy
from faust.types import ChannelT

from monitor.config import Settings
from monitor.errors import ConfigError

if TYPE_CHECKING:  # the Kafka admin client is only needed in Kafka mode
    from aiokafka.admin import AIOKafkaAdminClient

log = logging.getLogger("newsmon.stream")

LANE_NAMES = ("poll-requests", "items", "alerts")
# Kafka's "topic already exists" error code: another worker created it first.
_TOPIC_ALREADY_EXISTS = 36
TOPICS_TIMEOUT = 30.0


class EmbeddedBoot(BootStrategy):
    """No consumer, producer, conductor or tables: only agents and timers."""

    enable_kafka = False
    enable_kafka_consumer = False
    enable_kafka_producer = False
    enable_web = False


class EmbeddedApp(faust.App):
    BootStrategy = EmbeddedBoot


@dataclass(frozen=True)
class Lanes:
    """The stream between stages: ``poll-requests`` → ``items`` → ``alerts``."""

    poll_requests: ChannelT
    items: ChannelT
    alerts: ChannelT


def make_app(settings: Settings) -> faust.App:
    # Faust makes its data directory (default "{name}-data" in the working
    # directory) at start, one level only: keep it under data_dir with the rest.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = {
        # Faust formats it ("{conf.name}"): a brace in the path is literal
        "datadir": str(settings.data_dir / "stream").replace("{", "{{").replace("}", "}}"),
        "store": "memory://",
        "web_enabled": False,
        "value_serializer": "json",
        "key_serializer": "raw",
        "table_cleanup_interval": 3600.0,
    }
    if settings.embedded:
        return EmbeddedApp(settings.app_id, **common)
    return faust.App(
        settings.app_id,  # also the consumer group: workers of one deployment share the work
        broker=settings.stream,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        # A dead worker's partitions move to the others within the session
        # timeout (10 s unless kafka.session_timeout says otherwise).
        broker_session_timeout=settings.kafka.session_timeout,
        broker_heartbeat_interval=settings.kafka.heartbeat,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        **common,
    )


@contextlib.contextmanager
def unmarked() -> Iterator[None]:
    """Register agents and timers without Faust's venusian marks.

    The marks only serve ``faust``'s autodiscovery, which newsmon never runs,
    and each one reads its caller's source through ``inspect``: the first
    looks up the file of every module loaded, a tenth of a second of the start.
    """
    mark = faust.utils.venusian.attach
    faust.utils.venusian.attach = _no_mark
    try:
        yield
    finally:
        faust.utils.venusian.attach = mark


def _no_mark(*args: Any, **kwargs: Any) -> None:
    return None


def make_lanes(app: faust.App, settings: Settings) -> Lanes:
    if settings.embedded:
        return Lanes(app.channel(), app.channel(), app.channel())
    return Lanes(
        *(
            app.topic(
                f"{settings.app_id}-{name}",
                partitions=settings.partitions,
                replicas=settings.replication,
                internal=True,  # Faust creates it, with these partitions, when missing
                value_serializer="json",
            )
            for name in LANE_NAMES
        )
    )


def topic_partitions(settings: Settings) -> dict[str, int]:
    """Every topic a deployment uses, with its partition count."""
    topics = {f"{settings.app_id}-{name}": settings.partitions for name in LANE_NAMES}
    # Faust elects the worker that runs the scheduler by assigning this topic's
    # only partition (faust.assignor.LeaderAssignor names it so).
    topics[f"{settings.app_id}-__assignor-__leader"] = 1
    return topics


async def create_topics(settings: Settings, timeout: float = TOPICS_TIMEOUT) -> None:
    """Create the deployment's topics when missing, and wait until the broker lists them.

    Faust would create them itself, but only once its consumer is starting: a
    worker whose first metadata misses a topic gets no partitions of it until
    the next rebalance, so its agent sits idle. Creating them before the app
    starts means every worker's first assignment covers all lanes.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError

    wanted = topic_partitions(settings)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.stream.removeprefix("kafka://"),
        client_id=f"{settings.app_id}-admin",
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        missing = sorted(set(wanted) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics(
                [NewTopic(name, wanted[name], settings.replication) for name in missing]
            )
            errors = {name: code for name, code, *_ in response.topic_errors}
            failed = {n: c for n, c in errors.items() if c not in (0, _TOPIC_ALREADY_EXISTS)}
            if failed:
                raise ConfigError(f"stream {settings.stream}: cannot create topics: {failed}")
            created = [name for name, code in errors.items() if code == 0]
            if created:
                log.info("created topics: %s", ", ".join(created))
        await _wait_listed(admin, wanted, timeout)
    except (TimeoutError, KafkaError) as exc:
        raise ConfigError(f"stream {settings.stream}: cannot reach the broker: {exc!r}") from exc
    finally:
        await admin.close()


async def _wait_listed(admin: AIOKafkaAdminClient, wanted: dict[str, int], timeout: float) -> None:
    """Until the broker's metadata shows every topic with all its partitions."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await admin.describe_topics(list(wanted))
        ready = {
            t["topic"]
            for t in described
            if t["error_code"] == 0 and len(t["partitions"]) >= wanted[t["topic"]]
        }
        if ready >= set(wanted):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics not listed: {sorted(set(wanted) - ready)}")
        await asyncio.sleep(0.2)
