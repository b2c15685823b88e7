"""Apprise in a process of its own: the service's channels and their sends.

Apprise sends through requests, about two milliseconds of Python a message,
and importing it with its plugins is a fifth of a second; Python runs one
thread at a time in a process. In the service's process a burst of alerts (a
first start, a rule that starts catching a busy story) took that time from the
event loop, and fetching and matching slowed while the alerts went out. So the
service leaves Apprise to a spawned process, started first thing: it reads the
Apprise config while the service starts (a broken one still stops the start,
naming its file and line), hands back the channels and their ``Route`` (what
the deliverer needs to know of a target), and then sends, each message on a
thread of its own so a slow channel holds up no other.

A send's outcome is whether Apprise delivered it and, if not, the warnings
and errors it logged during that one call. They may quote a target's URL with
its secret: the deliverer masks them. The sending process logs nothing
itself, for the same reason.

A sending process that dies (killed, out of memory) fails the sends it had,
which the outbox retries; the next send starts a new one, which reads the
config again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from monitor.errors import ConfigError
from monitor.notify.channels import Channels
from monitor.notify.deliver import Outcome, Route
from monitor.notify.templates import Form
from monitor.workers import init_worker

log = logging.getLogger(__name__)

# an answer may be late by this much beyond Apprise's own timeout before the
# send counts as failed (the process may be starting, or busy with others)
GRACE_S = 30.0
SEND_THREADS = 16  # sends in flight at once in the sending process
EXITED = "the sending process exited"


class SendingProcess:
    """Reads the Apprise config and sends, from a process of its own; a ``Sender``.

    Use as an async context manager: entering starts the process, ``channels()``
    waits for the config it read.
    """

    def __init__(self, config: Path, *, threads: int = SEND_THREADS) -> None:
        self.config = config
        self._threads = threads
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._read: asyncio.Future[tuple[Channels, dict[str, Route]]] | None = None
        self._routes: dict[str, Route] = {}
        self._pending: dict[int, asyncio.Future[Outcome]] = {}
        self._ids = itertools.count()
        self._closing = False

    def start(self) -> None:
        """Start the process, if not yet started: it may start before the event
        loop does, and read the config while the service imports what it needs."""
        if self._process is None and self.config.exists():
            self._spawn()

    async def __aenter__(self) -> SendingProcess:
        self._loop = asyncio.get_running_loop()
        self._read = self._loop.create_future()
        self.start()
        if self._conn is not None:
            self._loop.add_reader(self._conn.fileno(), self._read_answers)
        else:  # no Apprise config: alerts go to the console, and no process is needed
            self._read.set_result((Channels(), {}))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def channels(self) -> Channels:
        """The channels of the Apprise config (without their Apprise targets,
        which stay in the sending process). Raises ``ConfigError`` as
        ``load_channels`` does."""
        assert self._read is not None, "use SendingProcess as an async context manager"
        channels, self._routes = await self._read
        return channels

    @property
    def routes(self) -> Mapping[str, Route]:
        return self._routes

    async def send(
        self, channel_id: str, title: str, body: str, form: Form, timeout: float
    ) -> Outcome:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self._respawn()
        assert self._conn is not None and self._loop is not None
        request_id = next(self._ids)
        answer = self._loop.create_future()
        self._pending[request_id] = answer
        try:
            self._conn.send((request_id, channel_id, title, body, form, timeout))
            return await asyncio.wait_for(answer, timeout + GRACE_S)
        except (OSError, ValueError):  # the pipe broke: the process is gone
            self._lost(EXITED)
            return False, EXITED
        except TimeoutError:
            return False, f"no answer from the sending process in {timeout + GRACE_S:.0f}s"
        finally:
            self._pending.pop(request_id, None)

    async def close(self) -> None:
        """Let the sends in flight end, then stop the process."""
        self._closing = True
        if self._read is not None and self._read.done() and not self._read.cancelled():
            self._read.exception()  # a broken config the start never came to: no warning
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(None)  # no more: it answers what it has, then exits
        await asyncio.to_thread(process.join, GRACE_S)  # (answered as they come)
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join)
        if not conn.closed:  # what came after the last read
            self._stop_reading(conn)
            with contextlib.suppress(EOFError, OSError):
                while conn.poll():
                    self._answer(conn.recv())
            conn.close()
        self._process = self._conn = None
        self._lost("the service stopped")

    # -- the process and its answers -------------------------------------------
    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve,
            args=(theirs, self.config, self._threads, os.getpid()),
            name="newsmon-send",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours

    def _respawn(self) -> None:
        """A new process for one that is gone (whose answers will not come)."""
        assert self._loop is not None
        if self._conn is not None:
            self._stop_reading(self._conn)
            self._conn.close()
        self._lost(EXITED)
        self._spawn()
        assert self._conn is not None
        self._loop.add_reader(self._conn.fileno(), self._read_answers)

    def _read_answers(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            while conn.poll():
                self._answer(conn.recv())
        except (EOFError, OSError):  # it exited: fail what it had; a send starts anew
            assert self._read is not None
            if not self._read.done():
                self._read.set_exception(RuntimeError(f"{EXITED} before reading the config"))
            elif self._routes and not self._closing:
                log.warning("%s; a new one takes the next alert", EXITED)
            self._stop_reading(conn)
            conn.close()
            self._process = self._conn = None
            self._lost(EXITED)

    def _answer(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "sent":
            _, request_id, delivered, reason = message
            answer = self._pending.get(request_id)
            if answer is not None and not answer.done():
                answer.set_result((delivered, reason))
            return
        assert self._read is not None
        if self._read.done():  # a new process, after one died: the channels are known
            if kind == "error":
                log.warning("the sending process cannot read the Apprise config: %s", message[1])
            return
        if kind == "channels":
            _, channels, routes, notices = message
            for level, text in notices:  # what reading the config logged there
                logging.getLogger("monitor.notify.channels").log(level, "%s", text)
            self._read.set_result((channels, routes))
        else:
            self._read.set_exception(message[1])

    def _stop_reading(self, conn: Connection) -> None:
        if self._loop is not None and not conn.closed:
            self._loop.remove_reader(conn.fileno())

    def _lost(self, why: str) -> None:
        """The sends waiting on a process that is gone fail (the outbox retries them)."""
        for answer in self._pending.values():
            if not answer.done():
                answer.set_result((False, why))
        self._pending.clear()


class _Notices(logging.Handler):
    """What reading the config logs (Apprise's deprecation notices), to pass on."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.notices: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.notices.append((record.levelno, record.getMessage()))


def serve(conn: Connection, config: Path, threads: int, parent: int) -> None:
    """The sending process: read the config and say what it holds, then take
    requests until told to stop, send each on a thread, and answer each as it
    ends."""
    init_worker(parent)
    # Apprise's log entries are handed back with each answer; printed here they
    # could show a target's secret, which only the service knows to mask.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("apprise").propagate = False
    notices = _Notices()
    logging.getLogger("monitor.notify.channels").addHandler(notices)

    from monitor.notify.channels import load_channels
    from monitor.notify.targets import AppriseSender

    try:
        channels = load_channels(config)
        sender = AppriseSender(channels)
    except ConfigError as exc:
        conn.send(("error", exc))
        return
    without_targets = Channels(channels.channels, secrets=channels.secrets)
    conn.send(("channels", without_targets, dict(sender.routes), notices.notices))
    if not sender.routes:  # the console's alerts are printed by the service itself
        return
    answering = threading.Lock()

    def send(
        request_id: int, channel_id: str, title: str, body: str, form: Form, timeout: float
    ) -> None:
        try:
            delivered, reason = sender.send_now(channel_id, title, body, form, timeout)
        except Exception as exc:  # a plugin's bug is this send's failure, not the process's
            delivered, reason = False, f"{type(exc).__name__}: {exc}"
        with answering:
            conn.send(("sent", request_id, delivered, reason))

    with ThreadPoolExecutor(threads, thread_name_prefix="newsmon-send") as pool:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):  # the service is gone
                break
            if request is None:
                break
            pool.submit(send, *request)
