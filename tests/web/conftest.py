"""A running service with its web server on (``web:``), over real HTTP on loopback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.conftest import Service, loopback, service
from tests.servers import free_port

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


def start_web(service: Service, **options: object) -> WebService:
    """Start ``service`` on its loopback feed, its web server on a free port with
    a token; ``options``: more of monitor.yaml's top-level settings."""
    port = free_port()
    service.options.update(options, web={"listen": f"127.0.0.1:{port}", "token": TOKEN})
    service.write_config(["/world.rss"])
    service.start()
    service.wait_log("web: dashboard, API and metrics on")
    return WebService(service, f"http://127.0.0.1:{port}", TOKEN)


@pytest.fixture
def web_service(service: Service) -> WebService:
    """The service on one loopback feed, its web server on a free port with a token."""
    return start_web(service)
