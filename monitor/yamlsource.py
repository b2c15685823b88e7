"""YAML with line numbers: load a document and find the line of any value in it.

Used to turn a validation error at ``("feeds", 2, "interval")`` into
``config/monitor.yaml:14: ...``. Also the checks a YAML loader skips: a key
given twice (PyYAML keeps the last silently) and ``${VAR}`` references to
environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlSource:
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the node at ``loc``, or of its nearest existing parent.

        A value in a mapping is placed on the line of its key: a section such as
        ``fetch:`` starts there, not on the line of its first entry."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                pair = next((p for p in node.value if _same_key(p[0], key)), None)
                if pair is not None:
                    found, line = pair[1], pair[0].start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key >= 0:
                found = node.value[key] if key < len(node.value) else None
                line = found.start_mark.line + 1 if found is not None else line
            if found is None:
                break
            node = found
        return line

    def duplicate_keys(self) -> list[tuple[Loc, int, int]]:
        """Every key given twice in one mapping: (where, its line, the first one's line)."""
        found: list[tuple[Loc, int, int]] = []
        for loc, node in _mappings(self.root):
            first: dict[str, int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    found.append(((*loc, key.value), line, first[key.value]))
                else:
                    first[key.value] = line
        return found


def _same_key(node: yaml.Node, key: str | int) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == str(key)


def _mappings(root: yaml.Node | None) -> Iterator[tuple[Loc, yaml.MappingNode]]:
    """Every mapping node with where it is; each node once (aliases share nodes)."""
    seen: set[int] = set()
    stack: list[tuple[Loc, yaml.Node]] = [((), root)] if root is not None else []
    while stack:
        loc, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            yield loc, node
            keyed = [(k.value, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
            stack.extend(((*loc, key), value) for key, value in keyed)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(((*loc, i), v) for i, v in enumerate(node.value))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, whose every error is a YAMLError with a mark."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # `2024-13-01`, `!!int abc`
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r}: {exc}", node.start_mark
            ) from exc


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """libyaml's parser, when PyYAML has it: ten times faster on a config of
    10,000 feeds. Its errors say less, so a file it refuses is read again by
    ``_Loader`` for the error to show."""


def _parse(text: str, step: Callable[[_Loader], Any]) -> Any:
    fast = _FastLoader(text)
    try:
        return step(fast)
    except (yaml.YAMLError, ValueError):
        pass  # read again below, for the clearer message
    finally:
        fast.dispose()
    loader = _Loader(text)
    try:
        return step(loader)
    except ValueError as exc:  # the scanner's own slip: a "\U" escape past U+10FFFF
        raise yaml.scanner.ScannerError(
            None, None, f"cannot read this: {exc}", loader.get_mark()
        ) from exc
    finally:
        loader.dispose()


def load_yaml(text: str) -> YamlSource:
    """Parse ``text``; raises ``yaml.YAMLError`` (with ``problem_mark``) when malformed."""
    # the node tree is kept apart: constructing merges ``<<`` keys into it
    root = _parse(text, lambda loader: loader.get_single_node())
    data = _parse(text, lambda loader: loader.get_single_data()) if root is not None else None
    return YamlSource(data=data, root=root)


def yaml_error_line(error: yaml.YAMLError, text: str | None = None) -> int | None:
    """1-based line of a parse error; a character the reader refuses needs ``text``."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    if isinstance(error, yaml.reader.ReaderError) and text is not None:
        return text.count("\n", 0, error.position) + 1
    return None


def yaml_problem(error: yaml.YAMLError) -> str:
    """A parse error in one line, without PyYAML's excerpt of the document."""
    if isinstance(error, yaml.reader.ReaderError):
        return f"character #x{error.character:04x} is not allowed: {error.reason}"
    problem = getattr(error, "problem", None) or "malformed YAML"
    context = getattr(error, "context", None)
    mark = getattr(error, "problem_mark", None)
    column = f" at column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{column}" + (f" ({context})" if context else "")


# ${NAME}, or $${ for a literal ${
_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


def expand_env(
    data: Any, environ: Mapping[str, str], *, keys: bool = False
) -> tuple[Any, list[tuple[Loc, str]]]:
    """``data`` with every ``${VAR}`` in its string values replaced from ``environ``.

    Keys are left alone, unless ``keys`` (the Apprise config, whose URLs may be
    keys). Returns the new data and the problems found, each as (where,
    message): a variable that is not set, or a ``${`` that names none.
    ``$${`` stands for a literal ``${``.
    """
    problems: list[tuple[Loc, str]] = []
    done: dict[int, Any] = {}  # shared by aliases: expand each container once

    def replace(text: str, loc: Loc) -> str:
        expanded, found = _expand(text, environ)
        problems.extend((loc, message) for message in found)
        return expanded

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            return replace(value, loc) if "${" in value else value
        if not isinstance(value, dict | list):
            return value
        if id(value) in done:
            return done[id(value)]
        if isinstance(value, dict):
            new_dict: dict[Any, Any] = {}
            done[id(value)] = new_dict  # a document that contains itself stays finite
            for key, item in value.items():
                name = walk(key, (*loc, key)) if keys and isinstance(key, str) else key
                new_dict[name] = walk(item, (*loc, key))
            return new_dict
        new_list: list[Any] = []
        done[id(value)] = new_list
        new_list.extend(walk(item, (*loc, index)) for index, item in enumerate(value))
        return new_list

    return walk(data, ()), problems


def _expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with its ``${VAR}`` replaced, and what was wrong with any."""
    problems: list[str] = []

    def one(match: re.Match[str]) -> str:
        written, name = match[0], match[1]
        if written == "$${":
            return "${"
        if name is None:
            problems.append("'${' must start a ${NAME} reference (write $${ for '${')")
            return written
        if name not in environ:
            problems.append(f"environment variable {name} is not set")
            return written
        return environ[name]

    return _REFERENCE.sub(one, text), problems


def expand_env_text(text: str, environ: Mapping[str, str]) -> tuple[str, list[tuple[int, str]]]:
    """``text`` with every ``${VAR}`` replaced, line by line, and the problems
    found, each as (1-based line, message): for files that are not YAML."""
    lines: list[str] = []
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        expanded, found = _expand(line, environ) if "${" in line else (line, [])
        lines.append(expanded)
        problems.extend((number, message) for message in found)
    return "".join(lines), problems


def env_values(text: str, environ: Mapping[str, str]) -> set[str]:
    """The values of the variables ``text`` names as ``${VAR}`` (those set)."""
    return {
        environ[match[1]]
        for match in _REFERENCE.finditer(text)
        if match[1] is not None and match[1] in environ
    }
