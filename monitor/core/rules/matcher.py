"""Compiled rule sets: many rules against one item, fast.

Compiling a rule set resolves every rule's syntax tree into a small tree of
evaluators: ``@entities`` become OR-groups of their aliases and field scopes are
pushed down to the leaves. Every distinct term (word, phrase or prefix, over
all rules) gets an id and one key in a single Aho-Corasick automaton. A key is
the term's folded words joined by spaces, with a space in front unless the term
starts with ``*`` and a space behind unless it ends with ``*``; each field is
scanned once as the string " w1 w2 … wn " of its folded words, so keys match
on whole words except where a ``*`` lets them run into a longer one.

Matching an item scans its fields and keeps, per field, the set of the terms
that occur. A rule requires sets of its terms, each with one that must occur
for it to be true (every side of an AND, both sides of a NEAR, the union of an
OR's sides), and is tried only when its *anchors* occur: a term of the
rarest-looking set (found through one index of every rule's), then a term of
the next (looked up for the rules found). A rule that is no more than those
sets (``a AND (b OR c)``, a list of terms) is true then, untested. Each other
rule's test is compiled to one Python expression over the term sets, so trying
one costs a few set look-ups. A rule that is true on empty text (``NOT x`` and
the like) is tried on every item. Where terms occur (token ranges) is worked
out only when a ``NEAR`` asks, or when the spans of a match are read.

Where the native module is built, that evaluation runs there instead: the
anchor index and the evaluator trees are handed to it once per rule set, and
one call per item, over the hits its scan holds, gives the rules that fire.
The Python evaluation stays the reference it is tested against, and the
fallback.

Spans are the character ranges, in the original field text, of the positive
terms that made a rule true: every occurrence of each term under a true AND,
the true branches of an OR, the pairs that satisfy a NEAR, nothing under NOT.
They are computed when first read (an alert needs them; counting matches
does not).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import accumulate, compress, repeat
from operator import add, itemgetter, not_
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from monitor.core.alerts import Fired
from monitor.core.rules.highlight import snippet
from monitor.core.rules.model import Entity, Rule, RuleFile
from monitor.core.rules.query import (
    DEFAULT_FIELDS,
    FIELDS,
    And,
    EntityRef,
    Field,
    Near,
    Node,
    Not,
    Or,
    Term,
    parse_query,
)
from monitor.core.rules.scanning import Automaton, KeyHits, NativeNode, native_rules
from monitor.core.text import Token, tokenize, word_spans
from monitor.errors import RuleError

if TYPE_CHECKING:
    from monitor._native import Rules as NativeRules

__all__ = ["EMPTY_RULESET", "Match", "RuleSet", "Scan", "Span", "compile_ruleset"]

_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}
# The sets a compiled test looks in: one per field, then title+summary+content.
_VIEW: dict[tuple[str, ...], int] = {(name,): i for i, name in enumerate(FIELDS)}
_VIEW[DEFAULT_FIELDS] = len(FIELDS)
# Snippets for rules that matched without a positive term come from here.
_SNIPPET_FALLBACK = ("summary", "content", "title")
_SNIPPET_PREFERENCE = ("summary", "content", "title")
_TERM_ID = itemgetter(0)
_COST = itemgetter(0)
_START = itemgetter(1)
_FIRST = itemgetter(0)
_NEXT = (1).__add__
_END = itemgetter(1)

Range = tuple[int, int]  # token indexes [first, end) within one field
Occurrences = dict[int, dict[str, list[Range]]]  # term id -> field -> ranges
FieldOccurrences = dict[int, list[Range]]  # term id -> ranges, in one field
Hit = tuple[str, int, int]  # field, first token, end token
Views = tuple[frozenset[int] | set[int], ...]  # term ids present, by _VIEW index
# Terms of which one must occur for a node to be true, as (view, term id), and
# a guess at how often one does (lower: rarer).
Anchors = tuple[float, frozenset[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a matched term sits: character offsets into the original field text."""

    field: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Scan:
    """An item's fields as the matcher saw them: the tokens of each scanned field
    and where each term of the rule set occurs (term id -> field -> token
    ranges). What :mod:`.explain` evaluates syntax trees against."""

    tokens: Mapping[str, Sequence[Token]]
    occurrences: Occurrences


class _Item(ABC):
    """One item as the evaluators see it: which terms occur in which field
    (``views``), and where (``occurrences``, worked out on demand)."""

    views: Views
    fields: Mapping[str, str]
    memo: dict[int, bool]  # what compiled tests looked up once for this item

    @abstractmethod
    def occurrences(self, field: str) -> FieldOccurrences:
        """Term id -> token ranges in ``field``."""

    @abstractmethod
    def spans(self, field: str) -> Sequence[tuple[int, int]]:
        """Where each word of ``field`` sits in its text: (start, end)."""

    def ranges(self, tids: frozenset[int], field: str) -> list[Range]:
        """Where any of ``tids`` occurs in ``field``: token ranges, sorted."""
        occ = self.occurrences(field)
        present = tids.intersection(occ)
        if len(present) == 1:
            return occ[next(iter(present))]  # in order already
        return sorted({r for tid in present for r in occ[tid]})

    def both(
        self, left: frozenset[int], right: frozenset[int], either: frozenset[int], field: str
    ) -> tuple[list[Range], list[Range]]:
        """``ranges`` of two sets of terms (whose union is ``either``) in one field."""
        return self.ranges(left, field), self.ranges(right, field)


_NOTHING: tuple[str, KeyHits, set[int]] = ("", (), set())


class _ScannedItem(_Item):
    """An item scanned by a rule set's automaton: per field, the scanned string
    of its words and the automaton's hits (term id, start, end) in it."""

    __slots__ = (
        "_lengths",
        "_occurrences",
        "_ranges",
        "_spans",
        "fields",
        "hits",
        "memo",
        "streams",
    )

    def __init__(self, rules: RuleSet, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.streams: dict[str, str] = {}
        self.hits: dict[str, KeyHits] = {}
        present: list[frozenset[int] | set[int]] = []
        assert rules._automaton is not None  # items of rules without terms are _EmptyItem
        scan = rules._automaton.scan
        for f in FIELDS:
            text = fields.get(f) if f in rules._scan else None
            stream, hits, tids = scan(text) if text else _NOTHING
            if not stream:
                present.append(frozenset())
                continue
            self.streams[f] = stream
            self.hits[f] = hits
            present.append(tids)
        present.append(present[0] | present[1] | present[2])
        self.views = tuple(present)
        self.memo = {}
        self._lengths = rules._term_lengths
        self._occurrences: dict[str, FieldOccurrences] = {}
        self._ranges: dict[tuple[str, frozenset[int]], list[Range]] = {}
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def occurrences(self, field: str) -> FieldOccurrences:
        occ = self._occurrences.get(field)
        if occ is None:
            occ = self._occurrences[field] = {}
            stream = self.streams.get(field)
            if stream is not None:
                lengths = self._lengths
                # The spaces up to a key's first character: one per word before
                # it, and the one in front (its own, or its word's); counted on
                # from one hit to the next, in order of start.
                first, counted = -1, 0
                for tid, start, _ in sorted(self.hits[field], key=_START):
                    first += stream.count(" ", counted, start + 1)
                    counted = start + 1
                    occ.setdefault(tid, []).append((first, first + lengths[tid]))
        return occ

    def ranges(self, tids: frozenset[int], field: str) -> list[Range]:
        key = (field, tids)
        found = self._ranges.get(key)
        if found is None:
            found = self._ranges[key] = self._locate(tids, field)
        return found

    def both(
        self, left: frozenset[int], right: frozenset[int], either: frozenset[int], field: str
    ) -> tuple[list[Range], list[Range]]:
        # the two sides of a NEAR found in one pass over the field's hits
        found = self._ranges
        if (field, left) not in found and (field, right) not in found:
            tids, where = self._picked(either, field)
            lefts = found[(field, left)] = sorted(
                set(compress(where, map(left.__contains__, tids)))
            )
            rights = found[(field, right)] = sorted(
                set(compress(where, map(right.__contains__, tids)))
            )
            return lefts, rights
        return self.ranges(left, field), self.ranges(right, field)

    def _locate(self, tids: frozenset[int], field: str) -> list[Range]:
        """Where ``tids`` occur in ``field``, from the hits of those terms only
        (picked out in C): a field may hold hundreds of hits."""
        occ = self._occurrences.get(field)
        if occ is not None:
            return super().ranges(tids, field)
        return sorted(set(self._picked(tids, field)[1]))

    def _picked(self, tids: frozenset[int], field: str) -> tuple[list[int], list[Range]]:
        """The hits of ``tids`` in ``field`` by start: their term ids, and
        their token ranges (each once per hit)."""
        hits = self.hits.get(field, ())
        picked = sorted(compress(hits, map(tids.__contains__, map(_TERM_ID, hits))), key=_START)
        stream = self.streams.get(field, "")
        # spaces counted as in occurrences(), from one hit to the next, in C
        upto = list(map(_NEXT, map(_START, picked)))
        spaces = map(stream.count, repeat(" "), [0, *upto], upto)
        firsts = list(accumulate(spaces, initial=-1))[1:]
        picked_tids = list(map(_TERM_ID, picked))
        ends = map(add, firsts, map(self._lengths.__getitem__, picked_tids))
        return picked_tids, list(zip(firsts, ends, strict=True))

    def spans(self, field: str) -> list[tuple[int, int]]:
        found = self._spans.get(field)
        if found is None:
            text = self.fields.get(field) or ""
            count = self.streams.get(field, " ").count(" ") - 1
            found = word_spans(text, count)
            if len(found) != count:  # never expected: be sure anyway
                found = [(t.start, t.end) for t in tokenize(text)]
            self._spans[field] = found
        return found

    def scan(self) -> Scan:
        occurrences: Occurrences = {}
        for f in self.streams:
            for tid, ranges in self.occurrences(f).items():
                occurrences.setdefault(tid, {})[f] = ranges
        tokens = {f: tokenize(self.fields.get(f) or "") for f in self.streams}
        return Scan(tokens, occurrences)


class _ScanAsItem(_Item):
    """A :class:`Scan` (term id -> field -> ranges) seen as an item."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.fields = {}
        by_field: dict[str, FieldOccurrences] = {f: {} for f in FIELDS}
        for tid, where in scan.occurrences.items():
            for f, ranges in where.items():
                by_field[f][tid] = ranges
        self._by_field = by_field
        present = [set(by_field[f]) for f in FIELDS]
        present.append(present[0] | present[1] | present[2])
        self.views = tuple(present)
        self.memo = {}

    def occurrences(self, field: str) -> FieldOccurrences:
        return self._by_field[field]

    def spans(self, field: str) -> Sequence[tuple[int, int]]:
        return [(t.start, t.end) for t in self.scan.tokens.get(field, ())]


class Match:
    """A rule that matched an item, with what it matched (``terms``, as written
    in the item, de-duplicated case-insensitively) and where (``spans``: title
    first, then summary, content, feed; by position). Both are worked out when
    first read."""

    __slots__ = ("_evaluator", "_item", "_spans", "_terms", "rule")

    def __init__(self, rule: Rule, evaluator: _Eval, item: _Item) -> None:
        self.rule = rule
        self._evaluator = evaluator
        self._item = item
        self._spans: tuple[Span, ...] | None = None
        self._terms: tuple[str, ...] | None = None

    @property
    def spans(self) -> tuple[Span, ...]:
        if self._spans is None:
            self._settle()
        assert self._spans is not None
        return self._spans

    @property
    def terms(self) -> tuple[str, ...]:
        if self._terms is None:
            self._settle()
        assert self._terms is not None
        return self._terms

    def _settle(self) -> None:
        item = self._item
        hits: list[Hit] = []
        self._evaluator.collect(item, hits)
        # (field order, start, end), each once: a term may be collected twice
        found: set[tuple[int, int, int]] = set()
        for f, first, end in hits:
            where = item.spans(f)
            found.add((_FIELD_ORDER[f], where[first][0], where[end - 1][1]))
        spans = tuple(Span(FIELDS[f], start, end) for f, start, end in sorted(found))
        terms: dict[str, str] = {}
        for span in spans:
            text = item.fields[span.field][span.start : span.end]
            terms.setdefault(text.casefold(), text)
        self._spans = spans
        self._terms = tuple(terms.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return (self.rule, self.terms, self.spans) == (other.rule, other.terms, other.spans)

    def __hash__(self) -> int:
        return hash((self.rule.name, self.terms, self.spans))

    def __repr__(self) -> str:
        return f"Match(rule={self.rule.name!r}, terms={self.terms!r}, spans={self.spans!r})"

    def fired(self, fields: Mapping[str, str]) -> Fired:
        """The alert-side view: rule, routing tags, terms and a highlighted snippet."""
        if self.spans:
            # The alert shows the title anyway: quote the story's text where we can.
            matched = {s.field for s in self.spans}
            where = next(f for f in (*_SNIPPET_PREFERENCE, self.spans[0].field) if f in matched)
            ranges = [(s.start, s.end) for s in self.spans if s.field == where]
        else:
            where = next((f for f in _SNIPPET_FALLBACK if fields.get(f)), "summary")
            ranges = []
        return Fired(
            rule=self.rule.name,
            notify=self.rule.notify,
            terms=self.terms,
            snippet=snippet(fields.get(where) or "", ranges),
            digest=self.rule.digest,
            template=self.rule.template,
        )


# ---------------------------------------------------------------- evaluators


class _Code:
    """What compiled tests refer to: the id sets of OR-groups (each once) and
    the NEARs."""

    def __init__(self) -> None:
        self.sets: list[frozenset[int]] = []
        self.set_index: dict[frozenset[int], int] = {}
        self.nears: list[Callable[[_Item], bool]] = []

    def view(self, fields: tuple[str, ...]) -> str:
        return f"V[{_VIEW[fields]}]"

    def any_of(self, tids: frozenset[int], fields: tuple[str, ...]) -> str:
        k = self.set_index.get(tids)
        if k is None:
            k = self.set_index[tids] = len(self.sets)
            self.sets.append(tids)
        if len(tids) <= _SMALL_SET:
            return f"not S[{k}].isdisjoint({self.view(fields)})"
        # an entity's aliases, often in many rules: looked up once an item
        return f"A(x, {k * len(_VIEW) + _VIEW[fields]}, S[{k}], {self.view(fields)})"


# An OR-group with more terms than this is looked up once an item, not once a rule.
_SMALL_SET = 16


def _any_of(item: _Item, key: int, tids: frozenset[int], view: Set[int]) -> bool:
    """Whether any of ``tids`` is in ``view``, remembered for the item."""
    found = item.memo.get(key)
    if found is None:
        found = item.memo[key] = not tids.isdisjoint(view)
    return found


class _Eval(ABC):
    """A compiled query node: ``test`` and ``collect`` walk the tree (for
    explanations and spans); ``code`` is the same test as one Python expression
    over the item's views ``V`` (and the item ``x``, for NEAR)."""

    __slots__ = ()

    @abstractmethod
    def test(self, item: _Item) -> bool:
        """Whether the node is true for this item."""

    @abstractmethod
    def collect(self, item: _Item, out: list[Hit]) -> None:
        """Append the positive occurrences that make this (true) node true."""

    @abstractmethod
    def code(self, ctx: _Code) -> str:
        """The test as a Python expression."""

    @abstractmethod
    def native(self) -> NativeNode:
        """The node as the native module's evaluator takes it: (kind, view,
        distance, term ids, right term ids, children)."""

    def has_near(self) -> bool:
        """Whether testing it may need to know where terms occur."""
        return False

    @abstractmethod
    def requires(self) -> list[Anchors]:
        """Sets of terms (each with the view it is looked up in) that each have
        one that occurs whenever the node is true; none known for a NOT."""

    def exact(self) -> bool:
        """Whether the node is true exactly when each set it ``requires`` has
        a term that occurs: then a rule of it needs no test past its anchors."""
        return False


def _collect_ranges(
    item: _Item, tids: Sequence[int] | frozenset[int], fields: tuple[str, ...], out: list[Hit]
) -> None:
    for f in fields:
        occ = item.occurrences(f)
        for tid in _present(tids, occ):
            out.extend((f, first, end) for first, end in occ[tid])


def _present(tids: Sequence[int] | frozenset[int], occ: Mapping[int, object]) -> list[int]:
    """The ids of ``tids`` that occur, looking through the smaller of the two:
    an entity may have hundreds of aliases, an item holds a few dozen terms."""
    if len(occ) < len(tids):
        return [tid for tid in occ if tid in tids]
    return [tid for tid in tids if tid in occ]


def _cheap_first(children: Sequence[_Eval]) -> list[_Eval]:
    """Children in the order a test should try them: set look-ups before
    anything with a NEAR in it (the result is the same in any order)."""
    return sorted(children, key=lambda c: c.has_near())


class _Leaf(_Eval):
    __slots__ = ("cost", "fields", "tid")

    def __init__(self, tid: int, fields: tuple[str, ...], cost: float) -> None:
        self.tid = tid
        self.fields = fields
        self.cost = cost

    def test(self, item: _Item) -> bool:
        return self.tid in item.views[_VIEW[self.fields]]

    def collect(self, item: _Item, out: list[Hit]) -> None:
        _collect_ranges(item, (self.tid,), self.fields, out)

    def code(self, ctx: _Code) -> str:
        return f"{self.tid} in {ctx.view(self.fields)}"

    def native(self) -> NativeNode:
        return (0, _VIEW[self.fields], 0, [self.tid], [], [])

    def requires(self) -> list[Anchors]:
        return [(self.cost, frozenset(((_VIEW[self.fields], self.tid),)))]

    def exact(self) -> bool:
        return True


class _AnyLeaf(_Eval):
    """Any of many terms in the given fields: an @entity, or an OR of terms."""

    __slots__ = ("cost", "fields", "tids")

    def __init__(self, tids: frozenset[int], fields: tuple[str, ...], cost: float) -> None:
        self.tids = tids
        self.fields = fields
        self.cost = cost

    def test(self, item: _Item) -> bool:
        return not self.tids.isdisjoint(item.views[_VIEW[self.fields]])

    def collect(self, item: _Item, out: list[Hit]) -> None:
        _collect_ranges(item, self.tids, self.fields, out)

    def code(self, ctx: _Code) -> str:
        return ctx.any_of(self.tids, self.fields)

    def native(self) -> NativeNode:
        return (0, _VIEW[self.fields], 0, sorted(self.tids), [], [])

    def requires(self) -> list[Anchors]:
        view = _VIEW[self.fields]
        return [(self.cost, frozenset((view, tid) for tid in self.tids))]

    def exact(self) -> bool:
        return True


class _All(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[_Eval]) -> None:
        self.children = tuple(children)

    def test(self, item: _Item) -> bool:
        return all(c.test(item) for c in self.children)

    def collect(self, item: _Item, out: list[Hit]) -> None:
        for c in self.children:
            c.collect(item, out)

    def has_near(self) -> bool:
        return any(c.has_near() for c in self.children)

    def code(self, ctx: _Code) -> str:
        return " and ".join(f"({c.code(ctx)})" for c in _cheap_first(self.children))

    def native(self) -> NativeNode:
        return (1, 0, 0, [], [], [c.native() for c in _cheap_first(self.children)])

    def requires(self) -> list[Anchors]:
        # every child must hold, and so must what each requires
        return [a for c in self.children for a in c.requires()]

    def exact(self) -> bool:
        return all(c.exact() for c in self.children)


class _Any(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[_Eval]) -> None:
        self.children = tuple(children)

    def test(self, item: _Item) -> bool:
        return any(c.test(item) for c in self.children)

    def collect(self, item: _Item, out: list[Hit]) -> None:
        for c in self.children:
            if c.test(item):
                c.collect(item, out)

    def has_near(self) -> bool:
        return any(c.has_near() for c in self.children)

    def code(self, ctx: _Code) -> str:
        return " or ".join(f"({c.code(ctx)})" for c in _cheap_first(self.children))

    def native(self) -> NativeNode:
        return (2, 0, 0, [], [], [c.native() for c in _cheap_first(self.children)])

    def requires(self) -> list[Anchors]:
        # One child holds, so one of the rarest sets of each child is met, and
        # one of the next rarest: (a AND b) OR (c AND d) requires a|c and b|d.
        found = [sorted(c.requires(), key=_COST) for c in self.children]
        depth = min(2, *map(len, found))
        return [
            (sum(f[k][0] for f in found), frozenset().union(*(f[k][1] for f in found)))
            for k in range(depth)
        ]

    def exact(self) -> bool:
        return all(c.exact() and len(c.requires()) == 1 for c in self.children)


class _Not(_Eval):
    __slots__ = ("child",)

    def __init__(self, child: _Eval) -> None:
        self.child = child

    def test(self, item: _Item) -> bool:
        return not self.child.test(item)

    def collect(self, item: _Item, out: list[Hit]) -> None:
        return  # what is absent has no place in the text

    def has_near(self) -> bool:
        return self.child.has_near()

    def code(self, ctx: _Code) -> str:
        return f"not ({self.child.code(ctx)})"

    def native(self) -> NativeNode:
        return (3, 0, 0, [], [], [self.child.native()])

    def requires(self) -> list[Anchors]:
        return []


class _Near(_Eval):
    """An occurrence of ``left`` and one of ``right`` in one field, disjoint, at
    most ``distance`` words apart, in either order."""

    __slots__ = ("cost", "distance", "either", "fields", "left", "right")

    def __init__(
        self,
        left: Sequence[int],
        right: Sequence[int],
        fields: tuple[str, ...],
        distance: int,
        cost: tuple[float, float],
    ) -> None:
        self.left = frozenset(left)
        self.right = frozenset(right)
        self.either = self.left | self.right
        self.fields = fields
        self.distance = distance
        self.cost = cost

    def _sides(self, item: _Item, field: str) -> tuple[list[Range], list[Range]] | None:
        view = item.views[_VIEW[(field,)]]
        if self.left.isdisjoint(view) or self.right.isdisjoint(view):
            return None
        return item.both(self.left, self.right, self.either, field)

    def _pairs(self, item: _Item, field: str) -> Iterator[tuple[Range, Range]]:
        sides = self._sides(item, field)
        if sides is None:
            return
        lefts, rights = sides
        n = self.distance
        starts = [r[0] for r in rights]  # rights is sorted by start
        by_end = sorted(rights, key=itemgetter(1))
        ends = [r[1] for r in by_end]
        for a in lefts:
            first, end = a
            # right after left: words end..start-1 lie between them
            lo, hi = bisect_left(starts, end), bisect_right(starts, end + n)
            for b in rights[lo:hi]:
                yield a, b
            # right before left
            lo, hi = bisect_left(ends, first - n), bisect_right(ends, first)
            for b in by_end[lo:hi]:
                yield a, b

    def test(self, item: _Item) -> bool:
        views = item.views
        if self.fields == DEFAULT_FIELDS:  # a quick no when a side is in none of them
            everywhere = views[_VIEW[DEFAULT_FIELDS]]
            if self.left.isdisjoint(everywhere) or self.right.isdisjoint(everywhere):
                return False
        return self.near(item)

    def near(self, item: _Item) -> bool:
        """The test, past the quick no."""
        n = self.distance
        for f in self.fields:
            sides = self._sides(item, f)
            if sides is None:
                continue
            lefts, rights = sides
            # the same pairs as _pairs finds: a right starting within n words
            # after a left ends, or ending within n words before it starts
            starts = list(map(_FIRST, rights))
            ends = sorted(map(_END, rights))
            for first, end in lefts:
                if bisect_right(starts, end + n) > bisect_left(starts, end):
                    return True
                if bisect_right(ends, first) > bisect_left(ends, first - n):
                    return True
        return False

    def collect(self, item: _Item, out: list[Hit]) -> None:
        for f in self.fields:
            for a, b in self._pairs(item, f):
                out.append((f, *a))
                out.append((f, *b))

    def has_near(self) -> bool:
        return True

    def code(self, ctx: _Code) -> str:
        ctx.nears.append(self.near)
        # the quick no first, with what each side's presence looked up is remembered
        sides = " and ".join(
            f"({ctx.any_of(tids, self.fields)})" for tids in (self.left, self.right)
        )
        return f"{sides} and N[{len(ctx.nears) - 1}](x)"

    def native(self) -> NativeNode:
        view = _VIEW[self.fields]
        return (4, view, self.distance, sorted(self.left), sorted(self.right), [])

    def requires(self) -> list[Anchors]:
        # both sides must occur, in the fields they are looked for in (which
        # for all three text fields is one look-up, not three)
        view = _VIEW[self.fields]
        return [
            (cost, frozenset((view, tid) for tid in tids))
            for cost, tids in zip(self.cost, (self.left, self.right), strict=True)
        ]


# ---------------------------------------------------------------- compiling


def _cost(term: Term, fields: tuple[str, ...]) -> float:
    """A guess at how common a term is in the given fields, for choosing
    anchors: a phrase is rarer than a word, a word rarer than a prefix, short
    ones commoner; a title is short, and a feed's name is on all its items."""
    if len(term.words) > 1:
        cost = 1.0
    else:
        word = term.words[0]
        cost = 2.0 if len(word) > 4 else 4.0
        if term.prefix:
            cost *= 2 if len(word) > 4 else 6
        if term.suffix:
            cost *= 3
    if fields == ("feed",):
        return cost * 100
    return cost if len(fields) > 1 else cost / 3


def _unknown_entity(ref: EntityRef, entities: Mapping[str, Entity], rule: Rule) -> RuleError:
    close = difflib.get_close_matches(ref.name, list(entities), n=1)
    hint = f" (did you mean @{close[0]}?)" if close else ""
    return RuleError(
        f"unknown entity @{ref.name} at column {ref.col}{hint}",
        rule.path or None,
        ref.line if ref.line is not None else (rule.line or None),
    )


class _Compiler:
    """Turns syntax trees into evaluators, numbering terms as it meets them."""

    def __init__(self, entities: Mapping[str, Entity]) -> None:
        self.entities = entities
        self.tids: dict[Term, int] = {}
        self.terms: list[Term] = []
        self.used: set[int] = set()  # term ids of the rule being compiled
        self.fields_used: set[str] = set()

    def rule(self, rule: Rule) -> tuple[_Eval, frozenset[int]]:
        self.used = set()
        evaluator = self.node(rule.expr, DEFAULT_FIELDS, rule)
        return evaluator, frozenset(self.used)

    def tid(self, term: Term) -> int:
        key = Term(term.words, term.prefix, suffix=term.suffix)  # drop the source column
        tid = self.tids.get(key)
        if tid is None:
            tid = self.tids[key] = len(self.terms)
            self.terms.append(key)
        self.used.add(tid)
        return tid

    def leaves(self, node: Node, rule: Rule) -> list[Term]:
        """The terms of a NEAR operand: terms, entities and OR-groups of them."""
        if isinstance(node, Term):
            return [node]
        if isinstance(node, EntityRef):
            entity = self.entities.get(node.name)
            if entity is None:
                raise _unknown_entity(node, self.entities, rule)
            return list(entity.terms)
        if isinstance(node, Or):
            return [term for child in node.children for term in self.leaves(child, rule)]
        raise RuleError(f"invalid NEAR operand in rule {rule.name!r}", rule.path, rule.line)

    def node(self, node: Node, fields: tuple[str, ...], rule: Rule) -> _Eval:
        if isinstance(node, Term):
            self.fields_used.update(fields)
            return _Leaf(self.tid(node), fields, _cost(node, fields))
        if isinstance(node, EntityRef):
            entity = self.entities.get(node.name)
            if entity is None:
                raise _unknown_entity(node, self.entities, rule)
            self.fields_used.update(fields)
            return _merged_or([_Leaf(self.tid(t), fields, _cost(t, fields)) for t in entity.terms])
        if isinstance(node, Field):
            return self.node(node.child, (node.field,), rule)
        if isinstance(node, And):
            return _All([self.node(c, fields, rule) for c in node.children])
        if isinstance(node, Or):
            return _merged_or([self.node(c, fields, rule) for c in node.children])
        if isinstance(node, Not):
            return _Not(self.node(node.child, fields, rule))
        assert isinstance(node, Near)
        self.fields_used.update(fields)
        left, right = self.leaves(node.left, rule), self.leaves(node.right, rule)
        cost = (sum(_cost(t, fields) for t in left), sum(_cost(t, fields) for t in right))
        return _Near(
            [self.tid(t) for t in left], [self.tid(t) for t in right], fields, node.distance, cost
        )


def _merged_or(children: list[_Eval]) -> _Eval:
    """An OR whose alternatives that are plain terms of the same fields become
    one set lookup: many-aliased entities and long OR-lists stay cheap."""
    by_fields: dict[tuple[str, ...], tuple[set[int], list[float]]] = {}
    rest: list[_Eval] = []
    for child in children:
        if isinstance(child, _Leaf | _AnyLeaf):
            tids, costs = by_fields.setdefault(child.fields, (set(), []))
            tids.update(child.tids if isinstance(child, _AnyLeaf) else (child.tid,))
            costs.append(child.cost)
        else:
            rest.append(child)
    merged: list[_Eval] = [
        _Leaf(next(iter(tids)), fields, sum(costs))
        if len(tids) == 1
        else _AnyLeaf(frozenset(tids), fields, sum(costs))
        for fields, (tids, costs) in by_fields.items()
    ]
    alternatives = merged + rest
    return alternatives[0] if len(alternatives) == 1 else _Any(alternatives)


def _anywhere(tids: frozenset[int]) -> frozenset[tuple[int, int]]:
    return frozenset(
        (view, tid) for view in (_VIEW[("feed",)], _VIEW[DEFAULT_FIELDS]) for tid in tids
    )


def _by_view(
    anchored: Mapping[tuple[int, int], list[int]],
) -> tuple[tuple[int, frozenset[int], dict[int, tuple[int, ...]]], ...]:
    """Per view: the anchor terms, and the rules each anchors."""
    by_view: dict[int, dict[int, tuple[int, ...]]] = {}
    for (view, tid), indexes in anchored.items():
        by_view.setdefault(view, {})[tid] = tuple(indexes)
    return tuple((v, frozenset(rules), rules) for v, rules in sorted(by_view.items()))


def _one_view(
    anchors: frozenset[tuple[int, int]], widen: bool = True
) -> tuple[int, frozenset[int]] | None:
    """Anchors as terms of one view: those of a field are in the view of all
    three text fields too (``widen``); None if no one view holds them."""
    views = {view for view, _ in anchors}
    tids = frozenset(tid for _, tid in anchors)
    if len(views) == 1:
        return views.pop(), tids
    if widen and _VIEW[("feed",)] not in views:
        return _VIEW[DEFAULT_FIELDS], tids
    return None


def _automaton_key(term: Term) -> str:
    return ("" if term.suffix else " ") + " ".join(term.words) + ("" if term.prefix else " ")


def _compiled_tests(evals: Sequence[_Eval]) -> tuple[Callable[[Views, _Item], bool], ...]:
    """Each evaluator's test as a Python function of the item's views ``V``
    and the item ``x``, compiled a few hundred at a time. The source holds
    only numbers and names of this module (no rule text), so compiling it is
    safe."""
    ctx = _Code()
    # the lists the code indexes, shared by every chunk's code as they grow
    namespace: dict[str, Any] = {"S": ctx.sets, "N": ctx.nears, "A": _any_of, "__builtins__": {}}
    tests: list[Callable[[Views, _Item], bool]] = []
    for start in range(0, len(evals), _COMPILE_CHUNK):
        chunk = evals[start : start + _COMPILE_CHUNK]
        source = "(" + "".join(f"lambda V, x: {e.code(ctx)},\n" for e in chunk) + ")"
        tests += eval(compile(source, "<rules>", "eval"), namespace)  # noqa: S307
    return tuple(tests)


# Tests compiled by one compile() call at most. A call holds the GIL until it
# ends: 4,000 rules in one took half a second, and a reload compiling on a
# worker thread stopped the event loop as long.
_COMPILE_CHUNK = 250


class RuleSet:
    """Rules compiled for matching. Build one per rule-set version and reuse it:
    it is never changed once built, so a match in progress can go on with it
    while a newer one is being compiled."""

    def __init__(
        self, rules: Sequence[Rule] = (), entities: Mapping[str, Entity] | None = None
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._entities: dict[str, Entity] = dict(entities or {})
        self.entities: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {name: e.aliases for name, e in self._entities.items()}
        )
        compiler = _Compiler(self._entities)
        evals: list[_Eval] = []
        first: dict[tuple[int, int], list[int]] = {}
        then: list[tuple[int, frozenset[int]]] = []
        always: list[int] = []
        single: list[int] = []
        exact: list[int] = []
        empty = _EmptyItem()
        for index, rule in enumerate(self.rules):
            evaluator, used = compiler.rule(rule)
            evals.append(evaluator)
            then.append((0, frozenset()))
            if evaluator.test(empty):
                always.append(index)  # true with no term present: tried on every item
                continue
            # A rule is tried when its rarest anchors occur, and one of the
            # terms it requires next (looked up in one view) does.
            found = sorted(evaluator.requires(), key=_COST)
            # (a NOT of a NOT has no anchors, yet one of its terms must occur somewhere)
            anchors = [a for _, a in found] or [_anywhere(used)]
            for key in anchors[0]:
                first.setdefault(key, []).append(index)
            second = next(filter(None, map(_one_view, anchors[1:])), None)
            if second is None:
                single.append(index)
            else:
                then[index] = second
            if evaluator.exact() and (
                len(found) == 1
                or (
                    len(found) == 2
                    and second is not None
                    and second == _one_view(anchors[1], False)
                )
            ):
                exact.append(index)  # true whenever its anchors occur
        self._evals = tuple(evals)
        self._tests = _compiled_tests(evals)
        self._index = {rule.name: i for i, rule in enumerate(self.rules)}
        self._tids: Mapping[Term, int] = MappingProxyType(compiler.tids)
        self._first = _by_view(first)
        self._then_view = tuple(v for v, _ in then)
        self._then_tids = tuple(t for _, t in then)
        self._single = frozenset(single)
        self._exact = frozenset(exact)
        self._always = tuple(always)
        self._scan = frozenset(compiler.fields_used)
        self._term_lengths = tuple(len(t.words) for t in compiler.terms)
        self._automaton = (
            Automaton([_automaton_key(t) for t in compiler.terms]) if compiler.terms else None
        )
        # The same evaluation in the native module, over the native scan's hits.
        self._native: NativeRules | None = None
        if self._automaton is not None and self._automaton.native:
            self._native = native_rules(
                [e.native() for e in evals],
                [
                    (v, tid, list(rs))
                    for v, _, rules_of in self._first
                    for tid, rs in rules_of.items()
                ],
                [(v, sorted(t)) for v, t in then],
                [i in self._exact for i in range(len(evals))],
                list(always),
                list(self._term_lengths),
            )

    def __repr__(self) -> str:
        return f"<RuleSet of {len(self.rules)} rules, {len(self._entities)} entities>"

    def match(self, fields: Mapping[str, str]) -> list[Match]:
        """The rules that match an item's fields (title, summary, content, feed), in
        rule order. Missing fields count as empty."""
        if not self.rules:
            return []
        item = _ScannedItem(self, fields) if self._automaton is not None else _EmptyItem(fields)
        if self._native is not None:
            assert isinstance(item, _ScannedItem)
            hits, streams = item.hits, item.streams
            fired = self._native.fire(
                [hits.get(f) for f in FIELDS], [streams.get(f) for f in FIELDS]
            )
            rules, evals = self.rules, self._evals
            return [Match(rules[i], evals[i], item) for i in fired]
        return self._evaluate(item)

    def _evaluate(self, item: _Item) -> list[Match]:
        """The rules that match a scanned item, evaluated in Python: the
        reference the native evaluation is held to, and its fallback."""
        views = item.views
        # the rules each present anchor stands for, gathered in C
        first: set[int] = set()
        for view, anchors, rules_of in self._first:
            first.update(*map(rules_of.__getitem__, anchors.intersection(views[view])))
        candidates = first.intersection(self._single)
        paired = tuple(first.difference(self._single))
        if paired:  # and their second anchors, looked up in C too
            view_of, tids_of = self._then_view, self._then_tids
            absent = map(
                frozenset.isdisjoint,
                map(tids_of.__getitem__, paired),
                map(views.__getitem__, map(view_of.__getitem__, paired)),
            )
            candidates.update(compress(paired, map(not_, absent)))
        fired = candidates.intersection(self._exact)
        maybe = candidates.difference(self._exact)
        maybe.update(self._always)
        tests = self._tests
        fired.update([i for i in maybe if tests[i](views, item)])
        rules, evals = self.rules, self._evals
        return [Match(rules[i], evals[i], item) for i in sorted(fired)]

    def scan(self, fields: Mapping[str, str]) -> Scan:
        """Where the terms of this set occur in an item's fields (only the fields
        some rule looks at are scanned)."""
        if self._automaton is None:
            return Scan({}, {})
        return _ScannedItem(self, fields).scan()

    def term_id(self, term: Term) -> int | None:
        """The id a term of this set's rules or entities has in a :class:`Scan`."""
        return self._tids.get(Term(term.words, term.prefix, suffix=term.suffix))

    def entity(self, name: str) -> Entity | None:
        return self._entities.get(name)

    def fires(self, rule: Rule, scan: Scan) -> bool:
        """What the compiled evaluator of ``rule`` (one of this set's) says of a scan."""
        item = _ScanAsItem(scan)
        return self._tests[self._index[rule.name]](item.views, item)

    def with_query(self, query: str, name: str = "query") -> RuleSet:
        """A one-rule set for an ad-hoc query, using this set's entities."""
        rule = Rule(name, query, (), "", 0, parse_query(query))
        return RuleSet([rule], self._entities)

    def only(self, name: str) -> RuleSet:
        """A one-rule set holding the rule called ``name``."""
        for rule in self.rules:
            if rule.name == name:
                return RuleSet([rule], self._entities)
        close = difflib.get_close_matches(name, [r.name for r in self.rules], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RuleError(f"unknown rule {name!r}{hint}")


class _EmptyItem(_Item):
    """An item with no text: what a rule with no term present evaluates on."""

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self.fields = fields or {}
        self.memo = {}
        self.views = tuple(frozenset[int]() for _ in range(len(FIELDS) + 1))

    def occurrences(self, field: str) -> FieldOccurrences:
        return {}

    def spans(self, field: str) -> Sequence[tuple[int, int]]:
        return ()


def compile_ruleset(files: Sequence[RuleFile]) -> RuleSet:
    """One rule set from parsed files: entities are shared by all files, and
    entity and rule names must be unique across them."""
    entities: dict[str, Entity] = {}
    for rule_file in files:
        for entity in rule_file.entities:
            prev = entities.get(entity.name)
            if prev is not None:
                raise RuleError(
                    f"entity {entity.name!r} is already defined at {prev.path}:{prev.line}",
                    entity.path,
                    entity.line,
                )
            entities[entity.name] = entity
    rules: dict[str, Rule] = {}
    for rule_file in files:
        for rule in rule_file.rules:
            prior = rules.get(rule.name)
            if prior is not None:
                raise RuleError(
                    f"rule {rule.name!r} is already defined at {prior.path}:{prior.line}",
                    rule.path,
                    rule.line,
                )
            rules[rule.name] = rule
    return RuleSet(list(rules.values()), entities)


EMPTY_RULESET = RuleSet()
