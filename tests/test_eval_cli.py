"""`newsmon eval` as a real process: a small rule pack, a labelled file, the report.

The figures below are counted by hand from STORIES and the two rule files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

TAIWAN_RULES = """\
entities:
  Taiwan: [Taiwan, Taipei, "Taiwan Strait"]
rules:
  - name: strait-drills
    topic: taiwan
    match: '@Taiwan AND (drill* OR warship* OR blockade)'
"""
TRADE_RULES = """\
rules:
  - name: ev-tariffs
    topic: trade
    match: 'tariff* AND (electric OR EV OR EVs)'
  - name: rare-earths
    topic: trade
    match: '"rare earth" AND export*'
"""

STORIES: list[dict[str, object]] = [
    {  # strait-drills
        "id": "joint-sword",
        "title": "PLA stages Joint Sword drills encircling Taiwan",
        "summary": "Warships and bombers rehearse a blockade of the island.",
        "feed": "Reuters World",
        "relevant": True,
        "topics": ["taiwan"],
    },
    {  # ev-tariffs
        "id": "canada-ev-duties",
        "title": "Canada matches US with 100% tariffs on Chinese electric vehicles",
        "relevant": True,
        "topics": ["trade"],
    },
    {  # nothing: a miss overall and for trade
        "id": "gallium-ban",
        "title": "China bans gallium and germanium exports to the United States",
        "summary": "Beijing widens its curbs on critical minerals used in chips.",
        "relevant": True,
        "topics": ["trade"],
    },
    {  # strait-drills: a false alarm
        "id": "taipei-zoo",
        "title": "Taipei Zoo keepers drill for an escaped clouded leopard",
        "relevant": False,
    },
    {  # nothing: a miss overall, for taiwan and for grey-zone (which no rule has)
        "id": "kinmen-boarding",
        "title": "Chinese coast guard boards Taiwanese tourist boat near Kinmen",
        "relevant": True,
        "topics": ["taiwan", "grey-zone"],
    },
    {  # strait-drills and rare-earths: relevant, but a false alarm for taiwan
        "id": "rare-earth-halt",
        "title": "Taiwan warships escort cargo as China halts rare earth exports",
        "relevant": True,
        "topics": ["trade"],
    },
    {  # nothing
        "id": "assam-floods",
        "title": "Monsoon floods displace thousands in Assam",
        "relevant": False,
    },
]
TITLE = {str(s["id"]): str(s["title"]) for s in STORIES}


def jsonl(stories: list[dict[str, object]]) -> str:
    return "".join(json.dumps(story) + "\n" for story in stories)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "taiwan.yaml").write_text(TAIWAN_RULES)
    (tmp_path / "rules" / "trade.yaml").write_text(TRADE_RULES)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "monitor.yaml").write_text(
        "feeds: []\nrules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n"
    )
    (tmp_path / "labels.jsonl").write_text(jsonl(STORIES))
    return tmp_path


def newsmon_eval(
    root: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "eval",
            "--config",
            str(root / "config" / "monitor.yaml"),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


def test_report_gives_figures_per_topic_and_lists_every_mistake(workspace: Path) -> None:
    run = newsmon_eval(workspace, "--input", str(workspace / "labels.jsonl"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == (
        "overall: precision 0.750 (3/4), recall 0.600 (3/5); 7 items, 5 relevant, TP 3, FP 1, FN 2"
    )
    assert [" ".join(line.split()) for line in lines[2:6]] == [
        "topic labelled fired TP FP FN precision recall rules",
        "grey-zone 1 0 0 0 1 n/a 0.000 (no rule has this topic)",
        "taiwan 2 3 1 2 1 0.333 0.500 strait-drills",
        "trade 3 2 2 0 1 1.000 0.667 ev-tariffs, rare-earths",
    ]
    out = run.stdout
    assert (
        "missed (relevant, no rule fired): 2\n"
        f"  gallium-ban  {TITLE['gallium-ban']}  [fired: nothing]\n"
        f"  kinmen-boarding  {TITLE['kinmen-boarding']}  [fired: nothing]\n"
    ) in out
    assert (
        "false alarms (a rule fired, not relevant): 1\n"
        f"  taipei-zoo  {TITLE['taipei-zoo']}  [fired: strait-drills]\n"
    ) in out
    assert (
        "missed by topic (labelled, its rules did not fire): 3\n"
        f"  grey-zone: kinmen-boarding  {TITLE['kinmen-boarding']}  [fired: nothing]\n"
        f"  taiwan: kinmen-boarding  {TITLE['kinmen-boarding']}  [fired: nothing]\n"
        f"  trade: gallium-ban  {TITLE['gallium-ban']}  [fired: nothing]\n"
    ) in out
    assert (
        "false alarms by topic (its rules fired, not labelled with it): 2\n"
        f"  taiwan: taipei-zoo  {TITLE['taipei-zoo']}  [fired: strait-drills]\n"
        f"  taiwan: rare-earth-halt  {TITLE['rare-earth-halt']}  "
        "[fired: strait-drills, rare-earths]\n"
    ) in out
    for story_id in ("joint-sword", "canada-ev-duties", "assam-floods"):
        assert story_id not in out  # decided right everywhere: not listed
    assert run.stderr == ""


def test_json_report_from_stdin(workspace: Path) -> None:
    run = newsmon_eval(workspace, "--input", "-", "--json", stdin=jsonl(STORIES))
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {k: data[k] for k in ("items", "relevant", "tp", "fp", "fn", "by")} == {
        "items": 7,
        "relevant": 5,
        "tp": 3,
        "fp": 1,
        "fn": 2,
        "by": "topic",
    }
    assert data["precision"] == 0.75
    assert data["recall"] == 0.6
    assert [(t["topic"], t["tp"], t["fp"], t["fn"], t["precision"]) for t in data["topics"]] == [
        ("grey-zone", 0, 0, 1, None),
        ("taiwan", 1, 2, 1, pytest.approx(1 / 3)),
        ("trade", 2, 0, 1, 1.0),
    ]
    assert [(m["id"], m["topic"], m["rules"]) for m in data["misses"]] == [
        ("gallium-ban", None, []),
        ("kinmen-boarding", None, []),
        ("kinmen-boarding", "grey-zone", []),
        ("kinmen-boarding", "taiwan", []),
        ("gallium-ban", "trade", []),
    ]
    assert [(m["id"], m["topic"], m["rules"]) for m in data["false_alarms"]] == [
        ("taipei-zoo", None, ["strait-drills"]),
        ("taipei-zoo", "taiwan", ["strait-drills"]),
        ("rare-earth-halt", "taiwan", ["strait-drills", "rare-earths"]),
    ]
    assert data["false_alarms"][0]["title"] == TITLE["taipei-zoo"]


def test_without_topics_the_report_is_per_rule(workspace: Path) -> None:
    plain = [{k: v for k, v in story.items() if k != "topics"} for story in STORIES]
    (workspace / "plain.jsonl").write_text(jsonl(plain))
    run = newsmon_eval(workspace, "--input", str(workspace / "plain.jsonl"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("overall: precision 0.750 (3/4), recall 0.600 (3/5);")
    assert [" ".join(line.split()) for line in lines[2:6]] == [
        "rule fired relevant precision topic",
        "strait-drills 3 2 0.667 taiwan",
        "ev-tariffs 1 1 1.000 trade",
        "rare-earths 1 1 1.000 trade",
    ]
    assert "by topic" not in run.stdout
    assert f"  taipei-zoo  {TITLE['taipei-zoo']}  [fired: strait-drills]" in lines


@pytest.mark.parametrize(
    ("bars", "code", "complaint"),
    [
        ((), 0, ""),
        (("--min-precision", "0.75", "--min-recall", "0.6"), 0, ""),
        (("--min-precision", "0.8"), 1, "precision 0.750 is below --min-precision 0.8"),
        (("--min-recall", "0.61"), 1, "recall 0.600 is below --min-recall 0.61"),
    ],
)
def test_thresholds_set_the_exit_code(
    workspace: Path, bars: tuple[str, ...], code: int, complaint: str
) -> None:
    run = newsmon_eval(workspace, "--input", str(workspace / "labels.jsonl"), *bars)
    assert run.returncode == code, run.stderr
    assert run.stdout.startswith("overall: precision 0.750")  # the report comes anyway
    assert complaint in run.stderr
    if code == 0:
        assert run.stderr == ""


def test_nothing_firing_fails_a_precision_bar_when_something_was_relevant(
    workspace: Path,
) -> None:
    quiet = [
        {"id": 1, "title": "Bank of Japan ends negative interest rates", "relevant": True},
        {"id": 2, "title": "Lionesses win Nations League opener in Leeds", "relevant": False},
    ]
    run = newsmon_eval(workspace, "--input", "-", "--min-precision", "0.5", stdin=jsonl(quiet))
    assert run.returncode == 1
    assert run.stdout.startswith("overall: precision n/a (0/0), recall 0.000 (0/1);")
    assert "precision n/a (no rule fired) is below --min-precision 0.5" in run.stderr

    negatives = quiet[1:]
    run = newsmon_eval(workspace, "--input", "-", "--min-precision", "0.9", stdin=jsonl(negatives))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("overall: precision n/a (0/0), recall n/a (0/0);")


def test_a_bad_line_is_named_by_file_and_line(workspace: Path) -> None:
    labels = workspace / "labels.jsonl"
    bad = {"id": "taipei-zoo-2", "title": "Taipei Zoo welcomes twin pandas", "relevant": "no"}
    labels.write_text(jsonl(STORIES[:2]) + "\n" + json.dumps(bad) + "\n")
    run = newsmon_eval(workspace, "--input", str(labels))
    assert run.returncode == 2
    assert run.stdout == ""
    assert f"{labels}:4: item 'taipei-zoo-2': relevant must be true or false" in run.stderr

    labels.write_text(jsonl(STORIES[:3]) + jsonl(STORIES[:1]))
    run = newsmon_eval(workspace, "--input", str(labels))
    assert run.returncode == 2
    assert f"{labels}:4: duplicate id 'joint-sword' (first on line 1)" in run.stderr

    run = newsmon_eval(workspace, "--input", "-", stdin='{"id": "x", "title": \n')
    assert run.returncode == 2
    assert "<stdin>:1: invalid JSON" in run.stderr


def test_an_empty_file_or_broken_rules_are_errors(workspace: Path) -> None:
    run = newsmon_eval(workspace, "--input", "-", stdin="\n\n")
    assert run.returncode == 2
    assert "no labelled items" in run.stderr

    broken = workspace / "rules" / "broken.yaml"
    broken.write_text("rules:\n  - name: half-done\n    match: '(taiwan AND'\n")
    run = newsmon_eval(workspace, "--input", str(workspace / "labels.jsonl"))
    assert run.returncode == 2
    assert str(broken) in run.stderr
