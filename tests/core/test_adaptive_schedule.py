"""Adaptive polling, the pure decisions: the interval learned from a feed's
publishing, the server's hints and what wins over what, the request budget."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.feeds import DueFeed
from monitor.core.schedule import (
    GAP_GROWTH,
    MAX_RETRY_AFTER_S,
    IntervalBounds,
    RequestBudget,
    feed_ttl_s,
    freshness_s,
    learned_interval,
    most_overdue_first,
    next_poll,
    published_gap,
    updated_gap,
)

NOW = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
BOUNDS = IntervalBounds(min_s=MINUTE, max_s=HOUR)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def delay_s(when: datetime) -> float:
    return (when - NOW).total_seconds()


# -- the learned interval ---------------------------------------------------------


@pytest.mark.parametrize(
    ("gap", "quiet", "start", "interval"),
    [
        (None, None, 600, 600),  # nothing known: the start
        (None, None, 5, MINUTE),  # ...within the bounds
        (None, None, DAY, HOUR),
        (20, 0, 600, MINUTE),  # busy: three items a minute, polled every minute
        (300, 0, 600, 300),  # an item every five minutes
        (12 * HOUR, 0, 600, HOUR),  # twice a day: hourly
        (MINUTE, 20 * MINUTE, 600, 5 * MINUTE),  # quiet for 20 minutes: every 5
        (300, 10 * MINUTE, 600, 300),  # quiet for two gaps: still its gap
        (MINUTE, DAY, 600, 10 * MINUTE),  # quiet for a day: ten of its gaps at most
        (20 * MINUTE, DAY, 600, HOUR),  # ...and never more than the most
        (None, 40 * MINUTE, 600, 600),  # quiet, nothing known: the start, until it is longer
        (None, 60 * MINUTE, 600, 900),
    ],
    ids=[
        "unknown",
        "unknown-start-below-min",
        "unknown-start-above-max",
        "busy",
        "regular",
        "idle",
        "quiet-a-while",
        "quiet-within-its-gap",
        "quiet-a-day-ten-gaps",
        "quiet-a-day-the-most",
        "quiet-unknown-short",
        "quiet-unknown-long",
    ],
)
def test_learned_interval(
    gap: float | None, quiet: float | None, start: float, interval: float
) -> None:
    assert learned_interval(gap, quiet, start, BOUNDS) == interval


def test_a_feed_that_goes_quiet_backs_off_gradually_and_speeds_up_at_once() -> None:
    gap, quiet = 2 * MINUTE, 0.0
    intervals = [learned_interval(gap, quiet, 600, BOUNDS)]
    for _ in range(50):  # polled at that interval, and nothing new again
        quiet += intervals[-1]
        intervals.append(learned_interval(gap, quiet, 600, BOUNDS))
    assert intervals[0] == 2 * MINUTE
    steps = [b / a for a, b in itertools.pairwise(intervals)]
    assert all(step <= 1.25 + 1e-9 for step in steps)  # a quarter at a time
    # up to ten of its usual gaps: woken at its pace, it has published no more
    # than ten stories by the next poll
    assert intervals.index(20 * MINUTE) <= 15
    assert max(intervals) == 20 * MINUTE
    assert learned_interval(gap, 0.0, 600, BOUNDS) == 2 * MINUTE  # news: at once


def test_bounds_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="min <= max"):
        IntervalBounds(min_s=HOUR, max_s=MINUTE)


@given(
    gap=st.none() | st.floats(min_value=0, max_value=365 * DAY),
    quiet=st.none() | st.floats(min_value=0, max_value=365 * DAY),
    start=st.floats(min_value=0.1, max_value=30 * DAY),
)
def test_a_learned_interval_stays_within_its_bounds(
    gap: float | None, quiet: float | None, start: float
) -> None:
    assert MINUTE <= learned_interval(gap, quiet, start, BOUNDS) <= HOUR


# -- the usual gap between items ------------------------------------------------------


def every(seconds: float, n: int, start: float = 0.0) -> list[datetime | None]:
    return [ago(start + k * seconds) for k in range(n)]


@pytest.mark.parametrize(
    ("published", "gap"),
    [
        (every(MINUTE, 12), MINUTE),
        (every(HOUR, 3), HOUR),
        (every(MINUTE, 6) + every(MINUTE, 6, start=DAY), MINUTE),  # a quiet night among them
        (every(MINUTE, 11) + every(DAY, 20, start=11 * MINUTE), MINUTE),  # the newest 11 count
        (every(DAY, 20, start=0) + every(MINUTE, 20, start=30 * DAY), DAY),
        (list(reversed(every(5 * MINUTE, 6))), 5 * MINUTE),  # in any order
        ([ago(0), ago(0), ago(0), ago(HOUR), ago(2 * HOUR)], HOUR),  # a batch is one event
        ([ago(0), ago(5), ago(9), ago(HOUR), ago(HOUR + 8), ago(2 * HOUR)], HOUR),  # seconds apart
        ([*every(HOUR, 4), None, None], HOUR),  # undated items are skipped
        ([NOW + timedelta(days=3), *every(HOUR, 3)], HOUR),  # misdated in the future
        ([ago(0), ago(HOUR)], None),  # two dates: no cadence yet
        ([ago(0)] * 10, None),  # all stamped alike
        ([ago(k) for k in range(10)], None),  # a second apart: one batch
        ([None] * 10, None),
        ([], None),
    ],
    ids=[
        "every-minute",
        "hourly",
        "quiet-night-inside",
        "only-the-newest",
        "daily-now",
        "unsorted",
        "batch",
        "batch-seconds-apart",
        "undated-skipped",
        "future-skipped",
        "two-dates",
        "same-stamp",
        "one-batch",
        "undated",
        "empty",
    ],
)
def test_published_gap(published: list[datetime | None], gap: float | None) -> None:
    assert published_gap(published, NOW) == gap


@pytest.mark.parametrize(
    ("before", "published", "new", "last_new", "after"),
    [
        (600.0, every(MINUTE, 12), 3, ago(HOUR), MINUTE),  # dates decide
        (None, [], 5, ago(HOUR), 630.0),  # undated, first: 720 s an item, from the start
        (600.0, [], 1, ago(200), 500.0),  # a quarter of the way to the observation
        (600.0, [], 1, ago(1000), 700.0),
        (600.0, [], 1, ago(DAY), 600.0 + 0.25 * (GAP_GROWTH - 1) * 600.0),  # capped
        (600.0, [], 0, ago(HOUR), 600.0),  # nothing new (a 304): unchanged
        (600.0, [], 4, None, 600.0),  # the first reading: nothing to measure from
        (None, [ago(0), ago(HOUR)], 2, None, None),
    ],
    ids=[
        "dated",
        "undated-first",
        "undated-faster",
        "undated-slower",
        "undated-quiet-spell-capped",
        "nothing-new",
        "first-reading",
        "nothing-known",
    ],
)
def test_updated_gap(
    before: float | None,
    published: list[datetime | None],
    new: int,
    last_new: datetime | None,
    after: float | None,
) -> None:
    assert updated_gap(before, published, new, last_new, NOW, 600) == pytest.approx(after)


def test_an_undated_feed_learns_its_cadence_from_news_as_first_seen() -> None:
    gap: float | None = None
    last_new = NOW
    for poll in range(1, 40):  # three new items every half hour
        now = NOW + timedelta(minutes=30 * poll)
        gap = updated_gap(gap, [], 3, last_new, now, start_s=5 * MINUTE)
        last_new = now
    assert gap == pytest.approx(10 * MINUTE, rel=0.01)


# -- the server's hints -----------------------------------------------------------------

DATE = "Mon, 06 Jan 2025 11:00:00 GMT"  # the server's clock, an hour behind NOW


@pytest.mark.parametrize(
    ("cache_control", "expires", "date", "age", "seconds"),
    [
        ("max-age=300", None, None, None, 300.0),
        ("public, max-age=300, must-revalidate", None, None, None, 300.0),
        ('Max-Age="120"', None, None, None, 120.0),
        ("max-age=300", None, None, "120", 180.0),  # a cache held it two minutes
        ("max-age=300", None, None, "900", 0.0),
        ("max-age=300", "Mon, 06 Jan 2025 13:00:00 GMT", None, None, 300.0),  # max-age wins
        ("no-cache, max-age=300", None, None, None, None),
        ("no-store", "Mon, 06 Jan 2025 13:00:00 GMT", None, None, None),
        (None, "Mon, 06 Jan 2025 13:00:00 GMT", None, None, HOUR),  # from now
        (None, "Mon, 06 Jan 2025 11:30:00 GMT", DATE, None, 30 * MINUTE),  # from Date
        (None, "Mon, 06 Jan 2025 11:00:00 GMT", None, None, 0.0),  # in the past
        (None, "0", None, None, 0.0),  # unreadable: already stale
        ("max-age=soon", None, None, None, None),
        ("private", None, None, None, None),
        (None, None, None, None, None),
    ],
    ids=[
        "max-age",
        "max-age-among-others",
        "quoted-any-case",
        "age-taken-off",
        "older-than-max-age",
        "max-age-over-expires",
        "no-cache",
        "no-store",
        "expires",
        "expires-by-server-date",
        "expired",
        "expires-unreadable",
        "max-age-unreadable",
        "no-lifetime",
        "nothing",
    ],
)
def test_freshness(
    cache_control: str | None,
    expires: str | None,
    date: str | None,
    age: str | None,
    seconds: float | None,
) -> None:
    assert freshness_s(cache_control, expires, date, age, NOW) == seconds


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "seconds"),
    [
        ("30", None, None, 30 * MINUTE),
        (None, "hourly", None, HOUR),
        (None, "hourly", "2", 30 * MINUTE),
        (None, " Daily ", "4", 6 * HOUR),
        (None, None, "24", HOUR),  # the period is daily by default
        ("15", "hourly", "1", HOUR),  # the longer
        ("120", "hourly", "1", 2 * HOUR),
        (None, "fortnightly", "1", None),
        (None, "hourly", "0", None),
        ("0", None, None, None),
        ("soon", None, None, None),
        ("²", None, None, None),
        (None, None, None, None),
    ],
    ids=[
        "ttl",
        "sy-hourly",
        "sy-twice-hourly",
        "sy-daily-four",
        "sy-frequency-only",
        "ttl-shorter",
        "ttl-longer",
        "sy-unknown-period",
        "sy-zero",
        "ttl-zero",
        "ttl-word",
        "ttl-superscript",
        "nothing",
    ],
)
def test_feed_ttl(
    ttl: str | None, period: str | None, frequency: str | None, seconds: float | None
) -> None:
    assert feed_ttl_s(ttl, period, frequency) == seconds


# -- what wins over what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "failures", "retry_after", "fresh_for", "ttl", "cap", "delay"),
    [
        (300, 0, None, None, None, HOUR, 300),  # the interval
        (300, 0, None, 600, None, HOUR, 600),  # max-age: no sooner
        (300, 0, None, 60, None, HOUR, 300),  # ...and no later than the interval
        (300, 0, None, None, 900, HOUR, 900),  # ttl: no sooner
        (300, 0, None, 600, 900, HOUR, 900),  # the longest floor
        (300, 0, None, None, 7 * DAY, HOUR, HOUR),  # a week's ttl: the hint cap
        (300, 0, None, DAY, None, HOUR, HOUR),  # a day's max-age: the hint cap
        (2 * HOUR, 0, None, None, 7 * DAY, HOUR, 2 * HOUR),  # a longer interval stands
        (300, 0, None, None, None, MINUTE, 300),  # a cap never shortens the interval
        (300, 2, None, None, None, HOUR, 1200),  # backoff
        (300, 1, 7200, None, None, HOUR, 7200),  # Retry-After beyond the hint cap
        (300, 1, 30 * DAY, None, None, HOUR, MAX_RETRY_AFTER_S),  # ...up to a day
    ],
    ids=[
        "interval",
        "max-age",
        "max-age-short",
        "ttl",
        "longest-floor",
        "ttl-capped",
        "max-age-capped",
        "pinned-long",
        "cap-below-interval",
        "backoff",
        "retry-after",
        "retry-after-capped",
    ],
)
def test_what_wins(
    interval: float,
    failures: int,
    retry_after: float | None,
    fresh_for: float | None,
    ttl: float | None,
    cap: float,
    delay: float,
) -> None:
    when = next_poll(
        NOW,
        interval,
        NoJitter(),
        failures,
        retry_after,
        fresh_for_s=fresh_for,
        ttl_s=ttl,
        hint_cap_s=cap,
    )
    assert delay_s(when) == delay


@given(
    interval=st.floats(min_value=0.1, max_value=30 * DAY),
    fresh_for=st.none() | st.floats(min_value=0, max_value=365 * DAY),
    ttl=st.none() | st.floats(min_value=0, max_value=365 * DAY),
    cap=st.floats(min_value=1, max_value=30 * DAY),
    seed=st.integers(),
)
def test_never_sooner_than_the_server_asks_within_the_cap(
    interval: float, fresh_for: float | None, ttl: float | None, cap: float, seed: int
) -> None:
    rng = random.Random(seed)
    delay = delay_s(next_poll(NOW, interval, rng, fresh_for_s=fresh_for, ttl_s=ttl, hint_cap_s=cap))
    floors = [min(h, max(cap, interval)) for h in (fresh_for, ttl) if h is not None]
    # timedelta keeps microseconds
    assert delay >= max([interval, *floors]) - 1e-6
    assert delay <= max([interval * 1.1, *floors]) + 1e-6


# -- the request budget --------------------------------------------------------------------


def test_the_budget_holds_a_seconds_worth_and_refills_with_time() -> None:
    budget = RequestBudget(per_second=5)
    assert budget.available(NOW) == 5
    budget.spend(5, NOW)
    assert budget.available(NOW) == 0
    assert budget.available(NOW + timedelta(milliseconds=400)) == 2
    assert budget.available(NOW + timedelta(hours=3)) == 5  # a jump fills it, no more


def test_a_budget_under_one_a_second_spaces_polls_out() -> None:
    budget = RequestBudget(per_second=0.25)
    started = []
    for tick in range(20):  # the scheduler asks every second
        now = NOW + timedelta(seconds=tick)
        if budget.available(now):
            budget.spend(1, now)
            started.append(tick)
    assert started == [0, 4, 8, 12, 16]


def test_a_clock_that_goes_back_adds_nothing() -> None:
    budget = RequestBudget(per_second=1)
    budget.spend(1, NOW)
    assert budget.available(NOW - timedelta(hours=1)) == 0
    assert budget.available(NOW + timedelta(seconds=1)) == 1


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        RequestBudget(per_second=0)


def due(url: str, interval: float | None, late: float) -> DueFeed:
    if interval is None:
        return DueFeed(url, None, None)
    at = ago(late)
    return DueFeed(url, at, at - timedelta(seconds=interval))


def test_the_most_overdue_go_first_in_their_own_intervals() -> None:
    feeds = [
        due("hourly-10m-late", HOUR, 10 * MINUTE),
        due("minutely-30s-late", MINUTE, 30),
        due("new", None, 0),
        due("hourly-on-time", HOUR, 0),
        due("also-new", None, 0),
        due("5m-2m-late", 5 * MINUTE, 2 * MINUTE),
    ]
    assert [d.url for d in most_overdue_first(feeds, NOW)] == [
        "new",
        "also-new",
        "minutely-30s-late",
        "5m-2m-late",
        "hourly-10m-late",
        "hourly-on-time",
    ]
