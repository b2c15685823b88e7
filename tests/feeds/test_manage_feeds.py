"""Adding, removing and listing feeds at run time (monitor.feeds.manage), on a
real store, with the host resolved by the system's resolver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config import Settings, load_settings
from monitor.feeds.manage import (
    FeedExists,
    FeedInConfig,
    FeedNotFound,
    FeedRefused,
    add_feed,
    list_feeds,
    remove_feed,
)
from monitor.store import Store, open_store

CONFIG = """\
feeds:
  - url: http://127.0.0.1:8000/mine.rss
    name: Mine
  - opml: more.opml
    interval: 1h
storage: sqlite:///newsmon.db
{extra}
"""
OPML = (
    '<opml version="2.0"><body><outline text="O" xmlUrl="https://o.example.org/rss"/></body></opml>'
)


def settings_with(tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG.format(extra=extra))
    (tmp_path / "more.opml").write_text(OPML)
    return load_settings(path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_with(tmp_path)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    s = await open_store(settings.storage)
    yield s
    await s.close()


async def public(host: str, port: int) -> list[str]:
    """A resolver for names that must not depend on the network: public addresses."""
    return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize(
    ("url", "address", "kind"),
    [
        ("http://127.0.0.1/feed.xml", "127.0.0.1", "loopback"),
        ("http://localhost:8080/feed.xml", None, "loopback"),  # ::1 or 127.0.0.1
        ("http://10.0.0.7/feed.xml", "10.0.0.7", "private"),
        ("http://192.168.1.20/rss", "192.168.1.20", "private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
        ("http://[::1]:8000/feed.xml", "::1", "loopback"),
        ("http://[::ffff:127.0.0.1]/feed.xml", "::ffff:127.0.0.1", "loopback"),
        ("http://0.0.0.0/feed.xml", "0.0.0.0", "unspecified"),
    ],
)
async def test_a_feed_on_this_machine_or_its_networks_is_refused_with_the_reason(
    settings: Settings, store: Store, url: str, address: str | None, kind: str
) -> None:
    with pytest.raises(FeedRefused) as refused:
        await add_feed(settings, store, url)
    error = refused.value
    assert error.kind == kind
    assert address is None or error.address == address
    assert url in error.reason and str(error.address) in error.reason
    assert f"a {kind} address" in error.reason and "allow_private_networks" in error.reason
    assert await store.managed_feeds() == []


async def test_allow_private_networks_lets_such_a_feed_in(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "fetch: {allow_private_networks: true}")
    store = await open_store(settings.storage)
    try:
        for url in ("http://127.0.0.1:9/a.rss", "http://localhost/b.rss", "http://[::1]/c.rss"):
            await add_feed(settings, store, url)
        assert [f.url for f in await store.managed_feeds()] == [
            "http://127.0.0.1:9/a.rss",
            "http://[::1]/c.rss",
            "http://localhost/b.rss",
        ]
    finally:
        await store.close()


async def test_a_public_feed_is_added_with_its_name_and_pinned_interval(
    settings: Settings, store: Store
) -> None:
    added = await add_feed(
        settings, store, "https://news.example.org/rss", name="News", interval="5m", resolve=public
    )
    assert (added.url, added.name, added.interval_s) == (
        "https://news.example.org/rss",
        "News",
        300,
    )
    assert await store.managed_feeds() == [added]


@pytest.mark.parametrize(
    ("url", "interval", "says"),
    [
        ("ftp://news.example.org/rss", None, "expected an http:// or https:// URL"),
        ("news.example.org/rss", None, "expected an http:// or https:// URL"),
        ("https://news.example.org/rss", "0s", "interval"),
        ("https://news.example.org/rss", "often", "invalid duration"),
    ],
)
async def test_a_bad_url_or_interval_is_refused_naming_it(
    settings: Settings, store: Store, url: str, interval: str | None, says: str
) -> None:
    with pytest.raises(FeedRefused, match=says) as refused:
        await add_feed(settings, store, url, interval=interval, resolve=public)
    assert url in refused.value.reason


async def test_a_host_that_does_not_resolve_is_refused(settings: Settings, store: Store) -> None:
    with pytest.raises(FeedRefused, match=r"cannot resolve no-such-host\.invalid"):
        await add_feed(settings, store, "https://no-such-host.invalid/rss")


async def test_a_feed_already_listed_is_not_added_again(settings: Settings, store: Store) -> None:
    with pytest.raises(FeedExists, match=r"already in the config \(.*monitor.yaml:2\)") as exists:
        await add_feed(settings, store, "http://127.0.0.1:8000/mine.rss")
    assert exists.value.source == "config"
    with pytest.raises(FeedExists, match=r"already in the config \(.*more.opml\)"):
        await add_feed(settings, store, "https://o.example.org/rss", resolve=public)
    await add_feed(settings, store, "https://news.example.org/rss", resolve=public)
    with pytest.raises(FeedExists, match="already added") as exists:
        await add_feed(settings, store, "https://news.example.org/rss", resolve=public)
    assert exists.value.source == "store"


async def test_removing_a_config_feed_names_the_file_and_line_to_edit(
    settings: Settings, store: Store
) -> None:
    with pytest.raises(FeedInConfig) as refused:
        await remove_feed(settings, store, "http://127.0.0.1:8000/mine.rss")
    assert (refused.value.path, refused.value.line) == (str(settings.path), 2)
    assert str(refused.value).startswith(f"{settings.path}:2: ")
    with pytest.raises(FeedInConfig, match=r"listed in .*more\.opml") as refused:
        await remove_feed(settings, store, "https://o.example.org/rss")
    assert refused.value.line == 4  # the opml: entry


async def test_a_removed_feed_is_gone_and_removing_it_again_is_an_error(
    settings: Settings, store: Store
) -> None:
    await add_feed(settings, store, "https://news.example.org/rss", resolve=public)
    removed = await remove_feed(settings, store, "https://news.example.org/rss")
    assert removed.url == "https://news.example.org/rss"
    with pytest.raises(FeedNotFound, match="no such feed"):
        await remove_feed(settings, store, "https://news.example.org/rss")


async def test_the_list_says_where_each_feed_comes_from(settings: Settings, store: Store) -> None:
    await add_feed(settings, store, "https://news.example.org/rss", interval=120, resolve=public)
    listed = await list_feeds(settings, store)
    assert [(f.url, f.name, f.interval_s, f.source) for f in listed] == [
        ("http://127.0.0.1:8000/mine.rss", "Mine", None, "config"),
        ("https://o.example.org/rss", "O", 3600, "config"),
        ("https://news.example.org/rss", None, 120, "store"),
    ]
    assert [f.where for f in listed] == [
        f"{settings.path}:2",
        str(settings.path.parent / "more.opml"),
        "store",
    ]
