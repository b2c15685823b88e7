"""Custom templates reload while the service runs: a fixed edit is used from the
next message on, a broken one is logged with its file and line and the last good
text stays in use. Through the real file watcher (``Rulebook.watch``) and the
real Deliverer."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import ChannelOptions
from monitor.core.alerts import Alert
from monitor.notify.channels import Channels, load_channels
from monitor.notify.deliver import Deliverer
from monitor.notify.templatebook import TemplateBook
from monitor.rules.rulebook import Rulebook
from tests.servers import WebhookSink

ALERT = Alert(
    fingerprint="guid:spice-1",
    channel="console",
    title="Zanzibar cloves fetch record prices",
    link="https://news.example.org/spice-1",
    feed="Example World",
    published=datetime(2024, 5, 1, 11, 55, tzinfo=UTC),
    rules=("spice",),
    terms=("zanzibar",),
    snippet="**Zanzibar** cloves",
)


class Said(logging.Handler):
    """What newsmon logs, and a wait for a line (woken by each record, no polling)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._new = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._new.set()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def wait_for(self, text: str, count: int = 1, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while self.count(text) < count:
                self._new.clear()
                await self._new.wait()


@pytest.fixture
def said() -> Iterator[Said]:
    handler = Said()
    logger = logging.getLogger("newsmon")  # its debug lines say when a watch is in place
    level = logger.level
    logging.getLogger().addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        logger.setLevel(level)


def console_deliverer(templates: TemplateBook) -> tuple[Deliverer, io.StringIO]:
    out = io.StringIO()
    return Deliverer(Channels.console(), console=out, templates=templates), out


async def delivered(deliverer: Deliverer, out: io.StringIO, alert: Alert = ALERT) -> str:
    out.seek(0)
    out.truncate()
    assert (await deliverer.deliver(alert)).ok
    return out.getvalue()


# -- the book ----------------------------------------------------------------------


async def test_a_channel_template_edit_is_used_and_a_broken_one_keeps_the_last_good(
    tmp_path: Path, webhook: WebhookSink, said: Said
) -> None:
    (tmp_path / "apprise.txt").write_text(f"chat={webhook.apprise_url('/chat')}\n")
    channels = load_channels(tmp_path / "apprise.txt")
    template = tmp_path / "chat.j2"
    template.write_text("FIRST {{ alert.title }}")
    deliverer = Deliverer(channels, options={"chat": ChannelOptions(template=str(template))})
    [channel] = channels.channels
    alert = Alert(**{**ALERT.to_json(), "channel": channel.id, "published": ALERT.published})

    async def message() -> str:
        assert (await deliverer.deliver(alert)).ok
        return str(webhook.requests[-1]["json"]["message"])

    assert await message() == f"FIRST {ALERT.title}"
    template.write_text("SECOND {{ alert.title | upper }}")
    assert deliverer.templates.refresh() == [str(template)]
    assert await message() == f"SECOND {ALERT.title.upper()}"

    template.write_text("BROKEN\n{{ alert.title | nosuchfilter }}\n")
    assert deliverer.templates.refresh() == []
    error = deliverer.templates.errors[str(template)]
    assert (error.path, error.line) == (str(template), 2)
    assert said.count(f"keeping the last good one: {template}:2: ") == 1
    assert await message() == f"SECOND {ALERT.title.upper()}"
    deliverer.templates.refresh()  # unchanged since: not reported again
    assert said.count("keeping the last good one") == 1

    template.unlink()  # an editor saving by rename, or a slip
    assert deliverer.templates.refresh() == []
    assert said.count(f"{template}: cannot read template") == 1
    assert await message() == f"SECOND {ALERT.title.upper()}"

    template.write_text("THIRD {{ alert.feed }}")
    assert deliverer.templates.refresh() == [str(template)]
    assert str(template) not in deliverer.templates.errors
    assert await message() == "THIRD Example World"


async def test_a_rule_template_is_read_again_when_it_changes(tmp_path: Path) -> None:
    template = tmp_path / "spice.j2"
    template.write_text("SPICE {{ alert.title }}")
    book = TemplateBook()
    deliverer, out = console_deliverer(book)
    alert = Alert(**{**ALERT.to_json(), "published": ALERT.published, "template": str(template)})
    assert f"SPICE {ALERT.title}" in await delivered(deliverer, out, alert)

    template.write_text("HOT SPICE {{ alert.title }}")
    book.refresh()
    assert f"HOT SPICE {ALERT.title}" in await delivered(deliverer, out, alert)


async def test_a_broken_rule_template_of_an_old_alert_gives_the_default(
    tmp_path: Path, said: Said
) -> None:
    """An alert in the outbox whose rule is gone, and its template broken since."""
    template = tmp_path / "gone.j2"
    template.write_text("{% if %}")
    deliverer, out = console_deliverer(TemplateBook())
    alert = Alert(**{**ALERT.to_json(), "published": ALERT.published, "template": str(template)})
    text = await delivered(deliverer, out, alert)
    assert ALERT.title in text and "{%" not in text
    assert said.count(f"using the default: {template}:1: template syntax error") == 1
    await delivered(deliverer, out, alert)
    assert said.count("using the default") == 1  # reported once, not at every alert


async def test_a_template_that_fails_on_a_real_alert_still_sends_it(
    tmp_path: Path, said: Said
) -> None:
    template = tmp_path / "picky.j2"
    # fine on the sample alerts; fails on a title with "cloves"
    template.write_text("PICKY\n{% if 'cloves' in alert.title %}{{ alert.price }}{% endif %}\n")
    deliverer, out = console_deliverer(TemplateBook())
    alert = Alert(**{**ALERT.to_json(), "published": ALERT.published, "template": str(template)})
    text = await delivered(deliverer, out, alert)
    assert ALERT.title in text and "PICKY" not in text
    assert said.count(f"{template}:2: template failed: UndefinedError") == 1


# -- the watcher -------------------------------------------------------------------


@pytest.fixture
async def watching(tmp_path: Path, said: Said) -> AsyncIterator[Rulebook]:
    """A Rulebook on tmp_path/rules, its watch running."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "spice.yaml").write_text("rules:\n  - name: spice\n    match: zanzibar\n")
    book = Rulebook(rules)
    stop = asyncio.Event()
    task = asyncio.create_task(book.watch(stop))
    await said.wait_for("watching")
    try:
        yield book
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_the_watcher_reloads_a_channel_template_in_its_own_directory(
    tmp_path: Path, watching: Rulebook, said: Said
) -> None:
    (tmp_path / "config").mkdir()
    template = tmp_path / "config" / "chat.j2"
    template.write_text("FIRST {{ alert.title }}")
    watching.templates.add(str(template), "chat")  # as the Deliverer does at start
    deliverer, out = console_deliverer(watching.templates)
    alert = Alert(**{**ALERT.to_json(), "published": ALERT.published, "template": str(template)})
    # the watch starts over on the template's directory too
    await said.wait_for(f"watching {template.parent.resolve()}")

    template.write_text("SECOND {{ alert.title }}")
    await said.wait_for(f"template reloaded: {template}")
    assert f"SECOND {ALERT.title}" in await delivered(deliverer, out, alert)

    template.write_text("SECOND\n\n{% for %}\n")
    await said.wait_for(f"keeping the last good one: {template}:3: template syntax error")
    assert f"SECOND {ALERT.title}" in await delivered(deliverer, out, alert)

    template.write_text("THIRD {{ alert.title }}")
    await said.wait_for(f"template reloaded: {template}", count=2)
    assert f"THIRD {ALERT.title}" in await delivered(deliverer, out, alert)


async def test_a_rule_that_names_a_template_elsewhere_brings_it_under_watch(
    tmp_path: Path, watching: Rulebook, said: Said
) -> None:
    (tmp_path / "messages").mkdir()
    template = tmp_path / "messages" / "spice.j2"
    template.write_text("SPICE {{ alert.title }}")
    (watching.directory / "spice.yaml").write_text(
        "rules:\n  - name: spice\n    match: zanzibar\n    template: ../messages/spice.j2\n"
    )
    await said.wait_for("rules reloaded")
    await said.wait_for(f"watching {template.parent.resolve()}")  # the watch started over there too
    [rule] = watching.current.rules
    assert rule.template is not None and Path(rule.template).resolve() == template

    template.write_text("HOT SPICE {{ alert.title }}")
    await said.wait_for("template reloaded")
    deliverer, out = console_deliverer(watching.templates)
    alert = Alert(**{**ALERT.to_json(), "published": ALERT.published, "template": rule.template})
    assert f"HOT SPICE {ALERT.title}" in await delivered(deliverer, out, alert)
