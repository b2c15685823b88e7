"""State of the service behind one interface: feed schedule, HTTP validators and
health, seen items (with their texts, for a while) and the stories they belong
to (with the index a new item's story is found by), the alert outbox (with its
digests and dead letters) and its history, and the messages sent per channel.

``await open_store(url)`` picks the backend from the URL and returns it opened:
``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite://``
(in memory) or ``postgresql://user:pass@host:5432/db`` (also spelt
``postgres://`` or ``postgresql+asyncpg://``; through asyncpg). One SQLAlchemy
implementation (``monitor.store.sql``) serves them all. Opening creates the
schema, or upgrades it (``monitor.store.migrations``); several workers may open
one PostgreSQL database at once and share it.

All datetimes going in must be timezone-aware; all coming out are aware UTC.

An outbox row is, at any time, one of:

- *pending*: waiting to be sent on its own from ``next_attempt_at`` on
  (``claim_alerts``), or leased to whoever is sending it;
- *in a digest*: ``digest_due`` is set; it goes out with the rest of its
  channel's digest once that time (and its ``next_attempt_at``) has come
  (``claim_digests``);
- *dead*: delivery was given up (``mark_dead``); it stays for ``dead_letters``
  and is never claimed again;
- *delivered*: history.

Dead and delivered rows are pruned after ``retention.alerts`` (``prune``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from monitor.core.activity import AlertQuery, AlertRecord, Tally
from monitor.core.alerts import Alert
from monitor.core.feeds import DueFeed, FeedState, ManagedFeed
from monitor.core.items import Item, StoredItem
from monitor.core.marks import Ack, Mute
from monitor.core.outbox import MessageKind, OutboxSummary, PendingAlert, Plan
from monitor.core.retention import Cutoffs, Pruned
from monitor.core.stories import StoryEntry, StoryKeys, StoryRow, StorySource
from monitor.core.websub import Subscription


class StoreUnit(Protocol):
    """The store calls of one ``Store.serialized`` transaction: what matching an
    item needs to read and write while no other worker matches."""

    async def story_candidates(
        self, keys: StoryKeys, since: datetime, limit: int = 100
    ) -> list[StoryRow]:
        """The story items seen after ``since`` that were filed under one of
        ``keys`` (``record_item`` files them), oldest first: of those, the
        ``limit`` that share the most keys, one that carries the link first."""

    async def counted(
        self, channel: str, since: datetime, until: datetime, excluding: Sequence[int] = ()
    ) -> int:
        """What counts against ``channel``'s rate limit: the messages sent to it
        after ``since`` (strictly), and its undelivered alerts to go out on their
        own by ``until`` (leased to be sent now, or due for a retry), but those of
        the ids ``excluding``. Read at one instant, so an alert that another
        worker delivers meanwhile counts once, as going out or as sent."""

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story: StoryEntry | None = None,
        plans: Mapping[str, Plan] | None = None,
    ) -> dict[str, int]:
        """``Store.record_item``, in this transaction."""

    # ``record_item`` in three steps, so that a batch of firing items takes a
    # statement or two for what every item writes (matching's serialized step)

    async def mark_seen(self, items: Sequence[Item], now: datetime) -> set[str]:
        """Mark ``items`` seen, and return the fingerprints of those not seen
        before (an item twice in ``items`` among them once): the ones to record.
        An item seen before is left as it is."""

    async def enqueue(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story_id: str,
        plans: Mapping[str, Plan],
    ) -> dict[str, int]:
        """Put a new item's alerts in the outbox as ``Store.record_item`` does,
        for the story ``story_id``: the new ids by channel."""

    async def keep(self, entries: Sequence[tuple[Item, StoryEntry | None]], now: datetime) -> None:
        """Keep the new items' texts, and add each to its story and the story
        index (``story_candidates``), as ``Store.record_item`` does."""

    async def replan(self, alert_id: int, plan: Plan) -> None:
        """Put an undelivered alert back as planned again: held until
        ``plan.not_before``, or into the digest due at ``plan.digest_due``."""


class Store(Protocol):
    """What the service and the commands ask of the state store, and no more."""

    async def open(self) -> None:
        """Connect; create the schema when missing, upgrade it when older.

        Raises ``ConfigError`` when the database cannot be reached or prepared,
        or was upgraded by a newer newsmon.
        """

    async def close(self) -> None: ...

    # feeds -------------------------------------------------------------
    async def feed_state(self, url: str) -> FeedState | None: ...

    async def save_feed_state(self, state: FeedState) -> None: ...

    async def due_feeds(self, urls: Sequence[str], now: datetime) -> list[DueFeed]:
        """Those of ``urls`` whose next poll is due (never polled counts as due),
        in the order given, with when each was due and last polled."""

    async def claim_feed(self, url: str, now: datetime, until: datetime) -> bool:
        """Lease the feed to ``until`` only if it is due at ``now``, atomically.

        True for exactly one of several workers racing for the same due feed.
        """

    async def take_poll(self, url: str, until: datetime) -> bool:
        """Take the poll that the claim leasing the feed to ``until`` asked for:
        True for the first worker to take it, False once it is taken (or the
        feed was claimed again since). Kafka may hand a poll request to a second
        worker while the first still polls: only one of them fetches."""

    # feeds added at run time (beside the config's) -----------------------
    async def managed_feeds(self) -> list[ManagedFeed]:
        """The feeds added at run time, by URL."""

    async def add_managed_feed(self, feed: ManagedFeed) -> bool:
        """Keep ``feed`` (its ``added_at`` set); False, and no change, when its
        URL is there already."""

    async def remove_managed_feed(self, url: str) -> bool:
        """Forget the feed added at run time with this URL; False when there is none."""

    # items and outbox --------------------------------------------------
    async def record_quiet(self, items: Sequence[Item], now: datetime) -> None:
        """Mark items that alert no one seen and keep their texts, all in one
        transaction: most items are these, and a transaction each was the
        ingest's ceiling. Items seen before are left as they are."""

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        story: StoryEntry | None = None,
        plans: Mapping[str, Plan] | None = None,
    ) -> dict[str, int]:
        """Atomically mark the item seen, keep its text (``items_since``) and put
        its alerts in the outbox. Returns the new outbox ids by channel.

        ``story``: the item belongs to that story; it is kept for
        ``reported_stories`` and ``story_sources``, and filed in the story index
        under its keys (``StoreUnit.story_candidates``). Each alert is for the story
        (the item's own fingerprint when ``story`` is None), and a story makes at
        most one alert per channel: an alert for a channel that already has one
        for the story (a later copy of the story) is skipped, and that channel
        is left out of the result.

        ``plans`` (by channel id) say when each channel's alert goes out: its
        first attempt and the digest it waits for. A channel without a plan
        gets its first attempt at ``now`` and no digest.

        An empty result, and no change, when the item was already seen (a
        restart or a redelivery never re-alerts).
        """

    async def reported_stories(self, since: datetime, sources: int = 2) -> list[str]:
        """The stories with at least ``sources`` copies recorded after ``since``,
        by their first such copy (``newsmon stories``): counted in the store,
        which may hold a million story items."""

    async def story_sources(self, story_id: str) -> list[StorySource]:
        """Every recorded copy of a story, oldest first."""

    def items_since(self, since: datetime, batch: int = 500) -> AsyncIterator[list[StoredItem]]:
        """The recorded items whose text is kept, seen at or after ``since``, oldest
        first (by seen time, then fingerprint), ``batch`` at a time: each batch is
        its own short read, so a big store is never read in one go or held open
        while the caller works on a batch."""

    async def count_items_since(self, since: datetime) -> int:
        """How many items ``items_since`` would yield."""

    async def carried(
        self,
        feed: str,
        fingerprints: Sequence[str],
        now: datetime,
        fresh_since: datetime,
        *,
        whole: bool = True,
    ) -> set[str]:
        """A poll at ``now`` read ``feed``, which carries these items: returns
        those never seen. The marks of the others are refreshed to ``now`` when
        older than ``fresh_since``, and the feed notes that its items with a
        mark older than that are no longer in it (``prune`` may forget them).
        One transaction (see ``monitor.core.retention``). ``whole=False``: these
        are only some of the feed's items (a hub's push), so nothing is noted of
        the others."""

    async def prune(self, cuts: Cutoffs, batch: int = 500) -> Pruned:
        """Forget what is older than ``cuts``: item texts, seen marks of items
        their feed no longer carries, story members and their rows in the story
        index, messages, and delivered and dead alerts (never one still to be
        sent). Oldest first, ``batch`` rows per transaction, so writers are
        never held up for long. Several
        workers may prune at once: each skips the rows another is deleting.
        Returns how many rows of each kind went."""

    async def claim_alerts(
        self, now: datetime, until: datetime, limit: int = 100
    ) -> list[PendingAlert]:
        """Outbox rows to be sent on their own whose next attempt is due, oldest
        first (neither digest rows nor dead ones), their next attempt pushed to
        ``until`` in the same step, so no other caller (a retry loop, another
        worker) gets them meanwhile.

        A crashed deliverer's claims lapse at ``until`` and are tried again;
        ``mark_delivered``/``mark_failed``/``mark_dead`` settle a claimed row.
        """

    async def claim_digests(self, now: datetime, until: datetime) -> dict[str, list[PendingAlert]]:
        """The digest rows due at ``now`` (their ``digest_due`` and next attempt
        have come), by channel, oldest first; atomically leased to ``until`` like
        ``claim_alerts``, so each row goes to one caller. A channel with nothing
        due is absent.

        ``mark_delivered_many`` settles a sent digest; ``mark_failed`` its rows,
        which stay in the digest, for a retry.
        """

    async def mark_delivered(self, alert_id: int, now: datetime) -> None:
        """The alert was sent: it becomes history (even a dead letter: a sender
        whose claim lapsed got it through after all), and the message is
        recorded for its channel's rate limit (kind ``alert``)."""

    async def mark_delivered_many(
        self, alert_ids: Sequence[int], now: datetime, kind: MessageKind = "digest"
    ) -> None:
        """The alerts went out together in one message (a digest): all become
        history, and one message is recorded per channel they belong to."""

    async def mark_failed(
        self, alert_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        """An attempt failed; the next one is due at ``next_attempt_at``."""

    async def mark_dead(self, alert_id: int, error: str, now: datetime) -> None:
        """An attempt failed and delivery is given up: the row is a dead letter,
        never claimed again. No change to a row already delivered or dead."""

    async def dead_letters(self, limit: int = 100) -> list[PendingAlert]:
        """The dead rows, most recently given up first."""

    async def record_message(self, channel: str, now: datetime, kind: MessageKind) -> None:
        """A message not from the outbox (an admin alert) was sent to ``channel``."""

    def serialized(self) -> AbstractAsyncContextManager[StoreUnit]:
        """One transaction that no other worker's ``serialized`` runs beside: a
        story joined, its alerts planned against the channels' counts and
        enqueued, all as one step, so copies of a story matched on two workers at
        the same moment make one alert, and the workers keep to one rate limit."""

    async def unsettled_for(self, fingerprint: str) -> list[PendingAlert]:
        """An item's alerts still to be sent on their own (not in a digest): what a
        redelivered item must hand to the notify agent again."""

    async def is_settled(self, alert_id: int) -> bool:
        """Whether the outbox row is delivered or dead (or gone): a redelivered
        message about it (a Kafka rebalance) must not send it again."""

    async def outbox_summary(self) -> OutboxSummary:
        """How many outbox rows are pending, in a digest, dead and delivered."""

    # what the service did lately, for the web API (monitor.store.reads) ----
    async def recent_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        """Outbox rows in any state, newest first, filtered in SQL by time,
        rule and channel."""

    async def rule_hits(self, since: datetime) -> list[Tally]:
        """Each rule's stories alerted on since ``since``, by the hour."""

    async def feed_items(self, since: datetime) -> list[Tally]:
        """Each feed's items seen since ``since`` (texts kept), by the hour."""

    async def feed_states(self) -> dict[str, FeedState]:
        """Every feed's state the store has, by URL."""

    async def ping(self) -> None:
        """Raise unless the database answers a query that reads it."""

    # WebSub subscriptions (monitor.core.websub) ---------------------------
    async def subscription(self, feed: str) -> Subscription | None: ...

    async def subscription_by_callback(self, callback_id: str) -> Subscription | None: ...

    async def subscriptions(self) -> list[Subscription]: ...

    async def due_subscriptions(self, now: datetime, limit: int = 100) -> list[Subscription]:
        """Subscriptions whose next action is due, soonest first (read only:
        ``swap_subscription`` claims one)."""

    async def swap_subscription(self, old: Subscription | None, new: Subscription | None) -> bool:
        """Replace ``old`` by ``new`` (None: delete it; ``old`` None: add ``new``
        for a feed that has none) only if the row is still at ``old.revision``,
        atomically; the row's revision grows by one. False, and no change, when
        another writer (worker, verification) changed it first."""

    async def poll_soon(self, url: str, at: datetime) -> None:
        """Bring the feed's next poll forward to ``at`` when it is later."""

    # the dashboard (monitor.core.marks) ------------------------------------
    async def mute_rule(self, rule: str, until: datetime, now: datetime) -> Mute:
        """Mute ``rule`` until ``until`` (replacing a mute it has)."""

    async def unmute_rule(self, rule: str) -> bool:
        """End the rule's mute now; False when it had none."""

    async def mutes(self, now: datetime) -> list[Mute]:
        """The mutes that last beyond ``now``, by rule."""

    async def acknowledge(self, alert_id: int, until: datetime, now: datetime) -> Ack | None:
        """Acknowledge the alert until ``until``; None when there is no such alert."""

    async def unacknowledge(self, alert_id: int) -> bool:
        """End the alert's acknowledgement now; False when it had none."""

    async def acknowledgements(self, now: datetime) -> list[Ack]:
        """The acknowledgements that last beyond ``now``, by alert."""

    async def alerts_after(self, after_id: int, limit: int = 100) -> list[AlertRecord]:
        """The outbox rows with ids above ``after_id``, lowest first: the
        alerts recorded since (by any worker: matching records them one
        serialized step at a time, so ids are committed in order)."""

    async def last_alert_id(self) -> int:
        """The highest outbox id (0 when there is none)."""


async def open_store(url: str) -> Store:
    """The store behind ``url``, opened (schema created or upgraded).

    Raises ``ConfigError`` for a URL no backend understands, a database that
    cannot be reached, or one whose schema is newer than this newsmon's.
    """
    from monitor.store.sql import SqlStore  # the SQL backend pulls in SQLAlchemy

    store = SqlStore(url)
    await store.open()
    return store
