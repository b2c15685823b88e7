"""The alert outbox: its rows, how each is to go out, and its retry arithmetic.

An alert waits in the outbox (``PendingAlert``) from its match until it is
delivered or given up; its ``Plan`` says when it goes out, on its own or in its
channel's digest (``monitor.core.delivery`` decides which).

A failed delivery is tried again after 2 s, then 4 s, 8 s, … doubling up to a
ceiling of 5 minutes, where it stays until the target answers. Alerts are never
dropped for having failed too often: a chat service down for an hour still gets
its alerts when it comes back, at most 5 minutes late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from monitor.core.alerts import Alert

FIRST_RETRY = timedelta(seconds=2)
MAX_RETRY = timedelta(minutes=5)
# How long an alert in flight is leased before the retry loop sends it again
# (covers a worker that died holding it); config alerts.lease.
ALERT_LEASE = timedelta(minutes=2)
MAX_SEND_TIMEOUT = 60.0  # seconds Apprise may take for one message, retries included


def send_timeout(lease: timedelta) -> float:
    """Seconds one send may take: done before half its alert's lease is up, so
    no worker sends an alert again while another is still sending it."""
    return min(MAX_SEND_TIMEOUT, lease.total_seconds() / 2)


# 2 s doubled 8 times passes 5 min; larger exponents only cost big integers
_MAX_DOUBLINGS = 16

# What a channel was sent: an alert on its own, a digest, a notice to admins.
# The rate limits count them all.
MessageKind = Literal["alert", "digest", "admin"]
MESSAGE_KINDS: frozenset[str] = frozenset(get_args(MessageKind))


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An outbox row not yet delivered (claimed, waiting for a digest, or dead)."""

    id: int
    alert: Alert
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    story: str | None = None  # the story it is about; None for rows from version 1
    digest_due: datetime | None = None  # set: goes out in its channel's digest then
    dead_at: datetime | None = None  # set: delivery was given up then


@dataclass(frozen=True, slots=True)
class Plan:
    """How one channel's alert is to go out."""

    not_before: datetime  # first attempt: a lease for the notify agent, or quiet hours' end
    digest_due: datetime | None = None  # set: part of the channel's digest sent at that time
    # sent at once, not_before being the lease: said outright, since quiet hours
    # ending just when the lease would can give a held alert the same not_before
    sends_now: bool = False


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """How many outbox rows are in each state (they add up to the whole outbox)."""

    pending: int  # to be sent on their own, due or not (claimed ones included)
    digest: int  # waiting for their channel's digest
    dead: int  # given up
    delivered: int


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed deliveries (1 = the first failure)."""
    doublings = min(max(attempts - 1, 0), _MAX_DOUBLINGS)
    return min(FIRST_RETRY * (1 << doublings), MAX_RETRY)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failed deliveries, counted from ``now``."""
    return now + retry_delay(attempts)
