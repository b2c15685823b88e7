"""A progress bar on a long ``newsmon eval``: on standard error when it is a
terminal, never in a pipe (a script reading the output sees none)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Service

pytestmark = pytest.mark.e2e

ITEMS = 2_500  # above the size that is worth a bar


def labelled(service: Service) -> str:
    path = service.root / "labelled.jsonl"
    lines = (
        json.dumps({"id": n, "title": f"Story {n} about tariffs on steel", "relevant": n % 2 == 0})
        for n in range(ITEMS)
    )
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run_on_terminal(args: list[str], stdout: Path) -> tuple[int, bytes]:
    """Run with standard error on a pseudo-terminal (standard output to a
    file): the exit code and what the terminal got."""
    leader, follower = pty.openpty()
    with stdout.open("wb") as out:
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=follower,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        terminal += chunk
    os.close(leader)
    return process.wait(timeout=60), terminal


def test_eval_shows_a_progress_bar_on_a_terminal_only(service: Service) -> None:
    path = labelled(service)
    args = [sys.executable, "-m", "monitor", "eval", "--input", path]
    args += ["--config", str(service.config)]

    code, terminal = run_on_terminal(args, service.root / "report.txt")
    stdout = (service.root / "report.txt").read_text()
    assert code == 0, terminal.decode(errors="replace")
    assert b"evaluating" in terminal
    assert f"/{ITEMS}".encode() in terminal.replace(b",", b"")  # "n/2500", rich's count
    assert "precision" in stdout  # the report itself, on standard output as always

    piped = service.newsmon("eval", "--input", path)
    assert piped.returncode == 0
    assert "evaluating" not in piped.stderr and "━" not in piped.stderr
    assert piped.stdout == stdout
