"""The channels' Apprise targets, and sending to them.

Each channel gets its own ``Apprise`` object holding just its target, so a
message reaches exactly that destination whatever its tags. Apprise runs the
plugin's blocking send and returns an ``AppriseResult`` whose log entries are
captured per call (Apprise 2 keeps them apart for concurrent calls, which a
global ``LogCapture`` handler would mix): those entries are the failure reason
handed back to the outbox.

Apart from ``monitor.notify.channels``, which reads the Apprise config, this is
the one module of the deliverer's that imports Apprise: the service runs it in
its sending process (``monitor.notify.sending``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from apprise import Apprise, AppriseResult, NotifyBase, NotifyFormat

from monitor.notify.channels import Channels, target_url
from monitor.notify.deliver import Outcome, Route
from monitor.notify.mail import MailServer
from monitor.notify.templates import Form

_FORMATS = {"html": NotifyFormat.HTML, "chat": NotifyFormat.MARKDOWN, "text": NotifyFormat.TEXT}
EMAIL_SCHEMES = ("mailto://", "mailtos://")
# Targets that carry the title in a field of its own, read by programs
WEBHOOK_SCHEMES = ("json://", "jsons://", "xml://", "xmls://", "form://", "forms://")


def route_of(target: NotifyBase) -> Route:
    url = target_url(target, privacy=True)
    return Route(
        form="html" if url.startswith(EMAIL_SCHEMES) else "chat",
        titled=url.startswith(WEBHOOK_SCHEMES),
        mail=MailServer.of(target),
    )


def form_of(channels: Channels, channel_id: str) -> Form:
    """The form a channel's messages take: html for email, chat for other targets,
    text on the console."""
    target = channels.target(channel_id)
    return "text" if target is None else route_of(target).form


class AppriseSender:
    """Sends to the channels' targets from this process."""

    def __init__(self, channels: Channels) -> None:
        self._apprise: dict[str, Apprise] = {}
        self._routes: dict[str, Route] = {}
        for channel in channels:
            target = channels.target(channel.id)
            if target is None:
                continue
            one = Apprise()
            one.add(target)
            self._apprise[channel.id] = one
            self._routes[channel.id] = route_of(target)

    @property
    def routes(self) -> Mapping[str, Route]:
        return self._routes

    async def send(
        self, channel_id: str, title: str, body: str, form: Form, timeout: float
    ) -> Outcome:
        """Send in Apprise's worker pool (its plugins block)."""
        result = await self._apprise[channel_id].async_notify(
            **_message(title, body, form, timeout)
        )
        return _outcome(result)

    def send_now(
        self, channel_id: str, title: str, body: str, form: Form, timeout: float
    ) -> Outcome:
        """Send on this thread."""
        return _outcome(self._apprise[channel_id].notify(**_message(title, body, form, timeout)))


def _message(title: str, body: str, form: Form, timeout: float) -> dict[str, Any]:
    return {
        "body": body,
        "title": title,
        "body_format": _FORMATS[form],
        "timeout": timeout,
        "log_level": logging.WARNING,
    }


def _outcome(result: AppriseResult) -> Outcome:
    return (True, None) if result else (False, failure_reason(result))


def failure_reason(result: AppriseResult) -> str:
    """The warnings and errors Apprise logged during one failed call, in order."""
    reasons = [e.message for e in result.logs() if e.level in {"WARNING", "ERROR", "CRITICAL"}]
    if reasons:
        return "; ".join(dict.fromkeys(r.strip() for r in reasons))
    return f"delivery failed ({result.status.name.lower()})"
