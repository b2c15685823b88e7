"""Rule files: YAML in, :class:`RuleFile` out, every error with its file and line.

A rule file is a mapping with two optional keys::

    entities:                  # name -> aliases (words, phrases, prefixes*)
      Taiwan: [Taiwan, Taipei, "Taiwan Strait", "Lai Ching-te"]
    rules:
      - name: taiwan-pressure  # unique across all files
        match: '@Taiwan AND (threat* OR military OR sovereignty)'
        notify: [chat]         # Apprise tags; omitted = every channel
        topic: taiwan          # optional: what `newsmon eval` scores it as (default: its name)
      - name: tariffs
        any: [tariff*, duties, "export controls"]   # at least one of these
        all: [China]                                # every one of these
        none: ["Thai food"]                         # none of these

A rule has ``match:`` or at least one of ``any:``/``all:``/``none:``. Entries
of those lists are single terms taken literally: a word, a phrase (any entry
with several words: ``"Thai food"`` is the phrase, not two words), a prefix
ending in ``*`` or ``@Entity``. Entities are shared by all files of a rule set
and resolved by :func:`compile_ruleset`, which also checks names across files.

Lines are found by composing the YAML into nodes (which keep their position)
rather than loading it into plain values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.core.policy import parse_digest
from monitor.core.rules.matcher import RuleSet, compile_ruleset
from monitor.core.rules.model import Entity, ListKey, Rule, RuleFile
from monitor.core.rules.query import (
    ENTITY_NAME,
    And,
    Not,
    Or,
    Term,
    parse_query,
    parse_term,
)
from monitor.core.rules.query import Node as Expr
from monitor.errors import RuleError

__all__ = ["load_ruleset", "parse_rule_file"]

_FILE_KEYS = ("entities", "rules")
_RULE_KEYS = ("name", "topic", "match", "any", "all", "none", "notify", "digest", "template")
_LIST_KEYS: tuple[ListKey, ...] = ("any", "all", "none")
_NULL_TAG = "tag:yaml.org,2002:null"
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_WORD = re.compile(r"[^\W_]+\*?")
_BAD_TAG = re.compile(r"[\s,]")
_OPERATOR = re.compile(r"(AND|OR|NOT|NEAR)\Z")


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


class _Reader:
    """Reads one composed file, raising RuleError(message, path, line)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, message: str, node: Node) -> RuleError:
        return RuleError(message, self.path, _line(node))

    def text(self, node: Node, what: str) -> str:
        if isinstance(node, ScalarNode) and not _is_null(node):
            return str(node.value)
        kinds = {ScalarNode: "nothing", SequenceNode: "a list", MappingNode: "a mapping"}
        kind = kinds.get(type(node), "something else")
        raise self.error(f"{what} must be text, not {kind}", node)

    def items(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        """A mapping's values by key; unknown and repeated keys are errors."""
        if not isinstance(node, MappingNode):
            raise self.error(f"{what} must be a mapping", node)
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = self.text(key_node, "a key")
            if allowed and key not in allowed:
                raise self.error(
                    f"unknown key {key!r} in {what} (expected one of: {', '.join(allowed)})",
                    key_node,
                )
            if key in out:
                raise self.error(f"duplicate key {key!r} in {what}", key_node)
            out[key] = value
        return out

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(f"{what} must be a list", node)
        return list(node.value)

    def file(self, root: Node | None) -> RuleFile:
        if root is None or _is_null(root):
            return RuleFile(self.path)
        if not isinstance(root, MappingNode):
            raise self.error("a rule file must be a mapping with 'entities:' and/or 'rules:'", root)
        top = self.items(root, "the rule file", _FILE_KEYS)
        entities: tuple[Entity, ...] = ()
        rules: tuple[Rule, ...] = ()
        if "entities" in top and not _is_null(top["entities"]):
            entities = self.entities(top["entities"])
        if "rules" in top and not _is_null(top["rules"]):
            rules = self.rules(top["rules"])
        return RuleFile(self.path, entities, rules)

    def entities(self, node: Node) -> tuple[Entity, ...]:
        if not isinstance(node, MappingNode):
            raise self.error("entities: must be a mapping of names to lists of aliases", node)
        out = []
        seen: set[str] = set()
        for key_node, value in node.value:
            name = self.text(key_node, "an entity name")
            if not ENTITY_NAME.fullmatch(name):
                raise self.error(
                    f"entity name {name!r} may only hold letters, digits, '_', '-' and '.'",
                    key_node,
                )
            if name in seen:
                raise self.error(f"entity {name!r} is defined twice in this file", key_node)
            seen.add(name)
            alias_nodes = self.sequence(value, f"the aliases of entity {name!r}")
            if not alias_nodes:
                raise self.error(f"entity {name!r} has no aliases", value)
            aliases = []
            terms = []
            for alias_node in alias_nodes:
                alias = self.text(alias_node, f"an alias of entity {name!r}")
                term = self.term(alias, alias_node, f"entity {name!r}")
                if not isinstance(term, Term):
                    raise self.error(
                        f"alias {alias!r} of entity {name!r}: aliases are words or phrases, "
                        "not @entities",
                        alias_node,
                    )
                aliases.append(alias)
                terms.append(term)
            out.append(Entity(name, tuple(aliases), tuple(terms), self.path, _line(key_node)))
        return tuple(out)

    def term(self, text: str, node: Node, context: str) -> Expr:
        try:
            return parse_term(text, line=_line(node))
        except RuleError as exc:
            raise self.error(f"{context}: {exc.message}", node) from None

    def rules(self, node: Node) -> tuple[Rule, ...]:
        out: list[Rule] = []
        seen: dict[str, int] = {}
        for rule_node in self.sequence(node, "rules:"):
            rule = self.rule(rule_node)
            if rule.name in seen:
                raise self.error(
                    f"rule {rule.name!r} is already defined at {self.path}:{seen[rule.name]}",
                    rule_node,
                )
            seen[rule.name] = rule.line
            out.append(rule)
        return tuple(out)

    def rule(self, node: Node) -> Rule:
        fields = self.items(node, "a rule", _RULE_KEYS)
        if "name" not in fields:
            raise self.error("rule has no name:", node)
        name = self.text(fields["name"], "name:").strip()
        if not name:
            raise self.error("name: must not be empty", fields["name"])
        lists = [key for key in _LIST_KEYS if key in fields]
        if "match" in fields:
            if lists:
                raise self.error(
                    f"rule {name!r} has both match: and {lists[0]}:; use one or the other",
                    fields[lists[0]],
                )
            query = self.text(fields["match"], f"match: of rule {name!r}")
            try:
                expr = parse_query(query, line=_line(fields["match"]))
            except RuleError as exc:
                raise self.error(f"rule {name!r}: {exc.message}", fields["match"]) from None
            keys: tuple[ListKey, ...] = ()
        elif lists:
            query, expr, keys = self.term_lists(name, fields)
        else:
            raise self.error(f"rule {name!r} needs match: or any:/all:/none:", node)
        notify: tuple[str, ...] = ()
        if "notify" in fields and not _is_null(fields["notify"]):
            notify = self.notify(name, fields["notify"])
        digest = None
        if "digest" in fields and not _is_null(fields["digest"]):
            try:
                digest = parse_digest(self.text(fields["digest"], f"digest: of rule {name!r}"))
            except ValueError as exc:
                raise self.error(f"digest: of rule {name!r}: {exc}", fields["digest"]) from None
        template = None
        if "template" in fields and not _is_null(fields["template"]):
            written = self.text(fields["template"], f"template: of rule {name!r}").strip()
            template = str(PurePath(self.path).parent / written) if written else None
        topic = ""
        if "topic" in fields and not _is_null(fields["topic"]):
            topic = self.text(fields["topic"], f"topic: of rule {name!r}").strip()
        return Rule(
            name,
            query,
            notify,
            self.path,
            _line(node),
            expr,
            digest,
            template,
            topic,
            lists=keys,
        )

    def term_lists(
        self, name: str, fields: Mapping[str, Node]
    ) -> tuple[str, Expr, tuple[ListKey, ...]]:
        """The query of an any/all/none rule, as text and as a tree, with the
        list each part of the tree came from."""
        texts: list[str] = []
        parts: list[Expr] = []
        keys: list[ListKey] = []
        for key in _LIST_KEYS:
            if key not in fields:
                continue
            entries = self.sequence(fields[key], f"{key}: of rule {name!r}")
            if not entries:
                raise self.error(f"{key}: of rule {name!r} lists no terms", fields[key])
            terms = []
            for entry in entries:
                text = self.text(entry, f"an entry of {key}: in rule {name!r}")
                terms.append((_term_query(text), self.term(text, entry, f"rule {name!r}")))
            if key == "any":
                texts.append(terms[0][0] if len(terms) == 1 else _group(terms))
                parts.append(terms[0][1] if len(terms) == 1 else Or(tuple(t for _, t in terms)))
                keys.append(key)
            elif key == "all":
                texts.extend(q for q, _ in terms)
                parts.extend(t for _, t in terms)
                keys.extend(key for _ in terms)
            else:
                texts.extend(f"NOT {q}" for q, _ in terms)
                parts.extend(Not(t) for _, t in terms)
                keys.extend(key for _ in terms)
        expr = parts[0] if len(parts) == 1 else And(tuple(parts))
        return " AND ".join(texts), expr, tuple(keys)

    def notify(self, name: str, node: Node) -> tuple[str, ...]:
        entries = self.sequence(node, f"notify: of rule {name!r}")
        if not entries:
            raise self.error(
                f"notify: of rule {name!r} is empty; leave it out to notify every channel", node
            )
        tags = []
        for entry in entries:
            tag = self.text(entry, "a notify tag").strip()
            if not tag or _BAD_TAG.search(tag):
                raise self.error(
                    f"notify tag {tag!r} must be one word (no spaces or commas)", entry
                )
            tags.append(tag)
        return tuple(tags)


def _group(terms: list[tuple[str, Expr]]) -> str:
    return "(" + " OR ".join(q for q, _ in terms) + ")"


def _term_query(text: str) -> str:
    """A list entry written as query text that parses to the same term."""
    body = text.strip()
    if body.startswith("@") or (_PLAIN_WORD.fullmatch(body) and not _OPERATOR.match(body)):
        return body
    if len(body) >= 2 and body.startswith('"') and body.endswith('"'):
        body = body[1:-1]
    return f'"{body}"'


def parse_rule_file(text: str, path: str) -> RuleFile:
    """Parse one rule file. Raises RuleError(message, path, line)."""
    try:
        # libyaml's composer where PyYAML has it (faster for big rule sets); a
        # file it refuses is read again by the Python one, for the same message
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        root = None
    try:
        if root is None:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "unreadable"
        raise RuleError(f"invalid YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"invalid YAML: {exc}", path) from None
    return _Reader(path).file(root)


def load_ruleset(texts: Mapping[str, str]) -> RuleSet:
    """A rule set from ``{path: text}``, files taken in sorted path order."""
    return compile_ruleset([parse_rule_file(texts[path], path) for path in sorted(texts)])
