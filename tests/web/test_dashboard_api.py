"""The dashboard's side of the API on a running service, over real HTTP: the
event stream sends each alert as it is recorded, as /api/alerts lists it, and
from a given id on a reconnect; rules are muted and alerts acknowledged for a
while, and refused with a clear status when there is no such rule or alert;
the page and its files are served with a policy that runs only them."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession

from tests.feedserver import rss
from tests.web.conftest import WebService
from tests.web.test_api_endpoints import DRILLS, call, ok

pytestmark = pytest.mark.e2e


async def next_alert(response: ClientResponse, timeout: float = 30.0) -> dict[str, Any]:
    """The next `alert` event's id and data (comments and keep-alives skipped)."""
    event: dict[str, Any] = {}
    async with asyncio.timeout(timeout):
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                event["id"] = int(line[4:])
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line == "" and "data" in event:
                return event


async def test_the_stream_sends_each_alert_as_it_is_recorded(web_service: WebService) -> None:
    ws = web_service
    ws.service.feeds.set_feed("/world.rss", rss([]))
    async with ClientSession() as http:
        async with http.get(f"{ws.base}/api/events") as refused:
            assert refused.status == 401
        async with http.get(f"{ws.base}/api/events", headers=ws.auth) as stream:
            assert stream.status == 200
            assert stream.headers["Content-Type"] == "text/event-stream"
            ws.service.feeds.set_feed("/world.rss", rss([DRILLS]))  # after the stream opened
            first, second = await next_alert(stream), await next_alert(stream)
        listed = {a["id"]: a for a in ok(ws, "/api/alerts")}
        assert sorted(listed) == sorted([first["id"], second["id"]])
        for event in (first, second):
            live = event["data"]
            assert live["id"] == event["id"]
            assert {k: v for k, v in live.items() if k not in {"state", "sent_at"}} == {
                k: v for k, v in listed[live["id"]].items() if k not in {"state", "sent_at"}
            }
            assert live["title"] == DRILLS["title"] and live["snippet"]["highlights"]
        # a page that reconnects says which it has: it gets the ones after it
        low, high = sorted(listed)
        async with http.get(f"{ws.base}/api/events?after={low}", headers=ws.auth) as again:
            assert (await next_alert(again))["id"] == high
        after = {**ws.auth, "Last-Event-ID": str(low)}
        async with http.get(f"{ws.base}/api/events", headers=after) as again:
            assert (await next_alert(again))["id"] == high


def test_rules_are_muted_and_alerts_acknowledged_for_a_while(web_service: WebService) -> None:
    ws = web_service
    now = datetime.now(UTC)
    status, mute = call(ws, "POST", "/api/rules/taiwan/mute", body={"duration": "8h"})
    assert status == 200 and mute["rule"] == "taiwan"
    until = datetime.fromisoformat(mute["until"])
    assert now + timedelta(hours=8) <= until <= datetime.now(UTC) + timedelta(hours=8)
    assert [m["rule"] for m in ok(ws, "/api/mutes")] == ["taiwan"]
    assert call(ws, "POST", "/api/rules/nosuchrule/mute", body={"duration": "1h"}) == (
        404,
        {"error": "no rule nosuchrule"},
    )
    for bad in ("forever", "31d", "-1h"):
        status, answer = call(ws, "POST", "/api/rules/taiwan/mute", body={"duration": bad})
        assert status == 400 and answer["error"].startswith("duration: "), answer
    assert call(ws, "DELETE", "/api/rules/taiwan/mute") == (204, None)
    assert call(ws, "DELETE", "/api/rules/taiwan/mute")[0] == 404
    assert ok(ws, "/api/mutes") == []

    ws.service.feeds.set_feed("/world.rss", rss([DRILLS]))
    ws.service.wait_log("match: ")
    alert_id = ok(ws, "/api/alerts")[0]["id"]
    status, ack = call(ws, "POST", f"/api/alerts/{alert_id}/ack", body={"duration": "1h"})
    assert status == 200 and ack["alert_id"] == alert_id
    assert [a["alert_id"] for a in ok(ws, "/api/acks")] == [alert_id]
    assert call(ws, "POST", "/api/alerts/999999/ack", body={})[0] == 404
    assert call(ws, "POST", "/api/alerts/latest/ack", body={})[0] == 404
    assert call(ws, "DELETE", f"/api/alerts/{alert_id}/ack") == (204, None)
    assert ok(ws, "/api/acks") == []


def test_the_page_runs_only_its_own_files_and_the_stream_is_documented(
    web_service: WebService,
) -> None:
    ws = web_service
    with urllib.request.urlopen(f"{ws.base}/", timeout=10) as response:  # no token: no data
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "/static/dashboard.js" in page and "script-src 'self'" in policy
    for name in ("dashboard.js", "dashboard.css", "favicon.svg"):
        with urllib.request.urlopen(f"{ws.base}/static/{name}", timeout=10) as response:
            assert response.status == 200
    for missing in ("..%2Fserver.py", "index.html", "nothing.js"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{ws.base}/static/{missing}", timeout=10)
        assert refused.value.code == 404
    document = ok(ws, "/api/openapi.json")
    events = document["paths"]["/api/events"]["get"]
    assert list(events["responses"]["200"]["content"]) == ["text/event-stream"]
    assert [p["name"] for p in events["parameters"]] == ["after"]
    for path in ("/api/rules/{name}/mute", "/api/alerts/{id}/ack"):
        assert set(document["paths"][path]) == {"post", "delete"}
