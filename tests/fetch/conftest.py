"""Fixtures of the fetch tests: a loopback feed server and a fetcher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from monitor.fetch.http import Fetcher
from tests.feedserver import FeedServer


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(total_timeout=5, max_bytes=1 << 20) as f:
        yield f
