"""Retry timing for alerts that could not be delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.outbox import MAX_RETRY, next_attempt, retry_delay, send_timeout

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [
        (0, 2),  # nothing failed yet: no smaller than the first retry
        (1, 2),
        (2, 4),
        (3, 8),
        (4, 16),
        (8, 256),
        (9, 300),  # 512 s would pass the 5 minute ceiling
        (50, 300),
        (10**9, 300),
    ],
)
def test_retry_delay_doubles_from_2s_up_to_5min(attempts: int, seconds: int) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)
    assert next_attempt(attempts, NOW) == NOW + timedelta(seconds=seconds)


@given(st.integers(min_value=0, max_value=10_000))
def test_retry_delay_never_shrinks_and_never_passes_the_ceiling(attempts: int) -> None:
    assert timedelta(0) < retry_delay(attempts) <= retry_delay(attempts + 1) <= MAX_RETRY


def test_next_attempt_keeps_the_time_zone_of_now() -> None:
    assert next_attempt(1, NOW).tzinfo is UTC


def test_a_send_gives_up_before_half_its_alerts_lease_is_over() -> None:
    # no worker sends an alert again (its lease over) while another still sends it
    assert send_timeout(timedelta(minutes=2)) == 60  # the default lease: Apprise's minute
    assert send_timeout(timedelta(seconds=10)) == 5
    assert send_timeout(timedelta(hours=1)) == 60  # never longer than a minute
