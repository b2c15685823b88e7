"""The current rules, reloaded when their files change.

A reload that fails (bad YAML, bad query, duplicate name) is logged with its
file and line, and the last good rules keep running. The custom templates
(channels' and rules') are watched with them: see ``TemplateBook``.

While the service runs, a reload reads and compiles the rules in a worker
thread (thousands of rules take seconds), so the event loop goes on matching
items with the current rules meanwhile; then ``current`` is swapped for the
new set, whole. A ``RuleSet`` never changes once built: a match that has
begun with the old set finishes with it, and the next one uses the new set.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import cast

from watchfiles import awatch

from monitor.core.rules import RuleSet
from monitor.errors import ConfigError, RuleError
from monitor.notify.templatebook import TemplateBook
from monitor.rules.files import RULE_SUFFIXES, RulesOnDisk, read_rules_from

log = logging.getLogger("newsmon.rules")


class Rulebook:
    """Holds the current rule set; ``watch()`` swaps in new ones as files change,
    and keeps ``templates`` (the rules' own, and any others added to it) up to date."""

    def __init__(self, directory: Path, templates: TemplateBook | None = None) -> None:
        self.directory = directory
        self.templates = templates if templates is not None else TemplateBook()
        # the rule files' texts the current rules were built from (they change together)
        self.current, self.on_disk = read_rules_from(directory)
        self.last_error: RuleError | None = None
        self._track_templates(self.current)

    def reload(self) -> bool:
        """Read and compile the rules now, here; swap them in if they are good."""
        return self._swap(self._read())

    async def reload_off_loop(self) -> bool:
        """The same, with the reading and compiling in a worker thread: the event
        loop goes on (matching with the current rules) until the swap."""
        return self._swap(await asyncio.to_thread(self._read))

    def _read(self) -> tuple[RuleSet, RulesOnDisk] | RuleError:
        try:
            return read_rules_from(self.directory)
        except RuleError as exc:
            return exc

    def _swap(self, read: tuple[RuleSet, RulesOnDisk] | RuleError) -> bool:
        if isinstance(read, RuleError):
            self.last_error = read
            log.error("rules not reloaded, keeping the last good ones: %s", read)
            return False
        rules, self.on_disk = read
        self.current = rules  # one assignment: matches read it once a batch
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
                    await self.reload_off_loop()


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
