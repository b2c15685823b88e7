"""/metrics: the service's metrics in Prometheus' text format (``web:`` on).

``Metrics`` is the pipeline's observer (``monitor.core.observe``) on
prometheus_client, with a registry of its own: each service (each worker, in
distributed mode; each test) counts its own work. The outbox depth is read
from the store at each scrape, so it is the whole outbox, the same from every
worker of a deployment.

A label never holds a URL or a message: a fetch error is one of a few
reasons, and a channel is named by the scheme and host of its masked URL
(``channel_label``), with its tags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from monitor.core.alerts import Channel
from monitor.core.observe import ERROR, FETCH_OUTCOMES, FETCH_REASONS
from monitor.core.outbox import OutboxSummary
from monitor.store import Store
from monitor.web.routes import ApiRoute
from monitor.web.server import CONTEXT

log = logging.getLogger("newsmon.web")

# No ``*_created`` series beside each counter: the text format has no use for
# them, and they would double what a scrape reads (the process serves no others).
disable_created_metrics()  # type: ignore[no-untyped-call]

# A request takes from milliseconds to fetch.timeout (30 s by default).
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# From a story's publication to its alert: the poll interval (minutes) and the
# feed's own lag (sometimes hours); old news (alerts.max_item_age, 48 h) never alerts.
PUBLISH_BUCKETS = (15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400, 172800)
# From a match to its alert: well under a second, unless held or retried.
MATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0, 3600.0, 21600.0)
OUTBOX_STATES = ("pending", "digest", "dead")
UNKNOWN = ("unknown", "")  # a channel no longer in the config, its alerts still in the outbox


def channel_label(label: str) -> str:
    """A channel's name in a metric label: its masked URL (``Channel.label``)
    cut to scheme and host. Apprise masks passwords and tokens, not a
    webhook's path or query, nor headers given as ``+Header=value``: those are
    cut. The host it masks where it is a token (``slack://T...A``)."""
    parts = urlsplit(label)
    if not parts.scheme:
        return label  # "console"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}"


def channel_labels(channels: Iterable[Channel]) -> dict[str, tuple[str, str]]:
    """Each channel's (channel, tags) labels, by id; two channels on one host
    with the same tags are told apart by a number, in config order."""
    labels: dict[str, tuple[str, str]] = {}
    for channel in channels:
        name, tags = channel_label(channel.label), ",".join(sorted(channel.tags))
        n = 1
        while (f"{name}#{n}" if n > 1 else name, tags) in labels.values():
            n += 1
        labels[channel.id] = (f"{name}#{n}" if n > 1 else name, tags)
    return labels


class Metrics:
    """The service's metrics; told by the stages (``Observer``), read by /metrics."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._channels = channel_labels(channels)
        self.fetches = Counter(
            "newsmon_fetches",
            "Feed polls, by outcome (ok, not_modified, error) and, for errors, reason",
            ["outcome", "reason"],
            registry=registry,
        )
        self.fetch_seconds = Histogram(
            "newsmon_fetch_duration_seconds",
            "How long a feed's request took, to its last byte, by outcome",
            ["outcome"],
            registry=registry,
            buckets=FETCH_BUCKETS,
        )
        self.items = Counter(
            "newsmon_items_seen",
            "Items never seen before, from polls and WebSub pushes",
            registry=registry,
        )
        self.matches = Counter(
            "newsmon_rule_matches",
            "Items a rule fired on (old news not counted), by rule",
            ["rule"],
            registry=registry,
        )
        self.sent = Counter(
            "newsmon_alerts_sent",
            "Alerts delivered, alone or in a digest, by channel",
            ["channel", "tags"],
            registry=registry,
        )
        self.failed = Counter(
            "newsmon_alerts_failed",
            "Failed attempts to deliver an alert (each alert of a digest counts), by channel",
            ["channel", "tags"],
            registry=registry,
        )
        self.publish_to_alert = Histogram(
            "newsmon_publish_to_alert_seconds",
            "From a dated story's publication to its alert, for alerts sent on their own",
            registry=registry,
            buckets=PUBLISH_BUCKETS,
        )
        self.match_to_alert = Histogram(
            "newsmon_match_to_alert_seconds",
            "From a story's match (just after its fetch) to its alert, sent on its own",
            registry=registry,
            buckets=MATCH_BUCKETS,
        )
        self._outbox = _Outbox()
        registry.register(self._outbox)
        # every series that can be known in advance exists from the start, at 0
        for outcome in FETCH_OUTCOMES:
            for reason in FETCH_REASONS if outcome == ERROR else ("",):
                self.fetches.labels(outcome, reason)
            self.fetch_seconds.labels(outcome)
        for labels in self._channels.values():
            self.sent.labels(*labels)
            self.failed.labels(*labels)

    # -- the Observer -----------------------------------------------------

    def fetched(self, outcome: str, reason: str, seconds: float | None) -> None:
        self.fetches.labels(outcome, reason).inc()
        if seconds is not None:
            self.fetch_seconds.labels(outcome).observe(seconds)

    def items_seen(self, n: int) -> None:
        self.items.inc(n)

    def rule_matched(self, rule: str) -> None:
        self.matches.labels(rule).inc()

    def alert_sent(
        self, channel: str, published: datetime | None, made: datetime, now: datetime
    ) -> None:
        self.sent.labels(*self._channels.get(channel, UNKNOWN)).inc()
        if published is not None:  # dated in the future (clock skew): at once
            self.publish_to_alert.observe(max((now - published).total_seconds(), 0.0))
        self.match_to_alert.observe(max((now - made).total_seconds(), 0.0))

    def digest_sent(self, channel: str, alerts: int) -> None:
        self.sent.labels(*self._channels.get(channel, UNKNOWN)).inc(alerts)

    def alert_failed(self, channel: str, alerts: int = 1) -> None:
        self.failed.labels(*self._channels.get(channel, UNKNOWN)).inc(alerts)

    # -- the scrape -------------------------------------------------------

    async def exposition(self, store: Store, accept: str | None) -> tuple[bytes, str]:
        """The metrics, in the format ``accept`` asks for (Prometheus' text
        format, or OpenMetrics), with the outbox as the store has it now; and
        the content type."""
        try:
            self._outbox.summary = await store.outbox_summary()
        except Exception:  # the other metrics are worth having when the store is down
            log.warning("metrics: the outbox could not be read", exc_info=True)
            self._outbox.summary = None
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _Outbox(Collector):
    """newsmon_outbox_alerts, from the summary read just before the scrape."""

    def __init__(self) -> None:
        self.summary: OutboxSummary | None = None

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "newsmon_outbox_alerts",
            "Alerts in the outbox (all workers'), by state: pending, digest, dead",
            labels=["state"],
        )
        if self.summary is not None:
            for state in OUTBOX_STATES:
                gauge.add_metric([state], getattr(self.summary, state))
        yield gauge


def install(app: web.Application, api: list[ApiRoute]) -> None:
    """GET /metrics (behind the token, like /api/)."""
    context = app[CONTEXT]
    # the service hands over the metrics its stages report to; else (a web app
    # made without the pipeline) the outbox alone
    metrics = context.metrics or Metrics(context.channels.channels)

    async def serve_metrics(request: web.Request) -> web.Response:
        body, content_type = await metrics.exposition(context.store, request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", serve_metrics)
