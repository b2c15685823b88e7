"""Delivering: an alert sent to its channel, and what the outbox holds due sent
again.

An alert message can come twice (a Kafka rebalance hands it to another
worker): one whose row is settled, delivered or given up, is dropped. Failures,
retries and dead letters are the ``Dispatcher``'s. What comes due again (a
failed attempt's retry, the end of quiet hours, a worker that died holding an
alert) is claimed and planned again, so quiet hours and the rate limit apply
to it then; digests that are due go out as one message per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.core.alerts import Alert
from monitor.core.outbox import ALERT_LEASE, PendingAlert
from monitor.notify.dispatch import Dispatcher
from monitor.store import Store


class Delivering:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        clock: Callable[[], datetime],
        lease: timedelta = ALERT_LEASE,  # of an alert claimed to be sent
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.lease = lease

    async def deliver(
        self,
        alert_id: int,
        alert: Alert,
        attempts: int,
        created_at: datetime | None,
        story: str | None,
    ) -> None:
        """Send one alert of the outbox (``created_at`` None: made now)."""
        if await self.store.is_settled(alert_id):
            return  # a redelivered message about an alert already sent
        now = self.clock()
        await self.dispatcher.deliver(
            alert_id, alert, attempts, created_at or now, now, story=story
        )

    async def due(self) -> list[PendingAlert]:
        """Claim what the outbox holds undelivered and due (after a failure, a
        restart, or the end of quiet hours): the alerts to send now, leased."""
        now = self.clock()
        claimed = await self.store.claim_alerts(now, now + self.lease)
        if not claimed:
            return []  # no need to take the matching lock for nothing
        # planned again: quiet hours may have begun, or the rate limit been reached
        # (at the time of the step, as matching plans: see Matching.match)
        async with self.store.serialized() as unit:
            return await self.dispatcher.replan(claimed, self.clock(), self.lease, unit)

    async def send_digests(self) -> None:
        """Every digest that is due."""
        await self.dispatcher.send_digests(self.clock())
