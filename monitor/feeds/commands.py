"""``newsmon feeds``: what each subcommand does, on the store the config names.

``monitor.cli`` declares the subcommands and calls these; they print with
rich (a table, a progress bar on standard error) and raise ``NewsmonError``
for the CLI to print as one line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from monitor.config import Settings
from monitor.core.feeds import ManagedFeed
from monitor.feeds.manage import (
    ImportResult,
    ListedFeed,
    Outcome,
    add_feed,
    import_feeds,
    list_feeds,
    remove_feed,
)
from monitor.opml import OpmlFeed, read_opml, write_opml
from monitor.store import Store, open_store

T = TypeVar("T")


async def on_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    store = await open_store(settings.storage)
    try:
        return await work(store)
    finally:
        await store.close()


def output() -> Console:
    """Standard output: as wide as the terminal, and unbounded into a pipe or a
    file, so a URL or path is never cut or folded where a script reads it."""
    import sys

    return Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)


def interval_text(seconds: float | None) -> str:
    if seconds is None:
        return "learned"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def show_list(listed: list[ListedFeed], console: Console) -> None:
    if not listed:
        console.print("No feeds: add one with newsmon feeds add URL, or list them in the config.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("URL", "name", "interval", "from"):
        table.add_column(column, overflow="fold")
    for feed in listed:
        table.add_row(feed.url, feed.name or "", interval_text(feed.interval_s), feed.where)
    console.print(table)
    stored = sum(feed.source == "store" for feed in listed)
    console.print(f"{len(listed)} feeds: {len(listed) - stored} from the config, {stored} added")


def added_text(feed: ManagedFeed) -> str:
    named = f" ({feed.name})" if feed.name else ""
    every = interval_text(feed.interval_s)
    return f"added {feed.url}{named}, interval {every}: a running newsmon polls it within seconds"


async def add(settings: Settings, url: str, name: str | None, interval: str | None) -> ManagedFeed:
    return await on_store(
        settings, lambda store: add_feed(settings, store, url, name=name, interval=interval)
    )


async def remove(settings: Settings, url: str) -> ManagedFeed:
    return await on_store(settings, lambda store: remove_feed(settings, store, url))


async def listed(settings: Settings) -> list[ListedFeed]:
    return await on_store(settings, lambda store: list_feeds(settings, store))


def run_import(settings: Settings, path: Path, console: Console, out: Console) -> int:
    """Add every feed of the OPML file at ``path``, with a progress bar on
    ``console``, then the summary on ``out``: the exit status (1 when a feed
    was refused)."""
    import asyncio

    feeds = read_opml(path)  # OpmlError: the file and line
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}", style="dim"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"importing {path.name}", total=len(feeds), last="")

        def advance(feed: OpmlFeed, outcome: Outcome) -> None:
            progress.update(task, advance=1, last=f"{outcome}: {feed.url}")

        result = asyncio.run(
            on_store(settings, lambda store: import_feeds(settings, store, feeds, advance))
        )
    show_import(result, path, out)
    return 1 if result.refused else 0


def show_import(result: ImportResult, path: Path, out: Console) -> None:
    for feed in result.added:
        out.print(f"added {feed.url}", highlight=False)
    for entry, reason in sorted(result.refused, key=lambda refused: refused[0].line or 0):
        out.print(f"{path}:{entry.line}: refused: {reason}", highlight=False)
    out.print(
        f"{len(result.added)} added, {len(result.present)} already there, "
        f"{len(result.refused)} refused",
        highlight=False,
    )


def export_text(settings: Settings, listed: list[ListedFeed]) -> str:
    """OPML 2.0 of the feeds listed (the config's and the store's)."""
    feeds = [OpmlFeed(feed.url, feed.name, feed.interval_s) for feed in listed]
    return write_opml(feeds, f"newsmon feeds ({settings.path})", datetime.now(UTC))
