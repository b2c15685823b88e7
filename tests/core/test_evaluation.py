"""Scoring rules on labelled stories (monitor.core.evaluation), numbers checked by hand.

The pack has two rules on Taiwan, two on trade, one rule without a topic (scored
under its own name) and one that never fires. The labels add a topic no rule has.
"""

from __future__ import annotations

import json

import pytest

from monitor.core.evaluation import (
    LabelError,
    Labelled,
    Mistake,
    Report,
    RuleScore,
    TopicScore,
    evaluate,
    parse_labelled,
)
from monitor.core.rules import RuleSet, load_ruleset

PACK = """\
entities:
  Taiwan: [Taiwan, Taipei, "Taiwan Strait"]
rules:
  - name: taiwan-drills
    topic: taiwan
    match: '@Taiwan AND (drill* OR warship* OR blockade)'
  - name: taiwan-arms
    topic: taiwan
    match: '@Taiwan NEAR/6 (arms OR weapons OR missile*)'
  - name: chip-export-curbs
    topic: trade
    any: [semiconductor*, chip*]
    all: ["export controls"]
  - name: ev-tariffs
    topic: trade
    match: 'tariff* AND (electric OR EV OR EVs)'
  - name: climate-envoys
    match: 'Kerry NEAR/6 (climate OR emissions)'
  - name: rare-earth-curbs
    match: '"rare earth" AND (export* OR ban)'
"""

# id, title, relevant, topics; the comment says what fires.
STORIES: list[tuple[str, str, bool, list[str]]] = [
    (  # taiwan-drills
        "lai-inauguration-drills",
        "China launches large-scale drills around Taiwan after Lai's inauguration",
        True,
        ["taiwan"],
    ),
    (  # taiwan-drills, chip-export-curbs
        "chip-curbs-warships",
        "Beijing answers US chip export controls with warships in the Taiwan Strait",
        True,
        ["taiwan", "trade"],
    ),
    (  # climate-envoys only: a miss for taiwan
        "kerry-methane-wang",
        "Kerry raises Taiwan tensions and methane emissions with Wang Yi",
        True,
        ["climate-envoys", "taiwan"],
    ),
    (  # nothing: no rule has the topic
        "second-thomas-shoal",
        "Philippine and Chinese coast guard vessels collide near Second Thomas Shoal",
        True,
        ["south-china-sea"],
    ),
    (  # taiwan-drills: a false alarm
        "taipei-dentists",
        "Taipei dentists warn against cheap tooth drills sold online",
        False,
        [],
    ),
    (  # taiwan-drills, chip-export-curbs: relevant, but a false alarm for taiwan
        "tsmc-arizona",
        "Taiwan's TSMC drills deeper into Arizona as new export controls hit chip sales",
        True,
        ["trade"],
    ),
    (  # nothing
        "wildfire-smoke",
        "Wildfire smoke from Canada blankets New York",
        False,
        [],
    ),
    (  # nothing: a miss for trade
        "cognac-probe",
        "Beijing retaliates with anti-dumping probe into French brandy",
        True,
        ["trade"],
    ),
    (  # taiwan-arms
        "missile-package",
        "US approves $2bn missile package for Taiwan",
        True,
        ["taiwan"],
    ),
]
TITLE = {story_id: title for story_id, title, _, _ in STORIES}


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_ruleset({"rules/pack.yaml": PACK})


def lines(with_topics: bool = True) -> list[str]:
    out = []
    for story_id, title, relevant, topics in STORIES:
        record: dict[str, object] = {"id": story_id, "title": title, "relevant": relevant}
        if with_topics and topics:
            record["topics"] = topics
        out.append(json.dumps(record) + "\n")
    return out


def wrong(story_id: str, topic: str | None, *rules: str) -> tuple[str, str | None, tuple[str, ...]]:
    return (story_id, topic, rules)


def brief(mistakes: tuple[Mistake, ...]) -> list[tuple[str | int, str | None, tuple[str, ...]]]:
    return [(m.id, m.topic, m.rules) for m in mistakes]


# ---------------------------------------------------------------- by topic


@pytest.fixture(scope="module")
def report(pack: RuleSet) -> Report:
    return evaluate(pack, parse_labelled(lines(), "labels.jsonl"))


def test_overall_counts_an_item_as_predicted_when_any_rule_fires(report: Report) -> None:
    assert (report.items, report.relevant) == (9, 7)
    # fired on 6: five relevant, the dentists not; the shoal and the brandy missed
    assert (report.tp, report.fp, report.fn) == (5, 1, 2)
    assert report.precision == pytest.approx(5 / 6)
    assert report.recall == pytest.approx(5 / 7)


def test_every_topic_of_the_labels_and_the_rules_is_scored(report: Report) -> None:
    assert report.by_topic
    assert report.topics == (
        TopicScore("climate-envoys", ("climate-envoys",), 1, 1, 1, 0, 0),
        TopicScore("rare-earth-curbs", ("rare-earth-curbs",), 0, 0, 0, 0, 0),
        TopicScore("south-china-sea", (), 1, 0, 0, 0, 1),
        TopicScore("taiwan", ("taiwan-drills", "taiwan-arms"), 4, 5, 3, 2, 1),
        TopicScore("trade", ("chip-export-curbs", "ev-tariffs"), 3, 2, 2, 0, 1),
    )
    by_name = {t.topic: t for t in report.topics}
    assert by_name["taiwan"].precision == pytest.approx(0.6)
    assert by_name["taiwan"].recall == pytest.approx(0.75)
    assert by_name["trade"].precision == 1.0
    assert by_name["trade"].recall == pytest.approx(2 / 3)
    # a labelled topic without a rule: nothing predicted, nothing found
    assert by_name["south-china-sea"].precision is None
    assert by_name["south-china-sea"].recall == 0.0
    # a rule's topic that no item carries and that never fired: both undefined
    assert by_name["rare-earth-curbs"].precision is None
    assert by_name["rare-earth-curbs"].recall is None


def test_misses_and_false_alarms_overall_then_per_topic(report: Report) -> None:
    assert brief(report.misses) == [
        wrong("second-thomas-shoal", None),
        wrong("cognac-probe", None),
        wrong("second-thomas-shoal", "south-china-sea"),
        wrong("kerry-methane-wang", "taiwan", "climate-envoys"),
        wrong("cognac-probe", "trade"),
    ]
    assert brief(report.false_alarms) == [
        wrong("taipei-dentists", None, "taiwan-drills"),
        wrong("taipei-dentists", "taiwan", "taiwan-drills"),
        wrong("tsmc-arizona", "taiwan", "taiwan-drills", "chip-export-curbs"),
    ]
    assert report.misses[0].title == TITLE["second-thomas-shoal"]
    assert report.misses[0].line == 4


def test_the_text_report_shows_figures_table_and_every_mistake(report: Report) -> None:
    text = report.render()
    lines_ = text.splitlines()
    assert lines_[0] == (
        "overall: precision 0.833 (5/6), recall 0.714 (5/7); 9 items, 7 relevant, TP 5, FP 1, FN 2"
    )
    table = [" ".join(line.split()) for line in lines_[2:8]]  # columns, spacing aside
    assert table == [
        "topic labelled fired TP FP FN precision recall rules",
        "climate-envoys 1 1 1 0 0 1.000 1.000 climate-envoys",
        "rare-earth-curbs 0 0 0 0 0 n/a n/a rare-earth-curbs",
        "south-china-sea 1 0 0 0 1 n/a 0.000 (no rule has this topic)",
        "taiwan 4 5 3 2 1 0.600 0.750 taiwan-drills, taiwan-arms",
        "trade 3 2 2 0 1 1.000 0.667 chip-export-curbs, ev-tariffs",
    ]

    assert "missed (relevant, no rule fired): 2" in lines_
    assert f"  second-thomas-shoal  {TITLE['second-thomas-shoal']}  [fired: nothing]" in lines_
    assert f"  cognac-probe  {TITLE['cognac-probe']}  [fired: nothing]" in lines_
    assert "false alarms (a rule fired, not relevant): 1" in lines_
    assert f"  taipei-dentists  {TITLE['taipei-dentists']}  [fired: taiwan-drills]" in lines_
    assert "missed by topic (labelled, its rules did not fire): 3" in lines_
    assert (
        f"  taiwan: kerry-methane-wang  {TITLE['kerry-methane-wang']}  [fired: climate-envoys]"
        in lines_
    )
    assert "false alarms by topic (its rules fired, not labelled with it): 2" in lines_
    assert (
        f"  taiwan: tsmc-arizona  {TITLE['tsmc-arizona']}  "
        "[fired: taiwan-drills, chip-export-curbs]" in lines_
    )


def test_the_json_report_holds_the_same_figures(report: Report) -> None:
    data = json.loads(json.dumps(report.to_json()))
    assert {k: data[k] for k in ("items", "relevant", "tp", "fp", "fn", "by")} == {
        "items": 9,
        "relevant": 7,
        "tp": 5,
        "fp": 1,
        "fn": 2,
        "by": "topic",
    }
    assert data["precision"] == pytest.approx(5 / 6)
    topics = {t["topic"]: t for t in data["topics"]}
    assert topics["south-china-sea"] == {
        "topic": "south-china-sea",
        "rules": [],
        "labelled": 1,
        "fired": 0,
        "tp": 0,
        "fp": 0,
        "fn": 1,
        "precision": None,
        "recall": 0.0,
    }
    assert "rules" not in data
    assert [(m["id"], m["topic"]) for m in data["false_alarms"]] == [
        ("taipei-dentists", None),
        ("taipei-dentists", "taiwan"),
        ("tsmc-arizona", "taiwan"),
    ]
    assert data["false_alarms"][2]["rules"] == ["taiwan-drills", "chip-export-curbs"]


def test_a_relevant_item_without_topics_is_counted_and_noted(pack: RuleSet) -> None:
    drills = {"id": 2, "title": TITLE["lai-inauguration-drills"], "relevant": True}
    items = parse_labelled(
        [
            json.dumps({"id": 1, "title": TITLE["missile-package"], "relevant": True}),
            json.dumps({**drills, "topics": ["taiwan"]}),
        ]
    )
    report = evaluate(pack, items)
    assert report.untopical == 1
    taiwan = next(t for t in report.topics if t.topic == "taiwan")
    assert (taiwan.tp, taiwan.fp, taiwan.fn) == (1, 1, 0)
    assert "note: 1 relevant item(s) name no topic" in report.render()


# ---------------------------------------------------------------- by rule


def test_without_topics_each_rule_is_scored_by_what_it_fired_on(pack: RuleSet) -> None:
    report = evaluate(pack, parse_labelled(lines(with_topics=False)))
    assert not report.by_topic
    assert report.topics == ()
    assert (report.tp, report.fp, report.fn) == (5, 1, 2)
    assert report.rules == (
        RuleScore("taiwan-drills", "taiwan", 4, 3),
        RuleScore("taiwan-arms", "taiwan", 1, 1),
        RuleScore("chip-export-curbs", "trade", 2, 2),
        RuleScore("ev-tariffs", "trade", 0, 0),
        RuleScore("climate-envoys", "climate-envoys", 1, 1),
        RuleScore("rare-earth-curbs", "rare-earth-curbs", 0, 0),
    )
    assert report.rules[0].precision == 0.75
    assert report.rules[3].precision is None
    # only the overall mistakes: there are no topics to be wrong about
    assert brief(report.misses) == [
        wrong("second-thomas-shoal", None),
        wrong("cognac-probe", None),
    ]
    assert brief(report.false_alarms) == [wrong("taipei-dentists", None, "taiwan-drills")]

    text = report.render().splitlines()
    assert text[2].split() == ["rule", "fired", "relevant", "precision", "topic"]
    assert text[3].split() == ["taiwan-drills", "4", "3", "0.750", "taiwan"]
    assert text[6].split() == ["ev-tariffs", "0", "0", "n/a", "trade"]
    assert text[7].split() == ["climate-envoys", "1", "1", "1.000"]  # its own name: no column
    assert "by topic" not in report.render()
    data = report.to_json()
    assert data["by"] == "rule"
    assert data["rules"][0] == {
        "rule": "taiwan-drills",
        "topic": "taiwan",
        "fired": 4,
        "relevant": 3,
        "precision": 0.75,
    }


# ---------------------------------------------------------------- thresholds


def test_failures_name_the_figure_below_its_bar(report: Report) -> None:
    assert report.failures() == []
    assert report.failures(min_precision=0.8, min_recall=0.7) == []
    assert report.failures(min_precision=0.9) == ["precision 0.833 is below --min-precision 0.9"]
    assert report.failures(min_recall=0.75) == ["recall 0.714 is below --min-recall 0.75"]
    assert len(report.failures(min_precision=0.9, min_recall=0.9)) == 2


def test_precision_is_undefined_when_nothing_fired(pack: RuleSet) -> None:
    quiet = [
        Labelled("gdp", "Eurozone growth stalls as German industry shrinks", True),
        Labelled("derby", "Arsenal held to a draw in the north London derby", False),
    ]
    report = evaluate(pack, quiet)
    assert (report.tp, report.fp, report.fn) == (0, 0, 1)
    assert report.precision is None
    assert report.recall == 0.0
    assert report.render().startswith("overall: precision n/a (0/0), recall 0.000 (0/1);")
    assert report.to_json()["precision"] is None
    # undefined precision fails a bar when something relevant was there to find
    assert report.failures(min_precision=0.5) == [
        "precision n/a (no rule fired) is below --min-precision 0.5"
    ]


def test_nothing_fired_and_nothing_relevant_passes_every_bar(pack: RuleSet) -> None:
    report = evaluate(pack, [Labelled("derby", "Arsenal held to a draw in the derby", False)])
    assert report.precision is None and report.recall is None
    assert report.failures(min_precision=1.0, min_recall=1.0) == []
    assert report.render().startswith("overall: precision n/a (0/0), recall n/a (0/0);")


# ---------------------------------------------------------------- parsing


def test_parse_reads_fields_skips_blank_lines_and_keeps_line_numbers() -> None:
    items = parse_labelled(
        [
            "\n",
            '{"id": 7, "title": "Xi and Biden meet in Woodside", "summary": "Talks at Filoli",'
            ' "content": "Four hours", "feed": "Reuters", "relevant": true,'
            ' "topics": ["diplomacy", "diplomacy", " summits "], "link": "https://x.example"}\n',
            "   \n",
            '{"id": "b", "title": "Heatwave grips Seville", "relevant": false, "topics": []}',
        ],
        "labels.jsonl",
    )
    assert items == [
        Labelled(
            7,
            "Xi and Biden meet in Woodside",
            True,
            summary="Talks at Filoli",
            content="Four hours",
            feed="Reuters",
            topics=("diplomacy", "summits"),
            line=2,
        ),
        Labelled("b", "Heatwave grips Seville", False, line=4),
    ]
    assert items[0].fields() == {
        "title": "Xi and Biden meet in Woodside",
        "summary": "Talks at Filoli",
        "content": "Four hours",
        "feed": "Reuters",
    }


GOOD = '{"id": "ok", "title": "Japan and China hold maritime talks", "relevant": true}'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "title": "Unclosed', "invalid JSON"),
        ('["x", "Not an object", true]', "expected a JSON object, got list"),
        ('{"title": "Seoul hosts trilateral summit", "relevant": true}', "missing id"),
        ('{"id": true, "title": "t", "relevant": true}', "id must be a string or an integer"),
        ('{"id": "x", "summary": "no title here", "relevant": true}', "missing title"),
        ('{"id": "x", "title": 12, "relevant": true}', "title must be a string"),
        ('{"id": "x", "title": "Hanoi welcomes Xi"}', "missing relevant"),
        ('{"id": "x", "title": "Hanoi welcomes Xi", "relevant": "yes"}', "relevant must be"),
        ('{"id": "x", "title": "Hanoi welcomes Xi", "relevant": 1}', "relevant must be"),
        ('{"id": "x", "title": "t", "relevant": true, "topics": "taiwan"}', "list of topic"),
        ('{"id": "x", "title": "t", "relevant": true, "topics": [3]}', "list of topic"),
        ('{"id": "x", "title": "t", "relevant": true, "topics": [""]}', "list of topic"),
        ('{"id": "x", "title": "t", "relevant": true, "summary": 5}', "summary must be"),
        (
            '{"id": "x", "title": "Tokyo cherry blossoms peak early", "relevant": false,'
            ' "topics": ["taiwan"]}',
            "relevant is false but topics are given",
        ),
        (
            '{"id": "ok", "title": "Japan and China hold maritime talks", "relevant": true}',
            "duplicate id 'ok' (first on line 1)",
        ),
    ],
)
def test_a_bad_line_is_an_error_naming_file_and_line(line: str, message: str) -> None:
    with pytest.raises(LabelError) as caught:
        parse_labelled([GOOD, "", line], "labels.jsonl")
    assert caught.value.path == "labels.jsonl"
    assert caught.value.line == 3
    assert str(caught.value).startswith("labels.jsonl:3: ")
    assert message in str(caught.value)
