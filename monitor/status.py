"""``newsmon status``: the feeds, the outbox and the recent alerts, as tables.

It reads the store directly, so it shows the same while the service runs
(another reader; SQLite's WAL and PostgreSQL never make it wait for the
service) and after it stopped. A SQLite store that does not exist yet is not
created: the command says the service has not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.config import Settings
from monitor.core.activity import AlertQuery, AlertRecord
from monitor.core.feeds import FeedState
from monitor.core.outbox import OutboxSummary
from monitor.store import Store, open_store

RECENT_ALERTS = 15

_HEALTH_STYLE = {
    "ok": "green",
    "new": "cyan",
    "error": "yellow",
    "failing": "bold red",
    "silent": "yellow",
}
_STATE_STYLE = {"sent": "green", "pending": "yellow", "digest": "cyan", "dead": "bold red"}


@dataclass(frozen=True)
class FeedRow:
    url: str
    name: str | None
    state: FeedState | None  # None: never polled


@dataclass(frozen=True)
class Status:
    feeds: list[FeedRow]
    outbox: OutboxSummary
    alerts: list[AlertRecord]


def store_missing(storage: str) -> Path | None:
    """The SQLite file of ``storage`` when it does not exist or is empty (the
    service never ran there); None for a store there is to read."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except ArgumentError:
        return None  # opening it gives the error, masked
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    try:
        return None if path.stat().st_size > 0 else path
    except OSError:
        return path


async def read_status(settings: Settings, limit: int = RECENT_ALERTS) -> Status:
    """What the store holds of the feeds (the config's and those added at run
    time), the outbox and the ``limit`` newest alerts."""
    store = await open_store(settings.storage)
    try:
        return await _read(store, settings, limit)
    finally:
        await store.close()


async def _read(store: Store, settings: Settings, limit: int) -> Status:
    states = await store.feed_states()
    names: dict[str, str | None] = {feed.url: feed.name for feed in settings.feeds}
    for managed in await store.managed_feeds():
        names.setdefault(managed.url, managed.name)
    feeds = [FeedRow(url, name, states.get(url)) for url, name in names.items()]
    return Status(
        feeds=feeds,
        outbox=await store.outbox_summary(),
        alerts=await store.recent_alerts(AlertQuery(limit=limit)),
    )


def render(
    status: Status, console: Console, now: datetime, tz: tzinfo, labels: dict[str, str]
) -> None:
    """The three tables; ``labels``: a channel's label by its id (its masked URL)."""
    if not status.feeds and not status.alerts and not any(_outbox_counts(status.outbox)):
        console.print("The store is empty: no feed polled and no alert yet.")
        return
    console.print(_feeds_table(status.feeds, now, tz))
    console.print(_outbox_table(status.outbox))
    if status.alerts:
        console.print(_alerts_table(status.alerts, now, tz, labels))
    else:
        console.print("No alerts yet.")


def _feeds_table(feeds: Sequence[FeedRow], now: datetime, tz: tzinfo) -> Table:
    polled = sum(row.state is not None and row.state.last_polled_at is not None for row in feeds)
    table = Table(title=f"Feeds ({len(feeds)}, {polled} polled)", title_justify="left", expand=True)
    table.add_column("feed", overflow="ellipsis", no_wrap=True, ratio=2)
    table.add_column("health", no_wrap=True, min_width=7)
    table.add_column("last success", no_wrap=True, min_width=12)
    table.add_column("last error", overflow="ellipsis", no_wrap=True, ratio=3)
    table.add_column("next poll", no_wrap=True, min_width=9)
    for row in sorted(feeds, key=_feed_order):
        state = row.state
        name = row.name or row.url
        if state is None or state.last_polled_at is None:
            table.add_row(Text(name), Text("new", _HEALTH_STYLE["new"]), "never", "", "due")
            continue
        # "failing" once it failed health.failures polls in a row (the admin
        # channels were told); "error" for the polls that fail before that
        health = "error" if state.failures and state.health == "ok" else state.health
        # a poll that did not fail is the last success; while polls fail, the
        # last success is before them and the store keeps no time for it
        success = _when(state.last_polled_at, now, tz) if state.failures == 0 else "—"
        error = state.last_error or ""
        if state.failures:
            error = f"{error} ({_count(state.failures, 'poll')} in a row)"
        table.add_row(
            Text(name),  # Text, not str: feed text is not rich markup
            Text(health, _HEALTH_STYLE.get(health, "yellow")),
            success,
            Text(error),
            _next(state.next_poll_at, now, tz),
        )
    return table


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _feed_order(row: FeedRow) -> tuple[int, str]:
    """The sick first, then by name."""
    state = row.state
    rank = 3
    if state is not None and state.last_polled_at is not None:
        rank = {"failing": 0, "silent": 1}.get(state.health, 2 if not state.failures else 1)
    return rank, (row.name or row.url).lower()


def _outbox_counts(summary: OutboxSummary) -> tuple[int, int, int, int]:
    return summary.pending, summary.digest, summary.dead, summary.delivered


def _outbox_table(summary: OutboxSummary) -> Table:
    table = Table(title="Outbox", title_justify="left")
    for column in ("pending", "in digests", "dead", "delivered"):
        table.add_column(column, justify="right")
    pending, digest, dead, delivered = _outbox_counts(summary)
    table.add_row(
        str(pending), str(digest), Text(str(dead), "bold red" if dead else ""), str(delivered)
    )
    return table


def _alerts_table(
    alerts: Sequence[AlertRecord], now: datetime, tz: tzinfo, labels: dict[str, str]
) -> Table:
    table = Table(title=f"Recent alerts ({len(alerts)} newest)", title_justify="left", expand=True)
    table.add_column("time", no_wrap=True, min_width=8)
    table.add_column("title", overflow="ellipsis", no_wrap=True, ratio=3)
    table.add_column("rules", overflow="ellipsis", no_wrap=True, ratio=2)
    table.add_column("channel", overflow="ellipsis", no_wrap=True, ratio=2)
    table.add_column("state", no_wrap=True, min_width=7)
    for record in alerts:
        alert = record.alert
        # the label without Apprise's options: what tells channels apart
        label = labels.get(alert.channel, alert.channel).partition("?")[0]
        table.add_row(
            _when(record.created_at, now, tz),
            Text(alert.title),
            Text(", ".join(alert.rules)),
            Text(label),
            Text(record.state, _STATE_STYLE.get(record.state, "")),
        )
    return table


def _when(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A time in the config's timezone: its hour alone when it is today's."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


def _next(at: datetime | None, now: datetime, tz: tzinfo) -> str:
    if at is None or at <= now:
        return "due"
    wait = at - now
    if wait < timedelta(minutes=1):
        return f"in {wait.total_seconds():.0f}s"
    if wait < timedelta(hours=1):
        return f"in {wait.total_seconds() / 60:.0f}m"
    return _when(at, now, tz)
