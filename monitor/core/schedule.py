"""When to poll a feed next: a learned interval, the server's hints, backoff, jitter.

Pure arithmetic: the caller passes ``now`` and a ``random.Random``.

**The interval.** A feed with its own ``interval:`` in the config is polled
that often: an explicit choice, pinned. Any other feed's interval is learned
from its own publishing (``learned_interval``), within ``fetch.min_interval``
and ``fetch.max_interval``:

- its usual gap between items (``updated_gap``): the median gap between the
  publication dates of the newest items the feed carries, or, for a feed
  without usable dates, a running average of the time between new items as
  first seen, divided by how many came at once (starting from
  ``default_interval``);
- a feed quiet for a while is polled every quarter of the time it has been
  quiet (``QUIET_FRACTION``), when that is longer: each quiet poll stretches the
  interval by a quarter, so a feed that goes quiet backs off gradually, and one
  that wakes up (a poll brings something new) is back at its usual gap at once.
  It waits at most ten of its usual gaps (``QUIET_MAX_GAPS``), so a busy feed
  that wakes up at its usual pace has not pushed a story out of its newest ten
  before the next poll.

So a feed that publishes every minute is polled every minute, one that
publishes twice a day hourly (with the default bounds); before anything is
known, ``default_interval`` (within the bounds).

**What wins over what** (``next_poll``), for the delay after a poll, each
row over the ones above it:

| rule                                       | applies                | bounded by          |
| ------------------------------------------ | ---------------------- | ------------------- |
| the interval (pinned, or learned)          | always                 | min..max if learned |
| backoff: interval x 2**n                   | n failures in a row    | max(interval, 6 h)  |
| jitter: + up to 10 %, only ever added      | always                 | 30 s                |
| Retry-After: no sooner                     | an error (429, 503)    | 24 h                |
| Cache-Control max-age, else Expires, less  | a 200 or a 304         | the hint cap        |
|   Age: no sooner                           |                        |                     |
| ``<ttl>``, ``sy:updatePeriod`` and         | a 200 or a 304 (as the | the hint cap        |
|   ``sy:updateFrequency``: no sooner        |   last 200 said)       |                     |

Each "no sooner" is a floor on the delay that the others cannot undercut:
newsmon never polls sooner than a server asks. The floors are capped, so a
server cannot silence a feed: Retry-After at a day; the cache and feed hints at
the *hint cap*, ``fetch.max_interval`` (or a pinned interval, when longer): a
feed whose ``<ttl>`` says a week is still polled hourly with the defaults,
since ``max_interval`` is the longest the user accepts not to look.
``no-cache`` or ``no-store`` make a response's max-age and Expires no hint.

**The request budget** (``RequestBudget``): the scheduler claims at most
``fetch.max_requests_per_second`` polls a second. When more feeds are due, the
most overdue go first, measured in their own intervals (``overdue``): a feed
polled every minute and 30 s late goes before an hourly one 10 minutes late.
So feeds fall behind in proportion to their intervals: idle feeds are
stretched by minutes, busy ones by seconds, and none is starved.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from monitor.core.feeds import DueFeed

MAX_JITTER_FRACTION = 0.10
MAX_JITTER_S = 30.0
MAX_BACKOFF_S = 6 * 3600.0
MAX_RETRY_AFTER_S = 24 * 3600.0

QUIET_FRACTION = 0.25  # a quiet feed is polled every quarter of the time it has been quiet
# ...but waits no more than this many of its usual gaps: woken at its usual
# pace, it has published no more than that many items by the next poll, and
# feeds carry at least ten, so none drops out of the feed unseen
QUIET_MAX_GAPS = 10.0
BATCH = timedelta(seconds=10)  # items dated within this of a newer one came out with it
GAP_SAMPLE = 10  # the gaps between the newest dated items that the median is taken of
GAP_WEIGHT = 0.25  # weight of the newest observation in an undated feed's running average
GAP_GROWTH = 4.0  # one observation counts for at most this many usual gaps (a quiet spell)
FUTURE_SKEW = timedelta(minutes=5)  # items dated later than now plus this are misdated
SY_PERIODS = {  # sy:updatePeriod, in seconds
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}

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
    *,
    fresh_for_s: float | None = None,
    ttl_s: float | None = None,
    hint_cap_s: float = MAX_RETRY_AFTER_S,
) -> datetime:
    """When to poll a feed next (see the module docstring for what wins).

    ``retry_after_s`` is an error's Retry-After; ``fresh_for_s`` how long a
    successful response stays fresh (``freshness_s``); ``ttl_s`` what the feed
    document asks (``feed_ttl_s``). The last two are honoured up to
    ``hint_cap_s``, and never below the interval.
    """
    if not interval_s > 0:
        raise ValueError(f"poll interval must be more than zero, got {interval_s!r}")
    delay = backoff_s(interval_s, failures)
    delay += rng.uniform(0.0, min(delay * MAX_JITTER_FRACTION, MAX_JITTER_S))
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    cap = max(hint_cap_s, interval_s)
    for hint in (fresh_for_s, ttl_s):
        if hint is not None and hint > 0:
            delay = max(delay, min(hint, cap))
    return now + timedelta(seconds=delay)


# -- the learned interval ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntervalBounds:
    """Where a learned interval may go (``fetch.min_interval``, ``fetch.max_interval``)."""

    min_s: float = 60.0
    max_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ValueError(
                f"interval bounds must be 0 < min <= max, got {self.min_s!r} and {self.max_s!r}"
            )

    def clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_s), self.max_s)


def learned_interval(
    gap_s: float | None, quiet_s: float | None, start_s: float, bounds: IntervalBounds
) -> float:
    """How often to poll a feed whose usual gap between items is ``gap_s`` (None:
    not known yet, ``start_s``) and that has brought nothing new for ``quiet_s``."""
    interval = start_s if gap_s is None else gap_s
    if quiet_s is not None:
        backoff = quiet_s * QUIET_FRACTION
        if gap_s is not None:
            backoff = min(backoff, gap_s * QUIET_MAX_GAPS)
        interval = max(interval, backoff)
    return bounds.clamp(interval)


def published_gap(published: Iterable[datetime | None], now: datetime) -> float | None:
    """The median gap between the publication dates of a feed's newest items.

    Taken over the newest ``GAP_SAMPLE + 1`` batches, so one long quiet spell
    among them does not move it. Items dated within ``BATCH`` of a newer one
    count with it (a batch published together, e.g. by a nightly job, is one
    event: one poll finds it all); items dated in the future are ignored.
    None with fewer than three batches: they say nothing of a cadence.
    """
    latest = now + FUTURE_SKEW
    dates = sorted((d for d in published if d is not None and d <= latest), reverse=True)
    batches: list[datetime] = []
    for date in dates:
        if not batches or batches[-1] - date > BATCH:
            batches.append(date)
            if len(batches) > GAP_SAMPLE:
                break
    if len(batches) < 3:
        return None
    return statistics.median((a - b).total_seconds() for a, b in itertools.pairwise(batches))


def updated_gap(
    gap_s: float | None,
    published: Iterable[datetime | None],
    new_items: int,
    last_new_at: datetime | None,
    now: datetime,
    start_s: float,
) -> float | None:
    """A feed's usual gap between items, once a poll has read it.

    ``published``: the dates of every item the feed carries now (empty for a
    304); ``new_items``: how many of them are new; ``last_new_at``: when a poll
    last brought something new, before this one. The dates decide when they
    can (``published_gap``). Otherwise each poll with news is an observation,
    the time since the last news divided by the items it brought, averaged
    (``GAP_WEIGHT``, from ``start_s`` the first time) and capped at
    ``GAP_GROWTH`` usual gaps, so a quiet spell (which ``learned_interval``
    already stretches the interval for) does not swamp the average.
    """
    dated = published_gap(published, now)
    if dated is not None:
        return dated
    if new_items <= 0 or last_new_at is None:
        return gap_s
    usual = start_s if gap_s is None else gap_s
    seen = min(max((now - last_new_at).total_seconds(), 0.0) / new_items, usual * GAP_GROWTH)
    return usual + GAP_WEIGHT * (seen - usual)


# -- the server's hints --------------------------------------------------------

_DIRECTIVE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?([^\",]*)\"?)?\s*(?:,|$)")
_DIGITS = re.compile(r"[0-9]+")


def _whole(value: str | None) -> int | None:
    """A header's or element's whole number, or None (ASCII digits only: ``²`` is not 2)."""
    text = (value or "").strip()
    return int(text) if _DIGITS.fullmatch(text) else None


def freshness_s(
    cache_control: str | None,
    expires: str | None,
    date: str | None,
    age: str | None,
    now: datetime,
) -> float | None:
    """How long a response stays fresh, in seconds, from its headers (RFC 9111).

    ``max-age`` wins over ``Expires`` (taken from the response's ``Date``, else
    ``now``, so a server's clock skew does not count); the ``Age`` a cache
    reports is taken off. ``no-cache`` or ``no-store``: None (no hint, poll
    as usual). An Expires that cannot be read means already stale (0).
    None when the headers say nothing.
    """
    directives: dict[str, str] = {}
    for name, value in _DIRECTIVE.findall(cache_control or ""):
        directives.setdefault(name.lower(), value.strip())
    if "no-cache" in directives or "no-store" in directives:
        return None
    lifetime: float | None = None
    max_age = _whole(directives.get("max-age"))
    if max_age is not None:
        lifetime = float(max_age)
    elif expires is not None:
        expiry = _http_date(expires)
        if expiry is None:
            return 0.0
        origin = _http_date(date) if date else None
        lifetime = (expiry - (origin or now)).total_seconds()
    if lifetime is None:
        return None
    return max(lifetime - (_whole(age) or 0), 0.0)


def feed_ttl_s(ttl: str | None, period: str | None, frequency: str | None) -> float | None:
    """How long a feed document says it stays fresh, in seconds: the longer of
    RSS ``<ttl>`` (minutes) and ``sy:updatePeriod`` / ``sy:updateFrequency``
    (the period divided by how many updates it has; daily and once by default).
    None when the document says nothing readable."""
    hints: list[float] = []
    minutes = _whole(ttl)
    if minutes:
        hints.append(minutes * 60.0)
    if period is not None or frequency is not None:
        seconds = SY_PERIODS.get((period or "daily").strip().lower())
        times = _whole(frequency) if frequency is not None else 1
        if seconds is not None and times:
            hints.append(seconds / times)
    return max(hints, default=None)


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


# -- the request budget ----------------------------------------------------------


def overdue(now: datetime, due: DueFeed) -> float:
    """How late a due feed is, in its own intervals (its last poll to its due
    time). A feed never polled, or never given a time, is the most overdue."""
    if due.next_poll_at is None or due.last_polled_at is None:
        return math.inf
    interval = max((due.next_poll_at - due.last_polled_at).total_seconds(), 1e-3)
    return (now - due.next_poll_at).total_seconds() / interval


def most_overdue_first(due: Sequence[DueFeed], now: datetime) -> list[DueFeed]:
    """``due`` in the order the budget serves them: most overdue first, ties as given."""
    return sorted(due, key=lambda feed: -overdue(now, feed))


class RequestBudget:
    """At most ``per_second`` polls a second on average: a token bucket that
    holds one second's worth (at least one poll), as the scheduler asks every
    second. Time comes in as ``now``; a clock that jumps fills it, no more."""

    def __init__(self, per_second: float) -> None:
        if not per_second > 0:
            raise ValueError(f"request budget must be more than zero, got {per_second!r}")
        self.per_second = per_second
        self.burst = max(1.0, per_second)
        self._tokens = self.burst
        self._at: datetime | None = None

    def available(self, now: datetime) -> int:
        """How many polls may start at ``now``."""
        self._refill(now)
        return int(self._tokens + 1e-9)  # 0.9999… of a poll is one

    def spend(self, polls: int, now: datetime) -> None:
        self._refill(now)
        self._tokens -= polls

    def _refill(self, now: datetime) -> None:
        if self._at is not None and now > self._at:
            elapsed = (now - self._at).total_seconds()
            self._tokens = min(self.burst, self._tokens + elapsed * self.per_second)
        if self._at is None or now > self._at:
            self._at = now


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
