"""One poll of one feed: fetch, parse, and the feed's next state.

``poll_feed`` never raises for a broken feed. Whatever goes wrong (network,
HTTP status, broken XML, oversize body) is recorded in the outcome and in the
returned state, logged as one line on the "newsmon.fetch" logger, and pushes
the next poll back (see ``monitor.core.schedule``).

State rules:

- validators (ETag, Last-Modified) change only on a 200 whose body parsed: if
  a broken document's validators were kept, the next poll would get a 304 and
  the feed would look healthy while never being read;
- consecutive failures reset on a 200 that parsed and on a 304, and grow by
  one on any failure;
- a 304 yields no items: nothing is emitted twice because the server said
  nothing changed;
- after a 200 or a 304 the next poll is ``interval_s`` later, and never sooner
  than the response's Cache-Control or Expires, or the feed's ``<ttl>`` or
  ``sy:updatePeriod``, ask (the feed's, from the last 200, is kept in the
  state: a 304 has no document); the fetching stage plans it again from the
  interval it learns from what the poll brought.

A 200 with the very document the last poll read (no validators, or a server
that ignores them) is taken as a 304: nothing is parsed, no items, the marks
stand. Given what the last poll read (``last``), ``poll_feed`` knows it by its
digest, and a document that did not parse then fails again with the same
error, unparsed. The caller keeps each feed's last ``Reading`` once the poll's
items are safe (a poll whose items were lost must read them again).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime

from monitor.core.feeds import FeedState
from monitor.core.items import Item
from monitor.core.schedule import next_poll
from monitor.core.websub import Discovery, discover
from monitor.fetch.http import Fetcher, FetchResult
from monitor.fetch.parse import FeedError, FeedParser, ParsedFeed
from monitor.rules.early import Matches

log = logging.getLogger("newsmon.fetch")


@dataclass(frozen=True, slots=True)
class Reading:
    """A document a poll read, to know it again: its digest (with what its
    parse depends on besides its bytes) and, if it did not parse, why."""

    digest: bytes
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PollOutcome:
    items: list[Item]
    state: FeedState  # the feed's state after this poll, to be saved
    error: str | None
    feed_title: str  # "" when this poll did not parse the feed
    # the WebSub hub the feed advertises (when read): Link header, else the document
    discovery: Discovery | None = None
    # of a 200 or a 304: how long the response stays fresh (Cache-Control, Expires)
    fresh_for_s: float | None = None
    # the document a 200 brought, for the next poll (``last``)
    reading: Reading | None = None
    unchanged: bool = False  # a 200 with the document the last poll read
    matches: Matches | None = None  # what fired for ``items``, matched by the parser

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def read(self) -> bool:
        """The feed's content was read: ``items`` is all it carries now (not a
        304 or the same document again, which say it carries what it did, nor
        a failure)."""
        return self.ok and self.state.last_status != 304 and not self.unchanged


async def poll_feed(
    fetcher: Fetcher,
    parser: FeedParser,
    state: FeedState,
    interval_s: float,
    now: datetime,
    rng: random.Random,
    last: Reading | None = None,
    name: str | None = None,
) -> PollOutcome:
    """Poll ``state.url`` once, conditionally on the validators in ``state``;
    ``last``: what the feed's last poll read; ``name``: the feed's name in the
    config, which its items carry."""
    result = await fetcher.fetch(state.url, etag=state.etag, last_modified=state.last_modified)
    if result.error is not None:
        retry_after = result.retry_after_s
        return _failed(state, result.error, result.status, retry_after, interval_s, now, rng)

    if result.not_modified:
        new_state = _succeeded(
            state, result, interval_s, now, rng, validators=False, ttl_s=state.ttl_s
        )
        return PollOutcome(
            items=[], state=new_state, error=None, feed_title="", fresh_for_s=result.fresh_for_s
        )

    reading = Reading(_digest(result))
    if last is not None and last.digest == reading.digest:
        if last.error is not None:
            return _failed(state, last.error, result.status, None, interval_s, now, rng, last)
        return _unchanged(state, result, last, interval_s, now, rng)
    try:
        parsed = await _parse(parser, result, name)
    except FeedError as exc:
        reading = dataclasses.replace(reading, error=exc.message)
        return _failed(state, exc.message, result.status, None, interval_s, now, rng, reading)
    except Exception as exc:  # a parser bug is this feed's failure, not the service's
        reason = f"parser error: {type(exc).__name__}: {exc}"
        return _failed(state, reason, result.status, None, interval_s, now, rng)

    new_state = _succeeded(state, result, interval_s, now, rng, validators=True, ttl_s=parsed.ttl_s)
    return PollOutcome(
        items=parsed.items,
        state=new_state,
        error=None,
        feed_title=parsed.title,
        discovery=discover(result.links, parsed.links, result.final_url),
        fresh_for_s=result.fresh_for_s,
        reading=reading,
        matches=parsed.matches,
    )


def _succeeded(
    state: FeedState,
    result: FetchResult,
    interval_s: float,
    now: datetime,
    rng: random.Random,
    *,
    validators: bool,
    ttl_s: float | None,
) -> FeedState:
    """The state after a successful poll (a 304, the same document again, or
    one read), the next poll planned as usual. ``validators``: the answer's
    ETag and Last-Modified replace the state's (a 200's); ``ttl_s``: how long
    the feed says it stays fresh (the state's own when nothing was read)."""
    answered = result if validators else state
    return dataclasses.replace(
        state,
        etag=answered.etag,
        last_modified=answered.last_modified,
        failures=0,
        last_status=result.status,
        last_error=None,
        last_polled_at=now,
        ttl_s=ttl_s,
        next_poll_at=next_poll(now, interval_s, rng, fresh_for_s=result.fresh_for_s, ttl_s=ttl_s),
    )


def _digest(result: FetchResult) -> bytes:
    """The document's digest, with the headers its parse depends on."""
    assert result.body is not None
    digest = hashlib.blake2b(result.body, digest_size=16)
    digest.update(repr((result.content_type, result.final_url, result.links)).encode())
    return digest.digest()


def _unchanged(
    state: FeedState,
    result: FetchResult,
    reading: Reading,
    interval_s: float,
    now: datetime,
    rng: random.Random,
) -> PollOutcome:
    """The outcome of a 200 with the document the last poll read: as a 304's."""
    new_state = _succeeded(state, result, interval_s, now, rng, validators=True, ttl_s=state.ttl_s)
    return PollOutcome(
        items=[],
        state=new_state,
        error=None,
        feed_title="",
        fresh_for_s=result.fresh_for_s,
        reading=reading,
        unchanged=True,
    )


async def _parse(parser: FeedParser, result: FetchResult, name: str | None) -> ParsedFeed:
    assert result.body is not None
    return await parser.parse(
        result.body,
        result.url,
        base_url=result.final_url,
        content_type=result.content_type,
        name=name,
    )


def _failed(
    state: FeedState,
    reason: str,
    status: int | None,
    retry_after_s: float | None,
    interval_s: float,
    now: datetime,
    rng: random.Random,
    reading: Reading | None = None,
) -> PollOutcome:
    failures = state.failures + 1
    when = next_poll(now, interval_s, rng, failures=failures, retry_after_s=retry_after_s)
    log.warning(
        "feed %s failed: %s (%d in a row; next poll %s)",
        state.url,
        reason,
        failures,
        when.isoformat(timespec="seconds"),
    )
    new_state = dataclasses.replace(
        state,
        failures=failures,
        last_status=status,
        last_error=reason,
        last_polled_at=now,
        next_poll_at=when,
    )
    return PollOutcome(items=[], state=new_state, error=reason, feed_title="", reading=reading)
