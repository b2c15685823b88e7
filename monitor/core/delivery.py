"""The delivery planner: when and how one alert goes out on one channel.

Every decision about an alert goes through :func:`plan_delivery`: when its item
matches (a new alert), when the quiet hours that held it end, and when a failed
attempt comes due again. The edges only apply the answer:

- ``SendNow``: deliver it on its own, now;
- ``HoldUntil(t)``: keep it, and plan it again at ``t`` (the end of quiet hours);
- ``Digest(t)``: deliver it in the channel's digest message due at ``t``.

Nothing is ever dropped. Inputs: the digests of the rules that fired for this
channel (a rule's digest applies when every one of them has one: a rule that
wants its alerts at once wins), the channel's policy (None when the config has
no ``channels:`` entry for it: no digest, no quiet hours, no rate limit), how
many messages the channel was sent (or is being sent) in the last hour, and the
time. The calendar arithmetic is :func:`monitor.core.policy.decide`'s.

Every combination, for a channel whose quiet hours are 22:00–07:00 when it has
any, a rule digest of ``1h``, a channel digest of ``daily@08:00``, a limit of
2 an hour, and now = 22:30 ("quiet") or 12:30 (not). A channel not configured
has none of its own columns, so they change nothing there (``·`` = any).
tests/core/test_delivery.py reads this table and checks every row::

    configured  rule digest  channel digest  quiet  limit reached  outcome
    no          no           ·               ·      ·              now
    no          yes          ·               ·      ·              digest at the rule's time
    yes         no           no              no     no             now
    yes         no           no              no     yes            digest at the next hour
    yes         no           no              yes    no             held until quiet ends
    yes         no           no              yes    yes            held until quiet ends
    yes         yes          no              no     no             digest at the rule's time
    yes         yes          no              no     yes            digest at the rule's time
    yes         yes          no              yes    no             digest when quiet ends
    yes         yes          no              yes    yes            digest when quiet ends
    yes         no           yes             no     no             digest at the channel's time
    yes         no           yes             no     yes            digest at the channel's time
    yes         no           yes             yes    no             digest at the channel's time
    yes         no           yes             yes    yes            digest at the channel's time
    yes         yes          yes             no     no             digest at the channel's time
    yes         yes          yes             no     yes            digest at the channel's time
    yes         yes          yes             yes    no             digest at the channel's time
    yes         yes          yes             yes    yes            digest at the channel's time

Why: a held alert is planned again when quiet hours end, so the rate limit is
applied then, to what waited (the limit at 22:30 does not matter at 07:00).
Digests are one message a period, so the rate limit does not hold them back.
A digest falling due in quiet hours goes out when they end (the rule's 23:00
becomes 07:00). With both digests the alert waits for the rule's time, then
goes with the channel's next digest: the channel still gets one message a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from monitor.core.policy import ChannelPolicy, Decision, DigestSchedule, decide

__all__ = ["plan_delivery", "rule_digest"]


def rule_digest(
    digests: Sequence[DigestSchedule | None], now: datetime, tz: tzinfo
) -> DigestSchedule | None:
    """The digest the rules that fired ask for: None when any of them wants its
    alerts at once (or none fired); else the one that is due first."""
    if not digests or any(d is None for d in digests):
        return None
    chosen = [d for d in digests if d is not None]
    return min(chosen, key=lambda d: d.next_send(now, tz))


def plan_delivery(
    rule_digests: Sequence[DigestSchedule | None],
    policy: ChannelPolicy | None,
    sent_last_hour: int,
    now: datetime,
    tz: tzinfo,
) -> Decision:
    """When and how one alert goes out on one channel (see the module's table).

    ``tz`` is the service's timezone, used when the channel has no policy of its
    own; ``sent_last_hour`` counts the channel's messages in the hour before
    ``now``, those being sent included.
    """
    chosen = policy if policy is not None else ChannelPolicy(tz=tz)
    return decide(chosen, now, sent_last_hour, rule_digest(rule_digests, now, chosen.tz))
