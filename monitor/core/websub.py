"""WebSub (W3C Recommendation, formerly PubSubHubbub), the subscriber's side:
which hub and topic a feed advertises, what a subscription does next, whether
a hub's message is genuine, and how often a pushed feed is still polled.

Pure: the caller passes ``now`` and the random tokens; the pipeline
(``monitor.pipeline.pushing``) carries the decisions out.

A subscription is one row per feed, in one of four states:

- ``subscribing``: we asked the hub (or are about to); the hub's verification
  of intent is answered with its challenge;
- ``active``: the hub verified it and pushes until ``lease_expires_at``; it is
  renewed at ``RENEW_AT`` of the lease, and while it is *live* (active, lease
  not over) the feed is polled only every ``websub.poll_interval``, as a
  safety net;
- ``denied``: the hub refused; the feed is polled as usual and subscribing is
  tried again after ``DENIED_RETRY``;
- ``unsubscribing``: the feed left the config or stopped advertising a hub;
  gone once the hub verifies, or after ``MAX_UNSUBSCRIBE_ATTEMPTS``.

``next_action_at`` is when the row asks for a request to the hub: at once for
a new one, at the renewal time of an active one, after a backoff for one whose
request failed or was never verified. ``attempts`` counts requests since the
last verification (it sets the backoff, and a verification resets it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, get_args

SubscriptionState = Literal["subscribing", "active", "denied", "unsubscribing"]
SUBSCRIPTION_STATES: frozenset[str] = frozenset(get_args(SubscriptionState))

# X-Hub-Signature methods the spec names; anything else is no signature at all.
SIGNATURE_METHODS = ("sha1", "sha256", "sha384", "sha512")

RENEW_AT = 0.8  # renew once this share of the lease has passed
RETRY_FIRST = timedelta(minutes=1)  # after a request that failed or was never verified
RETRY_MAX = timedelta(days=1)
DENIED_RETRY = timedelta(days=1)  # a hub that said no may say yes later
MAX_UNSUBSCRIBE_ATTEMPTS = 4  # then the row goes: its lease lapses at the hub anyway


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where a feed's updates are pushed from: its hub, and its topic (self) URL."""

    hub: str
    topic: str


@dataclass(frozen=True, slots=True)
class Subscription:
    feed: str  # the configured feed URL: pushed items are this feed's
    callback_id: str  # the last segment of the callback URL; unguessable
    hub: str
    topic: str
    secret: str  # hub.secret: the key of the HMAC signing each push
    state: SubscriptionState
    next_action_at: datetime | None  # None: nothing to ask the hub
    lease_expires_at: datetime | None = None
    attempts: int = 0  # requests to the hub since it last verified
    last_error: str | None = None
    revision: int = 0  # as stored: a write is made on the revision it was decided from

    def live(self, now: datetime) -> bool:
        """Whether the hub pushes this feed's updates now."""
        return (
            self.state == "active"
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )


Request = Literal["subscribe", "unsubscribe"]


def discover(
    header_links: Iterable[tuple[str, str]],
    document_links: Iterable[tuple[str, str]],
    url: str,
) -> Discovery | None:
    """The hub and topic of a feed, from (rel, URL) pairs: the HTTP Link header's
    first, and the document's (``atom:link``) only when the header names no hub,
    as the spec orders. The first hub is taken; the topic is the ``self`` link
    beside it, else ``url`` (where the feed was fetched from)."""
    for links in (list(header_links), list(document_links)):
        hubs = [href for rel, href in links if _has_rel(rel, "hub") and href]
        if hubs:
            selves = [href for rel, href in links if _has_rel(rel, "self") and href]
            return Discovery(hub=hubs[0], topic=selves[0] if selves else url)
    return None


def _has_rel(rel: str, wanted: str) -> bool:
    return wanted in rel.lower().split()


def after_discovery(
    current: Subscription | None,
    found: Discovery | None,
    feed: str,
    now: datetime,
    tokens: tuple[str, str],
) -> Subscription | None:
    """What a feed's subscription becomes once a poll read the feed: the row to
    save, or None when nothing changes. ``tokens`` (callback id, secret) are
    used for a new subscription or a new hub."""
    if found is None:
        if current is None or current.state == "unsubscribing":
            return None
        return _unsubscribing(current, now)
    if current is None:
        callback_id, secret = tokens
        return Subscription(feed, callback_id, found.hub, found.topic, secret, "subscribing", now)
    if (current.hub, current.topic) != (found.hub, found.topic):
        # A new hub or topic: subscribe afresh, under a new secret, so that pushes
        # from the old one no longer pass the signature check; its lease lapses.
        return Subscription(
            feed, current.callback_id, found.hub, found.topic, tokens[1], "subscribing", now
        )
    if current.state == "unsubscribing":  # the hub is back
        return replace(current, state="subscribing", next_action_at=now, attempts=0)
    return None


def removed(current: Subscription, now: datetime) -> Subscription | None:
    """The feed left the config: unsubscribe (None: already on its way)."""
    return None if current.state == "unsubscribing" else _unsubscribing(current, now)


def _unsubscribing(current: Subscription, now: datetime) -> Subscription:
    return replace(current, state="unsubscribing", next_action_at=now, attempts=0)


def request_for(sub: Subscription) -> Request:
    return "unsubscribe" if sub.state == "unsubscribing" else "subscribe"


def retry_delay(attempts: int) -> timedelta:
    """How long a request waits for its verification (or, failed, for its
    retry): a minute after the first, doubling up to a day."""
    doublings = min(max(attempts - 1, 0), 20)  # 2**20 minutes is past the cap
    return min(RETRY_FIRST * (1 << doublings), RETRY_MAX)


def requested(sub: Subscription, now: datetime) -> Subscription | None:
    """A request is about to go to the hub: the row claimed for it, its next
    action after the backoff (unless a verification comes first). None: an
    unsubscription tried often enough, to be forgotten."""
    if sub.state == "unsubscribing" and sub.attempts >= MAX_UNSUBSCRIBE_ATTEMPTS:
        return None
    attempts = sub.attempts + 1
    return replace(sub, attempts=attempts, next_action_at=now + retry_delay(attempts))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a hub's verification of intent, and the row to save
    (``forget``: delete it)."""

    accept: bool
    save: Subscription | None = None
    forget: bool = False


REJECT = Verdict(accept=False)


def verify_intent(
    sub: Subscription | None,
    mode: str,
    topic: str,
    lease_seconds: str | None,
    now: datetime,
    asked_lease: float,
) -> Verdict:
    """A hub asks whether we want ``mode`` on ``topic``: yes only for what we asked.

    A subscription is confirmed while we subscribe (or renew an active one), an
    unsubscription only while we unsubscribe; anything else is refused, which
    the spec spells 404. The lease is the hub's (``hub.lease_seconds``), or the
    one we asked for when it gives none."""
    if sub is None or topic != sub.topic:
        return REJECT
    if mode == "subscribe" and sub.state in ("subscribing", "active"):
        lease = _seconds(lease_seconds) or asked_lease
        active = replace(
            sub,
            state="active",
            lease_expires_at=now + timedelta(seconds=lease),
            next_action_at=now + timedelta(seconds=lease * RENEW_AT),
            attempts=0,
            last_error=None,
        )
        return Verdict(accept=True, save=active)
    if mode == "unsubscribe" and sub.state == "unsubscribing":
        return Verdict(accept=True, forget=True)
    return REJECT


def _seconds(text: str | None) -> float | None:
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return float(value) if value > 0 else None


def denied(sub: Subscription | None, topic: str, reason: str | None, now: datetime) -> Verdict:
    """The hub refused (or ended) the subscription: poll as usual, ask again later."""
    if sub is None or topic != sub.topic or sub.state == "unsubscribing":
        return REJECT
    why = " ".join((reason or "").split())[:500] or "denied by the hub"
    return Verdict(
        accept=True,
        save=replace(
            sub,
            state="denied",
            lease_expires_at=None,
            next_action_at=now + DENIED_RETRY,
            last_error=why,
        ),
    )


def signature_valid(secret: str, header: str | None, body: bytes) -> bool:
    """Whether ``X-Hub-Signature`` (``method=hexdigest``) is the HMAC of ``body``
    under ``secret``, by one of the spec's methods (compared in constant time)."""
    method, _, digest = (header or "").strip().partition("=")
    method = method.strip().lower()
    if method not in SIGNATURE_METHODS or not digest:
        return False
    expected = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The ``X-Hub-Signature`` a hub sends with ``body``."""
    return f"{method}={hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()}"


def polled_every(
    interval_s: float, sub: Subscription | None, now: datetime, pushed_s: float
) -> float:
    """How often to poll a feed: its own interval, or, while a hub pushes its
    updates, ``pushed_s`` (never more often than its own)."""
    if sub is not None and sub.live(now):
        return max(interval_s, pushed_s)
    return interval_s


def poll_by(sub: Subscription | None, now: datetime) -> datetime | None:
    """The latest a pushed feed's next poll may be: its lease's end, so that a
    lease that lapses unrenewed brings the usual polling back at once."""
    return sub.lease_expires_at if sub is not None and sub.live(now) else None


def callback_url(base: str, callback_id: str) -> str:
    return f"{base.rstrip('/')}/{callback_id}"


def link_pairs(links: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(rel, URL) pairs kept for discovery: those naming a hub or self."""
    return tuple(
        (rel, href) for rel, href in links if _has_rel(rel, "hub") or _has_rel(rel, "self")
    )
