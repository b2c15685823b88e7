"""What alert and digest messages say, from the default and from custom templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.core.alerts import Alert, Channel, Fired, alerts_for
from monitor.core.items import Item
from monitor.errors import ConfigError
from monitor.notify.templates import (
    TEMPLATE_DIR,
    alert_title,
    digest_title,
    render_alert,
    render_digest,
    validate_template,
)

CHANNEL = Channel(id="mail", tags=frozenset({"email"}), label="mailto://…")
TITLE = "Warships <script>alert(1)</script> gather & wait"
SNIPPET = "Chinese **warships** gathered in the **Taiwan Strait** near <b>Kinmen</b>."
SOURCES = [
    ("Harbour Times", "https://harbour.example.com/strait?a=1&b=2"),
    ("Evil <Feed>", "javascript:alert(2)"),
]


def make_alert(
    title: str = TITLE,
    *,
    fingerprint: str = "v1:strait",
    link: str = "https://news.example.org/world/strait-1",
    published: datetime | None = datetime(2024, 5, 1, 11, 55, tzinfo=UTC),
    snippet: str = SNIPPET,
    terms: tuple[str, ...] = ("Taiwan Strait", "warships"),
) -> Alert:
    item = Item(
        fingerprint=fingerprint,
        feed="https://news.example.org/world.rss",
        feed_title="Example World",
        title=title,
        summary="Chinese warships gathered in the Taiwan Strait.",
        content="",
        link=link,
        published=published,
    )
    fired = [
        Fired("taiwan-pressure", (), terms, snippet),
        Fired("naval-moves", (), terms[-1:], snippet),
    ]
    [alert] = alerts_for(item, fired, [CHANNEL])
    return alert


ALERT = make_alert()


def html_tree(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def one(tree: LexborHTMLParser, selector: str) -> LexborNode:
    node = tree.css_first(selector)
    assert node is not None, f"no {selector} in the message"
    return node


# -- single alerts ---------------------------------------------------------------------


# How the chat form looks once rendered is in test_chat_rendering.py; here, its source.


def test_chat_is_markdown_with_a_linked_title_highlights_and_sources() -> None:
    text = render_alert(ALERT, "chat", sources=SOURCES)
    assert text.split("\n") == [
        r"[Warships \<script\>alert(1)\</script\> gather & wait]"
        "(https://news.example.org/world/strait-1)",
        "",
        r"Chinese **warships** gathered in the **Taiwan Strait** near \<b\>Kinmen\</b\>.",
        "",
        "- Example World · 2024-05-01 11:55 UTC",
        "- Rules: taiwan-pressure, naval-moves",
        "- Matched: Taiwan Strait, warships",
        "- Also reported by: [Harbour Times](https://harbour.example.com/strait?a=1&b=2), "
        r"Evil \<Feed\>",
    ]


def test_chat_leaves_out_what_the_alert_lacks() -> None:
    bare = make_alert("Quiet story", link="", published=None, snippet="", terms=())
    assert render_alert(bare, "chat") == (
        "Quiet story\n\n- Example World · time unknown\n- Rules: taiwan-pressure, naval-moves"
    )


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("plain words, 20% & more", "plain words, 20% & more"),
        (
            "*stars* _under_ `code` [box] <tag> back\\slash",
            (r"\*stars\* \_under\_ \`code\` \[box\] \<tag\> back\\slash"),
        ),
        ("# 5 things", r"\# 5 things"),
        ("- not a list", r"\- not a list"),
        ("+ not a list", r"\+ not a list"),
        ("-5 degrees", "-5 degrees"),
        ("1984. The year", r"1984\. The year"),
        ("1984 was a year", "1984 was a year"),
        ("> not a quote", r"\> not a quote"),
        ("two\nlines  and   spaces", "two lines and spaces"),
    ],
)
def test_feed_text_in_chat_is_never_markup(text: str, markdown: str) -> None:
    alert = make_alert(text, link="", snippet="")
    assert render_alert(alert, "chat").split("\n")[0] == markdown


@pytest.mark.parametrize(
    ("snippet", "markdown"),
    [
        ("the **term** here", "the **term** here"),
        ("**Taiwan**'s *own* <b>", r"**Taiwan**'s \*own\* \<b\>"),
        ("**two** terms, **both** bold", "**two** terms, **both** bold"),
        ("one ** left", r"one \*\* left"),
        ("- **tariffs** first", r"\- **tariffs** first"),
    ],
)
def test_chat_snippets_keep_their_highlights_and_nothing_else(snippet: str, markdown: str) -> None:
    alert = make_alert(snippet=snippet)
    assert render_alert(alert, "chat").split("\n")[2] == markdown


@pytest.mark.parametrize(
    ("link", "markdown"),
    [
        ("https://x.example/a_b?c=1&d=2#e", "[T](https://x.example/a_b?c=1&d=2#e)"),
        ("https://x.example/wiki/A_(b) c", "[T](https://x.example/wiki/A_%28b%29%20c)"),
        ("https://x.example/<x>|[y]", "[T](https://x.example/%3Cx%3E%7C%5By%5D)"),
        ("javascript:alert(1)", "T"),
        ("ftp://x.example/file", "T"),
    ],
)
def test_chat_links_only_to_the_web_and_keep_their_destination_whole(
    link: str, markdown: str
) -> None:
    assert render_alert(make_alert("T", link=link), "chat").split("\n")[0] == markdown


def test_text_email_has_everything_in_plain_text() -> None:
    text = render_alert(ALERT, "text", sources=SOURCES)
    lines = text.splitlines()
    assert lines[:2] == [TITLE, "https://news.example.org/world/strait-1"]
    assert "Source:  Example World" in lines
    assert "Time:    2024-05-01 11:55 UTC" in lines
    assert "Rules:   taiwan-pressure, naval-moves" in lines
    assert "Matched: Taiwan Strait, warships" in lines
    assert SNIPPET in lines  # plain text: not escaped, markers kept as emphasis
    assert lines[-3:] == [
        "Also reported by:",
        "- Harbour Times: https://harbour.example.com/strait?a=1&b=2",
        "- Evil <Feed>: javascript:alert(2)",
    ]
    assert "Also reported by" not in render_alert(ALERT, "text")


def test_html_email_escapes_feed_text_and_marks_terms() -> None:
    html = render_alert(ALERT, "html", sources=SOURCES)
    tree = html_tree(html)

    assert "<script>" not in html and tree.css("script") == []
    assert "<b>" not in html and tree.css("b") == []
    assert one(tree, "title").text() == TITLE
    [heading] = tree.css("h2 a")
    assert heading.text() == TITLE
    assert heading.attributes["href"] == "https://news.example.org/world/strait-1"
    assert one(tree, "time").attributes["datetime"] == "2024-05-01T11:55:00+00:00"
    assert "Example World · 2024-05-01 11:55 UTC" in one(tree, "body").text()
    assert "Rules: taiwan-pressure, naval-moves" in one(tree, "body").text()
    snippet = next(p for p in tree.css("p") if "Chinese" in p.text())
    assert snippet.text() == "Chinese warships gathered in the Taiwan Strait near <b>Kinmen</b>."
    assert [m.text() for m in snippet.css("mark")] == ["warships", "Taiwan Strait"]
    assert "**" not in html
    # the matched terms, each marked, after the rules
    assert [m.text() for m in tree.css("mark")][2:] == ["Taiwan Strait", "warships"]


def test_html_email_links_other_sources_but_never_a_script() -> None:
    html = render_alert(ALERT, "html", sources=SOURCES)
    tree = html_tree(html)
    also = next(p for p in tree.css("p") if p.text().startswith("Also reported by"))
    assert also.text() == "Also reported by: Harbour Times, Evil <Feed>"
    assert [(a.text(), a.attributes["href"]) for a in also.css("a")] == [
        ("Harbour Times", "https://harbour.example.com/strait?a=1&b=2")
    ]
    assert "javascript:" not in html


def test_html_email_without_a_link_or_time_shows_the_title_alone() -> None:
    bare = make_alert("Quiet <story>", link="javascript:steal()", published=None, snippet="")
    tree = html_tree(render_alert(bare, "html"))
    assert tree.css("a") == [] and tree.css("time") == []
    assert one(tree, "h2").text() == "Quiet <story>"
    assert "Example World · time unknown" in one(tree, "body").text()


def test_an_unpaired_marker_stays_as_written() -> None:
    alert = make_alert(snippet="a **b** c ** d & e")
    html = render_alert(alert, "html")
    assert "a <mark>b</mark> c ** d &amp; e" in html


def test_titles() -> None:
    assert alert_title(ALERT) == f"[newsmon] {TITLE}"
    assert digest_title([ALERT]) == "[newsmon] digest: 1 alert"
    assert digest_title([ALERT, ALERT]) == "[newsmon] digest: 2 alerts"


# -- digests ---------------------------------------------------------------------------

SECOND = make_alert(
    "Ferries <cancelled>", fingerprint="v1:ferry", link="https://news.example.org/ferry"
)
THIRD = make_alert("Talks resume", fingerprint="v1:talks", link="", published=None, snippet="")
DIGEST = [ALERT, SECOND, THIRD]
DIGEST_SOURCES = {"v1:ferry": [("Island Post", "https://island.example.net/ferry")]}


def test_plain_digests_list_every_item_in_order() -> None:
    text = render_digest(DIGEST, "text", sources=DIGEST_SOURCES)
    assert text.startswith("newsmon digest: 3 alerts")
    positions = [text.index(title) for title in (TITLE, "Ferries <cancelled>", "Talks resume")]
    assert positions == sorted(positions)
    assert text.count("Also reported by") == 1
    # the other source is listed with its own story, not another
    assert positions[1] < text.index("Island Post") < positions[2]
    assert "https://news.example.org/ferry" in text


def test_chat_digest_is_a_numbered_list_of_one_line_per_story() -> None:
    assert render_digest(DIGEST, "chat", sources=DIGEST_SOURCES).split("\n") == [
        "**newsmon digest: 3 alerts**",
        "",
        r"1. [Warships \<script\>alert(1)\</script\> gather & wait]"
        "(https://news.example.org/world/strait-1) · Example World · 2024-05-01 11:55 UTC"
        " · taiwan-pressure, naval-moves",
        r"2. [Ferries \<cancelled\>](https://news.example.org/ferry) · Example World"
        " · 2024-05-01 11:55 UTC · taiwan-pressure, naval-moves"
        " · also reported by [Island Post](https://island.example.net/ferry)",
        "3. Talks resume · Example World · time unknown · taiwan-pressure, naval-moves",
    ]


def test_text_digest_has_each_story_in_full() -> None:
    text = render_digest(DIGEST, "text", sources=DIGEST_SOURCES)
    assert text.count("Matched: Taiwan Strait, warships") == 3
    assert text.count(SNIPPET) == 2  # the third story has no snippet
    assert "- Island Post: https://island.example.net/ferry" in text


def test_html_digest_lists_every_story_escaped() -> None:
    html = render_digest(DIGEST, "html", sources=DIGEST_SOURCES)
    tree = html_tree(html)
    assert one(tree, "h1").text() == "newsmon digest: 3 alerts"
    assert [h.text() for h in tree.css("h2")] == [TITLE, "Ferries <cancelled>", "Talks resume"]
    assert [a.attributes["href"] for a in tree.css("h2 a")] == [
        "https://news.example.org/world/strait-1",
        "https://news.example.org/ferry",
    ]
    assert tree.css("script") == [] and "<cancelled>" not in html
    [also] = [p for p in tree.css("p") if p.text().startswith("Also reported by")]
    assert also.css("a")[0].attributes["href"] == "https://island.example.net/ferry"


def test_an_empty_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        render_digest([], "text")


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message form 'sms'"):
        render_alert(ALERT, "sms")  # type: ignore[arg-type]


# -- custom templates ------------------------------------------------------------------


def test_a_custom_chat_template() -> None:
    template = "{{ alert.title }} ({{ alert.feed }}, {{ alert.rules | length }} rules)"
    assert render_alert(ALERT, "chat", template) == f"{TITLE} (Example World, 2 rules)"


def test_a_custom_html_template_is_escaped_too() -> None:
    html = render_alert(ALERT, "html", "<p>{{ alert.title }}</p><p>{{ alert.snippet | marks }}</p>")
    assert html.startswith(
        "<p>Warships &lt;script&gt;alert(1)&lt;/script&gt; gather &amp; wait</p>"
    )
    assert "<mark>warships</mark>" in html


def test_a_custom_template_can_extend_the_default() -> None:
    template = (
        '{% extends "alert.html.j2" %}{% block title %}Urgent: {{ alert.title }}{% endblock %}'
    )
    tree = html_tree(render_alert(ALERT, "html", template))
    assert one(tree, "title").text() == f"Urgent: {TITLE}"
    assert one(tree, "h2").text() == TITLE


def test_a_custom_digest_template() -> None:
    template = "{% for alert in alerts %}{{ loop.index }}:{{ alert.title }};{% endfor %}"
    assert (
        render_digest([SECOND, THIRD], "text", template) == "1:Ferries <cancelled>;2:Talks resume;"
    )


def test_a_broken_template_fails_at_render_with_its_file_and_line() -> None:
    template = "{{ alert.title }}\n{{ alert.headline }}\n"
    with pytest.raises(ConfigError) as error:
        render_alert(ALERT, "chat", template, path="config/chat.j2")
    assert (error.value.path, error.value.line) == ("config/chat.j2", 2)
    assert str(error.value).startswith("config/chat.j2:2: template failed: UndefinedError")
    assert "headline" in str(error.value)


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("{{ alert.title }}\n\n{% if alert.link %}\n", 3, "template syntax error"),
        ("ok\n{{ alert.title | shout }}", 2, "No filter named 'shout'"),
        ("ok\n{{ alert.title }\n", 2, "template syntax error"),
        ("{{ alert.title }}\n{{ alert.titel }}\n", 2, "titel"),
        ("{{ alert.published.year }}\n", 1, "UndefinedError"),  # None when no time is known
        ("{% for title, link in sources %}\n{{ titel }}\n{% endfor %}", 2, "'titel' is undefined"),
        ("\n\n{{ alerts }}", 3, "'alerts' is undefined"),
        ('{% include "missing.j2" %}', 1, "missing.j2"),
    ],
)
def test_validate_template_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_template(text, "templates/chat.j2")
    assert error.value.path == "templates/chat.j2"
    assert error.value.line == line
    assert message in error.value.message
    assert str(error.value).startswith(f"templates/chat.j2:{line}: ")


def test_validate_digest_templates() -> None:
    validate_template("{% for a in alerts %}{{ a.title }}{% endfor %}", "d.j2", kind="digest")
    with pytest.raises(ConfigError, match="'alert' is undefined") as error:
        validate_template("{{ count }}\n{{ alert.title }}", "d.j2", kind="digest")
    assert error.value.line == 2


def test_validate_picks_html_for_html_files() -> None:
    validate_template("<p>{{ alert.snippet | marks }}</p>", "mail.html.j2")
    with pytest.raises(ConfigError, match="no attribute 'nope'"):
        validate_template("<p>{{ alert.nope }}</p>", "mail.html")


# layout and macros are pieces of the others, not messages by themselves
MESSAGE_TEMPLATES = sorted(TEMPLATE_DIR.glob("alert.*.j2")) + sorted(
    TEMPLATE_DIR.glob("digest.*.j2")
)


@pytest.mark.parametrize("path", MESSAGE_TEMPLATES, ids=lambda p: p.name)
def test_the_default_templates_validate(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.name.startswith("digest."):
        validate_template(text, str(path), kind="digest")
    else:
        validate_template(text, str(path), kind="alert")


def test_every_form_has_default_templates() -> None:
    assert [p.name for p in MESSAGE_TEMPLATES] == [
        f"{kind}.{form}.j2" for kind in ("alert", "digest") for form in ("chat", "html", "text")
    ]
