"""When a channel hears about an alert: now, after quiet hours, or in a digest.

Pure arithmetic: the caller passes ``now`` (timezone-aware) and the channel's
timezone; results are timezone-aware UTC datetimes.

Digests (``digest:`` on a channel or a rule) gather alerts and send one message
listing them all at the end of each period:

- ``"1h"``, ``"30m"``, ``"2h"``, any duration up to a day: periods are counted
  from local midnight, so ``1h`` goes out whenever the local clock shows a whole
  hour and ``30m`` at :00 and :30. A period that does not divide the day
  (``7h``: 07:00, 14:00, 21:00) is cut short at midnight, where counting
  starts again.
- ``"2d"`` and other whole numbers of days: at local midnight every n days,
  counted from a fixed date, so every process agrees on which midnight.
- ``"daily@08:00"``: every day at 08:00 local time; ``"weekly@mon 08:00"``:
  every Monday at 08:00.

Quiet hours (``quiet: "22:00-07:00"``) hold alerts while the local clock shows
a time in the window (its start included, its end not); a window whose end is
earlier than its start runs across midnight. Either end may give seconds
(``"22:00-07:00:30"``).

Daylight saving time follows the local clock:

- When clocks go forward past a digest time or the end of quiet hours, it
  happens at the moment of the jump (a daily 02:30 digest in New York goes out
  at 03:00 on the day 02:30 does not exist).
- When clocks go back, a time of day that happens twice counts twice for
  periodic digests and quiet hours (the clock really shows it again: an hourly
  digest goes out at 01:00 BST and again at 01:00 GMT), and once, the first
  time, for ``daily@`` and ``weekly@`` digests, which stay once a day or week.
  Quiet hours also end when clocks going back leave the window.

``decide`` puts these together for one alert on one channel (see there).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.schedule import parse_duration

__all__ = [
    "OVERFLOW_DIGEST",
    "ChannelPolicy",
    "Decision",
    "Digest",
    "DigestSchedule",
    "HoldUntil",
    "QuietHours",
    "SendNow",
    "decide",
    "parse_digest",
    "parse_quiet",
    "parse_timezone",
]

DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"(\d{1,2}):(\d{2})"
_DAILY = re.compile(rf"daily\s*@\s*{_CLOCK}", re.IGNORECASE)
_WEEKLY = re.compile(rf"weekly\s*@\s*([a-z]+)\s+{_CLOCK}", re.IGNORECASE)
_QUIET_CLOCK = rf"{_CLOCK}(?::(\d{{2}}))?"  # seconds optional
_QUIET = re.compile(rf"{_QUIET_CLOCK}\s*[-–]\s*{_QUIET_CLOCK}")
DIGEST_FORMS = "a duration like '1h' or '30m', 'daily@08:00' or 'weekly@mon 08:00'"


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA timezone ``name`` (``"Europe/London"``); ValueError when unknown."""
    try:
        return ZoneInfo(name.strip())
    # OSError: a name the file system refuses (too long, a folder of zones)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(
            f"unknown timezone {name!r}: use an IANA name such as 'Europe/London' or 'UTC'"
        ) from exc


def _clock(
    hour: str, minute: str, what: str, *, second: str | None = None, allow_24: bool = False
) -> time:
    h, m, s = int(hour), int(minute), int(second or 0)
    if allow_24 and (h, m, s) == (24, 0, 0):
        return _MIDNIGHT
    if h > 23 or m > 59 or s > 59:
        shown = f"{hour}:{minute}" if second is None else f"{hour}:{minute}:{second}"
        latest = "23:59" if second is None else "23:59:59"
        raise ValueError(f"invalid {what}: {shown} is not a time of day, use 00:00 to {latest}")
    return time(h, m, s)


def _aware(when: datetime, name: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def _offset(when: datetime, tz: tzinfo) -> timedelta:
    offset = when.astimezone(tz).utcoffset()
    assert offset is not None  # a tzinfo passed to astimezone always gives one
    return offset


def _wall(when: datetime, tz: tzinfo) -> datetime:
    """What the local clock shows at ``when``, as a naive datetime."""
    return when.astimezone(tz).replace(tzinfo=None, fold=0)


def _jump(lo: datetime, hi: datetime, tz: tzinfo) -> datetime:
    """The first instant in (lo, hi] whose UTC offset differs from lo's.

    The caller knows the offsets at lo and hi differ. Offsets change on whole
    seconds, so bisecting over seconds finds the transition exactly.
    """
    before = _offset(lo, tz)
    lo_s, hi_s = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset(datetime.fromtimestamp(mid, UTC), tz) == before:
            lo_s = mid
        else:
            hi_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _instants(day: date, at: time, tz: tzinfo) -> list[datetime]:
    """The UTC instants at which the local clock shows ``at`` on ``day``.

    Usually one; two, in order, when clocks go back over it; when clocks go
    forward over it, the one instant of the jump.
    """
    naive = datetime.combine(day, at)
    # PEP 495: fold=0 reads the time with the offset in force before a
    # transition, fold=1 with the one after; they differ only near one
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first < second:  # shown twice: clocks went back
        return [first, second]
    return [_jump(second, first, tz)]  # never shown: clocks went forward over it


def _aligned(wall: datetime, step: timedelta, *, strict: bool) -> datetime:
    """The first multiple of ``step`` after local midnight that is after ``wall``
    (or at it, unless ``strict``); the next midnight at the latest."""
    midnight = datetime.combine(wall.date(), _MIDNIGHT)
    since = wall - midnight
    k = since // step
    if strict or since % step:
        k += 1
    return min(midnight + k * step, midnight + DAY)


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a digest goes out: every ``every`` (periodic), or at ``at`` each day
    (each week on ``weekday``, 0 = Monday). Build one with ``parse_digest``."""

    spec: str  # as written, for messages and logs
    every: timedelta | None = None
    at: time | None = None
    weekday: int | None = None

    def __str__(self) -> str:
        return self.spec

    def next_send(self, after: datetime, tz: tzinfo) -> datetime:
        """The first send time strictly after ``after``, in UTC."""
        after = _aware(after, "after")
        if self.every is None:
            return self._next_at(after, tz)
        if self.every > DAY:
            return self._next_midnight(after, tz, self.every.days)
        return self._next_aligned(after, tz, self.every)

    def _next_at(self, after: datetime, tz: tzinfo) -> datetime:
        assert self.at is not None
        today = _wall(after, tz).date()
        # yesterday too: a time in a gap can resolve to a jump on the next day
        days = (today + timedelta(days=n) for n in range(-1, 9))
        if self.weekday is not None:
            days = (d for d in days if d.weekday() == self.weekday)
        return min(when for when in (_instants(d, self.at, tz)[0] for d in days) if when > after)

    def _next_midnight(self, after: datetime, tz: tzinfo, days: int) -> datetime:
        today = _wall(after, tz).date()
        candidates = (today + timedelta(days=n) for n in range(-1, days + 2))
        return min(
            when
            for d in candidates
            if d.toordinal() % days == 0
            for when in _instants(d, _MIDNIGHT, tz)[:1]
            if when > after
        )

    def _next_aligned(self, after: datetime, tz: tzinfo, step: timedelta) -> datetime:
        t, strict = after, True
        # Each pass either finds the send time before the UTC offset changes,
        # or moves to the moment it changes; a day has at most one change.
        for _ in range(4):
            offset = _offset(t, tz)
            target = _aligned(_wall(t, tz), step, strict=strict)
            candidate = (target - offset).replace(tzinfo=UTC)
            if _offset(candidate, tz) == offset:
                return candidate
            jump = _jump(t, candidate, tz)
            new_offset = _offset(jump, tz)
            before = (jump + offset).replace(tzinfo=None)
            after_jump = (jump + new_offset).replace(tzinfo=None)
            if after_jump > before and _aligned(before, step, strict=False) < after_jump:
                return jump  # clocks went forward over a send time: send at the jump
            t, strict = jump, False
        raise AssertionError(f"no digest time found after {after} in {tz}")


def parse_digest(value: str | float) -> DigestSchedule:
    """A digest schedule from ``"1h"``, ``"30m"``, ``"2d"``, ``"daily@08:00"``
    or ``"weekly@mon 08:00"``. Raises ValueError naming the bad value."""
    text = value.strip() if isinstance(value, str) else str(value)
    if match := _DAILY.fullmatch(text):
        return DigestSchedule(spec=text, at=_clock(match[1], match[2], f"digest {text!r}"))
    if match := _WEEKLY.fullmatch(text):
        day = match[1].lower()
        weekday = next((i for i, name in enumerate(_WEEKDAYS) if day.startswith(name)), None)
        if weekday is None or len(day) < 3:
            raise ValueError(
                f"invalid digest {text!r}: unknown weekday {match[1]!r}, "
                "use mon, tue, wed, thu, fri, sat or sun"
            )
        return DigestSchedule(
            spec=text, at=_clock(match[2], match[3], f"digest {text!r}"), weekday=weekday
        )
    if text.lower().startswith(("daily", "weekly")):
        raise ValueError(f"invalid digest {text!r}: use {DIGEST_FORMS}")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"invalid digest {text!r}: use {DIGEST_FORMS}") from exc
    try:
        every = timedelta(seconds=seconds)
    except OverflowError:  # more days than a timedelta holds
        raise ValueError(f"invalid digest {text!r}: use {DIGEST_FORMS}") from None
    if every < timedelta(seconds=1):
        raise ValueError(f"invalid digest {text!r}: a digest period must be at least 1s")
    if every > DAY and every % DAY:
        raise ValueError(
            f"invalid digest {text!r}: periods longer than a day must be whole days "
            "(e.g. '2d'), or use 'daily@HH:MM' or 'weekly@mon HH:MM'"
        )
    return DigestSchedule(spec=text, every=every)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local time during which alerts wait. Build one with
    ``parse_quiet``."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def _shows(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # across midnight

    def contains(self, now: datetime, tz: tzinfo) -> bool:
        """Whether the local clock shows a time inside the window at ``now``."""
        return self._shows(_wall(_aware(now, "now"), tz).time())

    def ends_after(self, now: datetime, tz: tzinfo) -> datetime:
        """When the quiet hours in force at ``now`` end, in UTC; ``now`` itself
        when it is not in quiet hours (there is nothing to wait for)."""
        now = _aware(now, "now")
        if not self.contains(now, tz):
            return now
        today = _wall(now, tz).date()
        # the first time the clock shows the end, or jumps forward over it to
        # outside the window (a jump can also skip the end and land inside it)
        end = min(
            when
            for n in range(-1, 4)
            for when in _instants(today + timedelta(days=n), self.end, tz)
            if when > now and not self.contains(when, tz)
        )
        # clocks going back can leave the window before its end shows
        if _offset(now, tz) != _offset(end, tz):
            jump = _jump(now, end, tz)
            if not self.contains(jump, tz):
                return jump
        return end


def _hhmm(clock: time) -> str:
    """``HH:MM``, or ``HH:MM:SS`` when the seconds are not zero."""
    return f"{clock:%H:%M:%S}" if clock.second else f"{clock:%H:%M}"


def parse_quiet(value: str) -> QuietHours:
    """Quiet hours from ``"22:00-07:00"`` (across midnight) or ``"12:00-13:00"``,
    either end optionally with seconds (``"12:00-12:00:30"``); ``24:00`` may end
    a window. Raises ValueError naming the bad value."""
    text = value.strip() if isinstance(value, str) else repr(value)
    match = _QUIET.fullmatch(text)
    if match is None:
        raise ValueError(
            f"invalid quiet hours {text!r}: use 'HH:MM-HH:MM' in local time, e.g. "
            "'22:00-07:00' (or with seconds, 'HH:MM:SS')"
        )
    what = f"quiet hours {text!r}"
    start = _clock(match[1], match[2], what, second=match[3])
    end = _clock(match[4], match[5], what, second=match[6], allow_24=True)
    if start == end:
        raise ValueError(f"invalid quiet hours {text!r}: the window starts where it ends")
    return QuietHours(start=start, end=end)


# --- decisions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendNow:
    """Deliver the alert on its own, now."""


@dataclass(frozen=True, slots=True)
class HoldUntil:
    """Quiet hours: keep the alert and decide again at ``when`` (their end)."""

    when: datetime


@dataclass(frozen=True, slots=True)
class Digest:
    """Deliver the alert in the channel's digest message due at ``due``.

    Alerts of one channel with the same ``due`` go out as one message.
    ``reason`` says why: a digest on the channel, one on the rule, or the
    channel's rate limit.
    """

    due: datetime
    reason: Literal["channel", "rule", "rate-limit"]


Decision = SendNow | HoldUntil | Digest

# Where rate-limit overflow goes on a channel without its own digest: the digest
# at the next whole hour of local time. ``max_per_hour`` is counted over the
# last hour, so by then the channel has room again for alerts sent one by one.
# What max_per_hour counts over: a channel's messages in the last hour (so
# retention must keep at least that much of them).
RATE_WINDOW = timedelta(hours=1)

OVERFLOW_DIGEST = DigestSchedule(spec="1h", every=timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """How one channel wants its alerts: digest, quiet hours, rate limit, timezone."""

    digest: DigestSchedule | None = None
    quiet: QuietHours | None = None
    max_per_hour: int | None = None
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def __post_init__(self) -> None:
        if self.max_per_hour is not None and (
            isinstance(self.max_per_hour, bool) or self.max_per_hour < 1
        ):
            raise ValueError(
                f"invalid max_per_hour {self.max_per_hour!r}: must be a whole number of at "
                "least 1 (use a digest to send everything in batches)"
            )


def decide(
    policy: ChannelPolicy,
    now: datetime,
    sent_in_last_hour: int,
    rule_digest: DigestSchedule | None = None,
) -> Decision:
    """What to do with one alert for one channel at ``now``. Never drops one.

    ``sent_in_last_hour`` counts the messages the channel was sent in the hour
    before ``now`` (single alerts and digests alike). ``rule_digest`` is the
    digest of the rules that fired for the alert: pass None when any of them
    wants alerts at once.

    1. A digest on the channel or the rule: ``Digest`` at its next send time.
       With both, the alert waits for the rule's time and then goes out with
       the channel's next digest, so the channel still gets one message per
       period.
    2. Otherwise, in quiet hours: ``HoldUntil`` their end; deciding again then
       applies the rate limit to the alerts that waited.
    3. Otherwise, past ``max_per_hour``: ``Digest`` at the next whole hour of
       local time (``OVERFLOW_DIGEST``): the overflow waits, never drops.
    4. Otherwise ``SendNow``.

    A digest due in quiet hours goes out when they end. Digest messages are not
    held back by the rate limit: each is one message, and at most one goes out
    per period, so a rate-limited channel gets at most ``max_per_hour`` single
    alerts and one overflow digest an hour.
    """
    now = _aware(now, "now")
    tz, quiet = policy.tz, policy.quiet
    due: datetime
    reason: Literal["channel", "rule", "rate-limit"]
    if rule_digest is not None:
        due, reason = rule_digest.next_send(now, tz), "rule"
        if policy.digest is not None:
            # the first channel send time at or after the rule's
            due = policy.digest.next_send(due - timedelta(microseconds=1), tz)
    elif policy.digest is not None:
        due, reason = policy.digest.next_send(now, tz), "channel"
    elif quiet is not None and quiet.contains(now, tz):
        return HoldUntil(quiet.ends_after(now, tz))
    elif policy.max_per_hour is not None and sent_in_last_hour >= policy.max_per_hour:
        due, reason = OVERFLOW_DIGEST.next_send(now, tz), "rate-limit"
    else:
        return SendNow()
    if quiet is not None and quiet.contains(due, tz):
        due = quiet.ends_after(due, tz)
    return Digest(due=due, reason=reason)
