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

_POSSESSIVE = re.compile(r"(?<=[^\W_])['’]s(?![^\W_])")
_WORD = re.compile(r"[^\W_]+")

Leaf = tuple[tuple[str, ...], bool]  # words, last word is a prefix


def ref_words(text: str) -> list[str]:
    """Lower-case, strip accents, drop possessive 's, split on anything not a letter/digit."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _POSSESSIVE.sub("", folded)
    return _WORD.findall(folded)


def alias_leaf(alias: str) -> Leaf:
    prefix = alias.endswith("*")
    return tuple(ref_words(alias.rstrip("*"))), prefix


def leaves(node: Node, entities: Mapping[str, Sequence[str]]) -> list[Leaf]:
    """The alternatives a NEAR operand (or a term/entity) stands for."""
    if isinstance(node, Term):
        return [(node.words, node.prefix)]
    if isinstance(node, EntityRef):
        return [alias_leaf(a) for a in entities[node.name]]
    assert isinstance(node, Or), node
    return [leaf for child in node.children for leaf in leaves(child, entities)]


def occurrences(leaf: Leaf, words: list[str]) -> list[tuple[int, int]]:
    """Every [start, end) word range where ``leaf`` occurs."""
    wanted, prefix = leaf
    n = len(wanted)
    found = []
    for i in range(len(words) - n + 1):
        window = words[i : i + n]
        same_head = window[:-1] == list(wanted[:-1])
        last_ok = window[-1].startswith(wanted[-1]) if prefix else window[-1] == wanted[-1]
        if same_head and last_ok:
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
