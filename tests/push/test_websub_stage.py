"""The pushing stage against a real WebSub hub and feed server on loopback, with
its callback endpoint served for real: discovery after a poll, subscription
and verification, pushed items through the same "new items only" path as
polled ones, forgeries ignored, intent refused for what we never asked,
denial and lapse bringing the usual polling back, and unsubscription of a
feed that left the config. The service's own clock is the test's."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.config import Settings, load_settings
from monitor.core.items import Item
from monitor.core.websub import callback_url
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.pipeline.pushing import Pushing
from monitor.pipeline.scheduling import PollRequest
from monitor.push.hub import HubClient
from monitor.push.server import serve, websub_app
from monitor.rules.rulebook import Rulebook
from monitor.store import Store, open_store
from tests.feedserver import FeedServer, rss
from tests.websubhub import WebSubHub, advertise

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOPIC = "https://news.example.org/world.rss"  # the feed's self link
OLD = {"title": "Strait drills end", "link": "https://news.example.org/1", "guid": "s-1"}
NEW = {"title": "Tariff talks resume", "link": "https://news.example.org/2", "guid": "s-2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sent:
    """The items lane, and the matching stage's part in "new items only": each
    item recorded as seen."""

    store: Store
    clock: Clock
    items: list[Item] = field(default_factory=list)

    async def __call__(self, items: Sequence[Item]) -> None:
        for item in items:
            await self.store.record_item(item, [], self.clock())
        self.items.extend(items)

    def titles(self) -> list[str]:
        return [item.title for item in self.items]


@dataclass
class Push:
    stages: Stages
    pushing: Pushing
    store: Store
    clock: Clock
    hub: WebSubHub
    feeds: FeedServer
    sent: Sent
    callback: str
    feed: str

    async def poll(self) -> None:
        await self.stages.fetching.fetch(PollRequest(self.feed, None), self.sent)

    async def subscribed(self) -> None:
        """The stage asks the hub, and the hub has verified it."""
        await self.pushing.maintain()
        await self.hub.wait_for_async(lambda: bool(self.hub.verified()), what="verification")


def write_config(root: Path, feeds: Sequence[str], port: int) -> Settings:
    (root / "rules").mkdir(exist_ok=True)
    (root / "apprise.yml").write_text("version: 1\nurls: []\n")
    listed = "".join(f"  - url: {url}\n    interval: 1m\n" for url in feeds)
    (root / "monitor.yaml").write_text(
        (f"feeds:\n{listed}" if feeds else "feeds: []\n")
        + "rules: rules\nnotify: apprise.yml\ndata_dir: data\n"
        + f"websub: {{callback: 'http://127.0.0.1:{port}/websub', listen: '127.0.0.1:{port}',"
        + " poll_interval: 1h}\n"
    )
    return load_settings(root / "monitor.yaml")


@asynccontextmanager
async def running(
    settings: Settings, store: Store, clock: Clock, hub: HubClient, sent: Sent
) -> AsyncIterator[Stages]:
    """The stages as ``settings`` make them, their callback served on websub.listen."""
    async with (
        FeedParser(thread=True) as parser,
        Fetcher(total_timeout=10, connect_timeout=5) as fetcher,
    ):
        stages = Stages.build(
            settings,
            store=store,
            rulebook=Rulebook(settings.rules_dir),
            deliverer=Deliverer(load_channels(settings.apprise_config).or_console()),
            fetcher=fetcher,
            parser=parser,
            clock=clock,
            hub=hub,
        )
        pushing = stages.pushing
        assert pushing is not None

        async def receive(cid: str, body: bytes, ctype: str | None, sig: str | None) -> int:
            return await pushing.receive(cid, body, ctype, sig, sent)

        websub = settings.websub
        app = websub_app(pushing.verify, receive, 1 << 20, websub.callback or "")
        runner = await serve(app, websub.host, websub.port)
        try:
            yield stages
        finally:
            await runner.cleanup()


@pytest.fixture
async def push(tmp_path: Path) -> AsyncIterator[Push]:
    async with WebSubHub() as hub, FeedServer() as feeds, HubClient() as client:
        feeds.set_feed("/world.rss", advertise(rss([OLD]), hub.url, TOPIC))
        settings = write_config(tmp_path, [feeds.url("/world.rss")], free_port())
        store = await open_store(settings.storage)
        clock = Clock(START)
        sent = Sent(store, clock)
        try:
            async with running(settings, store, clock, client, sent) as stages:
                assert stages.pushing is not None and settings.websub.callback is not None
                yield Push(
                    stages,
                    stages.pushing,
                    store,
                    clock,
                    hub,
                    feeds,
                    sent,
                    settings.websub.callback,
                    feeds.url("/world.rss"),
                )
        finally:
            await store.close()


async def test_a_feed_naming_a_hub_is_subscribed_and_what_it_pushes_goes_on_once(
    push: Push,
) -> None:
    await push.poll()
    assert push.sent.titles() == [OLD["title"]]
    sub = await push.store.subscription(push.feed)
    assert sub is not None
    assert (sub.state, sub.hub, sub.topic) == ("subscribing", push.hub.url, TOPIC)

    await push.subscribed()
    [request] = push.hub.requests
    assert (request.mode, request.topic) == ("subscribe", TOPIC)
    assert request.callback == callback_url(push.callback, sub.callback_id)
    assert request.secret == sub.secret and request.lease_seconds == str(7 * 86400)
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.state == "active"
    assert sub.lease_expires_at == START + timedelta(days=7)  # the lease the hub granted

    # what the feed carried before is not news again; the new story is, once
    assert await push.hub.apublish(TOPIC, rss([NEW, OLD]).encode()) == [200]
    assert await push.hub.apublish(TOPIC, rss([NEW]).encode(), method="sha512") == [200]
    assert push.sent.titles() == [OLD["title"], NEW["title"]]
    assert push.sent.items[-1].feed == push.feed


async def test_a_pushed_feed_is_polled_rarely_until_its_lease_lapses(push: Push) -> None:
    push.hub.lease = 3 * 3600
    await push.poll()
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at is not None
    assert state.next_poll_at <= START + timedelta(minutes=1, seconds=6)  # its own interval
    await push.subscribed()

    push.clock.now = START + timedelta(minutes=1)
    await push.poll()
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at is not None
    assert state.next_poll_at >= push.clock.now + timedelta(hours=1)  # websub.poll_interval

    # the lease is three hours: the safety-net poll comes at its end at the latest
    push.clock.now = START + timedelta(hours=2, minutes=30)
    await push.poll()
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at == START + timedelta(hours=3)

    # not renewed (the hub never verified again): polled as usual once it lapses
    push.clock.now = START + timedelta(hours=3, seconds=1)
    await push.poll()
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at is not None
    assert state.next_poll_at <= push.clock.now + timedelta(minutes=1, seconds=6)


async def test_a_subscription_is_renewed_before_its_lease_ends(push: Push) -> None:
    push.hub.lease = 1000
    await push.poll()
    await push.subscribed()
    push.clock.now = START + timedelta(seconds=799)
    await push.pushing.maintain()
    assert len(push.hub.requests) == 1  # not yet
    push.clock.now = START + timedelta(seconds=800)  # 80 % of the lease
    await push.pushing.maintain()
    await push.hub.wait_for_async(lambda: len(push.hub.verified()) == 2, what="renewal")
    assert [r.mode for r in push.hub.requests] == ["subscribe", "subscribe"]
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.lease_expires_at == push.clock.now + timedelta(seconds=1000)


async def test_forged_and_unsigned_pushes_are_ignored_and_unknown_callbacks_are_gone(
    push: Push,
) -> None:
    await push.poll()
    await push.subscribed()
    body = rss([NEW]).encode()
    assert await push.hub.apublish(TOPIC, body, secret="a guess") == [202]
    assert await push.hub.apublish(TOPIC, body, signed=False) == [202]
    assert push.sent.titles() == [OLD["title"]]
    assert await push.hub.apublish(TOPIC, body) == [200]
    assert push.sent.titles() == [OLD["title"], NEW["title"]]

    async with aiohttp.ClientSession() as session:
        gone = callback_url(push.callback, "no-such-subscription")
        async with session.post(gone, data=body) as resp:
            assert resp.status == 410


async def test_intent_is_confirmed_only_for_what_was_asked(push: Push) -> None:
    await push.poll()
    sub = await push.store.subscription(push.feed)
    assert sub is not None
    ours = callback_url(push.callback, sub.callback_id)
    assert await push.hub.verify_intent(ours, "subscribe", "https://elsewhere.example/feed") == (
        404,
        "",
    )
    assert (await push.hub.verify_intent(ours, "unsubscribe", TOPIC))[0] == 404
    unknown = callback_url(push.callback, "no-such-subscription")
    assert (await push.hub.verify_intent(unknown, "subscribe", TOPIC))[0] == 404
    status, challenge = await push.hub.verify_intent(ours, "subscribe", TOPIC)
    assert status == 200 and challenge.startswith("c-")
    assert (await push.hub.verify_intent(ours, "unsubscribe", TOPIC))[0] == 404  # still ours


async def test_a_denied_subscription_brings_the_usual_polling_back_at_once(push: Push) -> None:
    await push.poll()
    await push.subscribed()
    push.clock.now = START + timedelta(minutes=1)
    await push.poll()  # pushed: the next poll is an hour away
    push.hub.deny = True
    push.clock.now = START + timedelta(minutes=2)
    sub = await push.store.subscription(push.feed)
    assert sub is not None
    status, _ = await push.hub.verify_intent(
        callback_url(push.callback, sub.callback_id), "denied", TOPIC
    )
    assert status == 200
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.state == "denied" and not sub.live(push.clock.now)
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at == push.clock.now


async def test_a_hub_that_denies_or_refuses_leaves_the_feed_polled(push: Push) -> None:
    push.hub.deny = True
    await push.poll()
    await push.pushing.maintain()
    await push.hub.wait_for_async(lambda: bool(push.hub.verifications), what="denial")
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.state == "denied"
    assert sub.last_error == "not on this hub"
    assert sub.next_action_at == START + timedelta(days=1)  # asked again tomorrow

    push.hub.deny, push.hub.refuse = False, True
    push.clock.now = START + timedelta(days=1)
    await push.pushing.maintain()
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.state == "denied" and sub.last_error is not None
    assert sub.last_error.startswith("HTTP 403")
    await push.poll()
    state = await push.store.feed_state(push.feed)
    assert state is not None and state.next_poll_at is not None
    assert state.next_poll_at <= push.clock.now + timedelta(minutes=1, seconds=6)


async def test_a_feed_that_stops_naming_a_hub_is_unsubscribed(push: Push) -> None:
    await push.poll()
    await push.subscribed()
    push.feeds.set_feed("/world.rss", rss([OLD]))
    await push.poll()
    sub = await push.store.subscription(push.feed)
    assert sub is not None and sub.state == "unsubscribing"
    await push.pushing.maintain()
    await push.hub.wait_for_async(lambda: bool(push.hub.verified("unsubscribe")), what="unsub")
    assert await push.store.subscription(push.feed) is None
    assert push.hub.live(TOPIC) == []


async def test_a_feed_removed_from_the_config_is_unsubscribed_at_start(tmp_path: Path) -> None:
    async with WebSubHub() as hub, FeedServer() as feeds, HubClient() as client:
        feeds.set_feed("/world.rss", advertise(rss([OLD]), hub.url, TOPIC))
        port = free_port()
        settings = write_config(tmp_path, [feeds.url("/world.rss")], port)
        store = await open_store(settings.storage)
        clock = Clock(START)
        try:
            async with running(settings, store, clock, client, Sent(store, clock)) as stages:
                assert stages.pushing is not None
                await stages.fetching.fetch(
                    PollRequest(feeds.url("/world.rss"), None), Sent(store, clock)
                )
                await stages.pushing.maintain()
                await hub.wait_for_async(lambda: bool(hub.live(TOPIC)), what="subscription")

            settings = write_config(tmp_path, [], port)  # the feed is gone; a restart
            async with running(settings, store, clock, client, Sent(store, clock)) as stages:
                assert stages.pushing is not None
                await stages.pushing.maintain()
                await hub.wait_for_async(lambda: bool(hub.verified("unsubscribe")), what="unsub")
            assert [r.mode for r in hub.requests] == ["subscribe", "unsubscribe"]
            assert hub.live(TOPIC) == []
            assert await store.subscriptions() == []
        finally:
            await store.close()
