"""Emails as a mail client gets them, from a real SMTP server on loopback: the
plain-text part is the text template's, the HTML part the HTML template's."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage, Message
from pathlib import Path

from monitor.config import ChannelOptions
from monitor.core.alerts import Alert, Channel
from monitor.notify.channels import Channels, load_channels
from monitor.notify.deliver import Deliverer
from monitor.notify.templates import render_alert, render_digest
from tests.servers import SmtpSink

SOURCES = [("Harbour Times", "https://harbour.example.com/strait?a=1&b=2")]


def alert_for(
    channel: Channel, title: str = "Warships gather in the Taiwan Strait", key: str = "1"
) -> Alert:
    return Alert(
        fingerprint=f"guid:strait-{key}",
        channel=channel.id,
        title=title,
        link=f"https://news.example.org/world/strait-{key}",
        feed="Example World",
        published=datetime(2024, 5, 1, 11, 55, tzinfo=UTC),
        rules=("taiwan-pressure", "naval-moves"),
        terms=("Taiwan Strait", "warships"),
        snippet="Chinese **warships** gathered in the **Taiwan Strait** on <b>Wednesday</b>.",
    )


def mail_channel(tmp_path: Path, smtp: SmtpSink) -> tuple[Channels, Channel]:
    path = tmp_path / "apprise.txt"
    path.write_text(f"mail, admin={smtp.apprise_url()}\n", encoding="utf-8")
    channels = load_channels(path)
    [channel] = channels.tagged("mail")
    return channels, channel


def part(message: Message, kind: str) -> str:
    """The decoded text of the message's one ``text/<kind>`` part, as a client shows it."""
    assert isinstance(message, EmailMessage)
    [found] = [p for p in message.walk() if p.get_content_type() == f"text/{kind}"]
    assert isinstance(found, EmailMessage)
    content = found.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n").rstrip("\n")


async def test_an_alert_email_has_the_text_template_as_text_and_the_html_template_as_html(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    channels, channel = mail_channel(tmp_path, smtp)
    alert = alert_for(channel)
    result = await Deliverer(channels).deliver(alert, SOURCES)

    assert result.ok, result.error
    [message] = smtp.messages
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert part(message, "plain") == render_alert(alert, "text", sources=SOURCES)
    assert part(message, "html") == render_alert(alert, "html", sources=SOURCES)
    assert message["Subject"] == "[newsmon] Warships gather in the Taiwan Strait"


async def test_a_digest_email_has_the_text_digest_as_text(tmp_path: Path, smtp: SmtpSink) -> None:
    channels, channel = mail_channel(tmp_path, smtp)
    alerts = [alert_for(channel), alert_for(channel, "Ferries cancelled", "2")]
    sources = {alerts[1].fingerprint: SOURCES}
    result = await Deliverer(channels).deliver_digest(channel.id, alerts, sources)

    assert result.ok, result.error
    [message] = smtp.messages
    assert part(message, "plain") == render_digest(alerts, "text", sources=sources)
    assert part(message, "html") == render_digest(alerts, "html", sources=sources)
    assert message["Subject"] == "[newsmon] digest: 2 alerts"


async def test_an_email_from_a_custom_html_template_has_that_template_as_text_too(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    template = tmp_path / "mail.html.j2"
    template.write_text("<h1>Urgent: {{ alert.title }}</h1><p>{{ alert.feed }}</p>")
    channels, channel = mail_channel(tmp_path, smtp)
    options = {"mail": ChannelOptions(template=str(template))}
    result = await Deliverer(channels, options=options).deliver(alert_for(channel))

    assert result.ok, result.error
    [message] = smtp.messages
    assert part(message, "html").startswith("<h1>Urgent: Warships gather")
    plain = part(message, "plain")
    assert "Urgent: Warships gather in the Taiwan Strait" in plain and "Example World" in plain
    assert "<h1>" not in plain and "Rules:" not in plain  # not the default text template


async def test_an_admin_notice_by_email_is_plain_text(tmp_path: Path, smtp: SmtpSink) -> None:
    channels, _ = mail_channel(tmp_path, smtp)
    [result] = await Deliverer(channels).deliver_admin("feed failing", "Example World: 5 errors")

    assert result.ok, result.error
    [message] = smtp.messages
    assert message.get_content_type() == "text/plain"
    assert part(message, "plain") == "Example World: 5 errors"
    assert message["Subject"] == "[newsmon] feed failing"
