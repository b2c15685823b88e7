"""Subscription requests to WebSub hubs: one form POST each, problems as data.

A hub answers 202 Accepted and verifies the request later, by calling our
callback (``monitor.push.server``); any other answer is the request's failure,
reported with the hub's own words, so the log says why a hub refused.
"""

from __future__ import annotations

from types import TracebackType

import aiohttp

from monitor import USER_AGENT

REQUEST_TIMEOUT = 30.0
_REASON_CHARS = 300  # of the hub's answer, in the log and the store


class HubClient:
    """One aiohttp session for every hub; use as ``async with HubClient() as hub``."""

    def __init__(self, timeout: float = REQUEST_TIMEOUT, user_agent: str = USER_AGENT) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HubClient:
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": self.user_agent},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        hub: str,
        mode: str,
        topic: str,
        callback: str,
        *,
        secret: str,
        lease_s: float | None = None,
    ) -> str | None:
        """Ask ``hub`` to (un)subscribe ``callback`` to ``topic``: None when it
        took the request (2xx), else why not, in one line. Never raises for
        network or HTTP problems."""
        if self._session is None:
            raise RuntimeError("HubClient is not open: use `async with HubClient() as hub`")
        form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
        if mode == "subscribe":
            form["hub.secret"] = secret
            if lease_s is not None:
                form["hub.lease_seconds"] = str(int(lease_s))
        try:
            async with self._session.post(hub, data=form) as resp:
                if 200 <= resp.status < 300:
                    return None
                text = " ".join((await resp.text(errors="replace")).split())
                reason = f"HTTP {resp.status} {resp.reason or ''}".rstrip()
                return f"{reason}: {text[:_REASON_CHARS]}" if text else reason
        except TimeoutError:
            return f"timed out after {self.timeout:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}".rstrip(": ")
