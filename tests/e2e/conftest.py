"""Run ``newsmon run`` as a real process against real loopback servers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.servers import SmtpSink, WebhookSink

REPO = Path(__file__).resolve().parents[2]


class Service:
    """A workspace (config, rules, Apprise config, data) and the service running on it."""

    def __init__(self, root: Path, feeds: FeedServer, smtp: SmtpSink, webhook: WebhookSink) -> None:
        self.root = root
        self.feeds = feeds
        self.smtp = smtp
        self.webhook = webhook
        self.rules = root / "rules"
        self.config = root / "config" / "monitor.yaml"
        self.log = root / "service.log"
        self.process: subprocess.Popen[bytes] | None = None
        shutil.copytree(REPO / "rules", self.rules)
        self.config.parent.mkdir()
        (root / "config" / "apprise.yml").write_text(
            "version: 1\nurls:\n"
            f"  - {smtp.apprise_url()}:\n      tag: email\n"
            f"  - {webhook.apprise_url('/chat')}:\n      tag: chat\n"
        )
        self.write_config(["/world.rss"])

    def write_config(self, paths: list[str]) -> None:
        feeds = "".join(
            f"  - url: {self.feeds.url(p)}\n    name: Loopback {p}\n    interval: 1s\n"
            for p in paths
        )
        self.config.write_text(
            f"feeds:\n{feeds}rules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n"
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

    def start(self) -> None:
        assert self.process is None
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(self.config)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.wait_log("newsmon running")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self._log_file.close()
        self.process = None
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 30.0, count: int = 1) -> None:
        try:
            wait_until(lambda: self._seen(text, count), timeout, f"log line {text!r}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the service said:\n{self.output()[-3000:]}") from None

    def _seen(self, text: str, count: int) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the service exited with {self.process.returncode}")
        return self.output().count(text) >= count

    def wait_polls(self, path: str, n: int, timeout: float = 30.0) -> None:
        """Wait until the feed at ``path`` has been requested ``n`` more times."""
        start = len(self.feeds.requests_to(path))
        wait_until(lambda: len(self.feeds.requests_to(path)) >= start + n, timeout, f"{n} polls")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with FeedServer() as feeds, SmtpSink() as smtp, WebhookSink() as webhook:
        svc = Service(tmp_path, feeds, smtp, webhook)
        try:
            yield svc
        finally:
            if svc.process is not None:
                svc.process.kill()
                svc.process.wait()
