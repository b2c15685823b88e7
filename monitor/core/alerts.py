"""Alerts: which channel hears about which item, and for which rules.

A *channel* is one Apprise target (one URL line of the Apprise config) with its
tags. A rule with ``notify: [tags]`` goes to every channel carrying one of those
tags; a rule without ``notify`` goes to every channel, except a channel tagged
only ``admin``, which is for notices about the service itself. An item makes at most one
alert per channel, naming only the rules that fired for that channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.core.items import Item
from monitor.core.policy import DigestSchedule


@dataclass(frozen=True, slots=True)
class Channel:
    """One delivery target. ``id`` is stable across restarts (derived from its URL)."""

    id: str
    tags: frozenset[str]
    label: str  # what logs may show: the URL with its secrets masked


@dataclass(frozen=True, slots=True)
class Fired:
    """A rule that fired on an item: what it routes to and what it matched."""

    rule: str
    notify: tuple[str, ...]  # Apprise tags; empty means every channel
    terms: tuple[str, ...]  # matched terms as they appear in the text
    snippet: str  # matched terms highlighted as **term**
    digest: DigestSchedule | None = None  # the rule gathers its matches into digests
    template: str | None = None  # the rule's own message template (a file path)


@dataclass(frozen=True, slots=True)
class Alert:
    """What one channel is told about one item."""

    fingerprint: str
    channel: str
    title: str
    link: str
    feed: str
    published: datetime | None
    rules: tuple[str, ...]
    terms: tuple[str, ...]
    snippet: str
    template: str | None = None  # a rule's own template, when one of its rules has one

    @property
    def key(self) -> str:
        """Identity of the alert: one per item per channel."""
        return f"{self.fingerprint}|{self.channel}"

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "channel": self.channel,
            "title": self.title,
            "link": self.link,
            "feed": self.feed,
            "published": self.published.isoformat() if self.published else None,
            "rules": list(self.rules),
            "terms": list(self.terms),
            "snippet": self.snippet,
            "template": self.template,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        published = data.get("published")
        return cls(
            fingerprint=data["fingerprint"],
            channel=data["channel"],
            title=data["title"],
            link=data["link"],
            feed=data["feed"],
            published=datetime.fromisoformat(published) if published else None,
            rules=tuple(data["rules"]),
            terms=tuple(data["terms"]),
            snippet=data["snippet"],
            template=data.get("template"),
        )


ADMIN_TAG = "admin"  # channels for notices about the service itself


def routes_to(fired: Fired, channel: Channel) -> bool:
    if not fired.notify:  # every channel, but those kept for admin notices
        return channel.tags != {ADMIN_TAG}
    # Apprise lowercases tags; so do we, so `notify: [Chat]` reaches `tag: chat`
    return bool(channel.tags.intersection(t.lower() for t in fired.notify))


def is_news(published: datetime | None, first_seen: datetime, max_age: timedelta) -> bool:
    """Whether an item may alert: published at most ``max_age`` before it was first seen.

    Older items are recorded but stay quiet, so a first start or a newly added
    feed does not flood the channels with what the feed still carries. An item
    without a date counts as published when first seen; one dated after that
    (a feed's clock or time zone off) is news too.
    """
    return published is None or first_seen - published <= max_age


def alerts_for(item: Item, fired: Sequence[Fired], channels: Iterable[Channel]) -> list[Alert]:
    """One alert per channel that at least one fired rule routes to."""
    alerts = []
    for channel in channels:
        mine = [f for f in fired if routes_to(f, channel)]
        if not mine:
            continue
        terms = summarise_terms([t for f in mine for t in f.terms])
        alerts.append(
            Alert(
                fingerprint=item.fingerprint,
                channel=channel.id,
                title=item.title or item.link,
                link=item.link,
                feed=item.feed_title or item.feed,
                published=item.published,
                rules=tuple(f.rule for f in mine),
                terms=terms,
                snippet=mine[0].snippet,
                template=next((f.template for f in mine if f.template), None),
            )
        )
    return alerts


def summarise_terms(terms: Sequence[str], limit: int = 12) -> tuple[str, ...]:
    """Matched terms worth showing: first-seen order, no repeats in another case,
    none already inside a longer one ("Kerry" inside "John Kerry"), at most ``limit``."""
    first: dict[str, str] = {}
    for term in terms:
        first.setdefault(term.lower(), term)
    unique = list(first.values())
    folded = [f" {t.lower()} " for t in unique]
    kept = [
        term
        for term, padded in zip(unique, folded, strict=True)
        if not any(padded != other and padded in other for other in folded)
    ]
    return tuple(kept[:limit])


def render(alert: Alert) -> tuple[str, str]:
    """Title and plain-text body of an alert message."""
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "time unknown"
    title = f"[newsmon] {alert.title}"
    body = "\n".join(
        [
            alert.title,
            alert.link,
            f"Source: {alert.feed} · {when}",
            f"Rules: {', '.join(alert.rules)}",
            f"Matched: {', '.join(alert.terms)}",
            "",
            alert.snippet,
        ]
    )
    return title, body
