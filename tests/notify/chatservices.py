"""A loopback stand-in for the chat services' HTTP APIs (Matrix, Slack, Discord,
Telegram), so Apprise's real plugins deliver to it and a test reads what each
service would have received.

Matrix is reached as any homeserver is, by its URL; the other services have
fixed hosts in their plugins, which ``redirect`` points at this server for the
test (``monkeypatch``). Every request is kept; the answers are what the plugins
need to count the message as sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from tests.servers import WebhookSink

ROOM = "!news:127.0.0.1"

# One answer holding what each call of the Matrix plugin reads: login, whoami,
# join and send.
_MATRIX = {
    "access_token": "token",
    "user_id": "@newsmon:127.0.0.1",
    "home_server": "127.0.0.1",
    "device_id": "NEWSMON",
    "room_id": ROOM,
    "joined_rooms": [ROOM],
    "event_id": "$event",
}


class ChatServices(WebhookSink):
    """Keeps ``{"path", "headers", "json"}`` of every request, GETs included."""

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await request.json() if raw else None
        self._received.add({"path": request.path, "headers": dict(request.headers), "json": body})
        if request.path.startswith("/slack/"):
            return web.Response(text="ok")  # what Slack's webhooks answer
        if request.path.startswith("/_matrix/"):
            return web.json_response(_MATRIX)
        return web.json_response({"ok": True, "result": {"message_id": 1}})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def redirect(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Send the Slack, Discord and Telegram plugins here instead of their hosts."""
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{self.base}/slack")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"{self.base}/discord")
        monkeypatch.setattr(NotifyTelegram, "notify_url", f"{self.base}/telegram/bot")

    def matrix_url(self) -> str:
        """A matrix:// URL for a room on this homeserver (plain HTTP, no discovery)."""
        return f"matrix://newsmon:pass@127.0.0.1:{self.port}/#news?discovery=no"

    def posted(self, prefix: str) -> list[dict[str, Any]]:
        """The JSON bodies of the messages sent to the service under ``prefix``."""
        return [
            r["json"]
            for r in self.requests
            if r["path"].startswith(prefix) and isinstance(r["json"], dict)
        ]

    def matrix_events(self) -> list[dict[str, Any]]:
        """The room messages the Matrix plugin sent."""
        return [r["json"] for r in self.requests if "/send/m.room.message/" in r["path"]]
