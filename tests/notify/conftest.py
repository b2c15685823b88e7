from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import SmtpSink, WebhookSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink
