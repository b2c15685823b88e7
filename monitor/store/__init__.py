"""State of the service behind one interface: feed schedule and HTTP validators,
seen items, the alert outbox and its history.

``await open_store(url)`` picks the backend from the URL and returns it opened:
``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite://``
(in memory) or ``postgresql://user:pass@host:5432/db`` (also spelt
``postgres://`` or ``postgresql+asyncpg://``; through asyncpg). One SQLAlchemy
implementation (``monitor.store.sql``) serves them all. Opening creates the
schema, or upgrades it (``monitor.store.migrations``); several workers may open
one PostgreSQL database at once and share it.

All datetimes going in must be timezone-aware; all coming out are aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.core.alerts import Alert
from monitor.core.items import Item


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we remember of one feed between polls."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None  # UTC; None = due now
    last_polled_at: datetime | None = None
    failures: int = 0  # consecutive failed polls
    last_status: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An outbox row not yet delivered."""

    id: int
    alert: Alert
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


class Store(Protocol):
    async def open(self) -> None:
        """Connect; create the schema when missing, upgrade it when older.

        Raises ``ConfigError`` when the database cannot be reached or prepared,
        or was upgraded by a newer newsmon.
        """

    async def close(self) -> None: ...

    # feeds -------------------------------------------------------------
    async def feed_state(self, url: str) -> FeedState | None: ...

    async def save_feed_state(self, state: FeedState) -> None: ...

    async def due_feeds(self, urls: Sequence[str], now: datetime) -> list[str]:
        """Those of ``urls`` whose next poll is due (never polled counts as due)."""

    async def lease_feed(self, url: str, until: datetime) -> None:
        """Push a feed's next poll to ``until`` so the scheduler does not send it twice."""

    async def claim_feed(self, url: str, now: datetime, until: datetime) -> bool:
        """Lease the feed to ``until`` only if it is due at ``now``, atomically.

        True for exactly one of several workers racing for the same due feed.
        """

    # items and outbox --------------------------------------------------
    async def unseen(self, fingerprints: Sequence[str]) -> set[str]:
        """Those fingerprints not yet recorded."""

    async def record_item(
        self,
        item: Item,
        alerts: Sequence[Alert],
        now: datetime,
        lease_until: datetime | None = None,
    ) -> list[int]:
        """Atomically mark the item seen and put its alerts in the outbox.

        ``lease_until`` keeps the new alerts from the retry loop while the caller
        hands them to the notify agent; if that never settles them, they are
        retried from then on.

        Returns the outbox ids of the new alerts; an empty list and no change
        when the item was already seen (a restart or a redelivery never re-alerts).
        """

    async def due_alerts(self, now: datetime, limit: int = 100) -> list[PendingAlert]:
        """Undelivered outbox rows whose next attempt is due, oldest first."""

    async def lease_alert(self, alert_id: int, until: datetime) -> None:
        """Push an undelivered alert's next attempt to ``until`` (it is being sent)."""

    async def claim_alerts(
        self, now: datetime, until: datetime, limit: int = 100
    ) -> list[PendingAlert]:
        """Like ``due_alerts``, but atomically pushes their next attempt to ``until``
        so no other caller (a retry loop, another worker) gets them meanwhile.

        A crashed deliverer's claims lapse at ``until`` and are tried again;
        ``mark_delivered``/``mark_failed`` settle a claimed row.
        """

    async def mark_delivered(self, alert_id: int, now: datetime) -> None: ...

    async def mark_failed(
        self, alert_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...

    async def delivered_count(self) -> int: ...

    async def pending_count(self) -> int:
        """Outbox rows not delivered yet, due or not."""


async def open_store(url: str) -> Store:
    """The store behind ``url``, opened (schema created or upgraded).

    Raises ``ConfigError`` for a URL no backend understands, a database that
    cannot be reached, or one whose schema is newer than this newsmon's.
    """
    from monitor.store.sql import SqlStore  # the SQL backend pulls in SQLAlchemy

    store = SqlStore(url)
    await store.open()
    return store
