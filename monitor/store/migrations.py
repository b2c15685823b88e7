"""Schema versions: create a new database, upgrade an older one, refuse a newer one.

A database records its version in the ``schema_version`` table (one row per
change applied; the highest is current). Version 1 is the schema newsmon had
before it kept versions, so a database with the v1 tables and no
``schema_version`` is adopted as version 1. When a store opens,
``prepare_schema``:

- creates a new (empty) database straight from ``monitor.store.schema`` and
  stamps it with the latest version;
- upgrades an older one by running, in order, each step above its version;
- refuses one whose version is newer than this newsmon knows (a ``ConfigError``:
  an older newsmon must not write to a schema it does not understand);
- does nothing more than one read when the version is current.

Creating and upgrading run in one transaction under a lock, so workers that start
together never race: PostgreSQL takes a transaction-scoped advisory lock
(``pg_advisory_xact_lock``, per database) and SQLite a write lock up front
(``BEGIN IMMEDIATE``). Whoever waited re-reads the version and finds the work
done. Both databases have transactional DDL, so a step that fails leaves the
database at the version it had.

Adding a migration:

1. Change the tables in ``monitor/store/schema.py`` (new databases get that).
2. Append ``Step(version=N + 1, summary=..., upgrade=fn)`` to ``STEPS`` below,
   where ``fn(conn)`` turns a version-N database into the new shape with a
   synchronous SQLAlchemy ``Connection`` (``conn.exec_driver_sql("ALTER TABLE
   ...")``, ``Index(...).create(conn)``; branch on ``conn.dialect.name`` where
   SQLite and PostgreSQL differ). Do not call ``metadata.create_all``: it
   describes the newest schema, not version N + 1; a step that builds on
   SQLAlchemy objects declares frozen copies of them, as version 2 does below.
3. Run tests/store/test_schema.py: it upgrades a frozen version-1 database of
   each backend and checks the result matches a newly created one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateColumn

from monitor.core.stories import StorySignature, story_keys
from monitor.errors import ConfigError
from monitor.store.schema import (
    V1_TABLES,
    UTCDateTime,
    metadata,
    schema_version,
    story_item_key,
)

log = logging.getLogger("newsmon.store")

BASELINE = 1  # the schema newsmon created before it recorded versions

# Advisory locks are per database; the key only has to be newsmon's own.
SCHEMA_LOCK = int.from_bytes(b"newsmon", "big")


@dataclass(frozen=True, slots=True)
class Step:
    """One schema change: brings a database at ``version - 1`` to ``version``."""

    version: int
    summary: str
    upgrade: Callable[[Connection], None]


def _add_columns(conn: Connection, table: Table, names: Sequence[str]) -> None:
    """ALTER TABLE ... ADD COLUMN for the columns ``names`` of ``table``, spelt as
    CREATE TABLE spells them on this database (so upgraded and new tables agree)."""
    for column in (table.c[name] for name in names):
        spec = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {spec}")


# Version 2, frozen: the columns and tables it added, as they were then.
_v2 = MetaData()
_v2_feeds = Table(
    "feeds",
    _v2,
    Column("last_new_item_at", UTCDateTime),
    Column("cadence_s", Float),
    Column("health", Text, nullable=False, server_default=text("'ok'")),
)
_v2_outbox = Table(
    "outbox",
    _v2,
    Column("story", Text),
    Column("digest_due", UTCDateTime),
    Column("dead_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),  # from version 1, for the indexes
    Column("channel", Text),  # from version 1, for the indexes
)
_v2_indexes = (
    Index(
        "outbox_one_alert_per_story_and_channel",
        _v2_outbox.c.story,
        _v2_outbox.c.channel,
        unique=True,
    ),
    Index("outbox_digest_due", _v2_outbox.c.delivered_at, _v2_outbox.c.digest_due),
    Index("outbox_dead", _v2_outbox.c.dead_at),
)
_v2_tables = (
    Table(
        "story_items",
        _v2,
        Column("fingerprint", Text, primary_key=True),
        Column("story", Text, nullable=False),
        Column("signature", LargeBinary, nullable=False),
        Column("link", Text, nullable=False),
        Column("feed_title", Text, nullable=False),
        Column("title", Text, nullable=False),
        Column("seen_at", UTCDateTime, nullable=False),
        Index("story_items_story", "story"),
        Index("story_items_seen_at", "seen_at"),
    ),
    Table(
        "messages",
        _v2,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("channel", Text, nullable=False),
        Column("sent_at", UTCDateTime, nullable=False),
        Column("kind", Text, nullable=False),
        Index("messages_by_channel", "channel", "sent_at"),
    ),
)


def _stories_digests_limits_health(conn: Connection) -> None:
    # existing feeds start healthy ('ok'); version-1 alerts get no story (NULL)
    _add_columns(conn, _v2_feeds, ["last_new_item_at", "cadence_s", "health"])
    _add_columns(conn, _v2_outbox, ["story", "digest_due", "dead_at"])
    for index in _v2_indexes:
        index.create(conn)
    for table in _v2_tables:
        table.create(conn)  # with its indexes


# Version 3, frozen: the table of item texts, as it was then.
_v3 = MetaData()
_v3_item_texts = Table(
    "item_texts",
    _v3,
    Column("fingerprint", Text, primary_key=True),
    Column("feed", Text, nullable=False),
    Column("feed_title", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("item_texts_seen_at", "seen_at", "fingerprint"),
)


def _item_texts(conn: Connection) -> None:
    # starts empty: items recorded before version 3 kept no text to replay
    _v3_item_texts.create(conn)  # with its index


# Version 4, frozen: what retention needs, as it was then.
_v4 = MetaData()
_v4_seen_items = Table("seen_items", _v4, Column("last_seen_at", UTCDateTime))
_v4_feeds = Table("feeds", _v4, Column("dropped_before", UTCDateTime))
_v4_messages = Table("messages", _v4, Column("sent_at", UTCDateTime))
_v4_indexes = (
    Index("seen_items_last_seen_at", _v4_seen_items.c.last_seen_at),
    Index("messages_sent_at", _v4_messages.c.sent_at),
)


def _retention(conn: Connection) -> None:
    # An item's mark counts from when it was first seen: the feed may no longer
    # carry it. Feeds start with nothing known (NULL), so every mark of a feed
    # stays until a poll reads it again and says which items it still carries.
    _add_columns(conn, _v4_seen_items, ["last_seen_at"])
    conn.exec_driver_sql("UPDATE seen_items SET last_seen_at = seen_at")
    _add_columns(conn, _v4_feeds, ["dropped_before"])
    for index in _v4_indexes:
        index.create(conn)


# Version 5, frozen: the story index's table, and the key of an item's rows in it.
_v5 = MetaData()
_v5_story_items = Table(
    "story_items",
    _v5,
    Column("fingerprint", Text, primary_key=True),
    Column("signature", LargeBinary),
    Column("link", Text),
    Column("seen_at", UTCDateTime),
    Column("item_key", BigInteger),
)
_v5_story_bands = Table(
    "story_bands",
    _v5,
    Column("band", Integer, primary_key=True, autoincrement=False),
    Column("item_key", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)
_v5_index = Index("story_items_item_key", _v5_story_items.c.item_key)
_V5_BACKFILL = timedelta(days=30)  # the longest story window the config allows
_V5_PAGE = 1000


def _story_bands(conn: Connection) -> None:
    # The index used to be rebuilt in memory from story_items at every start: file
    # the items of the longest window there can be, so copies of the stories seen
    # before the upgrade still join them. Pruning takes out what is past the
    # configured window. Keys are made as this version makes them; a later change
    # to that comes with a step of its own that files the items again.
    _add_columns(conn, _v5_story_items, ["item_key"])
    _v5_index.create(conn)
    _v5_story_bands.create(conn)
    items, bands = _v5_story_items.c, _v5_story_bands
    where = items.seen_at > datetime.now(UTC) - _V5_BACKFILL
    page = select(items.fingerprint, items.signature, items.link, items.seen_at)
    page = page.order_by(items.seen_at, items.fingerprint).limit(_V5_PAGE)
    while rows := conn.execute(page.where(where)).all():
        for row in rows:
            try:
                keys = story_keys(StorySignature.from_bytes(bytes(row.signature)), row.link)
            except ValueError:  # of another signature version: never compared
                continue
            if not keys.all:
                continue
            key = story_item_key(row.fingerprint, row.seen_at)
            conn.execute(bands.insert(), [{"band": k, "item_key": key} for k in set(keys.all)])
            conn.execute(
                update(_v5_story_items)
                .where(items.fingerprint == row.fingerprint)
                .values(item_key=key)
            )
        last = rows[-1]
        where = (items.seen_at > last.seen_at) | (
            (items.seen_at == last.seen_at) & (items.fingerprint > last.fingerprint)
        )


# Version 6, frozen: WebSub subscriptions, as they were then.
_v6 = MetaData()
_v6_websub = Table(
    "websub",
    _v6,
    Column("feed", Text, primary_key=True),
    Column("callback_id", Text, nullable=False),
    Column("hub", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("next_action_at", UTCDateTime),
    Column("lease_expires_at", UTCDateTime),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("revision", Integer, nullable=False),
    Index("websub_callback", "callback_id", unique=True),
    Index("websub_next_action", "next_action_at"),
)


def _websub(conn: Connection) -> None:
    # starts empty: feeds are subscribed as polls find their hubs
    _v6_websub.create(conn)  # with its indexes


# Version 7, frozen: what adaptive polling keeps of a feed, as it was then.
_v7 = MetaData()
_v7_feeds = Table("feeds", _v7, Column("item_gap_s", Float), Column("ttl_s", Float))


def _adaptive_polling(conn: Connection) -> None:
    # nothing learned yet (NULL): each feed starts at default_interval and
    # learns its gap at its next reading
    _add_columns(conn, _v7_feeds, ["item_gap_s", "ttl_s"])


# Version 8, frozen: feeds added at run time, as they were then.
_v8 = MetaData()
_v8_managed_feeds = Table(
    "managed_feeds",
    _v8,
    Column("url", Text, primary_key=True),
    Column("name", Text),
    Column("interval_s", Float),
    Column("added_at", UTCDateTime, nullable=False),
)


def _managed_feeds(conn: Connection) -> None:
    # starts empty: the config's feeds stay in the config
    _v8_managed_feeds.create(conn)


# Version 9, frozen: the dashboard's mutes and acknowledgements, as they were then.
_v9 = MetaData()
_v9_tables = (
    Table(
        "rule_mutes",
        _v9,
        Column("rule", Text, primary_key=True),
        Column("until", UTCDateTime, nullable=False),
        Column("muted_at", UTCDateTime, nullable=False),
    ),
    Table(
        "alert_acks",
        _v9,
        Column("alert_id", BigInteger, primary_key=True, autoincrement=False),
        Column("until", UTCDateTime, nullable=False),
        Column("acked_at", UTCDateTime, nullable=False),
    ),
)


def _mutes_and_acks(conn: Connection) -> None:
    # start empty: nothing muted, nothing acknowledged
    for table in _v9_tables:
        table.create(conn)


def _outbox_by_time(conn: Connection) -> None:
    # version 10: the web API's alerts newest first, and its windows (rule hits)
    conn.exec_driver_sql("CREATE INDEX outbox_created_at ON outbox (created_at, id)")


# In order, without gaps, the first one being version 2.
STEPS: tuple[Step, ...] = (
    Step(
        version=2,
        summary="stories, digests, rate limits, dead letters and feed health",
        upgrade=_stories_digests_limits_health,
    ),
    Step(
        version=3,
        summary="item texts, for replay",
        upgrade=_item_texts,
    ),
    Step(
        version=4,
        summary="retention: when items were last in their feed, pruning by age",
        upgrade=_retention,
    ),
    Step(
        version=5,
        summary="the story index in the store: items filed by their story keys",
        upgrade=_story_bands,
    ),
    Step(
        version=6,
        summary="WebSub subscriptions",
        upgrade=_websub,
    ),
    Step(
        version=7,
        summary="adaptive polling: a feed's usual gap between items, its own ttl",
        upgrade=_adaptive_polling,
    ),
    Step(
        version=8,
        summary="feeds added at run time (newsmon feeds add, the API)",
        upgrade=_managed_feeds,
    ),
    Step(
        version=9,
        summary="the dashboard's rule mutes and alert acknowledgements",
        upgrade=_mutes_and_acks,
    ),
    Step(
        version=10,
        summary="alerts by the time they were made, for the web API",
        upgrade=_outbox_by_time,
    ),
)


def latest_version(steps: Sequence[Step] = STEPS) -> int:
    """The version a database has after ``steps``; checks they are in order."""
    for expected, step in enumerate(steps, start=BASELINE + 1):
        if step.version != expected:
            raise ValueError(f"schema step {step.version} out of order: expected {expected}")
    return steps[-1].version if steps else BASELINE


SCHEMA_VERSION = latest_version()


@dataclass(frozen=True, slots=True)
class _Found:
    version: int  # 0 for a database without newsmon's tables
    recorded: bool  # has a schema_version table


def prepare_schema(conn: Connection, steps: Sequence[Step] = STEPS) -> int:
    """Create, upgrade or check the schema on ``conn``; returns the version it is at.

    Raises ``ConfigError`` for a database newer than ``steps`` know, or when a
    step fails (which leaves the database as it was).
    """
    target = latest_version(steps)
    with conn.begin():
        found = _inspect(conn)
    _refuse_newer(found, target)
    if found.recorded and found.version == target:
        return target

    with conn.begin():
        _lock(conn)
        found = _inspect(conn)  # another worker may have done it while we waited
        _refuse_newer(found, target)
        if found.version == 0:
            metadata.create_all(conn)
            _record(conn, target, "new database")
            log.info("storage: created schema version %d", target)
            return target
        if not found.recorded:
            schema_version.create(conn)
            _record(conn, BASELINE, "version 1, found without a version record")
        for step in steps:
            if step.version <= found.version:
                continue
            try:
                step.upgrade(conn)
            except Exception as exc:
                reason = getattr(exc, "orig", None) or exc
                raise ConfigError(
                    f"upgrading the schema to version {step.version} ({step.summary}) "
                    f"failed, nothing was changed: {reason}"
                ) from exc
            _record(conn, step.version, step.summary)
        if found.version < target:
            log.info("storage: upgraded schema from version %d to %d", found.version, target)
    return target


def _inspect(conn: Connection) -> _Found:
    tables = set(inspect(conn).get_table_names())
    if schema_version.name in tables:
        version = conn.execute(select(func.max(schema_version.c.version))).scalar()
        return _Found(version=int(version or 0), recorded=True)
    return _Found(version=BASELINE if tables & V1_TABLES else 0, recorded=False)


def _refuse_newer(found: _Found, target: int) -> None:
    if found.version > target:
        raise ConfigError(
            f"the database has schema version {found.version}, but this newsmon knows "
            f"versions up to {target}: it was upgraded by a newer newsmon, so run that "
            "version (or point storage: at another database)"
        )


def _lock(conn: Connection) -> None:
    """Serialise schema work across processes until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
    elif conn.dialect.name == "sqlite":
        # The driver opens transactions lazily, before the first INSERT/UPDATE,
        # and runs DDL outside them; an explicit BEGIN makes the DDL part of
        # this transaction and takes the write lock now (others wait, busy timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _record(conn: Connection, version: int, summary: str) -> None:
    conn.execute(
        schema_version.insert().values(
            version=version, applied_at=datetime.now(UTC), summary=summary
        )
    )
