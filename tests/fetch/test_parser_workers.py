"""The parser's worker processes never outlive the service, even after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from monitor.fetch.parse import FeedParser
from monitor.workers import NICE

SERVICE = """
import asyncio, os
from monitor.fetch.parse import FeedParser

async def main():
    parser = FeedParser(max_workers=2)
    body = (b'<rss version="2.0"><channel><title>t</title>'
            b'<item><title>a</title></item></channel></rss>')
    await parser.parse(body, "http://127.0.0.1/f.rss")
    pids = [p.pid for p in parser._executor._processes.values()]
    print(" ".join(map(str, pids)), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux parent-death signal")
def test_workers_end_when_the_service_is_killed() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True)
    assert service.stdout is not None
    workers = [int(pid) for pid in service.stdout.readline().split()]
    assert workers and all(alive(pid) for pid in workers)

    service.send_signal(signal.SIGKILL)
    service.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


async def test_the_parser_processes_yield_the_cpu_to_the_service() -> None:
    async with FeedParser(max_workers=2) as parser:
        body = b'<rss version="2.0"><channel><item><title>a</title></item></channel></rss>'
        await parser.parse(body, "http://127.0.0.1/f.rss")
        assert isinstance(parser._executor, ProcessPoolExecutor)
        pids = [p.pid for p in parser._executor._processes.values()]
        service = os.getpriority(os.PRIO_PROCESS, 0)
        assert pids
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == min(19, service + NICE) for pid in pids)
