"""Routing alerts to channels, and what an alert says."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.core.alerts import Channel, Fired, alerts_for, render, summarise_terms
from monitor.core.items import Item

ITEM = Item(
    fingerprint="v1:abc",
    feed="https://feeds.example.org/world.rss",
    feed_title="Example World",
    title="US and China resume climate talks",
    summary="Kerry meets Xie Zhenhua in Beijing.",
    content="",
    link="https://example.org/story",
    published=datetime(2023, 7, 18, 9, 30, tzinfo=UTC),
)
EMAIL = Channel(id="e", tags=frozenset({"email"}), label="mailto://…")
CHAT = Channel(id="c", tags=frozenset({"chat", "team"}), label="json://…")
UNTAGGED = Channel(id="u", tags=frozenset(), label="ntfy://…")


def fired(rule: str, *notify: str, terms: tuple[str, ...] = ("climate talks",)) -> Fired:
    return Fired(
        rule=rule, notify=notify, terms=terms, snippet="US and China resume **climate talks**"
    )


def test_a_rule_without_notify_reaches_every_channel_once() -> None:
    alerts = alerts_for(ITEM, [fired("climate"), fired("diplomacy")], [EMAIL, CHAT, UNTAGGED])
    assert [(a.channel, a.rules) for a in alerts] == [
        ("e", ("climate", "diplomacy")),
        ("c", ("climate", "diplomacy")),
        ("u", ("climate", "diplomacy")),
    ]


def test_each_channel_names_only_the_rules_routed_to_it() -> None:
    alerts = alerts_for(
        ITEM,
        [fired("climate", "chat"), fired("diplomacy"), fired("taiwan", "Email")],
        [EMAIL, CHAT],
    )
    assert {a.channel: a.rules for a in alerts} == {
        "e": ("diplomacy", "taiwan"),  # tags compare case-insensitively, as Apprise's do
        "c": ("climate", "diplomacy"),
    }


def test_no_alert_for_a_channel_no_fired_rule_routes_to() -> None:
    assert alerts_for(ITEM, [fired("climate", "chat")], [EMAIL, UNTAGGED]) == []


def test_alert_carries_the_story() -> None:
    [alert] = alerts_for(ITEM, [fired("climate", terms=("climate talks", "Kerry"))], [EMAIL])
    title, body = render(alert)
    assert ITEM.title in title
    for expected in (ITEM.link, "Example World", "2023-07-18 09:30 UTC", "climate", "Kerry"):
        assert expected in body
    assert "**climate talks**" in body
    assert alert == type(alert).from_json(alert.to_json())


def test_summarised_terms_drop_repeats_and_terms_inside_longer_ones() -> None:
    terms = ["China", "Kerry", "John Kerry", "china", "climate talks", "climate", "Xi"]
    assert summarise_terms(terms) == ("China", "John Kerry", "climate talks", "Xi")
    assert len(summarise_terms([f"t{i}" for i in range(40)])) == 12


def test_a_channel_tagged_only_admin_gets_no_ordinary_alerts() -> None:
    admin = Channel(id="a", tags=frozenset({"admin"}), label="ops")
    both = Channel(id="b", tags=frozenset({"admin", "email"}), label="ops+mail")
    assert [a.channel for a in alerts_for(ITEM, [fired("climate")], [admin, both])] == ["b"]
    assert [a.channel for a in alerts_for(ITEM, [fired("x", "admin")], [admin])] == ["a"]
