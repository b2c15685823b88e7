"""What a rule file holds once parsed: rules and entities, each with its place."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.core.policy import DigestSchedule
from monitor.core.rules.query import Node, Term


@dataclass(frozen=True, slots=True)
class Rule:
    """One named rule.

    ``query`` is the source text of ``match:``, or for ``any:``/``all:``/``none:``
    an equivalent query (which ``newsmon test-rule --query`` accepts as is).
    ``notify`` holds Apprise tags; empty means every channel.
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

    @property
    def topic_name(self) -> str:
        """The topic ``newsmon eval`` scores it under: ``topic:``, else its name."""
        return self.topic or self.name


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
