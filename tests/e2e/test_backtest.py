"""End to end: what `newsmon run` polled, `newsmon replay` backtests with the
shipped rule pack, as a user runs both."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Service
from tests.e2e.test_service import QUIET_ITEM, SEED_ITEM, SEED_TITLE
from tests.feedserver import rss

pytestmark = pytest.mark.e2e

STRAFZOELLE = {
    "title": "Trump droht der EU mit Strafzöllen auf Autos",
    "link": "https://news.example.org/de/strafzoelle",
    "guid": "de-strafzoelle-1",
    "description": "Die Kommission in Brüssel kündigt Gegenmaßnahmen an.",
}
TAIWAN_TARIFF = {
    "title": "美國對台課徵20%對等關稅 賴清德：持續爭取調降",
    "link": "https://news.example.org/tw/tariff",
    "guid": "tw-tariff-1",
    "description": "總統府表示，政府將與華府持續協商。",
}


def test_replay_lists_what_the_service_saw_that_would_have_alerted(service: Service) -> None:
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM, QUIET_ITEM, STRAFZOELLE, TAIWAN_TARIFF]))
    service.start()
    service.wait_polls("/world.rss", 1)
    service.webhook.wait_for(3, timeout=30)  # the service itself alerted on the three
    assert service.stop() == 0

    every = service.newsmon("replay", "--since", "1d")
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    seed = next(line for line in lines if SEED_TITLE in line)
    assert all(topic in seed for topic in ("taiwan", "tariffs", "climate-talks", "us-china"))
    assert any(STRAFZOELLE["title"] in line and "tariffs" in line for line in lines)
    assert any(TAIWAN_TARIFF["title"] in line and "taiwan" in line for line in lines)
    assert QUIET_ITEM["title"] not in every.stdout

    one = service.newsmon("replay", "--since", "1d", "--rule", "climate-talks")
    assert one.returncode == 0, one.stderr
    assert SEED_TITLE in one.stdout
    assert STRAFZOELLE["title"] not in one.stdout and TAIWAN_TARIFF["title"] not in one.stdout
