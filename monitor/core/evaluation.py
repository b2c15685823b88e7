"""Scoring a rule set on labelled stories: what ``newsmon eval`` reports.

    parse_labelled(lines, source) -> [Labelled]    JSON lines, errors name source:line
    evaluate(ruleset, items) -> Report             counts, precision, recall, mistakes
    Report.render() / Report.to_json()             the text report / one JSON object
    Report.failures(min_precision, min_recall)     why the overall figures miss a bar

Overall, an item is predicted relevant when any rule fires on it. Each rule
belongs to a topic (``topic:`` in its rule file, else its own name); when the
labels name topics, each topic is scored on its own: predicted when any rule of
the topic fires, actual when the item lists the topic. When no item names a
topic, each rule is scored instead: how many items it fired on, and how many of
those were relevant.

Precision with nothing predicted (and recall with nothing relevant) is
undefined: ``None``, shown as "n/a". No I/O here: the command reads the file
and prints what this module returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.core.rules import RuleSet
from monitor.errors import NewsmonError

__all__ = [
    "ItemId",
    "LabelError",
    "Labelled",
    "Mistake",
    "Report",
    "RuleScore",
    "TopicScore",
    "evaluate",
    "format_ratio",
    "parse_labelled",
]

ItemId = str | int
NA = "n/a"
_TEXT_FIELDS = ("summary", "content", "feed")


class LabelError(NewsmonError):
    """A line of a labelled file is invalid; carries the file and line."""


# ---------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled story: its text, whether it is relevant and to which topics."""

    id: ItemId
    title: str
    relevant: bool
    summary: str = ""
    content: str = ""
    feed: str = ""
    topics: tuple[str, ...] = ()
    line: int = 0

    def fields(self) -> dict[str, str]:
        """What the matcher reads."""
        return {
            "title": self.title,
            "summary": self.summary,
            "content": self.content,
            "feed": self.feed,
        }


def parse_labelled(lines: Iterable[str], source: str = "-") -> list[Labelled]:
    """Labelled stories from JSON lines, one object a line; blank lines are skipped.

    Raises LabelError(message, source, line) on the first bad line: invalid
    JSON, a missing or mistyped ``id``, ``title`` or ``relevant``, ``topics``
    that are not a list of names, a duplicate id, or topics on an item that is
    not relevant.
    """
    items: list[Labelled] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _record(line, source, number)
        key = str(item.id)
        if key in seen:
            raise LabelError(f"duplicate id {key!r} (first on line {seen[key]})", source, number)
        seen[key] = number
        items.append(item)
    return items


def _record(line: str, source: str, number: int) -> Labelled:
    def bad(message: str) -> LabelError:
        return LabelError(message, source, number)

    try:
        record = json.loads(line)
    except ValueError as exc:
        raise bad(f"invalid JSON: {exc}") from None
    if not isinstance(record, dict):
        raise bad(f"expected a JSON object, got {type(record).__name__}")

    item_id = record.get("id")
    if item_id is None or item_id == "":
        raise bad("missing id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        raise bad(f"id must be a string or an integer, got {item_id!r}")
    title = record.get("title")
    if title is None:
        raise bad(f"item {item_id!r}: missing title")
    if not isinstance(title, str):
        raise bad(f"item {item_id!r}: title must be a string")
    if "relevant" not in record:
        raise bad(f"item {item_id!r}: missing relevant (true or false)")
    relevant = record["relevant"]
    if not isinstance(relevant, bool):
        raise bad(f"item {item_id!r}: relevant must be true or false, got {relevant!r}")

    texts: dict[str, str] = {}
    for key in _TEXT_FIELDS:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise bad(f"item {item_id!r}: {key} must be a string")
        texts[key] = value or ""

    topics: tuple[str, ...] = ()
    raw_topics = record.get("topics")
    if raw_topics is not None:
        if not isinstance(raw_topics, list) or not all(
            isinstance(t, str) and t.strip() for t in raw_topics
        ):
            raise bad(f"item {item_id!r}: topics must be a list of topic names")
        topics = tuple(dict.fromkeys(t.strip() for t in raw_topics))
    if topics and not relevant:
        raise bad(f"item {item_id!r}: relevant is false but topics are given")
    return Labelled(
        item_id,
        title,
        relevant,
        summary=texts["summary"],
        content=texts["content"],
        feed=texts["feed"],
        topics=topics,
        line=number,
    )


# ---------------------------------------------------------------- the report


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def format_ratio(value: float | None) -> str:
    """A precision or recall as text: three decimals, or "n/a" when undefined."""
    return NA if value is None else f"{value:.3f}"


@dataclass(frozen=True, slots=True)
class TopicScore:
    """One topic: its rules against the items labelled with it."""

    topic: str
    rules: tuple[str, ...]  # the rules scored under it; empty: labelled, but no rule has it
    labelled: int  # items that list the topic (TP + FN)
    fired: int  # items any of its rules fired on (TP + FP)
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.fired)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.labelled)


@dataclass(frozen=True, slots=True)
class RuleScore:
    """One rule: the items it fired on, and how many of them were relevant."""

    rule: str
    topic: str
    fired: int
    relevant: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.relevant, self.fired)


@dataclass(frozen=True, slots=True)
class Mistake:
    """An item decided wrongly: overall (``topic`` None) or for one topic.

    ``rules`` are all the rules that fired on the item, in rule order; ``line``
    is where the item is in the labelled file.
    """

    id: ItemId
    title: str
    topic: str | None
    rules: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """A rule set scored on labelled items."""

    items: int
    relevant: int
    tp: int
    fp: int
    fn: int
    by_topic: bool  # the labels name topics: ``topics`` is the breakdown, else ``rules``
    topics: tuple[TopicScore, ...]
    rules: tuple[RuleScore, ...]
    misses: tuple[Mistake, ...]  # overall ones first, then per topic
    false_alarms: tuple[Mistake, ...]
    untopical: int = 0  # relevant items that name no topic, when others do

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.relevant)

    def failures(
        self, min_precision: float | None = None, min_recall: float | None = None
    ) -> list[str]:
        """Why the overall figures fall below the bars; empty when they pass.

        Undefined precision (no rule fired) passes only when no item is relevant;
        undefined recall (no item relevant) passes.
        """
        out: list[str] = []
        if min_precision is not None:
            p = self.precision
            if (p is None and self.relevant) or (p is not None and p < min_precision):
                why = " (no rule fired)" if p is None else ""
                out.append(
                    f"precision {format_ratio(p)}{why} is below --min-precision {min_precision:g}"
                )
        if min_recall is not None:
            r = self.recall
            if r is not None and r < min_recall:
                out.append(f"recall {format_ratio(r)} is below --min-recall {min_recall:g}")
        return out

    # -- output ---------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON-ready data; undefined figures are null."""
        out: dict[str, Any] = {
            "items": self.items,
            "relevant": self.relevant,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "by": "topic" if self.by_topic else "rule",
        }
        if self.by_topic:
            out["topics"] = [
                {
                    "topic": t.topic,
                    "rules": list(t.rules),
                    "labelled": t.labelled,
                    "fired": t.fired,
                    "tp": t.tp,
                    "fp": t.fp,
                    "fn": t.fn,
                    "precision": t.precision,
                    "recall": t.recall,
                }
                for t in self.topics
            ]
            out["relevant_without_topic"] = self.untopical
        else:
            out["rules"] = [
                {
                    "rule": r.rule,
                    "topic": r.topic,
                    "fired": r.fired,
                    "relevant": r.relevant,
                    "precision": r.precision,
                }
                for r in self.rules
            ]
        out["misses"] = [_mistake_json(m) for m in self.misses]
        out["false_alarms"] = [_mistake_json(m) for m in self.false_alarms]
        return out

    def render(self) -> str:
        """The report as text: the overall line, the table, then every mistake."""
        lines = [
            f"overall: precision {_fraction(self.precision, self.tp, self.predicted)}, "
            f"recall {_fraction(self.recall, self.tp, self.relevant)}; "
            f"{self.items} items, {self.relevant} relevant, "
            f"TP {self.tp}, FP {self.fp}, FN {self.fn}",
            "",
        ]
        lines.extend(self._topic_table() if self.by_topic else self._rule_table())
        if self.by_topic and self.untopical:
            lines.append(
                f"note: {self.untopical} relevant item(s) name no topic; "
                "any topic that fires on them counts it as a false alarm"
            )
        overall_misses = [m for m in self.misses if m.topic is None]
        overall_alarms = [m for m in self.false_alarms if m.topic is None]
        lines += _mistakes("missed (relevant, no rule fired)", overall_misses)
        lines += _mistakes("false alarms (a rule fired, not relevant)", overall_alarms)
        if self.by_topic:
            topic_misses = [m for m in self.misses if m.topic is not None]
            topic_alarms = [m for m in self.false_alarms if m.topic is not None]
            lines += _mistakes("missed by topic (labelled, its rules did not fire)", topic_misses)
            lines += _mistakes(
                "false alarms by topic (its rules fired, not labelled with it)", topic_alarms
            )
        return "\n".join(lines) + "\n"

    def _topic_table(self) -> list[str]:
        rows = [["topic", "labelled", "fired", "TP", "FP", "FN", "precision", "recall", "rules"]]
        for t in self.topics:
            rows.append(
                [
                    t.topic,
                    str(t.labelled),
                    str(t.fired),
                    str(t.tp),
                    str(t.fp),
                    str(t.fn),
                    format_ratio(t.precision),
                    format_ratio(t.recall),
                    ", ".join(t.rules) if t.rules else "(no rule has this topic)",
                ]
            )
        return _table(rows, left={0, 8})

    def _rule_table(self) -> list[str]:
        rows = [["rule", "fired", "relevant", "precision", "topic"]]
        for r in self.rules:
            topic = "" if r.topic == r.rule else r.topic
            rows.append([r.rule, str(r.fired), str(r.relevant), format_ratio(r.precision), topic])
        return _table(rows, left={0, 4})


def _fraction(value: float | None, hits: int, total: int) -> str:
    return f"{format_ratio(value)} ({hits}/{total})"


def _table(rows: Sequence[Sequence[str]], left: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
    return out


def _mistakes(heading: str, mistakes: Sequence[Mistake]) -> list[str]:
    lines = ["", f"{heading}: {len(mistakes)}"]
    for m in mistakes:
        where = f"{m.topic}: " if m.topic is not None else ""
        fired = ", ".join(m.rules) if m.rules else "nothing"
        lines.append(f"  {where}{m.id}  {m.title or '(untitled)'}  [fired: {fired}]")
    return lines


def _mistake_json(m: Mistake) -> dict[str, Any]:
    return {
        "id": m.id,
        "title": m.title,
        "topic": m.topic,
        "rules": list(m.rules),
        "line": m.line,
    }


# ---------------------------------------------------------------- scoring


_PROGRESS_STEP = 100  # items matched between two reports to ``progress``


def evaluate(
    ruleset: RuleSet, items: Sequence[Labelled], progress: Callable[[int], None] | None = None
) -> Report:
    """Score ``ruleset`` over ``items``: overall, and per topic or per rule.
    ``progress`` hears how many more items were matched, now and then."""
    topic_of = {rule.name: rule.topic_name for rule in ruleset.rules}
    fired_by_item = []
    for n, item in enumerate(items, start=1):
        fired_by_item.append(tuple(m.rule.name for m in ruleset.match(item.fields())))
        if progress is not None and (n % _PROGRESS_STEP == 0 or n == len(items)):
            progress(n % _PROGRESS_STEP or _PROGRESS_STEP)

    tp = fp = fn = 0
    misses: list[Mistake] = []
    alarms: list[Mistake] = []
    for item, fired in zip(items, fired_by_item, strict=True):
        mistake = Mistake(item.id, item.title, None, fired, item.line)
        if fired and item.relevant:
            tp += 1
        elif fired:
            fp += 1
            alarms.append(mistake)
        elif item.relevant:
            fn += 1
            misses.append(mistake)

    by_topic = any(item.topics for item in items)
    topics: list[TopicScore] = []
    untopical = 0
    if by_topic:
        untopical = sum(1 for item in items if item.relevant and not item.topics)
        rules_of: dict[str, list[str]] = {}
        for rule in ruleset.rules:
            rules_of.setdefault(rule.topic_name, []).append(rule.name)
        labelled = {t for item in items for t in item.topics}
        for topic in sorted(labelled | set(rules_of)):
            score, topic_misses, topic_alarms = _score_topic(
                topic, tuple(rules_of.get(topic, ())), items, fired_by_item, topic_of
            )
            topics.append(score)
            misses.extend(topic_misses)
            alarms.extend(topic_alarms)

    rules = []
    for rule in ruleset.rules:
        hits = [
            item for item, fired in zip(items, fired_by_item, strict=True) if rule.name in fired
        ]
        rules.append(
            RuleScore(rule.name, rule.topic_name, len(hits), sum(1 for i in hits if i.relevant))
        )

    return Report(
        items=len(items),
        relevant=sum(1 for item in items if item.relevant),
        tp=tp,
        fp=fp,
        fn=fn,
        by_topic=by_topic,
        topics=tuple(topics),
        rules=tuple(rules),
        misses=tuple(misses),
        false_alarms=tuple(alarms),
        untopical=untopical,
    )


def _score_topic(
    topic: str,
    rules: tuple[str, ...],
    items: Sequence[Labelled],
    fired_by_item: Sequence[tuple[str, ...]],
    topic_of: dict[str, str],
) -> tuple[TopicScore, list[Mistake], list[Mistake]]:
    tp = fp = fn = 0
    misses: list[Mistake] = []
    alarms: list[Mistake] = []
    for item, fired in zip(items, fired_by_item, strict=True):
        predicted = any(topic_of[name] == topic for name in fired)
        actual = topic in item.topics
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
            alarms.append(Mistake(item.id, item.title, topic, fired, item.line))
        elif actual:
            fn += 1
            misses.append(Mistake(item.id, item.title, topic, fired, item.line))
    score = TopicScore(topic, rules, tp + fn, tp + fp, tp, fp, fn)
    return score, misses, alarms
