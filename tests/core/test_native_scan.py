"""The matcher's automaton in Rust against ahocorasick_rs over Python's words
(the reference): the same stream, the same hits in the same order, the same
term ids, for keys of every form the matcher makes and any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.rules.scanning import Automaton
from monitor.core.text import words
from tests.core.test_native_words import ALPHABET, SENTENCES


def _keys(texts: list[str], forms: list[int]) -> list[str]:
    """Keys as the matcher makes them from terms: a space in front unless the
    term starts with ``*``, a space behind unless it ends with ``*``; terms
    here are some words of the texts, or parts of words, in every form."""
    keys: list[str] = []
    for t, form in zip(texts, forms, strict=False):
        found = words(t)
        if not found:
            continue
        if form & 4 and len(found[0]) > 1:
            found[0] = found[0][1:] if form & 8 else found[0][:-1]  # part of a word
        body = " ".join(found[:3])
        keys.append(("" if form & 1 else " ") + body + ("" if form & 2 else " "))
    return list(dict.fromkeys(k for k in keys if k.strip()))


def check(keys: list[str], text: str) -> None:
    if not keys:
        return
    native = Automaton(keys)
    assert native._native is not None, "the native module is built"
    stream, hits, tids = native.scan(text)
    assert (stream, list(hits), tids) == Automaton(keys, reference=True).scan(text)
    # read as a sequence, the hits are the same tuples
    assert len(hits) == len(list(hits))
    assert [hits[i] for i in range(len(hits))] == list(hits)
    assert all(hit in hits for hit in hits)
    assert (-1, 0, 0) not in hits
    assert "x" not in hits


words_of_news = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=4).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(words_of_news, st.text(alphabet=ALPHABET, min_size=1, max_size=6))),
    st.lists(st.integers(0, 15), min_size=30, max_size=30),
    st.one_of(words_of_news, st.text(alphabet=ALPHABET, max_size=40)),
)
def test_same_hits_as_the_reference(texts: list[str], forms: list[int], text: str) -> None:
    check(_keys(texts, forms), text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=2, max_size=6))
def test_keys_from_the_scanned_text_itself(parts: list[str]) -> None:
    """Keys taken from the very text scanned: hits everywhere, overlapping."""
    text = " ".join(parts)
    found = words(text)
    keys = [
        *(f" {w} " for w in found[::3]),
        *(f" {a} {b} " for a, b in zip(found[::5], found[1::5], strict=False)),
        *(f" {w[:2]}" for w in found[::7]),
        *(f"{w[-3:]} " for w in found[::4]),
        *(w[1:-1] for w in found[::6] if len(w) > 2),
    ]
    check(list(dict.fromkeys(k for k in keys if k.strip())), text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=8))
def test_any_text_and_keys(text: str, raw: list[str]) -> None:
    """Keys need not be words at all: the automaton scans whatever it is given."""
    check(list(dict.fromkeys(raw)), text)
