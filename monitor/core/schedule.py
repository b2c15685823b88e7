"""When to poll a feed next: intervals, jitter, backoff and Retry-After.

Pure arithmetic: the caller passes ``now`` and a ``random.Random``.

The policy, for a feed configured to be polled every ``interval``:

- After a success the next poll is ``interval`` later, plus a jitter of up to
  10 % of it and never more than 30 s (``MAX_JITTER_S``), so feeds configured
  alike drift apart instead of hitting the network in bursts. Jitter only ever
  adds: a feed is never polled more often than configured.
- After ``n`` consecutive failures the delay is ``interval * 2**n``, capped at
  ``max(interval, 6 h)`` (``MAX_BACKOFF_S``): a broken feed is still retried a
  few times a day, and a feed configured to be polled daily is not polled less
  often than that.
- A server's Retry-After is honoured: the next poll is never earlier than it.
  Values beyond 24 h (``MAX_RETRY_AFTER_S``) are capped, so a misconfigured
  server cannot silence a feed for weeks.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_JITTER_FRACTION = 0.10
MAX_JITTER_S = 30.0
MAX_BACKOFF_S = 6 * 3600.0
MAX_RETRY_AFTER_S = 24 * 3600.0

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DURATION = re.compile(rf"(?:{_PART.pattern}\s*)+", re.IGNORECASE)


def parse_duration(value: str | float) -> float:
    """Seconds in a duration: ``90``, ``"90"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1h30m"``.

    Units are ms, s, m, h and d; a bare number is seconds. Raises ``ValueError``
    naming the bad value when it is not a positive duration.
    """
    if isinstance(value, bool):  # bool is an int; True seconds is a mistake
        raise ValueError(f"invalid duration {value!r}: expected seconds or a string like '5m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(
                float(number) * _UNITS[unit.lower()] for number, unit in _PART.findall(text)
            )
        else:
            raise ValueError(
                f"invalid duration {value!r}: use seconds or a number with a unit "
                "(ms, s, m, h, d), e.g. '30s', '5m', '1h', '1h30m'"
            )
    else:
        raise ValueError(f"invalid duration {value!r}: expected seconds or a string like '5m'")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"invalid duration {value!r}: must be more than zero")
    return seconds


def backoff_s(interval_s: float, failures: int) -> float:
    """The delay after ``failures`` consecutive failures, before jitter."""
    if failures <= 0:
        return interval_s
    cap = max(interval_s, MAX_BACKOFF_S)
    # 2**failures grows without bound; past 64 doublings any interval is over the cap
    return min(interval_s * 2.0 ** min(failures, 64), cap)


def next_poll(
    now: datetime,
    interval_s: float,
    rng: random.Random,
    failures: int = 0,
    retry_after_s: float | None = None,
) -> datetime:
    """When to poll a feed next (see the module docstring for the policy)."""
    if not interval_s > 0:
        raise ValueError(f"poll interval must be more than zero, got {interval_s!r}")
    delay = backoff_s(interval_s, failures)
    delay += rng.uniform(0.0, min(delay * MAX_JITTER_FRACTION, MAX_JITTER_S))
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return now + timedelta(seconds=delay)


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    A date in the past gives 0; anything unreadable gives None. ``now`` must be
    timezone-aware.
    """
    text = value.strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC in an HTTP-date
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
