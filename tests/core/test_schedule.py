"""Poll scheduling: durations, jitter, backoff and Retry-After, without sleeping."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.schedule import (
    MAX_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    next_poll,
    parse_duration,
    parse_retry_after,
)

NOW = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)


def delay_s(when: datetime) -> float:
    return (when - NOW).total_seconds()


# -- parse_duration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (2.5, 2.5),
        ("90", 90.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        (" 5M ", 300.0),
        ("500ms", 0.5),
    ],
)
def test_parse_duration(value: str | int, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "invalid duration ''"),
        ("5 minutes", "e.g. '30s', '5m'"),
        ("m5", "invalid duration 'm5'"),
        ("-5m", "invalid duration '-5m'"),
        ("5x", "invalid duration '5x'"),
        ("0", "must be more than zero"),
        ("0s", "must be more than zero"),
        (0, "must be more than zero"),
        (-30, "must be more than zero"),
        (float("nan"), "must be more than zero"),
        (True, "invalid duration True"),
        (None, "invalid duration None"),
    ],
)
def test_parse_duration_rejects_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)  # type: ignore[arg-type]
    assert message in str(info.value)


# -- next_poll ------------------------------------------------------------------


def test_interval_is_honoured_with_a_small_positive_jitter() -> None:
    rng = random.Random(7)
    delays = [delay_s(next_poll(NOW, 300, rng)) for _ in range(500)]
    assert min(delays) >= 300  # never earlier than configured
    assert max(delays) <= 330  # at most +10 %
    assert max(delays) - min(delays) > 10  # and it does spread feeds out


def test_jitter_is_at_most_thirty_seconds_for_long_intervals() -> None:
    rng = random.Random(1)
    delays = [delay_s(next_poll(NOW, 6 * 3600, rng)) for _ in range(500)]
    assert min(delays) >= 6 * 3600
    assert max(delays) <= 6 * 3600 + 30


def test_same_seed_same_schedule() -> None:
    a = [next_poll(NOW, 60, random.Random(3), failures=f) for f in range(5)]
    b = [next_poll(NOW, 60, random.Random(3), failures=f) for f in range(5)]
    assert a == b


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def test_failures_back_off_exponentially_up_to_six_hours() -> None:
    delays = [delay_s(next_poll(NOW, 60, NoJitter(), failures=f)) for f in range(12)]
    assert delays[:5] == [60, 120, 240, 480, 960]
    assert delays[-1] == MAX_BACKOFF_S == 6 * 3600
    assert delays == sorted(delays)


def test_backoff_never_polls_a_slow_feed_less_often_than_configured() -> None:
    day = 86400.0
    assert delay_s(next_poll(NOW, day, NoJitter(), failures=5)) == day


def test_huge_failure_counts_do_not_overflow() -> None:
    assert delay_s(next_poll(NOW, 60, NoJitter(), failures=10_000)) == MAX_BACKOFF_S


def test_retry_after_is_never_undercut() -> None:
    when = next_poll(NOW, 60, random.Random(0), failures=1, retry_after_s=3600)
    assert delay_s(when) >= 3600
    # a Retry-After shorter than the backoff does not shorten it
    assert delay_s(next_poll(NOW, 600, NoJitter(), failures=2, retry_after_s=5)) == 2400


def test_retry_after_is_capped_at_a_day() -> None:
    when = next_poll(NOW, 60, NoJitter(), failures=1, retry_after_s=30 * 86400)
    assert delay_s(when) == MAX_RETRY_AFTER_S == 86400


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        next_poll(NOW, 0, random.Random())


@given(
    interval=st.floats(min_value=1, max_value=7 * 86400),
    failures=st.integers(min_value=0, max_value=100),
    retry_after=st.none() | st.floats(min_value=0, max_value=10 * 86400),
    seed=st.integers(),
)
def test_next_poll_bounds(
    interval: float, failures: int, retry_after: float | None, seed: int
) -> None:
    delay = delay_s(next_poll(NOW, interval, random.Random(seed), failures, retry_after))
    assert delay >= interval - 1e-6
    if retry_after is not None:
        assert delay >= min(retry_after, MAX_RETRY_AFTER_S) - 1e-6
    upper = max(interval, MAX_BACKOFF_S) * 1.1 + 1
    assert delay <= max(upper, MAX_RETRY_AFTER_S)


# -- parse_retry_after ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Mon, 06 Jan 2025 12:05:00 GMT", 300.0),
        ("Monday, 06-Jan-25 13:00:00 GMT", 3600.0),  # obsolete RFC 850 form
        ("Mon, 06 Jan 2025 11:00:00 GMT", 0.0),  # in the past: now
        ("Mon, 06 Jan 2025 12:00:30 -0000", 30.0),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_date_respects_now() -> None:
    later = NOW + timedelta(minutes=4)
    assert parse_retry_after("Mon, 06 Jan 2025 12:05:00 GMT", later) == 60.0
