"""Parsing feed documents into items, off the event loop.

feedparser is pure Python and takes tens of milliseconds on a typical feed:
run on the event loop it would stall every other fetch, timer and agent.
``parse_feed`` is the plain function; ``FeedParser`` runs it in a pool of
worker processes (or threads, for tests and small setups).

Most documents are read by feedparser-rs (feedparser's API, parsed in Rust,
about twenty times faster) and shaped as feedparser would give them; whatever
it does not read cleanly (broken XML, odd charsets, no entries) goes to
feedparser itself, which recovers what it can, and so does a document with
xml:base (feedparser-rs does not resolve links against it). The items are the same either
way (checked on every test feed and the benchmarks' 10,000 items).

A document that does not parse at all, or is not a feed, raises ``FeedError``.
A document with XML errors that still yields entries is accepted: feedparser
recovers what it can, and a feed missing one closing tag is still news.
"""

from __future__ import annotations

import asyncio
import html
import multiprocessing
import os
import re
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

from monitor.core.items import Item, html_to_text, normalise_entry
from monitor.core.schedule import feed_ttl_s
from monitor.core.websub import link_pairs
from monitor.errors import NewsmonError
from monitor.rules.early import Matches, match_early, prepare
from monitor.rules.files import RulesOnDisk
from monitor.workers import init_parser, yield_to


class FeedError(NewsmonError):
    """A document that is not a usable feed; ``path`` is the feed URL."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: list[Item]
    # the document's hub and self links, (rel, URL), for WebSub discovery
    links: tuple[tuple[str, str], ...] = ()
    # how long the document says it stays fresh: <ttl>, sy:updatePeriod/Frequency
    ttl_s: float | None = None
    # what fired for the items, matched where they were parsed (monitor.rules.early)
    matches: Matches | None = None


def parse_feed(
    body: bytes,
    url: str,
    base_url: str | None = None,
    content_type: str | None = None,
    name: str | None = None,
) -> ParsedFeed:
    """Parse a feed document (RSS 0.9x/1.0/2.0, Atom, RDF) into normalised items.

    ``url`` is the feed as configured (it is the items' ``feed``), and ``name``
    its name there, which its items carry instead of the document's title;
    ``base_url`` is where it was fetched from after redirects (relative links
    resolve against it); ``content_type`` is the HTTP header, whose charset
    feedparser weighs against the XML declaration. Entries without a title,
    link or text are skipped, and a repeated entry is kept once.
    """
    if not body.strip():
        raise FeedError("empty document", url)
    # Without a content type feedparser would decode a document that has no
    # XML declaration as ISO-8859-1; application/xml means "as XML says" (UTF-8).
    headers = {
        "content-location": base_url or url,
        "content-type": content_type or "application/xml",
    }
    parsed = _parse_fast(body, content_type, base_url or url)
    if parsed is None:
        import feedparser

        try:
            parsed = feedparser.parse(body, response_headers=headers, **_PLAIN_TEXT_ONLY)
        except Exception as exc:  # a feedparser bug must not take the worker down
            raise FeedError(f"feed parser failed: {type(exc).__name__}: {exc}", url) from None
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo") and not _harmless(parsed.get("bozo_exception")):
            raise FeedError(f"broken feed: {_describe(parsed.get('bozo_exception'))}", url)
        if not parsed.get("version"):
            raise FeedError("not an RSS, Atom or RDF feed", url)

    feed = parsed.get("feed") or {}
    title = ""
    if isinstance(feed.get("title"), str):
        title = html_to_text(feed["title"]) if _is_markup(feed) else " ".join(feed["title"].split())
    items: list[Item] = []
    seen: set[str] = set()
    for entry in entries:
        item = normalise_entry(entry, url, name or title, base_url=base_url)
        if not (item.title or item.link or item.summary or item.content):
            continue
        if item.fingerprint in seen:
            continue
        seen.add(item.fingerprint)
        items.append(item)
    ttl = feed_ttl_s(*(_text(feed.get(key)) for key in _TTL_KEYS))
    links = [(str(ln.get("rel", "")), str(ln.get("href", ""))) for ln in feed.get("links", [])]
    return ParsedFeed(title=title, items=items, links=link_pairs(links), ttl_s=ttl)


# Items become plain text (``html_to_text``): sanitising their HTML and resolving
# the URIs inside it is work thrown away (a third of feedparser's time).
_PLAIN_TEXT_ONLY = {"sanitize_html": False, "resolve_relative_uris": False}


def _parse_fast(body: bytes, content_type: str | None, base_url: str) -> Any | None:
    """The document as feedparser-rs reads it (in Rust, about twenty times
    faster than feedparser), shaped like feedparser's result; ``None`` when
    feedparser should read it instead: anything but a clean parse with
    entries (broken XML, which feedparser recovers from its own way, a charset
    the header and the document disagree on, an empty feed)."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if not start.startswith(b"<") or b"xml:base" in body:
        return None  # not XML (and never a URL for it to fetch); xml:base: see above
    declared = _DECLARED_ENCODING.match(start)
    charsets = {_charset(content_type), declared and declared[1].decode("ascii").lower()}
    if not charsets <= {None, "utf-8", "utf8"}:
        return None
    import feedparser_rs

    try:
        # links stay as written: normalise_entry resolves them against the
        # URL the feed came from, as feedparser does
        parsed = feedparser_rs.parse(body, **_PLAIN_TEXT_ONLY)
    except Exception:  # feedparser gets its chance, and reports what it finds
        return None
    if parsed.bozo or not parsed.version or not parsed.entries:
        return None
    feed = parsed.feed
    atom = parsed.version.startswith("atom")
    # RSS says nothing of whether a title is markup: feedparser guesses, and so
    # must this, or "Kerry & Wang <meet>" would lose its last word
    guess = not atom
    links = [(ln.rel or "", urljoin(base_url, _href(ln.href, atom))) for ln in feed.links or ()]
    return {
        "version": parsed.version,
        "feed": {
            "title": feed.get("title"),
            "title_detail": _construct(feed.get("title_detail"), guess),
            "links": [{"rel": rel, "href": href} for rel, href in links],
            **{key: feed.get(key) for key in _TTL_KEYS},
        },
        "entries": [_entry(entry, atom) for entry in parsed.entries],
    }


def _entry(entry: Any, atom: bool) -> dict[str, Any]:
    """A feedparser-rs entry as the dict ``normalise_entry`` reads."""
    # each attribute read once: feedparser-rs makes a new object at every read
    link, published = entry.link, entry.published_parsed
    shaped = {
        "id": entry.id,
        "title": entry.title,
        "title_detail": _construct(entry.title_detail, guess=not atom),
        "summary": entry.summary,
        "summary_detail": _construct(entry.summary_detail),
        "content": [_construct(part) for part in entry.content or ()],
        "link": _href(link, atom) if link is not None else None,
        "published_parsed": published,
        # read only without a published time, as normalise_entry reads it
        "updated_parsed": entry.updated_parsed if published is None else None,
    }
    return {key: value for key, value in shaped.items() if value is not None}


def _href(href: str | None, atom: bool) -> str:
    # feedparser-rs 0.7 leaves an Atom href's character references as written
    # ("?a=1&amp;b=2"); an element's text (RSS <link>) it decodes
    return html.unescape(href or "") if atom else href or ""


def _construct(text: Any, guess: bool = False) -> dict[str, Any] | None:
    if text is None:
        return None
    kind = text.type
    if guess and not _looks_like_html(text.value):
        kind = "text/plain"
    return {"type": kind, "value": text.value}


_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?encoding=[\"']([\w.:-]+)[\"']")


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


_TTL_KEYS = ("ttl", "sy_updateperiod", "sy_updatefrequency")  # as feedparser names them


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_markup(feed: Any) -> bool:
    detail = feed.get("title_detail") or {}
    return bool(detail.get("type", "text/html") != "text/plain")


def _harmless(exc: object) -> bool:
    # feedparser flags a mislabelled charset or content type as bozo even when
    # the document parsed fine; those are not reasons to reject an empty feed
    names = ("CharacterEncodingOverride", "NonXMLContentType")
    return type(exc).__name__ in names


def _describe(exc: object) -> str:
    text = str(exc).strip()
    if text.startswith("<unknown>:"):  # SAX prefixes a file name it does not have
        text = "line " + text.removeprefix("<unknown>:")
    return text or type(exc).__name__


def parse_and_match(
    body: bytes,
    url: str,
    base_url: str | None,
    content_type: str | None,
    name: str | None,
    rules: RulesOnDisk,
) -> ParsedFeed:
    """``parse_feed``, and its items matched with ``rules`` when this parser
    process has them built (``monitor.rules.early``)."""
    parsed = parse_feed(body, url, base_url, content_type, name)
    return replace(parsed, matches=match_early(parsed.items, rules))


def _warm_up(rules: RulesOnDisk | None) -> None:
    """Submitted at start to have the pool start its workers: they import the
    parsers then, not on the first feed, and begin building the rules. (The
    service's own process never parses, so it does not import them: a tenth
    of a second of its start.)"""
    import feedparser_rs  # noqa: F401

    _looks_like_html("")
    if rules is not None:
        prepare(rules)


def _looks_like_html(text: str) -> bool:
    from feedparser.mixin import _FeedParserMixin  # imports feedparser

    return bool(_FeedParserMixin.looks_like_html(text))


class FeedParser:
    """Runs ``parse_feed`` in a worker pool; use as a (async) context manager.

    Processes are started with "spawn": forking a process that runs an event
    loop and threads can copy held locks into the child.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        thread: bool = False,
    ) -> None:
        # By default one per core but one: the service's own process, which
        # every poll, match and alert goes through, keeps a core to itself.
        # Measured on 2 cores (bench_ingest, cold): one parser process rather
        # than two, the last alert sooner in each of five pairs of runs.
        max_workers = max_workers or max(1, (os.cpu_count() or 2) - 1)
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.thread = thread
        self.rules: Callable[[], RulesOnDisk] | None = None  # see match_with
        self._executor: Executor | None = self._new_executor()
        self._started = False

    def _new_executor(self) -> Executor:
        if self.thread:
            return ThreadPoolExecutor(self.max_workers, thread_name_prefix="newsmon-parse")
        return ProcessPoolExecutor(
            self.max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_parser,
            initargs=(os.getpid(),),
        )

    def match_with(self, rules: Callable[[], RulesOnDisk]) -> None:
        """Have the worker processes match the items they parse with the rules
        ``rules()`` names, the service's current ones (``monitor.rules.early``).
        Not threads: matching on one would only take the service's own CPU."""
        if not self.thread:
            self.rules = rules

    def start(self, rules: RulesOnDisk | None = None) -> FeedParser:
        """Start the worker processes now, not on the first feed: a spawned
        worker takes a good part of a second to import what it parses with.
        ``rules``: what they may begin to build meanwhile."""
        executor = self._executor
        if isinstance(executor, ProcessPoolExecutor) and not self._started:
            self._started = True
            for _ in range(self.max_workers):
                executor.submit(_warm_up, rules)
            # spawned by now (ProcessPoolExecutor keeps them by pid)
            for pid in list(executor._processes):
                yield_to(os.getpid(), pid)
        return self

    async def parse(
        self,
        body: bytes,
        url: str,
        base_url: str | None = None,
        content_type: str | None = None,
        name: str | None = None,
    ) -> ParsedFeed:
        """``parse_feed`` in the pool; raises ``FeedError`` for a bad document."""
        if self._executor is None:
            raise RuntimeError("FeedParser is closed")
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            if self.rules is not None:
                rules = self.rules()
                return await loop.run_in_executor(
                    executor, parse_and_match, body, url, base_url, content_type, name, rules
                )
            return await loop.run_in_executor(
                executor, parse_feed, body, url, base_url, content_type, name
            )
        except BrokenProcessPool:
            # A worker died (killed, out of memory): replace the pool so one
            # pathological feed does not stop parsing for every other feed.
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise FeedError("parser process died while parsing this feed", url) from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> FeedParser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> FeedParser:
        return self.start(self.rules() if self.rules is not None else None)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # shutting down waits for running parses; do not block the loop on it
        await asyncio.get_running_loop().run_in_executor(None, self.close)
