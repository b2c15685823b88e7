"""``newsmon status`` as the user reads it in a terminal 100 columns wide: the
feeds, the outbox and the recent alerts, from the store a real run left."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Service, wait_until
from tests.e2e.test_service import SEED_ITEM, SEED_TITLE
from tests.feedserver import rss
from tests.services import postgres_scratch_url

__all__ = ["postgres_scratch_url"]  # a fixture, found by name

pytestmark = pytest.mark.e2e

WIDTH = 100


def status(service: Service) -> str:
    result = service.newsmon("status", env={**os.environ, "COLUMNS": str(WIDTH)})
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # not a terminal: no colours
    assert all(len(line) <= WIDTH for line in result.stdout.splitlines())
    return result.stdout


def row(text: str, first: str) -> str:
    """The table row whose first cell starts with ``first``."""
    [found] = [line for line in text.splitlines() if line.lstrip("│┃ ").startswith(first)]
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_status_shows_feeds_outbox_and_alerts(
    service: Service, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        assert "The store is empty" in status(service)  # before any run, and it stays so
        assert not (service.root / "data" / "newsmon.db").exists()
    else:
        service.options["storage"] = request.getfixturevalue("postgres_scratch_url")
        service.write_config(["/world.rss"])
        before = status(service)  # a database newsmon has not written yet
        assert "No alerts yet." in before
        assert cells(row(before, "Loopback /world.rss"))[1:3] == ["new", "never"]

    service.feeds.set_feed("/world.rss", rss([SEED_ITEM]))
    service.feeds.set_status("/broken.rss", 500, body="down for maintenance")
    service.write_config(["/world.rss", "/broken.rss"])
    service.webhook.fail_next(1)  # the chat alert is sent on its second attempt
    service.start()
    service.smtp.wait_for(1, timeout=30)
    service.webhook.wait_for(1, timeout=30)
    # a second poll of the broken feed: the store has the first one's failure
    wait_until(lambda: len(service.feeds.requests_to("/broken.rss")) >= 2, 30, "a second poll")

    running = status(service)  # while the service runs
    assert "Feeds (2, 2 polled)" in running
    assert service.stop() == 0
    shown = status(service)  # and once it stopped

    world = cells(row(shown, "Loopback /world.rss"))
    assert world[1] == "ok"
    assert recent(world[2])  # the last success: a poll of a moment ago
    broken = cells(row(shown, "Loopback /broken.rss"))
    assert broken[1:3] == ["error", "—"]  # failing, with no success to show
    assert broken[3].startswith("HTTP 500")  # why

    assert "Outbox" in shown
    assert cells(row(shown, "pending"), "┃") == ["pending", "in digests", "dead", "delivered"]
    assert cells(row(shown, "0 ")) == ["0", "0", "0", "2"]

    assert "Recent alerts (2 newest)" in shown
    alerts = [cells(line) for line in shown.splitlines() if SEED_TITLE[:20] in line]
    assert len(alerts) == 2  # one per channel
    assert {a[3].split(":")[0] for a in alerts} == {"json", "mailto"}
    assert all(a[4] == "sent" and a[2].startswith("climate-talks") for a in alerts)
    # the labels, masked: cut to the column, at 100 columns
    [mail] = [a[3] for a in alerts if a[3].startswith("mailto")]
    assert mail.startswith("mailto://newsmon:*")
    assert service.smtp.password not in shown


def cells(line: str, bar: str = "│") -> list[str]:
    return [cell.strip() for cell in line.strip().strip(bar).split(bar)]


def recent(shown: str) -> bool:
    """Whether a time status shows (today's, as HH:MM:SS in UTC, the config's
    default timezone) was in the last minute."""
    now = datetime.now(UTC)
    at = datetime.strptime(shown, "%H:%M:%S").replace(
        year=now.year, month=now.month, day=now.day, tzinfo=UTC
    )
    return timedelta(0) <= now - at < timedelta(minutes=1)
