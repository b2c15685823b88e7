"""Old news stays quiet: which items may alert, by when they were published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.core.alerts import is_news

SEEN = datetime(2024, 5, 8, 9, 30, tzinfo=UTC)
MAX_AGE = timedelta(hours=48)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        pytest.param(SEEN - timedelta(minutes=5), True, id="fresh"),
        pytest.param(SEEN, True, id="published-as-seen"),
        pytest.param(SEEN - MAX_AGE, True, id="exactly-max-age-old"),
        pytest.param(SEEN - MAX_AGE - timedelta(seconds=1), False, id="a-second-too-old"),
        pytest.param(SEEN - timedelta(days=7), False, id="a-week-old"),
        pytest.param(None, True, id="undated-counts-as-published-when-seen"),
        pytest.param(SEEN + timedelta(hours=3), True, id="dated-in-the-future"),
        pytest.param(SEEN + timedelta(days=400), True, id="dated-far-in-the-future"),
    ],
)
def test_an_item_is_news_until_it_is_older_than_max_age_when_first_seen(
    published: datetime | None, expected: bool
) -> None:
    assert is_news(published, SEEN, MAX_AGE) is expected


def test_age_is_measured_across_time_zones() -> None:
    taipei = timezone(timedelta(hours=8))
    # 15:00 in Taipei is 07:00 UTC: 50.5 hours before SEEN, not the 42.5 of the wall clocks
    published = datetime(2024, 5, 6, 15, 0, tzinfo=taipei)
    assert not is_news(published, SEEN, MAX_AGE)
    assert is_news(published, SEEN, MAX_AGE + timedelta(hours=3))
