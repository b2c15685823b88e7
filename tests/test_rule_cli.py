"""`newsmon test-rule` and `newsmon check` as real processes, on temporary rule
and config directories: what a user sees, and the exit codes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.core.items import Item
from monitor.store import open_store
from tests.feedserver import FeedServer, rss

REPO = Path(__file__).resolve().parent.parent

ENTITIES = dedent(
    """\
    entities:
      Taiwan: [Taiwan, Taipei, "Taiwan Strait", "Lai Ching-te"]
    """
)
RULES = dedent(
    """\
    rules:
      - name: strait-drills
        match: '@Taiwan AND (drill* OR warship*) AND NOT zoo'
      - name: chip-curbs
        any: [semiconductor*, chip*]
        all: ["export controls"]
        none: [potato, "chocolate chip*"]
    """
)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command, *rest = args
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            command,
            "--config",
            str(root / "config/monitor.yaml"),
            *rest,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "entities.yaml").write_text(ENTITIES)
    (tmp_path / "rules" / "world.yaml").write_text(RULES)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "monitor.yaml").write_text(
        "feeds: []\nrules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n"
    )
    return tmp_path


# ---------------------------------------------------------------- test-rule


def test_a_match_shows_what_was_found_where(workspace: Path) -> None:
    story = (
        "PLA warships encircle Taiwan in surprise drills\n"
        "Beijing said the drills near Taipei were a warning to Lai Ching-te."
    )
    out = run(workspace, "test-rule", "--rule", "strait-drills", "--text", story)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "✔ strait-drills: PLA warships encircle Taiwan in surprise drills",
        "  matched: warships, Taiwan, drills, Taipei, Lai Ching-te",
        "  title: PLA **warships** encircle **Taiwan** in surprise **drills**",
        "  content: Beijing said the **drills** near **Taipei** were a warning to "
        "**Lai Ching-te**.",
        '  found: warship* → "warships" (title 4–12)',
        '  found: @Taiwan → "Taiwan" (title 22–28)',
        '  found: drill* → "drills" (title 41–47)',
        '  found: drill* → "drills" (content 17–23)',
        '  found: @Taiwan → "Taipei" (content 29–35)',
        '  found: @Taiwan → "Lai Ching-te" (content 54–66)',
        "1 match(es) in 1 item(s)",
    ]
    assert "\033[" not in out.stdout  # not a terminal: marks, no colour codes


def test_a_not_that_excluded_the_story_is_named_with_what_it_found(workspace: Path) -> None:
    story = (
        "Taipei Zoo keepers drill for an escaped clouded leopard\n"
        "The zoo said the drill went well and the leopard is back in its enclosure."
    )
    out = run(workspace, "test-rule", "--rule", "strait-drills", "--text", story)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0] == "✘ strait-drills: Taipei Zoo keepers drill for an escaped clouded leopard"
    assert "  title: **Taipei** **Zoo** keepers **drill** for an escaped clouded leopard" in lines
    assert '  found: @Taiwan → "Taipei" (title 0–6)' in lines
    assert '  excluded by: NOT zoo → "Zoo" (title 7–10); "zoo" (content 4–7)' in lines
    assert not any(line.startswith("  missing:") for line in lines)
    assert lines[-1] == "0 match(es) in 1 item(s)"


def test_a_none_entry_of_a_list_rule_is_named_as_written(workspace: Path) -> None:
    story = "Chocolate chip cookie makers caught up in new export controls"
    out = run(workspace, "test-rule", "--rule", "chip-curbs", "--text", story)
    assert out.returncode == 1
    assert (
        '  excluded by: none: "chocolate chip*" → "Chocolate chip" (title 0–14)'
        in out.stdout.splitlines()
    )


def test_what_is_missing_when_nothing_excluded_it(workspace: Path) -> None:
    chips = run(
        workspace, "test-rule", "--rule", "chip-curbs", "--text", "Chipmakers lobby Washington"
    )
    assert chips.returncode == 1
    assert '  missing: all: missing "export controls"' in chips.stdout.splitlines()
    assert '  found: chip* → "Chipmakers" (title 0–10)' in chips.stdout.splitlines()

    query = run(
        workspace,
        "test-rule",
        "--query",
        'Kerry NEAR/3 "climate talks"',
        "--text",
        "Kerry, back from Beijing on Sunday, said the climate talks would go on",
    )
    assert query.returncode == 1
    assert (
        '  missing: Kerry NEAR/3 "climate talks" (both found, more than 3 words apart)'
        in query.stdout.splitlines()
    )


FEED = [
    {  # matches
        "title": "China sends warships into the Taiwan Strait after Lai's speech",
        "link": "https://news.example.org/asia/strait-warships",
        "guid": "strait-warships",
    },
    {  # a near miss: only NOT zoo kept it out
        "title": "Taipei Zoo keepers drill for an escaped clouded leopard",
        "link": "https://news.example.org/asia/taipei-zoo",
        "guid": "taipei-zoo",
    },
    {  # nothing of the rule
        "title": "Monsoon floods displace thousands in Assam",
        "link": "https://news.example.org/asia/assam-floods",
        "guid": "assam-floods",
    },
    {  # Taiwan, but no drills or warships
        "title": "Taiwan's central bank holds rates steady",
        "link": "https://news.example.org/asia/taiwan-rates",
        "guid": "taiwan-rates",
    },
]


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def test_a_feed_lists_matches_and_near_misses_and_counts_the_rest(
    workspace: Path, feeds: FeedServer
) -> None:
    feeds.set_feed("/asia.rss", rss(FEED))
    out = run(workspace, "test-rule", "--rule", "strait-drills", "--url", feeds.url("/asia.rss"))
    assert out.returncode == 0, out.stderr
    heads = [line for line in out.stdout.splitlines() if not line.startswith(" ")]
    assert heads == [
        "✔ strait-drills: China sends warships into the Taiwan Strait after Lai's speech",
        "✘ strait-drills: Taipei Zoo keepers drill for an escaped clouded leopard",
        "1 match(es) in 4 item(s); 1 near miss(es) shown, excluded by NOT or none:; "
        "2 other(s) without what the rule requires",
    ]
    assert '  excluded by: NOT zoo → "Zoo" (title 7–10)' in out.stdout
    assert "Assam" not in out.stdout and "central bank" not in out.stdout


def test_a_feed_without_a_match_exits_1(workspace: Path, feeds: FeedServer) -> None:
    feeds.set_feed("/asia.rss", rss(FEED[2:]))
    out = run(workspace, "test-rule", "--rule", "strait-drills", "--url", feeds.url("/asia.rss"))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        "0 match(es) in 2 item(s); 0 near miss(es) shown, excluded by NOT or none:; "
        "2 other(s) without what the rule requires"
    ]


# ---------------------------------------------------------------- check


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(dedent(text))


def test_check_reports_every_problem_with_file_and_line(workspace: Path) -> None:
    rules = workspace / "rules"
    write(
        rules,
        {
            "broken-yaml.yaml": """\
                rules:
                  - name: kinmen
                  match: 'Kinmen AND "coast guard"'
                """,
            "broken-query.yaml": """\
                rules:
                  - name: matsu
                    match: '(Matsu AND cable*'
                """,
            "trade.yaml": """\
                entities:
                  Tariffs: [tariff*, duties]
                  Unused: [Kiribati]
                rules:
                  - name: ev-tariffs
                    match: '@Tarifs AND (EV OR EVs)'
                  - name: trade-war
                    all: [tariffs]
                    none: [tariff*]
                  - name: chip-curbs
                    match: 'ch* AND Nvidia'
                """,
        },
    )
    out = run(workspace, "check")
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"{rules}/broken-query.yaml:3: error: rule 'matsu': unbalanced parenthesis at column 1: "
        "'(' is never closed",
        f"{rules}/broken-yaml.yaml:3: error: invalid YAML: expected <block end>, but found '?'",
        f"{rules}/trade.yaml:6: error: rule 'ev-tariffs': unknown entity @Tarifs at column 1 "
        "(did you mean @Tariffs?); it may be defined in a rule file that did not parse",
        f"{rules}/trade.yaml:7: error: rule 'trade-war' can never match: none: tariff* excludes "
        "every item that has tariffs",
        f"{rules}/trade.yaml:10: warning: rule 'chip-curbs': ch* matches almost any word "
        "(a stem of 2 letters)",
        f"{rules}/world.yaml:4: error: rule 'chip-curbs' is already defined at "
        f"{rules}/trade.yaml:10",
    ]
    assert out.stdout.splitlines() == [
        f"{workspace}/config/monitor.yaml: ok, 0 feeds",
        f"{rules}: not loaded, 5 errors",
        f"{workspace}/config/apprise.yml: ok, alerts go to console",
    ]


def test_check_passes_with_warnings_unless_strict(workspace: Path) -> None:
    write(
        workspace / "rules",
        {
            "extra.yaml": """\
                entities:
                  Kiribati: [Kiribati, Tarawa]
                rules:
                  - name: not-sport
                    match: 'NOT football'
                  - name: phone-only
                    match: 'Kinmen AND "coast guard"'
                    notify: [phone]
                """,
        },
    )
    (workspace / "config" / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://hooks.example.org/newsmon:\n      tag: chat\n"
    )
    extra = workspace / "rules" / "extra.yaml"
    out = run(workspace, "check")
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"{extra}:2: warning: entity 'Kiribati' is not used by any rule",
        f"{extra}:4: warning: rule 'not-sport' needs no term, only NOT clauses: "
        "it fires on every item without them",
        f"{extra}:6: warning: rule 'phone-only' never alerts: no channel of "
        f"{workspace}/config/apprise.yml is tagged phone",
    ]
    assert f"{workspace}/rules: ok, 4 rules, 2 entities" in out.stdout.splitlines()
    assert run(workspace, "check", "--strict").returncode == 1


def test_check_of_a_clean_workspace_says_ok_and_creates_no_database(workspace: Path) -> None:
    out = run(workspace, "check")
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout.splitlines() == [
        f"{workspace}/config/monitor.yaml: ok, 0 feeds",
        f"{workspace}/rules: ok, 2 rules, 1 entities",
        f"{workspace}/config/apprise.yml: ok, alerts go to console",
    ]
    assert not (workspace / "data").exists()

    (workspace / "data").mkdir()
    (workspace / "data" / "newsmon.db").write_bytes(b"")  # made by hand, or by a crash
    again = run(workspace, "check")
    assert (again.returncode, again.stderr) == (0, "")
    assert sorted(p.name for p in (workspace / "data").iterdir()) == ["newsmon.db"]
    assert (workspace / "data" / "newsmon.db").stat().st_size == 0


def test_check_rejects_a_bad_recent_window(workspace: Path) -> None:
    out = run(workspace, "check", "--recent", "a fortnight")
    assert out.returncode == 2
    assert "--recent" in out.stderr


# ---------------------------------------------------------------- noisy rules over the store

NOW = datetime.now(UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
FEED_URL = "https://news.example.org/world.rss"
STORED: list[tuple[str, str, timedelta]] = [  # title, summary, how long ago it was seen
    ("China sends warships into the Taiwan Strait", "The drills follow Lai's speech.", 3 * HOUR),
    (
        "Taiwan reports 20 Chinese warships near Kinmen",
        "Coast guard vessels shadowed them.",
        9 * HOUR,
    ),
    ("PLA drills around Taiwan enter a second day", "Rocket forces joined the exercise.", 1 * DAY),
    (
        "Taipei says Chinese drones crossed the median line",
        "Drills were reported overnight.",
        2 * DAY,
    ),
    (
        "Monsoon floods displace thousands in Assam",
        "Rescue teams reached cut-off villages.",
        2 * DAY,
    ),
    ("ECB holds rates as inflation cools", "Lagarde said cuts were not yet on the table.", 3 * DAY),
    ("Wildfires force evacuations on Rhodes", "Tourists were moved to safety by boat.", 4 * DAY),
    ("Nvidia chip sales to China face export controls", "Washington tightened its rules.", 5 * DAY),
    ("Kenya's parliament passes finance bill", "Protesters gathered in Nairobi.", 6 * DAY),
    ("Chile elects a new president", "The run-off was closer than polls suggested.", 6 * DAY),
    # older than the window: not counted
    ("Taiwan Strait drills resume", "Warships again circled the island.", 9 * DAY),
    ("Taipei holds air raid drills", "Sirens sounded across the capital.", 12 * DAY),
]


async def fill_store(url: str, stories: Sequence[tuple[str, str, timedelta]]) -> None:
    store = await open_store(url)
    try:
        for n, (title, summary, ago) in enumerate(stories):
            item = Item(
                fingerprint=f"guid:{n}",
                feed=FEED_URL,
                feed_title="Example World",
                title=title,
                summary=summary,
                content="",
                link=f"https://news.example.org/world/{n}",
                published=NOW - ago,
            )
            await store.record_item(item, [], NOW - ago)
    finally:
        await store.close()


def test_check_warns_about_rules_that_fire_on_too_many_recent_items(workspace: Path) -> None:
    asyncio.run(fill_store(f"sqlite:///{workspace / 'data' / 'newsmon.db'}", STORED))
    world = workspace / "rules" / "world.yaml"

    out = run(workspace, "check")
    assert out.returncode == 0, out.stderr
    # strait-drills fires on the 4 Taiwan stories of the last 7 days (the 2 older ones are out)
    assert out.stderr.splitlines() == [
        f"{world}:2: warning: rule 'strait-drills' fires on 4 of the 10 items stored in the "
        "last 7d (40%, more than 10%): probably too broad"
    ]
    assert "recent items: 10 stored in the last 7d, 1 rule firing on more than 10% of them" in (
        out.stdout.splitlines()
    )

    wider = run(workspace, "check", "--recent", "14d", "--max-share", "0.5", "--strict")
    assert (wider.returncode, wider.stderr) == (0, "")
    assert "recent items: 12 stored in the last 14d, 0 rules firing on more than 50% of them" in (
        wider.stdout.splitlines()
    )

    strict = run(workspace, "check", "--strict")
    assert strict.returncode == 1
