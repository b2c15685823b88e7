"""The web server's application, every part's routes on it."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from monitor.web.server import WebContext, web_app

# each part's install(app): its routes, and what they need, on the application
PARTS: tuple[Callable[[web.Application], None], ...] = ()


def make_web_app(context: WebContext) -> web.Application:
    """The health probes, then each part's routes (``install(app)``)."""
    app = web_app(context)
    for install in PARTS:
        install(app)
    return app
