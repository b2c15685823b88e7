"""Delivery: one alert to the one Apprise target of its channel.

Each channel gets its own ``Apprise`` object holding just its target, so an
alert reaches exactly that destination whatever its tags. ``async_notify`` runs
the plugin's blocking send in Apprise's worker pool and returns an
``AppriseResult`` whose log entries are captured per call (Apprise 2 keeps them
apart for concurrent calls, which a global ``LogCapture`` handler would mix):
those entries are the failure reason handed back to the outbox.

Logs name a target by its masked URL (``Channel.label``), never the secret one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from apprise import Apprise, AppriseResult, NotifyFormat

from monitor.core.alerts import Alert, Channel, render
from monitor.notify.channels import Channels

log = logging.getLogger(__name__)

TEST_FINGERPRINT = "newsmon-notify-test"
PROJECT_URL = "https://github.com/newsmon/newsmon"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    error: str | None = None  # why it failed, as the target's plugin reported it
    label: str = ""  # the channel it was for: its masked URL, or "console"


class Deliverer:
    """Sends alerts to the channels they name."""

    def __init__(
        self, channels: Channels, *, timeout: float = 60.0, console: TextIO | None = None
    ) -> None:
        self.channels = channels
        self._timeout = timeout  # seconds for one delivery, retries inside Apprise included
        self._console = console  # None: sys.stdout at the time of printing
        self._apprise: dict[str, Apprise] = {}
        for channel in channels:
            target = channels.target(channel.id)
            if target is not None:
                one = Apprise()
                one.add(target)
                self._apprise[channel.id] = one

    def knows(self, channel_id: str) -> bool:
        """Whether alerts for this channel can be delivered (it is still configured)."""
        return self.channels.get(channel_id) is not None

    async def deliver(self, alert: Alert) -> DeliveryResult:
        channel = self.channels.get(alert.channel)
        if channel is None:
            return self._failed(alert, alert.channel, "channel is no longer in the Apprise config")
        title, body = render(alert)
        sender = self._apprise.get(channel.id)
        if sender is None:
            self._print(title, body)
            return DeliveryResult(ok=True, label=channel.label)
        try:
            result = await sender.async_notify(
                body=body,
                title=title,
                body_format=NotifyFormat.TEXT,
                timeout=self._timeout,
                log_level=logging.WARNING,
            )
        except Exception as exc:  # a plugin bug must not take the notifier down
            return self._failed(alert, channel.label, f"{type(exc).__name__}: {exc}")
        if result:
            log.debug("alert %s delivered to %s", alert.fingerprint, channel.label)
            return DeliveryResult(ok=True, label=channel.label)
        return self._failed(alert, channel.label, failure_reason(result))

    def _print(self, title: str, body: str) -> None:
        out = self._console or sys.stdout
        print(f"{title}\n{body}\n", file=out, flush=True)

    def _failed(self, alert: Alert, label: str, error: str) -> DeliveryResult:
        log.warning("alert %s to %s not delivered: %s", alert.fingerprint, label, error)
        return DeliveryResult(ok=False, error=error, label=label)


def failure_reason(result: AppriseResult) -> str:
    """The warnings and errors Apprise logged during one failed call, in order."""
    reasons = [e.message for e in result.logs() if e.level in {"WARNING", "ERROR", "CRITICAL"}]
    if reasons:
        return "; ".join(dict.fromkeys(r.strip() for r in reasons))
    return f"delivery failed ({result.status.name.lower()})"


def notify_test_alert(channel: Channel, now: datetime) -> Alert:
    """The alert ``newsmon notify-test`` sends: plainly a test, naming the channel."""
    return Alert(
        fingerprint=TEST_FINGERPRINT,
        channel=channel.id,
        title="newsmon test alert",
        link=PROJECT_URL,
        feed="newsmon notify-test",
        published=now,
        rules=("notify-test",),
        terms=("test",),
        snippet="If you can read this, newsmon can reach this channel. This is a **test**.",
    )


async def send_test(
    channels: Channels, tag: str | None = None, now: datetime | None = None
) -> list[DeliveryResult]:
    """Send a test alert to every channel carrying ``tag`` (all when None),
    concurrently; one result per channel, in config order. No channel
    matching gives an empty list."""
    deliverer = Deliverer(channels)
    when = now or datetime.now(UTC)
    alerts = [notify_test_alert(channel, when) for channel in channels.tagged(tag)]
    return list(await asyncio.gather(*(deliverer.deliver(a) for a in alerts)))
