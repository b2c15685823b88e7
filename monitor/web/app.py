"""The web server's application: the health probes, and every part's routes."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from monitor.web import api, dashboard, metrics
from monitor.web.routes import ApiRoute, install
from monitor.web.server import WebContext, web_app

# Each part's install(app, api): its own routes on the application (pages,
# streams, /metrics), its JSON API routes appended to ``api``.
Part = Callable[[web.Application, list[ApiRoute]], None]
PARTS: tuple[Part, ...] = (api.install, metrics.install, dashboard.install)


def make_web_app(context: WebContext) -> web.Application:
    """The application with every part on it, and the OpenAPI document of its API."""
    app = web_app(context)
    api: list[ApiRoute] = []
    for part in PARTS:
        part(app, api)
    install(app, api, "newsmon", _version())
    return app


def _version() -> str:
    try:
        return version("newsmon")
    except PackageNotFoundError:  # a checkout run in place
        return "0"
