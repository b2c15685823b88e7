"""The service's web server (``web:`` in the config): one aiohttp application
for the dashboard, the JSON API, /metrics and the health probes.

``web_app`` makes the application with the probes; each other part adds its
routes to it (``monitor.web.api``, ``monitor.web.metrics``,
``monitor.web.dashboard``) from the ``WebContext`` the service hands over.
/healthz and /readyz are always open (an orchestrator probes them without
credentials); with ``web.token`` set, every /api/ call and /metrics need
``Authorization: Bearer <token>``. The dashboard's page itself holds no data:
it asks the API, with the token the user gives it.

In distributed mode each worker serves its own, on its own ``web.listen``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # the WebSub callback serves with ``serve`` and needs none of them
    from aiohttp.typedefs import Middleware

    from monitor.config import Settings
    from monitor.notify.channels import Channels
    from monitor.pipeline.feedbook import FeedBook
    from monitor.rules.rulebook import Rulebook
    from monitor.store import Store
    from monitor.web.metrics import Metrics

log = logging.getLogger("newsmon.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# paths that need the token, when one is set
PROTECTED = ("/api/", "/metrics")


@dataclass
class WebContext:
    """What the web server's parts read and act on: the running service's own."""

    settings: Settings
    store: Store
    rulebook: Rulebook
    channels: Channels
    started_at: datetime
    metrics: Metrics | None = None  # what the stages report to, for /metrics
    # called by the matching stage once it has recorded alerts: the dashboard's
    # event stream hangs a wake-up here (alerts of other workers it polls for)
    alerts_recorded: list[Callable[[], None]] = field(default_factory=list)
    # the feeds the service polls (monitor.pipeline.feedbook): /api/feeds refreshes
    # it after an add or a remove, so this worker polls the change at once
    feeds: FeedBook | None = None


CONTEXT = web.AppKey("context", WebContext)


def web_app(context: WebContext) -> web.Application:
    """The application, with the health probes; the other parts add their routes."""
    token = context.settings.web.token if context.settings.web is not None else None
    app = web.Application(middlewares=[token_required(token)])
    app[CONTEXT] = context
    app.router.add_get("/healthz", healthz)
    return app


def token_required(token: str | None) -> Middleware:
    """A middleware: with a token set, the protected paths need it as a bearer token."""
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is not None and request.path.startswith(PROTECTED):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    {"error": "this needs Authorization: Bearer <web.token>"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="newsmon"'},
                )
        return await handler(request)

    return check


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers (whether it can work is /readyz)."""
    return web.json_response({"status": "ok"})


async def serve(
    app: web.Application, host: str, port: int, *, shared: bool = False
) -> web.AppRunner:
    """Serve ``app`` on host:port until the returned runner's ``cleanup``.
    ``shared``: other processes may serve the same port too (SO_REUSEPORT)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
