"""The query parser: the trees it builds, and the errors it reports."""

from __future__ import annotations

import pytest

from monitor.core.rules.query import (
    And,
    EntityRef,
    Field,
    Near,
    Node,
    Not,
    Or,
    Term,
    parse_query,
    parse_term,
    render,
)
from monitor.errors import RuleError


def w(*words: str, prefix: bool = False) -> Term:
    return Term(tuple(words), prefix)


PARSES: list[tuple[str, str, Node]] = [
    ("word", "Taiwan", w("taiwan")),
    ("phrase", '"Taiwan Strait"', w("taiwan", "strait")),
    ("prefix", "tariff*", w("tariff", prefix=True)),
    ("phrase-prefix", '"taiwan str*"', w("taiwan", "str", prefix=True)),
    ("quoted-then-star", '"taiwan str"*', w("taiwan", "str", prefix=True)),
    ("hyphen-word-is-phrase", "Ching-te", w("ching", "te")),
    ("possessive", "China's", w("china")),
    ("diacritics", "Zürich", w("zurich")),
    ("and", "a AND b", And((w("a"), w("b")))),
    ("juxtaposition", "a b c", And((w("a"), w("b"), w("c")))),
    ("or", "a OR b", Or((w("a"), w("b")))),
    ("and-binds-tighter", "a OR b AND c", Or((w("a"), And((w("b"), w("c")))))),
    ("juxtaposition-binds-tighter", "a b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("parentheses", "(a OR b) c", And((Or((w("a"), w("b"))), w("c")))),
    ("nested-group-kept", "(a AND b) AND c", And((And((w("a"), w("b"))), w("c")))),
    ("not", "NOT a", Not(w("a"))),
    ("not-binds-tightest", "NOT a b", And((Not(w("a")), w("b")))),
    ("not-before-or", "NOT a OR b", Or((Not(w("a")), w("b")))),
    ("minus-word", "a -b", And((w("a"), Not(w("b"))))),
    ("minus-phrase", 'a -"b c"', And((w("a"), Not(w("b", "c"))))),
    ("minus-group", "a -(b OR c)", And((w("a"), Not(Or((w("b"), w("c"))))))),
    ("lowercase-operators-are-words", "peace or not", And((w("peace"), w("or"), w("not")))),
    ("entity", "@Taiwan", EntityRef("Taiwan")),
    (
        "entity-in-group",
        "@Taiwan AND (threat* OR military)",
        And((EntityRef("Taiwan"), Or((w("threat", prefix=True), w("military"))))),
    ),
    ("field-term", "title:China", Field("title", w("china"))),
    ("field-phrase", 'summary:"a b"', Field("summary", w("a", "b"))),
    ("field-group", "content:(a OR b)", Field("content", Or((w("a"), w("b"))))),
    ("field-feed", "feed:reuters", Field("feed", w("reuters"))),
    ("field-space", "title: China", Field("title", w("china"))),
    ("field-entity", "title:@Taiwan", Field("title", EntityRef("Taiwan"))),
    ("near", "a NEAR/5 b", Near(w("a"), w("b"), 5)),
    ("near-default", "a NEAR b", Near(w("a"), w("b"), 10)),
    ("near-groups", '(a OR "b c") NEAR/2 @E', Near(Or((w("a"), w("b", "c"))), EntityRef("E"), 2)),
    ("near-binds-tighter-than-and", "x a NEAR/3 b", And((w("x"), Near(w("a"), w("b"), 3)))),
    ("near-under-not", "NOT a NEAR/3 b", Not(Near(w("a"), w("b"), 3))),
    ("digits", "F-16 2024", And((w("f", "16"), w("2024")))),
]


@pytest.mark.parametrize(("query", "tree"), [p[1:] for p in PARSES], ids=[p[0] for p in PARSES])
def test_parse(query: str, tree: Node) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(("query", "tree"), [p[1:] for p in PARSES], ids=[p[0] for p in PARSES])
def test_render_round_trips(query: str, tree: Node) -> None:
    assert parse_query(render(tree)) == tree


ERRORS = [
    ("empty", "   ", "empty query"),
    ("unclosed", "a AND (b OR c", "unbalanced parenthesis at column 7: '(' is never closed"),
    ("unopened", "a OR b) c", "unbalanced parenthesis at column 7: ')' has no matching '('"),
    ("empty-group", "a ()", "empty parentheses at column 3"),
    ("dangling-and", "a AND", "expected a term after AND at column 3, got end of query"),
    ("dangling-or-in-group", "(a OR)", "expected a term after OR at column 4, got ')' at column 6"),
    ("leading-or", "OR a", "expected a term before OR at column 1"),
    ("double-operator", "a AND OR b", "expected a term after AND at column 3, got OR at column 7"),
    ("dangling-not", "a NOT", "expected a term after NOT at column 3, got end of query"),
    ("unterminated-quote", 'a "b c', "unterminated quote starting at column 3"),
    ("empty-phrase", 'a ""', "empty phrase at column 3"),
    ("star-inside", "ta*riff", "'*' at column 3 is only allowed at the start or end of a term"),
    ("lone-star", "a *", "'*' at column 3 needs a word beside it"),
    ("punctuation-only", "a &", "term '&' at column 3 has no letters or digits"),
    ("lone-minus", "a - b", "'-' at column 3 must be followed directly by a word"),
    ("bad-entity", "a @ b", "expected an entity name after '@' at column 3"),
    ("unknown-field", "subject:x", "unknown field 'subject:' at column 1"),
    ("field-without-term", "a title:", "expected a term after title: at column 3"),
    ("near-without-number", "a NEAR/x b", "expected a number after 'NEAR/' at column 8"),
    ("near-leading", "NEAR a", "expected a term before NEAR at column 1"),
    ("near-chain", "a NEAR b NEAR c", "NEAR at column 10 cannot be chained"),
    ("near-and-operand", "(a b) NEAR c", "NEAR at column 7 needs a word, phrase, prefix"),
    ("near-field-operand", "title:a NEAR c", "title:(a NEAR/5 b)"),
]


@pytest.mark.parametrize(("query", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_syntax_errors_name_the_column(query: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_query(query)
    assert message in caught.value.message
    assert caught.value.path is None


def test_entity_references_carry_the_line_given() -> None:
    tree = parse_query("x OR @Taiwan", line=7)
    assert isinstance(tree, Or)
    ref = tree.children[1]
    assert isinstance(ref, EntityRef)
    assert (ref.name, ref.col, ref.line) == ("Taiwan", 6, 7)


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("Thai food", w("thai", "food")),
        ('"Thai food"', w("thai", "food")),
        ("tariff*", w("tariff", prefix=True)),
        ("Lai Ching-te", w("lai", "ching", "te")),
        ("@Taiwan", EntityRef("Taiwan")),
        ("AND", w("and")),
    ],
)
def test_list_entries_are_literal_terms(text: str, node: Node) -> None:
    assert parse_term(text) == node


@pytest.mark.parametrize("text", ["", "  ", "a*b", "@", "!!", 'a "b" c'])
def test_bad_list_entries(text: str) -> None:
    with pytest.raises(RuleError):
        parse_term(text)
