"""WebSub decisions (monitor.core.websub): discovery, the life of a
subscription, verification of intent, signatures, and polling while pushed."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.websub import (
    DENIED_RETRY,
    MAX_UNSUBSCRIBE_ATTEMPTS,
    Discovery,
    Subscription,
    after_discovery,
    denied,
    discover,
    poll_by,
    polled_every,
    removed,
    request_for,
    requested,
    retry_delay,
    signature_valid,
    verify_intent,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED = "https://news.example.org/world.rss"
HUB = "https://hub.example.org/"
TOPIC = "https://news.example.org/feed"
TOKENS = ("cb-1", "secret-1")
SUB = Subscription(FEED, "cb-1", HUB, TOPIC, "secret-1", "subscribing", NOW)
DAY = 86400.0


def active(lease_s: float = DAY) -> Subscription:
    verdict = verify_intent(SUB, "subscribe", TOPIC, str(int(lease_s)), NOW, 7 * DAY)
    assert verdict.save is not None
    return verdict.save


@pytest.mark.parametrize(
    ("header", "document", "expected"),
    [
        pytest.param([], [], None, id="no hub"),
        pytest.param([], [("hub", HUB), ("self", TOPIC)], Discovery(HUB, TOPIC), id="document"),
        pytest.param(
            [("hub", "https://h2/"), ("self", "https://t2/")],
            [("hub", HUB), ("self", TOPIC)],
            Discovery("https://h2/", "https://t2/"),
            id="the header first",
        ),
        pytest.param(
            [("self", "https://t2/")], [("hub", HUB)], Discovery(HUB, FEED), id="hubless header"
        ),
        pytest.param([("hub", HUB)], [], Discovery(HUB, FEED), id="no self: the URL fetched"),
        pytest.param([("Hub Self", HUB)], [], Discovery(HUB, HUB), id="several rels, any case"),
        pytest.param(
            [],
            [("hub", "https://a/"), ("hub", "https://b/")],
            Discovery("https://a/", FEED),
            id="the first hub",
        ),
    ],
)
def test_discovery(
    header: list[tuple[str, str]], document: list[tuple[str, str]], expected: Discovery | None
) -> None:
    assert discover(header, document, FEED) == expected


def test_a_hub_found_starts_a_subscription_and_the_same_hub_changes_nothing() -> None:
    new = after_discovery(None, Discovery(HUB, TOPIC), FEED, NOW, TOKENS)
    assert new == SUB and request_for(SUB) == "subscribe"
    assert after_discovery(active(), Discovery(HUB, TOPIC), FEED, NOW, ("x", "y")) is None
    assert after_discovery(None, None, FEED, NOW, TOKENS) is None


def test_a_new_hub_is_subscribed_afresh_under_a_new_secret() -> None:
    moved = after_discovery(active(), Discovery("https://h2/", TOPIC), FEED, NOW, ("x", "s2"))
    assert moved is not None
    assert (moved.hub, moved.callback_id, moved.secret) == ("https://h2/", "cb-1", "s2")
    assert (moved.state, moved.lease_expires_at, moved.next_action_at) == ("subscribing", None, NOW)


def test_no_hub_any_more_or_a_feed_removed_unsubscribes() -> None:
    gone = after_discovery(active(), None, FEED, NOW, TOKENS)
    assert gone is not None and gone.state == "unsubscribing" and gone.next_action_at == NOW
    assert request_for(gone) == "unsubscribe"
    assert after_discovery(gone, None, FEED, NOW, TOKENS) is None
    assert removed(gone, NOW) is None
    leaving = removed(active(), NOW)
    assert leaving is not None and leaving.state == "unsubscribing"
    back = after_discovery(gone, Discovery(HUB, TOPIC), FEED, NOW, TOKENS)
    assert back is not None and back.state == "subscribing"


def test_requests_back_off_and_unsubscribing_gives_up() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert retry_delay(100) == timedelta(days=1)
    first = requested(SUB, NOW)
    assert first is not None and first.attempts == 1
    assert first.next_action_at == NOW + timedelta(minutes=1)
    leaving = replace(SUB, state="unsubscribing", attempts=MAX_UNSUBSCRIBE_ATTEMPTS)
    assert requested(leaving, NOW) is None


def test_verification_confirms_only_what_we_asked() -> None:
    sub = active(lease_s=1000)
    assert sub.state == "active" and sub.attempts == 0
    assert sub.lease_expires_at == NOW + timedelta(seconds=1000)
    assert sub.next_action_at == NOW + timedelta(seconds=800)  # renewed at 80 %
    assert verify_intent(sub, "subscribe", TOPIC, "50", NOW, DAY).accept  # a renewal
    assert not verify_intent(SUB, "subscribe", "https://other/", "50", NOW, DAY).accept
    assert not verify_intent(None, "subscribe", TOPIC, "50", NOW, DAY).accept
    assert not verify_intent(SUB, "unsubscribe", TOPIC, None, NOW, DAY).accept
    assert not verify_intent(replace(SUB, state="denied"), "subscribe", TOPIC, "5", NOW, DAY).accept
    leaving = replace(sub, state="unsubscribing")
    assert verify_intent(leaving, "unsubscribe", TOPIC, None, NOW, DAY).forget
    assert not verify_intent(leaving, "subscribe", TOPIC, "5", NOW, DAY).accept
    # no lease from the hub: the one asked for
    no_lease = verify_intent(SUB, "subscribe", TOPIC, None, NOW, DAY).save
    assert no_lease is not None and no_lease.lease_expires_at == NOW + timedelta(days=1)


def test_a_denial_ends_the_lease_and_asks_again_later() -> None:
    verdict = denied(active(), TOPIC, "  too many\nsubscribers ", NOW)
    assert verdict.save is not None
    assert (verdict.save.state, verdict.save.lease_expires_at) == ("denied", None)
    assert verdict.save.next_action_at == NOW + DENIED_RETRY
    assert verdict.save.last_error == "too many subscribers"
    assert not denied(active(), "https://other/", None, NOW).accept


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures(method: str) -> None:
    body = b"<rss/>"
    digest = hmac.new(b"s3cret", body, getattr(hashlib, method)).hexdigest()
    assert signature_valid("s3cret", f"{method}={digest}", body)
    assert signature_valid("s3cret", f"{method.upper()}={digest.upper()}", body)
    assert not signature_valid("other", f"{method}={digest}", body)
    assert not signature_valid("s3cret", f"{method}={digest}", body + b" ")


@pytest.mark.parametrize("header", [None, "", "sha256", "sha256=", "md5=abc", "abc"])
def test_no_signature_is_not_a_valid_one(header: str | None) -> None:
    assert not signature_valid("s3cret", header, b"<rss/>")


def test_a_live_subscription_polls_rarely_until_its_lease_ends() -> None:
    sub = active(lease_s=DAY)
    assert polled_every(60, sub, NOW, 3600) == 3600
    assert polled_every(7200, sub, NOW, 3600) == 7200  # never more often than its own
    assert poll_by(sub, NOW) == NOW + timedelta(days=1)
    later = NOW + timedelta(days=1)
    assert polled_every(60, sub, later, 3600) == 60 and poll_by(sub, later) is None
    assert polled_every(60, SUB, NOW, 3600) == 60 and poll_by(None, NOW) is None
