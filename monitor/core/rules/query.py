"""The query language: lexer, parser and the syntax tree it builds.

Grammar, loosest binding first::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*        juxtaposition means AND
    unary   := "NOT" unary | "-" unary | near
    near    := primary ["NEAR" ["/" n] primary]
    primary := "(" or ")" | FIELD ":" primary | term | "@" entity
    term    := word | word* | *word | *word* | "quoted phrase" | "quoted phras*"

- Operators are the uppercase words ``AND``, ``OR``, ``NOT``, ``NEAR``;
  lowercase "and"/"or"/"not"/"near" are ordinary words.
- ``-x`` is ``NOT x`` (the ``-`` must touch what it negates).
- A bare word containing punctuation is a phrase of its words: ``Ching-te`` is
  the phrase "ching te" (see :mod:`monitor.core.text`).
- A trailing ``*`` marks a prefix; in a phrase it applies to the last word
  ("taiwan strai*"). A leading ``*`` lets the (first) word end a longer word,
  for languages that build compounds: ``*zölle`` matches "Strafzölle" and
  "Zölle", not "Zöllner"; ``*zoll*`` matches inside any word. ``*`` is allowed
  nowhere else.
- ``NEAR`` (= ``NEAR/10``) and ``NEAR/n`` bind tighter than ``NOT``:
  ``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``. Each side is a word, phrase,
  prefix, @entity or an OR-group of those; chains (``a NEAR b NEAR c``) are
  rejected. ``a NEAR/n b`` holds when an ``a`` and a ``b`` occur in the same
  field, in either order, without overlapping, with at most ``n`` other
  words between them.
- ``title:``, ``summary:``, ``content:``, ``feed:`` scope the term or group
  that follows; an inner scope replaces an outer one. Unscoped terms look at
  title, summary and content (not feed).

Syntax errors raise :class:`monitor.errors.RuleError` naming the 1-based
column and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from monitor.core.text import join_words
from monitor.core.text import words as text_words
from monitor.errors import RuleError

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_NEAR",
    "FIELDS",
    "And",
    "EntityRef",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "Term",
    "entity_refs",
    "parse_query",
    "parse_term",
    "render",
]

FIELDS: tuple[str, ...] = ("title", "summary", "content", "feed")
DEFAULT_FIELDS: tuple[str, ...] = ("title", "summary", "content")
DEFAULT_NEAR = 10

ENTITY_NAME = re.compile(r"[^\W][\w.\-]*")


@dataclass(frozen=True, slots=True)
class Term:
    """A word (one element) or a phrase. ``prefix``: the last word may go on
    (``tariff*``); ``suffix``: the first word may start inside a longer word
    (``*zölle``)."""

    words: tuple[str, ...]
    prefix: bool = False
    col: int = field(default=0, compare=False)
    suffix: bool = False
    # as the rule wrote it ("Ching-te", '"climate talks"'), for explanations and lints
    source: str = field(default="", compare=False)

    def __str__(self) -> str:
        """The term as a person would write it (no quotes)."""
        lead = "*" if self.suffix else ""
        return lead + join_words(self.words) + ("*" if self.prefix else "")

    @property
    def written(self) -> str:
        """The term as the rule wrote it, as query text (phrases quoted)."""
        text = self.source.strip()
        if not text:
            return render(self)
        if text.startswith('"') or not (_NEEDS_QUOTES.search(text) or text in _OPERATORS):
            return text
        return f'"{text}"'


@dataclass(frozen=True, slots=True)
class EntityRef:
    """``@Name``: any alias of an entity. ``line`` is filled in for rule files."""

    name: str
    col: int = field(default=0, compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Field:
    field: str
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    col: int = field(default=0, compare=False)


Node: TypeAlias = Term | EntityRef | Field | And | Or | Not | Near


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ( ) AND OR NOT NEAR - FIELD TERM ENTITY EOF
    col: int
    value: object = None


_OPERATORS = {"AND", "OR", "NOT"}
_NEEDS_QUOTES = re.compile(r"[\s()\":@]|\ANEAR\b|\A-")
_NEAR = re.compile(r"NEAR(?:/(.*))?\Z", re.DOTALL)
_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_BARE_STOP = re.compile(r"[\s()\"]")
_PRIMARY_START = {"(", "FIELD", "TERM", "ENTITY"}
_UNARY_START = _PRIMARY_START | {"NOT", "-"}


def make_term(text: str, col: int, what: str = "term", source: str | None = None) -> Term:
    """A term from its source text (no quotes): words, with a trailing ``*`` for
    a prefix and a leading ``*`` for a word's end. ``source`` is the text as
    written, quotes included (default: ``text``)."""
    suffix = text.startswith("*")
    body = text[1:] if suffix else text
    prefix = body.endswith("*")
    body = body[:-1] if prefix else body
    star = body.find("*")
    if star >= 0:
        raise RuleError(
            f"'*' at column {col + star + suffix} is only allowed at the start or end of a {what}"
        )
    found = tuple(text_words(body))
    if not found:
        if (prefix or suffix) and not body.strip():
            raise RuleError(f"'*' at column {col} needs a word beside it")
        raise RuleError(f"{what} {text!r} at column {col} has no letters or digits")
    return Term(found, prefix, col, suffix, text if source is None else source)


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch, col))
            i += 1
        elif ch == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise RuleError(f"unterminated quote starting at column {col}")
            body = text[i + 1 : close]
            i = close + 1
            if i < n and text[i] == "*":  # "foo bar"* is "foo bar*"
                body += "*"
                i += 1
            if not body.strip():
                raise RuleError(f"empty phrase at column {col}")
            term = make_term(body, col + 1, "phrase", source=text[col - 1 : i])
            toks.append(_Tok("TERM", col, term))
        elif ch == "-":
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] in ")-":
                raise RuleError(
                    f"'-' at column {col} must be followed directly by a word, "
                    "phrase or group to exclude"
                )
            toks.append(_Tok("-", col))
            i += 1
        elif ch == "@":
            m = ENTITY_NAME.match(text, i + 1)
            if not m:
                raise RuleError(f"expected an entity name after '@' at column {col}")
            toks.append(_Tok("ENTITY", col, m.group()))
            i = m.end()
        else:
            stop = _BARE_STOP.search(text, i)
            end = stop.start() if stop else n
            lexeme = text[i:end]
            fm = _FIELD_PREFIX.match(lexeme)
            if fm:
                name = fm.group(1).lower()
                if name not in FIELDS:
                    raise RuleError(
                        f"unknown field '{fm.group(1)}:' at column {col} "
                        f"(fields are {', '.join(f + ':' for f in FIELDS)}; "
                        "quote the text to search for it)"
                    )
                toks.append(_Tok("FIELD", col, name))
                i += fm.end()
                continue
            i = end
            if lexeme in _OPERATORS:
                toks.append(_Tok(lexeme, col))
                continue
            nm = _NEAR.match(lexeme)
            if nm:
                arg = nm.group(1)
                if arg is None:
                    distance = DEFAULT_NEAR
                elif arg.isascii() and arg.isdigit():
                    distance = int(arg)
                else:
                    raise RuleError(f"expected a number after 'NEAR/' at column {col + 5}")
                toks.append(_Tok("NEAR", col, distance))
                continue
            toks.append(_Tok("TERM", col, make_term(lexeme, col)))
    toks.append(_Tok("EOF", n + 1))
    return toks


# ---------------------------------------------------------------- parser


def _describe(tok: _Tok) -> str:
    if tok.kind == "EOF":
        return "end of query"
    if tok.kind in ("(", ")", "-"):
        return f"'{tok.kind}' at column {tok.col}"
    if tok.kind == "NEAR":
        return f"NEAR at column {tok.col}"
    return f"{tok.kind} at column {tok.col}"


class _Parser:
    def __init__(self, text: str, line: int | None) -> None:
        self.toks = _lex(text)
        self.pos = 0
        self.line = line

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise RuleError("empty query")
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == ")":
            raise RuleError(f"unbalanced parenthesis at column {tok.col}: ')' has no matching '('")
        if tok.kind != "EOF":  # only NEAR can be left over; and() takes the rest
            raise RuleError(f"unexpected {_describe(tok)}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek().kind == "OR":
            op = self.take()
            items.append(self.parse_and(after=f"OR at column {op.col}"))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self, after: str | None = None) -> Node:
        items = [self.parse_unary(after)]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                op = self.take()
                items.append(self.parse_unary(f"AND at column {op.col}"))
            elif kind in _UNARY_START:
                items.append(self.parse_unary())
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self, after: str | None = None) -> Node:
        tok = self.peek()
        if tok.kind == "NOT":
            self.take()
            return Not(self.parse_unary(f"NOT at column {tok.col}"))
        if tok.kind == "-":
            self.take()
            if self.peek().kind not in _PRIMARY_START:
                raise RuleError(
                    f"'-' at column {tok.col} must be followed directly by a word, "
                    "phrase or group to exclude"
                )
            return Not(self.parse_unary())
        return self.parse_near(after)

    def parse_near(self, after: str | None) -> Node:
        left = self.parse_primary(after)
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        right = self.parse_primary(f"NEAR at column {op.col}")
        assert isinstance(op.value, int)
        for side in (left, right):
            _check_near_operand(side, op.col)
        tok = self.peek()
        if tok.kind == "NEAR":
            raise RuleError(
                f"NEAR at column {tok.col} cannot be chained; "
                "combine pairs with AND: (a NEAR/5 b) AND (b NEAR/5 c)"
            )
        return Near(left, right, op.value, op.col)

    def parse_primary(self, after: str | None) -> Node:
        tok = self.take()
        if tok.kind == "TERM":
            assert isinstance(tok.value, Term)
            return tok.value
        if tok.kind == "ENTITY":
            assert isinstance(tok.value, str)
            return EntityRef(tok.value, tok.col, self.line)
        if tok.kind == "FIELD":
            assert isinstance(tok.value, str)
            child = self.parse_primary(f"{tok.value}: at column {tok.col}")
            return Field(tok.value, child)
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise RuleError(f"empty parentheses at column {tok.col}")
            if self.peek().kind != "EOF":
                inner = self.parse_or()
                close = self.take()
                if close.kind == ")":
                    return inner
                if close.kind != "EOF":
                    raise RuleError(f"expected ')' or an operator, got {_describe(close)}")
            raise RuleError(f"unbalanced parenthesis at column {tok.col}: '(' is never closed")
        if tok.kind == ")":
            if after:
                raise RuleError(f"expected a term after {after}, got ')' at column {tok.col}")
            raise RuleError(f"unbalanced parenthesis at column {tok.col}: ')' has no matching '('")
        if after:
            raise RuleError(f"expected a term after {after}, got {_describe(tok)}")
        raise RuleError(f"expected a term before {_describe(tok)}")


def _check_near_operand(node: Node, col: int) -> None:
    if isinstance(node, Term | EntityRef):
        return
    if isinstance(node, Or):
        for child in node.children:
            _check_near_operand(child, col)
        return
    hint = (
        " (put a field scope around the whole: title:(a NEAR/5 b))"
        if isinstance(node, Field)
        else ""
    )
    raise RuleError(
        f"NEAR at column {col} needs a word, phrase, prefix, @entity or an OR-group "
        f"of those on each side{hint}"
    )


def parse_query(text: str, *, line: int | None = None) -> Node:
    """Parse a query; ``line`` is recorded on @entity references for error reports."""
    return _Parser(text, line).parse()


def parse_term(text: str, *, line: int | None = None) -> Node:
    """One literal term, as in ``any:``/``all:``/``none:`` lists and entity aliases.

    The text is a word, a phrase (any text with several words), a prefix (ending
    in ``*``) or ``@Entity``; no operators. Surrounding double quotes are optional.
    """
    body = text.strip()
    if body.startswith("@"):
        m = ENTITY_NAME.fullmatch(body, 1)
        if not m:
            raise RuleError(f"invalid entity reference {body!r}")
        return EntityRef(m.group(), 1, line)
    if len(body) >= 2 and body.startswith('"') and body.endswith('"'):
        body = body[1:-1]
    if not body:
        raise RuleError("empty term")
    if '"' in body:
        raise RuleError(f"unexpected '\"' in term {text!r}")
    return make_term(body, 1, source=text.strip())


# ---------------------------------------------------------------- rendering


def render(node: Node, *, written: bool = False) -> str:
    """Query text that parses back to ``node``; with ``written``, terms are shown
    as the rule wrote them (for people: it still parses, to an equal query)."""
    if isinstance(node, Term):
        if written:
            return node.written
        return f'"{node}"' if len(node.words) > 1 else str(node)
    if isinstance(node, EntityRef):
        return f"@{node.name}"
    if isinstance(node, Field):
        return f"{node.field}:{_operand(node.child, written)}"
    if isinstance(node, And):
        return " AND ".join(_operand(c, written) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(_operand(c, written) for c in node.children)
    if isinstance(node, Not):
        return f"NOT {_operand(node.child, written)}"
    left, right = _operand(node.left, written), _operand(node.right, written)
    return f"{left} NEAR/{node.distance} {right}"


def _operand(node: Node, written: bool = False) -> str:
    text = render(node, written=written)
    return text if isinstance(node, Term | EntityRef | Field) else f"({text})"


def entity_refs(node: Node) -> list[EntityRef]:
    """Every @entity reference in ``node``, in source order."""
    if isinstance(node, EntityRef):
        return [node]
    if isinstance(node, Term):
        return []
    if isinstance(node, Field | Not):
        return entity_refs(node.child)
    if isinstance(node, And | Or):
        return [ref for child in node.children for ref in entity_refs(child)]
    return entity_refs(node.left) + entity_refs(node.right)
