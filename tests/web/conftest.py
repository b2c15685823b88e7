"""A running service with its web server on (``web:``), over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Service, loopback, service
from tests.feedserver import FeedServer
from tests.servers import SmtpSink, WebhookSink, free_port

__all__ = ["loopback", "service"]  # fixtures, found by name

TOKEN = "test-token-0123456789abcdef"


@dataclass
class WebService:
    service: Service
    base: str  # http://127.0.0.1:port
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def web_service(
    tmp_path: Path, loopback: tuple[FeedServer, SmtpSink, WebhookSink]
) -> Iterator[WebService]:
    """The service on one loopback feed, its web server on a free port with a token."""
    service = Service(tmp_path, *loopback)
    port = free_port()
    service.options["web"] = {"listen": f"127.0.0.1:{port}", "token": TOKEN}
    service.write_config(["/world.rss"])
    try:
        service.start()
        service.wait_log("web: dashboard, API and metrics on")
        yield WebService(service, f"http://127.0.0.1:{port}", TOKEN)
    finally:
        service.kill_all()
