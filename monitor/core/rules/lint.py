"""Lints of a rule set: what ``newsmon check`` reports besides parse errors.

    lint(files) -> [Finding]                   the parsed rule files, all at once
    lint_notify(rules, tags, where) -> [Finding]   rules no channel would hear
    noisy_rules(rules, counts, total, max_share, window) -> [Finding]

Every problem is reported, not just the first, each as a :class:`Finding`
with its file and line:

errors (the rule set will not load, or a rule is dead)
    - ``@Entity`` that no file defines (with a did-you-mean);
    - a rule or entity name defined twice across files (naming both places);
    - a rule that can never match: a term it requires (under ANDs from the
      root, ``all:`` entries and the ``any:`` group included) that a NOT or
      ``none:`` entry of the same AND always excludes (``all: [tariffs]`` with
      ``none: [tariff*]``, ``x AND NOT x``). Decided by matching the NOT's
      inside against the required term's own text, in each field the term
      looks at; a prefix or ``*``-term is tried with its word run on too, so
      ``tariff* AND NOT tariff`` is not flagged.
warnings (it loads, but is probably not what was meant)
    - an entity no rule uses;
    - a rule that needs no term at all (only NOT clauses): it fires on every
      item without them;
    - a prefix or leading-``*`` term whose stem is one or two letters: it
      matches almost any word;
    - a rule whose ``notify:`` tags no channel has (it never alerts);
    - a rule that fires on more than a given share of the recent items.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.core.rules.matcher import RuleSet
from monitor.core.rules.model import Entity, Rule, RuleFile
from monitor.core.rules.query import (
    DEFAULT_FIELDS,
    And,
    EntityRef,
    Field,
    Near,
    Node,
    Not,
    Or,
    Term,
    entity_refs,
    render,
)
from monitor.core.text import is_unspaced, join_words
from monitor.errors import NewsmonError, RuleError

__all__ = ["Finding", "Severity", "lint", "lint_notify", "noisy_rules", "percent"]

Severity = Literal["error", "warning"]

_TINY_STEM = 2  # letters: a prefix this short matches almost any word
_RUN_ON = "qx"  # letters a prefix's word is run on with, to probe what else it matches


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"

    @classmethod
    def from_error(cls, error: NewsmonError, path: str = "") -> Finding:
        """A reported error (a rule file that does not parse, a bad config) as a finding."""
        return cls(error.path or path, error.line, "error", error.message)


def lint(files: Sequence[RuleFile], *, partial: bool = False) -> list[Finding]:
    """Every problem of a rule set, in file and line order.

    ``partial``: some rule files of the set failed to parse, so an entity may be
    used, or defined, by a rule this cannot see: unused entities are not
    reported, and unknown ones say it may be so.
    """
    findings: list[Finding] = []
    entities: dict[str, Entity] = {}
    for entity in (e for f in files for e in f.entities):
        first = entities.setdefault(entity.name, entity)
        if first is not entity:
            findings.append(
                _error(entity, f"entity {entity.name!r} is already defined at {_at(first)}")
            )
    rules: dict[str, Rule] = {}
    used: set[str] = set()
    for rule in (r for f in files for r in f.rules):
        first_rule = rules.setdefault(rule.name, rule)
        if first_rule is not rule:
            findings.append(
                _error(rule, f"rule {rule.name!r} is already defined at {_at(first_rule)}")
            )
        refs = entity_refs(rule.expr)
        used.update(ref.name for ref in refs)
        findings.extend(
            unknown for ref in refs if (unknown := _unknown(rule, ref, entities, partial))
        )
        findings.extend(_dead(rule, entities))
        findings.extend(_tiny_stems_of_rule(rule))
    for entity in (e for f in files for e in f.entities):
        findings.extend(_tiny_stems_of_entity(entity))
        if not partial and entity.name not in used:
            findings.append(_warning(entity, f"entity {entity.name!r} is not used by any rule"))
    return _sorted(findings)


def lint_notify(rules: Iterable[Rule], tags: Collection[str], where: str) -> list[Finding]:
    """Rules whose ``notify:`` names only tags no channel has (``tags``, from the
    Apprise config at ``where``): they never alert."""
    have = {t.lower() for t in tags}  # Apprise lowercases tags, and so does routing
    return [
        _warning(
            rule,
            f"rule {rule.name!r} never alerts: no channel of {where} is tagged "
            + " or ".join(rule.notify),
        )
        for rule in rules
        if rule.notify and not have & {t.lower() for t in rule.notify}
    ]


def noisy_rules(
    rules: Iterable[Rule], counts: Mapping[str, int], total: int, max_share: float, window: str
) -> list[Finding]:
    """Rules that fired on more than ``max_share`` of ``total`` recent items
    (``counts`` by rule name; ``window`` says how recent, for the message)."""
    if total <= 0:
        return []
    return [
        _warning(
            rule,
            f"rule {rule.name!r} fires on {counts[rule.name]} of the {total} items stored in "
            f"the last {window} ({percent(counts[rule.name] / total)}, more than "
            f"{percent(max_share)}): probably too broad",
        )
        for rule in rules
        if counts.get(rule.name, 0) / total > max_share
    ]


# ---------------------------------------------------------------- findings


def _at(thing: Rule | Entity) -> str:
    return f"{thing.path}:{thing.line}"


def _error(thing: Rule | Entity, message: str, line: int | None = None) -> Finding:
    return Finding(thing.path, line or thing.line or None, "error", message)


def _warning(thing: Rule | Entity, message: str) -> Finding:
    return Finding(thing.path, thing.line or None, "warning", message)


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.line or 0))


def percent(share: float) -> str:
    """A share as a percentage, with one decimal when it has one: 10%, 12.5%."""
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


# ---------------------------------------------------------------- unknown entities


def _unknown(
    rule: Rule, ref: EntityRef, entities: Mapping[str, Entity], partial: bool
) -> Finding | None:
    if ref.name in entities:
        return None
    close = difflib.get_close_matches(ref.name, list(entities), n=1)
    hint = f" (did you mean @{close[0]}?)" if close else ""
    column = f" at column {ref.col}" if rule.form == "match" else ""
    maybe = "; it may be defined in a rule file that did not parse" if partial else ""
    return _error(
        rule, f"rule {rule.name!r}: unknown entity @{ref.name}{column}{hint}{maybe}", ref.line
    )


# ---------------------------------------------------------------- rules that never match

Scope = tuple[str, ...]


def _dead(rule: Rule, entities: Mapping[str, Entity]) -> Iterator[Finding]:
    """A rule that can never match, or one that matches every item."""
    if _true_when_empty(rule.expr):
        yield _warning(
            rule,
            f"rule {rule.name!r} needs no term, only NOT clauses: "
            "it fires on every item without them",
        )
        return
    required: list[tuple[Node, Scope]] = []
    nots: list[tuple[Not, Scope]] = []
    _split(rule.expr, DEFAULT_FIELDS, required, nots)
    none_entries = {id(part) for key, part in rule.list_parts() if key == "none"}
    for node, scope in nots:
        excluder = _Excluder(node.child, scope, entities)
        for part, part_scope in required:
            if excluder.excludes(part, part_scope):
                clause = _clause(node, scope, id(node) in none_entries)
                shown = _scoped(part, part_scope)
                yield _error(
                    rule,
                    f"rule {rule.name!r} can never match: {clause} excludes every item "
                    f"that has {shown}",
                )
                return


def _true_when_empty(node: Node) -> bool:
    """Whether ``node`` holds for an item without any text."""
    if isinstance(node, Field):
        return _true_when_empty(node.child)
    if isinstance(node, And):
        return all(_true_when_empty(c) for c in node.children)
    if isinstance(node, Or):
        return any(_true_when_empty(c) for c in node.children)
    if isinstance(node, Not):
        return not _true_when_empty(node.child)
    return False  # a term, entity or NEAR needs text


def _split(
    node: Node, scope: Scope, required: list[tuple[Node, Scope]], nots: list[tuple[Not, Scope]]
) -> None:
    """The parts of the AND at the root (through nested ANDs and field scopes):
    what the rule requires, and its NOTs."""
    if isinstance(node, And):
        for child in node.children:
            _split(child, scope, required, nots)
    elif isinstance(node, Field):
        _split(node.child, (node.field,), required, nots)
    elif isinstance(node, Not):
        nots.append((node, scope))
    else:
        required.append((node, scope))


def _clause(node: Not, scope: Scope, none_entry: bool) -> str:
    if none_entry:
        return f"none: {render(node.child, written=True)}"
    return render(Not(_scoped_node(node.child, scope)), written=True)


def _scoped(node: Node, scope: Scope) -> str:
    return render(_scoped_node(node, scope), written=True)


def _scoped_node(node: Node, scope: Scope) -> Node:
    if scope == DEFAULT_FIELDS or isinstance(node, Field):
        return node
    return Field(scope[0], node)


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Field):
        return _has_not(node.child)
    if isinstance(node, And | Or):
        return any(_has_not(c) for c in node.children)
    return False  # terms, entities and NEAR operands hold no NOT


class _Excluder:
    """The inside of one NOT, asked whether it always excludes a required part.

    Only a NOT whose inside has no NOT of its own is tried: such an inside can
    only gain matches as text is added, so matching a term's own words (in one
    field) means matching every item where the term occurs in that field.
    """

    def __init__(self, inside: Node, scope: Scope, entities: Mapping[str, Entity]) -> None:
        self.entities = entities
        self.rules: RuleSet | None = None
        if _has_not(inside):
            return
        scoped = _scoped_node(inside, scope)
        probe = Rule("probe", render(scoped), (), "", 0, scoped)
        try:
            self.rules = RuleSet([probe], entities)
        except RuleError:  # an unknown entity, reported on its own
            self.rules = None

    def excludes(self, node: Node, scope: Scope) -> bool:
        """Whether every item where ``node`` holds (in ``scope``) has the inside."""
        if self.rules is None:
            return False
        if isinstance(node, Term):
            return all(self.rules.match({field: text}) for field in scope for text in _probes(node))
        if isinstance(node, EntityRef):
            entity = self.entities.get(node.name)
            return entity is not None and all(self.excludes(t, scope) for t in entity.terms)
        if isinstance(node, Field):
            return self.excludes(node.child, (node.field,))
        if isinstance(node, Or):  # every alternative is excluded
            return all(self.excludes(c, scope) for c in node.children)
        if isinstance(node, And):  # one part always brings the exclusion along
            return any(self.excludes(c, scope) for c in node.children)
        if isinstance(node, Near):
            return self.excludes(node.left, scope) or self.excludes(node.right, scope)
        return False  # a NOT requires nothing


def _probes(term: Term) -> list[str]:
    """The term's own words, and, for a prefix or ``*``-term, the words run on
    where it lets them: what it matches, for the inside of a NOT to be tried on."""
    words = list(term.words)
    probes = [join_words(words)]
    if term.prefix or term.suffix:
        if term.suffix:
            words[0] = _RUN_ON + words[0]
        if term.prefix:
            words[-1] = words[-1] + _RUN_ON
        probes.append(" ".join(words))
    return probes


# ---------------------------------------------------------------- tiny stems


def _tiny(term: Term) -> bool:
    if not (term.prefix or term.suffix) or len(term.words) != 1:
        return False
    stem = term.words[0]
    # in scripts without spaces every character is a word: a prefix adds nothing
    return len(stem) <= _TINY_STEM and not is_unspaced(stem[0])


def _terms(node: Node) -> Iterator[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Field | Not):
        yield from _terms(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _terms(child)
    elif isinstance(node, Near):
        yield from _terms(node.left)
        yield from _terms(node.right)


def _tiny_stems_of_rule(rule: Rule) -> Iterator[Finding]:
    for term in dict.fromkeys(t for t in _terms(rule.expr) if _tiny(t)):
        yield _warning(
            rule, f"rule {rule.name!r}: {term.written} matches almost any word ({_stem(term)})"
        )


def _tiny_stems_of_entity(entity: Entity) -> Iterator[Finding]:
    for alias, term in zip(entity.aliases, entity.terms, strict=True):
        if _tiny(term):
            yield _warning(
                entity,
                f"entity {entity.name!r}: alias {alias} matches almost any word ({_stem(term)})",
            )


def _stem(term: Term) -> str:
    n = len(term.words[0])
    return f"a stem of {n} letter{'s' if n > 1 else ''}"
