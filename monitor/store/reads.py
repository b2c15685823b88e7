"""The store's reads of what the service did lately, for the web API: the
outbox's alerts in any state, rule hits and feed items counted by the hour,
every feed's state, and a probe that the database answers.

A mixin of ``SqlStore`` (it uses its transactions). The filters and counts are
SQL: an alert's rules are a JSON list in its payload, read with ``json_each``
on SQLite and ``json_array_elements_text`` on PostgreSQL; hours are cut from
the stored UTC times, as text, the same on both.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, select, true
from sqlalchemy.engine import URL, Row

from monitor.core.activity import AlertQuery, AlertRecord, Tally
from monitor.core.alerts import Alert
from monitor.core.feeds import FeedState
from monitor.core.health import Health
from monitor.store.connection import Connection
from monitor.store.schema import feeds, item_texts, outbox

_HOUR_FORMAT = "%Y-%m-%d %H"


class ActivityReads:
    """The web API's reads, on ``SqlStore``'s engine."""

    _dialect: str
    _url: URL
    _memory: bool

    def _tx(self, write: bool) -> AbstractAsyncContextManager[Connection]:
        raise NotImplementedError  # SqlStore's

    async def recent_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        """Outbox rows made in the window, of the rule and channels asked for,
        newest first, at most ``query.limit``."""
        where: list[ColumnElement[bool]] = []
        if query.since is not None:
            where.append(outbox.c.created_at >= query.since)
        if query.until is not None:
            where.append(outbox.c.created_at <= query.until)
        if query.channels is not None:
            where.append(outbox.c.channel.in_(query.channels))
        if query.rule is not None:
            rules = self._rules_of()
            where.append(
                exists(select(literal(1)).select_from(rules).where(rules.c.value == query.rule))
            )
        statement = (
            select(outbox)
            .where(and_(true(), *where))
            .order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
            .limit(query.limit)
        )
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(statement)).all()
        return [_record(row) for row in rows]

    async def rule_hits(self, since: datetime) -> list[Tally]:
        """Each rule's stories alerted on, by the hour their alerts were made,
        since ``since``: a story alerted on several channels counts once."""
        rules = self._rules_of()
        hour = self._hour(outbox.c.created_at)
        story = func.coalesce(outbox.c.story, outbox.c.fingerprint)
        statement: Select[Any] = (
            select(rules.c.value, hour, func.count(story.distinct()))
            .select_from(outbox)
            .join(rules, true())
            .where(outbox.c.created_at >= since)
            .group_by(rules.c.value, hour)
        )
        return await self._tallies(statement)

    async def feed_items(self, since: datetime) -> list[Tally]:
        """Each feed's items seen since ``since`` (of those whose text is kept), by the hour."""
        hour = self._hour(item_texts.c.seen_at)
        statement: Select[Any] = (
            select(item_texts.c.feed, hour, func.count())
            .where(item_texts.c.seen_at >= since)
            .group_by(item_texts.c.feed, hour)
        )
        return await self._tallies(statement)

    async def feed_states(self) -> dict[str, FeedState]:
        """The state of every feed the store has polled, by URL."""

        async with self._tx(write=False) as conn:
            rows = (await conn.execute(select(feeds))).all()
        return {row.url: feed_state(row) for row in rows}

    async def ping(self) -> None:
        """Raise unless the database answers a query that reads it. A SQLite
        file is opened anew for it: the service's own connection would go on
        reading a file deleted or replaced under it."""
        if self._dialect == "sqlite" and not self._memory:
            _ping_sqlite_file(Path(self._url.database or ""))
            return
        async with self._tx(write=False) as conn:
            await conn.execute(select(func.count()).select_from(feeds).limit(1))

    # --- SQL of each dialect -------------------------------------------------

    def _rules_of(self) -> Any:
        """The rule names in an outbox row's payload, as a table of ``value``s
        correlated with ``outbox``."""
        if self._dialect == "sqlite":
            return func.json_each(outbox.c.payload, "$.rules").table_valued("value")
        return (
            func.json_array_elements_text(outbox.c.payload["rules"]).table_valued("value").lateral()
        )

    def _hour(self, column: Any) -> ColumnElement[str]:
        """The UTC hour of a stored time, as text: ``2024-05-01 12``."""
        if self._dialect == "sqlite":  # naive UTC text, fixed width
            return func.substr(column, 1, 13)
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")

    async def _tallies(self, statement: Select[Any]) -> list[Tally]:
        async with self._tx(write=False) as conn:
            rows = (await conn.execute(statement)).all()
        return [
            Tally(key, datetime.strptime(hour, _HOUR_FORMAT).replace(tzinfo=UTC), int(count))
            for key, hour, count in rows
        ]


def _ping_sqlite_file(path: Path) -> None:
    import sqlite3

    # mode=rw: a missing file is an error, not a new empty database
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=1.0)
    try:
        connection.execute("SELECT max(version) FROM schema_version").fetchone()
    finally:
        connection.close()


def _record(row: Row[Any]) -> AlertRecord:
    return AlertRecord(
        id=int(row.id),
        alert=Alert.from_json(row.payload),
        story=row.story,
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
        digest_due=row.digest_due,
        dead_at=row.dead_at,
        last_error=row.last_error,
    )


def feed_state(row: Row[Any]) -> FeedState:
    """A feeds row as the FeedState it holds."""
    return FeedState(
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        failures=row.failures,
        last_status=row.last_status,
        last_error=row.last_error,
        last_new_item_at=row.last_new_item_at,
        cadence_s=row.cadence_s,
        health=cast(Health, row.health),
        item_gap_s=row.item_gap_s,
        ttl_s=row.ttl_s,
    )
