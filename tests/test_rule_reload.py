"""A rule edit while items are being matched: through the real file watcher,
the new rules are compiled off the event loop, which goes on matching with the
old rules until the new set is swapped in whole."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from monitor.rules.files import read_rules
from monitor.rules.rulebook import Rulebook

ITEM = {"title": "Zanzibar cloves fetch record prices", "summary": "Spice traders cheer."}
OLD = "rules:\n  - name: old-spice\n    match: zanzibar\n"
MANY = 4000  # rules whose compiling takes long enough to see the loop at work


def many_rules() -> str:
    """The rule the item matches after the edit, among thousands of others."""
    rules = [{"name": "new-spice", "match": "zanzibar AND (clove* OR nutmeg)"}]
    rules += [
        {
            "name": f"r{i}",
            "match": f'(w{i} OR "w{i} x{i}" OR y{i}*) AND NOT z{i} OR w{i} NEAR/3 v{i}',
        }
        for i in range(MANY)
    ]
    return yaml.safe_dump({"rules": rules})


class Said(logging.Handler):
    """What newsmon logs, and a wait for a line (woken by each record, no polling)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._new = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._new.set()

    async def wait_for(self, text: str, timeout: float = 60.0) -> None:
        async with asyncio.timeout(timeout):
            while not any(text in line for line in self.lines):
                self._new.clear()
                await self._new.wait()


@pytest.fixture
def said() -> Iterator[Said]:
    handler = Said()
    logger = logging.getLogger("newsmon")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_matching_goes_on_with_the_old_rules_while_new_ones_compile(
    tmp_path: Path, said: Said
) -> None:
    # How long compiling the new rules takes here, for the yardstick below.
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / "rules.yaml").write_text(many_rules())
    started = time.perf_counter()
    read_rules(tmp_path / "many")
    compile_s = time.perf_counter() - started

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(OLD)
    book = Rulebook(rules)
    stop = asyncio.Event()
    watcher = asyncio.create_task(book.watch(stop))
    await said.wait_for("watching")

    # Items matched one after another on the event loop, as the pipeline does.
    seen: list[tuple[float, list[str]]] = []
    reloaded = asyncio.Event()

    async def matching() -> None:
        while not reloaded.is_set() or not seen or seen[-1][1] != ["new-spice"]:
            seen.append((time.perf_counter(), [m.rule.name for m in book.current.match(ITEM)]))
            await asyncio.sleep(0)

    matcher = asyncio.create_task(matching())
    edited = time.perf_counter()
    (rules / "rules.yaml").write_text(many_rules())
    await said.wait_for("rules reloaded: 4001 rules")
    reloaded.set()
    await asyncio.wait_for(matcher, 30)
    stop.set()
    await asyncio.wait_for(watcher, 30)

    # Every match used one set whole: the old rules, then the new ones.
    results = [names for _, names in seen]
    switch = results.index(["new-spice"])
    assert results[:switch] == [["old-spice"]] * switch
    assert set(map(tuple, results[switch:])) == {("new-spice",)}
    # While the new rules compiled, the loop kept matching: never stalled for
    # anything like the time compiling takes.
    times = [t for t, _ in seen if t >= edited]
    longest = max(b - a for a, b in pairwise(times))
    assert longest < compile_s / 3, (longest, compile_s)
