"""The metrics as the stages report to them, without HTTP: a channel's label
never carries a secret of its URL, two channels on one host stay apart, and a
store that cannot be read leaves the outbox out, not the rest."""

from __future__ import annotations

import string
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.alerts import Channel
from monitor.notify.channels import load_channels
from monitor.store import Store, open_store
from monitor.web.metrics import Metrics, channel_label

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
secret = st.text(string.ascii_letters + string.digits, min_size=12, max_size=24)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    yield store
    await store.close()


async def text_of(metrics: Metrics, store: Store) -> str:
    body, content_type = await metrics.exposition(store, None)
    assert content_type.startswith("text/plain")
    return body.decode()


def values(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@settings(max_examples=25, deadline=None)
@given(password=secret, path=secret, header=secret, query=secret, user=secret)
def test_no_secret_of_a_channel_url_reaches_a_label(
    password: str, path: str, header: str, query: str, user: str
) -> None:
    urls = [
        f"json://{user}:{password}@hooks.example.org/{path}?+X-Token={header}&-key={query}",
        f"ntfys://{user}:{password}@ntfy.example.org/{path}",
        f"slack://{password}/{header}/{query}/#news",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "apprise.yml"
        config.write_text("".join(f"{url}\n" for url in urls))
        channels = load_channels(config)
    assert len(channels) == 3
    metrics = Metrics(channels.channels)
    for channel in channels:
        metrics.alert_failed(channel.id)
    text = generate_latest(metrics.registry).decode()
    for value in (password, path, header, query, user):
        assert value not in text
    labels = {dict(labels).get("channel") for _, labels in values(text)}
    assert {"json://hooks.example.org", "ntfys://ntfy.example.org"} <= labels


def test_a_channel_is_named_by_scheme_and_host_and_two_on_one_host_apart() -> None:
    assert channel_label("console") == "console"
    assert channel_label("mailto://newsmon:****@127.0.0.1:2525/?to=a%40b") == (
        "mailto://127.0.0.1:2525"
    )
    one = Channel("a", frozenset({"chat"}), "json://127.0.0.1:8080/one")
    two = Channel("b", frozenset({"chat"}), "json://127.0.0.1:8080/two")
    other = Channel("c", frozenset({"email", "admin"}), "json://127.0.0.1:8080/three")
    metrics = Metrics([one, two, other])
    metrics.alert_sent("b", NOW - timedelta(minutes=5), NOW - timedelta(seconds=2), NOW)
    metrics.digest_sent("c", 3)
    metrics.alert_failed("gone")  # a channel since removed from the config
    samples = values(generate_latest(metrics.registry).decode())

    def sent(channel: str, tags: str) -> float:
        labels = frozenset({"channel": channel, "tags": tags}.items())
        return samples[("newsmon_alerts_sent_total", labels)]

    assert sent("json://127.0.0.1:8080", "chat") == 0
    assert sent("json://127.0.0.1:8080#2", "chat") == 1
    assert sent("json://127.0.0.1:8080", "admin,email") == 3  # a digest of three
    unknown = frozenset({"channel": "unknown", "tags": ""}.items())
    assert samples[("newsmon_alerts_failed_total", unknown)] == 1
    assert samples[("newsmon_publish_to_alert_seconds_sum", frozenset())] == 300
    assert samples[("newsmon_match_to_alert_seconds_sum", frozenset())] == 2


async def test_the_outbox_is_read_at_each_scrape_and_left_out_when_it_cannot_be(
    store: Store,
) -> None:
    metrics = Metrics([])
    metrics.items_seen(4)
    samples = values(await text_of(metrics, store))
    assert samples[("newsmon_outbox_alerts", frozenset({("state", "pending")}))] == 0
    await store.close()
    samples = values(await text_of(metrics, store))
    assert not any(name == "newsmon_outbox_alerts" for name, _ in samples)
    assert samples[("newsmon_items_seen_total", frozenset())] == 4
