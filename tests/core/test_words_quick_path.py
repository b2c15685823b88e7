"""words() and word_spans() split text their own quick way: they must give
tokenize()'s words and offsets, always."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.text import tokenize, word_spans, words

# Letters, digits, accents (composed and combining), the apostrophes and the
# punctuation the quick path turns into spaces, characters that fold to "s",
# CJK and kana (with voicing marks), Hangul, a letter that lower-cases to two.
ALPHABET = (
    "aZsS09 \n.,-_'’‘“”—·\u00a0€₹üÜéÉ\u0301ßãİΣσšŠſｓ½™"
    "台灣关ガカ\u3099ｶﾞﾄ・゠〇々、。「」대만\u1100\u1161丽\uf900ゟＴ"
)


def tokenized(text: str) -> list[str]:
    return [t.word for t in tokenize(text)]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_words_are_the_words_of_tokenize(text: str) -> None:
    assert words(text) == tokenized(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="aS's’šſéÉ₹x l\u0301", max_size=14))
def test_possessives_are_dropped_as_tokenize_drops_them(text: str) -> None:
    assert words(text) == tokenized(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_text(text: str) -> None:
    assert words(text) == tokenized(text)


@pytest.mark.parametrize(
    "text",
    [
        "China's tariffs, Beijing’s reply: “no” — and the U.S. (again)",
        "Zürich's Strafzölle on São Paulo's coffee",
        "l'État d'Israël et l'œuvre qu'à 34 ans",
        "中华民国总统赖清德（Lai Ching-te）表示，2024年台湾海峡局势",
        "トランプ関税・ﾄﾗﾝﾌﾟ 대만은",
        "rock 'n' roll, ''quoted''s, it's', İstanbul's",
    ],
)
def test_news_text(text: str) -> None:
    assert words(text) == tokenized(text)
    assert word_spans(text) == [(t.start, t.end) for t in tokenize(text)]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_word_spans_are_the_offsets_of_tokenize(text: str) -> None:
    offsets = [(t.start, t.end) for t in tokenize(text)]
    assert word_spans(text) == offsets
    assert word_spans(text, len(words(text))) == offsets


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_word_spans_of_any_text(text: str) -> None:
    assert word_spans(text) == [(t.start, t.end) for t in tokenize(text)]
