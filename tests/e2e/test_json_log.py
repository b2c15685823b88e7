"""``newsmon --log-format json run``: every line of the log one JSON object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.e2e.conftest import Service, wait_until
from tests.e2e.test_service import SEED_ITEM
from tests.feedserver import rss

pytestmark = pytest.mark.e2e

NEWSMON = (sys.executable, "-m", "monitor")


def test_the_json_log_is_one_object_a_line(service: Service) -> None:
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM]))
    service.webhook.fail_next(1)  # a delivery failure: a warning in the log too
    log = service.root / "json.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*NEWSMON, "--log-format", "json", "run", "--config", str(service.config)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=service.root,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_until(lambda: "newsmon running" in log.read_text(), 30, "the start line")
            service.webhook.wait_for(1, timeout=30)  # delivered after the failed attempt
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # each line parses, or this fails
    assert all(isinstance(r, dict) for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    [start] = [r for r in records if r["message"].startswith("newsmon running")]
    assert (start["level"], start["logger"]) == ("INFO", "newsmon")
    assert "1 feeds" in start["message"]
    assert any(r["level"] == "WARNING" and "not delivered" in r["message"] for r in records)
    assert records[-1]["message"] == "stopped"
