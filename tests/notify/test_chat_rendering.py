"""Chat alerts as people see them: delivered through Apprise's real plugins to a
loopback stand-in of each service, then rendered the way the client does.

- Matrix: Apprise turns the Markdown into the event's HTML (``formatted_body``),
  which Element and other clients show as it is.
- Discord renders the Markdown it gets itself; CommonMark (markdown-it-py)
  stands in for its renderer.
- Slack and Telegram get Apprise's conversion to their own markup, which keeps
  line breaks.

What must hold everywhere: the title once, as a link to the story; each line
apart; the snippet's highlights bold; feed text never taken as markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from monitor.core.alerts import Alert, Channel
from monitor.notify.channels import Channels, load_channels
from monitor.notify.deliver import Deliverer
from tests.notify.chatservices import ChatServices

TITLE = "Warships <b>gather</b> near *Kinmen* [live] & more"
LINK = "https://news.example.org/world/strait_(1)"
HREF = "https://news.example.org/world/strait_%281%29"  # the same page, as the link carries it
SNIPPET = "Chinese **warships** gathered in the **Taiwan Strait** near <i>Kinmen</i>."
SOURCES = [("Harbour Times", "https://harbour.example.com/strait?a=1&b=2")]

# What a reader sees, one paragraph or list item each, in order.
LINES = [
    TITLE,
    "Chinese warships gathered in the Taiwan Strait near <i>Kinmen</i>.",
    "Example World · 2024-05-01 11:55 UTC",
    "Rules: taiwan-pressure, naval-moves",
    "Matched: Taiwan Strait, warships",
    "Also reported by: Harbour Times",
]


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServices]:
    with ChatServices() as sink:
        sink.redirect(monkeypatch)
        yield sink


def alert_for(
    channel: Channel, title: str = TITLE, fingerprint: str = "guid:strait-1", link: str = LINK
) -> Alert:
    return Alert(
        fingerprint=fingerprint,
        channel=channel.id,
        title=title,
        link=link,
        feed="Example World",
        published=datetime(2024, 5, 1, 11, 55, tzinfo=UTC),
        rules=("taiwan-pressure", "naval-moves"),
        terms=("Taiwan Strait", "warships"),
        snippet=SNIPPET,
    )


def channel_for(tmp_path: Path, url: str) -> tuple[Channels, Channel]:
    path = tmp_path / "apprise.txt"
    path.write_text(f"chat={url}\n", encoding="utf-8")
    channels = load_channels(path)
    [channel] = channels.tagged("chat")
    return channels, channel


def assert_reads_well(html: str) -> None:
    """The alert as a client shows it: every line its own block, the title once
    and linked, the highlights bold, no markup from the feed."""
    tree = LexborHTMLParser(html)
    assert [block.text() for block in tree.css("p, li")] == LINES
    assert tree.body is not None and tree.body.text().count(TITLE) == 1
    story, source = tree.css("a")
    assert (story.text(), story.attributes["href"]) == (TITLE, HREF)
    assert source.attributes["href"] == SOURCES[0][1]
    assert [s.text() for s in tree.css("strong")] == ["warships", "Taiwan Strait"]
    assert tree.css("h1, h2, b, i, em, script") == []


async def test_in_matrix_the_alert_keeps_its_lines_and_one_linked_title(
    tmp_path: Path, services: ChatServices
) -> None:
    channels, channel = channel_for(tmp_path, services.matrix_url())
    result = await Deliverer(channels).deliver(alert_for(channel), SOURCES)

    assert result.ok, result.error
    [event] = services.matrix_events()
    assert event["format"] == "org.matrix.custom.html"
    assert_reads_well(event["formatted_body"])
    # clients that show no HTML get Apprise's plain text: the title once there too
    assert event["body"].count(TITLE) == 1


async def test_in_matrix_a_digest_is_a_numbered_list_of_linked_stories(
    tmp_path: Path, services: ChatServices
) -> None:
    channels, channel = channel_for(tmp_path, services.matrix_url())
    alerts = [
        alert_for(channel),
        alert_for(channel, "Ferries cancelled", "guid:ferry", "https://news.example.org/ferry"),
    ]
    result = await Deliverer(channels).deliver_digest(channel.id, alerts, {})

    assert result.ok, result.error
    [event] = services.matrix_events()
    tree = LexborHTMLParser(event["formatted_body"])
    assert [p.text() for p in tree.css("p")] == ["newsmon digest: 2 alerts"]
    items = tree.css("ol > li")
    assert [item.css("a")[0].text() for item in items] == [TITLE, "Ferries cancelled"]
    assert [item.css("a")[0].attributes["href"] for item in items] == [
        HREF,
        "https://news.example.org/ferry",
    ]
    assert all("Example World · 2024-05-01 11:55 UTC" in item.text() for item in items)


async def test_in_discord_the_markdown_renders_with_one_linked_title(
    tmp_path: Path, services: ChatServices
) -> None:
    channels, channel = channel_for(tmp_path, "discord://1234/webhook-token")
    result = await Deliverer(channels).deliver(alert_for(channel), SOURCES)

    assert result.ok, result.error
    [post] = services.posted("/discord/")
    assert_reads_well(MarkdownIt("commonmark").render(post["content"]))


async def test_in_slack_the_title_is_a_link_and_the_lines_stay_apart(
    tmp_path: Path, services: ChatServices
) -> None:
    channels, channel = channel_for(tmp_path, "slack://T1234/B1234/abcdef")
    title = "Warships gather near Kinmen"
    result = await Deliverer(channels).deliver(alert_for(channel, title), SOURCES)

    assert result.ok, result.error
    [post] = services.posted("/slack/")
    [attachment] = post["attachments"]
    assert not attachment.get("title")  # Slack would show it above the text: twice
    lines = attachment["text"].split("\n")
    assert lines[0] == f"<{HREF}|{title}>"
    assert attachment["text"].count(title) == 1
    assert "Chinese *warships* gathered in the *Taiwan Strait*" in lines[2]
    assert "- Rules: taiwan-pressure, naval-moves" in lines


async def test_in_telegram_the_title_is_a_link_and_the_lines_stay_apart(
    tmp_path: Path, services: ChatServices
) -> None:
    channels, channel = channel_for(tmp_path, "tgram://123456789:abcdefg_hijklmnop/987654")
    title = "Warships gather near Kinmen"
    result = await Deliverer(channels).deliver(alert_for(channel, title), SOURCES)

    assert result.ok, result.error
    [post] = services.posted("/telegram/")
    assert post["parse_mode"].lower() == "markdown"
    lines = post["text"].split("\n")
    assert lines[0] == f"[{title}]({HREF})"
    assert post["text"].count(title) == 1
    assert "Chinese *warships* gathered in the *Taiwan Strait*" in lines[2]
    assert "- Rules: taiwan-pressure, naval-moves" in lines
