"""Explanations: what a rule found in an item, and why it did not match."""

from __future__ import annotations

from textwrap import dedent

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.rules import RuleSet, load_ruleset, render
from monitor.core.rules.explain import Exclusion, Explanation, Found, explain, shorten
from monitor.core.rules.query import Node

from .reference import evaluate
from .test_matcher_properties import (
    ENTITIES,
    ENTITY_FILE,
    PREFIXES,
    SURFACE,
    WORDS,
    items,
    queries,
)

PACK = dedent(
    """\
    entities:
      Taiwan: [Taiwan, Taipei, "Taiwan Strait", "Lai Ching-te"]
    rules:
      - name: strait-drills
        match: '@Taiwan AND (drill* OR warship*) AND NOT zoo'
      - name: chip-curbs
        any: [semiconductor*, "chip*"]
        all: ["export controls", China]
        none: [potato, "chocolate chip*"]
      - name: kerry-climate
        match: 'Kerry NEAR/4 "climate talks"'
      - name: not-sport
        match: '-football'
      - name: scoped
        match: 'title:(Taiwan AND -zoo) OR summary:(Taiwan AND election*)'
      - name: long
        match: >-
          tariff* AND ("Department of Commerce" OR "Bureau of Industry and Security"
          OR "entity list" OR "foreign direct product rule")
    """
)
RULES = load_ruleset({"pack.yaml": PACK})


def why(rule: str, fields: dict[str, str]) -> Explanation:
    one = RULES.only(rule)
    return explain(one, one.rules[0], fields)


def test_a_match_lists_every_positive_term_found_with_field_and_offsets() -> None:
    title = "PLA warships and drills encircle Taiwan"
    summary = "Beijing says the drills near Taipei are a warning to Lai Ching-te."
    got = why("strait-drills", {"title": title, "summary": summary})
    assert got.matched and not got.excluded and not got.missing
    assert [(f.term, f.text, f.field) for f in got.found] == [
        ("warship*", "warships", "title"),
        ("drill*", "drills", "title"),
        ("@Taiwan", "Taiwan", "title"),
        ("drill*", "drills", "summary"),
        ("@Taiwan", "Taipei", "summary"),
        ("@Taiwan", "Lai Ching-te", "summary"),
    ]
    for found in got.found:
        text = title if found.field == "title" else summary
        assert text[found.start : found.end] == found.text
    assert got.found[-1].alias == "Lai Ching-te"


EXCLUDED: list[tuple[str, str, dict[str, str], list[tuple[str, list[str]]]]] = [
    (
        "not-in-a-match-rule",
        "strait-drills",
        {"title": "Taipei Zoo keepers drill for an escaped clouded leopard"},
        [("NOT zoo", ["Zoo"])],
    ),
    (
        "minus-reads-as-not",
        "not-sport",
        {"title": "Football: Leicester beat Chelsea in the FA Cup"},
        [("NOT football", ["Football"])],
    ),
    (
        "none-entry-of-a-list-rule",
        "chip-curbs",
        {"title": "Chocolate chip cookie exports to China face new export controls"},
        [('none: "chocolate chip*"', ["Chocolate chip"])],
    ),
    (
        "two-none-entries",
        "chip-curbs",
        {
            "title": "China export controls hit potato crisps and chocolate chip cookies",
            "summary": "Snack makers say the curbs, not semiconductors, worry them.",
        },
        [("none: potato", ["potato"]), ('none: "chocolate chip*"', ["chocolate chip"])],
    ),
    (
        "a-not-inside-a-field-scope-says-which-field",
        "scoped",
        {"title": "Taiwan zoo welcomes twin pandas"},
        [("NOT title:zoo", ["zoo"])],
    ),
]


@pytest.mark.parametrize(
    ("rule", "fields", "clauses"), [e[1:] for e in EXCLUDED], ids=[e[0] for e in EXCLUDED]
)
def test_a_near_miss_names_the_clauses_that_excluded_it(
    rule: str, fields: dict[str, str], clauses: list[tuple[str, list[str]]]
) -> None:
    got = why(rule, fields)
    assert not got.matched and got.near_miss and not got.missing
    assert [(e.clause, [f.text for f in e.found]) for e in got.excluded] == clauses


def test_only_the_nots_on_the_way_to_a_match_are_blamed() -> None:
    # the summary branch lacks election*: its (absent) NOT could not have excluded anything,
    # and the title's zoo is what kept the item out
    got = why("scoped", {"title": "Taiwan zoo reopens", "summary": "Taiwan zoo visitors"})
    assert [e.clause for e in got.excluded] == ["NOT title:zoo"]


MISSING: list[tuple[str, str, dict[str, str], list[str]]] = [
    (
        "and-children-that-are-false",
        "strait-drills",
        {"title": "Taiwan's central bank holds rates steady"},
        ["drill* OR warship*"],
    ),
    (
        "entity-missing",
        "strait-drills",
        {"title": "Philippine coast guard reports warships near Scarborough Shoal"},
        ["@Taiwan"],
    ),
    (
        "all-missing",
        "chip-curbs",
        {"title": "Dutch chip equipment maker ASML reports record orders"},
        ['all: missing "export controls", China'],
    ),
    (
        "any-none-of",
        "chip-curbs",
        {"title": "China widens export controls on gallium and germanium"},
        ["any: none of semiconductor*, chip*"],
    ),
    (
        "near-too-far-apart",
        "kerry-climate",
        {
            "summary": "Kerry, who flew in from Washington on Sunday, said climate talks "
            "with Beijing would resume."
        },
        ['Kerry NEAR/4 "climate talks" (both found, more than 4 words apart)'],
    ),
    (
        "near-in-different-fields",
        "kerry-climate",
        {"title": "Kerry lands in Beijing", "summary": "The climate talks resume on Monday."},
        ['Kerry NEAR/4 "climate talks" (both found, in different fields)'],
    ),
    (
        "near-with-one-side-absent",
        "kerry-climate",
        {"title": "Climate talks in Bonn end without a deal"},
        ['Kerry NEAR/4 "climate talks"'],
    ),
    (
        "long-parts-are-shortened",
        "long",
        {"title": "US raises tariffs on Chinese steel and aluminium"},
        [
            '"Department of Commerce" OR "Bureau of Industry and Security" OR …',
        ],
    ),
]


@pytest.mark.parametrize(
    ("rule", "fields", "missing"), [e[1:] for e in MISSING], ids=[e[0] for e in MISSING]
)
def test_otherwise_it_names_what_is_missing(
    rule: str, fields: dict[str, str], missing: list[str]
) -> None:
    got = why(rule, fields)
    assert not got.matched and not got.excluded
    assert list(got.missing) == missing


def test_terms_are_shown_as_the_rule_wrote_them() -> None:
    rules = load_ruleset(
        {"r.yaml": "rules:\n  - name: r\n    match: 'Zürich AND \"Ching-te\" AND -Straße'\n"}
    )
    [rule] = rules.rules
    got = explain(rules, rule, {"title": "ZURICH: Ching-te meets Swiss envoys at the Straße"})
    assert [f.term for f in got.found] == ["Zürich", '"Ching-te"']
    assert [e.clause for e in got.excluded] == ["NOT Straße"]


def test_shorten_cuts_at_a_space() -> None:
    assert shorten("short") == "short"
    text = "tariff* AND " + " OR ".join(f"term{i}" for i in range(30))
    cut = shorten(text, 40)
    assert cut.endswith(" …") and len(cut) <= 42 and text.startswith(cut[:-2])


def test_explanations_are_plain_frozen_data() -> None:
    got = why("not-sport", {"title": "Football: Leicester beat Chelsea"})
    assert got.excluded == (
        Exclusion("NOT football", (Found("football", "Football", "title", 0, 8),)),
    )
    with pytest.raises(AttributeError):
        got.matched = True  # type: ignore[misc]


# ---------------------------------------------------------------- properties

BASE = load_ruleset({"entities.yaml": ENTITY_FILE})


def check_explanation(rules: RuleSet, fields: dict[str, str], want: bool) -> Explanation:
    [rule] = rules.rules
    got = explain(rules, rule, fields)
    assert got.matched is want is bool(rules.match(fields))
    if got.matched:
        assert not got.excluded and not got.missing
    else:
        assert bool(got.excluded) != bool(got.missing), got
    for found in (*got.found, *(f for e in got.excluded for f in e.found)):
        assert fields[found.field][found.start : found.end] == found.text
    return got


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries(), items())
def test_explain_agrees_with_the_matcher_and_the_reference(
    tree: Node, fields: dict[str, str]
) -> None:
    check_explanation(BASE.with_query(render(tree)), fields, evaluate(tree, ENTITIES, fields))


# Items of the property above are often empty; these always hold query words.
DENSE = st.lists(st.sampled_from(SURFACE), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries(), st.fixed_dictionaries({"title": DENSE, "summary": DENSE}))
def test_explain_agrees_on_items_full_of_query_words(tree: Node, fields: dict[str, str]) -> None:
    check_explanation(BASE.with_query(render(tree)), fields, evaluate(tree, ENTITIES, fields))


def list_rules() -> st.SearchStrategy[dict[str, list[str]]]:
    entry = st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(PREFIXES).map(lambda p: p + "*"),
        st.lists(st.sampled_from(WORDS), min_size=2, max_size=2).map(" ".join),
        st.sampled_from(sorted(ENTITIES)).map(lambda e: "@" + e),
    )
    entries = st.lists(entry, min_size=1, max_size=3)
    return st.fixed_dictionaries({}, optional={"any": entries, "all": entries, "none": entries})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(list_rules().filter(bool), items())
def test_list_rules_explain_with_their_lists(
    lists: dict[str, list[str]], fields: dict[str, str]
) -> None:
    text = yaml.safe_dump({"rules": [{"name": "r", **lists}]}, allow_unicode=True)
    rules = load_ruleset({"entities.yaml": ENTITY_FILE, "r.yaml": text})
    [rule] = rules.rules
    got = check_explanation(rules, fields, evaluate(rule.expr, ENTITIES, fields))
    assert all(e.clause.startswith("none: ") for e in got.excluded)
    assert all(m.startswith(("any: none of ", "all: missing ")) for m in got.missing)
