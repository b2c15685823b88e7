"""OPML subscription lists: read (any version), written as OPML 2.0.

Every ``<outline>`` with an ``xmlUrl`` is a feed, wherever it sits in the
tree (folders are outlines without one); its name is its ``title``, else its
``text``. newsmon also writes, and reads back, the interval a feed is polled
at, as an ``interval`` attribute ("5m", "1h" or seconds): OPML 2.0 lets an
outline carry attributes of its own, and other readers ignore it.

Parsed with expat, which gives the line of each outline, so a bad entry is
reported where it is; no external entity or DTD is ever fetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from monitor.core.schedule import parse_duration
from monitor.errors import NewsmonError


class OpmlError(NewsmonError):
    """An OPML file cannot be read: its path and the line of the problem."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str | None = None
    interval_s: float | None = None  # the outline's own interval attribute
    line: int | None = None  # where the file lists it


def read_opml(path: Path) -> list[OpmlFeed]:
    """The feeds of the OPML file at ``path``, in document order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OpmlError(f"cannot read OPML: {exc.strerror or exc}", str(path)) from exc
    return parse_opml(data, str(path))


def parse_opml(data: bytes | str, where: str = "<opml>") -> list[OpmlFeed]:
    """The feeds of an OPML document; ``where`` names it in errors."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    feeds: list[OpmlFeed] = []
    problems: list[OpmlError] = []
    root: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if not root:
            root.append(tag)
            if tag != "opml":
                problems.append(OpmlError(f"not OPML: the document is <{tag}>", where, line))
        if tag != "outline" or not attrs.get("xmlUrl", "").strip():
            return
        interval: float | None = None
        if attrs.get("interval"):
            try:
                interval = parse_duration(attrs["interval"])
            except ValueError as exc:
                problems.append(OpmlError(f"interval: {exc}", where, line))
        name = (attrs.get("title") or attrs.get("text") or "").strip() or None
        feeds.append(OpmlFeed(attrs["xmlUrl"].strip(), name, interval, line))

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        message = expat.errors.messages[exc.code] if exc.code else str(exc)
        raise OpmlError(
            f"malformed OPML: {message} (column {exc.offset + 1})", where, exc.lineno
        ) from None
    if problems:
        raise problems[0]
    if not root:
        raise OpmlError("not OPML: empty", where, 1)
    return feeds


def write_opml(feeds: Iterable[OpmlFeed], title: str, now: datetime) -> str:
    """An OPML 2.0 document listing ``feeds``."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{format_datetime(now, usegmt=True)}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.name or feed.url
        attrs = [
            ("type", "rss"),
            ("text", name),
            ("title", name),
            ("xmlUrl", feed.url),
        ]
        if feed.interval_s is not None:
            attrs.append(("interval", _duration(feed.interval_s)))
        spelt = " ".join(f"{key}={quoteattr(value, _ENTITIES)}" for key, value in attrs)
        lines.append(f"    <outline {spelt}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


# line breaks and tabs in an attribute would come back as spaces
_ENTITIES = {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _duration(seconds: float) -> str:
    """Seconds as the config writes them: ``300`` as ``5m``."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
