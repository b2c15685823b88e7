"""Compiled rule sets: many rules against one item, fast.

Compiling a rule set resolves every rule's syntax tree into a small tree of
evaluators: ``@entities`` become OR-groups of their aliases and field scopes are
pushed down to the leaves. Every distinct term (word, phrase or prefix, over
all rules) gets an id and one key in a single Aho-Corasick automaton. A key is
the term's folded words joined by spaces, with a space in front unless the term
starts with ``*`` and a space behind unless it ends with ``*``; each field is
scanned once as the string " w1 w2 … wn " of its folded words, so keys match
on whole words except where a ``*`` lets them run into a longer one.

Matching an item scans its fields, records where each term occurs (as token
ranges per field) and evaluates only the rules that have an occurring term. A
rule none of whose terms occurs evaluates exactly as on empty text, and that
result is known at compile time: such rules (``NOT x`` and the like) match
without being evaluated.

Spans are the character ranges, in the original field text, of the positive
terms that made a rule true: every occurrence of each term under a true AND,
the true branches of an OR, the pairs that satisfy a NEAR, nothing under NOT.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from types import MappingProxyType
from typing import Any

import ahocorasick

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
from monitor.core.text import Token, tokenize
from monitor.errors import RuleError

__all__ = ["EMPTY_RULESET", "Match", "RuleSet", "Scan", "Span", "compile_ruleset"]

_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}
# Snippets for rules that matched without a positive term come from here.
_SNIPPET_FALLBACK = ("summary", "content", "title")

Range = tuple[int, int]  # token indexes [first, end) within one field
Occurrences = dict[int, dict[str, list[Range]]]  # term id -> field -> ranges
Hit = tuple[str, int, int]  # field, first token, end token


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


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched an item, with what it matched and where."""

    rule: Rule
    terms: tuple[str, ...]  # as written in the item, de-duplicated case-insensitively
    spans: tuple[Span, ...]  # title first, then summary, content, feed; by position

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


_SNIPPET_PREFERENCE = ("summary", "content", "title")


class _Eval(ABC):
    """A compiled query node."""

    __slots__ = ()

    @abstractmethod
    def test(self, occ: Occurrences) -> bool:
        """Whether the node is true for these occurrences."""

    @abstractmethod
    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        """Append the positive occurrences that make this (true) node true."""


class _Leaf(_Eval):
    __slots__ = ("fields", "tid")

    def __init__(self, tid: int, fields: tuple[str, ...]) -> None:
        self.tid = tid
        self.fields = fields

    def test(self, occ: Occurrences) -> bool:
        found = occ.get(self.tid)
        return found is not None and any(f in found for f in self.fields)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        found = occ.get(self.tid)
        if found:
            for f in self.fields:
                out.extend((f, first, end) for first, end in found.get(f, ()))


def _present(tids: frozenset[int], occ: Occurrences) -> list[int]:
    """The ids of ``tids`` that occur, looking through the smaller of the two:
    an entity may have hundreds of aliases, an item holds a few dozen terms."""
    if len(occ) < len(tids):
        return [tid for tid in occ if tid in tids]
    return [tid for tid in tids if tid in occ]


class _AnyLeaf(_Eval):
    """Any of many terms in the given fields: an @entity, or an OR of terms."""

    __slots__ = ("fields", "tids")

    def __init__(self, tids: frozenset[int], fields: tuple[str, ...]) -> None:
        self.tids = tids
        self.fields = fields

    def test(self, occ: Occurrences) -> bool:
        return any(f in occ[tid] for tid in _present(self.tids, occ) for f in self.fields)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        for tid in _present(self.tids, occ):
            found = occ[tid]
            for f in self.fields:
                out.extend((f, first, end) for first, end in found.get(f, ()))


class _All(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[_Eval]) -> None:
        self.children = tuple(children)

    def test(self, occ: Occurrences) -> bool:
        return all(c.test(occ) for c in self.children)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        for c in self.children:
            c.collect(occ, out)


class _Any(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[_Eval]) -> None:
        self.children = tuple(children)

    def test(self, occ: Occurrences) -> bool:
        return any(c.test(occ) for c in self.children)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        for c in self.children:
            if c.test(occ):
                c.collect(occ, out)


class _Not(_Eval):
    __slots__ = ("child",)

    def __init__(self, child: _Eval) -> None:
        self.child = child

    def test(self, occ: Occurrences) -> bool:
        return not self.child.test(occ)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        return  # what is absent has no place in the text


class _Near(_Eval):
    """An occurrence of ``left`` and one of ``right`` in one field, disjoint, at
    most ``distance`` words apart, in either order."""

    __slots__ = ("distance", "fields", "left", "right")

    def __init__(
        self, left: Sequence[int], right: Sequence[int], fields: tuple[str, ...], distance: int
    ) -> None:
        self.left = frozenset(left)
        self.right = frozenset(right)
        self.fields = fields
        self.distance = distance

    @staticmethod
    def _ranges(tids: frozenset[int], occ: Occurrences, field: str) -> list[Range]:
        found: set[Range] = set()
        for tid in _present(tids, occ):
            found.update(occ[tid].get(field, ()))
        return sorted(found)

    def _pairs(self, occ: Occurrences, field: str) -> Iterator[tuple[Range, Range]]:
        lefts = self._ranges(self.left, occ, field)
        rights = self._ranges(self.right, occ, field)
        if not lefts or not rights:
            return
        n = self.distance
        starts = [r[0] for r in rights]  # rights is sorted by start
        by_end = sorted(rights, key=lambda r: r[1])
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

    def test(self, occ: Occurrences) -> bool:
        return any(next(self._pairs(occ, f), None) is not None for f in self.fields)

    def collect(self, occ: Occurrences, out: list[Hit]) -> None:
        for f in self.fields:
            for a, b in self._pairs(occ, f):
                out.append((f, *a))
                out.append((f, *b))


# ---------------------------------------------------------------- compiling


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

    def leaves(self, node: Node, rule: Rule) -> list[int]:
        """Term ids of a NEAR operand: terms, entities and OR-groups of them."""
        if isinstance(node, Term):
            return [self.tid(node)]
        if isinstance(node, EntityRef):
            entity = self.entities.get(node.name)
            if entity is None:
                raise _unknown_entity(node, self.entities, rule)
            return [self.tid(t) for t in entity.terms]
        if isinstance(node, Or):
            return [tid for child in node.children for tid in self.leaves(child, rule)]
        raise RuleError(f"invalid NEAR operand in rule {rule.name!r}", rule.path, rule.line)

    def node(self, node: Node, fields: tuple[str, ...], rule: Rule) -> _Eval:
        if isinstance(node, Term):
            self.fields_used.update(fields)
            return _Leaf(self.tid(node), fields)
        if isinstance(node, EntityRef):
            entity = self.entities.get(node.name)
            if entity is None:
                raise _unknown_entity(node, self.entities, rule)
            self.fields_used.update(fields)
            return _merged_or([_Leaf(self.tid(t), fields) for t in entity.terms])
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
        return _Near(left, right, fields, node.distance)


def _merged_or(children: list[_Eval]) -> _Eval:
    """An OR whose alternatives that are plain terms of the same fields become
    one set lookup: many-aliased entities and long OR-lists stay cheap."""
    by_fields: dict[tuple[str, ...], set[int]] = {}
    rest: list[_Eval] = []
    for child in children:
        if isinstance(child, _Leaf):
            by_fields.setdefault(child.fields, set()).add(child.tid)
        elif isinstance(child, _AnyLeaf):
            by_fields.setdefault(child.fields, set()).update(child.tids)
        else:
            rest.append(child)
    merged: list[_Eval] = [
        _Leaf(next(iter(tids)), fields) if len(tids) == 1 else _AnyLeaf(frozenset(tids), fields)
        for fields, tids in by_fields.items()
    ]
    alternatives = merged + rest
    return alternatives[0] if len(alternatives) == 1 else _Any(alternatives)


def _automaton_key(term: Term) -> str:
    return ("" if term.suffix else " ") + " ".join(term.words) + ("" if term.prefix else " ")


class RuleSet:
    """Rules compiled for matching. Build one per rule-set version and reuse it."""

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
        term_rules: list[list[int]] = []
        for index, rule in enumerate(self.rules):
            evaluator, used = compiler.rule(rule)
            evals.append(evaluator)
            term_rules.extend([] for _ in range(len(compiler.terms) - len(term_rules)))
            for tid in used:
                term_rules[tid].append(index)
        self._evals = tuple(evals)
        self._index = {rule.name: i for i, rule in enumerate(self.rules)}
        self._tids: Mapping[Term, int] = MappingProxyType(compiler.tids)
        self._term_rules = tuple(tuple(r) for r in term_rules)
        self._always = frozenset(i for i, e in enumerate(evals) if e.test({}))
        self._scan = tuple(f for f in FIELDS if f in compiler.fields_used)
        self._automaton: Any = None
        if compiler.terms:
            automaton = ahocorasick.Automaton()
            for tid, term in enumerate(compiler.terms):
                key = _automaton_key(term)
                automaton.add_word(key, (tid, len(key), len(term.words), term.suffix))
            automaton.make_automaton()
            self._automaton = automaton

    def __repr__(self) -> str:
        return f"<RuleSet of {len(self.rules)} rules, {len(self._entities)} entities>"

    def match(self, fields: Mapping[str, str]) -> list[Match]:
        """The rules that match an item's fields (title, summary, content, feed), in
        rule order. Missing fields count as empty."""
        if not self.rules:
            return []
        tokens, occ = self._scan_item(fields)
        candidates: set[int] = set()
        for tid in occ:
            candidates.update(self._term_rules[tid])
        matches = []
        for index in sorted(candidates | self._always):
            hits: list[Hit] = []
            if index in candidates:
                evaluator = self._evals[index]
                if not evaluator.test(occ):
                    continue
                evaluator.collect(occ, hits)
            matches.append(_make_match(self.rules[index], hits, tokens, fields))
        return matches

    def _scan_item(self, fields: Mapping[str, str]) -> tuple[dict[str, list[Token]], Occurrences]:
        tokens: dict[str, list[Token]] = {}
        occ: Occurrences = {}
        for f in self._scan:
            text = fields.get(f)
            if not text:
                continue
            toks = tokenize(text)
            if toks:
                tokens[f] = toks
                self._scan_field(f, toks, occ)
        return tokens, occ

    def scan(self, fields: Mapping[str, str]) -> Scan:
        """Where the terms of this set occur in an item's fields (only the fields
        some rule looks at are scanned)."""
        return Scan(*self._scan_item(fields))

    def term_id(self, term: Term) -> int | None:
        """The id a term of this set's rules or entities has in a :class:`Scan`."""
        return self._tids.get(Term(term.words, term.prefix, suffix=term.suffix))

    def entity(self, name: str) -> Entity | None:
        return self._entities.get(name)

    def fires(self, rule: Rule, scan: Scan) -> bool:
        """What the compiled evaluator of ``rule`` (one of this set's) says of a scan."""
        return self._evals[self._index[rule.name]].test(scan.occurrences)

    def _scan_field(self, field: str, toks: list[Token], occ: Occurrences) -> None:
        words = [t.word for t in toks]
        stream = " " + " ".join(words) + " "
        # stream offset of each word -> its token index (accumulate yields one extra)
        starts = list(accumulate((len(w) + 1 for w in words), initial=1))
        first_at = dict(zip(starts, range(len(words)), strict=False))
        for last, (tid, key_len, n_words, suffix) in self._automaton.iter(stream):
            if suffix:  # the key starts inside its first word: find that word
                first = bisect_right(starts, last - key_len + 1) - 1
            else:
                first = first_at[last - key_len + 2]
            occ.setdefault(tid, {}).setdefault(field, []).append((first, first + n_words))

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


def _make_match(
    rule: Rule, hits: list[Hit], tokens: Mapping[str, list[Token]], fields: Mapping[str, str]
) -> Match:
    spans = sorted(
        {Span(f, tokens[f][first].start, tokens[f][end - 1].end) for f, first, end in hits},
        key=lambda s: (_FIELD_ORDER[s.field], s.start, s.end),
    )
    terms: dict[str, str] = {}
    for span in spans:
        text = fields[span.field][span.start : span.end]
        terms.setdefault(text.casefold(), text)
    return Match(rule, tuple(terms.values()), tuple(spans))


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
