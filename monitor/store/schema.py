"""The store's tables as they are now: the shape every query in ``monitor.store.sql``
expects, and what a new database is created with.

Changing anything here changes the schema: add a step to
``monitor.store.migrations`` that brings an older database to the new shape
(tests/store/test_schema.py compares an upgraded version-1 database with a new
one and fails until the two agree).

Column types are portable: TEXT, INTEGER, BIGINT (INTEGER on SQLite, whose
autoincrement needs it), FLOAT, JSON, binary (BYTEA, BLOB), and ``UTCDateTime``,
which is ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and naive UTC text on SQLite.
Uniqueness added after version 1 is a unique index, not a constraint: SQLite
cannot add a constraint to an existing table without rebuilding it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps.

    SQLite has no time zones: values are stored as naive UTC text of fixed width,
    so comparisons in SQL stay correct. A naive datetime going in is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_poll_at", UTCDateTime),
    Column("last_polled_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_status", Integer),
    Column("last_error", Text),
    # feed health (version 2): when it last brought something new, its usual gap
    # between new items, and the state last alerted on, so an alert fires once
    # per change of state
    Column("last_new_item_at", UTCDateTime),
    Column("cadence_s", Float),
    Column("health", Text, nullable=False, default="ok", server_default=text("'ok'")),
    # version 4: seen marks of this feed's items from before this time are of
    # items its last reading no longer carried (monitor.core.retention); NULL:
    # not read since, nothing known, every mark kept
    Column("dropped_before", UTCDateTime),
    # version 7: adaptive polling (monitor.core.schedule): the feed's usual gap
    # between items as published, which its interval is learned from, and how
    # long its last reading said it stays fresh (<ttl>, sy:updatePeriod)
    Column("item_gap_s", Float),
    Column("ttl_s", Float),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("feed", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    # version 4: when a poll last found the item in its feed (refreshed at most
    # hourly); the mark is pruned after retention.items from then, once the
    # feed no longer carries it. Set on every row; nullable only because SQLite
    # cannot add a NOT NULL column without a default
    Column("last_seen_at", UTCDateTime),
    Index("seen_items_last_seen_at", "last_seen_at"),
)

outbox = Table(
    "outbox",
    metadata,
    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("payload", JSON, nullable=False),  # Alert.to_json()
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("last_error", Text),
    # version 2: the story the alert is about (the item's own fingerprint when it
    # belongs to none; NULL in rows from version 1), the digest the row waits
    # for (NULL: sent on its own), and when delivery was given up
    Column("story", Text),
    Column("digest_due", UTCDateTime),
    Column("dead_at", UTCDateTime),
    UniqueConstraint("fingerprint", "channel", name="outbox_one_alert_per_item_and_channel"),
    # one alert per story per channel; NULLs are distinct, so version-1 rows never clash
    Index("outbox_one_alert_per_story_and_channel", "story", "channel", unique=True),
    Index("outbox_due", "delivered_at", "next_attempt_at"),
    Index("outbox_digest_due", "delivered_at", "digest_due"),
    Index("outbox_dead", "dead_at"),
    # version 10: the web API lists alerts newest first, and counts a window's
    Index("outbox_created_at", "created_at", "id"),
)

# Recorded items that belong to a story (version 2): a story's sources are listed
# from them, and a new item is compared with the signatures of those that share
# a key with it (story_bands).
story_items = Table(
    "story_items",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("story", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),  # StorySignature.to_bytes()
    Column("link", Text, nullable=False),
    Column("feed_title", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    # version 5: the item's rows in story_bands are under this key
    # (``story_item_key``); NULL when it has none (they were pruned at the end of
    # the story window, or its signature has no keys)
    Column("item_key", BigInteger),
    Index("story_items_story", "story"),
    Index("story_items_seen_at", "seen_at"),
    Index("story_items_item_key", "item_key"),
)

# The story index (version 5): every story item of the story window filed under
# each of its keys (``monitor.core.stories.story_keys``: one a band of its
# signature, one its link), so the items that share a key with a new one are
# found through the primary key, however many the window holds. Some 65 rows an
# item: a narrow table, without rowids on SQLite.
story_bands = Table(
    "story_bands",
    metadata,
    Column("band", Integer, primary_key=True, autoincrement=False),
    Column("item_key", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def story_item_key(fingerprint: str, seen_at: datetime) -> int:
    """An item's key in story_bands: the millisecond it was seen, then 20 bits of
    a hash of its fingerprint. Keys grow with time, so a story window is a range
    of keys, searched within the primary key. Two items may share a key (seen the
    same millisecond, and the hashes agree): each is then a candidate when the
    other is, which the signatures settle."""
    digest = hashlib.blake2b(fingerprint.encode("utf-8"), digest_size=4).digest()
    return story_item_keys_from(seen_at) | (int.from_bytes(digest, "little") & 0xFFFFF)


def story_item_keys_from(at: datetime) -> int:
    """The lowest key of an item seen at ``at`` or after (or a little before: in
    its millisecond)."""
    return ((at - _EPOCH) // timedelta(milliseconds=1)) << 20


# The text of every recorded item (version 3), written with its seen_items row,
# for ``newsmon replay``; pruned after ``retention.items``. Kept apart from
# seen_items, whose fingerprints must outlive the texts (a restart never
# re-alerts).
item_texts = Table(
    "item_texts",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("feed", Text, nullable=False),  # the feed's URL
    Column("feed_title", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("seen_at", UTCDateTime, nullable=False),
    # replay pages through it in (seen_at, fingerprint) order; pruning picks the oldest
    Index("item_texts_seen_at", "seen_at", "fingerprint"),
)

# Every message actually sent to a channel (version 2), for its rate limit.
messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("kind", Text, nullable=False),  # 'alert', 'digest' or 'admin'
    Index("messages_by_channel", "channel", "sent_at"),
    Index("messages_sent_at", "sent_at"),  # version 4: pruning picks the oldest
)

# WebSub subscriptions (version 6), one per feed (monitor.core.websub): the hub
# and topic, the secret its pushes are signed with, the state, when the lease
# ends and when to ask the hub next. In the store, so that any worker answers
# a hub's verification or push, and renews after a restart. ``revision`` grows
# with every write: a write is made only on the revision it was decided from.
websub = Table(
    "websub",
    metadata,
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

# Feeds added at run time (version 8: ``newsmon feeds add``, the API), beside
# the config's; every worker reads them (monitor.pipeline.feedbook). ``interval_s``
# NULL: learned from the feed's publishing, as for a config feed without one.
managed_feeds = Table(
    "managed_feeds",
    metadata,
    Column("url", Text, primary_key=True),
    Column("name", Text),
    Column("interval_s", Float),
    Column("added_at", UTCDateTime, nullable=False),
)

# The dashboard's marks (version 9), in the store so that every worker keeps
# them: a muted rule fires no alert until ``until`` (the matching stage leaves
# it out); an acknowledged alert is shown as seen until ``until``. Rows past
# their ``until`` mean nothing and are cleared as new marks are written.
rule_mutes = Table(
    "rule_mutes",
    metadata,
    Column("rule", Text, primary_key=True),
    Column("until", UTCDateTime, nullable=False),
    Column("muted_at", UTCDateTime, nullable=False),
)
alert_acks = Table(
    "alert_acks",
    metadata,
    Column("alert_id", BigInteger, primary_key=True, autoincrement=False),  # outbox.id
    Column("until", UTCDateTime, nullable=False),
    Column("acked_at", UTCDateTime, nullable=False),
)

# One row per schema change applied to this database; the highest version is the
# database's. Migrations read it before anything else, so its shape never changes.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
    Column("summary", Text, nullable=False),
)

# The tables of version 1, which newsmon created before it recorded a version.
V1_TABLES = frozenset({"feeds", "seen_items", "outbox"})
