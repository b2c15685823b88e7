"""The dashboard's marks: a rule muted for a while, an alert acknowledged for a while.

A mute holds a rule's alerts back until it ends: while it lasts, the matching
stage leaves the rule out of what an item fired, so an item only muted rules
fire for is recorded as seen and never alerts (later, either: muting loses
those alerts, as muting a noisy rule should). An acknowledgement only changes
how the alert is shown. Both end by themselves at ``until``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.alerts import Fired

# What the dashboard offers; the API takes any span up to the longest.
MARK_SPANS: tuple[tuple[str, timedelta], ...] = (
    ("1h", timedelta(hours=1)),
    ("8h", timedelta(hours=8)),
    ("1d", timedelta(days=1)),
    ("7d", timedelta(days=7)),
)
LONGEST_MARK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Mute:
    rule: str
    until: datetime
    muted_at: datetime


@dataclass(frozen=True, slots=True)
class Ack:
    alert_id: int
    until: datetime
    acked_at: datetime


def unmuted(fired: Sequence[Fired], muted: Iterable[str]) -> list[Fired]:
    """What an item fired, less the muted rules."""
    quiet = set(muted)
    return [f for f in fired if f.rule not in quiet] if quiet else list(fired)
