"""The HTTP endpoint WebSub hubs call back: ``<callback>/<id>``, one id per
subscription, so the path says which feed a request is about.

    GET   verification of intent (``hub.mode`` subscribe, unsubscribe or denied)
    POST  content distribution: the feed's new content, signed

``websub_app`` is a plain aiohttp application with those two routes, to be
served on its own (``serve``, on ``websub.listen``) or mounted, at the path
of ``websub.callback``, on another application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web

from monitor.web.server import serve

__all__ = ["serve", "websub_app"]  # serve: the web server's, shared with the callback

# (callback id, query) -> (status, body)
Verify = Callable[[str, Mapping[str, str]], Awaitable[tuple[int, str]]]
# (callback id, body, Content-Type, X-Hub-Signature) -> status
Receive = Callable[[str, bytes, str | None, str | None], Awaitable[int]]


def websub_app(
    verify: Verify, receive: Receive, max_bytes: int, callback: str = ""
) -> web.Application:
    """The callback routes, ``/{id}`` under the path of ``callback`` (as a proxy
    passes the hub's requests on); ``max_bytes``: the largest push taken."""

    async def get(request: web.Request) -> web.Response:
        status, text = await verify(request.match_info["id"], request.query)
        return web.Response(status=status, text=text, content_type="text/plain")

    async def post(request: web.Request) -> web.Response:
        body = await request.read()  # at most max_bytes: aiohttp answers 413 beyond
        status = await receive(
            request.match_info["id"],
            body,
            request.headers.get("Content-Type"),
            request.headers.get("X-Hub-Signature"),
        )
        return web.Response(status=status)

    app = web.Application(client_max_size=max_bytes)
    app.router.add_get("/{id}", get)
    app.router.add_post("/{id}", post)
    prefix = urlsplit(callback).path.rstrip("/")
    if not prefix:
        return app
    root = web.Application(client_max_size=max_bytes)
    root.add_subapp(prefix, app)
    return root
