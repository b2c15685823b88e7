"""/api/feeds of a running service, over real HTTP: every feed with where it
comes from and its health (a failing feed says why); a feed added with POST
is polled and its items counted; one on this machine's address is refused
unless fetch.allow_private_networks; a feed listed twice is a 409; DELETE
removes an added feed, and refuses a config feed naming its file and line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Service, wait_until
from tests.feedserver import rss
from tests.web.conftest import WebService, start_web
from tests.web.test_api_endpoints import call, ok

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [
    {
        "title": f"Harbour notes {n}",
        "link": f"https://asia.example.org/notes/{n}",
        "guid": f"https://asia.example.org/notes/{n}",
        "description": "Ferries ran on time.",
        "pubDate": NOW - timedelta(hours=n),
    }
    for n in (1, 2, 3)
]


@pytest.fixture
def open_web_service(service: Service) -> WebService:
    """The web service, allowed to add feeds on private addresses (the loopback feed server)."""
    return start_web(service, fetch={"allow_private_networks": True})


def feeds_by_url(ws: WebService) -> dict[str, dict[str, Any]]:
    return {f["url"]: f for f in ok(ws, "/api/feeds", days=2)}


def test_feeds_are_listed_added_polled_and_removed(open_web_service: WebService) -> None:
    ws = open_web_service
    world, asia = ws.service.feeds.url("/world.rss"), ws.service.feeds.url("/asia.rss")
    ws.service.feeds.set_status("/world.rss", 503)
    ws.service.feeds.set_feed("/asia.rss", rss(ITEMS))

    # the config's feed, failing: why, since when, and where it is listed
    # (a poll before the 503 was set may have found no feed there yet: a 404)
    wait_until(lambda: feeds_by_url(ws)[world]["last_status"] == 503, 30, "a 503 poll")
    feed = feeds_by_url(ws)[world]
    assert feed["origin"] == "config" and feed["name"] == "Loopback /world.rss"
    assert feed["where"] == f"{ws.service.config}:2"
    assert feed["last_status"] == 503 and "503" in feed["last_error"]
    assert feed["last_success_at"] is None and feed["last_polled_at"] is not None

    status, added = call(
        ws, "POST", "/api/feeds", body={"url": asia, "name": "Asia", "interval": "1s"}
    )
    assert status == 201, added
    assert (added["origin"], added["name"], added["interval_s"], added["health"]) == (
        "store",
        "Asia",
        1.0,
        "new",
    )
    wait_until(
        lambda: feeds_by_url(ws)[asia]["items_per_day"][-1]["count"] == 3, 30, "its items counted"
    )
    feed = feeds_by_url(ws)[asia]
    assert feed["health"] == "ok" and feed["where"] == "store" and feed["last_error"] is None
    assert feed["last_success_at"] == feed["last_polled_at"] is not None
    assert sum(ok(ws, "/api/health")["feeds"].values()) == 2  # the added one counts too

    status, answer = call(ws, "POST", "/api/feeds", body={"url": asia})
    assert (status, answer) == (409, {"error": f"{asia}: already added"})
    status, answer = call(ws, "POST", "/api/feeds", body={"url": world})
    assert status == 409 and "already in the config" in answer["error"]
    status, answer = call(ws, "POST", "/api/feeds", body={"url": "ftp://example.org/feed"})
    assert status == 400 and "http:// or https://" in answer["error"]

    status, answer = call(ws, "DELETE", "/api/feeds", {"url": world})
    assert status == 409
    assert answer["error"].startswith(f"{ws.service.config}:2: ")
    assert call(ws, "DELETE", "/api/feeds", {"url": asia}) == (204, None)
    assert asia not in feeds_by_url(ws)
    status, answer = call(ws, "DELETE", "/api/feeds", {"url": asia})
    assert status == 404 and "no such feed" in answer["error"]


def test_a_feed_on_this_machine_is_refused_by_default(web_service: WebService) -> None:
    ws = web_service
    url = ws.service.feeds.url("/asia.rss")
    status, answer = call(ws, "POST", "/api/feeds", body={"url": url})
    assert status == 400
    assert "127.0.0.1" in answer["error"] and "loopback address" in answer["error"]
    assert "fetch.allow_private_networks" in answer["error"]
    assert url not in feeds_by_url(ws)
