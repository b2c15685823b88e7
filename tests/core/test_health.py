"""Feed health: failing after N failures, silent against its own cadence, notices on change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.health import HealthPolicy, assess, notice, updated_cadence

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = HealthPolicy(failures=3, silence=10, min_silence=timedelta(hours=1))


@pytest.mark.parametrize(
    ("failures", "quiet_for", "cadence", "health"),
    [
        (0, None, None, "ok"),
        (2, None, None, "ok"),
        (3, None, None, "failing"),
        (0, timedelta(hours=5), 3600.0, "ok"),  # hourly feed, 5 h quiet: within 10x
        (0, timedelta(hours=11), 3600.0, "silent"),
        (0, timedelta(minutes=50), 60.0, "ok"),  # never silent before min_silence
        (0, timedelta(hours=2), 60.0, "silent"),
        (5, timedelta(days=9), 60.0, "failing"),  # failing says more than silent
    ],
    ids=[
        "new",
        "two-failures",
        "third-failure",
        "hourly-quiet-5h",
        "hourly-quiet-11h",
        "busy-under-minimum",
        "busy-quiet-2h",
        "failing-wins",
    ],
)
def test_assess(
    failures: int, quiet_for: timedelta | None, cadence: float | None, health: str
) -> None:
    last_new = NOW - quiet_for if quiet_for else None
    assert assess(failures, last_new, cadence, NOW, POLICY) == health


def test_cadence_follows_the_feed() -> None:
    assert updated_cadence(None, None, NOW) is None
    first = updated_cadence(None, NOW - timedelta(hours=1), NOW)
    assert first == 3600
    slower = updated_cadence(first, NOW - timedelta(hours=6), NOW)
    assert slower is not None and 3600 < slower < 6 * 3600


def test_notices_only_on_change() -> None:
    assert notice("f", "ok", "ok", error=None, last_new_at=None) is None
    failing = notice("https://a.org/f.rss", "ok", "failing", error="HTTP 500", last_new_at=None)
    assert failing is not None and "failing" in failing.title and "HTTP 500" in failing.body
    silent = notice("f", "ok", "silent", error=None, last_new_at=NOW)
    assert silent is not None and "2026-03-01 12:00 UTC" in silent.body
    back = notice("f", "failing", "ok", error=None, last_new_at=None)
    assert back is not None and "recovered" in back.title
