"""What the pipeline's stages tell whoever watches them (``/metrics``).

The stages call an ``Observer`` as work happens: a fetch and how long it took,
new items, a rule's match, an alert sent or failed. ``NO_OBSERVER`` does
nothing (tests, benchmarks, a service without ``web:``);
``monitor.web.metrics.Metrics`` counts on prometheus_client, which the
pipeline never imports.

Labels stay few and fixed: a fetch is told by its outcome and, for an error,
one reason of ``FETCH_REASONS`` (``fetch_outcome``), never by its URL or its
message; a channel by its id (the metrics name it safely).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol

OK: Final = "ok"
NOT_MODIFIED: Final = "not_modified"  # a 304, or the very document the last poll read
ERROR: Final = "error"
FETCH_OUTCOMES: Final = (OK, NOT_MODIFIED, ERROR)
FETCH_REASONS: Final = (
    "timeout",  # connecting or the whole request took too long
    "connection",  # refused, reset, DNS, cut short: no whole answer arrived
    "http_4xx",
    "http_5xx",
    "too_large",  # a body over fetch.max_bytes
    "parse",  # an answer that is no feed
    "other",  # an invalid URL, too many redirects, an unexpected status
)


def fetch_outcome(status: int | None, error: str | None, read: bool) -> tuple[str, str]:
    """A poll's outcome and, for an error, its reason ("" otherwise), from its
    HTTP status (None: no answer), its error (``monitor.fetch.http`` and
    ``monitor.fetch.poll`` word them) and whether the feed was read (not a 304
    nor the same document again)."""
    if error is None:
        return (OK, "") if read else (NOT_MODIFIED, "")
    if status is None:
        if "timed out" in error:
            return ERROR, "timeout"
        if error.startswith(("invalid URL", "too many redirects")):
            return ERROR, "other"
        return ERROR, "connection"
    if status >= 500:
        return ERROR, "http_5xx"
    if status >= 400:
        return ERROR, "http_4xx"
    if 200 <= status < 300:
        return ERROR, "too_large" if error.startswith("body larger than") else "parse"
    return ERROR, "other"


class Observer(Protocol):
    """Told by the stages as work happens; must not block or raise."""

    def fetched(self, outcome: str, reason: str, seconds: float | None) -> None:
        """A poll ended (``fetch_outcome``); ``seconds``: its request took (None:
        no request was made)."""

    def items_seen(self, n: int) -> None:
        """``n`` items never seen before arrived (a poll's or a push's)."""

    def rule_matched(self, rule: str) -> None:
        """``rule`` fired on a new item (old news does not count)."""

    def alert_sent(
        self, channel: str, published: datetime | None, made: datetime, now: datetime
    ) -> None:
        """An alert went to ``channel`` (its id) on its own at ``now``; its item
        was published at ``published`` (None: undated), the alert made (its
        story matched) at ``made``."""

    def digest_sent(self, channel: str, alerts: int) -> None:
        """A digest of ``alerts`` alerts went to ``channel``."""

    def alert_failed(self, channel: str, alerts: int = 1) -> None:
        """An attempt to send ``alerts`` alerts (a digest: several) to ``channel`` failed."""


class NoObserver:
    """Watches nothing."""

    def fetched(self, outcome: str, reason: str, seconds: float | None) -> None:
        pass

    def items_seen(self, n: int) -> None:
        pass

    def rule_matched(self, rule: str) -> None:
        pass

    def alert_sent(
        self, channel: str, published: datetime | None, made: datetime, now: datetime
    ) -> None:
        pass

    def digest_sent(self, channel: str, alerts: int) -> None:
        pass

    def alert_failed(self, channel: str, alerts: int = 1) -> None:
        pass


NO_OBSERVER: Final[Observer] = NoObserver()
