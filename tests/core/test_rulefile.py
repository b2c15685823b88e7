"""Rule files: what they may hold, and where their errors are reported."""

from __future__ import annotations

from textwrap import dedent

import pytest
import yaml

from monitor.core.rules import compile_ruleset, load_ruleset, parse_query, parse_rule_file
from monitor.errors import RuleError

GOOD = dedent(
    """\
    # Taiwan and trade
    entities:
      Taiwan: [Taiwan, Taipei, "Taiwan Strait", "Lai Ching-te"]
    rules:
      - name: taiwan-pressure
        match: '@Taiwan AND (threat* OR military OR sovereignty)'
        notify: [chat]
      - name: tariffs
        any: [tariff*, duties, "export controls"]
        all: [China]
        none: ["Thai food"]
    """
)


def test_a_good_file() -> None:
    parsed = parse_rule_file(GOOD, "rules/world.yaml")
    [taiwan] = parsed.entities
    assert (taiwan.name, taiwan.line, taiwan.path) == ("Taiwan", 3, "rules/world.yaml")
    assert taiwan.aliases == ("Taiwan", "Taipei", "Taiwan Strait", "Lai Ching-te")
    pressure, tariffs = parsed.rules
    assert (pressure.name, pressure.line, pressure.notify) == ("taiwan-pressure", 5, ("chat",))
    assert pressure.query == "@Taiwan AND (threat* OR military OR sovereignty)"
    assert (tariffs.name, tariffs.line, tariffs.notify) == ("tariffs", 8, ())
    assert tariffs.path == "rules/world.yaml"


def test_term_lists_read_as_an_equivalent_query() -> None:
    [_, tariffs] = parse_rule_file(GOOD, "r.yaml").rules
    assert tariffs.query == '(tariff* OR duties OR "export controls") AND China AND NOT "Thai food"'
    assert parse_query(tariffs.query) == tariffs.expr


def test_odd_list_entries_still_read_as_an_equivalent_query() -> None:
    entries = ["AND", "NEAR", "title:x", "C++", "Lai Ching-te*", "-foo", '"quoted"', "@E", "x*"]
    text = yaml.safe_dump({"rules": [{"name": "odd", "any": entries, "none": ["OR"]}]})
    [rule] = parse_rule_file(text, "r.yaml").rules
    assert parse_query(rule.query) == rule.expr


def test_term_lists_combine_any_all_none() -> None:
    ruleset = load_ruleset({"r.yaml": GOOD})
    tariffs = ruleset.only("tariffs")
    assert tariffs.match({"title": "China export controls"})
    assert tariffs.match({"title": "China duties"})
    assert not tariffs.match({"title": "Japan duties"}), "all: China is required"
    assert not tariffs.match({"title": "China"}), "one of any: is required"
    assert not tariffs.match({"title": "China tariffs hit Thai food"}), "none: excludes"
    assert tariffs.match({"title": "China tariffs hit Thai rice"}), "a phrase, not two words"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "# only a comment\n",
        "entities:\n  E: [a]\n",
        "rules:\n",
        "rules: []\nentities: {}\n",
    ],
    ids=["empty", "blank", "comment", "only-entities", "null-rules", "empty-collections"],
)
def test_files_without_rules_are_valid(text: str) -> None:
    assert parse_rule_file(text, "r.yaml").rules == ()


def test_entities_are_shared_across_files_whatever_their_order() -> None:
    ruleset = load_ruleset(
        {
            "a-rules.yaml": "rules:\n  - {name: eu, match: '@EU AND tariff*'}\n",
            "z-entities.yaml": "entities:\n  EU: [EU, Brussels, European Union]\n",
        }
    )
    assert ruleset.match({"title": "Brussels weighs tariffs"})
    assert ruleset.entities == {"EU": ("EU", "Brussels", "European Union")}


ERRORS: list[tuple[str, str, int, str]] = [
    ("yaml-syntax", "rules:\n  - name: a\n    match: 'unclosed\n", 4, "invalid YAML"),
    ("yaml-bad-indent", "rules:\n  - name: a\n   match: x\n", 3, "invalid YAML"),
    ("not-a-mapping", "- name: a\n", 1, "must be a mapping with 'entities:'"),
    ("unknown-top-key", "entities: {}\nrulez: []\n", 2, "unknown key 'rulez'"),
    ("rules-not-a-list", "rules:\n  name: a\n", 2, "rules: must be a list"),
    ("rule-not-a-mapping", "rules:\n  - just text\n", 2, "a rule must be a mapping"),
    (
        "unknown-rule-key",
        "rules:\n  - name: a\n    match: x\n    notfy: [a]\n",
        4,
        "unknown key 'notfy'",
    ),
    (
        "duplicate-rule-key",
        "rules:\n  - name: a\n    match: x\n    match: y\n",
        4,
        "duplicate key 'match'",
    ),
    ("missing-name", "rules:\n  - match: x\n  - match: y\n", 2, "rule has no name"),
    ("empty-name", "rules:\n  - name: ''\n    match: x\n", 2, "name: must not be empty"),
    (
        "name-is-a-list",
        "rules:\n  - name: [a]\n    match: x\n",
        2,
        "name: must be text, not a list",
    ),
    (
        "duplicate-rule",
        "rules:\n  - {name: a, match: x}\n\n  - {name: a, match: y}\n",
        4,
        "rule 'a' is already defined at r.yaml:2",
    ),
    (
        "no-query",
        "rules:\n  - name: a\n    notify: [x]\n",
        2,
        "rule 'a' needs match: or any:/all:/none:",
    ),
    (
        "match-and-any",
        "rules:\n  - name: a\n    match: x\n    any: [y]\n",
        4,
        "has both match: and any:",
    ),
    (
        "match-not-text",
        "rules:\n  - name: a\n    match:\n      - x\n",
        4,
        "match: of rule 'a' must be text",
    ),
    ("match-empty", "rules:\n  - name: a\n    match: ''\n", 3, "rule 'a': empty query"),
    (
        "bad-query",
        "rules:\n  - name: a\n\n    match: 'x AND (y OR z'\n",
        4,
        "rule 'a': unbalanced parenthesis at column 7",
    ),
    (
        "bad-query-block",
        "rules:\n  - name: a\n    match: >\n      x AND\n      (y\n",
        3,
        "unbalanced parenthesis",
    ),
    (
        "any-not-a-list",
        "rules:\n  - name: a\n    any: tariff\n",
        3,
        "any: of rule 'a' must be a list",
    ),
    ("any-empty", "rules:\n  - name: a\n    any: []\n", 3, "any: of rule 'a' lists no terms"),
    (
        "bad-entry",
        "rules:\n  - name: a\n    all:\n      - ok\n      - 'ta*riff'\n",
        5,
        "only allowed at the start or end",
    ),
    ("entry-is-mapping", "rules:\n  - name: a\n    none:\n      - {x: y}\n", 4, "must be text"),
    (
        "notify-not-a-list",
        "rules:\n  - name: a\n    match: x\n    notify: chat\n",
        4,
        "notify: of rule 'a' must be a list",
    ),
    ("notify-empty", "rules:\n  - name: a\n    match: x\n    notify: []\n", 4, "leave it out"),
    (
        "notify-bad-tag",
        "rules:\n  - name: a\n    match: x\n    notify: [ok, 'a b']\n",
        4,
        "notify tag 'a b' must be one word",
    ),
    ("entities-not-a-mapping", "entities: [a, b]\n", 1, "entities: must be a mapping"),
    ("aliases-not-a-list", "entities:\n  E: Taiwan\n", 2, "aliases of entity 'E' must be a list"),
    ("no-aliases", "entities:\n  E: []\n", 2, "entity 'E' has no aliases"),
    (
        "alias-not-text",
        "entities:\n  E:\n    - a\n    - [b]\n",
        4,
        "an alias of entity 'E' must be text",
    ),
    ("alias-entity", "entities:\n  E: [a, '@F']\n", 2, "aliases are words or phrases"),
    (
        "alias-bad",
        "entities:\n  E:\n    - '!!!'\n",
        3,
        "entity 'E': term '!!!' at column 1 has no letters",
    ),
    ("entity-bad-name", "entities:\n  'Taiwan Strait': [a]\n", 2, "may only hold letters"),
    ("entity-twice", "entities:\n  E: [a]\n  F: [b]\n  E: [c]\n", 4, "entity 'E' is defined twice"),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule_file(text, "r.yaml")
    error = caught.value
    assert message in error.message
    assert (error.path, error.line) == ("r.yaml", line)
    assert str(error).startswith(f"r.yaml:{line}: ")


COMPILE_ERRORS: list[tuple[str, dict[str, str], str, int, str]] = [
    (
        "unknown-entity-in-match",
        {"r.yaml": "entities:\n  Taiwan: [Taiwan]\nrules:\n- name: a\n  match: 'x OR @Taiwn'\n"},
        "r.yaml",
        5,
        "unknown entity @Taiwn at column 6 (did you mean @Taiwan?)",
    ),
    (
        "unknown-entity-in-list",
        {"r.yaml": "rules:\n  - name: a\n    any:\n      - x\n      - '@Nope'\n"},
        "r.yaml",
        5,
        "unknown entity @Nope",
    ),
    (
        "duplicate-entity-across-files",
        {"a.yaml": "entities:\n  E: [a]\n", "b.yaml": "# b\nentities:\n  E: [b]\n"},
        "b.yaml",
        3,
        "entity 'E' is already defined at a.yaml:2",
    ),
    (
        "duplicate-rule-across-files",
        {
            "a.yaml": "rules:\n  - {name: r, match: x}\n",
            "b.yaml": "rules:\n\n  - {name: r, match: y}\n",
        },
        "b.yaml",
        3,
        "rule 'r' is already defined at a.yaml:2",
    ),
]


@pytest.mark.parametrize(
    ("files", "path", "line", "message"),
    [e[1:] for e in COMPILE_ERRORS],
    ids=[e[0] for e in COMPILE_ERRORS],
)
def test_rule_set_errors_name_file_and_line(
    files: dict[str, str], path: str, line: int, message: str
) -> None:
    parsed = [parse_rule_file(text, name) for name, text in sorted(files.items())]
    with pytest.raises(RuleError) as caught:
        compile_ruleset(parsed)
    assert message in caught.value.message
    assert (caught.value.path, caught.value.line) == (path, line)


def test_a_rule_may_gather_its_matches_into_digests() -> None:
    rules = load_ruleset(
        {"d.yaml": "rules:\n  - name: weekly-trade\n    match: tariff*\n    digest: daily@08:00\n"}
    )
    [rule] = rules.rules
    assert rule.digest is not None and str(rule.digest) == "daily@08:00"
    [match] = rules.match({"title": "New tariffs"})
    assert match.fired({"title": "New tariffs"}).digest == rule.digest


def test_a_bad_digest_names_its_line() -> None:
    with pytest.raises(RuleError) as caught:
        load_ruleset({"d.yaml": "rules:\n  - name: r\n    match: x\n    digest: sometimes\n"})
    assert (caught.value.path, caught.value.line) == ("d.yaml", 4)
    assert "digest" in caught.value.message
