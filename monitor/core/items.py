"""News items as the pipeline carries them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from html import unescape
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser


@dataclass(frozen=True, slots=True)
class Item:
    """One normalised feed entry: plain text fields, UTC time, canonical link."""

    fingerprint: str  # stable identity: guid, else canonical link, else content hash
    feed: str  # URL of the feed it came from
    feed_title: str
    title: str
    summary: str
    content: str
    link: str
    published: datetime | None  # timezone-aware UTC, or None when the feed gives none

    def fields(self) -> dict[str, str]:
        """The text fields rules match against (``feed`` is the feed's title and URL)."""
        return {
            "title": self.title,
            "summary": self.summary,
            "content": self.content,
            "feed": f"{self.feed_title} {self.feed}".strip(),
        }

    def __reduce__(self) -> tuple[type[Item], tuple[Any, ...]]:
        # Rebuilt by the constructor: the parser processes hand items back by
        # the thousand, and dataclasses' own pickling of a slotted class took
        # twice as long each way.
        return (Item, _item_fields(self))

    def to_json(self) -> dict[str, Any]:
        # every field is a str but the time: no need for asdict's deep copies
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        published = data.get("published")
        return cls(
            fingerprint=data["fingerprint"],
            feed=data.get("feed", ""),
            feed_title=data.get("feed_title", ""),
            title=data.get("title", ""),
            summary=data.get("summary", ""),
            content=data.get("content", ""),
            link=data.get("link", ""),
            published=datetime.fromisoformat(published) if published else None,
        )


# every field of an Item, in order, as a tuple (attrgetter: in C)
_item_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(Item)))


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A recorded item with its text, as ``newsmon replay`` reads it back."""

    item: Item
    seen_at: datetime
    story: str | None  # the story it was filed under; None when it matched no rule then


# --- normalisation -------------------------------------------------------------
#
# Everything below turns what a feed says into an ``Item``: plain text, a
# canonical link, a UTC time and a stable fingerprint. It takes feedparser's
# entry as a plain mapping, so it needs neither feedparser nor any I/O.

# Elements whose text is never meant to be read.
_DROP_TAGS = "script, style, noscript, template, iframe, object"
# Elements that end a run of text: without a space around them, "<p>a</p><p>b</p>"
# would read "ab" and whole-word rules would miss both words.
_BLOCK_TAGS = (
    "address, article, aside, blockquote, br, caption, dd, div, dl, dt, figcaption, figure, "
    "footer, h1, h2, h3, h4, h5, h6, header, hr, li, main, nav, ol, p, pre, section, table, "
    "td, th, tr, ul"
)
# Invisible characters that split words for a matcher but not for a reader.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))


def _collapse(text: str) -> str:
    if not text.isascii():  # (isascii is a flag check; translate copies the text)
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment, on one line.

    Scripts and styles are dropped, entities unescaped, block elements
    separated by a space, and runs of whitespace (including no-break spaces)
    collapsed to one space.
    """
    if "<" not in html and "&" not in html:
        return _collapse(html)
    simple = _simple_text(html)
    return simple if simple is not None else _parsed_text(html)


def _parsed_text(html: str) -> str:
    """``html_to_text`` by an HTML5 parser: right for any fragment."""
    tree = LexborHTMLParser(html)
    root = tree.body
    if root is None:
        return ""
    for node in root.css(_DROP_TAGS):
        node.decompose()
    for node in root.css(_BLOCK_TAGS):
        node.insert_before(" ")
        node.insert_after(" ")
    return _collapse(root.text(deep=True, separator=""))


# Most items' HTML is a few well-nested paragraphs, links and emphasis. Building
# an HTML5 parser's document for each costs ten times reading such a fragment
# by its tags, which gives the same text: ``_simple_text`` does that, and gives
# up (None) on anything where HTML5's parsing rules could move, drop or add
# text (comments, tables, scripts, stray or misnested tags, a bare "<"), which
# then goes to ``_parsed_text``. tests/core/test_items.py checks the two agree.
_SIMPLE_BLOCKS = frozenset(_BLOCK_TAGS.split(", ")) - {"caption", "table", "td", "th", "tr"}
# fmt: off
_SIMPLE_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
    "sub", "sup", "time", "tt", "u", "var", "wbr",
})
# fmt: on
_VOID = frozenset({"br", "hr", "img", "wbr"})
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]*)"
    r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))?)*\s*(/?)>"""
)
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX][0-9a-fA-F]+|[0-9]+);?")


def _simple_text(html: str) -> str | None:
    """``html_to_text`` of a simple, well-nested fragment; None for any other."""
    if "\x00" in html:
        return None
    # html.unescape drops references to control characters and noncharacters,
    # which an HTML parser keeps (&#11; is a space between words to it)
    if "&#" in html and not all(map(unescape, _NUMERIC_REFERENCE.findall(html))):
        return None
    pieces: list[str] = []
    open_tags: list[str] = []
    end = 0
    for tag in _TAG.finditer(html):
        text = html[end : tag.start()]
        if "<" in text:
            return None
        pieces.append(unescape(text))
        end = tag.end()
        closing, name, self_closing = tag[1], tag[2].lower(), tag[3]
        if name in _SIMPLE_BLOCKS:
            pieces.append(" ")
        elif name not in _SIMPLE_INLINE:
            return None
        if closing:
            if name in _VOID or not open_tags or open_tags.pop() != name:
                return None
        elif name not in _VOID:
            if self_closing:  # "<b/>" opens a <b> in HTML
                return None
            open_tags.append(name)
    rest = html[end:]
    if "<" in rest:
        return None
    pieces.append(unescape(rest))
    return _collapse("".join(pieces))


# Query parameters that only say where a click came from. Dropping them makes the
# same story reached through a newsletter and through the feed one link.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "rss_source",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(param: str) -> bool:
    name = unquote_plus(param.partition("=")[0]).strip().lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


# A link urljoin would give back as it is (most are): skip its two parses. A
# ";" can end a path's empty parameters, which urljoin drops; a link with no
# host ("https://?x") is relative to the base for urljoin; the odd authorities
# (user names, IPv6 literals, ports that are not numbers) go through it too.
_ABSOLUTE = re.compile(r"https?://[^/;?#:@\[\]]+(?::\d{1,5})?/[^;]*\Z", re.IGNORECASE)


def canonical_link(url: str, base: str | None = None) -> str:
    """One spelling for one link, so the same story found twice looks the same.

    Resolves ``url`` against ``base``, lowercases scheme and host, drops the
    default port, the fragment and tracking parameters (``utm_*``, ``fbclid``,
    ``gclid``, ...). Other parameters keep their order and their encoding.
    An empty ``url`` gives "" (not ``base``); a URL that cannot be parsed is
    returned stripped but otherwise as given.
    """
    url = url.strip()
    if _CANONICAL.match(url):  # most links: the steps below would leave it as it is
        return url
    return _canonicalised(url, base)


# http(s), a lowercase host of plain labels, no port, a path, and nothing after
# it: no query to filter, no fragment to drop (``test_items`` checks the claim)
_CANONICAL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^?#;\x00-\x20]*\Z")


def _canonicalised(url: str, base: str | None) -> str:
    """``canonical_link`` of a stripped URL, step by step."""
    if not url:
        return ""
    if base and not _ABSOLUTE.match(url):
        url = urljoin(base.strip(), url).strip()  # ("/ ;": its ";" dropped, a space left)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. "http://host:notaport/", "http://[::1"
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    path = parts.path
    if netloc:
        host = (parts.hostname or "").rstrip(".")
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
        netloc = f"{userinfo}@{host}" if userinfo else host
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            netloc = f"{netloc}:{port}"
        path = path or "/"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, query, ""))


# Bump when the meaning of a fingerprint changes; old and new never collide.
FINGERPRINT_VERSION = "v1"


def _fold(text: str | None) -> str:
    return _collapse(text or "").casefold()


def fingerprint(
    guid: str | None,
    link: str | None,
    title: str | None,
    content: str | None,
    *,
    feed: str = "",
) -> str:
    """A stable, versioned identity for an item: ``"v1:" + sha256 hex``.

    The first of these that the item has decides:

    1. its guid, together with the canonical URL of ``feed`` (a guid is only
       unique within its feed, and some feeds number their entries "1", "2"...);
    2. its canonical link (the same story in two feeds is one item);
    3. its title and content, case-folded with whitespace collapsed.

    Empty fields are left out of the hashed record rather than hashed as "",
    so adding a field to a later version does not change existing hashes.
    """
    return _fingerprint(guid, canonical_link(link or ""), title, content, _canonical_feed(feed))


@lru_cache(maxsize=1024)
def _canonical_feed(feed: str) -> str:
    # every item of a feed hashes the same feed URL: canonicalise it once
    return canonical_link(feed)


# one encoder for every fingerprint: json.dumps with options makes one each call
_RECORD_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _fingerprint(
    guid: str | None, link: str, title: str | None, content: str | None, feed: str
) -> str:
    """``fingerprint`` of a link and a feed URL already canonical."""
    record: dict[str, str]
    guid = (guid or "").strip()
    if guid:
        record = {"feed": feed, "guid": guid}
    elif link:
        record = {"link": link}
    else:
        record = {"title": _fold(title), "content": _fold(content)}
    record = {key: value for key, value in record.items() if value}
    payload = _RECORD_JSON.encode(record)
    return f"{FINGERPRINT_VERSION}:{hashlib.sha256(payload.encode('utf-8')).hexdigest()}"


def _detail_text(value: Any, detail: Any) -> str:
    """Plain text of a feedparser text construct (``title`` + ``title_detail``)."""
    if not isinstance(value, str):
        return ""
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if kind == "text/plain":
        return _collapse(value)
    return html_to_text(value)  # text/html, application/xhtml+xml, or unknown


def _content_text(content: Any) -> str:
    """feedparser gives ``content`` as a list of alternatives; keep each distinct text."""
    if not isinstance(content, Sequence) or isinstance(content, str):
        return ""
    texts: list[str] = []
    for part in content:
        if isinstance(part, Mapping):
            text = _detail_text(part.get("value"), part)
            if text and text not in texts:
                texts.append(text)
    return " ".join(texts)


def _summary_detail(entry: Mapping[str, Any]) -> Any:
    """The type of ``summary``: feedparser copies the content into ``summary``
    when an entry has none, without a ``summary_detail`` saying it is plain text."""
    detail = entry.get("summary_detail")
    if detail is None:
        content = entry.get("content")
        if isinstance(content, Sequence) and not isinstance(content, str):
            for part in content:
                if isinstance(part, Mapping) and part.get("value") == entry.get("summary"):
                    return part
    return detail


def _utc(parsed: Any) -> datetime | None:
    """feedparser's ``*_parsed`` is a struct_time already converted to UTC."""
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in tuple(parsed)[:6])
        # struct_time allows leap seconds (60, 61); datetime does not
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def normalise_entry(
    entry: Mapping[str, Any],
    feed_url: str,
    feed_title: str,
    *,
    base_url: str | None = None,
) -> Item:
    """An ``Item`` from one feedparser entry.

    ``feed_url`` is the feed as configured (it namespaces guids); a relative
    link is resolved against ``base_url`` when given (the URL the feed was
    finally fetched from, after redirects), else against ``feed_url``. The
    time is the entry's published time, else its updated time, else its
    created time.
    """
    title = _detail_text(entry.get("title"), entry.get("title_detail"))
    summary = _detail_text(entry.get("summary"), _summary_detail(entry))
    content = _content_text(entry.get("content"))
    raw_link = entry.get("link")
    link = canonical_link(raw_link, base_url or feed_url) if isinstance(raw_link, str) else ""
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # `in` first: feedparser answers a missing updated_parsed with the
        # published one and a DeprecationWarning
        published = _utc(entry[key]) if key in entry else None
        if published is not None:
            break
    guid = entry.get("id")
    return Item(
        fingerprint=_fingerprint(
            guid if isinstance(guid, str) else None,
            link,
            title,
            content or summary,
            _canonical_feed(feed_url),
        ),
        feed=feed_url,
        feed_title=feed_title,
        title=title,
        summary=summary,
        content=content,
        link=link,
        published=published,
    )
