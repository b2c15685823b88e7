"""Delivering alerts through Apprise to real loopback servers."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import ChannelOptions
from monitor.core.alerts import Alert, Channel
from monitor.errors import ConfigError
from monitor.notify.channels import CONSOLE, Channels, load_channels
from monitor.notify.deliver import Deliverer, send_test
from tests.servers import FROM_ADDR, TO_ADDR, SmtpSink, WebhookSink, text_of

PUBLISHED = datetime(2024, 5, 1, 11, 55, tzinfo=UTC)


def alert_for(channel: Channel, title: str = "Warships gather in the Taiwan Strait") -> Alert:
    return Alert(
        fingerprint="guid:strait-1",
        channel=channel.id,
        title=title,
        link="https://news.example.org/world/strait-1",
        feed="Example World",
        published=PUBLISHED,
        rules=("taiwan-pressure", "naval-moves"),
        terms=("Taiwan Strait", "warships"),
        snippet="Chinese **warships** gathered in the **Taiwan Strait** on Wednesday.",
    )


def channels_from(tmp_path: Path, text: str) -> Channels:
    path = tmp_path / "apprise.txt"
    path.write_text(text, encoding="utf-8")
    return load_channels(path)


def only(channels: Channels, tag: str) -> Channel:
    [channel] = channels.tagged(tag)
    return channel


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_alert_arrives_by_email_with_what_a_reader_needs(
    tmp_path: Path, smtp: SmtpSink, webhook: WebhookSink
) -> None:
    channels = channels_from(tmp_path, f"mail={smtp.apprise_url()}\nchat={webhook.apprise_url()}\n")
    result = await Deliverer(channels).deliver(alert_for(only(channels, "mail")))

    assert result.ok and result.error is None
    assert result.label.startswith("mailto://newsmon:****@127.0.0.1")
    [message] = smtp.messages
    assert message["Subject"] == "[newsmon] Warships gather in the Taiwan Strait"
    assert message["From"].addresses[0].addr_spec == FROM_ADDR
    assert message["To"].addresses[0].addr_spec == TO_ADDR
    body = text_of(message)
    assert "https://news.example.org/world/strait-1" in body
    assert "Rules:   taiwan-pressure, naval-moves" in body
    assert "Chinese **warships** gathered in the **Taiwan Strait** on Wednesday." in body
    assert "Time:    2024-05-01 11:55 UTC" in body
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert "<mark>warships</mark>" in html
    assert smtp.logins == ["newsmon"]
    assert webhook.bodies == []  # exactly the alert's own channel


async def test_an_alert_arrives_at_a_webhook(
    tmp_path: Path, smtp: SmtpSink, webhook: WebhookSink
) -> None:
    channels = channels_from(
        tmp_path, f"mail={smtp.apprise_url()}\nchat={webhook.apprise_url('/alerts')}\n"
    )
    result = await Deliverer(channels).deliver(alert_for(only(channels, "chat")))

    assert result.ok
    [post] = webhook.requests
    assert post["path"] == "/alerts"
    assert post["json"]["title"] == "[newsmon] Warships gather in the Taiwan Strait"
    message = post["json"]["message"]
    assert "https://news.example.org/world/strait-1" in message
    assert "Rules: taiwan-pressure, naval-moves" in message
    assert "Matched: Taiwan Strait, warships" in message
    assert smtp.messages == []


async def test_a_failing_webhook_reports_why_and_a_retry_can_succeed(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    channels = channels_from(tmp_path, f"chat={webhook.apprise_url()}\n")
    deliverer = Deliverer(channels)
    alert = alert_for(only(channels, "chat"))

    webhook.fail_next(1)
    failed = await deliverer.deliver(alert)
    assert not failed.ok
    assert failed.error is not None and "500" in failed.error
    assert webhook.failed_requests == 1 and webhook.bodies == []

    retried = await deliverer.deliver(alert)
    assert retried.ok and len(webhook.bodies) == 1


async def test_failures_of_concurrent_deliveries_are_not_mixed_up(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    dead = f"json://127.0.0.1:{closed_port()}/gone"
    failing = webhook.apprise_url("/failing")
    working = WebhookSink().start()
    try:
        channels = channels_from(
            tmp_path, f"dead={dead}\nfailing={failing}\nok={working.apprise_url()}\n"
        )
        webhook.fail_next(5)
        deliverer = Deliverer(channels)
        tags = ["dead", "failing", "ok"] * 5
        results = await asyncio.gather(
            *(
                deliverer.deliver(alert_for(only(channels, t), title=f"n{i}"))
                for i, t in enumerate(tags)
            )
        )
    finally:
        working.stop()
    for tag, result in zip(tags, results, strict=True):
        if tag == "ok":
            assert result.ok and result.error is None
        elif tag == "dead":
            assert not result.ok and result.error and "onnection" in result.error
            assert "500" not in result.error
        else:
            assert not result.ok and result.error and "500" in result.error
            assert "onnection" not in result.error
    assert len(working.bodies) == 5


async def test_wrong_smtp_password_fails_and_the_log_keeps_the_secret(
    tmp_path: Path, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    url = smtp.apprise_url().replace(smtp.password, "wrong-Pa55word")
    channels = channels_from(tmp_path, f"mail={url}\n")
    result = await Deliverer(channels).deliver(alert_for(only(channels, "mail")))

    assert not result.ok and result.error
    assert smtp.messages == []
    logged = caplog.text
    assert "not delivered" in logged and "mailto://newsmon:****@127.0.0.1" in logged
    assert "wrong-Pa55word" not in logged and "wrong-Pa55word" not in result.error


async def test_console_channel_prints_the_alert(capsys: pytest.CaptureFixture[str]) -> None:
    result = await Deliverer(Channels.console()).deliver(alert_for(CONSOLE))
    assert result.ok and result.label == "console"
    out = capsys.readouterr().out
    assert "[newsmon] Warships gather in the Taiwan Strait" in out
    assert "https://news.example.org/world/strait-1" in out
    assert re.search(r"Rules:\s+taiwan-pressure, naval-moves", out)


async def test_an_alert_for_a_removed_channel_is_not_delivered(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    channels = channels_from(tmp_path, f"chat={webhook.apprise_url()}\n")
    gone = Channel(id="0123456789abcdef", tags=frozenset(), label="json://gone")
    deliverer = Deliverer(channels)
    result = await deliverer.deliver(alert_for(gone))
    assert not result.ok and result.error and "no longer" in result.error
    assert not deliverer.knows(gone.id) and deliverer.knows(only(channels, "chat").id)
    assert webhook.bodies == []


async def test_notify_test_reaches_the_tagged_channels(
    tmp_path: Path, smtp: SmtpSink, webhook: WebhookSink
) -> None:
    channels = channels_from(tmp_path, f"mail={smtp.apprise_url()}\nchat={webhook.apprise_url()}\n")
    [chat] = await send_test(channels, "chat")
    assert chat.ok and chat.label.startswith("json://127.0.0.1")
    [body] = webhook.bodies
    assert "test" in body["title"].lower()
    assert smtp.messages == []

    both = await send_test(channels)
    assert [r.ok for r in both] == [True, True]
    assert [r.label.split(":")[0] for r in both] == ["mailto", "json"]
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 2

    assert await send_test(channels, "nobody") == []


async def test_notify_test_reports_an_unreachable_channel(tmp_path: Path) -> None:
    channels = channels_from(tmp_path, f"json://127.0.0.1:{closed_port()}/x\n")
    [result] = await send_test(channels)
    assert not result.ok and result.error


async def test_notify_test_on_the_console(capsys: pytest.CaptureFixture[str]) -> None:
    [result] = await send_test(Channels.console())
    assert result.ok
    assert "newsmon test alert" in capsys.readouterr().out


async def test_a_channel_template_from_config_shapes_its_messages(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    channels = channels_from(tmp_path, f"chat={webhook.apprise_url('/alerts')}\n")
    template = tmp_path / "chat.j2"
    template.write_text("NEWS {{ alert.title | upper }} <{{ alert.link }}>")
    options = {"chat": ChannelOptions(template=str(template))}
    result = await Deliverer(channels, options=options).deliver(alert_for(only(channels, "chat")))

    assert result.ok
    [post] = webhook.requests
    assert post["json"]["message"] == (
        "NEWS WARSHIPS GATHER IN THE TAIWAN STRAIT <https://news.example.org/world/strait-1>"
    )


def test_a_broken_channel_template_is_refused_at_start(tmp_path: Path) -> None:
    channels = channels_from(tmp_path, "chat=json://127.0.0.1:9/alerts\n")
    template = tmp_path / "chat.j2"
    template.write_text("ok\n{{ alert.title | nosuchfilter }}\n")
    with pytest.raises(ConfigError) as caught:
        Deliverer(channels, options={"chat": ChannelOptions(template=str(template))})
    assert (caught.value.path, caught.value.line) == (str(template), 2)
