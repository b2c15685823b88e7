"""The dashboard in distributed mode: two workers on Kafka and PostgreSQL, each
serving its own web.listen. Each worker's event stream sends every alert,
whichever worker recorded it; a rule muted on one worker's dashboard alerts on
neither."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.distributed.conftest import feed_paths
from tests.distributed.test_workers import SPICE_RULES, spice_item
from tests.e2e.conftest import Service, wait_until
from tests.feedserver import rss
from tests.servers import free_port
from tests.web.conftest import TOKEN, WebService
from tests.web.test_api_endpoints import call, ok

pytestmark = pytest.mark.distributed

STORIES = 12  # an item goes to the worker of its partition: both get some


async def follow(api: WebService, want: int, opened: asyncio.Event) -> set[int]:
    """The ids of the first ``want`` alerts ``api``'s stream sends."""
    ids: set[int] = set()
    async with (
        ClientSession() as http,
        http.get(f"{api.base}/api/events", headers=api.auth) as stream,
    ):
        assert stream.status == 200
        opened.set()
        while len(ids) < want:
            line = (await stream.content.readline()).decode()
            if line.startswith("data: "):
                ids.add(json.loads(line[6:])["id"])
    return ids


async def streams_while(apis: list[WebService], publish: Any) -> list[set[int]]:
    opened = [asyncio.Event() for _ in apis]
    pairs = zip(apis, opened, strict=True)
    tasks = [asyncio.create_task(follow(api, STORIES, o)) for api, o in pairs]
    async with asyncio.timeout(120):
        for o in opened:
            await o.wait()
        publish()
        return list(await asyncio.gather(*tasks))


def test_each_workers_stream_has_every_alert_and_a_mute_holds_on_both(
    cluster: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.write_channels(email=False, chat=True)
    for shipped in cluster.rules.glob("*.yaml"):  # the spice rule alone: "export" is trade
        shipped.unlink()
    (cluster.rules / "spice.yaml").write_text(SPICE_RULES)
    cluster.options["web"] = {"listen": "127.0.0.1:${NEWSMON_TEST_WEB_PORT}", "token": TOKEN}
    paths = feed_paths(STORIES)
    cluster.write_config(paths)
    for path in paths:
        cluster.feeds.set_feed(path, rss([]))
    apis = []
    for name in ("a", "b"):
        port = free_port()
        monkeypatch.setenv("NEWSMON_TEST_WEB_PORT", str(port))  # read at the worker's start
        cluster.start(name, wait=False)
        cluster.worker(name).wait_log("web: dashboard, API and metrics on", timeout=60)
        apis.append(WebService(cluster, f"http://127.0.0.1:{port}", TOKEN))
    a, b = cluster.worker("a"), cluster.worker("b")
    wait_until(lambda: all("polled http" in w.output() for w in (a, b)), 60, "both polling")

    def publish() -> None:
        for n, path in enumerate(paths):
            cluster.feeds.set_feed(path, rss([spice_item(n)]))

    seen = asyncio.run(streams_while(apis, publish))
    recorded = {alert["id"] for alert in ok(apis[0], "/api/alerts")}
    assert len(recorded) == STORIES
    assert seen == [recorded, recorded]
    assert "match: Zanzibar" in a.output() and "match: Zanzibar" in b.output()  # both recorded

    status, _ = call(apis[0], "POST", "/api/rules/spice-watch/mute", body={"duration": "1h"})
    assert status == 200
    for n, path in enumerate(paths):
        cluster.feeds.set_feed(path, rss([spice_item(n), spice_item(STORIES + n)]))

    def muted() -> int:
        return sum(w.output().count("muted, no alert for spice-watch") for w in (a, b))

    wait_until(lambda: muted() == STORIES, 90, "every new report held back by the mute")
    assert "muted, no alert" in a.output() and "muted, no alert" in b.output()
    assert {alert["id"] for alert in ok(apis[1], "/api/alerts")} == recorded
