"""Retry arithmetic for the alert outbox.

A failed delivery is tried again after 2 s, then 4 s, 8 s, … doubling up to a
ceiling of 5 minutes, where it stays until the target answers. Alerts are never
dropped for having failed too often: a chat service down for an hour still gets
its alerts when it comes back, at most 5 minutes late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RETRY = timedelta(seconds=2)
MAX_RETRY = timedelta(minutes=5)

# 2 s doubled 8 times passes 5 min; larger exponents only cost big integers
_MAX_DOUBLINGS = 16


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed deliveries (1 = the first failure)."""
    doublings = min(max(attempts - 1, 0), _MAX_DOUBLINGS)
    return min(FIRST_RETRY * (1 << doublings), MAX_RETRY)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failed deliveries, counted from ``now``."""
    return now + retry_delay(attempts)
