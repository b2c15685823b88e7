"""The ingest benchmark's feeds are what its numbers claim: every item its own
story, each feed's first item one the shipped rules catch, the others quiet.

If they were not, bench_ingest would wait for alerts that never come (a copy
of an earlier story alerts no more), or time alerts it did not expect.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks._harness import ROOT, feed_name, item_link
from benchmarks.bench_ingest import build
from benchmarks.run_all import BENCHES, main
from monitor.core.items import Item
from monitor.core.stories import StoryIndex, signature
from monitor.fetch.parse import parse_feed
from monitor.rules.files import read_rules

FEEDS, ITEMS = 12, 6


def parsed_items() -> tuple[list[Item], frozenset[str]]:
    corpus = build(FEEDS, ITEMS)
    items = []
    for n, (path, document) in enumerate(corpus.documents.items()):
        feed = parse_feed(document.encode(), f"http://127.0.0.1{path}")
        items += [replace(item, feed_title=feed_name(n)) for item in feed.items]
    return items, corpus.hits


def test_every_item_is_its_own_and_only_first_items_match() -> None:
    items, hits = parsed_items()
    rules = read_rules(ROOT / "rules")

    assert len(items) == FEEDS * ITEMS
    for attribute in ("fingerprint", "link", "title"):
        assert len({getattr(item, attribute) for item in items}) == len(items), attribute
    matched = {item.link for item in items if rules.match(item.fields())}
    assert matched == hits == {item_link(n, 0) for n in range(FEEDS)}


def test_the_matching_stories_are_no_copies_of_each_other() -> None:
    items, hits = parsed_items()
    index = StoryIndex()
    for item in (i for i in items if i.link in hits):
        sig = signature(item.title, item.summary or item.content)
        assert index.find(sig, item.link, item.published) is None, item.title
        index.add(item.fingerprint, sig, item.link, item.published)


def test_run_all_knows_every_benchmark_in_the_folder() -> None:
    on_disk = {p.stem for p in Path(ROOT / "benchmarks").glob("bench_*.py")}
    assert on_disk <= {b.name for b in BENCHES}


def test_run_all_refuses_an_unknown_benchmark() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "bench_nothing"])
    assert exit_.value.code == 2
