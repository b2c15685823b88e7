"""Feeds added, removed and listed at run time: ``newsmon feeds`` and /api/feeds.

The config's feeds are the operator's, written in monitor.yaml (or an OPML file
it names); feeds added at run time are kept in the store (``managed_feeds``),
where every worker of the running service finds them within seconds
(``monitor.pipeline.feedbook``). Both kinds are polled alike.

    listed = await list_feeds(settings, store)           # list[ListedFeed], config's first
    added = await add_feed(settings, store, url, name="Wire", interval="5m")  # ManagedFeed
    gone = await remove_feed(settings, store, url)       # the ManagedFeed removed
    result = await import_feeds(settings, store, opml_feeds, progress)  # ImportResult

An added feed must be an http:// or https:// URL with a host, in neither the
config nor the store yet, with a name and interval the config would take; and
unless ``fetch.allow_private_networks`` is set, every address its host resolves
to must be public (``monitor.core.addresses``: not loopback, private,
link-local, unspecified, multicast or reserved, IPv4-mapped IPv6 unwrapped),
so that whoever may add feeds cannot make the service fetch from this machine
or its networks. The check is made when the feed is added.

Errors (each a ``NewsmonError``; ``reason`` is the message, naming the URL):

    FeedError               a feed cannot be added or removed; ``url``, ``reason``
    ├── FeedRefused         not an http(s) URL, a bad name or interval, a host that does
    │                       not resolve, or resolves to a non-public address
    │                       (``address`` and ``kind`` then say which and why)    API: 400
    ├── FeedExists          already listed: ``source`` is "config" or "store"     API: 409
    ├── FeedNotFound        removing a feed that is in neither                   API: 404
    └── FeedInConfig        removing a config feed: ``path`` and ``line`` name
                            the file and line to edit                            API: 409
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from monitor.config import FeedSpec, Settings
from monitor.core.addresses import refused_address
from monitor.core.feeds import ManagedFeed
from monitor.errors import NewsmonError
from monitor.opml import OpmlFeed
from monitor.store import Store

Source = Literal["config", "store"]
# host and port to the addresses they resolve to (``getaddrinfo``'s, as text)
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT = 10.0  # seconds for a host's addresses before the feed is refused
IMPORT_CONCURRENCY = 8  # feeds of an import checked (resolved) at once


class FeedError(NewsmonError):
    """A feed cannot be added or removed."""

    def __init__(
        self, url: str, reason: str, path: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(reason, path, line)
        self.url = url
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.reason, self.path, self.line))


class FeedRefused(FeedError):
    """Not a feed newsmon may add: a bad URL, name or interval, or a host that
    does not resolve or resolves to a non-public address."""

    def __init__(
        self, url: str, reason: str, address: str | None = None, kind: str | None = None
    ) -> None:
        super().__init__(url, reason)
        self.address = address  # the address refused, when that was the reason
        self.kind = kind  # "loopback", "private", "link-local"…


class FeedExists(FeedError):
    """The feed is listed already, in the config or the store (``source``)."""

    def __init__(self, url: str, reason: str, source: Source) -> None:
        super().__init__(url, reason)
        self.source = source


class FeedNotFound(FeedError):
    """No feed with that URL, in the config or the store."""


class FeedInConfig(FeedError):
    """The feed is the config's: ``path`` and ``line`` say where to remove it."""


@dataclass(frozen=True, slots=True)
class ListedFeed:
    """A feed the service polls, and where it comes from."""

    url: str
    name: str | None
    interval_s: float | None  # pinned; None: learned from its publishing
    source: Source
    path: str | None = None  # config: the file that lists it (an OPML file's, for its feeds)
    line: int | None = None  # config: the line of monitor.yaml that lists it (or names the OPML)
    added_at: datetime | None = None  # store: when it was added

    @property
    def where(self) -> str:
        """Where it comes from, for people: ``config/monitor.yaml:12``,
        ``feeds.opml (config/monitor.yaml:14)`` or ``store``."""
        if self.source == "store":
            return "store"
        return _place(self.path, self.line)


def _place(path: str | None, line: int | None) -> str:
    return f"{path}:{line}" if path and line is not None else path or "config"


def configured(settings: Settings) -> list[ListedFeed]:
    """The config's feeds, as listed."""
    config = str(settings.path)
    return [
        ListedFeed(
            url=feed.url,
            name=feed.name,
            interval_s=feed.interval if feed.pinned else None,
            source="config",
            path=feed.opml or config,
            line=None if feed.opml else feed.line,
        )
        for feed in settings.feeds
    ]


async def list_feeds(settings: Settings, store: Store) -> list[ListedFeed]:
    """Every feed the service polls: the config's, in its order, then the store's, by URL."""
    stored = [
        ListedFeed(
            url=feed.url,
            name=feed.name,
            interval_s=feed.interval_s,
            source="store",
            added_at=feed.added_at,
        )
        for feed in await store.managed_feeds()
    ]
    return [*configured(settings), *stored]


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, as the fetcher's connection would find them."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked(url: str, name: str | None = None, interval: float | str | None = None) -> FeedSpec:
    """The feed as the config would take it, or ``FeedRefused`` saying why not."""
    url = url.strip()
    try:
        # the validators take a duration as written ("5m"), as the config does
        return FeedSpec.model_validate({"url": url, "name": name or None, "interval": interval})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        raise FeedRefused(url, f"{url}: {key}: {reason}") from None


async def check_address(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """``FeedRefused`` unless every address the URL's host resolves to is public
    (or ``allow_private``)."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FeedRefused(url, f"{url}: cannot resolve {host}: {reason}") from None
    refused = refused_address(addresses)
    if refused is not None:
        address, kind = refused
        what = f"{address} is" if host.strip("[]") == address else f"{host} resolves to {address},"
        raise FeedRefused(
            url,
            f"{url}: {what} a {kind} address: feeds added at run "
            "time may only point at public addresses (set fetch.allow_private_networks: "
            "true to allow it)",
            address=address,
            kind=kind,
        )


async def add_feed(
    settings: Settings,
    store: Store,
    url: str,
    *,
    name: str | None = None,
    interval: float | str | None = None,
    now: datetime | None = None,
    resolve: Resolver = resolve_host,
) -> ManagedFeed:
    """Add a feed to the store, checked as the module docstring says; the
    running service polls it within seconds."""
    spec = checked(url, name, interval)
    for feed in settings.feeds:
        if feed.url == spec.url:
            where = _place(feed.opml or str(settings.path), None if feed.opml else feed.line)
            raise FeedExists(spec.url, f"{spec.url}: already in the config ({where})", "config")
    if any(feed.url == spec.url for feed in await store.managed_feeds()):
        raise FeedExists(spec.url, f"{spec.url}: already added", "store")
    await check_address(
        spec.url, allow_private=settings.fetch.allow_private_networks, resolve=resolve
    )
    added = ManagedFeed(spec.url, spec.name, spec.interval, now or datetime.now(UTC))
    if not await store.add_managed_feed(added):  # added meanwhile, by another
        raise FeedExists(spec.url, f"{spec.url}: already added", "store")
    return added


async def remove_feed(settings: Settings, store: Store, url: str) -> ManagedFeed:
    """Remove a feed added at run time; the running service stops polling it
    within seconds. A config feed is refused: it is the operator's to edit."""
    url = url.strip()
    for feed in settings.feeds:
        if feed.url == url:
            path, line = str(settings.path), feed.line
            if feed.opml:
                reason = f"{url}: listed in {feed.opml}, named by the config: remove it there"
            else:
                reason = f"{url}: listed in the config: remove it there"
            raise FeedInConfig(url, reason, path, line)
    stored = {feed.url: feed for feed in await store.managed_feeds()}
    if url not in stored or not await store.remove_managed_feed(url):
        raise FeedNotFound(url, f"{url}: no such feed (newsmon feeds list shows them)")
    return stored[url]


Outcome = Literal["added", "present", "refused"]


@dataclass
class ImportResult:
    """What an import did with each feed of the file."""

    added: list[ManagedFeed] = field(default_factory=list)
    present: list[OpmlFeed] = field(default_factory=list)  # in the config or the store already
    refused: list[tuple[OpmlFeed, str]] = field(default_factory=list)  # with the reason


async def import_feeds(
    settings: Settings,
    store: Store,
    feeds: Sequence[OpmlFeed],
    progress: Callable[[OpmlFeed, Outcome], None] | None = None,
    *,
    resolve: Resolver = resolve_host,
) -> ImportResult:
    """Add each feed of an OPML file as ``add_feed`` would, several resolved at
    once; ``progress`` hears of each as it is done."""
    result = ImportResult()
    slots = asyncio.Semaphore(IMPORT_CONCURRENCY)
    now = datetime.now(UTC)

    async def one(feed: OpmlFeed) -> None:
        async with slots:
            outcome: Outcome
            try:
                added = await add_feed(
                    settings,
                    store,
                    feed.url,
                    name=feed.name,
                    interval=feed.interval_s,
                    now=now,
                    resolve=resolve,
                )
            except FeedExists:
                result.present.append(feed)
                outcome = "present"
            except FeedRefused as exc:
                result.refused.append((feed, exc.reason))
                outcome = "refused"
            else:
                result.added.append(added)
                outcome = "added"
        if progress is not None:
            progress(feed, outcome)

    unique = list({feed.url.strip(): feed for feed in feeds}.values())
    await asyncio.gather(*(one(feed) for feed in unique))
    return result
