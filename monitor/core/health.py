"""Feed health: when a feed is failing or has gone silent, and when it recovers.

A feed is *failing* after ``failures`` failed polls in a row, and *silent*
when no new item has come for ``silence`` times its usual gap between new
items (and at least ``min_silence``). The usual gap is an exponentially
weighted average, so a feed that posts hourly and one that posts weekly are
each judged by their own cadence. A notice is due only on a change of state,
so an admin hears once that a feed broke and once that it came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

Health = Literal["ok", "failing", "silent"]
HEALTH_STATES: frozenset[str] = frozenset(get_args(Health))

CADENCE_WEIGHT = 0.2  # weight of the newest gap in the running average


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    failures: int = 5  # failed polls in a row before a feed counts as failing
    silence: float = 10.0  # times its usual gap without new items before it counts as silent
    min_silence: timedelta = timedelta(hours=12)  # never silent sooner than this


@dataclass(frozen=True, slots=True)
class Notice:
    """What an admin is told about a feed."""

    title: str
    body: str


def updated_cadence(
    cadence_s: float | None, last_new_at: datetime | None, now: datetime
) -> float | None:
    """The usual gap between new items once new items arrived at ``now``."""
    if last_new_at is None:
        return cadence_s
    gap = max((now - last_new_at).total_seconds(), 0.0)
    if cadence_s is None:
        return gap
    return (1 - CADENCE_WEIGHT) * cadence_s + CADENCE_WEIGHT * gap


def assess(
    failures: int,
    last_new_at: datetime | None,
    cadence_s: float | None,
    now: datetime,
    policy: HealthPolicy,
) -> Health:
    if failures >= policy.failures:
        return "failing"
    if last_new_at is not None and cadence_s:
        quiet_for = now - last_new_at
        allowed = max(timedelta(seconds=cadence_s * policy.silence), policy.min_silence)
        if quiet_for > allowed:
            return "silent"
    return "ok"


def notice(
    feed: str, before: Health, after: Health, *, error: str | None, last_new_at: datetime | None
) -> Notice | None:
    """The admin notice for a change of health, or None when nothing changed."""
    if before == after:
        return None
    if after == "failing":
        return Notice(f"feed failing: {feed}", f"{feed} keeps failing: {error or 'unknown error'}")
    if after == "silent":
        since = last_new_at.strftime("%Y-%m-%d %H:%M UTC") if last_new_at else "a long time"
        return Notice(f"feed silent: {feed}", f"{feed} has had no new item since {since}.")
    return Notice(
        f"feed recovered: {feed}",
        f"{feed} is {'answering' if before == 'failing' else 'publishing'} again.",
    )
