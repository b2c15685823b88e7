"""Replay's parts: when it starts, days and their counts, the report's lines, and
the matching over a store (an in-memory one here; tests/replay/ runs the real
command on both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.core.items import Item
from monitor.core.rules import load_ruleset
from monitor.core.stories import StoryEntry
from monitor.replay import DayCount, Hit, Outcome, local_day, parse_since, per_day, replay, report
from monitor.store import Store, open_store

NOW = datetime(2024, 5, 8, 9, 30, tzinfo=UTC)
TAIPEI = ZoneInfo("Asia/Taipei")
LONDON = ZoneInfo("Europe/London")

# -- when a replay starts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("36h", NOW - timedelta(hours=36)),
        ("1d12h", NOW - timedelta(hours=36)),
        (" 90m ", NOW - timedelta(minutes=90)),
        ("3600", NOW - timedelta(hours=1)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=LONDON)),  # midnight where the user is
        ("2024-05-01T08:15", datetime(2024, 5, 1, 8, 15, tzinfo=LONDON)),
        ("2024-05-01T08:15+08:00", datetime(2024, 5, 1, 0, 15, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_back_or_a_date(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW, LONDON) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lately", "neither a duration"),
        ("7 days", "neither a duration"),
        ("", "neither a duration"),
        ("-7d", "neither a duration"),
        ("0d", "neither a duration"),
        ("2024-13-01", "neither a duration"),
        ("2024-05-09", "in the future"),
        ("99999999d", "too far back"),
    ],
)
def test_a_bad_since_says_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_since(text, NOW, LONDON)


# -- days ---------------------------------------------------------------------------


def test_a_day_is_the_day_where_the_user_is() -> None:
    late = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)
    assert local_day(late, UTC) == date(2024, 5, 1)
    assert local_day(late, TAIPEI) == date(2024, 5, 2)
    assert local_day(datetime(2024, 3, 31, 0, 30, tzinfo=UTC), LONDON) == date(2024, 3, 31)


def test_every_day_of_the_window_gets_a_row_quiet_ones_too() -> None:
    first, last = date(2024, 4, 29), date(2024, 5, 2)
    items = {date(2024, 4, 29): 40, date(2024, 5, 1): 12, date(2024, 5, 5): 9}  # 5th: outside
    alerts = {date(2024, 5, 1): 2}
    assert per_day(first, last, items, alerts) == [
        DayCount(date(2024, 4, 29), 40, 0),
        DayCount(date(2024, 4, 30), 0, 0),
        DayCount(date(2024, 5, 1), 12, 2),
        DayCount(date(2024, 5, 2), 0, 0),
    ]
    assert per_day(last, last, {}, {}) == [DayCount(last, 0, 0)]


# -- the report ----------------------------------------------------------------------


def test_the_report_lists_stories_then_days_then_totals() -> None:
    hits = [
        Hit(NOW, "BBC World", "China stages drills", "https://bbc/1", ("taiwan", "pla"), 2),
        Hit(
            NOW + timedelta(hours=1),
            "A very long feed name indeed, really",
            "Chips",
            "l",
            ("c",),
            1,
        ),
        Hit(NOW + timedelta(hours=2), "NPR", "Tariffs", "l", ("trade",), 0),
    ]
    days = [DayCount(date(2024, 5, 8), 30, 3)]
    lines = list(report(Outcome(NOW, NOW, hits, 30, 5, days), TAIPEI))
    assert lines == [
        "2024-05-08 17:30  BBC World                 China stages drills  [taiwan, pla]"
        "  (+2 other sources)",
        "2024-05-08 18:30  A very long feed name indeed, really  Chips  [c]  (+1 other source)",
        "2024-05-08 19:30  NPR                       Tariffs  [trade]",
        "",
        "day          items  alerts",
        "2024-05-08      30       3",
        "",
        "30 items scanned, 5 matched, 3 stories",
    ]


def test_a_report_of_nothing_says_so() -> None:
    outcome = Outcome(NOW, NOW, [], 0, 0, [DayCount(date(2024, 5, 8), 0, 0)])
    lines = list(report(outcome, UTC))
    assert lines[0] == "nothing would have alerted"
    assert lines[-1] == "0 items scanned, 0 matched, 0 stories"


# -- matching over a store -------------------------------------------------------------

RULES = load_ruleset(
    {
        "watch.yaml": """\
entities:
  Taiwan: [Taiwan, Taipei]
rules:
  - name: taiwan-drills
    match: '@Taiwan AND drill*'
  - name: pla
    match: 'PLA OR "People''s Liberation Army"'
  - name: tariffs
    any: [tariff*]
"""
    }
)


def news(fp: str, title: str, feed: str = "https://bbc.example/rss", summary: str = "") -> Item:
    return Item(fp, feed, feed.split("/")[2], title, summary, "", f"https://x.example/{fp}", None)


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await open_store("sqlite://")
    yield s
    await s.close()


async def record(store: Store, it: Item, hours_ago: float, story: str | None = None) -> None:
    entry = StoryEntry(story, b"\x01") if story else None
    await store.record_item(it, [], NOW - timedelta(hours=hours_ago), story=entry)


async def test_copies_of_a_story_are_one_hit_with_their_rules_and_sources(store: Store) -> None:
    await record(store, news("a", "Taiwan drills begin"), 30, story="a")
    await record(
        store, news("b", "Taiwan drills: PLA moves in", "https://wire.example/rss"), 29, "a"
    )
    await record(store, news("c", "Taiwan drills, day two", "https://bbc.example/rss"), 28, "a")
    await record(store, news("d", "Drills near Taipei", "https://dw.example/rss"), 27, "a")
    await record(store, news("e", "Steel tariffs rise", "https://npr.example/rss"), 2, "e")
    await record(store, news("f", "Weather: sunny"), 1)

    outcome = await replay(store, RULES, NOW - timedelta(days=7), NOW, UTC, batch=2)
    assert [(h.title, h.rules, h.other_sources) for h in outcome.hits] == [
        ("Taiwan drills begin", ("taiwan-drills", "pla"), 2),  # wire and dw; bbc is its own
        ("Steel tariffs rise", ("tariffs",), 0),
    ]
    assert (outcome.scanned, outcome.matched, outcome.stories) == (6, 5, 2)
    first = outcome.hits[0]
    assert (first.feed, first.link, first.seen_at) == (
        "bbc.example",
        "https://x.example/a",
        NOW - timedelta(hours=30),
    )


async def test_one_rule_or_a_query_limits_what_fires(store: Store) -> None:
    await record(store, news("a", "Taiwan drills, PLA says"), 3, story="a")
    await record(store, news("e", "Steel tariffs rise"), 2, story="e")
    only = await replay(store, RULES.only("pla"), NOW - timedelta(days=1), NOW, UTC)
    assert [(h.title, h.rules) for h in only.hits] == [("Taiwan drills, PLA says", ("pla",))]
    query = await replay(store, RULES.with_query("steel"), NOW - timedelta(days=1), NOW, UTC)
    assert [(h.title, h.rules) for h in query.hits] == [("Steel tariffs rise", ("query",))]
    assert (query.scanned, query.matched) == (2, 1)


async def test_the_window_is_fixed_and_its_days_are_local(store: Store) -> None:
    # 23:30 UTC on May 6 is May 7 in Taipei; an item newer than ``until`` is left out
    until = NOW - timedelta(hours=1)
    await record(store, news("old", "Taiwan drills, last month"), 24 * 30)
    await record(store, news("a", "Taiwan drills start"), 34)  # 2024-05-06 23:30 UTC
    await record(store, news("b", "Steel tariffs rise"), 10)
    await record(store, news("late", "Taiwan drills end"), 0.5)
    since = datetime(2024, 5, 6, tzinfo=TAIPEI)
    batches: list[int] = []
    outcome = await replay(store, RULES, since, until, TAIPEI, batch=1, progress=batches.append)
    assert [h.title for h in outcome.hits] == ["Taiwan drills start", "Steel tariffs rise"]
    assert outcome.days == [DayCount(date(2024, 5, 7), 1, 1), DayCount(date(2024, 5, 8), 1, 1)]
    assert sum(batches) >= outcome.scanned == 2


async def test_a_store_without_texts_replays_to_nothing(store: Store) -> None:
    outcome = await replay(store, RULES, NOW - timedelta(days=7), NOW, UTC)
    assert (outcome.hits, outcome.scanned, outcome.matched) == ([], 0, 0)
    assert outcome.days == [DayCount(date(2024, 5, 8), 0, 0)]  # today's, not a week of zeros


async def test_days_start_with_the_first_day_anything_was_stored(store: Store) -> None:
    await record(store, news("a", "Steel tariffs rise"), 50)  # 2024-05-06 07:30 UTC
    await record(store, news("b", "Weather: sunny"), 2)
    outcome = await replay(store, RULES, datetime(2020, 1, 1, tzinfo=UTC), NOW, UTC)
    assert outcome.days == [
        DayCount(date(2024, 5, 6), 1, 1),
        DayCount(date(2024, 5, 7), 0, 0),  # a day without items within the window: shown
        DayCount(date(2024, 5, 8), 1, 0),
    ]
