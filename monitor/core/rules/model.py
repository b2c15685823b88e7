"""What a rule file holds once parsed: rules and entities, each with its place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from monitor.core.policy import DigestSchedule
from monitor.core.rules.query import And, Node, Term

RuleForm = Literal["match", "lists"]
ListKey = Literal["any", "all", "none"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One named rule.

    ``query`` is the source text of ``match:``, or for ``any:``/``all:``/``none:``
    an equivalent query (which ``newsmon test-rule --query`` accepts as is).
    ``notify`` holds Apprise tags; empty means every channel. ``form`` says which
    of the two the rule file used; for ``lists``, ``lists`` names the list each
    part of ``expr`` came from (see :meth:`list_parts`), so explanations and
    lints can speak of ``none: potato`` rather than ``NOT potato``.
    """

    name: str
    query: str
    notify: tuple[str, ...]
    path: str
    line: int
    expr: Node = field(repr=False)
    digest: DigestSchedule | None = None  # gather this rule's matches into periodic digests
    template: str | None = None  # a Jinja2 file for its alerts, relative to the rule file
    topic: str = ""  # what it is about, for `newsmon eval`; empty means its name
    lists: tuple[ListKey, ...] = ()  # lists rules: the key of each part, in order

    @property
    def form(self) -> RuleForm:
        """Which way the rule file wrote it: a lists rule has at least one list."""
        return "lists" if self.lists else "match"

    @property
    def topic_name(self) -> str:
        """The topic ``newsmon eval`` scores it under: ``topic:``, else its name."""
        return self.topic or self.name

    def list_parts(self) -> list[tuple[ListKey, Node]]:
        """A lists rule's parts with their key: the ``any:`` group, each ``all:``
        entry and each ``none:`` entry (a ``Not``); empty for a match: rule."""
        if self.form != "lists":
            return []
        if len(self.lists) == 1:
            return [(self.lists[0], self.expr)]
        assert isinstance(self.expr, And)
        return list(zip(self.lists, self.expr.children, strict=True))


@dataclass(frozen=True, slots=True)
class Entity:
    """A named list of aliases, usable in queries as ``@name``."""

    name: str
    aliases: tuple[str, ...]  # as written in the rule file
    terms: tuple[Term, ...]  # the aliases parsed
    path: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class RuleFile:
    """One parsed rule file; entity references are resolved across files later."""

    path: str
    entities: tuple[Entity, ...] = ()
    rules: tuple[Rule, ...] = ()
