"""Real loopback servers for delivery tests: an SMTP sink and a webhook sink.

Each runs its own event loop in a background thread, so the same object serves
sync tests (which may run ``newsmon run`` as a subprocess) and async tests alike.
Both bind 127.0.0.1 on a free port and are context managers::

    with SmtpSink() as smtp, WebhookSink() as hook:
        urls = [smtp.apprise_url(), hook.apprise_url()]
        ...
        smtp.wait_for(1, timeout=10)

``wait_for`` blocks the calling thread; from a coroutine use ``await
sink.wait_for_async(n, timeout)`` so the test's own loop keeps running.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import Message
from typing import Any, Generic, TypeVar

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

T = TypeVar("T")

FROM_ADDR = "newsmon@example.org"
TO_ADDR = "analyst@example.org"


class _Collector(Generic[T]):
    """A thread-safe list that waiters can block on until it holds n entries."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._cond = threading.Condition()

    def add(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def snapshot(self) -> list[T]:
        with self._cond:
            return list(self._items)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def wait_for(self, n: int, timeout: float, what: str) -> list[T]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) >= n, timeout):
                raise TimeoutError(f"expected {n} {what} within {timeout}s, got {len(self._items)}")
            return list(self._items)


# --------------------------------------------------------------------------- SMTP


class _Session(Session):
    """aiosmtpd sets the deprecated ``login_data`` on every successful AUTH and
    warns; keep the value without the warning (warnings are process-wide)."""

    @property  # type: ignore[override]
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _SMTP(SMTP):
    def _create_session(self) -> Session:
        return _Session(self.loop)


class _FreePortController(Controller):
    """aiosmtpd's Controller bound to port 0: learn the real port before the
    readiness probe, which connects to ``self.port``."""

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it receives.

    It accepts AUTH LOGIN/PLAIN over plain text (loopback only) for ``user`` /
    ``password`` and rejects other credentials, so a mailto:// URL with
    credentials is exercised for real.
    """

    def __init__(self, user: str = "newsmon", password: str = "s3cret-pass") -> None:
        self.user = user
        self.password = password
        self.port = 0
        self.logins: list[str] = []
        self._received: _Collector[Message] = _Collector()
        self._controller = _FreePortController(
            self,
            hostname="127.0.0.1",
            port=0,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )

    # aiosmtpd handler hook
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self._received.add(message)
        return "250 Message accepted for delivery"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        if (user, password) != (self.user, self.password):
            return AuthResult(success=False, handled=False)
        self.logins.append(user)
        return AuthResult(success=True)

    def start(self) -> SmtpSink:
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def apprise_url(self, to: str = TO_ADDR, sender: str = FROM_ADDR) -> str:
        """A mailto:// URL that delivers here: plain SMTP (``mailto``, not
        ``mailtos``, selects Apprise's insecure mode) with credentials."""
        return f"mailto://{self.user}:{self.password}@127.0.0.1:{self.port}?from={sender}&to={to}"

    @property
    def messages(self) -> list[Message]:
        return self._received.snapshot()

    def clear(self) -> None:
        self._received.clear()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Message]:
        return self._received.wait_for(n, timeout, "emails")

    async def wait_for_async(self, n: int, timeout: float = 10.0) -> list[Message]:
        return await asyncio.to_thread(self.wait_for, n, timeout)


def text_of(message: Message) -> str:
    """The plain-text body of an email (its text/plain part when multipart)."""
    part: Any = message
    if message.is_multipart():
        part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    charset = part.get_content_charset() or "utf-8"
    return str(payload.decode(charset))


# ------------------------------------------------------------------------ webhook


class WebhookSink:
    """An aiohttp server on 127.0.0.1 that keeps the JSON body of every POST.

    ``fail_next(n)`` makes the next n requests answer 500 (and not be kept), to
    exercise retries.
    """

    def __init__(self) -> None:
        self.port = 0
        self._received: _Collector[dict[str, Any]] = _Collector()
        self._fail_lock = threading.Lock()
        self._fail_remaining = 0
        self._fail_status = 500
        self.failed_requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        with self._fail_lock:
            failing = self._fail_remaining > 0
            if failing:
                self._fail_remaining -= 1
                self.failed_requests += 1
        if failing:
            return web.Response(status=self._fail_status, text="sink told to fail")
        body = await request.json()
        self._received.add(
            {
                "path": request.path,
                "headers": dict(request.headers),
                "json": body,
                "at": time.monotonic(),  # when it arrived (benchmarks time alerts by it)
            }
        )
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> WebhookSink:
        ready = threading.Event()
        error: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the starting thread
                error.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-sink", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def apprise_url(self, path: str = "/hook") -> str:
        """A json:// URL that posts here (Apprise's JSON plugin, plain HTTP)."""
        return f"json://127.0.0.1:{self.port}{path}"

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._fail_lock:
            self._fail_remaining = n
            self._fail_status = status

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every kept request: ``{"path", "headers", "json", "at"}``."""
        return self._received.snapshot()

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of the kept requests, in arrival order."""
        return [r["json"] for r in self._received.snapshot()]

    def clear(self) -> None:
        self._received.clear()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Any]:
        return [r["json"] for r in self._received.wait_for(n, timeout, "webhook posts")]

    async def wait_for_async(self, n: int, timeout: float = 10.0) -> list[Any]:
        return await asyncio.to_thread(self.wait_for, n, timeout)


def free_port() -> int:
    """A TCP port free on loopback now, for a service under test to listen on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
