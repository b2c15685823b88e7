"""Lints of a rule set: every kind, all problems at once, each with file and line."""

from __future__ import annotations

from textwrap import dedent, indent

import pytest

from monitor.core.rules import parse_rule_file
from monitor.core.rules.lint import Finding, lint, lint_notify, noisy_rules, percent
from monitor.errors import RuleError

ENTITIES = dedent(
    """\
    entities:
      Taiwan: [Taiwan, Taipei, "Taiwan Strait"]
      Tariffs: [tariff*, duties]
    """
)


def lint_files(files: dict[str, str], **options: bool) -> list[str]:
    parsed = [parse_rule_file(text, path) for path, text in sorted(files.items())]
    return [str(f) for f in lint(parsed, **options)]


def rules_file(*rules: str) -> str:
    """A rule file using both entities (so neither is reported unused)."""
    body = "".join(indent(dedent(rule), "  ") for rule in rules)
    uses = "  - name: uses-entities\n    match: '@Taiwan AND @Tariffs'\n"
    return "rules:\n" + uses + body


# (id, rules of r.yaml below the entity-using rule at line 2-3, expected findings)
CASES: list[tuple[str, str, list[str]]] = [
    (
        "clean",
        """\
          - name: strait-drills
            match: '@Taiwan AND (drill* OR warship*) AND NOT zoo'
          - name: chip-curbs
            any: [semiconductor*, chip*]
            none: ["chocolate chip*"]
        """,
        [],
    ),
    (
        "unknown-entity-with-did-you-mean",
        """\
          - name: strait
            match: 'drills AND @Taiwn'
        """,
        [
            "r.yaml:5: error: rule 'strait': unknown entity @Taiwn at column 12 "
            "(did you mean @Taiwan?)"
        ],
    ),
    (
        "unknown-entity-in-a-list-entry-names-its-line",
        """\
          - name: summit
            any:
              - Xi
              - '@Biden'
        """,
        ["r.yaml:7: error: rule 'summit': unknown entity @Biden"],
    ),
    (
        "never-matches-all-and-none",
        """\
          - name: trade-war
            all: [tariffs]
            none: [tariff*]
        """,
        [
            "r.yaml:4: error: rule 'trade-war' can never match: none: tariff* excludes "
            "every item that has tariffs"
        ],
    ),
    (
        "never-matches-x-and-not-x",
        """\
          - name: typo
            match: 'Kinmen AND coast guard AND -kinmen'
        """,
        [
            "r.yaml:4: error: rule 'typo' can never match: NOT kinmen excludes "
            "every item that has Kinmen"
        ],
    ),
    (
        "never-matches-an-entity-whose-aliases-are-all-excluded",
        """\
          - name: no-taiwan
            match: '@Taiwan AND NOT (taiwan* OR taipei)'
        """,
        [
            "r.yaml:4: error: rule 'no-taiwan' can never match: NOT (taiwan* OR taipei) "
            "excludes every item that has @Taiwan"
        ],
    ),
    (
        "never-matches-an-any-group-all-excluded",
        """\
          - name: chips
            any: [chips, chipmaker]
            none: [chip*]
        """,
        [
            "r.yaml:4: error: rule 'chips' can never match: none: chip* excludes "
            "every item that has chips OR chipmaker"
        ],
    ),
    (
        "never-matches-in-a-field-the-not-covers",
        """\
          - name: headline
            match: 'title:Kerry AND NOT Kerry'
        """,
        [
            "r.yaml:4: error: rule 'headline' can never match: NOT Kerry excludes "
            "every item that has title:Kerry"
        ],
    ),
    (
        "a-prefix-is-not-excluded-by-one-of-its-words",
        """\
          - name: tariffs-not-tariff
            match: 'tariff* AND NOT tariff'
          - name: suffix
            match: '*zölle AND NOT zölle'
        """,
        [],
    ),
    (
        "a-not-in-another-field-may-not-exclude",
        """\
          - name: not-in-title
            match: 'Kerry AND NOT title:Kerry'
        """,
        [],
    ),
    (
        "a-not-holding-a-not-is-not-judged",
        """\
          - name: odd
            match: 'Kerry AND NOT (Kerry AND NOT climate)'
        """,
        [],
    ),
    (
        "matches-every-item",
        """\
          - name: no-sport
            match: 'NOT football AND -cricket'
          - name: no-weather
            none: [weather, forecast]
        """,
        [
            "r.yaml:4: warning: rule 'no-sport' needs no term, only NOT clauses: "
            "it fires on every item without them",
            "r.yaml:6: warning: rule 'no-weather' needs no term, only NOT clauses: "
            "it fires on every item without them",
        ],
    ),
    (
        "tiny-stems",
        """\
          - name: stems
            match: 'ch* OR *ab OR chi* OR "taiwan s*" OR 台*'
        """,
        [
            "r.yaml:4: warning: rule 'stems': ch* matches almost any word (a stem of 2 letters)",
            "r.yaml:4: warning: rule 'stems': *ab matches almost any word (a stem of 2 letters)",
        ],
    ),
]


@pytest.mark.parametrize(("rules", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_problem(rules: str, want: list[str]) -> None:
    assert lint_files({"e.yaml": ENTITIES, "r.yaml": rules_file(rules)}) == want


def test_every_problem_of_every_file_at_once() -> None:
    files = {
        "a.yaml": ENTITIES + "  Tiny: [u*]\n",
        "b.yaml": dedent(
            """\
            entities:
              Taiwan: [Formosa]
            rules:
              - name: strait
                match: '@Taiwan AND drills'
              - name: ev-tariffs
                match: '@Tarifs AND (EV OR EVs)'
            """
        ),
        "c.yaml": "rules:\n  - name: strait\n    match: 'Taiwan Strait'\n",
    }
    assert lint_files(files) == [
        "a.yaml:3: warning: entity 'Tariffs' is not used by any rule",
        "a.yaml:4: warning: entity 'Tiny': alias u* matches almost any word (a stem of 1 letter)",
        "a.yaml:4: warning: entity 'Tiny' is not used by any rule",
        "b.yaml:2: error: entity 'Taiwan' is already defined at a.yaml:2",
        "b.yaml:7: error: rule 'ev-tariffs': unknown entity @Tarifs at column 1 "
        "(did you mean @Tariffs?)",
        "c.yaml:2: error: rule 'strait' is already defined at b.yaml:4",
    ]


def test_with_a_file_that_did_not_parse_entities_are_not_guessed_at() -> None:
    files = {
        "e.yaml": ENTITIES,
        "r.yaml": "rules:\n  - name: drills\n    match: '@Military AND @Taiwan'\n",
    }
    assert lint_files(files, partial=True) == [
        "r.yaml:3: error: rule 'drills': unknown entity @Military at column 1; "
        "it may be defined in a rule file that did not parse"
    ]


def test_rules_no_channel_would_hear() -> None:
    text = dedent(
        """\
        rules:
          - {name: to-chat, match: Taiwan, notify: [Chat]}
          - {name: to-phone, match: Taipei, notify: [phone, pager]}
          - {name: to-phone-or-chat, match: Kinmen, notify: [phone, chat]}
          - {name: everywhere, match: Matsu}
        """
    )
    rules = parse_rule_file(text, "r.yaml").rules
    assert [str(f) for f in lint_notify(rules, {"chat", "email"}, "apprise.yml")] == [
        "r.yaml:3: warning: rule 'to-phone' never alerts: "
        "no channel of apprise.yml is tagged phone or pager"
    ]


def test_noisy_rules() -> None:
    text = "rules:\n  - {name: china, match: China}\n  - {name: kinmen, match: Kinmen}\n"
    rules = parse_rule_file(text, "r.yaml").rules
    counts = {"china": 61, "kinmen": 2}
    assert [str(f) for f in noisy_rules(rules, counts, 200, 0.1, "7d")] == [
        "r.yaml:2: warning: rule 'china' fires on 61 of the 200 items stored in the last 7d "
        "(30.5%, more than 10%): probably too broad"
    ]
    assert noisy_rules(rules, {"china": 20}, 200, 0.1, "7d") == []  # exactly the share
    assert noisy_rules(rules, {}, 0, 0.1, "7d") == []


def test_findings_print_as_path_line_severity_message() -> None:
    assert str(Finding("r.yaml", 4, "error", "bad")) == "r.yaml:4: error: bad"
    assert str(Finding("rules", None, "warning", "odd")) == "rules: warning: odd"
    error = RuleError("invalid YAML: mapping values are not allowed here", "r.yaml", 3)
    assert Finding.from_error(error) == Finding(
        "r.yaml", 3, "error", "invalid YAML: mapping values are not allowed here"
    )
    assert Finding.from_error(RuleError("rules directory not found"), "rules").path == "rules"
    assert (percent(0.1), percent(0.125), percent(1.0)) == ("10%", "12.5%", "100%")
