"""Properties of the matcher's anchoring: a rule is tried only when a term of
its rarest required set occurs and one of the next set it requires, and a rule
that is exactly those sets fires on that alone, untested. Held to the reference
evaluator: what a node requires occurs whenever it is true, an exact node is
true exactly when all it requires occurs, and the rules a whole set finds are
the ones the reference finds."""

from __future__ import annotations

from collections.abc import Iterator

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.rules import load_ruleset, render
from monitor.core.rules.matcher import RuleSet, _All, _Any, _Eval, _Not, _ScannedItem
from monitor.core.rules.query import And, Field, Near, Node, Not, Or

from . import test_matcher_properties as props
from .reference import evaluate


def groups() -> st.SearchStrategy[Node]:
    """A term, or an OR of a few (an entity among them, maybe)."""
    return st.lists(props.terms(), min_size=1, max_size=3).map(
        lambda cs: cs[0] if len(cs) == 1 else Or(tuple(cs))
    )


def shaped() -> st.SearchStrategy[Node]:
    """Rules of every kind the anchoring sorts them into: one set, exact; two
    sets, exact; two sets and a test; sets in different fields; NEAR; NOT;
    an OR of ANDs; and any query at all."""
    g = groups()
    two = st.tuples(g, g)
    return st.one_of(
        g,
        two.map(And),
        st.tuples(g, g, g).map(And),
        two.map(lambda p: And((p[0], Not(p[1])))),
        two.map(lambda p: Or((Field("title", p[0]), p[1]))),
        two.map(lambda p: And((Field("summary", p[0]), p[1]))),
        st.tuples(two, two).map(lambda p: Or((And(p[0]), And(p[1])))),
        st.builds(Near, props.near_operands(), props.near_operands(), st.integers(0, 4)),
        st.tuples(g, st.builds(Near, g, g, st.integers(0, 3))).map(And),
        props.queries(),
    )


def nodes(evaluator: _Eval) -> Iterator[_Eval]:
    yield evaluator
    if isinstance(evaluator, _All | _Any):
        for child in evaluator.children:
            yield from nodes(child)
    elif isinstance(evaluator, _Not):
        yield from nodes(evaluator.child)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped(), props.items())
def test_what_a_node_requires_occurs_whenever_it_is_true(
    tree: Node, fields: dict[str, str]
) -> None:
    ruleset = props.BASE.with_query(render(tree))
    item = _ScannedItem(ruleset, fields)
    root = ruleset._evals[0]
    assert root.test(item) is evaluate(tree, props.ENTITIES, fields)
    for node in nodes(root):
        true = node.test(item)
        met = [any(tid in item.views[view] for view, tid in keys) for _, keys in node.requires()]
        if true:
            assert all(met), node
        if node.exact():
            assert true is all(met), node


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(shaped(), min_size=1, max_size=16), st.lists(props.items(), min_size=1, max_size=8))
def test_anchoring_drops_no_rule_the_reference_finds(
    trees: list[Node], batch: list[dict[str, str]]
) -> None:
    rules = [{"name": f"r{i}", "match": render(t)} for i, t in enumerate(trees)]
    ruleset = load_ruleset(
        {"entities.yaml": props.ENTITY_FILE, "rules.yaml": yaml.safe_dump({"rules": rules})}
    )
    for fields in batch:
        got = [m.rule.name for m in ruleset.match(fields)]
        want = [f"r{i}" for i, t in enumerate(trees) if evaluate(t, props.ENTITIES, fields)]
        assert got == want


def test_rules_are_sorted_into_each_way_of_trying_them() -> None:
    """Each way of trying a rule is taken: untested on one set and on two,
    tested after two sets, tested on every item."""
    entities = {name: props.BASE.entity(name) for name in props.ENTITIES}
    queries = {
        "one": "tariffs OR @Trade",
        "two": "taiwan AND (china OR strait)",
        "tested": 'taiwan AND china AND NOT "export controls"',
        "near": "taiwan NEAR/2 @Trade",
        "fields": "title:taiwan AND (china OR summary:strait)",
        "always": "NOT china",
    }
    base = props.BASE
    ruleset = RuleSet(
        [base.with_query(q, name).rules[0] for name, q in queries.items()],
        {k: v for k, v in entities.items() if v is not None},
    )
    index = {r.name: i for i, r in enumerate(ruleset.rules)}
    assert {index["one"], index["two"]} <= ruleset._exact
    assert index["one"] in ruleset._single and index["two"] not in ruleset._single
    assert index["tested"] not in ruleset._exact | ruleset._single
    assert index["near"] not in ruleset._exact | ruleset._single
    # a set over two views is looked up in the view of all three text fields
    assert index["fields"] not in ruleset._exact | ruleset._single
    assert ruleset._always == (index["always"],)
    fields = {"title": "China and Taiwan", "summary": "Taiwan tariffs, then China"}
    found = [m.rule.name for m in ruleset.match(fields)]
    assert found == ["one", "two", "tested", "near", "fields"]
