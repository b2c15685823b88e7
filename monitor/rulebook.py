"""The rule files on disk: load them, and reload them when they change.

A reload that fails (bad YAML, bad query, duplicate name) is logged with its
file and line, and the last good rules keep running. The custom templates
(channels' and rules') are watched with them: see ``TemplateBook``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import cast

from watchfiles import awatch

from monitor.core.rules import RuleFile, RuleSet, load_ruleset, parse_rule_file
from monitor.errors import ConfigError, RuleError
from monitor.notify.templatebook import TemplateBook
from monitor.notify.templates import validate_template

log = logging.getLogger("newsmon.rules")

RULE_SUFFIXES = (".yaml", ".yml")


def _rule_paths(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleError("rules directory not found", str(directory))
    return [
        path
        for path in sorted(directory.iterdir())
        if path.suffix in RULE_SUFFIXES and path.is_file() and not path.name.startswith(".")
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rule file: {exc}", str(path)) from exc


def read_rules(directory: Path) -> RuleSet:
    """Every ``*.yaml`` rule file of ``directory``; raises RuleError naming file and line."""
    rules = load_ruleset({str(path): _read(path) for path in _rule_paths(directory)})
    for rule in rules.rules:
        if rule.template:
            _check_template(rule.template, rule.path, rule.line)
    return rules


def parse_rule_files(directory: Path) -> tuple[list[RuleFile], list[RuleError]]:
    """Every rule file of ``directory`` parsed on its own, for ``newsmon check``
    to report all that is wrong at once: the files that parse, and the errors
    (one per file that does not, one per rule whose template is broken).
    Entities are not resolved across files: that is for the lints."""
    try:
        paths = _rule_paths(directory)
    except RuleError as exc:
        return [], [exc]
    files: list[RuleFile] = []
    errors: list[RuleError] = []
    for path in paths:
        try:
            parsed = parse_rule_file(_read(path), str(path))
        except RuleError as exc:
            errors.append(exc)
            continue
        files.append(parsed)
        for rule in parsed.rules:
            if rule.template:
                try:
                    _check_template(rule.template, rule.path, rule.line)
                except RuleError as exc:
                    errors.append(exc)
    return files, errors


def _check_template(template: str, path: str, line: int) -> None:
    """A rule's template must exist and render; its errors name the rule's line,
    or the template's own file and line."""
    try:
        text = Path(template).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"template {template}: {exc.strerror}", path, line) from exc
    try:
        validate_template(text, template)
    except ConfigError as exc:
        raise RuleError(exc.message, exc.path, exc.line) from exc


class Rulebook:
    """Holds the current rule set; ``watch()`` swaps in new ones as files change,
    and keeps ``templates`` (the rules' own, and any others added to it) up to date."""

    def __init__(self, directory: Path, templates: TemplateBook | None = None) -> None:
        self.directory = directory
        self.templates = templates if templates is not None else TemplateBook()
        self.current = read_rules(directory)
        self.last_error: RuleError | None = None
        self._track_templates(self.current)

    def reload(self) -> bool:
        try:
            rules = read_rules(self.directory)
        except RuleError as exc:
            self.last_error = exc
            log.error("rules not reloaded, keeping the last good ones: %s", exc)
            return False
        self.current = rules
        self.last_error = None
        self._track_templates(rules)
        log.info("rules reloaded: %d rules from %s", len(rules.rules), self.directory)
        return True

    def _track_templates(self, rules: RuleSet) -> None:
        known = set(self.templates.paths())
        for path in {rule.template for rule in rules.rules if rule.template} - known:
            try:
                self.templates.add(path)
            except ConfigError as exc:  # changed since read_rules checked it
                log.error("template not usable, using the default: %s", exc)

    def _roots(self) -> list[Path]:
        """The directories to watch: the rules' and every template's."""
        dirs = [self.directory, *(Path(p).parent for p in self.templates.paths())]
        return sorted({d.resolve() for d in dirs if d.is_dir()})

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload rules and templates on every change until ``stop`` is set.

        When a template in a new directory is added (a rule names one), the
        watch starts over on the new set of directories."""
        rules_dir = self.directory.resolve()
        while not stop.is_set():
            until = _Until(stop, self.templates)
            self.templates.refresh()  # what changed while no watch was running
            # awatch only calls is_set() and set(), which _Until has.
            event = cast(asyncio.Event, until)
            roots = self._roots()
            # the watch is in place once this is logged: no await comes before it is
            log.debug("watching %s", ", ".join(map(str, roots)))
            async for changes in awatch(
                *roots, stop_event=event, debounce=300, step=100, recursive=False
            ):
                self.templates.refresh()
                paths = [Path(path) for _, path in changes]
                # rule files only: a template's directory may hold other YAML (the config)
                if any(
                    p.parent.resolve() == rules_dir and p.suffix in RULE_SUFFIXES for p in paths
                ):
                    self.reload()


class _Until:
    """awatch's stop event: set by ``stop``, or when a template is added to the
    book (its directory may not be watched yet). awatch calls ``is_set`` from
    its thread: it reads only a flag and a counter."""

    def __init__(self, stop: asyncio.Event, templates: TemplateBook) -> None:
        self._stop = stop
        self._templates = templates
        self._generation = templates.generation
        self._set = False

    def is_set(self) -> bool:
        return self._set or self._stop.is_set() or self._templates.generation != self._generation

    def set(self) -> None:
        self._set = True
