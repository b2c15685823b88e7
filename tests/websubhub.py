"""A real WebSub hub on 127.0.0.1, for tests and benchmarks.

It does what the W3C Recommendation asks of a hub: takes subscription requests
(form POST: hub.mode, hub.topic, hub.callback, hub.lease_seconds, hub.secret),
answers 202 and then verifies intent by a GET on the callback with a challenge,
which the subscriber must echo; and publishes by POSTing content to every
verified subscriber of a topic, signed ``X-Hub-Signature: sha256=…`` with the
subscriber's secret. ``deny`` makes it deny every subscription (a GET with
hub.mode=denied), ``refuse`` answer requests 403; ``lease`` is the lease it
grants (else the one asked for).

From synchronous code run it in a thread (``with WebSubHub() as hub``); in an
async test on the test's loop (``async with WebSubHub() as hub``). Its records
and ``wait_for`` may be used from any thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Request:
    """A subscription request as the hub received it."""

    mode: str
    topic: str
    callback: str
    lease_seconds: str | None
    secret: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Verification:
    """A GET the hub made on a callback, and what came back."""

    callback: str
    mode: str
    topic: str
    status: int
    echoed: bool  # the body was the challenge
    lease: float | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Subscriber:
    callback: str
    topic: str
    secret: str | None
    expires: float  # time.monotonic()


class WebSubHub:
    def __init__(
        self, *, lease: float | None = None, deny: bool = False, refuse: bool = False
    ) -> None:
        self.lease = lease
        self.deny = deny
        self.refuse = refuse
        self.port = 0
        self.requests: list[Request] = []
        self.verifications: list[Verification] = []
        self.subscribers: dict[tuple[str, str], Subscriber] = {}
        self._cond = threading.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub"

    # -- waiting ----------------------------------------------------------------
    def wait_for(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise TimeoutError(f"hub: timed out after {timeout}s waiting for {what}")

    async def wait_for_async(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        await asyncio.to_thread(self.wait_for, condition, timeout, what)

    def verified(self, mode: str = "subscribe") -> list[Verification]:
        with self._cond:
            return [v for v in self.verifications if v.mode == mode and v.echoed]

    def live(self, topic: str) -> list[Subscriber]:
        now = time.monotonic()
        with self._cond:
            return [s for s in self.subscribers.values() if s.topic == topic and s.expires > now]

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- the hub ------------------------------------------------------------------
    async def _subscribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        mode, topic, callback = (
            str(form.get(k, "")) for k in ("hub.mode", "hub.topic", "hub.callback")
        )
        lease = form.get("hub.lease_seconds")
        secret = form.get("hub.secret")
        with self._cond:
            self.requests.append(
                Request(
                    mode,
                    topic,
                    callback,
                    str(lease) if lease else None,
                    str(secret) if secret else None,
                )
            )
            self._cond.notify_all()
        if mode not in ("subscribe", "unsubscribe") or not topic or not callback:
            return web.Response(status=400, text="hub.mode, hub.topic and hub.callback, please")
        if self.refuse:
            return web.Response(status=403, text="this hub takes no subscriptions")
        asked = float(str(lease)) if lease else 864000.0
        task = asyncio.create_task(
            self._verify(
                mode, topic, callback, str(secret) if secret else None, self.lease or asked
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _verify(
        self, mode: str, topic: str, callback: str, secret: str | None, lease: float
    ) -> None:
        assert self._session is not None
        if self.deny and mode == "subscribe":
            params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not on this hub"}
            async with self._session.get(callback, params=params) as resp:
                self._record(Verification(callback, "denied", topic, resp.status, False, None))
            return
        challenge = secrets.token_hex(16)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(int(lease))
        async with self._session.get(callback, params=params) as resp:
            body = await resp.text()
        echoed = resp.status == 200 and body == challenge
        with self._cond:
            if echoed and mode == "subscribe":
                self.subscribers[(callback, topic)] = Subscriber(
                    callback, topic, secret, time.monotonic() + lease
                )
            elif echoed:
                self.subscribers.pop((callback, topic), None)
        self._record(Verification(callback, mode, topic, resp.status, echoed, lease))

    def _record(self, verification: Verification) -> None:
        with self._cond:
            self.verifications.append(verification)
            self._cond.notify_all()

    async def verify_intent(
        self, callback: str, mode: str, topic: str, lease: float = 60
    ) -> tuple[int, str]:
        """Ask ``callback`` about ``mode`` on ``topic`` as a hub would, whoever asked."""
        assert self._session is not None
        params = {
            "hub.mode": mode,
            "hub.topic": topic,
            "hub.challenge": "c-" + secrets.token_hex(4),
        }
        params["hub.lease_seconds"] = str(int(lease))
        async with self._session.get(callback, params=params) as resp:
            return resp.status, await resp.text()

    async def apublish(
        self,
        topic: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        secret: str | None = None,
        method: str = "sha256",
        signed: bool = True,
    ) -> list[int]:
        """POST ``body`` to every live subscriber of ``topic``, signed with its
        secret (``secret``: with that one instead, a forgery); their statuses."""
        assert self._session is not None
        statuses = []
        for sub in self.live(topic):
            headers = {
                "Content-Type": content_type,
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
            }
            key = secret if secret is not None else sub.secret
            if signed and key is not None:
                digest = hmac.new(key.encode(), body, getattr(hashlib, method)).hexdigest()
                headers["X-Hub-Signature"] = f"{method}={digest}"
            async with self._session.post(sub.callback, data=body, headers=headers) as resp:
                statuses.append(resp.status)
        return statuses

    def publish(self, topic: str, body: bytes, **kwargs: Any) -> list[int]:
        """``apublish`` from another thread than the hub's."""
        assert self._loop is not None, "publish() is for a hub run in its own thread"
        future = asyncio.run_coroutine_threadsafe(self.apublish(topic, body, **kwargs), self._loop)
        return future.result(30)

    def ask(self, callback: str, mode: str, topic: str) -> tuple[int, str]:
        """``verify_intent`` from another thread than the hub's."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self.verify_intent(callback, mode, topic), self._loop
        )
        return future.result(30)

    # -- running ------------------------------------------------------------------
    async def astart(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/hub", self._subscribe)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def astop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> WebSubHub:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def start(self) -> WebSubHub:
        started = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.astart()
            started.set()
            await self._stop.wait()
            await self.astop()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the hub did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> WebSubHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def advertise(document: str, hub: str, topic: str) -> str:
    """An RSS document (``tests.feedserver.rss``) naming ``hub`` and its
    ``topic`` (self) in atom:link elements, as feeds that are pushed do."""
    links = f'<atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{topic}"/>'
    document = document.replace("<rss ", '<rss xmlns:atom="http://www.w3.org/2005/Atom" ', 1)
    return document.replace("<channel>", "<channel>" + links, 1)


_VOCABULARY = """harbour council budget river festival rail strike museum vaccine drought
election court satellite copper bridge school orchestra glacier tariff ferry refinery
novel stadium pension reef archive census volcano canal startup monsoon lottery
cathedral wheat tunnel embassy marathon cobalt vineyard airline bakery brewery
chess comet dairy dentist desert dolphin eclipse falcon fishery forest fossil garden
granite harvest helicopter highway hospital island jazz jungle kiosk laboratory
lagoon library lighthouse lumber magnet meadow mine mosque mural nursery observatory
opera orchard parade parliament pasture pharmacy pilgrim planetarium plaza poetry
port quarry railway ranch reservoir robot rodeo salmon sculpture shipyard skyscraper
soccer spa subway sugar telescope temple textile theatre tobacco tram tribunal
tulip turbine university valley village violin warehouse waterfall whale windmill
yacht zoo"""
_WORDS = _VOCABULARY.split()


def spice_story(n: int) -> dict[str, str]:
    """A story of its own that the rule ``zanzibar AND spice*`` catches: its
    words drawn at random, so that no two are taken for copies of one story."""
    words = random.Random(n).sample(_WORDS, 16)
    return {
        "title": f"Zanzibar spice {' '.join(words[:6])}",
        "description": " ".join(words[6:]) + f" (report {n})",
        "link": f"https://news.example.org/zanzibar-{n}",
        "guid": f"zanzibar-{n}",
    }
