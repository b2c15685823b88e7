"""Run ``newsmon run`` as real processes against real loopback servers.

A ``Service`` is one workspace (config, rules, Apprise config, data) and the
worker processes running on it: one for the embedded default, several sharing
the work in distributed mode (``stream: kafka://…``, ``storage: postgresql://…``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.feedserver import FeedServer
from tests.servers import SmtpSink, WebhookSink

REPO = Path(__file__).resolve().parents[2]
MAIN = "service"  # the worker an embedded test runs; its log is service.log
ADMIN_ADDR = "ops@example.org"  # where the admin channel's email goes
# alerts.check_every of a workspace: how often its service looks in the outbox
# for what came due (retries, the end of quiet hours, digests); 5 s unless set
CHECK_EVERY = 0.5


class Worker:
    """One ``newsmon run`` process on the workspace, logging to ``<name>.log``."""

    def __init__(self, service: Service, name: str) -> None:
        self.service = service
        self.name = name
        self.log = service.root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> Worker:
        assert self.process is None, f"worker {self.name} is already running"
        started_at = len(self.output())  # a restart appends to the same log
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "--log-level",
                self.service.log_level,
                "run",
                "--config",
                str(self.service.config),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.service.cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        if wait:
            self.wait_log("newsmon running", since=started_at)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the process and wait for it to exit; its exit code."""
        assert self.process is not None, f"worker {self.name} is not running"
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log_file.close()
            self.process = None
        return code

    def kill(self) -> None:
        """kill -9: no draining, no goodbye to the broker or the database."""
        self.stop(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, text: str, timeout: float = 30.0, count: int = 1, since: int = 0) -> None:
        """Wait until ``text`` appears ``count`` times in the log after offset ``since``."""
        try:
            wait_until(lambda: self._seen(text, count, since), timeout, f"log line {text!r}")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; worker {self.name} said:\n{self.output()[-3000:]}"
            ) from None

    def _seen(self, text: str, count: int, since: int) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}")
        return self.output()[since:].count(text) >= count


class Service:
    """A workspace and the workers running on it.

    The keyword arguments go to config/monitor.yaml: ``stream``, ``storage``,
    ``app_id`` and ``partitions`` when given (distributed mode), and the poll
    ``interval`` of every feed. ``options`` holds those and any other top-level
    setting (e.g. ``fetch``) for the next ``write_config``; ``alerts.check_every``
    is ``CHECK_EVERY`` unless ``options["alerts"]`` says otherwise.
    """

    def __init__(
        self,
        root: Path,
        feeds: FeedServer,
        smtp: SmtpSink,
        webhook: WebhookSink,
        *,
        stream: str | None = None,
        storage: str | None = None,
        app_id: str | None = None,
        partitions: int | None = None,
        interval: str = "1s",
        log_level: str = "INFO",
    ) -> None:
        self.root = root
        self.cwd = root  # where the workers are started from
        self.feeds = feeds
        self.smtp = smtp
        self.webhook = webhook
        self.options: dict[str, Any] = {
            key: value
            for key, value in (
                ("stream", stream),
                ("storage", storage),
                ("app_id", app_id),
                ("partitions", partitions),
            )
            if value is not None
        }
        self.interval = interval
        self.log_level = log_level
        self.rules = root / "rules"
        self.config = root / "config" / "monitor.yaml"
        self.workers: dict[str, Worker] = {}
        shutil.copytree(REPO / "rules", self.rules)
        self.config.parent.mkdir()
        self.write_channels(email=True, chat=True)
        self.write_config(["/world.rss"])

    def write_channels(self, *, email: bool, chat: bool, admin: bool = False) -> None:
        """config/apprise.yml: the SMTP sink tagged ``email``, the webhook tagged ``chat``,
        and with ``admin`` the SMTP sink again, to ``ADMIN_ADDR``, tagged ``admin``."""
        urls = ""
        if email:
            urls += f"  - {self.smtp.apprise_url()}:\n      tag: email\n"
        if chat:
            urls += f"  - {self.webhook.apprise_url('/chat')}:\n      tag: chat\n"
        if admin:
            urls += f"  - {self.smtp.apprise_url(to=ADMIN_ADDR)}:\n      tag: admin\n"
        (self.root / "config" / "apprise.yml").write_text(
            f"version: 1\nurls:\n{urls}" if urls else "version: 1\nurls: []\n"
        )

    def write_config(self, paths: list[str]) -> None:
        feeds = "".join(
            f"  - url: {self.feeds.url(p)}\n    name: Loopback {p}\n    interval: {self.interval}\n"
            for p in paths
        )
        alerts = {"check_every": f"{CHECK_EVERY}s", **self.options.get("alerts", {})}
        options = yaml.safe_dump({**self.options, "alerts": alerts}, sort_keys=False)
        self.config.write_text(
            f"feeds:\n{feeds}rules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n{options}"
        )

    def newsmon(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.root,
            check=False,
            **kwargs,  # type: ignore[call-overload]
        )

    # -- workers -------------------------------------------------------------

    def worker(self, name: str = MAIN) -> Worker:
        """The worker called ``name``, created (not started) on first use."""
        if name not in self.workers:
            self.workers[name] = Worker(self, name)
        return self.workers[name]

    def start(self, name: str = MAIN, *, wait: bool = True) -> Worker:
        return self.worker(name).start(wait=wait)

    def stop(self, sig: int = signal.SIGTERM, name: str = MAIN) -> int:
        return self.worker(name).stop(sig)

    def kill_all(self) -> None:
        for worker in self.workers.values():
            if worker.process is not None:
                worker.kill()

    # The main worker, for tests that run one.
    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.worker().process

    @property
    def log(self) -> Path:
        return self.worker().log

    def output(self) -> str:
        return self.worker().output()

    def wait_log(self, text: str, timeout: float = 30.0, count: int = 1) -> None:
        self.worker().wait_log(text, timeout, count)

    def wait_polls(self, path: str, n: int, timeout: float = 30.0) -> None:
        """Wait until the feed at ``path`` has been requested ``n`` more times."""
        self.wait_polls_of([path], n, timeout)

    def wait_polls_of(self, paths: list[str], n: int, timeout: float = 30.0) -> None:
        """Wait until every feed in ``paths`` has been requested ``n`` more times
        than now (they are polled meanwhile, not one after the other)."""
        start = {path: len(self.feeds.requests_to(path)) for path in paths}

        def polled() -> bool:
            return all(len(self.feeds.requests_to(p)) >= start[p] + n for p in paths)

        wait_until(polled, timeout, f"{n} polls of {len(paths)} feed(s)")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def loopback() -> Iterator[tuple[FeedServer, SmtpSink, WebhookSink]]:
    """The feed server, SMTP sink and webhook sink a workspace talks to."""
    with FeedServer() as feeds, SmtpSink() as smtp, WebhookSink() as webhook:
        yield feeds, smtp, webhook


@pytest.fixture
def service(
    tmp_path: Path, loopback: tuple[FeedServer, SmtpSink, WebhookSink]
) -> Iterator[Service]:
    svc = Service(tmp_path, *loopback)
    try:
        yield svc
    finally:
        svc.kill_all()
