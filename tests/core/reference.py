"""A plain reference evaluator for the rule language, used only by tests.

Written apart from the matcher on purpose: it folds whole texts with regular
expressions, finds terms by comparing word lists position by position, and
checks NEAR by trying every pair. Slow and obvious, so the compiled matcher
(Aho-Corasick, candidate rules, bisected NEAR windows) can be checked against it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from monitor.core.rules.query import And, EntityRef, Field, Near, Node, Not, Or, Term

ALL_FIELDS = ("title", "summary", "content", "feed")
DEFAULT_SCOPE = ("title", "summary", "content")

_POSSESSIVE = re.compile(r"(?<=[^\W_])['’]s")
_WORD = re.compile(r"[^\W_]+")
_UNSPACED_NAMES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")

Leaf = tuple[tuple[str, ...], bool, bool]  # words, last word is a prefix, first a suffix


def _unspaced(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(_UNSPACED_NAMES) and ch.isalpha()


def ref_words(text: str) -> list[str]:
    """Width-fold and lower-case, strip accents, drop possessive 's, split on
    anything not a letter/digit, and every CJK/kana/hangul character apart."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = unicodedata.normalize("NFD", folded)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch) or ch in "\u3099\u309a")
    folded = unicodedata.normalize("NFC", folded).replace("\u3099", "").replace("\u309a", "")
    folded = _POSSESSIVE.sub(_drop_possessive, folded)
    spaced = "".join(f" {ch} " if _unspaced(ch) else ch for ch in folded)
    return _WORD.findall(spaced)


def _drop_possessive(m: re.Match[str]) -> str:
    """'s after a word is dropped unless a word of a spaced script goes on."""
    after = m.string[m.end() : m.end() + 1]
    goes_on = after.isalnum() and not _unspaced(after)
    return m.group() if goes_on else ""


def alias_leaf(alias: str) -> Leaf:
    prefix, suffix = alias.endswith("*"), alias.startswith("*")
    return tuple(ref_words(alias.strip("*"))), prefix, suffix


def leaves(node: Node, entities: Mapping[str, Sequence[str]]) -> list[Leaf]:
    """The alternatives a NEAR operand (or a term/entity) stands for."""
    if isinstance(node, Term):
        return [(node.words, node.prefix, node.suffix)]
    if isinstance(node, EntityRef):
        return [alias_leaf(a) for a in entities[node.name]]
    assert isinstance(node, Or), node
    return [leaf for child in node.children for leaf in leaves(child, entities)]


def occurrences(leaf: Leaf, words: list[str]) -> list[tuple[int, int]]:
    """Every [start, end) word range where ``leaf`` occurs."""
    wanted, prefix, suffix = leaf
    n = len(wanted)
    found = []
    for i in range(len(words) - n + 1):
        window = words[i : i + n]
        first, last = window[0], window[-1]
        if n == 1:
            word = wanted[0]
            ok = {
                (False, False): first == word,
                (True, False): first.startswith(word),
                (False, True): first.endswith(word),
                (True, True): word in first,
            }[prefix, suffix]
        else:
            ok = (
                (first.endswith(wanted[0]) if suffix else first == wanted[0])
                and window[1:-1] == list(wanted[1:-1])
                and (last.startswith(wanted[-1]) if prefix else last == wanted[-1])
            )
        if ok:
            found.append((i, i + n))
    return found


def _holds(
    node: Node,
    scope: Sequence[str],
    docs: Mapping[str, list[str]],
    entities: Mapping[str, Sequence[str]],
) -> bool:
    if isinstance(node, Term | EntityRef):
        return any(occurrences(leaf, docs[f]) for leaf in leaves(node, entities) for f in scope)
    if isinstance(node, Field):
        return _holds(node.child, [node.field], docs, entities)
    if isinstance(node, And):
        return all(_holds(c, scope, docs, entities) for c in node.children)
    if isinstance(node, Or):
        return any(_holds(c, scope, docs, entities) for c in node.children)
    if isinstance(node, Not):
        return not _holds(node.child, scope, docs, entities)
    assert isinstance(node, Near)
    for f in scope:
        lefts = [o for leaf in leaves(node.left, entities) for o in occurrences(leaf, docs[f])]
        rights = [o for leaf in leaves(node.right, entities) for o in occurrences(leaf, docs[f])]
        for a in lefts:
            for b in rights:
                gap = max(a[0], b[0]) - min(a[1], b[1])  # negative when they overlap
                if 0 <= gap <= node.distance:
                    return True
    return False


def documents(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """The words of every field of an item (missing fields are empty)."""
    return {f: ref_words(fields.get(f, "")) for f in ALL_FIELDS}


def evaluate_documents(
    node: Node, entities: Mapping[str, Sequence[str]], docs: Mapping[str, list[str]]
) -> bool:
    """Whether the query ``node`` matches an item already split by :func:`documents`."""
    return _holds(node, DEFAULT_SCOPE, docs, entities)


def evaluate(node: Node, entities: Mapping[str, Sequence[str]], fields: Mapping[str, str]) -> bool:
    """Whether the query ``node`` matches an item's fields."""
    return evaluate_documents(node, entities, documents(fields))


def positive_leaves(
    node: Node, entities: Mapping[str, Sequence[str]], scope: Sequence[str] = DEFAULT_SCOPE
) -> list[tuple[Leaf, tuple[str, ...]]]:
    """Leaves not under a NOT, each with the fields it looks at."""
    if isinstance(node, Term | EntityRef):
        return [(leaf, tuple(scope)) for leaf in leaves(node, entities)]
    if isinstance(node, Field):
        return positive_leaves(node.child, entities, [node.field])
    if isinstance(node, And | Or):
        return [p for c in node.children for p in positive_leaves(c, entities, scope)]
    if isinstance(node, Not):
        return []
    assert isinstance(node, Near)
    return [
        (leaf, tuple(scope)) for side in (node.left, node.right) for leaf in leaves(side, entities)
    ]
