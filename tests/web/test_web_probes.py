"""The web server of a running service: /healthz answers anyone; with a token
set, /api/ and /metrics answer only a request that carries it; and a config
that would serve beyond loopback without a token is refused before start."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import Service
from tests.web.conftest import WebService

pytestmark = pytest.mark.e2e


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_healthz_is_open_and_the_api_needs_the_token(web_service: WebService) -> None:
    status, body = get(f"{web_service.base}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    for path in ("/api/health", "/metrics"):
        assert get(f"{web_service.base}{path}")[0] == 401
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        assert get(f"{web_service.base}{path}", wrong)[0] == 401
        assert get(f"{web_service.base}{path}", web_service.auth)[0] != 401


def test_listening_beyond_loopback_without_a_token_is_refused(service: Service) -> None:
    service.options["web"] = {"listen": "0.0.0.0:6066"}
    service.write_config(["/world.rss"])
    result = service.newsmon("check")
    assert result.returncode != 0
    config = service.config
    line = config.read_text().splitlines().index("web:") + 1
    assert f"{config}:{line}: web: listen 0.0.0.0:6066 is not a loopback address" in result.stderr
    assert "set web.token" in result.stderr
