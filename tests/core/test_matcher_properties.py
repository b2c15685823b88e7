"""Properties: the compiled matcher agrees with the plain reference evaluator,
and rendering a query tree gives text that parses back to the same tree."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.rules import Span, load_ruleset, parse_query, render
from monitor.core.rules.query import FIELDS, And, EntityRef, Field, Near, Node, Not, Or, Term
from monitor.core.text import tokenize

from .reference import evaluate, occurrences, positive_leaves, ref_words

ENTITIES = {
    "Taiwan": ["Taiwan", "Taiwan Strait", "Lai Ching-te"],
    "Trade": ["tariff*", "export controls", "duties"],
    "Swiss": ["Zürich"],
}
ENTITY_FILE = yaml.safe_dump({"entities": ENTITIES}, allow_unicode=True)
BASE = load_ruleset({"entities.yaml": ENTITY_FILE})

# Surface forms in documents: cases, accents, possessives, hyphens, look-alikes.
SURFACE = [
    "Taiwan", "TAIWAN", "taiwan's", "Taiwanese", "Strait", "strait", "Lai", "Ching-te",
    "ching", "te", "China", "China’s", "china", "tariff", "tariffs", "Tariffs", "duties",
    "export", "controls", "Thai", "Thailand", "food", "Zürich", "ZURICH", "Zu\u0308rich",
    "São", "sao", "and", "or", "AND", "NOT", "military", "Strafzölle", "Zölle", "Zöllner",
    "ＴＡＩＷＡＮ", "台湾", "台灣海峽", "对等关税", "關稅", "トランプ関税", "ﾄﾗﾝﾌﾟ", "대만은",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", " - ", "\n", " (", ") ", "—"]
WORDS = [
    "taiwan", "strait", "lai", "ching", "te", "china", "tariff", "tariffs", "duties",
    "export", "controls", "thai", "thailand", "food", "zurich", "sao", "and", "or", "military",
]  # fmt: skip
PREFIXES = ["tariff", "thai", "tai", "ch", "s", "zur", "con", "mil"]
SUFFIXES = ["zolle", "wan", "iffs", "ina", "e"]
# Characters of scripts without spaces: every one a word of its own.
UNSPACED = [
    ("台", "湾"), ("台", "灣"), ("关", "税"), ("關", "稅"), ("ト", "ラ", "ン", "プ"), ("대", "만"),
]  # fmt: skip


def documents() -> st.SearchStrategy[str]:
    piece = st.tuples(st.sampled_from(SURFACE), st.sampled_from(SEPARATORS))
    return st.lists(piece, max_size=14).map(lambda ps: "".join(w + s for w, s in ps))


def items() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={f: documents() for f in FIELDS})


def terms() -> st.SearchStrategy[Node]:
    word = st.sampled_from(WORDS).map(lambda w: Term((w,)))
    phrase = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(
        lambda ws: Term(tuple(ws))
    )
    prefix = st.sampled_from(PREFIXES).map(lambda p: Term((p,), True))
    phrase_prefix = st.tuples(st.sampled_from(WORDS), st.sampled_from(PREFIXES)).map(
        lambda t: Term(t, True)
    )
    entity = st.sampled_from(sorted(ENTITIES)).map(EntityRef)
    suffix = st.tuples(st.sampled_from(SUFFIXES), st.booleans()).map(
        lambda t: Term((t[0],), t[1], suffix=True)
    )
    unspaced = st.sampled_from(UNSPACED).map(Term)
    return st.one_of(word, word, phrase, prefix, phrase_prefix, entity, suffix, unspaced)


def near_operands() -> st.SearchStrategy[Node]:
    group = st.lists(terms(), min_size=2, max_size=3).map(lambda cs: Or(tuple(cs)))
    return st.one_of(terms(), terms(), group)


def queries() -> st.SearchStrategy[Node]:
    near = st.builds(Near, near_operands(), near_operands(), st.integers(0, 4))

    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        many = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(
            many.map(And),
            many.map(Or),
            children.map(Not),
            st.builds(Field, st.sampled_from(FIELDS), children),
        )

    return st.recursive(st.one_of(terms(), near), extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(queries())
def test_render_then_parse_round_trips(tree: Node) -> None:
    assert parse_query(render(tree)) == tree


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries(), items())
def test_matcher_agrees_with_the_reference(tree: Node, fields: dict[str, str]) -> None:
    found = BASE.with_query(render(tree)).match(fields)
    assert bool(found) is evaluate(tree, ENTITIES, fields)
    if found:
        check_spans(tree, fields, found[0].spans)


def check_spans(tree: Node, fields: dict[str, str], spans: tuple[Span, ...]) -> None:
    """Every span covers exactly one occurrence of a positive term of the query
    that looks at the span's field."""
    positive = positive_leaves(tree, ENTITIES)
    for span in spans:
        covered = ref_words(fields[span.field][span.start : span.end])
        assert any(
            span.field in scope and occurrences(leaf, covered) == [(0, len(covered))]
            for leaf, scope in positive
        ), (span, covered)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=12), st.lists(items(), min_size=1, max_size=8))
def test_a_whole_rule_set_agrees_with_the_reference(
    trees: list[Node], batch: list[dict[str, str]]
) -> None:
    rules = [{"name": f"r{i}", "match": render(t)} for i, t in enumerate(trees)]
    ruleset = load_ruleset(
        {"entities.yaml": ENTITY_FILE, "rules.yaml": yaml.safe_dump({"rules": rules})}
    )
    for fields in batch:
        got = [m.rule.name for m in ruleset.match(fields)]
        want = [f"r{i}" for i, t in enumerate(trees) if evaluate(t, ENTITIES, fields)]
        assert got == want


NEAR_SURFACE = [
    "China",
    "china's",
    "tariffs",
    "Tariff",
    "x",
    "y",
    "Taiwan",
    "Strait",
    "Lai Ching-te",
]


@settings(max_examples=300, deadline=None)
@given(
    st.builds(Near, near_operands(), near_operands(), st.integers(0, 3)),
    st.lists(st.sampled_from(NEAR_SURFACE), max_size=12).map(" ".join),
)
def test_near_agrees_with_the_reference_at_its_edges(tree: Node, text: str) -> None:
    fields = {"summary": text}
    found = BASE.with_query(render(tree)).match(fields)
    assert bool(found) is evaluate(tree, ENTITIES, fields)
    if found:
        check_spans(tree, fields, found[0].spans)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZsS09 üÜéßãİ'’-.,\n台灣关ガｶﾄＴ대", max_size=40))
def test_tokens_agree_with_the_reference_and_point_back_into_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert [t.word for t in tokens] == ref_words(text)
    for t in tokens:
        assert ref_words(text[t.start : t.end]) == [t.word]
