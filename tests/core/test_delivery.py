"""The delivery planner against the table written in its own docstring: every
combination of {rule digest, channel digest, both, neither} × {quiet now, not}
× {rate limit reached, not} × {channel configured, not}."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core import delivery
from monitor.core.delivery import plan_delivery, rule_digest
from monitor.core.policy import (
    ChannelPolicy,
    Decision,
    Digest,
    HoldUntil,
    SendNow,
    parse_digest,
    parse_quiet,
)

QUIET = parse_quiet("22:00-07:00")
RULE_DIGEST = parse_digest("1h")
CHANNEL_DIGEST = parse_digest("daily@08:00")
LIMIT = 2
QUIET_NOW = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
NOT_QUIET_NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


def table() -> list[tuple[str, ...]]:
    """The rows of the planner's table, as written in its docstring."""
    doc = delivery.__doc__ or ""
    lines = doc.split("::", 1)[1].strip("\n").splitlines()
    header, *rows = (line.strip() for line in lines if line.strip())
    assert header.startswith("configured")
    out = []
    for row in rows:
        if not row.startswith(("yes", "no")):
            break
        *cells, outcome = row.split(None, 5)
        out.append((*cells, outcome))
    return out


def expected(outcome: str, now: datetime) -> Decision:
    next_hour = (now + timedelta(hours=1)).replace(minute=0)
    quiet_end = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    channel_time = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    return {
        "now": SendNow(),
        "digest at the next hour": Digest(next_hour, "rate-limit"),
        "held until quiet ends": HoldUntil(quiet_end),
        "digest at the rule's time": Digest(next_hour, "rule"),
        "digest when quiet ends": Digest(quiet_end, "rule"),
        "digest at the channel's time": Digest(channel_time, "channel"),
    }[outcome]


def same(got: Decision, want: Decision) -> bool:
    if isinstance(want, Digest):
        return isinstance(got, Digest) and got.due == want.due
    return got == want


ROWS = table()


def test_the_table_covers_every_combination() -> None:
    configured = [r for r in ROWS if r[0] == "yes"]
    combos = {r[1:5] for r in configured}
    assert combos == set(itertools.product(("no", "yes"), repeat=4))
    unconfigured = {r[1] for r in ROWS if r[0] == "no"}
    assert unconfigured == {"no", "yes"}  # the other columns mean nothing there


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[:5]) for r in ROWS])
def test_every_row(row: tuple[str, ...]) -> None:
    configured, rule, channel, quiet, limited, outcome = row
    # a row of a channel not configured holds whatever the time and the count
    times = [quiet == "yes"] if configured == "yes" else [False, True]
    counts = [limited == "yes"] if configured == "yes" else [False, True]
    for quiet_now, limit_reached in itertools.product(times, counts):
        now = QUIET_NOW if quiet_now else NOT_QUIET_NOW
        policy = (
            ChannelPolicy(
                digest=CHANNEL_DIGEST if channel == "yes" else None,
                quiet=QUIET,
                max_per_hour=LIMIT,
                tz=UTC,
            )
            if configured == "yes"
            else None
        )
        digests = [RULE_DIGEST] if rule == "yes" else [None]
        got = plan_delivery(digests, policy, LIMIT if limit_reached else 0, now, UTC)
        assert same(got, expected(outcome, now)), (row, now, got)


def test_a_rule_wanting_alerts_at_once_wins_over_a_digest() -> None:
    now = NOT_QUIET_NOW
    assert rule_digest([RULE_DIGEST, None], now, UTC) is None
    assert rule_digest([], now, UTC) is None
    daily = parse_digest("daily@18:00")
    assert rule_digest([daily, RULE_DIGEST], now, UTC) is RULE_DIGEST  # due first
