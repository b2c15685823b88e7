"""What the service did lately, as the web API tells it: the outbox's alerts
with their state, and counts per day (a rule's hits, a feed's items).

The store counts by the hour in UTC (``Tally``); days are the config's
``timezone``'s, so the hours are put into local days here. A zone whose
offset is not whole hours (India's +05:30) gets its days half an hour off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from monitor.core.alerts import Alert

# pending: to be sent on its own (due, retried or held by quiet hours);
# digest: waiting for its channel's digest; dead: given up; sent: delivered
AlertState = Literal["pending", "digest", "dead", "sent"]


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One outbox row, whatever its state."""

    id: int
    alert: Alert
    story: str | None  # None for rows from before stories (schema version 1)
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    digest_due: datetime | None
    dead_at: datetime | None
    last_error: str | None

    @property
    def state(self) -> AlertState:
        # a dead letter sent after all is delivered (Store.mark_delivered)
        if self.delivered_at is not None:
            return "sent"
        if self.dead_at is not None:
            return "dead"
        return "digest" if self.digest_due is not None else "pending"


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Which outbox rows to list, newest first."""

    since: datetime | None = None  # made at or after
    until: datetime | None = None  # made at or before
    rule: str | None = None  # only alerts naming this rule
    channels: tuple[str, ...] | None = None  # only these channel ids; None: any
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Tally:
    """How many of something one key had in one hour: a rule's stories, a feed's items."""

    key: str
    hour: datetime  # its start, UTC
    count: int


def last_days(now: datetime, days: int, tz: tzinfo) -> list[date]:
    """The ``days`` local days up to and including today, oldest first."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def window_start(now: datetime, days: int, tz: tzinfo) -> datetime:
    """The start of the first of ``last_days``: local midnight, as a time."""
    first = last_days(now, days, tz)[0]
    return datetime(first.year, first.month, first.day, tzinfo=tz)


def per_day(tallies: Iterable[Tally], days: list[date], tz: tzinfo) -> dict[str, list[int]]:
    """Each key's counts on each of ``days`` (in order), from its hourly tallies;
    hours outside the days are left out."""
    index = {day: n for n, day in enumerate(days)}
    counts: dict[str, list[int]] = {}
    for tally in tallies:
        slot = index.get(tally.hour.astimezone(tz).date())
        if slot is not None:
            counts.setdefault(tally.key, [0] * len(days))[slot] += tally.count
    return counts


def split_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet as alerts carry it (``**term**`` marks) as its plain text and
    the places of the marked terms in it. An unpaired ``**`` stays as text."""
    parts = marked.split("**")
    if len(parts) % 2 == 0:  # an odd number of marks: the last is no mark
        parts[-2:] = [parts[-2] + "**" + parts[-1]]
    text, spans, at = [], [], 0
    for n, part in enumerate(parts):
        if n % 2 and part:
            spans.append((at, at + len(part)))
        text.append(part)
        at += len(part)
    return "".join(text), spans
