"""Items go from the fetch agent to the match agent in groups, a message per
group, not per item: every item arrives once and in order; a group stays small
enough for a Kafka message however large a feed's items are; a message of one
item alone (as versions before groups sent them, still on a topic after an
upgrade) is matched too; and the match agent matches at most ITEM_BATCH items
at a time, so a burst of groups never holds the loop for long. On Kafka the
items travel as JSON; embedded, the lane in memory hands on the items
themselves, with no JSON both ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from monitor.core.items import Item
from monitor.core.outbox import PendingAlert
from monitor.pipeline import Stages
from monitor.stream.agents import GROUP_CHARS, GROUP_ITEMS, ITEM_BATCH, Agents
from monitor.stream.app import Lanes


def item(n: int, content: str = "") -> Item:
    return Item(
        fingerprint=f"guid:{n}",
        feed="https://example.org/feed.xml",
        feed_title="Example",
        title=f"Story {n}",
        summary="A summary.",
        content=content,
        link=f"https://example.org/{n}",
        published=None,
    )


class Lane:
    """A lane that keeps what is sent on it: as JSON carries it (a Kafka topic),
    or as it is (a channel in memory)."""

    def __init__(self, topic: bool = True) -> None:
        self.topic = topic
        self.messages: list[tuple[bytes, Any]] = []

    async def send(self, *, key: bytes, value: Any) -> asyncio.Future[None]:
        self.messages.append((key, json.loads(json.dumps(value)) if self.topic else value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Matching:
    def __init__(self) -> None:
        self.batches: list[list[Item]] = []

    async def match_all(self, items: Sequence[Item]) -> list[PendingAlert]:
        self.batches.append(list(items))
        return []


def agents(embedded: bool = False) -> tuple[Agents, Lane, Matching]:
    lane, matching = Lane(topic=not embedded), Matching()
    lanes = cast(Lanes, SimpleNamespace(poll_requests=None, items=lane, alerts=Lane()))
    stages = cast(Stages, SimpleNamespace(matching=matching))
    return Agents(stages, lanes, embedded=embedded), lane, matching


async def test_a_poll_s_items_go_in_few_messages_and_arrive_once_in_order() -> None:
    runner, lane, matching = agents()
    items = [item(n) for n in range(250)]
    await runner._send_items(items)
    assert len(lane.messages) == 3  # 100, 100, 50
    await runner._on_items([value for _, value in lane.messages])
    assert [i for batch in matching.batches for i in batch] == items


async def test_embedded_the_items_themselves_go_in_few_messages_and_arrive_once_in_order() -> None:
    runner, lane, matching = agents(embedded=True)
    items = [item(n) for n in range(250)]
    await runner._send_items(items)
    assert [len(value["items"]) for _, value in lane.messages] == [100, 100, 50]
    assert all(isinstance(i, Item) for _, value in lane.messages for i in value["items"])
    await runner._on_items([value for _, value in lane.messages])
    assert [i for batch in matching.batches for i in batch] == items


async def test_a_group_of_large_items_stays_within_a_kafka_message() -> None:
    runner, lane, _ = agents()
    big = "x" * (GROUP_CHARS // 3)
    items = [item(n, big) for n in range(7)] + [item(7, "x" * (2 * GROUP_CHARS))]
    await runner._send_items(items)
    sizes = [len(json.dumps(value)) for _, value in lane.messages]
    assert all(len(value["items"]) <= GROUP_ITEMS for _, value in lane.messages)
    # groups of at most the bound, but an item larger than it, alone
    assert [len(value["items"]) for _, value in lane.messages] == [2, 2, 2, 1, 1]
    assert max(sizes[:-1]) < 1.1 * GROUP_CHARS


async def test_an_item_sent_alone_by_an_older_version_is_matched() -> None:
    runner, _, matching = agents()
    await runner._on_items([item(1).to_json(), {"items": [item(2).to_json()]}])
    assert matching.batches == [[item(1), item(2)]]


async def test_the_match_agent_matches_at_most_a_batch_at_a_time() -> None:
    runner, lane, matching = agents()
    await runner._send_items([item(n) for n in range(ITEM_BATCH * 2 + 10)])
    await runner._on_items([value for _, value in lane.messages])
    assert [len(batch) for batch in matching.batches] == [ITEM_BATCH, ITEM_BATCH, 10]
