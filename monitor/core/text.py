"""Words as the rule language sees them: tokenising and folding text.

A *word* is a run of letters and digits (combining marks stay inside the word
they decorate, so decomposed "Zu\u0308rich" is one word). Everything else
separates words: spaces, punctuation, hyphens ("Lai Ching-te" is the three
words ``lai ching te``), underscores, apostrophes.

*Folding* makes matching case- and accent-insensitive: a word is case-folded,
decomposed (NFKD), stripped of nonspacing marks and of a few letters that carry
their diacritic in the base letter (ø → o, ł → l, æ → ae, …). So "Zürich",
"ZURICH" and "zurich" all fold to ``zurich``, and "São" to ``sao``.

Possessives: an ``s`` that follows an apostrophe (' or ’) glued to a word is
dropped, so "China's" is the single word ``china``. The query ``China`` then
matches "China's", and the query ``"China's"`` (folded the same way) matches
"China" and "China's" alike. Other apostrophes simply split words: "don't" is
``don t``, "O'Brien" is ``o brien``, the same on both sides of a match.

Every token keeps the character offsets of the original text, so matches can be
highlighted in the text exactly as it was written.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "fold", "tokenize", "words"]


def _mark_ranges() -> str:
    """A regex character class body holding every combining mark (category M)."""
    ranges: list[tuple[int, int]] = []
    # Marks live below U+30000 apart from the variation selectors supplement.
    candidates = [*range(0x300, 0x30000), *range(0xE0100, 0xE01F0)]
    for cp in candidates:
        if unicodedata.category(chr(cp))[0] != "M":
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


_MARKS = _mark_ranges()
# Letters and digits, with marks allowed after them; the big mark class is only
# tried where a run of letters ends, which keeps scanning fast.
_WORD = re.compile(rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*")
_APOSTROPHES = frozenset("'\u2019")
# Letters whose diacritic NFKD does not split off.
_SPECIAL = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ħ": "h",
        "ŧ": "t",
        "ı": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)


class Token(NamedTuple):
    """One word: its folded form and where it sits in the original text."""

    word: str
    start: int
    end: int


def fold(word: str) -> str:
    """The folded form of one word (see the module docstring)."""
    if word.isascii():
        return word.lower()
    return _fold_unicode(word)


@lru_cache(maxsize=1 << 16)
def _fold_unicode(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    folded = kept.translate(_SPECIAL)
    # Compatibility forms can bring punctuation in (½ → 1⁄2); words hold none.
    if not folded.isalnum():
        folded = "".join(ch for ch in folded if ch.isalnum() or unicodedata.category(ch)[0] == "M")
    return folded


def tokenize(text: str) -> list[Token]:
    """The folded words of ``text`` with their original character offsets."""
    lowered = text.lower()
    # Lower-casing the whole text at once is the fast path; it keeps offsets
    # unless some letter lower-cases to several (İ): then fold word by word.
    if len(lowered) == len(text):
        tokens = [
            Token(word if word.isascii() else _fold_unicode(word), *m.span())
            for m in _WORD.finditer(lowered)
            for word in (m.group(),)
        ]
    else:
        tokens = [Token(fold(m.group()), *m.span()) for m in _WORD.finditer(text)]
    if not all(t.word for t in tokens):
        tokens = [t for t in tokens if t.word]
    if "'" in text or "’" in text:
        tokens = _drop_possessives(text, tokens)
    return tokens


def _drop_possessives(text: str, tokens: list[Token]) -> list[Token]:
    return [
        tok
        for prev, tok in zip([None, *tokens], tokens, strict=False)
        if not (
            tok.word == "s"
            and tok.end - tok.start == 1
            and prev is not None
            and prev.end == tok.start - 1
            and text[prev.end] in _APOSTROPHES
        )
    ]


def words(text: str) -> list[str]:
    """Just the folded words of ``text``."""
    return [t.word for t in tokenize(text)]
