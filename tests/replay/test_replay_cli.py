"""End to end: ``python -m monitor replay`` as a user runs it, against a config
whose store was filled through the real store API with a week and more of
news from several feeds, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.items import Item
from monitor.core.stories import StoryEntry
from monitor.store import open_store

RULES = """\
entities:
  Taiwan: [Taiwan, Taipei, "Taiwan Strait"]
rules:
  - name: taiwan-military
    match: '@Taiwan AND (drill* OR warship* OR military)'
  - name: chip-export-curbs
    any: [semiconductor*, chip*]
    all: ["export controls"]
"""

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Seen:
    """An item as the service recorded it: when, and the story it filed it under."""

    item: Item
    days_ago: float
    story: str | None = None


def news(fp: str, feed: str, feed_title: str, title: str, summary: str, content: str = "") -> Item:
    return Item(
        fingerprint=fp,
        feed=feed,
        feed_title=feed_title,
        title=title,
        summary=summary,
        content=content,
        link=f"https://{feed.split('/')[2]}/news/{fp}",
        published=None,
    )


BBC = "https://feeds.bbci.co.uk/news/world/rss.xml"
WIRE = "https://wire.example.net/world.rss"
GUARDIAN = "https://www.theguardian.com/world/rss"
NPR = "https://feeds.npr.org/1004/rss.xml"
DW = "https://rss.dw.com/rdf/rss-en-world"
ALJAZEERA = "https://www.aljazeera.com/xml/rss/all.xml"

DRILLS = "China stages military drills around Taiwan"
DRILLS_COPY = "Beijing launches drills encircling Taiwan, state media say"
BY_ELECTION = "Opposition wins Taipei by-election"
CHIPS = "US tightens export controls on advanced chips to China"
COOKIES = "Holiday baking: the best chocolate chip cookies"
WARSHIPS = "Warships shadow carrier group in the Taiwan Strait"
HAN_KUANG = "Taiwan's military opens annual Han Kuang exercises"  # more than a week ago
BONN = "Climate talks stall in Bonn as rich and poor nations split"

ITEMS = [
    Seen(news("hk", BBC, "BBC World", HAN_KUANG, "Live-fire drills on the west coast."), 9.2, "hk"),
    Seen(
        news("drills", BBC, "BBC World", DRILLS, "Warships and jets surround the island."),
        6.0,
        "drills",
    ),
    Seen(
        news("drills-wire", WIRE, "Example Wire", DRILLS_COPY, "The exercise follows a speech."),
        5.99,
        "drills",  # a copy of the story above, from another outlet
    ),
    Seen(
        news("vote", GUARDIAN, "The Guardian", BY_ELECTION, "A blow to the governing party."),
        5.98,
    ),
    Seen(
        news(
            "chips",
            NPR,
            "NPR World",
            CHIPS,
            "The Commerce Department widened its rules.",
            "New export controls cover semiconductor equipment and AI chips.",
        ),
        3.0,
        "chips",
    ),
    Seen(news("cookies", BBC, "BBC World", COOKIES, "Chips, butter and patience."), 2.0),
    Seen(
        news("warships", DW, "DW World", WARSHIPS, "Two destroyers sailed north on Tuesday."),
        1.0,
        "warships",
    ),
    Seen(
        news("bonn", ALJAZEERA, "Al Jazeera", BONN, "Negotiators failed to agree on finance."),
        0.9,
    ),
]


def day_of(days_ago: float) -> date:
    return (NOW - timedelta(days=days_ago)).date()


def today() -> date:
    """Today as a command just run saw it (the day may have turned since NOW)."""
    return datetime.now(UTC).date()


def dates(first: date, last: date) -> list[str]:
    return [f"{first + timedelta(days=n):%Y-%m-%d}" for n in range((last - first).days + 1)]


@pytest.fixture
async def workspace(tmp_path: Path, storage_url: str) -> Path:
    """config/monitor.yaml, a rule file, and a store holding ``ITEMS``."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "watch.yaml").write_text(RULES)
    config = tmp_path / "config" / "monitor.yaml"
    config.parent.mkdir()
    config.write_text(f"feeds: []\nrules: ../rules\nstorage: {storage_url}\n")
    store = await open_store(storage_url)
    try:
        for seen in ITEMS:
            story = StoryEntry(seen.story, b"\x01sig") if seen.story else None
            at = NOW - timedelta(days=seen.days_ago)
            await store.record_item(seen.item, [], at, story=story)
    finally:
        await store.close()
    return config


def newsmon(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "replay", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
        env=env,
        check=False,
    )


def listed(stdout: str) -> list[str]:
    """The lines of what would have alerted (they start with a time)."""
    return [line for line in stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d  ", line)]


def day_rows(stdout: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(r"^(\d{4}-\d\d-\d\d)\s+(\d+)\s+(\d+)$", stdout, re.MULTILINE)
    return {day: (int(items), int(alerts)) for day, items, alerts in rows}


async def test_every_rule_over_the_last_week(workspace: Path) -> None:
    result = newsmon(workspace, "--since", "7d")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("replaying every rule (2) over the items seen since ")

    lines = listed(out)
    assert len(lines) == 3
    drills, chips, warships = lines  # oldest first
    assert "BBC World" in drills and DRILLS in drills
    assert "[taiwan-military]" in drills and "(+1 other source)" in drills
    assert drills.startswith(f"{NOW - timedelta(days=6):%Y-%m-%d %H:%M}")
    assert "NPR World" in chips and CHIPS in chips and "[chip-export-curbs]" in chips
    assert "other source" not in chips
    assert "DW World" in warships and WARSHIPS in warships
    for absent in (DRILLS_COPY, BY_ELECTION, COOKIES, HAN_KUANG, BONN):
        assert absent not in out

    days = day_rows(out)
    # from the first day with items in the window through today, quiet days included
    assert list(days) == dates(day_of(6), today())
    assert days[f"{day_of(6):%Y-%m-%d}"] == (3, 1)  # the story, its copy, the by-election
    assert days[f"{day_of(3):%Y-%m-%d}"] == (1, 1)
    assert days[f"{day_of(2):%Y-%m-%d}"] == (1, 0)  # cookies: a chip, but no export controls
    assert sum(alerts for _, alerts in days.values()) == 3
    assert sum(items for items, _ in days.values()) == 7
    assert out.rstrip().endswith("7 items scanned, 4 matched, 3 stories")
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


async def test_one_rule_a_query_and_a_longer_window(workspace: Path) -> None:
    chips = newsmon(workspace, "--rule", "chip-export-curbs", "--since", "7d")
    assert chips.returncode == 0, chips.stderr
    assert chips.stdout.startswith("replaying rule chip-export-curbs ")
    [line] = listed(chips.stdout)
    assert CHIPS in line and "[chip-export-curbs]" in line
    assert chips.stdout.rstrip().endswith("7 items scanned, 1 matched, 1 story")

    climate = newsmon(workspace, "--query", 'title:(climate OR "climate talks")', "--since", "2d")
    assert climate.returncode == 0, climate.stderr
    [line] = listed(climate.stdout)
    assert BONN in line and "Al Jazeera" in line and "[query]" in line
    assert climate.stdout.rstrip().endswith("2 items scanned, 1 matched, 1 story")

    since = f"{day_of(10):%Y-%m-%d}"  # a date: from the start of that day
    longer = newsmon(workspace, "--rule", "taiwan-military", "--since", since)
    assert longer.returncode == 0, longer.stderr
    titles = [line for line in listed(longer.stdout)]
    assert [HAN_KUANG in titles[0], DRILLS in titles[1], WARSHIPS in titles[2]] == [True] * 3
    assert longer.stdout.rstrip().endswith("8 items scanned, 4 matched, 3 stories")
    # from the Han Kuang story's day (nine or ten days back, by the time of day)
    assert list(day_rows(longer.stdout)) == dates(day_of(9.2), today())


async def test_nothing_matching_is_said_plainly(workspace: Path) -> None:
    result = newsmon(workspace, "--query", "volcano", "--since", "30d")
    assert result.returncode == 0, result.stderr
    assert "nothing would have alerted" in result.stdout
    assert listed(result.stdout) == []
    assert result.stdout.rstrip().endswith("8 items scanned, 0 matched, 0 stories")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "lately"], "Invalid value for '--since': 'lately' is neither a duration"),
        (["--since", "2999-01-01"], "Invalid value for '--since': '2999-01-01' is in the future"),
        (["--rule", "taiwan-militery"], "unknown rule 'taiwan-militery'"),
        (["--query", "drills AND ("], "error: "),
        (["--rule", "chip-export-curbs", "--query", "chips"], "at most one of --rule or --query"),
    ],
    ids=["bad-since", "future-since", "unknown-rule", "broken-query", "rule-and-query"],
)
async def test_mistakes_are_clear_errors(workspace: Path, args: list[str], message: str) -> None:
    result = newsmon(workspace, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert listed(result.stdout) == []


async def test_an_unknown_rule_suggests_the_near_one(workspace: Path) -> None:
    result = newsmon(workspace, "--rule", "taiwan-militery")
    assert result.returncode == 2
    assert "did you mean 'taiwan-military'?" in result.stderr


async def test_a_window_longer_than_retention_says_what_is_gone(workspace: Path) -> None:
    config = workspace.read_text() + "retention: {items: 5d}\n"
    workspace.write_text(config)
    result = newsmon(workspace, "--since", "7d")
    assert result.returncode == 0, result.stderr
    assert "item texts are kept for 5 days (retention.items)" in result.stderr
