"""The matcher's automaton: every term's key (see :mod:`.matcher`) in one
Aho-Corasick automaton, and each field scanned once as the string
" w1 w2 … wn " of its folded words.

In Rust (``monitor._native``) where it is built: a field's words are made and
scanned in one call, without handing them to Python and back; a text the
native tokenizer hands back (see :mod:`monitor.core.text`) is folded in Python
and its words scanned natively. Without the native module, ahocorasick_rs
scans Python's words: the same crate's automaton, and the reference the native
one is tested against.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING

from monitor.core.text import NATIVE_WORDS, python_words

if TYPE_CHECKING:
    from monitor._native import Rules as NativeRules

try:
    from monitor import _native

    NATIVE = True
except ImportError:  # not built (a checkout run in place)
    NATIVE = False

__all__ = ["Automaton", "KeyHit", "KeyHits", "NativeNode", "native_rules"]

KeyHit = tuple[int, int, int]  # key id, start, end: characters of the stream
# A field's hits: a list, or the native module's Hits, whose tuples are made
# only when read (most items never ask where their terms are).
KeyHits = Collection[KeyHit]
# An evaluator node as the native module takes it: (kind, view, distance,
# term ids, right term ids, children); see the matcher's _Eval.native.
NativeNode = tuple[int, int, int, list[int], list[int], list["NativeNode"]]
_TERM_ID = itemgetter(0)


class Automaton:
    """Keys (non-empty strings) whose ids are their positions in ``keys``."""

    def __init__(self, keys: Sequence[str], *, reference: bool = False) -> None:
        """``reference``: ahocorasick_rs over Python's words (the path
        before the native module), even where that is built."""
        self._native = _native.Automaton(list(keys)) if NATIVE and not reference else None
        self._reference = None
        if self._native is None:
            import ahocorasick_rs  # only here: not imported where the native module does

            self._reference = ahocorasick_rs.AhoCorasick(
                list(keys), matchkind=ahocorasick_rs.MatchKind.Standard
            )
        self._native_words = NATIVE_WORDS and self._native is not None
        # whether its hits are the native module's, which its evaluator reads
        self.native = self._native is not None

    def scan(self, text: str) -> tuple[str, KeyHits, set[int]]:
        """``text``'s stream (" w1 w2 … wn ", "" when it has no words), every
        occurrence of every key in it (overlapping ones too) in the
        automaton's order, and the ids of the keys that occur."""
        if self._native_words:
            assert self._native is not None
            scanned = self._native.scan_text(text)
            if scanned is not None:
                return scanned
        found = python_words(text)  # handed back, or no native words here
        if not found:
            return "", [], set()
        stream = " " + " ".join(found) + " "
        if self._native is not None:
            return stream, *self._native.scan_stream(stream)
        assert self._reference is not None
        found_hits: list[KeyHit] = self._reference.find_matches_as_indexes(stream, True)
        return stream, found_hits, set(map(_TERM_ID, found_hits))


def native_rules(
    trees: list[NativeNode],
    first: list[tuple[int, int, list[int]]],
    then: list[tuple[int, list[int]]],
    exact: list[bool],
    always: list[int],
    lengths: list[int],
) -> NativeRules:
    """A rule set's evaluator in the native module (see ``RuleSet``), which
    reads the hits of automatons whose ``native`` is true."""
    return _native.Rules(trees, first, then, exact, always, lengths)
