"""The JSON API's queries, bodies and answers (``monitor.web.api``), as pydantic
models: the routes validate with them and /api/openapi.json is made of them.

Times are ISO 8601 in UTC. No model holds a secret: a channel is its label,
the privacy form of its Apprise URL; the store is named by its kind only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

# --- shared ---------------------------------------------------------------------

WHEN = (
    "a duration back from now (24h, 7d, 90m) or an ISO 8601 date or time "
    "(2024-05-01, 2024-05-01T08:00; in the config's timezone unless it says)"
)


class Highlight(BaseModel):
    """A matched term's place in a snippet's plain text: ``text[start:end]``."""

    start: int
    end: int


class Snippet(BaseModel):
    marked: str = Field(description="as the alert carries it: matched terms as **term**")
    text: str = Field(description="without the marks")
    highlights: list[Highlight] = Field(description="where the marked terms are in text")


class Channel(BaseModel):
    id: str = Field(description="stable id of the Apprise target (a hash of its URL)")
    label: str | None = Field(
        description="the URL in its privacy form, secrets masked; null when no "
        "configured channel has this id any more"
    )
    tags: list[str]


class Source(BaseModel):
    """One outlet's copy of a story."""

    feed: str
    title: str
    link: str
    seen_at: datetime


class DayCount(BaseModel):
    day: date = Field(description="a day in the config's timezone")
    count: int


# --- /api/alerts ----------------------------------------------------------------


class AlertsQuery(BaseModel):
    rule: str | None = Field(default=None, description="only alerts this rule fired")
    channel: str | None = Field(
        default=None, description="only alerts to this channel: its id, or an Apprise tag"
    )
    since: str | None = Field(default=None, description=f"made since: {WHEN}")
    until: str | None = Field(default=None, description=f"made until: {WHEN}")
    limit: int = Field(default=50, ge=1, le=500, description="at most this many, newest first")


AlertState = Literal["pending", "digest", "dead", "sent"]


class AlertOut(BaseModel):
    id: int
    state: AlertState = Field(
        description="pending: to go out on its own (due, retried, or held by quiet "
        "hours, see next_attempt_at); digest: waiting for its channel's digest "
        "(digest_due); dead: given up (error); sent: delivered (sent_at)"
    )
    created_at: datetime = Field(description="when the match made it")
    sent_at: datetime | None
    next_attempt_at: datetime | None = Field(description="pending and digest alerts")
    digest_due: datetime | None
    dead_at: datetime | None
    attempts: int
    error: str | None = Field(description="why the last attempt failed")
    channel: Channel
    title: str
    link: str
    feed: str
    published: datetime | None
    rules: list[str] = Field(description="the rules that fired for this channel")
    terms: list[str] = Field(description="the matched terms")
    snippet: Snippet
    story: str | None = Field(description="the story's id (null for alerts from before stories)")
    other_sources: list[Source] = Field(description="the story's copies from other outlets")


# --- /api/stories ---------------------------------------------------------------


class StoriesQuery(BaseModel):
    since: str = Field(default="24h", description=f"stories first seen since: {WHEN}")
    min_sources: int = Field(
        default=1, ge=1, le=100, description="only stories with at least this many copies"
    )
    limit: int = Field(default=50, ge=1, le=500, description="at most this many, newest first")


class StoryOut(BaseModel):
    id: str
    title: str = Field(description="its first copy's")
    first_seen: datetime
    last_seen: datetime
    sources: list[Source] = Field(description="every copy, oldest first")


# --- /api/feeds -----------------------------------------------------------------


FeedHealth = Literal["ok", "failing", "silent", "new"]


class FeedsQuery(BaseModel):
    days: int = Field(default=7, ge=1, le=90, description="items per day over this many days")


class FeedOut(BaseModel):
    url: str
    name: str | None
    origin: Literal["config", "store"] = Field(
        description="config: listed in monitor.yaml (or an OPML file it names); "
        "store: added with POST /api/feeds or `newsmon feeds add`"
    )
    where: str = Field(description="the file and line that list it, or store")
    added_at: datetime | None = Field(description="when it was added, for a store feed")
    interval_s: float | None = Field(description="pinned; null: learned from its publishing")
    health: FeedHealth = Field(description="new: not polled yet")
    last_polled_at: datetime | None
    last_success_at: datetime | None = Field(
        description="the last poll, when it did not fail; null while it fails"
    )
    last_new_item_at: datetime | None
    last_status: int | None
    last_error: str | None = Field(description="why the last poll failed, while it fails")
    failures: int = Field(description="failed polls in a row")
    next_poll_at: datetime | None
    items_per_day: list[DayCount]


class NewFeed(BaseModel):
    url: str = Field(description="an http:// or https:// feed URL")
    name: str | None = None
    interval: str | None = Field(default=None, description="pins it: 30s, 5m, 1h or seconds")


class FeedRef(BaseModel):
    url: str = Field(description="the feed's URL, as listed")


# --- /api/rules -----------------------------------------------------------------


class RulesQuery(BaseModel):
    days: int = Field(default=7, ge=1, le=90, description="hits per day over this many days")


class RuleOut(BaseModel):
    name: str
    query: str = Field(description="match: as written, or the query its any/all/none lists make")
    notify: list[str] = Field(description="Apprise tags; empty: every channel")
    topic: str
    path: str
    line: int
    hits: list[DayCount] = Field(description="stories it alerted on, per day")


class RuleTest(BaseModel):
    query: str = Field(min_length=1, description="a query in the rule language")
    since: str = Field(default="7d", description=f"over the items seen since: {WHEN}")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many items, newest")


class TestHit(BaseModel):
    seen_at: datetime
    feed: str
    title: str
    link: str
    terms: list[str]
    snippet: Snippet
    other_sources: int = Field(description="other feeds that carried the story")


class TestDay(BaseModel):
    day: date
    items: int = Field(description="items seen that day")
    matches: int = Field(description="stories the query matched that day")


class RuleTestOut(BaseModel):
    query: str
    since: datetime
    until: datetime
    scanned: int
    matched: int = Field(description="items matched, copies of one story included")
    stories: int
    hits: list[TestHit] = Field(description="one per story, newest first, at most limit")
    days: list[TestDay]


# --- /api/health ----------------------------------------------------------------


class OutboxCounts(BaseModel):
    pending: int
    digest: int
    dead: int
    delivered: int


Backend = Literal["sqlite", "postgresql"]


class StoreHealth(BaseModel):
    backend: Backend
    reachable: bool
    error: str | None


class RulesHealth(BaseModel):
    loaded: int
    last_reload_error: str | None = Field(
        description="why the last reload failed; the last good rules keep running"
    )


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="degraded: the store does not answer")
    started_at: datetime
    uptime_s: float
    mode: Literal["embedded", "distributed"]
    store: StoreHealth
    feeds: dict[str, int] = Field(description="how many feeds are in each health state")
    outbox: OutboxCounts | None = Field(description="null when the store does not answer")
    rules: RulesHealth
    channels: list[Channel]
