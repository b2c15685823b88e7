"""The dashboard's marks, kept in the store so that every worker honours them:
a muted rule alerts no one until its mute ends, while the other rules an item
fires go on alerting; an acknowledgement lasts for its while; the alerts
recorded after a given one are found in order. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.rules.rulebook import Rulebook
from monitor.store import Store, open_store
from monitor.store.sql import SqlStore
from tests.store.factories import T0, alert, item

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
RULES = """\
rules:
  - name: strait
    match: Taiwan
  - name: drills
    match: drills
"""


def story(n: int, title: str) -> Item:
    return Item(
        fingerprint=f"guid:{n}",
        feed="https://a.example.org/rss",
        feed_title="A",
        title=title,
        summary="",
        content="",
        link=f"https://a.example.org/{n}",
        published=NOW - timedelta(minutes=5),
    )


@pytest.fixture
async def matching(tmp_path: Path, storage_url: str) -> AsyncIterator[tuple[Stages, Store]]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "apprise.yml").write_text("version: 1\nurls:\n  - json://127.0.0.1:9/x\n")
    (tmp_path / "monitor.yaml").write_text(
        f"feeds: []\nrules: rules\nnotify: apprise.yml\ndata_dir: data\nstorage: {storage_url}\n"
    )
    settings = load_settings(tmp_path / "monitor.yaml")
    store = await open_store(settings.storage)
    channels = load_channels(settings.apprise_config)
    try:
        async with Fetcher() as fetcher, FeedParser(thread=True) as parser:
            stages = Stages.build(
                settings,
                store=store,
                rulebook=Rulebook(settings.rules_dir),
                deliverer=Deliverer(channels, options=settings.channels),
                fetcher=fetcher,
                parser=parser,
                clock=lambda: NOW,
            )
            yield stages, store
    finally:
        await store.close()


async def test_a_muted_rule_alerts_no_one_until_its_mute_ends(
    matching: tuple[Stages, Store], storage_url: str
) -> None:
    stages, store = matching
    woken: list[int] = []
    stages.matching.on_recorded.append(lambda: woken.append(1))
    # muted by another worker (its own engine): the mute is in the store
    other = SqlStore(storage_url)
    await other.open()
    try:
        await other.mute_rule("drills", NOW + timedelta(hours=1), NOW - timedelta(minutes=1))
    finally:
        await other.close()

    only_muted = story(1, "Navy drills off Okinawa")
    both = story(2, "Taiwan drills begin")
    sent = await stages.matching.match_all([only_muted, both])
    assert [(p.alert.fingerprint, p.alert.rules) for p in sent] == [("guid:2", ("strait",))]
    assert woken == [1]  # the dashboard's stream is told at once
    assert await store.last_alert_id() == sent[0].id

    # the mute ends: the rule alerts again
    assert await store.unmute_rule("drills")
    assert not await store.unmute_rule("drills")
    again = await stages.matching.match_all([story(3, "Drills near Kinmen")])
    assert [p.alert.rules for p in again] == [("drills",)]
    # the item only a muted rule fired for was recorded as seen: it never alerts later
    assert await stages.matching.match_all([only_muted]) == []


async def test_mutes_last_for_their_while(store: Store) -> None:
    await store.mute_rule("strait", T0 + timedelta(hours=8), T0)
    await store.mute_rule("drills", T0 + timedelta(hours=1), T0)
    assert [m.rule for m in await store.mutes(T0)] == ["drills", "strait"]
    assert [m.rule for m in await store.mutes(T0 + timedelta(hours=2))] == ["strait"]
    # muting again replaces the mute
    mute = await store.mute_rule("strait", T0 + timedelta(days=1), T0 + timedelta(hours=2))
    assert (await store.mutes(T0 + timedelta(hours=9))) == [mute]


async def test_acknowledgements_last_for_their_while_and_need_an_alert(store: Store) -> None:
    ids = await store.record_item(item("guid:1"), [alert(item("guid:1"), "chat")], T0)
    alert_id = ids["chat"]
    assert await store.acknowledge(alert_id + 1, T0 + timedelta(hours=1), T0) is None
    ack = await store.acknowledge(alert_id, T0 + timedelta(hours=1), T0)
    assert ack is not None and ack.alert_id == alert_id
    assert await store.acknowledgements(T0) == [ack]
    assert await store.acknowledgements(T0 + timedelta(hours=1)) == []
    await store.acknowledge(alert_id, T0 + timedelta(hours=3), T0 + timedelta(hours=2))
    assert await store.unacknowledge(alert_id)
    assert await store.acknowledgements(T0 + timedelta(hours=2)) == []


async def test_the_alerts_after_one_come_in_the_order_they_were_recorded(store: Store) -> None:
    assert await store.last_alert_id() == 0
    first = await store.record_item(item("guid:1"), [alert(item("guid:1"), "chat")], T0)
    later = [item(f"guid:{n}") for n in (2, 3)]
    for it in later:
        await store.record_item(it, [alert(it, "chat"), alert(it, "email")], T0)
    after = await store.alerts_after(first["chat"])
    assert [(r.alert.fingerprint, r.alert.channel) for r in after] == [
        ("guid:2", "chat"),
        ("guid:2", "email"),
        ("guid:3", "chat"),
        ("guid:3", "email"),
    ]
    assert [r.id for r in await store.alerts_after(first["chat"], limit=1)] == [after[0].id]
    assert await store.last_alert_id() == after[-1].id
