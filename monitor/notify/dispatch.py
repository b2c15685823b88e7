"""The outbox's side of delivery: when each alert goes out, and what happens when
it cannot.

- ``plan``: per channel, now, at the end of quiet hours, or in a digest (the
  channel's or the rule's, or the next hour's when the channel is over its
  rate limit): ``monitor.core.delivery.plan_delivery`` says which; nothing is
  dropped.
- ``replan``: an alert that comes due again (its quiet hours ended, or a failed
  attempt is to be retried) is planned again by the same planner, so the rate
  limit and quiet hours apply to it then.
- ``deliver``: one alert, with the other feeds that carried its story. A
  failure is retried with backoff until ``max_age``; then the alert is
  dead-lettered, logged and reported to the channels tagged ``admin``.
- ``send_digests``: every digest that is due, one message per channel; a digest
  failing past ``max_age`` is dead-lettered the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from monitor.core.alerts import Alert, Fired
from monitor.core.delivery import plan_delivery
from monitor.core.observe import NO_OBSERVER, Observer
from monitor.core.outbox import PendingAlert, Plan, next_attempt
from monitor.core.policy import (
    RATE_WINDOW,
    ChannelPolicy,
    Decision,
    Digest,
    DigestSchedule,
    HoldUntil,
)
from monitor.notify.deliver import Deliverer, options_for
from monitor.notify.templates import Source
from monitor.store import Store, StoreUnit

if TYPE_CHECKING:
    from monitor.config import ChannelOptions

log = logging.getLogger("newsmon.outbox")

DIGEST_LEASE = timedelta(minutes=2)


@dataclass
class Dispatcher:
    store: Store
    deliverer: Deliverer
    options: Mapping[str, ChannelOptions]  # by Apprise tag
    timezone: ZoneInfo
    max_age: timedelta = timedelta(hours=24)
    observer: Observer = NO_OBSERVER  # told of each alert sent or failed

    def policy(self, channel_id: str) -> ChannelPolicy | None:
        channel = self.deliverer.channels.get(channel_id)
        chosen = options_for(channel, self.options) if channel else None
        if chosen is None:
            return None
        return ChannelPolicy(
            digest=chosen.digest,
            quiet=chosen.quiet,
            max_per_hour=chosen.max_per_hour,
            tz=chosen.timezone or self.timezone,
        )

    async def plan(
        self,
        alerts: Sequence[Alert],
        fired: Iterable[Fired],
        now: datetime,
        lease: timedelta,
        unit: StoreUnit,
    ) -> dict[str, Plan]:
        """When each alert is to go out; those sent now are leased to the notify
        agent. ``unit``: the ``serialized`` transaction the alerts are enqueued in,
        so the rate limit counts every worker's alerts."""
        digests = {f.rule: f.digest for f in fired}
        return {
            alert.channel: await self._plan(
                alert, [digests.get(rule) for rule in alert.rules], now, lease, unit
            )
            for alert in alerts
        }

    async def replan(
        self, rows: Sequence[PendingAlert], now: datetime, lease: timedelta, unit: StoreUnit
    ) -> list[PendingAlert]:
        """Plan again the alerts that came due (quiet hours over, or a retry):
        those to send now are returned, leased; the others are put back in the
        outbox, held again or moved into a digest."""
        send = []
        for i, row in enumerate(rows):
            # the claim leased them all: those not decided yet do not count
            undecided = [r.id for r in rows[i:]]
            plan = await self._plan(row.alert, [], now, lease, unit, undecided)
            if plan.sends_now:
                send.append(row)
            else:
                await unit.replan(row.id, plan)
        return send

    async def _plan(
        self,
        alert: Alert,
        rule_digests: Sequence[DigestSchedule | None],
        now: datetime,
        lease: timedelta,
        unit: StoreUnit,
        undecided: Sequence[int] = (),
    ) -> Plan:
        policy = self.policy(alert.channel)
        sent = 0
        if policy is not None and policy.max_per_hour is not None:
            # in the database, so two workers count each other's: messages sent in
            # the last hour, and alerts enqueued to go out on their own (those of
            # this transaction and every worker's before it)
            sent = await unit.counted(alert.channel, now - RATE_WINDOW, now + lease, undecided)
        decision: Decision = plan_delivery(rule_digests, policy, sent, now, self.timezone)
        if isinstance(decision, Digest):
            return Plan(not_before=decision.due, digest_due=decision.due)
        if isinstance(decision, HoldUntil):
            return Plan(not_before=decision.when)
        return Plan(not_before=now + lease, sends_now=True)

    async def sources(self, alert: Alert, story: str | None) -> list[Source]:
        """The other feeds that carried this alert's story."""
        if not story:
            return []
        rows = await self.store.story_sources(story)
        return [(r.feed_title, r.link) for r in rows if r.link != alert.link]

    async def deliver(
        self,
        alert_id: int,
        alert: Alert,
        attempts: int,
        created_at: datetime,
        now: datetime,
        story: str | None = None,
    ) -> bool:
        result = await self.deliverer.deliver(alert, await self.sources(alert, story))
        if result.ok:
            await self.store.mark_delivered(alert_id, now)
            self.observer.alert_sent(alert.channel, alert.published, created_at, now)
            return True
        self.observer.alert_failed(alert.channel)
        error = result.error or "delivery failed"
        if now - created_at >= self.max_age:
            await self.store.mark_dead(alert_id, error, now)
            await self.admin(
                f"alert given up: {alert.title}",
                f"An alert to {result.label} failed for {self.max_age} and was given up.\n"
                f"Story: {alert.title}\n{alert.link}\nLast error: {error}",
                now,
            )
            log.error(
                "alert %r to %s given up after %s: %s",
                alert.title,
                result.label,
                self.max_age,
                error,
            )
            return False
        retry_at = next_attempt(attempts + 1, now)
        log.warning(
            "alert %r to %s failed (%s); retry at %s", alert.title, result.label, error, retry_at
        )
        await self.store.mark_failed(alert_id, error, retry_at, now)
        return False

    async def send_digests(self, now: datetime) -> None:
        """Every digest that is due: one message per channel listing all its alerts."""
        for channel, rows in (await self.store.claim_digests(now, now + DIGEST_LEASE)).items():
            await self._send_digest(channel, rows, now)

    async def _send_digest(self, channel: str, rows: Sequence[PendingAlert], now: datetime) -> None:
        alerts = [row.alert for row in rows]
        sources = {row.alert.fingerprint: await self.sources(row.alert, row.story) for row in rows}
        result = await self.deliverer.deliver_digest(channel, alerts, sources)
        if result.ok:
            await self.store.mark_delivered_many([row.id for row in rows], now)
            self.observer.digest_sent(channel, len(rows))
            log.info("digest of %d alerts sent to %s", len(rows), result.label)
            return
        self.observer.alert_failed(channel, len(rows))
        error = result.error or "delivery failed"
        expired = []
        for row in rows:
            if now - row.created_at >= self.max_age:
                expired.append(row)
                await self.store.mark_dead(row.id, error, now)
            else:
                retry_at = next_attempt(row.attempts + 1, now)
                await self.store.mark_failed(row.id, error, retry_at, now)
        if len(expired) < len(rows):
            log.warning("digest to %s failed (%s); retrying", result.label, error)
        if expired:
            titles = "\n".join(f"- {row.alert.title}" for row in expired)
            log.error(
                "digest to %s: %d alerts given up after %s: %s",
                result.label,
                len(expired),
                self.max_age,
                error,
            )
            await self.admin(
                f"digest given up: {len(expired)} alerts",
                f"A digest to {result.label} failed for {self.max_age}; its alerts were "
                f"given up.\n{titles}\nLast error: {error}",
                now,
            )

    async def admin(self, title: str, body: str, now: datetime) -> None:
        """A notice about the service itself: logged, and sent to channels tagged admin."""
        log.warning("%s: %s", title, body.splitlines()[0] if body else "")
        for channel, result in zip(
            self.deliverer.admin_channels(),
            await self.deliverer.deliver_admin(title, body),
            strict=True,
        ):
            if result.ok:
                await self.store.record_message(channel.id, now, "admin")
