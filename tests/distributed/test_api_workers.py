"""The JSON API in distributed mode: two workers on Kafka and PostgreSQL, each
serving its own web.listen (one config, the port from ${VAR}), tell the same
alerts, stories and outbox, whichever of them matched and sent the story; both
are ready, the store and the broker answering."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Service, wait_until
from tests.feedserver import rss
from tests.servers import free_port
from tests.web.conftest import TOKEN, WebService
from tests.web.test_api_endpoints import DRILLS, call, ok

pytestmark = pytest.mark.distributed


def test_two_workers_apis_show_the_same_alerts(
    cluster: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.options["web"] = {"listen": "127.0.0.1:${NEWSMON_TEST_WEB_PORT}", "token": TOKEN}
    cluster.write_config(["/world.rss"])
    cluster.feeds.set_feed("/world.rss", rss([DRILLS]))
    apis = {}
    for name in ("a", "b"):
        port = free_port()
        monkeypatch.setenv("NEWSMON_TEST_WEB_PORT", str(port))  # read at the worker's start
        cluster.start(name, wait=False)
        cluster.worker(name).wait_log("web: dashboard, API and metrics on", timeout=60)
        apis[name] = WebService(cluster, f"http://127.0.0.1:{port}", TOKEN)

    def sent(api: WebService) -> list[dict[str, Any]]:
        return [a for a in ok(api, "/api/alerts") if a["state"] == "sent"]

    wait_until(lambda: all(len(sent(api)) == 2 for api in apis.values()), 90, "2 alerts sent")
    a, b = apis["a"], apis["b"]
    assert ok(a, "/api/alerts") == ok(b, "/api/alerts")
    assert {x["title"] for x in ok(a, "/api/alerts")} == {DRILLS["title"]}
    assert ok(a, "/api/stories") == ok(b, "/api/stories")
    assert ok(a, "/api/rules") == ok(b, "/api/rules")

    health = {name: ok(api, "/api/health") for name, api in apis.items()}
    for said in health.values():
        assert said["mode"] == "distributed"
        assert said["store"] == {"backend": "postgresql", "reachable": True, "error": None}
        assert said["outbox"] == {"pending": 0, "digest": 0, "dead": 0, "delivered": 2}
    assert health["a"]["started_at"] != health["b"]["started_at"]  # two workers answered
    for api in apis.values():
        assert call(api, "GET", "/readyz", token=False) == (200, {"status": "ready"})
