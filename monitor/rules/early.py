"""Matching early: the rules run where a feed is parsed, in the parser processes.

Matching an item is most of the work the service's own process does for it
that another core could do, so on the embedded default each parser process
matches the items it parses, with the rules built from the same rule files,
and the match stage takes what fired instead of matching again
(``EarlyMatches``). It matches again itself whenever the two may differ:

- The parser builds its rules from the files on disk, and uses them only
  while their texts are the ones the service's current rules were built
  from (``RulesOnDisk``: the same digest). A rule file changed and not yet
  reloaded, or broken, makes no early matches until the service has reloaded.
- The rules are built on a thread of the parser process, so a feed parsed
  meanwhile is not held up by thousands of rules compiling; its items are
  matched by the match stage.
- The match stage takes an early match only for the very item it was made
  for, under the rules it matches the batch with: an item changed on the way
  (a pushed item given its feed's name) or a rule set reloaded in between
  is matched again.

On Kafka an item is matched by whichever worker's match agent gets it, from
its JSON, so parsers match nothing there.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from monitor.core.alerts import Fired
from monitor.core.items import Item
from monitor.core.rules import RuleSet, load_ruleset
from monitor.rules.files import RulesOnDisk, read_rule_texts, texts_digest

# items held for the match stage at most: a safety bound (each is matched a
# moment after its feed is parsed, and taken then)
HELD = 20_000


@dataclass(frozen=True, slots=True)
class Matches:
    """What fired for a feed's items, by fingerprint (an item missing fired
    nothing), under the rules of ``digest``."""

    digest: str
    fired: dict[str, tuple[Fired, ...]]


# -- in a parser process -----------------------------------------------------------


class _Built(NamedTuple):
    digest: str
    rules: RuleSet


_built: _Built | None = None
_building: set[str] = set()  # digests being built, or found not to be on disk
_lock = threading.Lock()


def match_early(items: Sequence[Item], rules: RulesOnDisk) -> Matches | None:
    """Match ``items`` with ``rules`` when this process has them built; else
    start building them and return None (the match stage matches these)."""
    built = _built
    if built is None or built.digest != rules.digest:
        prepare(rules)
        return None
    fired: dict[str, tuple[Fired, ...]] = {}
    for item in items:
        if found := fired_for(built.rules, item):
            fired[item.fingerprint] = tuple(found)
    return Matches(rules.digest, fired)


def fired_for(rules: RuleSet, item: Item) -> list[Fired]:
    """What fires for ``item``: its matches, in rule order, as alerts tell of them."""
    fields = item.fields()
    return [m.fired(fields) for m in rules.match(fields)]


def prepare(rules: RulesOnDisk) -> threading.Thread | None:
    """Build ``rules`` on a thread of this process, unless under way or done
    (the thread, when one started)."""
    with _lock:
        if rules.digest in _building or (_built is not None and _built.digest == rules.digest):
            return None
        _building.add(rules.digest)
    thread = threading.Thread(target=_build, args=(rules,), name="newsmon-rules", daemon=True)
    thread.start()
    return thread


def _build(rules: RulesOnDisk) -> None:
    global _built
    try:
        texts = read_rule_texts(Path(rules.directory))
        if texts_digest(texts) != rules.digest:
            return  # changed since the service read them: wait for its reload (a new digest)
        _built = _Built(rules.digest, load_ruleset(texts))
    except Exception:  # the service read them: a failure here only costs speed
        return
    with _lock:
        _building.discard(rules.digest)


# -- in the service's process ---------------------------------------------------------


class EarlyMatches:
    """The early matches of the items on their way from the fetch stage to
    the match stage."""

    def __init__(self, held: int = HELD) -> None:
        self._held = held
        self._items: dict[str, tuple[Item, str, tuple[Fired, ...]]] = {}

    def add(self, items: Sequence[Item], matches: Matches | None) -> None:
        """Hold the early matches of ``items`` (those of a feed's that are new)."""
        if matches is None:
            return
        held, fired = self._items, matches.fired
        for item in items:
            held[item.fingerprint] = (item, matches.digest, fired.get(item.fingerprint, ()))
        while len(held) > self._held:  # the oldest first: dicts keep their order
            del held[next(iter(held))]

    def take(self, item: Item, digest: str) -> list[Fired] | None:
        """What fired for ``item`` under the rules of ``digest``, or None when it
        was not matched early, not as it is now, or under other rules."""
        entry = self._items.pop(item.fingerprint, None)
        if entry is None or entry[0] is not item or entry[1] != digest:
            return None
        return list(entry[2])

    def __len__(self) -> int:
        return len(self._items)
