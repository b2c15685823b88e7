"""Item normalisation: golden feeds, text, links and fingerprints."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from urllib.parse import urljoin

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from monitor.core import items as items_module
from monitor.core.items import (
    Item,
    canonical_link,
    fingerprint,
    html_to_text,
    normalise_entry,
)
from monitor.fetch.parse import parse_feed

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
GOLDEN = sorted(FEEDS.glob("*.xml"))


# -- golden feeds ---------------------------------------------------------------


def _normalised(path: Path) -> dict[str, object]:
    parsed = parse_feed(path.read_bytes(), f"https://news.example.org/feeds/{path.name}")
    return {"title": parsed.title, "items": [item.to_json() for item in parsed.items]}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_feed(path: Path) -> None:
    expected_path = path.with_suffix(".json")
    actual = _normalised(path)
    if os.environ.get("NEWSMON_REGEN_GOLDEN"):
        text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
        expected_path.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {expected_path.name}: review the diff")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


def test_golden_feeds_cover_every_format() -> None:
    names = {p.name for p in GOLDEN}
    assert {"rss20.xml", "atom.xml", "rdf.xml"} <= names
    assert all(p.with_suffix(".json").exists() for p in GOLDEN)


def test_golden_items_round_trip_through_json() -> None:
    for path in GOLDEN:
        parsed = parse_feed(path.read_bytes(), "https://news.example.org/feed")
        for item in parsed.items:
            assert Item.from_json(json.loads(json.dumps(item.to_json()))) == item


# -- html_to_text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain words", "plain words"),
        ("  spaced \n\t out  ", "spaced out"),
        ("AT&amp;T &lt;3 caf&eacute; &#8217; &#x2014;", "AT&T <3 café ’ —"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<b>Tai</b>wan", "Taiwan"),
        ("line<br>break<br/>here", "line break here"),
        ("<ul><li>a</li><li>b</li></ul>after", "a b after"),
        ("<div>x</div>y", "x y"),
        ("keep<script>alert('no')</script> going", "keep going"),
        ("<style>p { color: red }</style>styled", "styled"),
        ("no&nbsp;break&#160;space", "no break space"),
        ("<p>tab&#11;separated</p>", "tab separated"),  # a reference html.unescape drops
        ("soft\u00adhyphen zero\u200bwidth", "softhyphen zerowidth"),
        ("a < b and c > d", "a < b and c > d"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("", ""),
        ("<img src='x.png'>", ""),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else None,
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@given(st.text())
def test_html_to_text_is_one_clean_line(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip()
    assert "  " not in text and "\n" not in text and "\t" not in text


# The quick reading of simple fragments must give what the HTML5 parser gives,
# or give up: fragments of tags and text, well formed or not.
# fmt: off
_TEXT = st.lists(
    st.sampled_from([
        *"ab Zé\n\t\xa0&;#<>/=\"'", "&amp;", "&lt;", "&nbsp;", "&#8217;", "&eacute", "&copy;x",
        "&#x2014;", "&bogus;", "Taiwan", "talks", "&#1;", "&#11;", "&#x81;", "&#xFDD0;",
        "&#65535;", "&#x10FFFF;", "&#x80;", "&#0;", "&#12", "&#x7f",
    ]),
    max_size=8,
).map("".join)
_TAGS = st.sampled_from([
    "p", "P", "b", "i", "a", "em", "span", "div", "br", "hr", "img", "li", "ul", "h2", "pre",
    "td", "table", "script", "title", "textarea", "foo", "svg", "wbr", "q",
])
_ATTRS = st.sampled_from([
    "", ' href="https://e.org/?a=1&amp;b=2"', " class=x", " title='a > b'", ' data-x="y"',
    " checked", ' a="b"c', " =x", ' x="<"',
])
# fmt: on


@st.composite
def _fragments(draw: st.DrawFn, depth: int = 0) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 5 if depth < 3 else 1))
        if kind <= 1:
            parts.append(draw(_TEXT))
        elif kind == 2:  # a stray tag, start or end
            parts.append(f"<{draw(st.sampled_from(['', '/']))}{draw(_TAGS)}{draw(_ATTRS)}>")
        elif kind == 3:
            parts.append(draw(st.sampled_from(["<!-- c -->", "< b", "<br/>", "</br>", "<b/>"])))
        else:  # an element, maybe left open
            tag = draw(_TAGS)
            inner = draw(_fragments(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", f"</{tag.upper()}>", f"</{tag} >", ""]))
            parts.append(f"<{tag}{draw(_ATTRS)}>{inner}{close}")
    return "".join(parts)


@given(_fragments())
def test_html_quick_reading_agrees_with_the_parser(html: str) -> None:
    quick = items_module._simple_text(html)
    assert quick is None or quick == items_module._parsed_text(html)


@pytest.mark.parametrize(
    "html",
    [
        '<p>Talks in <a href="https://e.org/x?a=1&amp;b=2">Geneva</a> &amp; <b>Taipei</b></p>',
        "<div><h2>Title</h2><p>One<br/>two</p><ul><li>a</li><li>b</li></ul></div>",
        "<P CLASS=lead>Upper <EM>case</EM></P>",
        "<p>left open <i>too",
    ],
)
def test_simple_html_is_read_quickly_and_the_same(html: str) -> None:
    quick = items_module._simple_text(html)
    assert quick is not None
    assert quick == items_module._parsed_text(html) == html_to_text(html)


# -- canonical_link -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Example.COM/Path", None, "http://example.com/Path"),
        ("http://example.com:80/a", None, "http://example.com/a"),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("http://example.com", None, "http://example.com/"),
        ("http://example.com/a#section-2", None, "http://example.com/a"),
        (
            "http://example.com/a?utm_source=rss&id=7&UTM_Campaign=x&fbclid=1&gclid=2&b=",
            None,
            "http://example.com/a?id=7&b=",
        ),
        ("http://example.com/a?ocid=x&cmpid=y&mc_cid=z", None, "http://example.com/a"),
        ("http://example.com/s?q=a%20b&z=1&a=2", None, "http://example.com/s?q=a%20b&z=1&a=2"),
        (
            "/world/story",
            "https://news.example.org/feeds/main.xml",
            "https://news.example.org/world/story",
        ),
        (
            "story?utm_medium=x",
            "https://News.Example.org/feeds/",
            "https://news.example.org/feeds/story",
        ),
        ("https://other.example/x", "https://news.example.org/", "https://other.example/x"),
        ("http://[2001:DB8::1]:80/x", None, "http://[2001:db8::1]/x"),
        ("http://example.com./x", None, "http://example.com/x"),
        ("  http://example.com/x  ", None, "http://example.com/x"),
        ("", "https://news.example.org/", ""),
        ("tag:example.com,2024:1", None, "tag:example.com,2024:1"),
        ("http://example.com:notaport/x", None, "http://example.com:notaport/x"),
    ],
)
def test_canonical_link(url: str, base: str | None, expected: str) -> None:
    assert canonical_link(url, base) == expected


urls = st.builds(
    "{}://{}{}{}{}".format,
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["example.com", "News.Example.org", "example.com:80", "example.com:8080"]),
    st.sampled_from(["", "/", "/a/b", "/%7Euser/x.html"]),
    st.sampled_from(["", "?utm_source=x", "?a=1&utm_medium=y&b=2", "?q=a+b"]),
    st.sampled_from(["", "#frag"]),
)


# fmt: off
_URL_PARTS = st.sampled_from([
    "http://", "https://", "HTTP://", "ftp://", "//", "/", "", "news.example.org", "Host:80",
    "[::1]", ":8080", "/a", "/./b", "/../c", ";", ";p", "?", "?q=1&utm_source=x", "#frag", "%2F",
    " ", "x", "http:", "@",
])
# fmt: on
_URLS = st.lists(_URL_PARTS, max_size=6).map("".join)


@given(
    _URLS, st.sampled_from(["https://news.example.org/feeds/a.xml", "http://h/x;y/", "ftp://f/"])
)
@example("http://h/b;", "http://h/x;y/")  # urljoin drops the empty parameters
@example("HTTPS://Host:443/a/../b?utm_source=x&q", "https://news.example.org/feeds/a.xml")
@example("https://?http://", "https://news.example.org/feeds/a.xml")  # no host: relative
@example("HTTP://Host:80http://", "http://h/x;y/")  # not a port: the link is kept as it is
@example("/ ;", "https://news.example.org/feeds/a.xml")  # joined, then stripped
def test_canonical_link_resolves_as_urljoin(url: str, base: str) -> None:
    assume(url.strip())  # an empty link is no link, not the base
    assert canonical_link(url, base) == canonical_link(urljoin(base, url.strip()))


@given(urls)
def test_canonical_link_is_idempotent(url: str) -> None:
    once = canonical_link(url)
    assert canonical_link(once) == once
    assert "utm_" not in once and "#" not in once


# fmt: off
_LINK_PARTS = st.sampled_from([
    "http://", "https://", "HTTPS://", "news.example.org", "a-b.example", "Host", "host.", "h_1",
    ":443", ":8080", "@", "/", "/a/b", "/%7E", "/ä", "/x y", "/\t", "/\x7f", ";p", "?", "?q=1",
    "?utm_source=x", "#frag", "..", "-",
])
# fmt: on


@given(st.lists(_LINK_PARTS, max_size=6).map("".join), st.sampled_from([None, "https://h/f.xml"]))
@example("https://news.example.org/world/2026/12/01/talks", None)
@example("https://host./a", None)  # a trailing dot goes
@example("https://h/a\tb", None)  # urlsplit drops a tab
def test_a_link_already_canonical_is_taken_as_it_is(url: str, base: str | None) -> None:
    assert canonical_link(url, base) == items_module._canonicalised(url.strip(), base)


# -- fingerprint ----------------------------------------------------------------


def test_fingerprint_is_versioned_and_stable() -> None:
    # Pinned: changing how v1 hashes would re-alert on every stored item.
    fp = fingerprint("urn:x:1", None, None, None, feed="https://news.example.org/feed")
    record = b'{"feed":"https://news.example.org/feed","guid":"urn:x:1"}'
    assert fp == "v1:" + hashlib.sha256(record).hexdigest()
    assert fingerprint(None, "https://x.example/a", None, None) == (
        "v1:" + hashlib.sha256(b'{"link":"https://x.example/a"}').hexdigest()
    )


def test_guid_is_namespaced_by_feed() -> None:
    a = fingerprint("1", "https://a.example/1", "T", "", feed="https://a.example/feed")
    b = fingerprint("1", "https://b.example/1", "T", "", feed="https://b.example/feed")
    assert a != b
    # ...and spelling the feed URL differently does not change it
    assert a == fingerprint("1", None, None, None, feed="HTTPS://A.example:443/feed#x")


def test_guid_wins_over_link_and_text() -> None:
    feed = "https://a.example/feed"
    first = fingerprint("g-1", "https://a.example/old", "Old title", "old", feed=feed)
    edited = fingerprint("g-1", "https://a.example/new", "New title", "new", feed=feed)
    assert first == edited


def test_without_guid_the_canonical_link_decides() -> None:
    # the same story in two feeds, once with tracking parameters, is one item
    a = fingerprint(None, "https://x.example/story?utm_source=rss", "A", "a", feed="https://f1")
    b = fingerprint("", "HTTPS://X.example/story#top", "B", "b", feed="https://f2")
    assert a == b
    assert a != fingerprint(None, "https://x.example/other", "A", "a")


def test_without_guid_or_link_title_and_content_decide() -> None:
    a = fingerprint(None, None, "Storm  Warning", "Gusts of 120 km/h")
    assert a == fingerprint(None, "", "storm warning", "  gusts of 120 KM/H ")
    assert a != fingerprint(None, None, "Storm warning", "Gusts of 130 km/h")


def test_empty_fields_are_skipped_not_hashed() -> None:
    assert fingerprint(None, None, "Title", None) == fingerprint(None, None, "Title", "")
    assert fingerprint(None, None, "Title", "") != fingerprint(None, None, "", "Title")


# -- normalise_entry ------------------------------------------------------------


def test_normalise_entry_from_feedparser_mapping() -> None:
    entry = {
        "id": "urn:1",
        "title": "Quake &amp; <b>aftershocks</b>",
        "title_detail": {"type": "text/html"},
        "summary": "x < y <not a tag>",
        "summary_detail": {"type": "text/plain"},
        "content": [{"type": "text/html", "value": "<p>First</p>"}],
        "link": "../quake?utm_source=feed",
        "updated_parsed": time.struct_time((2024, 5, 1, 12, 0, 0, 2, 122, 0)),
        "published_parsed": time.struct_time((2024, 5, 1, 10, 30, 60, 2, 122, 0)),
    }
    item = normalise_entry(
        entry, "https://n.example/feeds/a.xml", "N", base_url="https://cdn.example/x/feed.xml"
    )
    assert item.title == "Quake & aftershocks"
    assert item.summary == "x < y <not a tag>"  # plain text is not parsed as HTML
    assert item.content == "First"
    assert item.link == "https://cdn.example/quake"  # resolved against the final URL
    assert item.published is not None and item.published.utcoffset() is not None
    assert item.published.isoformat() == "2024-05-01T10:30:59+00:00"  # published wins
    assert item.feed == "https://n.example/feeds/a.xml" and item.feed_title == "N"
    assert item.fingerprint == fingerprint("urn:1", None, None, None, feed=item.feed)


def test_normalise_entry_tolerates_missing_and_odd_fields() -> None:
    item = normalise_entry(
        {"title": None, "published_parsed": (0, 0, 0, 0, 0, 0, 0, 0, 0), "content": "x"},
        "https://n.example/feed",
        "",
    )
    assert (item.title, item.summary, item.content, item.link) == ("", "", "", "")
    assert item.published is None


# -- purity ---------------------------------------------------------------------


def test_core_imports_no_io_libraries() -> None:
    code = (
        "import sys, monitor.core.items, monitor.core.schedule\n"
        "bad = {'asyncio', 'aiohttp', 'faust', 'apprise', 'sqlalchemy', 'feedparser'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    root = Path(__file__).parent.parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"


@given(
    st.builds(
        Item,
        fingerprint=st.text(),
        feed=st.text(),
        feed_title=st.text(),
        title=st.text(),
        summary=st.text(),
        content=st.text(),
        link=st.text(),
        published=st.none() | st.datetimes(timezones=st.just(UTC)),
    )
)
def test_an_item_comes_back_whole_from_a_parser_process(item: Item) -> None:
    # the parser processes hand items back pickled (Item.__reduce__)
    again = pickle.loads(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == item and type(again) is Item
    assert dataclasses.astuple(again) == dataclasses.astuple(item)
