"""``newsmon replay``: a backtest of rules over the item texts the store keeps.

``replay`` walks the stored items seen since a time, oldest first and a batch
at a time (a store may hold months of feeds), matches each against the rules
as the service does, and gathers what would have alerted by story: the service
alerts once per story, so copies of one story from several outlets are one
line, with the number of other sources. ``report`` turns the outcome into the
lines the command prints. The arithmetic of times and days is pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from monitor.core.alerts import summarise_terms
from monitor.core.items import StoredItem
from monitor.core.rules import RuleSet
from monitor.core.schedule import parse_duration
from monitor.store import Store

BATCH = 500  # items read from the store at once
_FEED_WIDTH = 24  # the most a feed's name is padded to


@dataclass(frozen=True, slots=True)
class Hit:
    """A story that would have alerted, as its first matching copy tells it."""

    seen_at: datetime  # when the service saw that copy: when it would have alerted
    feed: str
    title: str
    link: str
    rules: tuple[str, ...]  # every rule that fired for a copy of the story
    other_sources: int  # other feeds that carried the story in the window
    # as an alert would say them, of that first copy: the matched terms, and a
    # snippet with them marked **term**
    terms: tuple[str, ...] = ()
    snippet: str = ""


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    items: int  # items seen that day (none at all: the service was not running)
    alerts: int  # stories that would have alerted that day


@dataclass(frozen=True, slots=True)
class Outcome:
    since: datetime
    until: datetime
    hits: list[Hit]  # one per story, oldest first
    scanned: int
    matched: int  # items that matched a rule, copies of one story included
    days: list[DayCount]

    @property
    def stories(self) -> int:
        return len(self.hits)


def parse_since(value: str, now: datetime, tz: tzinfo) -> datetime:
    """When a replay starts: a duration back from ``now`` (``7d``, ``36h``) or a
    date or time in ``tz`` (``2024-05-01``, ``2024-05-01T08:00``). Raises
    ``ValueError`` with the reason."""
    text = value.strip()
    try:
        seconds = parse_duration(text)
    except ValueError:
        pass
    else:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"{value!r} is too far back") from None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (7d, 36h, 90m) nor a date (2024-05-01)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    if when > now:
        raise ValueError(f"{value!r} is in the future")
    return when


def local_day(at: datetime, tz: tzinfo) -> date:
    return at.astimezone(tz).date()


def per_day(
    first: date, last: date, items: Mapping[date, int], alerts: Mapping[date, int]
) -> list[DayCount]:
    """One row per day from ``first`` to ``last``, days without anything included
    (a gap in the data shows as a gap, not as a missing line)."""
    return [
        DayCount(day, items.get(day, 0), alerts.get(day, 0))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


@dataclass
class _Story:
    first: StoredItem
    terms: tuple[str, ...]
    snippet: str
    rules: dict[str, None] = field(default_factory=dict)  # ordered set


async def replay(
    store: Store,
    rules: RuleSet,
    since: datetime,
    until: datetime,
    tz: tzinfo,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Match the items seen from ``since`` to ``until`` against ``rules``.

    ``progress`` is told how many items each batch held, as it goes. Items seen
    after ``until`` (recorded while the replay runs) are left out, so the counts
    describe one fixed window.
    """
    stories: dict[str, _Story] = {}  # matched stories, in order of their first copy
    # the feeds that carried each story on file, matching or not; only items the
    # service filed under a story are counted, so this stays small
    feeds: dict[str, set[str]] = {}
    items_per_day: Counter[date] = Counter()
    scanned = matched = 0
    async for chunk in store.items_since(since, batch):
        inside = [stored for stored in chunk if stored.seen_at <= until]
        for stored in inside:
            scanned += 1
            items_per_day[local_day(stored.seen_at, tz)] += 1
            if stored.story is not None:
                feeds.setdefault(stored.story, set()).add(stored.item.feed)
            fields = stored.item.fields()
            fired = rules.match(fields)
            if not fired:
                continue
            matched += 1
            story_id = stored.story or stored.item.fingerprint
            story = stories.get(story_id)
            if story is None:  # its first copy: what the alert would have quoted
                said = [m.fired(fields) for m in fired]
                terms = summarise_terms([t for f in said for t in f.terms])
                story = stories[story_id] = _Story(stored, terms, said[0].snippet)
            story.rules.update(dict.fromkeys(m.rule.name for m in fired))
        if progress is not None:
            progress(len(chunk))
        if len(inside) < len(chunk):
            break  # past ``until``: the rest is newer still

    hits = [
        Hit(
            seen_at=story.first.seen_at,
            feed=story.first.item.feed_title or story.first.item.feed,
            title=story.first.item.title,
            link=story.first.item.link,
            rules=tuple(story.rules),
            other_sources=len(feeds.get(story_id, set()) - {story.first.item.feed}),
            terms=story.terms,
            snippet=story.snippet,
        )
        for story_id, story in stories.items()
    ]
    alerts_per_day = Counter(local_day(hit.seen_at, tz) for hit in hits)
    # from the first day with items: --since 2020-01-01 must not print years of zeros
    last = local_day(until, tz)
    first = max(local_day(since, tz), min(items_per_day, default=last))
    days = per_day(first, last, items_per_day, alerts_per_day)
    return Outcome(since, until, hits, scanned, matched, days)


def report(outcome: Outcome, tz: tzinfo) -> Iterator[str]:
    """The lines ``newsmon replay`` prints: what would have alerted, the counts
    per day, then the totals."""
    # feeds in a column, but one long feed name does not push every title right
    width = min(max((len(hit.feed) for hit in outcome.hits), default=0), _FEED_WIDTH)
    for hit in outcome.hits:
        line = f"{hit.seen_at.astimezone(tz):%Y-%m-%d %H:%M}  {hit.feed:<{width}}  {hit.title}"
        line += f"  [{', '.join(hit.rules)}]"
        if hit.other_sources:
            plural = "s" if hit.other_sources > 1 else ""
            line += f"  (+{hit.other_sources} other source{plural})"
        yield line
    if not outcome.hits:
        yield "nothing would have alerted"
    yield ""
    yield f"{'day':<10}  {'items':>6}  {'alerts':>6}"
    for row in outcome.days:
        yield f"{row.day:%Y-%m-%d}  {row.items:>6}  {row.alerts:>6}"
    yield ""
    yield (
        f"{outcome.scanned} items scanned, {outcome.matched} matched, "
        f"{outcome.stories} {'story' if outcome.stories == 1 else 'stories'}"
    )
