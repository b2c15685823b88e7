"""The JSON API (/api/…) and the readiness probe (/readyz).

Every answer is read from the store, never from this worker's memory, so in
distributed mode each worker's API tells the same: the alerts, stories, feed
states and rule hits of all workers. What is this worker's own is said so:
its start, its rules as loaded, its channels.

    GET    /api/alerts          recent alerts, filtered by rule, channel and time
    GET    /api/stories         the stories of a recent window, with their sources
    GET    /api/feeds           every feed with its health and items per day
    POST   /api/feeds           add a feed (kept in the store: monitor.feeds.manage)
    DELETE /api/feeds?url=…     remove one added that way
    GET    /api/rules           every rule with its hits per day
    POST   /api/rules/test      a query over the recently stored items
    GET    /api/health          the service at a glance
    GET    /readyz              200 when the store (and the broker) answer
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from aiohttp import web

from monitor.core.activity import (
    AlertQuery,
    AlertRecord,
    last_days,
    per_day,
    split_marks,
    window_start,
)
from monitor.core.alerts import Channel as Target
from monitor.core.feeds import FeedState
from monitor.core.stories import StorySource
from monitor.errors import RuleError
from monitor.feeds import manage
from monitor.feeds.manage import ListedFeed
from monitor.replay import parse_since, replay
from monitor.web import models as m
from monitor.web.routes import ApiError, ApiRoute, Call
from monitor.web.server import CONTEXT, WebContext

log = logging.getLogger("newsmon.web")

READY_TIMEOUT = 1.0  # seconds the store and the broker each get to answer /readyz


def install(app: web.Application, api: list[ApiRoute]) -> None:
    app.router.add_get("/readyz", readyz)
    api.extend(ROUTES)


def _context(call: Call) -> WebContext:
    return call.request.app[CONTEXT]


def _when(
    value: str | None, name: str, context: WebContext, now: datetime, *, future: bool = False
) -> datetime | None:
    """A time as ``newsmon replay --since`` takes it; ``future``: a date or time
    to come is taken too (an ``until`` may be)."""
    if value is None:
        return None
    tz = context.settings.timezone
    try:
        return parse_since(value, now, tz)
    except ValueError as exc:
        if future:
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                return when if when.tzinfo is not None else when.replace(tzinfo=tz)
        raise ApiError(400, f"{name}: {exc}") from None


def _channel(context: WebContext, channel_id: str) -> m.Channel:
    target = context.channels.get(channel_id)
    if target is None:
        return m.Channel(id=channel_id, label=None, tags=[])
    return _channel_of(target)


def _channel_of(target: Target) -> m.Channel:
    return m.Channel(id=target.id, label=target.label, tags=sorted(target.tags))


def _snippet(marked: str) -> m.Snippet:
    text, spans = split_marks(marked)
    return m.Snippet(
        marked=marked,
        text=text,
        highlights=[m.Highlight(start=start, end=end) for start, end in spans],
    )


def _sources(rows: Sequence[StorySource]) -> list[m.Source]:
    return [
        m.Source(feed=s.feed_title, title=s.title, link=s.link, seen_at=s.seen_at) for s in rows
    ]


# --- alerts ---------------------------------------------------------------------


async def list_alerts(call: Call) -> list[m.AlertOut]:
    context, query, now = _context(call), call.query, datetime.now(UTC)
    channels: tuple[str, ...] | None = None
    if query.channel is not None:  # an id, or every channel with the tag
        tagged = {c.id for c in context.channels if query.channel.lower() in c.tags}
        channels = tuple(sorted(tagged | {query.channel}))
    records = await context.store.recent_alerts(
        AlertQuery(
            since=_when(query.since, "since", context, now),
            until=_when(query.until, "until", context, now, future=True),
            rule=query.rule,
            channels=channels,
            limit=query.limit,
        )
    )
    stories = sorted({r.story for r in records if r.story is not None})
    # one read for all of them: story_sources batches the calls made at once
    sources = dict(
        zip(
            stories,
            await asyncio.gather(*(context.store.story_sources(s) for s in stories)),
            strict=True,
        )
    )
    return [_alert(context, record, sources.get(record.story or "", [])) for record in records]


def _alert(context: WebContext, record: AlertRecord, sources: Sequence[StorySource]) -> m.AlertOut:
    alert = record.alert
    others = [s for s in _sources(sources) if s.link != alert.link]
    settled = record.state in ("sent", "dead")
    return m.AlertOut(
        id=record.id,
        state=record.state,
        created_at=record.created_at,
        sent_at=record.delivered_at,
        next_attempt_at=None if settled else record.next_attempt_at,
        digest_due=record.digest_due,
        dead_at=record.dead_at,
        attempts=record.attempts,
        error=record.last_error,
        channel=_channel(context, alert.channel),
        title=alert.title,
        link=alert.link,
        feed=alert.feed,
        published=alert.published,
        rules=list(alert.rules),
        terms=list(alert.terms),
        snippet=_snippet(alert.snippet),
        story=record.story,
        other_sources=others,
    )


# --- stories --------------------------------------------------------------------


async def list_stories(call: Call) -> list[m.StoryOut]:
    context, query, now = _context(call), call.query, datetime.now(UTC)
    since = _when(query.since, "since", context, now)
    assert since is not None
    ids = await context.store.reported_stories(since, query.min_sources)
    newest = ids[::-1][: query.limit]  # reported_stories: oldest first
    found = await asyncio.gather(*(context.store.story_sources(s) for s in newest))
    stories = []
    for story_id, rows in zip(newest, found, strict=True):
        sources = _sources(rows)
        if not sources:  # pruned between the two reads
            continue
        stories.append(
            m.StoryOut(
                id=story_id,
                title=sources[0].title,
                first_seen=sources[0].seen_at,
                last_seen=sources[-1].seen_at,
                sources=sources,
            )
        )
    return stories


# --- feeds ----------------------------------------------------------------------


async def list_feeds(call: Call) -> list[m.FeedOut]:
    context, now = _context(call), datetime.now(UTC)
    tz, days = context.settings.timezone, call.query.days
    store = context.store
    listed = await manage.list_feeds(context.settings, store)
    states = await store.feed_states()
    dates = last_days(now, days, tz)
    items = per_day(await store.feed_items(window_start(now, days, tz)), dates, tz)
    none = [0] * len(dates)
    return [
        _feed(
            feed,
            states.get(feed.url),
            [
                m.DayCount(day=d, count=n)
                for d, n in zip(dates, items.get(feed.url, none), strict=True)
            ],
        )
        for feed in listed
    ]


def _feed(feed: ListedFeed, state: FeedState | None, items: list[m.DayCount]) -> m.FeedOut:
    polled = state is not None and state.last_polled_at is not None
    return m.FeedOut(
        url=feed.url,
        name=feed.name,
        origin=feed.source,
        where=feed.where,
        added_at=feed.added_at,
        interval_s=feed.interval_s,
        health=state.health if state is not None and polled else "new",
        last_polled_at=state.last_polled_at if state else None,
        last_success_at=state.last_polled_at if state and not state.failures else None,
        last_new_item_at=state.last_new_item_at if state else None,
        last_status=state.last_status if state else None,
        last_error=state.last_error if state and state.failures else None,
        failures=state.failures if state else 0,
        next_poll_at=state.next_poll_at if state else None,
        items_per_day=items,
    )


async def add_feed(call: Call) -> m.FeedOut:
    context, body, now = _context(call), call.body, datetime.now(UTC)
    try:
        added = await manage.add_feed(
            context.settings, context.store, body.url, name=body.name, interval=body.interval
        )
    except manage.FeedRefused as exc:
        raise ApiError(400, str(exc)) from None
    except manage.FeedExists as exc:
        raise ApiError(409, str(exc)) from None
    await _feeds_changed(context)
    log.info("feeds: %s added through the API", added.url)
    listed = ListedFeed(added.url, added.name, added.interval_s, "store", added_at=added.added_at)
    days = last_days(now, 7, context.settings.timezone)
    return _feed(listed, None, [m.DayCount(day=d, count=0) for d in days])


async def remove_feed(call: Call) -> None:
    context = _context(call)
    try:
        gone = await manage.remove_feed(context.settings, context.store, call.query.url)
    except manage.FeedNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except manage.FeedInConfig as exc:  # str(): the file and line to edit, first
        raise ApiError(409, str(exc)) from None
    await _feeds_changed(context)
    log.info("feeds: %s removed through the API", gone.url)


async def _feeds_changed(context: WebContext) -> None:
    """This worker's scheduler reads the store's feeds again now (every worker
    does within seconds anyway)."""
    if context.feeds is not None:
        await context.feeds.refresh()


# --- rules ----------------------------------------------------------------------


async def list_rules(call: Call) -> list[m.RuleOut]:
    context, now = _context(call), datetime.now(UTC)
    tz = context.settings.timezone
    days = last_days(now, call.query.days, tz)
    hits = per_day(await context.store.rule_hits(window_start(now, call.query.days, tz)), days, tz)
    none = [0] * len(days)
    return [
        m.RuleOut(
            name=rule.name,
            query=rule.query,
            notify=list(rule.notify),
            topic=rule.topic_name,
            path=rule.path,
            line=rule.line,
            hits=[
                m.DayCount(day=day, count=n)
                for day, n in zip(days, hits.get(rule.name, none), strict=True)
            ],
        )
        for rule in context.rulebook.current.rules
    ]


async def test_rule(call: Call) -> m.RuleTestOut:
    context, body, now = _context(call), call.body, datetime.now(UTC)
    since = _when(body.since, "since", context, now)
    assert since is not None
    try:
        rules = context.rulebook.current.with_query(body.query)
    except RuleError as exc:
        raise ApiError(400, f"query: {exc}") from None
    outcome = await replay(context.store, rules, since, now, context.settings.timezone)
    hits = outcome.hits[::-1][: body.limit]
    return m.RuleTestOut(
        query=body.query,
        since=outcome.since,
        until=outcome.until,
        scanned=outcome.scanned,
        matched=outcome.matched,
        stories=outcome.stories,
        hits=[
            m.TestHit(
                seen_at=hit.seen_at,
                feed=hit.feed,
                title=hit.title,
                link=hit.link,
                terms=list(hit.terms),
                snippet=_snippet(hit.snippet),
                other_sources=hit.other_sources,
            )
            for hit in hits
        ],
        days=[m.TestDay(day=d.day, items=d.items, matches=d.alerts) for d in outcome.days],
    )


# --- health ---------------------------------------------------------------------


async def health(call: Call) -> m.HealthOut:
    context, now = _context(call), datetime.now(UTC)
    settings, store = context.settings, context.store
    error = await _store_error(context)
    outbox: m.OutboxCounts | None = None
    feeds: dict[str, int] = {}
    if error is None:
        summary = await store.outbox_summary()
        outbox = m.OutboxCounts(
            pending=summary.pending,
            digest=summary.digest,
            dead=summary.dead,
            delivered=summary.delivered,
        )
        states = await store.feed_states()
        for feed in await manage.list_feeds(settings, store):
            state = states.get(feed.url)
            health = "new" if state is None or state.last_polled_at is None else state.health
            feeds[health] = feeds.get(health, 0) + 1
    last_error = context.rulebook.last_error
    return m.HealthOut(
        status="ok" if error is None else "degraded",
        started_at=context.started_at,
        uptime_s=round((now - context.started_at).total_seconds(), 3),
        mode="embedded" if settings.embedded else "distributed",
        store=m.StoreHealth(
            backend=_backend(settings.storage), reachable=error is None, error=error
        ),
        feeds=feeds,
        outbox=outbox,
        rules=m.RulesHealth(
            loaded=len(context.rulebook.current.rules),
            last_reload_error=str(last_error) if last_error is not None else None,
        ),
        channels=[_channel_of(c) for c in context.channels],
    )


def _backend(storage: str) -> m.Backend:
    return "sqlite" if storage.startswith("sqlite") else "postgresql"


async def _store_error(context: WebContext) -> str | None:
    """Why the store does not answer within READY_TIMEOUT; None when it does."""
    try:
        await asyncio.wait_for(context.store.ping(), READY_TIMEOUT)
    except TimeoutError:
        return f"the store did not answer within {READY_TIMEOUT:g} s"
    except Exception as exc:  # any failure is the answer
        reason = getattr(exc, "orig", None) or exc
        return f"the store does not answer: {reason}"
    return None


async def _broker_error(context: WebContext) -> str | None:
    """Why no Kafka broker accepts a connection within READY_TIMEOUT; None when one does."""
    servers = context.settings.stream.removeprefix("kafka://").split(",")
    reasons = []
    for server in servers:
        host, _, port = server.strip().rpartition(":")
        if not host:
            host, port = port, "9092"
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), READY_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            reasons.append(f"{server}: {exc or 'no answer'}")
            continue
        writer.close()
        return None
    return "no Kafka broker accepts a connection: " + "; ".join(reasons)


async def readyz(request: web.Request) -> web.Response:
    """Ready: the store answers a query, and in Kafka mode a broker accepts a connection."""
    context = request.app[CONTEXT]
    error = await _store_error(context)
    if error is None and not context.settings.embedded:
        error = await _broker_error(context)
    if error is not None:
        log.warning("not ready: %s", error)
        return web.json_response({"status": "unavailable", "reason": error}, status=503)
    return web.json_response({"status": "ready"})


ROUTES = [
    ApiRoute(
        "GET",
        "/api/alerts",
        "recent alerts, newest first",
        list_alerts,
        list[m.AlertOut],
        query=m.AlertsQuery,
        tag="alerts",
    ),
    ApiRoute(
        "GET",
        "/api/stories",
        "the stories of a recent window with their sources, newest first",
        list_stories,
        list[m.StoryOut],
        query=m.StoriesQuery,
        tag="stories",
    ),
    ApiRoute(
        "GET",
        "/api/feeds",
        "every feed, the config's and those added, with its health and items per day",
        list_feeds,
        list[m.FeedOut],
        query=m.FeedsQuery,
        tag="feeds",
    ),
    ApiRoute(
        "POST",
        "/api/feeds",
        "add a feed, kept in the store; every worker polls it within seconds",
        add_feed,
        m.FeedOut,
        body=m.NewFeed,
        status=201,
        tag="feeds",
        description="400 for a URL that is not http(s), or whose host resolves to a "
        "loopback, private or link-local address (unless fetch.allow_private_networks); "
        "409 when the feed is listed already.",
    ),
    ApiRoute(
        "DELETE",
        "/api/feeds",
        "remove a feed added at run time",
        remove_feed,
        query=m.FeedRef,
        tag="feeds",
        description="404 when no feed has that URL; 409 when it is the config's, "
        "with the file and line to edit.",
    ),
    ApiRoute(
        "GET",
        "/api/rules",
        "every rule, with the stories it alerted on per day",
        list_rules,
        list[m.RuleOut],
        query=m.RulesQuery,
        tag="rules",
    ),
    ApiRoute(
        "POST",
        "/api/rules/test",
        "a query over the recently stored items, as `newsmon replay --query` runs it",
        test_rule,
        m.RuleTestOut,
        body=m.RuleTest,
        tag="rules",
        description="A query that does not parse is a 400 naming the problem.",
    ),
    ApiRoute(
        "GET",
        "/api/health",
        "the service at a glance: feeds, outbox, rules, channels, store",
        health,
        m.HealthOut,
        tag="health",
    ),
]
