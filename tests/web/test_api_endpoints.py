"""The JSON API of a running service, over real HTTP: a story that appears on
the feed is read back from /api/alerts (with its state, channel label, rules,
terms, highlights and the story's other source) and /api/stories, counted in
/api/rules, found by a query in /api/rules/test, summed up in /api/health;
every endpoint needs the token and is in a valid OpenAPI document; /readyz
turns 503 while the store's file is gone."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.e2e.conftest import wait_until
from tests.feedserver import rss
from tests.web.conftest import WebService

pytestmark = pytest.mark.e2e

PUBLISHED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
TITLE = "China launches military drills around Taiwan after Lai's speech"
SUMMARY = (
    "The PLA sent warships and jets into the Taiwan Strait on Monday, "
    "in drills Beijing called a warning to Taipei."
)
DRILLS = {
    "title": TITLE,
    "link": "https://news.example.org/asia/drills",
    "guid": "https://news.example.org/asia/drills",
    "description": SUMMARY,
    "pubDate": PUBLISHED,
}
# the same story again, from the wire, under another link: one story, two sources
WIRE_COPY = {
    **DRILLS,
    "title": TITLE + " - wire",
    "link": "https://wire.example.org/drills-taiwan",
    "guid": "https://wire.example.org/drills-taiwan",
    "pubDate": PUBLISHED + timedelta(minutes=2),
}


def call(
    ws: WebService,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    body: Any = None,
    *,
    token: bool = True,
) -> tuple[int, Any]:
    url = f"{ws.base}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    data = json.dumps(body).encode() if body is not None else None
    headers = {**(ws.auth if token else {}), "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def ok(ws: WebService, path: str, **params: Any) -> Any:
    status, answer = call(ws, "GET", path, params)
    assert status == 200, answer
    return answer


def wait_for_alerts_sent(ws: WebService, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def sent() -> bool:
        found[:] = ok(ws, "/api/alerts")
        return len(found) >= n and all(a["state"] == "sent" for a in found)

    wait_until(sent, 60, f"{n} alerts sent, as /api/alerts tells")
    return found


def test_a_story_on_the_feed_is_read_back_from_every_endpoint(web_service: WebService) -> None:
    ws = web_service
    assert ok(ws, "/api/alerts") == []
    ws.service.feeds.set_feed("/world.rss", rss([DRILLS]))
    alerts = wait_for_alerts_sent(ws, 2)  # one per channel: email and chat
    ws.service.feeds.set_feed("/world.rss", rss([DRILLS, WIRE_COPY]))
    wait_until(
        lambda: len(ok(ws, "/api/stories")[0]["sources"]) == 2, 30, "the wire copy joins the story"
    )

    alerts = ok(ws, "/api/alerts")
    assert len(alerts) == 2, "the wire copy is the same story: no new alert"
    by_tag = {a["channel"]["tags"][0]: a for a in alerts}
    assert set(by_tag) == {"chat", "email"}
    email = by_tag["email"]
    assert email["title"] == TITLE
    assert email["link"] == DRILLS["link"]
    assert email["feed"] == "Loopback /world.rss"
    assert datetime.fromisoformat(email["published"]) == PUBLISHED
    assert "taiwan" in email["rules"]
    assert email["state"] == "sent" and email["sent_at"] is not None and email["error"] is None
    assert email["created_at"] <= email["sent_at"]
    # the label is the URL's privacy form: the SMTP password is not in it
    assert ws.service.smtp.password not in json.dumps(alerts)
    assert email["channel"]["label"].startswith("mailto://")
    snippet = email["snippet"]
    assert "**" in snippet["marked"] and "**" not in snippet["text"]
    marked = {snippet["text"][h["start"] : h["end"]].lower() for h in snippet["highlights"]}
    assert marked and marked <= {t.lower() for t in email["terms"]}
    assert email["story"] is not None
    assert [s["link"] for s in email["other_sources"]] == [WIRE_COPY["link"]]

    # filters
    def ids(**params: Any) -> set[int]:
        return {a["id"] for a in ok(ws, "/api/alerts", **params)}

    assert ids(rule="taiwan") == {a["id"] for a in alerts}
    assert ids(rule="tariffs") == set()
    assert ids(channel="chat") == {by_tag["chat"]["id"]}
    assert ids(channel=by_tag["email"]["channel"]["id"]) == {email["id"]}
    assert ids(since="1h") == {a["id"] for a in alerts}
    before = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert ids(until=before) == set()
    assert ids(until="2999-01-01") == {a["id"] for a in alerts}  # an until to come
    assert len(ids(limit=1)) == 1
    for bad in ({"limit": 501}, {"limit": 0}, {"since": "last tuesday"}):
        status, answer = call(ws, "GET", "/api/alerts", bad)
        assert status == 400 and answer["error"].startswith(next(iter(bad)))

    # stories
    [story] = ok(ws, "/api/stories")
    assert story["id"] == email["story"]
    assert [s["link"] for s in story["sources"]] == [DRILLS["link"], WIRE_COPY["link"]]
    assert ok(ws, "/api/stories", min_sources=3) == []

    # rules: the story counted once today for taiwan, though two channels heard of it
    rules = {r["name"]: r for r in ok(ws, "/api/rules", days=3)}
    assert [d["count"] for d in rules["taiwan"]["hits"]] == [0, 0, 1]
    assert rules["taiwan"]["path"].endswith("taiwan.yaml") and rules["taiwan"]["line"] > 0
    assert sum(d["count"] for d in rules["tariffs"]["hits"]) == 0

    # a query over the stored items: both copies matched, one story
    status, tested = call(
        ws, "POST", "/api/rules/test", body={"query": "Taiwan NEAR/3 drills", "since": "1d"}
    )
    assert status == 200, tested
    assert (tested["scanned"], tested["matched"], tested["stories"]) == (2, 2, 1)
    [hit] = tested["hits"]
    assert hit["title"] == TITLE and hit["other_sources"] == 0
    assert {t.lower() for t in hit["terms"]} >= {"taiwan", "drills"}
    assert hit["snippet"]["highlights"]
    assert tested["days"][-1]["items"] == 2 and tested["days"][-1]["matches"] == 1
    status, answer = call(ws, "POST", "/api/rules/test", body={"query": "Taiwan AND (drills"})
    assert status == 400 and "'(' is never closed" in answer["error"]
    status, answer = call(ws, "POST", "/api/rules/test", body={"query": "@Nowhere"})
    assert status == 400 and "unknown entity @Nowhere" in answer["error"]

    # health
    health = ok(ws, "/api/health")
    assert health["status"] == "ok" and health["mode"] == "embedded"
    assert health["store"] == {"backend": "sqlite", "reachable": True, "error": None}
    assert health["feeds"] == {"ok": 1}
    assert health["outbox"] == {"pending": 0, "digest": 0, "dead": 0, "delivered": 2}
    assert health["rules"]["loaded"] == len(rules) and health["rules"]["last_reload_error"] is None
    assert sorted(c["tags"][0] for c in health["channels"]) == ["chat", "email"]
    assert health["uptime_s"] > 0
    assert ws.service.smtp.password not in json.dumps(health)


def test_every_endpoint_needs_the_token_and_is_in_the_openapi_document(
    web_service: WebService,
) -> None:
    ws = web_service
    status, document = call(ws, "GET", "/api/openapi.json")
    assert status == 200
    validate(document)
    routes = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert {
        ("/api/alerts", "get"),
        ("/api/stories", "get"),
        ("/api/rules", "get"),
        ("/api/rules/test", "post"),
        ("/api/health", "get"),
        ("/api/feeds", "get"),
        ("/api/feeds", "post"),
        ("/api/feeds", "delete"),
    } <= routes
    for path, method in sorted(routes):
        status, answer = call(ws, method.upper(), path, token=False)
        assert status == 401, (path, method, answer)
    assert call(ws, "GET", "/api/openapi.json", token=False)[0] == 401


def test_readyz_is_open_and_turns_503_while_the_database_file_is_gone(
    web_service: WebService,
) -> None:
    ws = web_service
    assert call(ws, "GET", "/readyz", token=False) == (200, {"status": "ready"})
    database = ws.service.root / "data" / "newsmon.db"
    moved = database.with_name("elsewhere.db")
    # moved away, and a directory in its place, so no new connection makes it anew
    database.rename(moved)
    database.mkdir()
    try:
        status, answer = call(ws, "GET", "/readyz", token=False)
        assert status == 503
        assert answer["reason"] == "the store does not answer: unable to open database file"
        health = ok(ws, "/api/health")
        assert health["status"] == "degraded" and health["store"]["reachable"] is False
        assert health["outbox"] is None
    finally:
        database.rmdir()
        moved.rename(database)
    assert call(ws, "GET", "/readyz", token=False) == (200, {"status": "ready"})
