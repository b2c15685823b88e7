"""Alert and digest messages from Jinja2 templates.

Three forms, each with a default template in ``templates/``:

- ``chat``: short Markdown for chat targets: the title once, as a link; every
  other line its own paragraph or list item, since chat clients that render
  Markdown (Matrix, Slack, Discord, Telegram) join lines that are only broken;
  the snippet's ``**highlights**`` in bold;
- ``text``: the full plain-text email body;
- ``html``: an HTML email body; everything from a feed is escaped, and the
  snippet's ``**term**`` markers become ``<mark>``.

A channel or rule may give its own template text instead. What a template sees:

- alert templates: ``alert`` (an ``Alert``) and ``sources``, a list of
  ``(feed title, link)`` of other feeds that carried the same story;
- digest templates: ``alerts`` (a non-empty list of ``Alert``), ``count`` and
  ``sources``, a mapping from an alert's fingerprint to its other sources
  (use ``sources.get(alert.fingerprint, [])``).

Filters: ``utc`` (a time as "2023-07-18 09:30 UTC", or "time unknown"),
``isotime`` (ISO 8601, or ""), ``marks`` (``**term**`` to ``<mark>term</mark>``,
the rest escaped), ``unmark`` (drops the markers) and ``web_link`` (the link
when it is http or https, else "", so a ``javascript:`` link is never clickable).
For Markdown (the chat form): ``md`` (feed text with Markdown's special
characters escaped, so a title never turns into markup), ``md_marks`` (the same,
keeping the snippet's ``**term**`` markers as bold) and ``md_link(url)`` (the
text as a link to ``url`` when it is http or https, else the text alone).
Custom templates may ``{% extends %}`` the defaults or import ``macros.html.j2``.

Undefined names fail loudly (StrictUndefined): ``validate_template`` compiles a
template and renders it with sample alerts, so ``newsmon check`` reports a typo
with its file and line rather than a channel receiving a broken message.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateSyntaxError
from markupsafe import Markup, escape

from monitor.core.alerts import Alert
from monitor.errors import ConfigError

__all__ = [
    "TEMPLATE_DIR",
    "Form",
    "Kind",
    "Source",
    "alert_title",
    "digest_title",
    "render_alert",
    "render_digest",
    "validate_template",
]

Form = Literal["chat", "text", "html"]
Kind = Literal["alert", "digest"]
Source = tuple[str, str]  # (feed title, link) of another feed that carried the story

TEMPLATE_DIR = Path(__file__).with_name("templates")
_INLINE = "<template>"  # the name of a template given as text without a file
_MARK = "**"


# --- filters -------------------------------------------------------------------


def _utc(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "time unknown"


def _isotime(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat() if when else ""


def _marks(text: str) -> Markup:
    """``**term**`` as ``<mark>term</mark>``; everything else escaped. A marker
    left without its pair stays as written."""
    parts = text.split(_MARK)
    out = Markup("")
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out += escape(part)
        elif i < len(parts) - 1:
            out += Markup("<mark>{}</mark>").format(part)
        else:
            out += escape(_MARK + part)
    return out


def _unmark(text: str) -> str:
    return text.replace(_MARK, "")


def _web_link(url: str) -> str:
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


# Characters that make inline Markdown (emphasis, code, links, raw HTML, escapes)
# in CommonMark and Python-Markdown alike. Only these are escaped: Slack's
# conversion shows some escapes as written, so text is left as plain as it can be.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>])")
# What opens a block when it starts a line (a quote's > is escaped anywhere).
_MD_BLOCK = re.compile(r"^(#|[-+](?=\s|$))")
_MD_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")
_SPACES = re.compile(r"\s+")
# What would end a link's destination early, or Slack's <url|label>.
_URL_UNSAFE = re.compile(r"[\s()<>\\|\[\]`]")


def _md_inline(text: str) -> str:
    # one line: a line break in feed text would end the paragraph or list item
    return _MD_INLINE.sub(r"\\\1", _SPACES.sub(" ", str(text)))


def _unblock(line: str) -> str:
    line = line.strip()
    return _MD_ORDERED.sub(r"\1\\\2", _MD_BLOCK.sub(r"\\\1", line, count=1), count=1)


def _md(text: str) -> str:
    """Feed text for a Markdown message: shown as written, never as markup."""
    return _unblock(_md_inline(text))


def _md_marks(text: str) -> str:
    """Like ``md``, with the snippet's ``**term**`` markers kept as bold. A
    marker left without its pair is escaped."""
    parts = str(text).split(_MARK)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(_md_inline(part))
        elif i < len(parts) - 1:
            out.append(_MARK + _md_inline(part) + _MARK)
        else:
            out.append(_md_inline(_MARK + part))
    return _unblock("".join(out))


def _md_link(text: str, url: str) -> str:
    """``[text](url)`` when the url is http or https, else the text alone. The
    url's characters that Markdown or Slack would read as syntax are
    percent-encoded, which a web server reads the same."""
    href = _web_link(url)
    if not href:
        return _md(text)
    safe = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), href)
    return f"[{_md_inline(text)}]({safe})"


@cache
def _environment(html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=html,  # noqa: S701 - plain-text forms must not be HTML-escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        utc=_utc,
        isotime=_isotime,
        marks=_marks,
        unmark=_unmark,
        web_link=_web_link,
        md=_md,
        md_marks=_md_marks,
        md_link=_md_link,
    )
    return env


def _env_for(form: Form) -> Environment:
    if form not in get_args(Form):
        raise ValueError(f"unknown message form {form!r}: use chat, text or html")
    return _environment(form == "html")


# --- compiling and rendering ----------------------------------------------------


@lru_cache(maxsize=64)
def _compile(form: Form, source: str, path: str) -> Template:
    env = _env_for(form)
    try:
        code = env.compile(source, name=path, filename=path)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error: {exc.message}", path, exc.lineno) from exc
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _template(form: Form, kind: Kind, source: str | None, path: str | None) -> Template:
    if source is None:
        return _env_for(form).get_template(f"{kind}.{form}.j2")
    return _compile(form, source, path or _INLINE)


def _line(exc: BaseException, path: str) -> int | None:
    """The template line an error was raised at: Jinja rewrites tracebacks so
    that template code shows as frames of the template's file."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return lines[-1] if lines else None


def _render(template: Template, context: Mapping[str, Any]) -> str:
    path = template.filename or template.name or _INLINE
    try:
        # templates end where their last block does; trailing blank lines mean nothing
        return template.render(context).rstrip()
    except TemplateSyntaxError as exc:  # in a template it imports or extends
        where = exc.filename or exc.name or path
        raise ConfigError(f"template syntax error: {exc.message}", where, exc.lineno) from exc
    except Exception as exc:  # any failure inside a template is the template's
        message = getattr(exc, "message", None) or str(exc)
        raise ConfigError(
            f"template failed: {type(exc).__name__}: {message}", path, _line(exc, path)
        ) from exc


def render_alert(
    alert: Alert,
    form: Form,
    template: str | None = None,
    *,
    sources: Sequence[Source] = (),
    path: str | None = None,
) -> str:
    """The message body for one alert, from ``template`` (its text; ``path``
    names it in errors) or the default of ``form``. Raises ConfigError with the
    template's file and line when the template is broken."""
    context = {"alert": alert, "sources": [tuple(s) for s in sources]}
    return _render(_template(form, "alert", template, path), context)


def render_digest(
    alerts: Sequence[Alert],
    form: Form,
    template: str | None = None,
    *,
    sources: Mapping[str, Sequence[Source]] | None = None,
    path: str | None = None,
) -> str:
    """One message listing every alert, in the order given. ``sources`` maps an
    alert's fingerprint to the other feeds that carried its story."""
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    context = {
        "alerts": list(alerts),
        "count": len(alerts),
        "sources": {key: [tuple(s) for s in value] for key, value in (sources or {}).items()},
    }
    return _render(_template(form, "digest", template, path), context)


def alert_title(alert: Alert) -> str:
    """The subject line of an alert message."""
    return f"[newsmon] {alert.title}"


def digest_title(alerts: Sequence[Alert]) -> str:
    """The subject line of a digest message."""
    n = len(alerts)
    return f"[newsmon] digest: {n} alert{'' if n == 1 else 's'}"


# --- validation -------------------------------------------------------------------

_SAMPLE = Alert(
    fingerprint="v1:sample",
    channel="sample",
    title="Sample story <with markup> & more",
    link="https://example.org/story",
    feed="Example Feed",
    published=datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
    rules=("sample-rule",),
    terms=("sample",),
    snippet="A **sample** snippet",
)
_BARE = Alert(
    fingerprint="v1:bare",
    channel="sample",
    title="Story without a time",
    link="",
    feed="Other Feed",
    published=None,
    rules=("sample-rule", "other-rule"),
    terms=(),
    snippet="",
)
_SAMPLE_SOURCES: list[Source] = [("Another Feed", "https://example.net/same-story")]


def validate_template(
    text: str, path: str, *, kind: Kind = "alert", form: Form | None = None
) -> None:
    """Raise ConfigError naming ``path`` and the line when the template does
    not compile or fails on sample alerts (with and without a time, a link and
    other sources). ``form`` defaults to html for a file named ``*.html*``,
    else text."""
    if form is None:
        form = "html" if ".html" in Path(path).name.lower() else "text"
    if kind == "alert":
        render_alert(_SAMPLE, form, text, sources=_SAMPLE_SOURCES, path=path)
        render_alert(_BARE, form, text, path=path)
    else:
        render_digest(
            [_SAMPLE, _BARE], form, text, sources={_SAMPLE.fingerprint: _SAMPLE_SOURCES}, path=path
        )
        render_digest([_BARE], form, text, path=path)
