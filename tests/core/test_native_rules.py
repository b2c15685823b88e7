"""The rule evaluation in Rust (``monitor._native.Rules``) against the Python
one (``RuleSet._evaluate``, the reference and the fallback): the same rules
fire, in the same order, for rule sets of every shape the anchoring sorts
rules into, any query, NEAR at its edges, and any item."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.rules import RuleSet, load_ruleset, render, scanning
from monitor.core.rules.matcher import _ScannedItem
from monitor.core.rules.query import Near, Node

from . import test_matcher_anchors as anchors
from . import test_matcher_properties as props


def _rules_yaml(trees: list[Node]) -> str:
    rules = [{"name": f"r{i}", "match": render(t)} for i, t in enumerate(trees)]
    return yaml.safe_dump({"rules": rules})


def _ruleset(trees: list[Node]) -> RuleSet:
    ruleset = load_ruleset({"entities.yaml": props.ENTITY_FILE, "rules.yaml": _rules_yaml(trees)})
    assert ruleset._native is not None, "the native module is built"
    return ruleset


def check(ruleset: RuleSet, fields: dict[str, str]) -> None:
    native = ruleset.match(fields)
    python = ruleset._evaluate(_ScannedItem(ruleset, fields))
    assert [m.rule.name for m in native] == [m.rule.name for m in python]
    # what an alert reads of a match is the Python code's either way
    assert [(m.terms, m.spans) for m in native] == [(m.terms, m.spans) for m in python]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(anchors.shaped(), min_size=1, max_size=16),
    st.lists(props.items(), min_size=1, max_size=8),
)
def test_native_evaluation_agrees_with_python(
    trees: list[Node], batch: list[dict[str, str]]
) -> None:
    ruleset = _ruleset(trees)
    for fields in batch:
        check(ruleset, fields)


NEAR_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        f: st.lists(st.sampled_from(props.NEAR_SURFACE), max_size=12).map(" ".join)
        for f in ("title", "summary", "content")
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.builds(Near, props.near_operands(), props.near_operands(), st.integers(0, 3)),
        min_size=1,
        max_size=6,
    ),
    st.lists(NEAR_FIELDS, min_size=1, max_size=6),
)
def test_native_near_agrees_with_python_at_its_edges(
    trees: list[Node], batch: list[dict[str, str]]
) -> None:
    ruleset = _ruleset(trees)
    for fields in batch:
        check(ruleset, fields)


def test_unscanned_and_empty_fields_and_rules_true_on_nothing() -> None:
    ruleset = props.BASE.with_query("NOT china OR feed:tariffs")
    assert ruleset._native is not None
    for fields in ({}, {"title": ""}, {"title": "China"}, {"feed": "Tariffs", "title": "China"}):
        check(ruleset, fields)
    assert [bool(ruleset.match(f)) for f in ({}, {"title": "China"})] == [True, False]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(anchors.shaped(), min_size=1, max_size=8),
    st.lists(props.items(), min_size=1, max_size=4),
)
def test_without_the_native_module_python_evaluates(
    trees: list[Node], batch: list[dict[str, str]]
) -> None:
    native = _ruleset(trees)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scanning, "NATIVE", False)
        fallback = load_ruleset(
            {"entities.yaml": props.ENTITY_FILE, "rules.yaml": _rules_yaml(trees)}
        )
    assert fallback._native is None
    for fields in batch:
        assert [m.rule.name for m in fallback.match(fields)] == [
            m.rule.name for m in native.match(fields)
        ]
