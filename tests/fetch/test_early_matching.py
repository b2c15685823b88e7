"""The parser processes match the items they parse (monitor.rules.early), and
what a user is alerted about stays what the service's own rules say: the
parsers' matches are the service's, rules edited on disk but not reloaded
are never used early, and the match stage matches again whatever was matched
under other rules or has changed on the way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.bench_ingest import build
from monitor.config import load_settings
from monitor.core.alerts import Fired
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser, parse_feed
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.rules import early
from monitor.rules.early import EarlyMatches, Matches, match_early
from monitor.rules.files import read_rules, read_rules_from
from monitor.rules.rulebook import Rulebook
from monitor.store import open_store

RULES = Path(__file__).resolve().parents[2] / "rules"
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def fired_here(items: list[Item], rules_dir: Path) -> dict[str, tuple[Fired, ...]]:
    rules = read_rules(rules_dir)
    found = {}
    for item in items:
        fields = item.fields()
        fired = tuple(m.fired(fields) for m in rules.match(fields))
        if fired:
            found[item.fingerprint] = fired
    return found


async def test_the_parser_processes_match_as_the_service_does() -> None:
    corpus = build(8, 25)  # each feed's first item a story the shipped rules catch
    rulebook = Rulebook(RULES)
    parser = FeedParser(max_workers=2)
    parser.match_with(lambda: rulebook.on_disk)
    async with parser:
        for path, document in corpus.documents.items():
            url = f"http://feeds.example.org{path}"
            # the first feeds may come before a process has built the rules
            for _ in range(500):
                parsed = await parser.parse(document.encode(), url)
                if parsed.matches is not None:
                    break
            assert parsed.matches is not None
            assert parsed.matches.digest == rulebook.on_disk.digest
            assert parsed.matches.fired == fired_here(parsed.items, RULES)
            assert len(parsed.matches.fired) == 1


def test_rules_edited_on_disk_are_used_early_only_once_the_service_reloads(
    tmp_path: Path,
) -> None:
    (tmp_path / "spice.yaml").write_text("rules:\n  - name: cloves\n    match: zanzibar\n")
    _, read = read_rules_from(tmp_path)
    (tmp_path / "spice.yaml").write_text("rules:\n  - name: nutmeg\n    match: grenada\n")
    document = (
        b'<rss version="2.0"><channel><title>Spice</title><item><title>Zanzibar cloves and'
        b" Grenada nutmeg fetch records</title><link>https://a.example.org/1</link></item>"
        b"</channel></rss>"
    )
    items = parse_feed(document, "https://a.example.org/rss").items

    building = early.prepare(read)
    assert building is not None
    building.join()
    # the files on disk are not what the service's rules were built from
    assert match_early(items, read) is None
    assert early.prepare(read) is None  # and are not read again for those rules

    _, reloaded = read_rules_from(tmp_path)  # the service's reload
    building = early.prepare(reloaded)
    assert building is not None
    building.join()
    matches = match_early(items, reloaded)
    assert matches is not None
    assert [f.rule for f in matches.fired[items[0].fingerprint]] == ["nutmeg"]


def story(n: int, title: str) -> Item:
    return Item(
        fingerprint=f"guid:{n}",
        feed="https://a.example.org/rss",
        feed_title="A",
        title=title,
        summary="",
        content="",
        link=f"https://a.example.org/{n}",
        published=NOW - timedelta(minutes=5),
    )


def said(rule: str) -> Fired:
    return Fired(rule=rule, notify=(), terms=("Taiwan",), snippet="**Taiwan**")


@pytest.fixture
async def stages(tmp_path: Path) -> AsyncIterator[Stages]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "strait.yaml").write_text("rules:\n  - name: strait\n    match: Taiwan\n")
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      - tag: chat\n"
    )
    (tmp_path / "monitor.yaml").write_text(
        "feeds:\n  - url: https://a.example.org/rss\nrules: rules\nnotify: apprise.yml\n"
        f"data_dir: data\nstorage: sqlite:///{tmp_path / 'state.db'}\n"
    )
    settings = load_settings(tmp_path / "monitor.yaml")
    store = await open_store(settings.storage)
    try:
        async with Fetcher() as fetcher, FeedParser(thread=True) as parser:
            yield Stages.build(
                settings,
                store=store,
                rulebook=Rulebook(settings.rules_dir),
                deliverer=Deliverer(load_channels(settings.apprise_config)),
                fetcher=fetcher,
                parser=parser,
                clock=lambda: NOW,
            )
    finally:
        await store.close()


async def test_the_match_stage_takes_an_early_match_made_with_its_own_rules(
    stages: Stages,
) -> None:
    matching = stages.matching
    quiet = story(1, "Harbour reopens after storm repairs")
    # what the parser found fired stands: the stage does not match it again
    matching.early.add(
        [quiet], Matches(matching.rulebook.on_disk.digest, {"guid:1": (said("strait"),)})
    )
    sent = await matching.match_all([quiet])
    assert [(p.alert.title, p.alert.rules) for p in sent] == [(quiet.title, ("strait",))]
    assert len(matching.early) == 0


async def test_the_match_stage_matches_again_what_was_matched_with_other_rules(
    stages: Stages,
) -> None:
    matching = stages.matching
    first, second = story(1, "Taiwan chip exports hit a record"), story(2, "Harbour reopens")
    # matched by a parser with rules the service has since replaced
    matching.early.add([first, second], Matches("other rules", {"guid:2": (said("old"),)}))
    sent = await matching.match_all([first, second])
    assert [(p.alert.title, p.alert.rules) for p in sent] == [(first.title, ("strait",))]


async def test_an_item_changed_on_its_way_is_matched_again(stages: Stages) -> None:
    matching = stages.matching
    item = story(1, "Harbour reopens after storm repairs")
    matching.early.add([item], Matches(matching.rulebook.on_disk.digest, {"guid:1": (said("x"),)}))
    renamed = replace(item, feed_title="Another name")  # as a push is given its feed's name
    assert await matching.match_all([renamed]) == []


def test_early_matches_held_for_the_match_stage_are_bounded() -> None:
    held = EarlyMatches(held=3)
    items = [story(n, f"Story {n}") for n in range(5)]
    held.add(items, Matches("d", {}))
    assert len(held) == 3
    assert held.take(items[0], "d") is None  # the oldest went first
    assert held.take(items[4], "d") == []
