"""The tokenizer in Rust (monitor._native) against the Python reference: where
it answers, the same words and offsets as tokenize(), on any text; where it
cannot be sure (combining marks, kana voicing marks, İ…), it hands the text
back, and words()/word_spans() then take the Python path."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import _native as native
from monitor.core import text
from monitor.core.text import tokenize, word_spans, words

EVAL = Path(__file__).resolve().parent.parent / "data" / "eval"


def reference(t: str) -> tuple[list[str], list[tuple[int, int]]]:
    tokens = tokenize(t)
    return [tok.word for tok in tokens], [(tok.start, tok.end) for tok in tokens]


def check(t: str) -> bool:
    """Native and reference agree on ``t``; whether native answered."""
    found, spans = reference(t)
    stream = native.stream(t)
    native_spans = native.spans(t)
    assert (stream is None) == (native_spans is None)
    if stream is not None:
        assert stream == (" " + " ".join(found) + " " if found else "")
        assert native_spans == spans
    assert words(t) == found
    assert word_spans(t) == spans
    # and Python's quick path, which the native one took over from, still agrees
    assert text.python_words(t) == found
    assert text.python_word_spans(t) == spans
    return stream is not None


def _stories() -> list[str]:
    stories = []
    for name in ("dev.jsonl", "frozen.jsonl"):
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            stories.append(f"{record['title']}\n{record['summary']}")
    return stories


STORIES = _stories()
# Korean, which the corpus has little of, and news punctuation of every kind.
KOREAN = "대만 국방부는 중국군 항공기 20여 대가 대만해협 중간선을 넘었다고 밝혔다. 관세 25%"
SENTENCES = [s for story in STORIES for s in story.replace("\n", ". ").split(". ") if s]
SENTENCES.append(KOREAN)


def test_native_is_built_and_in_force() -> None:
    """scripts/setup and `pip install -e .` build it; this Python's Unicode
    tables are the ones it was made from."""
    assert unicodedata.unidata_version == native.UNIDATA_VERSION
    assert text.NATIVE_WORDS


def test_every_story_of_the_nine_languages_is_tokenized_natively() -> None:
    """The stories the pack reads (en, zh, ja, ko, de, fr, es, it, pt) all take
    the native path, with the reference's words and offsets."""
    assert all(check(story) for story in [*STORIES, KOREAN])


# Characters every path of the tokenizer cares about: letters, digits, the
# apostrophes, punctuation, accents composed and combining, characters that
# fold to "s" or to several letters, CJK, kana with and without voicing marks,
# Hangul and its jamo, halfwidth and fullwidth forms, a letter that lower-cases
# to two, compatibility characters, unassigned code points.
ALPHABET = (
    "aZsS09 \n\t.,-_'’‘“”—·\u00a0€₹üÜéÉ\u0301ßãİΣσςšŠſｓ½™ﬁØøÆœÞħıŁ"
    "台灣关ガカ\u3099ｶﾞﾄ・゠〇々、。「」대만\u1100\u1161\u11a8丽\uf900ゟＴ１"
    "\u0378\u9ffe\U0002b740\U0003134a\U00031350ⅷ①ªº²ᵃ\u200b\u00ad\uffa1\uffc2\u0e33"
)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_tricky_characters(t: str) -> None:
    check(t)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=40))
def test_any_unicode_text(t: str) -> None:
    check(t)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(SENTENCES),
            st.text(alphabet=ALPHABET, max_size=4),
            st.sampled_from(["'s", "’s", "s'", "' s", "'S ", "O'Brien", "don’t"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_news_text_of_nine_languages_with_noise(parts: list[str]) -> None:
    """Sentences of the labelled stories, glued to each other, to stray
    characters and to apostrophes in every way."""
    check("".join(parts))


def test_every_character_alone_and_among_letters() -> None:
    """Each code point of the Basic Multilingual Plane, and of the CJK
    extension planes' first code points, as a word, inside one, before a
    possessive, and between halfwidth Hangul letters (which NFKC joins into
    one syllable): what the native table says about it is what Python does."""
    for cp in [*range(0x10000), *range(0x20000, 0x20100), *range(0x31340, 0x31360)]:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        check(f"{c} a{c}b {c}'s x’{c} \uffa1{c}\uffc2")


def _table_code_points() -> list[int]:
    """Where native/src/table.rs changes class (and either side), and every
    code point it gives a folded form of its own: all planes."""
    table = (Path(__file__).resolve().parents[2] / "native" / "src" / "table.rs").read_text()
    starts = [int(h, 16) for h in re.findall(r"^    \(0x([0-9A-F]+), [0-3]\),$", table, re.M)]
    folds = [int(h, 16) for h in re.findall(r'^    \(0x([0-9A-F]+), "', table, re.M)]
    assert len(starts) > 1000 and len(folds) > 10000  # the table's layout is what this reads
    near = {cp + d for cp in starts for d in (-1, 0, 1)}
    surrogates = range(0xD800, 0xE000)
    return sorted(cp for cp in near | set(folds) if 0 <= cp < 0x110000 and cp not in surrogates)


def test_every_class_boundary_and_folded_form_of_the_table() -> None:
    for cp in _table_code_points():
        c = chr(cp)
        check(f"{c} a{c}b {c}'s x’{c} \uffa1{c}\uffc2 台{c}")


@pytest.mark.parametrize(
    "t",
    [
        "e\u0301",  # a combining mark
        "ｶﾞ",  # a halfwidth voicing mark
        "İstanbul",  # lower-cases to two characters
    ],
)
def test_hands_back_what_it_cannot_be_sure_of(t: str) -> None:
    assert native.stream(t) is None
    assert native.spans(t) is None
    assert words(t) == reference(t)[0]
    assert word_spans(t) == reference(t)[1]


def test_hands_back_a_lone_surrogate() -> None:
    """Not UTF-8: Python's path decides what it means."""
    assert native.stream("a\ud800") is None
    assert native.spans("a\ud800") is None
