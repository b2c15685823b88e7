"""Why a rule matched an item, or why not: what ``newsmon test-rule`` shows.

    explain(rules, rule, fields) -> Explanation

An explanation lists every occurrence of the rule's positive terms (those not
under a NOT), each with the term or ``@Entity`` as the rule wrote it, the text
as the item wrote it, its field and its character offsets. When the rule did
not match it says why, in one of two ways:

- *excluded*: with every NOT taken as true the rule would have matched, so the
  NOTs whose inside was found (on the way to that match) excluded it: ``NOT x``
  for a ``match:`` rule, ``none: x`` for a list rule, each with what was found
  inside it. An item that only a NOT kept out is a near miss.
- *missing*: otherwise, the required parts that were not found: the false
  children of an AND (rendered as query text, shortened when long), a NEAR whose
  two sides were found but too far apart, ``any: none of …`` and
  ``all: missing …`` for list rules.

The rule's syntax tree is evaluated here directly, against the occurrences the
rule set's scan found (:meth:`RuleSet.scan`), apart from the compiled
evaluators; the compiled matcher stays the truth for match or no match, and
the two must agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.core.rules.matcher import RuleSet, Scan
from monitor.core.rules.model import Rule
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
    render,
)

__all__ = ["Exclusion", "Explanation", "Found", "explain", "shorten"]

Range = tuple[int, int]  # token indexes [first, end) within one field
_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}
_SHORT = 72  # longest query text shown for a missing part


@dataclass(frozen=True, slots=True)
class Found:
    """One occurrence of a term in the item."""

    term: str  # the query term or @Entity, as the rule wrote it
    text: str  # as the item wrote it
    field: str
    start: int  # character offsets into the field's text
    end: int
    alias: str = ""  # for an @Entity: the alias that occurred, as the rule file wrote it


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A NOT (or ``none:`` entry) that kept the item out, with what it found."""

    clause: str  # "NOT x" or "none: x"
    found: tuple[Found, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: Rule
    matched: bool
    found: tuple[Found, ...]  # every occurrence of a positive term, field by field
    excluded: tuple[Exclusion, ...] = ()  # when not matched: only NOTs kept it out
    missing: tuple[str, ...] = ()  # when not matched otherwise: what was not found

    @property
    def near_miss(self) -> bool:
        """Not matched, and only because a NOT or ``none:`` entry excluded it."""
        return bool(self.excluded)


def explain(rules: RuleSet, rule: Rule, fields: Mapping[str, str]) -> Explanation:
    """Explain ``rule`` (one of ``rules``) on an item's fields."""
    scan = rules.scan(fields)
    tree = _Tree(rules, scan, fields)
    matched = rules.fires(rule, scan)
    assert tree.holds(rule.expr, DEFAULT_FIELDS) is matched, (
        f"explanation and matcher disagree on rule {rule.name!r}"
    )
    found = _ordered(tree.found(rule.expr, DEFAULT_FIELDS))
    if matched:
        return Explanation(rule, True, found)
    if tree.holds(rule.expr, DEFAULT_FIELDS, nots_true=True):
        nots: list[tuple[Not, tuple[str, ...]]] = []
        tree.exclusions(rule.expr, DEFAULT_FIELDS, nots)
        assert nots, "a rule true with its NOTs taken as true is false because of one"
        entries = {id(part): key for key, part in rule.list_parts() if key == "none"}
        excluded = tuple(
            Exclusion(
                _clause(node, scope, id(node) in entries),
                _ordered(tree.found(node.child, scope)),
            )
            for node, scope in nots
        )
        return Explanation(rule, False, found, excluded=excluded)
    return Explanation(rule, False, found, missing=tuple(tree.missing(rule)))


def shorten(text: str, width: int = _SHORT) -> str:
    """``text`` cut to about ``width`` characters at a space, with "…"."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", width // 2, width)
    return text[: cut if cut > 0 else width - 1].rstrip() + " …"


def _clause(node: Not, scope: tuple[str, ...], none_entry: bool) -> str:
    if none_entry:
        return f"none: {_written(node.child)}"
    inner = node.child
    if scope != DEFAULT_FIELDS and not isinstance(inner, Field):
        inner = Field(scope[0], inner)  # the NOT sat inside a field scope: say which
    return shorten(render(Not(inner), written=True))


def _written(node: Node) -> str:
    return render(node, written=True)


def _ordered(found: Iterable[Found]) -> tuple[Found, ...]:
    unique = dict.fromkeys(found)
    return tuple(
        sorted(unique, key=lambda f: (_FIELD_ORDER[f.field], f.start, f.end, f.term, f.alias))
    )


class _Tree:
    """Evaluates syntax trees against one scan."""

    def __init__(self, rules: RuleSet, scan: Scan, fields: Mapping[str, str]) -> None:
        self.rules = rules
        self.scan = scan
        self.fields = fields

    # -- occurrences

    def _term_ranges(self, term: Term, field: str) -> list[Range]:
        tid = self.rules.term_id(term)
        if tid is None:
            return []
        return self.scan.occurrences.get(tid, {}).get(field, [])

    def _aliases(self, ref: EntityRef) -> Sequence[tuple[str, Term]]:
        entity = self.rules.entity(ref.name)
        assert entity is not None, f"@{ref.name} is not an entity of this rule set"
        return list(zip(entity.aliases, entity.terms, strict=True))

    def _ranges(self, node: Node, field: str) -> list[Range]:
        """Occurrences of a term, an entity or an OR-group of those (NEAR operands)."""
        if isinstance(node, Term):
            return self._term_ranges(node, field)
        if isinstance(node, EntityRef):
            return [r for _, term in self._aliases(node) for r in self._term_ranges(term, field)]
        assert isinstance(node, Or), node
        return [r for child in node.children for r in self._ranges(child, field)]

    def _near(self, node: Near, field: str) -> bool:
        lefts, rights = self._ranges(node.left, field), self._ranges(node.right, field)
        # disjoint, with at most ``distance`` words between them, either order
        return any(
            0 <= max(a[0], b[0]) - min(a[1], b[1]) <= node.distance for a in lefts for b in rights
        )

    # -- truth

    def holds(self, node: Node, scope: tuple[str, ...], *, nots_true: bool = False) -> bool:
        """Whether ``node`` is true of the item; with ``nots_true``, every NOT is."""
        if isinstance(node, Term | EntityRef):
            return any(self._ranges(node, f) for f in scope)
        if isinstance(node, Field):
            return self.holds(node.child, (node.field,), nots_true=nots_true)
        if isinstance(node, And):
            return all(self.holds(c, scope, nots_true=nots_true) for c in node.children)
        if isinstance(node, Or):
            return any(self.holds(c, scope, nots_true=nots_true) for c in node.children)
        if isinstance(node, Not):
            return nots_true or not self.holds(node.child, scope)
        return any(self._near(node, f) for f in scope)

    # -- what was found

    def found(self, node: Node, scope: tuple[str, ...]) -> list[Found]:
        """Every occurrence of a positive term of ``node`` (not under a NOT)."""
        if isinstance(node, Term):
            return self._found_term(node, _written(node), scope)
        if isinstance(node, EntityRef):
            return [
                hit
                for alias, term in self._aliases(node)
                for hit in self._found_term(term, f"@{node.name}", scope, alias)
            ]
        if isinstance(node, Field):
            return self.found(node.child, (node.field,))
        if isinstance(node, And | Or):
            return [hit for c in node.children for hit in self.found(c, scope)]
        if isinstance(node, Not):
            return []
        return self.found(node.left, scope) + self.found(node.right, scope)

    def _found_term(
        self, term: Term, label: str, scope: tuple[str, ...], alias: str = ""
    ) -> list[Found]:
        out = []
        for f in scope:
            tokens = self.scan.tokens.get(f)
            for first, end in self._term_ranges(term, f):
                assert tokens is not None
                start, stop = tokens[first].start, tokens[end - 1].end
                out.append(Found(label, self.fields[f][start:stop], f, start, stop, alias))
        return out

    # -- why not

    def exclusions(
        self, node: Node, scope: tuple[str, ...], out: list[tuple[Not, tuple[str, ...]]]
    ) -> None:
        """The NOTs whose inside was found, along the paths that make ``node``
        true when every NOT is taken as true."""
        if isinstance(node, Not):
            if self.holds(node.child, scope):
                out.append((node, scope))
        elif isinstance(node, Field):
            self.exclusions(node.child, (node.field,), out)
        elif isinstance(node, And):
            for child in node.children:
                self.exclusions(child, scope, out)
        elif isinstance(node, Or):
            for child in node.children:
                if self.holds(child, scope, nots_true=True):
                    self.exclusions(child, scope, out)

    def missing(self, rule: Rule) -> list[str]:
        """The required parts of a rule (false even with its NOTs taken as true)."""
        if rule.form != "lists":
            return self._missing(rule.expr, DEFAULT_FIELDS, "")
        out: list[str] = []
        absent: list[str] = []
        for key, part in rule.list_parts():
            if self.holds(part, DEFAULT_FIELDS, nots_true=True):
                continue
            if key == "any":
                entries = part.children if isinstance(part, Or) else (part,)
                out.append(shorten("any: none of " + ", ".join(map(_written, entries))))
            elif key == "all":
                absent.append(_written(part))
        if absent:
            out.append(shorten("all: missing " + ", ".join(absent)))
        return out

    def _missing(self, node: Node, scope: tuple[str, ...], field: str) -> list[str]:
        if isinstance(node, Field) and isinstance(node.child, And):
            return self._missing(node.child, (node.field,), node.field)
        if isinstance(node, And):
            return [
                self._describe(child, scope, field)
                for child in node.children
                if not self.holds(child, scope, nots_true=True)
            ]
        return [self._describe(node, scope, field)]

    def _describe(self, node: Node, scope: tuple[str, ...], field: str) -> str:
        """A missing part as query text; a NEAR whose sides were both found says so."""
        shown = node if not field or isinstance(node, Field) else Field(field, node)
        text = shorten(render(shown, written=True))
        near = node
        if isinstance(node, Field):
            near, scope = node.child, (node.field,)
        if not isinstance(near, Near):
            return text
        lefts = {f for f in scope if self._ranges(near.left, f)}
        rights = {f for f in scope if self._ranges(near.right, f)}
        if not lefts or not rights:
            return text
        if lefts & rights:
            return f"{text} (both found, more than {near.distance} words apart)"
        return f"{text} (both found, in different fields)"
