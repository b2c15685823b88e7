"""Delivery policy: digest times, quiet hours, rate limits, across DST changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.policy import (
    ChannelPolicy,
    Digest,
    DigestSchedule,
    HoldUntil,
    QuietHours,
    SendNow,
    decide,
    parse_digest,
    parse_quiet,
    parse_timezone,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: "on the hour" is not on a UTC hour
SANTIAGO = ZoneInfo("America/Santiago")  # its clocks change at midnight
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks change by 30 minutes

# 2024 clock changes, in UTC:
#   London    31 Mar 01:00 (01:00 GMT -> 02:00 BST), 27 Oct 01:00 (02:00 BST -> 01:00 GMT)
#   New York  10 Mar 07:00 (02:00 EST -> 03:00 EDT),  3 Nov 06:00 (02:00 EDT -> 01:00 EST)
#   Santiago   7 Apr 03:00 (24:00 -> 23:00),           8 Sep 04:00 (24:00 -> 01:00)
#   Lord Howe  6 Apr 15:00 (02:00 -> 01:30),           5 Oct 15:30 (02:00 -> 02:30)
CHANGES = {
    LONDON: ["2024-03-31 01:00", "2024-10-27 01:00"],
    NEW_YORK: ["2024-03-10 07:00", "2024-11-03 06:00"],
    SANTIAGO: ["2024-04-07 03:00", "2024-09-08 04:00"],
    LORD_HOWE: ["2024-04-06 15:00", "2024-10-05 15:30"],
    KOLKATA: ["2024-06-01 00:00"],
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(tz: ZoneInfo, text: str, fold: int = 0) -> datetime:
    """A local clock reading; ``fold=1`` is the second time a repeated time is shown."""
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold).astimezone(UTC)


# -- digest schedules -------------------------------------------------------------

NEXT_SEND = [
    # plain days
    ("1h", LONDON, local(LONDON, "2024-06-01 10:10"), local(LONDON, "2024-06-01 11:00")),
    ("1h", LONDON, local(LONDON, "2024-06-01 11:00"), local(LONDON, "2024-06-01 12:00")),
    ("30m", LONDON, local(LONDON, "2024-06-01 10:10"), local(LONDON, "2024-06-01 10:30")),
    ("30m", LONDON, local(LONDON, "2024-06-01 10:59:59"), local(LONDON, "2024-06-01 11:00")),
    ("1h", KOLKATA, local(KOLKATA, "2024-06-01 10:10"), utc("2024-06-01 05:30")),
    ("90m", LONDON, local(LONDON, "2024-06-01 01:00"), local(LONDON, "2024-06-01 01:30")),
    ("7h", LONDON, local(LONDON, "2024-06-01 21:30"), local(LONDON, "2024-06-02 00:00")),
    ("7h", LONDON, local(LONDON, "2024-06-02 00:00"), local(LONDON, "2024-06-02 07:00")),
    ("1d", LONDON, local(LONDON, "2024-06-01 10:00"), local(LONDON, "2024-06-02 00:00")),
    ("2d", LONDON, local(LONDON, "2024-06-01 10:00"), local(LONDON, "2024-06-03 00:00")),
    ("2d", LONDON, local(LONDON, "2024-05-31 10:00"), local(LONDON, "2024-06-01 00:00")),
    ("daily@08:00", LONDON, local(LONDON, "2024-06-01 07:59"), local(LONDON, "2024-06-01 08:00")),
    ("daily@08:00", LONDON, local(LONDON, "2024-06-01 08:00"), local(LONDON, "2024-06-02 08:00")),
    ("daily@8:00", NEW_YORK, utc("2024-06-01 11:00"), local(NEW_YORK, "2024-06-01 08:00")),
    # 1 June 2024 is a Saturday
    (
        "weekly@mon 08:00",
        LONDON,
        local(LONDON, "2024-06-01 09:00"),
        local(LONDON, "2024-06-03 08:00"),
    ),
    (
        "weekly@Monday 08:00",
        LONDON,
        local(LONDON, "2024-06-03 08:00"),
        local(LONDON, "2024-06-10 08:00"),
    ),
    (
        "weekly@sat 08:00",
        LONDON,
        local(LONDON, "2024-06-01 07:00"),
        local(LONDON, "2024-06-01 08:00"),
    ),
    # London, clocks forward: 01:00 GMT is 02:00 BST
    ("1h", LONDON, utc("2024-03-31 00:30"), utc("2024-03-31 01:00")),
    ("1h", LONDON, utc("2024-03-31 01:00"), local(LONDON, "2024-03-31 03:00")),
    ("30m", LONDON, utc("2024-03-31 00:45"), local(LONDON, "2024-03-31 02:00")),
    ("daily@08:00", LONDON, local(LONDON, "2024-03-30 08:00"), utc("2024-03-31 07:00")),
    # 01:30 never shows that day: the digest goes out at the jump
    ("daily@01:30", LONDON, local(LONDON, "2024-03-30 08:00"), utc("2024-03-31 01:00")),
    ("daily@01:30", LONDON, utc("2024-03-31 01:00"), local(LONDON, "2024-04-01 01:30")),
    # London, clocks back: 01:00-02:00 shows twice
    ("1h", LONDON, local(LONDON, "2024-10-27 01:30"), local(LONDON, "2024-10-27 01:00", fold=1)),
    ("1h", LONDON, local(LONDON, "2024-10-27 01:00", fold=1), local(LONDON, "2024-10-27 02:00")),
    ("daily@01:30", LONDON, local(LONDON, "2024-10-26 08:00"), utc("2024-10-27 00:30")),
    ("daily@01:30", LONDON, utc("2024-10-27 00:30"), local(LONDON, "2024-10-28 01:30")),
    ("daily@08:00", LONDON, local(LONDON, "2024-10-26 08:00"), utc("2024-10-27 08:00")),
    # New York, clocks forward: 02:00 EST is 03:00 EDT
    ("2h", NEW_YORK, local(NEW_YORK, "2024-03-10 01:30"), utc("2024-03-10 07:00")),
    ("2h", NEW_YORK, local(NEW_YORK, "2024-03-10 03:00"), local(NEW_YORK, "2024-03-10 04:00")),
    ("4h", NEW_YORK, local(NEW_YORK, "2024-03-10 01:30"), local(NEW_YORK, "2024-03-10 04:00")),
    ("daily@02:30", NEW_YORK, local(NEW_YORK, "2024-03-09 12:00"), utc("2024-03-10 07:00")),
    # New York, clocks back: 02:00 EDT is 01:00 EST
    ("1h", NEW_YORK, local(NEW_YORK, "2024-11-03 00:30"), local(NEW_YORK, "2024-11-03 01:00")),
    ("1h", NEW_YORK, local(NEW_YORK, "2024-11-03 01:00"), utc("2024-11-03 06:00")),
    ("1h", NEW_YORK, utc("2024-11-03 06:00"), local(NEW_YORK, "2024-11-03 02:00")),
    # the clock never shows 02:00 EDT: it goes from 01:59 EDT to 01:00 EST
    ("2h", NEW_YORK, local(NEW_YORK, "2024-11-03 01:30"), local(NEW_YORK, "2024-11-03 02:00")),
    # Santiago skips midnight on 8 Sep
    ("1d", SANTIAGO, local(SANTIAGO, "2024-09-07 12:00"), utc("2024-09-08 04:00")),
    ("daily@00:00", SANTIAGO, local(SANTIAGO, "2024-09-07 12:00"), utc("2024-09-08 04:00")),
]


@pytest.mark.parametrize(
    ("spec", "tz", "after", "expected"),
    NEXT_SEND,
    ids=[f"{spec}-{tz.key}-{after:%Y%m%dT%H%MZ}" for spec, tz, after, _ in NEXT_SEND],
)
def test_next_send(spec: str, tz: ZoneInfo, after: datetime, expected: datetime) -> None:
    when = parse_digest(spec).next_send(after, tz)
    assert when == expected, f"{when.astimezone(tz)} != {expected.astimezone(tz)}"
    assert when.tzinfo is UTC


def test_next_send_accepts_any_aware_time() -> None:
    after = datetime(2024, 6, 1, 10, 10, tzinfo=NEW_YORK)
    assert parse_digest("1h").next_send(after, LONDON) == local(LONDON, "2024-06-01 16:00")


def wall_minutes(when: datetime, tz: ZoneInfo) -> int:
    shown = when.astimezone(tz)
    return shown.hour * 60 + shown.minute


def reference_next_send(after: datetime, tz: ZoneInfo, step: int) -> datetime:
    """Walk the clock a minute at a time (all 2024 clock changes are on whole
    minutes) until it shows a multiple of ``step`` minutes since midnight, or
    jumps forward over one."""
    t = after
    while True:
        before = t.astimezone(tz).utcoffset()
        t += timedelta(minutes=1)
        now = t.astimezone(tz).utcoffset()
        assert before is not None and now is not None
        if wall_minutes(t, tz) % step == 0:
            return t
        if now > before:
            skipped = int((now - before).total_seconds()) // 60
            first = wall_minutes(t, tz) - skipped
            if any((first + m) % 1440 % step == 0 for m in range(skipped)):
                return t


near_a_change = st.sampled_from([(tz, c) for tz, changes in CHANGES.items() for c in changes])
STEPS = [5, 30, 45, 60, 90, 120, 420, 1440]


@given(near_a_change, st.integers(-36 * 60, 36 * 60), st.sampled_from(STEPS))
def test_periodic_digests_go_out_when_the_clock_shows_their_time(
    change: tuple[ZoneInfo, str], minutes: int, step: int
) -> None:
    tz, at = change
    after = utc(at) + timedelta(minutes=minutes)
    expected = reference_next_send(after, tz, step)
    assert parse_digest(f"{step}m").next_send(after, tz) == expected


def test_a_digest_never_goes_out_twice_for_the_same_instant() -> None:
    schedule = parse_digest("15m")
    t = utc("2024-10-26 20:00")
    sends = []
    while t < utc("2024-10-27 06:00"):
        t = schedule.next_send(t, LONDON)
        sends.append(t)
    gaps = {b - a for a, b in itertools.pairwise(sends)}
    # every quarter of an hour of real time, through the hour shown twice
    assert gaps == {timedelta(minutes=15)}
    assert len(sends) == 40


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "invalid digest ''"),
        ("soon", "'daily@08:00'"),
        ("daily", "invalid digest 'daily'"),
        ("daily@8", "invalid digest 'daily@8'"),
        ("daily@25:00", "use 00:00 to 23:59"),
        ("daily@08:60", "use 00:00 to 23:59"),
        ("weekly@mo 08:00", "unknown weekday 'mo'"),
        ("weekly@funday 08:00", "unknown weekday 'funday'"),
        ("weekly@mon", "invalid digest 'weekly@mon'"),
        ("36h", "whole days"),
        ("0s", "invalid digest '0s'"),
        ("500ms", "at least 1s"),
    ],
)
def test_parse_digest_rejects(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid digest") as error:
        parse_digest(value)
    assert message in str(error.value)


def test_parse_digest_keeps_what_was_written() -> None:
    assert str(parse_digest(" daily@08:00 ")) == "daily@08:00"
    assert parse_digest(3600) == DigestSchedule(spec="3600", every=timedelta(hours=1))


def test_next_send_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_digest("1h").next_send(datetime(2024, 6, 1, 10, 0), LONDON)


# -- quiet hours -------------------------------------------------------------------

NIGHT = parse_quiet("22:00-07:00")
LUNCH = parse_quiet("12:00-13:00")


@pytest.mark.parametrize(
    ("quiet", "clock", "inside"),
    [
        (NIGHT, "2024-06-01 21:59", False),
        (NIGHT, "2024-06-01 22:00", True),
        (NIGHT, "2024-06-01 23:59", True),
        (NIGHT, "2024-06-02 00:00", True),
        (NIGHT, "2024-06-02 06:59:59", True),
        (NIGHT, "2024-06-02 07:00", False),
        (NIGHT, "2024-06-02 12:00", False),
        (LUNCH, "2024-06-01 11:59", False),
        (LUNCH, "2024-06-01 12:00", True),
        (LUNCH, "2024-06-01 12:59", True),
        (LUNCH, "2024-06-01 13:00", False),
        (LUNCH, "2024-06-01 00:00", False),
    ],
)
def test_quiet_hours_follow_the_local_clock(quiet: QuietHours, clock: str, inside: bool) -> None:
    assert quiet.contains(local(NEW_YORK, clock), NEW_YORK) is inside
    # the same instant in London is five hours later on the clock
    assert quiet.contains(local(NEW_YORK, clock), LONDON) is quiet.contains(
        local(LONDON, clock) + timedelta(hours=5), LONDON
    )


ENDS = [
    (NIGHT, LONDON, local(LONDON, "2024-06-01 23:00"), local(LONDON, "2024-06-02 07:00")),
    (NIGHT, LONDON, local(LONDON, "2024-06-02 03:00"), local(LONDON, "2024-06-02 07:00")),
    (LUNCH, LONDON, local(LONDON, "2024-06-01 12:30"), local(LONDON, "2024-06-01 13:00")),
    # not quiet: nothing to wait for
    (NIGHT, LONDON, local(LONDON, "2024-06-01 12:00"), local(LONDON, "2024-06-01 12:00")),
    # a night an hour short, and one an hour long
    (NIGHT, LONDON, local(LONDON, "2024-03-30 23:00"), utc("2024-03-31 06:00")),
    (NIGHT, LONDON, local(LONDON, "2024-10-26 22:00"), utc("2024-10-27 07:00")),
    (NIGHT, NEW_YORK, local(NEW_YORK, "2024-03-09 23:00"), utc("2024-03-10 11:00")),
    (NIGHT, NEW_YORK, local(NEW_YORK, "2024-11-02 23:00"), utc("2024-11-03 12:00")),
    # the end never shows: quiet ends at the jump
    (parse_quiet("00:30-01:30"), LONDON, utc("2024-03-31 00:45"), utc("2024-03-31 01:00")),
    # 00:30-01:30 shows twice; each time is quiet and ends at its own 01:30
    (parse_quiet("00:30-01:30"), LONDON, utc("2024-10-26 23:45"), utc("2024-10-27 00:30")),
    (parse_quiet("01:00-01:30"), LONDON, utc("2024-10-27 01:10"), utc("2024-10-27 01:30")),
    # Santiago's clocks jump from 24:00 to 01:00, over the minute that is not quiet
    (parse_quiet("00:01-00:00"), SANTIAGO, utc("2024-09-08 03:59"), utc("2024-09-09 03:00")),
    # clocks going back from 02:00 to 01:00 leave 01:30-03:00 before 03:00 shows
    (parse_quiet("01:30-03:00"), LONDON, utc("2024-10-27 00:45"), utc("2024-10-27 01:00")),
    (parse_quiet("01:30-03:00"), LONDON, utc("2024-10-27 01:30"), utc("2024-10-27 03:00")),
    (
        parse_quiet("20:00-24:00"),
        LONDON,
        local(LONDON, "2024-06-01 23:00"),
        local(LONDON, "2024-06-02 00:00"),
    ),
]


@pytest.mark.parametrize(
    ("quiet", "tz", "now", "expected"),
    ENDS,
    ids=[f"{q}-{tz.key}-{now:%Y%m%dT%H%MZ}" for q, tz, now, _ in ENDS],
)
def test_quiet_hours_end(
    quiet: QuietHours, tz: ZoneInfo, now: datetime, expected: datetime
) -> None:
    assert quiet.ends_after(now, tz) == expected


clock_minute = st.integers(0, 1439)


@given(near_a_change, st.integers(-36 * 60, 36 * 60), clock_minute, clock_minute)
def test_quiet_hours_end_when_the_clock_leaves_them(
    change: tuple[ZoneInfo, str], minutes: int, start: int, end: int
) -> None:
    tz, at = change
    if start == end:
        return
    quiet = parse_quiet(f"{start // 60:02}:{start % 60:02}-{end // 60:02}:{end % 60:02}")
    now = utc(at) + timedelta(minutes=minutes)
    expected = now
    while quiet.contains(expected, tz):  # every clock change is on a whole minute
        expected += timedelta(minutes=1)
    assert quiet.ends_after(now, tz) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "use 'HH:MM-HH:MM'"),
        ("22-07", "use 'HH:MM-HH:MM'"),
        ("22:00", "use 'HH:MM-HH:MM'"),
        ("22:00-22:00", "starts where it ends"),
        ("25:00-07:00", "use 00:00 to 23:59"),
        ("22:00-07:61", "use 00:00 to 23:59"),
        ("24:00-07:00", "use 00:00 to 23:59"),
        ("22:00:60-07:00", "use 00:00 to 23:59:59"),
        ("22:00-24:00:01", "use 00:00 to 23:59:59"),
        ("22:00:5-07:00", "use 'HH:MM-HH:MM'"),
        ("22:00:00-22:00", "starts where it ends"),
    ],
)
def test_parse_quiet_rejects(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid") as error:
        parse_quiet(value)
    assert message in str(error.value)


def test_parse_quiet_reads_spaces_and_dashes() -> None:
    assert parse_quiet(" 22:00 – 7:00 ") == NIGHT
    assert str(parse_quiet("20:00-24:00")) == "20:00-00:00"


def test_quiet_hours_may_give_seconds() -> None:
    assert parse_quiet("22:00:00-07:00:00") == NIGHT
    assert parse_quiet("20:00-24:00:00") == parse_quiet("20:00-24:00")
    quiet = parse_quiet("12:00-12:00:30")
    assert str(quiet) == "12:00-12:00:30"
    assert quiet.contains(local(LONDON, "2024-06-01 12:00:29"), LONDON)
    assert not quiet.contains(local(LONDON, "2024-06-01 12:00:30"), LONDON)
    assert quiet.ends_after(local(LONDON, "2024-06-01 12:00:10"), LONDON) == local(
        LONDON, "2024-06-01 12:00:30"
    )
    # across midnight, to a second before it
    late = parse_quiet("23:59:59-00:00:01")
    assert str(late) == "23:59:59-00:00:01"
    assert late.ends_after(local(LONDON, "2024-06-01 23:59:59"), LONDON) == local(
        LONDON, "2024-06-02 00:00:01"
    )


def test_parse_timezone() -> None:
    assert parse_timezone(" Europe/London ") == LONDON
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        parse_timezone("Mars/Olympus")


# -- decisions ---------------------------------------------------------------------

HOURLY = parse_digest("1h")
MORNING = parse_digest("daily@08:00")


def policy(
    digest: DigestSchedule | None = None,
    quiet: QuietHours | None = None,
    max_per_hour: int | None = None,
    tz: ZoneInfo = LONDON,
) -> ChannelPolicy:
    return ChannelPolicy(digest=digest, quiet=quiet, max_per_hour=max_per_hour, tz=tz)


def at(clock: str, tz: ZoneInfo = LONDON) -> datetime:
    return local(tz, f"2024-06-03 {clock}")  # a Monday in summer time


DECISIONS = [
    ("no policy", policy(), at("10:10"), 0, None, SendNow()),
    ("channel digest", policy(HOURLY), at("10:10"), 0, None, Digest(at("11:00"), "channel")),
    (
        "rule digest",
        policy(),
        at("10:10"),
        0,
        MORNING,
        Digest(local(LONDON, "2024-06-04 08:00"), "rule"),
    ),
    # the rule's time, then the channel's next digest: one message per channel period
    (
        "rule digest inside a channel digest",
        policy(HOURLY),
        at("10:10"),
        0,
        parse_digest("30m"),
        Digest(at("11:00"), "rule"),
    ),
    (
        "rule digest between channel digests",
        policy(HOURLY),
        at("07:10"),
        0,
        parse_digest("daily@08:15"),
        Digest(at("09:00"), "rule"),
    ),
    (
        "rule digest on a channel digest time",
        policy(HOURLY),
        at("07:10"),
        0,
        MORNING,
        Digest(at("08:00"), "rule"),
    ),
    (
        "quiet",
        policy(quiet=NIGHT),
        at("23:00"),
        0,
        None,
        HoldUntil(local(LONDON, "2024-06-04 07:00")),
    ),
    ("not quiet", policy(quiet=NIGHT), at("21:59"), 0, None, SendNow()),
    ("under the rate limit", policy(max_per_hour=10), at("10:10"), 9, None, SendNow()),
    (
        "at the rate limit",
        policy(max_per_hour=10),
        at("10:10"),
        10,
        None,
        Digest(at("11:00"), "rate-limit"),
    ),
    (
        "over the rate limit",
        policy(max_per_hour=10),
        at("10:10"),
        25,
        None,
        Digest(at("11:00"), "rate-limit"),
    ),
    (
        "rate limit in quiet hours: hold, decide again later",
        policy(quiet=NIGHT, max_per_hour=1),
        at("23:00"),
        5,
        None,
        HoldUntil(local(LONDON, "2024-06-04 07:00")),
    ),
    (
        "overflow digest due in quiet hours",
        policy(quiet=NIGHT, max_per_hour=1),
        at("21:30"),
        1,
        None,
        Digest(local(LONDON, "2024-06-04 07:00"), "rate-limit"),
    ),
    (
        "channel digest due in quiet hours",
        policy(HOURLY, quiet=NIGHT),
        at("21:30"),
        0,
        None,
        Digest(local(LONDON, "2024-06-04 07:00"), "channel"),
    ),
    (
        "channel digest in quiet hours",
        policy(HOURLY, quiet=NIGHT),
        at("03:10"),
        0,
        None,
        Digest(at("07:00"), "channel"),
    ),
    (
        "channel digest due as quiet hours end",
        policy(HOURLY, quiet=NIGHT),
        at("06:10"),
        0,
        None,
        Digest(at("07:00"), "channel"),
    ),
    (
        "rule digest due in quiet hours",
        policy(quiet=parse_quiet("07:00-09:00")),
        at("06:00"),
        0,
        MORNING,
        Digest(at("09:00"), "rule"),
    ),
    (
        "channel digest ignores the rate limit",
        policy(HOURLY, max_per_hour=1),
        at("10:10"),
        7,
        None,
        Digest(at("11:00"), "channel"),
    ),
    (
        "overflow digest on the local hour",
        policy(max_per_hour=1, tz=KOLKATA),
        local(KOLKATA, "2024-06-03 10:10"),
        1,
        None,
        Digest(local(KOLKATA, "2024-06-03 11:00"), "rate-limit"),
    ),
    (
        "overflow as London clocks go forward",
        policy(max_per_hour=1),
        utc("2024-03-31 00:30"),
        1,
        None,
        Digest(local(LONDON, "2024-03-31 02:00"), "rate-limit"),
    ),
    (
        "quiet night an hour short in London",
        policy(quiet=NIGHT),
        local(LONDON, "2024-03-30 23:00"),
        0,
        None,
        HoldUntil(local(LONDON, "2024-03-31 07:00")),
    ),
    (
        "morning digest in New York as clocks go back",
        policy(MORNING, quiet=NIGHT, tz=NEW_YORK),
        local(NEW_YORK, "2024-11-02 23:00"),
        0,
        None,
        Digest(utc("2024-11-03 13:00"), "channel"),
    ),
    (
        "hourly digest in quiet hours as New York clocks go forward",
        policy(HOURLY, quiet=NIGHT, tz=NEW_YORK),
        local(NEW_YORK, "2024-03-10 01:30"),
        0,
        None,
        Digest(utc("2024-03-10 11:00"), "channel"),
    ),
]


@pytest.mark.parametrize(
    ("policy_", "now", "sent", "rule_digest", "expected"),
    [case[1:] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_decide(
    policy_: ChannelPolicy,
    now: datetime,
    sent: int,
    rule_digest: DigestSchedule | None,
    expected: SendNow | HoldUntil | Digest,
) -> None:
    assert decide(policy_, now, sent, rule_digest) == expected


policies = st.builds(
    ChannelPolicy,
    digest=st.none() | st.sampled_from([HOURLY, MORNING, parse_digest("15m")]),
    quiet=st.none() | st.sampled_from([NIGHT, LUNCH, parse_quiet("00:30-01:30")]),
    max_per_hour=st.none() | st.integers(1, 5),
    tz=st.sampled_from([LONDON, NEW_YORK, LORD_HOWE]),
)


@given(
    policies,
    near_a_change,
    st.integers(-36 * 60, 36 * 60),
    st.integers(0, 8),
    st.none() | st.sampled_from([HOURLY, MORNING]),
)
def test_an_alert_is_never_dropped_nor_sent_in_quiet_hours(
    policy_: ChannelPolicy,
    change: tuple[ZoneInfo, str],
    minutes: int,
    sent: int,
    rule_digest: DigestSchedule | None,
) -> None:
    now = utc(change[1]) + timedelta(minutes=minutes)
    decision = decide(policy_, now, sent, rule_digest)
    quiet = policy_.quiet
    if isinstance(decision, SendNow):
        assert policy_.digest is None and rule_digest is None
        assert quiet is None or not quiet.contains(now, policy_.tz)
        assert policy_.max_per_hour is None or sent < policy_.max_per_hour
    elif isinstance(decision, HoldUntil):
        assert quiet is not None and quiet.contains(now, policy_.tz)
        assert decision.when > now and not quiet.contains(decision.when, policy_.tz)
    else:
        assert isinstance(decision, Digest)
        assert decision.due > now
        assert quiet is None or not quiet.contains(decision.due, policy_.tz)


@pytest.mark.parametrize("limit", [0, -1, True])
def test_a_rate_limit_must_allow_something(limit: int) -> None:
    with pytest.raises(ValueError, match="max_per_hour"):
        ChannelPolicy(max_per_hour=limit)


def test_decide_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(ChannelPolicy(), datetime(2024, 6, 3, 10, 0), 0, None)
