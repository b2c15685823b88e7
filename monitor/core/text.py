"""Words as the rule language sees them: tokenising and folding text.

A *word* is a run of letters and digits (combining marks stay inside the word
they decorate, so decomposed "Zu\u0308rich" is one word). Everything else
separates words: spaces, punctuation, hyphens ("Lai Ching-te" is the three
words ``lai ching te``), underscores, apostrophes.

Scripts written without spaces between words (Chinese, Japanese; and Korean,
whose particles stick to the noun) cannot be split into words without a
dictionary, so each of their characters is a word of its own: "台湾海峡" is the
four words ``台 湾 海 峡``. A term of such characters is then a phrase, and
matches inside any run of characters that holds it ("关税" in "对等关税").

*Folding* makes matching case-, width- and accent-insensitive: a word is
NFKC-normalised (fullwidth ＴＡＩＷＡＮ is Taiwan, halfwidth ｶﾀｶﾅ is カタカナ),
case-folded, stripped of accents and of a few letters that carry their
diacritic in the base letter (ø → o, ł → l, æ → ae, …). So "Zürich", "ZURICH"
and "zurich" all fold to ``zurich``, and "São" to ``sao``. Kana keep their
voicing marks (ガ is not カ).

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
from functools import cache, lru_cache
from typing import NamedTuple, cast

__all__ = [
    "NATIVE_WORDS",
    "Token",
    "fold",
    "is_unspaced",
    "join_words",
    "python_word_spans",
    "python_words",
    "tokenize",
    "word_spans",
    "words",
]

try:
    # The same words in Rust (native/), from a table of how this module folds
    # each character (change the folding here: run native/gen_fold_table.py);
    # only used where its Unicode version is the one in force here (the
    # matcher's native scan makes them too).
    from monitor import _native

    NATIVE_WORDS = unicodedata.unidata_version == _native.UNIDATA_VERSION
except ImportError:  # not built (a checkout run in place): the Python path
    NATIVE_WORDS = False


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


# Scripts without spaces between words: each character is a word.
_UNSPACED = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9d"  # halfwidth Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
# Kana voicing marks, combining and halfwidth (ｶﾞ), belong to the kana before them.
_KANA_MARKS = "\u3099\u309a\uff9e\uff9f"


@cache
def _word() -> re.Pattern[str]:
    """One character of an unspaced script, or a run of letters and digits of
    the others, with marks allowed after them; the big mark class is only tried
    where a run of letters ends, which keeps scanning fast. Made on first use:
    the native words leave it to a few texts, and finding every mark takes a
    twentieth of a second at start, in every process."""
    marks = _mark_ranges()
    return re.compile(
        rf"[{_UNSPACED}][{_KANA_MARKS}{marks}]*"
        rf"|[^\W_{_UNSPACED}{_KANA_MARKS}]+(?:[{marks}]+[^\W_{_UNSPACED}{_KANA_MARKS}]*)*"
    )


_IS_UNSPACED = re.compile(rf"[{_UNSPACED}]")
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


_STRAY_MARKS = str.maketrans("", "", "\u3099\u309a")


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
    # NFKC first: width and compatibility forms become their plain letters
    # (and halfwidth ｶﾞ one ガ) before accents are split off and dropped.
    composed = unicodedata.normalize("NFKC", word).casefold()
    decomposed = unicodedata.normalize("NFD", composed)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn" or ch in _KANA_MARKS)
    # A voicing mark that composes with no kana before it means nothing: drop it.
    folded = unicodedata.normalize("NFC", kept).translate(_SPECIAL).translate(_STRAY_MARKS)
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
            for m in _word().finditer(lowered)
            for word in (m.group(),)
        ]
    else:
        tokens = [Token(fold(m.group()), *m.span()) for m in _word().finditer(text)]
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


# Non-ASCII characters that only ever separate words (punctuation and spaces
# common in news), as UTF-8, for the quick path of words().
_SEPARATORS = re.compile(
    b"|".join(
        re.escape(ch.encode())
        for ch in "\u201c\u201d\u2014\u2013\u00a0\u2018\u2026\u00ab\u00bb\u00b7\u2022"
        "\u2009\u202f\u2002\u2003\u200b\u2010\u2011\u2012\u2015\u201e\u201a\u2039"
        "\u203a\u00b0\u20ac\u00a3\u00a5\u00a7\u00a9\u00ae\u2122\u2032\u2033"
        "\u3000\u3001\u3002\u3008\u3009\u300a\u300b\u300c\u300d\u300e\u300f\u3010"
        "\u3011\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"
    )
)
# ASCII: upper case lowered, everything but letters, digits and "'" a space
# (the bytes of other characters, all above 127, are kept).
_ASCII_WORDS = bytes(
    c + 32 if 65 <= c <= 90 else c if c > 127 or chr(c).isalnum() or c == 39 else 32
    for c in range(256)
)
_UNSPACED_RUN = re.compile(rf"[{_UNSPACED}]+")
# Where the possessives of words() cannot be settled in bytes (the text is
# lowered, its ASCII punctuation spaces): a lone s after two apostrophes or
# after a non-ASCII character (not glued to a word, or glued), "'s" before an
# apostrophe or a non-ASCII character, and a lone non-ASCII letter after an
# apostrophe (it may fold to s).
_APOSTROPHE_TROUBLE = re.compile(
    rb"'(?:'s(?![a-z0-9\x80-\xff])|(?<=[\x80-\xff]')s(?![a-z0-9\x80-\xff])|s'|s[\x80-\xff]"
    rb"|(?:[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3})(?![a-z0-9]))"
)
# A character from U+0800 on (in UTF-8): CJK among them, and the other
# scripts the plain path of words() is not sure of.
_WIDE = re.compile(rb"[\xe0-\xff]")


def _prepared(text: str) -> tuple[bytes, str, bool]:
    """``text`` for the quick path: as UTF-8 bytes with the common punctuation
    made spaces, ASCII lowered and possessives dropped (where bytes can settle
    them), then decoded; and whether it is all ASCII."""
    data = text.encode()
    ascii_only = data.isascii()
    if not ascii_only:
        data = _SEPARATORS.sub(b" ", data.replace("\u2019".encode(), b"'"))
        ascii_only = data.isascii()
    data = b" " + data.translate(_ASCII_WORDS) + b" "
    if b"'" in data and not _APOSTROPHE_TROUBLE.search(data):
        # A lone s glued to a word by an apostrophe is a possessive: dropped.
        data = data.replace(b" '", b"  ").replace(b"'s ", b"  ").replace(b"'", b" ")
    return data, data.decode(), ascii_only


def _plain_letters(data: bytes, plain: str, lowered: str) -> bool:
    """Whether the prepared text holds only letters of spaced scripts (Latin,
    Greek, Cyrillic…) and spaces: then its words are its runs of letters."""
    return (
        "'" not in plain
        and len(lowered) == len(plain)  # no letter lower-cases to several (İ)
        and not _WIDE.search(data)
        and plain.replace(" ", "").isalnum()
    )


def words(text: str) -> list[str]:
    """Just the folded words of ``text``: ``[t.word for t in tokenize(text)]``
    without the offsets, and quicker: in Rust where it can, else
    :func:`python_words`."""
    if NATIVE_WORDS:
        stream = _native.stream(text)
        if stream is not None:
            return stream.split()
    return python_words(text)


def python_words(text: str) -> list[str]:
    """:func:`words` in Python (the path for the texts the native side hands
    back, and the reference it is tested against beside tokenize()). The
    common punctuation becomes spaces (in UTF-8 bytes, where it is cheap) and
    the text is split at spaces; only runs that are neither ASCII, plain
    letters nor CJK go through the regex."""
    _, plain, ascii_only = _prepared(text)
    if "'" not in plain:
        if ascii_only:
            return plain.split()
        folded = [w if w.isascii() else _plain_fold(w) for w in plain.split()]
        if None not in folded:
            return cast(list[str], folded)
    lowered = plain.lower()
    if len(lowered) != len(plain):  # a letter lower-cases to several (İ)
        return [t.word for t in tokenize(text)]
    found: list[str] = []
    for chunk in lowered.split():
        if "'" in chunk:
            found.extend(_apostrophe_words(chunk))
        elif chunk.isascii():
            found.append(chunk)
        elif _is_cjk_run(chunk):
            found.extend(chunk)
        else:
            found.extend(w if w.isascii() else _fold_unicode(w) for w in _word().findall(chunk))
    return found if all(found) else [word for word in found if word]


# In text words() takes its quick path on: runs of letters and digits, and
# the s of a possessive (its apostrophe glued to an ASCII letter or digit:
# the quick path leaves the others to tokenize()).
_LETTER_RUN = re.compile(r"[^\W_]+")
_POSSESSIVE_S = re.compile(r"['\u2019](?<=[A-Za-z0-9]['\u2019])[sS](?![^\W_])")


def word_spans(text: str, count: int | None = None) -> list[tuple[int, int]]:
    """Where each word of ``text`` is, as (start, end) character offsets: those
    of ``tokenize(text)``, without a Token for each. ``count``: the number of
    words of ``text``, when the caller knows it (``len(words(text))``)."""
    if NATIVE_WORDS:
        spans = _native.spans(text)
        if spans is not None:
            return spans
    return python_word_spans(text, count)


def python_word_spans(text: str, count: int | None = None) -> list[tuple[int, int]]:
    """:func:`word_spans` in Python."""
    data, plain, ascii_only = _prepared(text)
    if (ascii_only and "'" not in plain) or _plain_letters(data, plain, plain.lower()):
        if "'" in text or "\u2019" in text:
            text = _POSSESSIVE_S.sub("  ", text)
        return [m.span() for m in _LETTER_RUN.finditer(text)]
    lowered = text.lower()
    if "'" not in text and "\u2019" not in text and len(lowered) == len(text):
        # tokenize()'s own regex (CJK a character a word); with as many words
        # as words() finds, tokenize() dropped none of these (none folds away)
        spans = [m.span() for m in _word().finditer(lowered)]
        if len(spans) == (len(python_words(text)) if count is None else count):
            return spans
    return [(t.start, t.end) for t in tokenize(text)]


@lru_cache(maxsize=1 << 16)
def _plain_fold(word: str) -> str | None:
    """The folded form of a word of letters and digits of spaced scripts (all
    below U+0800: Latin, Greek, Cyrillic…), or None for any other run. For
    these, folding the word as written is folding it lower-cased (checked for
    every one of them), and only İ lower-cases to more than one letter."""
    if word.isalnum() and max(word) < "\u0800" and "\u0130" not in word:
        return _fold_unicode(word) or None
    return None


def _is_cjk_run(run: str) -> bool:
    """Whether every character of ``run`` is a CJK letter that folding leaves
    as it is (they have no case, NFKC keeps them): then each is a word."""
    return bool(
        _UNSPACED_RUN.fullmatch(run) and run.isalnum() and unicodedata.is_normalized("NFKC", run)
    )


def _run_tokens(run: str) -> list[Token]:
    """The words of a lower-cased run of text without spaces or apostrophes,
    with offsets into the run (folded; some may be empty)."""
    if run.isascii():
        return [Token(run, 0, len(run))] if run else []
    if _is_cjk_run(run):
        return [Token(ch, i, i + 1) for i, ch in enumerate(run)]
    return [
        Token(word if word.isascii() else _fold_unicode(word), *m.span())
        for m in _word().finditer(run)
        for word in (m.group(),)
    ]


def _apostrophe_words(chunk: str) -> list[str]:
    """The words of a lower-cased run without spaces that holds apostrophes,
    possessives dropped as tokenize() drops them."""
    found: list[str] = []
    glued = False  # the last word so far ends at an apostrophe
    for part in chunk.split("'"):
        tokens = [t for t in _run_tokens(part) if t.word]
        for tok in tokens:
            possessive = glued and tok.start == 0 and tok.end == 1 and tok.word == "s"
            if not possessive:
                found.append(tok.word)
        glued = bool(tokens) and tokens[-1].end == len(part)
    return found


def is_unspaced(word: str) -> bool:
    """Whether ``word`` is a character of a script written without spaces."""
    return _IS_UNSPACED.match(word) is not None


def join_words(parts: tuple[str, ...] | list[str]) -> str:
    """Words back into text: spaces between them, none between two characters of
    a script written without spaces ("台 湾" is shown as 台湾)."""
    out = ""
    for i, word in enumerate(parts):
        if i and not (is_unspaced(parts[i - 1]) and is_unspaced(word)):
            out += " "
        out += word
    return out
