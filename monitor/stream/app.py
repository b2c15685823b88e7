"""The Faust app and its three lanes, in embedded or Kafka mode.

Embedded mode (``stream: memory://``, the default) runs Faust without a broker:
a BootStrategy with Kafka disabled, lanes as in-memory channels. Kafka mode runs
the same agents on topics. This module is the only place that knows which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from faust.app import BootStrategy
from faust.types import ChannelT

from monitor.config import Settings


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
    common: dict[str, Any] = {
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
        # A dead worker's partitions move to the others within ~10 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        **common,
    )


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
            for name in ("poll-requests", "items", "alerts")
        )
    )
