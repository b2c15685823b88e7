"""The matcher: what each operator matches, and what a match reports."""

from __future__ import annotations

import pytest

from monitor.core.alerts import Fired
from monitor.core.rules import (
    EMPTY_RULESET,
    RuleSet,
    Span,
    highlight,
    load_ruleset,
    snippet,
)
from monitor.core.text import tokenize, words
from monitor.errors import RuleError

ENTITIES = """
entities:
  Taiwan: [Taiwan, Taipei, "Taiwan Strait", "Lai Ching-te"]
  Tariffs: [tariff*, duties]
"""
BASE = load_ruleset({"rules/entities.yaml": ENTITIES})

Fields = dict[str, str]


def fields_of(doc: str | Fields) -> Fields:
    """A bare string is an item's summary."""
    return {"summary": doc} if isinstance(doc, str) else doc


CASES: list[tuple[str, str, str | Fields, bool]] = [
    # words, case, whole words
    ("word", "Taiwan", "Tensions over Taiwan rise", True),
    ("word-absent", "Taiwan", "Tensions rise in Asia", False),
    ("case-query-lower", "taiwan", "TAIWAN DRILLS", True),
    ("case-query-upper", "TAIWAN", "drills near taiwan", True),
    ("whole-word-not-longer", "Thai", "Thailand holiday", False),
    ("whole-word-exact", "Thai", "Thai food festival", True),
    ("whole-word-no-plural", "tariff", "new tariffs announced", False),
    ("whole-word-no-inner", "riff", "tariff", False),
    ("digits", "2024", "In 2024, prices rose", True),
    ("hyphenated-term", "F-16", "more F-16 jets", True),
    # phrases
    ("phrase", '"Taiwan Strait"', "crossing the Taiwan Strait today", True),
    ("phrase-order", '"Strait Taiwan"', "crossing the Taiwan Strait today", False),
    ("phrase-gap", '"Taiwan Strait"', "Taiwan's narrow Strait", False),
    ("phrase-ignores-punctuation", '"Taiwan Strait"', "Taiwan - Strait", True),
    ("phrase-hyphen", '"Lai Ching-te"', "President Lai Ching-te said", True),
    ("phrase-hyphen-as-spaces", '"Lai Ching-te"', "Lai Ching te said", True),
    ("phrase-hyphen-needs-all", '"Lai Ching-te"', "Lai Ching said", False),
    # prefixes
    ("prefix-plural", "tariff*", "new tariffs announced", True),
    ("prefix-exact-word", "tariff*", "a tariff", True),
    ("prefix-word-start-only", "iff*", "tariffs", False),
    ("prefix-phrase", '"taiwan str*"', "the Taiwan Strait", True),
    ("prefix-phrase-head-exact", '"taiwan str*"', "the Taiwanese Strait", False),
    # possessives and diacritics
    ("possessive-text", "China", "China's exports", True),
    ("possessive-curly", "China", "China’s exports", True),
    ("possessive-query", '"China\'s"', "China exports", True),
    ("diacritics-text", "zurich", "Zürich bank", True),
    ("diacritics-query", "Zürich", "ZURICH bank", True),
    ("diacritics-decomposed", "Zürich", "Zu\u0308rich bank", True),
    ("diacritics-tilde", "São", "Sao Paulo", True),
    ("diacritics-sharp-s", "strasse", "Hauptstraße", False),
    ("diacritics-sharp-s-word", "strasse", "Straße", True),
    # boolean operators
    ("and-both", "china AND tariff", "China sets a tariff", True),
    ("and-one", "china AND tariff", "China sets a quota", False),
    ("or-one", "china OR tariff", "a tariff", True),
    ("or-none", "china OR tariff", "a quota", False),
    ("not-absent", "Taiwan NOT Thailand", "Taiwan news", True),
    ("not-present", "Taiwan NOT Thailand", "Taiwan and Thailand", False),
    ("minus-word", "Taiwan -Thailand", "Taiwan and Thailand", False),
    ("minus-phrase-present", 'Thai -"Thai food"', "Thai food fair", False),
    ("minus-phrase-absent", 'Thai -"Thai food"', "Thai politics", True),
    ("minus-group", "Taiwan -(Thailand OR Japan)", "Taiwan and Japan", False),
    ("only-not", "NOT china", "nothing here", True),
    ("parentheses", "(china OR taiwan) tariff*", "Taiwan tariffs", True),
    ("parentheses-needs-both", "(china OR taiwan) tariff*", "China alone", False),
    ("precedence-and-over-or", "china OR taiwan AND tariff", "China alone", True),
    ("precedence-and-over-or-2", "china OR taiwan AND tariff", "Taiwan alone", False),
    ("precedence-not-tightest", "NOT china OR taiwan", "China and Taiwan", True),
    ("precedence-not-tightest-2", "NOT china OR taiwan", "China alone", False),
    ("juxtaposition", "china tariff", "a tariff on China", True),
    ("juxtaposition-needs-all", "china tariff", "China alone", False),
    ("lowercase-and-is-a-word", "war and peace", "war or peace", False),
    ("lowercase-and-is-a-word-2", "war and peace", "war and peace", True),
    # entities
    ("entity-alias", "@Taiwan", "Taipei responded", True),
    ("entity-phrase-alias", "@Taiwan", "Lai Ching-te spoke", True),
    ("entity-none", "@Taiwan", "Thailand spoke", False),
    ("entity-prefix-alias", "@Tariffs", "new tariffs", True),
    ("entity-in-rule", "@Taiwan AND (threat* OR military)", "Taipei threatens", True),
    ("entity-in-rule-2", "@Taiwan AND (threat* OR military)", "Taipei responds", False),
    ("entity-negated", "china -@Taiwan", "China and Taipei", False),
    # field scopes
    ("scope-title", "title:china", {"title": "China", "summary": "x"}, True),
    ("scope-title-miss", "title:china", {"title": "x", "summary": "China"}, False),
    ("scope-summary", "summary:china", {"summary": "China"}, True),
    ("scope-summary-miss", "summary:china", {"content": "China"}, False),
    ("scope-content", "content:china", {"content": "China"}, True),
    ("scope-content-miss", "content:china", {"title": "China"}, False),
    ("scope-feed", "feed:reuters", {"feed": "Reuters World https://reuters.com/rss"}, True),
    ("scope-feed-url", "feed:reuters", {"feed": "https://feeds.reuters.com/world"}, True),
    ("default-scope-not-feed", "reuters", {"feed": "Reuters World"}, False),
    ("default-scope-content", "china", {"content": "China"}, True),
    ("default-scope-spans-fields", "china tariff", {"title": "China", "content": "tariff"}, True),
    ("scope-group", "title:(china tariff*)", {"title": "China", "summary": "tariffs"}, False),
    ("scope-group-2", "title:(china tariff*)", {"title": "China tariffs"}, True),
    ("scope-not", "title:(NOT china)", {"title": "x", "summary": "China"}, True),
    ("scope-innermost-wins", "title:(summary:china)", {"summary": "China"}, True),
    ("scope-entity", "title:@Taiwan", {"title": "Taipei", "summary": "x"}, True),
    # NEAR
    ("near", "china NEAR/3 tariff*", "China raised its new tariffs", True),
    ("near-reversed", "china NEAR/3 tariff*", "tariffs raised by all China", True),
    ("near-over-limit", "china NEAR/3 tariff*", "China raised all of its new tariffs", False),
    ("near-reversed-over", "china NEAR/3 tariff*", "tariffs raised by all of China", False),
    ("near-zero-adjacent", "china NEAR/0 tariffs", "China tariffs", True),
    ("near-zero-gap", "china NEAR/0 tariffs", "China new tariffs", False),
    ("near-default-10", "china NEAR tariffs", "China " + "x " * 10 + "tariffs", True),
    ("near-default-10-over", "china NEAR tariffs", "China " + "x " * 11 + "tariffs", False),
    (
        "near-phrase",
        '"taiwan strait" NEAR/3 military',
        "military drills in the Taiwan Strait",
        True,
    ),
    (
        "near-phrase-over",
        '"taiwan strait" NEAR/2 military',
        "military drills in the Taiwan Strait",
        False,
    ),
    ("near-entity", "@Taiwan NEAR/5 threat*", "Lai Ching-te rejected the threats", True),
    ("near-or-group", "(china OR beijing) NEAR/2 tariff*", "Beijing slaps tariffs", True),
    (
        "near-not-across-fields",
        "china NEAR/5 tariffs",
        {"title": "China", "summary": "tariffs"},
        False,
    ),
    ("near-no-overlap", 'taiwan NEAR/5 "taiwan strait"', "the Taiwan Strait", False),
    ("near-two-occurrences", 'taiwan NEAR/5 "taiwan strait"', "Taiwan and the Taiwan Strait", True),
    ("near-same-word-twice", "china NEAR/2 china", "China", False),
    ("near-same-word-twice-2", "china NEAR/2 china", "China and China", True),
    ("near-scoped", "title:(china NEAR/2 tariffs)", {"title": "China tariffs"}, True),
    ("near-scoped-miss", "title:(china NEAR/2 tariffs)", {"summary": "China tariffs"}, False),
    ("near-negated", "china NOT (china NEAR/1 tariffs)", "China x x tariffs", True),
    # missing fields
    ("no-fields", "china", {}, False),
    ("no-fields-not", "NOT china", {}, True),
]


@pytest.mark.parametrize(
    ("query", "doc", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator_table(query: str, doc: str | Fields, expected: bool) -> None:
    assert bool(BASE.with_query(query).match(fields_of(doc))) is expected


# ---------------------------------------------------------------- words


def test_tokens_keep_original_offsets() -> None:
    text = "Zu\u0308rich's São-Paulo"
    tokens = tokenize(text)
    assert [t.word for t in tokens] == ["zurich", "sao", "paulo"]
    assert [text[t.start : t.end] for t in tokens] == ["Zu\u0308rich", "São", "Paulo"]


def test_a_letter_that_lowercases_to_two_keeps_offsets_right() -> None:
    text = "İstanbul and TAIWAN"
    assert [(t.word, text[t.start : t.end]) for t in tokenize(text)] == [
        ("istanbul", "İstanbul"),
        ("and", "and"),
        ("taiwan", "TAIWAN"),
    ]


def test_folding_letters_without_decomposition() -> None:
    assert words("Łódź Øresund Æsir") == ["lodz", "oresund", "aesir"]


# ---------------------------------------------------------------- what a match reports


def match_one(query: str, fields: Fields) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    [m] = BASE.with_query(query).match(fields)
    return m.terms, [(s.field, fields[s.field][s.start : s.end]) for s in m.spans]


def test_terms_appear_as_written_and_spans_point_into_the_original() -> None:
    fields = {"title": "Taipei rejects threats", "summary": "LAI CHING-TE spoke on Zu\u0308rich"}
    terms, spans = match_one("@Taiwan AND (threat* OR military) AND zurich", fields)
    assert terms == ("Taipei", "threats", "LAI CHING-TE", "Zu\u0308rich")
    assert spans == [
        ("title", "Taipei"),
        ("title", "threats"),
        ("summary", "LAI CHING-TE"),
        ("summary", "Zu\u0308rich"),
    ]


def test_negated_terms_and_false_branches_are_not_reported() -> None:
    terms, _ = match_one("(china OR japan) -thailand -(korea NEAR/2 japan)", {"summary": "China"})
    assert terms == ("China",)


def test_terms_are_deduplicated_case_insensitively_but_every_span_is_kept() -> None:
    fields = {"summary": "China, CHINA and china"}
    terms, spans = match_one("china", fields)
    assert terms == ("China",)
    assert [text for _, text in spans] == ["China", "CHINA", "china"]


def test_possessive_is_left_out_of_the_span() -> None:
    terms, _ = match_one("china", {"summary": "China's army"})
    assert terms == ("China",)


def test_near_reports_only_the_pairs_within_reach() -> None:
    text = "China said nothing about the tariffs, then China tariffs"
    [m] = BASE.with_query("china NEAR/0 tariffs").match({"summary": text})
    china, tariffs = text.rindex("China"), text.rindex("tariffs")
    assert m.spans == (Span("summary", china, china + 5), Span("summary", tariffs, tariffs + 7))


def test_rules_come_back_in_rule_order_with_their_names() -> None:
    ruleset = load_ruleset(
        {
            "b.yaml": "rules:\n  - {name: zeta, match: china}\n  - {name: alpha, match: 'NOT x'}\n",
            "a.yaml": "rules:\n  - {name: first, match: tariff*}\n  - {name: never, match: x}\n",
        }
    )
    found = ruleset.match({"title": "China tariffs"})
    assert [m.rule.name for m in found] == ["first", "zeta", "alpha"]


def test_rule_true_without_any_term_matches_every_item() -> None:
    ruleset = load_ruleset({"r.yaml": "rules:\n  - {name: quiet, none: [war, strike*]}\n"})
    assert [m.rule.name for m in ruleset.match({"title": "Calm day"})] == ["quiet"]
    assert [m.rule.name for m in ruleset.match({})] == ["quiet"]
    assert ruleset.match({"title": "Strikes spread"}) == []


def test_fired_quotes_the_story_text_before_the_title() -> None:
    ruleset = load_ruleset(
        {"r.yaml": "rules:\n  - {name: r, match: 'china OR tariff*', notify: [chat, ops]}\n"}
    )
    fields = {"title": "China acts", "summary": "New tariffs on steel"}
    [m] = ruleset.match(fields)
    assert m.fired(fields) == Fired(
        rule="r",
        notify=("chat", "ops"),
        terms=("China", "tariffs"),
        snippet="New **tariffs** on steel",
    )


def test_fired_quotes_the_title_when_only_the_title_matched() -> None:
    fields = {"title": "China acts", "summary": "Steel news"}
    [m] = BASE.with_query("china").match(fields)
    assert m.fired(fields).snippet == "**China** acts"


def test_fired_uses_the_summary_when_the_title_has_no_match() -> None:
    fields = {"title": "Markets", "summary": "New tariffs on steel", "content": "tariffs again"}
    [m] = BASE.with_query("tariff*").match(fields)
    fired = m.fired(fields)
    assert fired.snippet == "New **tariffs** on steel"
    assert fired.notify == ()


def test_fired_without_terms_shows_the_start_of_the_summary() -> None:
    fields = {"title": "Calm", "summary": "Nothing happened today."}
    [m] = BASE.with_query("NOT war").match(fields)
    assert m.fired(fields) == Fired(
        rule="query", notify=(), terms=(), snippet="Nothing happened today."
    )


# ---------------------------------------------------------------- rule sets


def test_with_query_knows_the_entities_and_names_unknown_ones() -> None:
    assert BASE.entities["Taiwan"] == ("Taiwan", "Taipei", "Taiwan Strait", "Lai Ching-te")
    with pytest.raises(
        RuleError, match=r"unknown entity @Taiwn at column 7 \(did you mean @Taiwan"
    ):
        BASE.with_query("china @Taiwn")


def test_only_picks_one_rule() -> None:
    ruleset = load_ruleset(
        {"r.yaml": "rules:\n  - {name: china, match: china}\n  - {name: japan, match: japan}\n"}
    )
    only = ruleset.only("japan")
    assert [r.name for r in only.rules] == ["japan"]
    assert [m.rule.name for m in only.match({"title": "China and Japan"})] == ["japan"]
    with pytest.raises(RuleError, match="unknown rule 'chin'"):
        ruleset.only("chin")


def test_empty_ruleset_matches_nothing() -> None:
    assert EMPTY_RULESET.rules == ()
    assert EMPTY_RULESET.match({"title": "anything"}) == []
    assert RuleSet().with_query("anything").match({"title": "anything"})


def test_thousands_of_rules_sharing_terms() -> None:
    text = "rules:\n" + "".join(
        f"  - {{name: r{i}, match: 'w{i} OR (w{i + 1} NEAR/1 common)'}}\n" for i in range(3000)
    )
    ruleset = load_ruleset({"many.yaml": text})
    found = ruleset.match({"title": "w17 common w2999"})
    assert [m.rule.name for m in found] == ["r16", "r17", "r2998", "r2999"]


# ---------------------------------------------------------------- snippets


def test_snippet_of_short_text_is_the_whole_text() -> None:
    assert snippet("China raises tariffs", [(0, 5), (13, 20)]) == "**China** raises **tariffs**"


def test_snippet_merges_overlapping_terms() -> None:
    text = "the Taiwan Strait"
    assert snippet(text, [(4, 10), (4, 17)]) == "the **Taiwan Strait**"


def test_snippet_windows_long_text_around_the_first_match() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    start = text.index("word120")
    out = snippet(text, [(start, start + 7)], width=80)
    assert out.startswith("…word") and out.endswith("…")
    assert "**word120**" in out
    body = out.strip("…").replace("**", "")
    assert len(body) <= 80
    assert body in text  # whole words only: cut at spaces


def test_snippet_collapses_whitespace_and_uses_the_given_marks() -> None:
    text = "Line one\n\n  China   acts\ttoday"
    assert snippet(text, [(12, 17)], mark=("<b>", "</b>")) == "Line one <b>China</b> acts today"


def test_snippet_never_cuts_a_term() -> None:
    text = "x" * 30 + " Taiwan Strait tensions " + "y" * 200
    start = text.index("Taiwan")
    out = snippet(text, [(start, start + 13)], width=40)
    assert "**Taiwan Strait**" in out


def test_snippet_without_matches_is_the_start() -> None:
    text = "word " * 100
    out = snippet(text, [], width=50)
    assert out.endswith("…") and not out.startswith("…")
    assert len(out) <= 51


def test_highlight_marks_the_whole_text() -> None:
    assert highlight("a China b\nChina", [(2, 7), (10, 15)]) == "a **China** b\n**China**"
