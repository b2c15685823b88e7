"""Secrets kept out of everything newsmon shows: logs, command output, the API.

What is secret is known where it is read (the Apprise config's passwords and
tokens, the database password, ``web.token``, any value the Apprise config
takes from the environment); every text shown is then passed through a
``Redactor`` holding them, which masks each one wherever it turns up, also
inside a library's error message. Values shorter than ``MIN_SECRET`` are not
searched for: a short password is often a word the log holds anyway (the
database password "newsmon" of the role newsmon would mask the service's own
name in every line). Where newsmon writes a URL itself it masks the password
whatever its length (Apprise's privacy form, SQLAlchemy's hide_password).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "****"
MIN_SECRET = 8  # characters; shorter values are left alone (see above)

# what separates the parts of a URL: scheme, user, password, host, path, query
_URL_PARTS = re.compile(r"[/:@?&=#,]+")
# a header an Apprise webhook sends, as its URL gives it: +Name=value (the + may be quoted)
_HEADER = re.compile(r"([?&](?:\+|%2B)[^=&#]*=)([^&#]*)", re.IGNORECASE)


def forms(secret: str) -> set[str]:
    """A secret as it may be written: as is, URL-quoted and URL-unquoted."""
    found = {secret, unquote(secret), quote(secret, safe=""), quote(secret)}
    return {s for s in found if len(s) >= MIN_SECRET}


def url_secrets(full: str, masked: str) -> set[str]:
    """The parts of a URL that its masked form hides (passwords, tokens), and
    the values of the headers it sends (an API key, a bearer token)."""
    shown = set(_URL_PARTS.split(masked))
    hidden = {part for part in _URL_PARTS.split(full) if part and part not in shown}
    hidden.update(match[2] for match in _HEADER.finditer(full) if match[2])
    return {form for part in hidden for form in forms(part)}


def spelled_in(url: str, values: Iterable[str]) -> set[str]:
    """Each stretch of ``url`` that spells one of ``values`` (as URL-unquoted),
    however its characters are quoted there: a value from the environment as
    the URL's owner (Apprise) wrote it back, which need not be as it was given."""
    found: set[str] = set()
    for value in {unquote(v) for v in values}:
        if len(value) >= MIN_SECRET:
            found.update(match[0] for match in re.finditer(_any_quoting(value), url))
    return found


def _any_quoting(value: str) -> str:
    """A pattern for ``value`` with each character as is or percent-encoded
    (in either case of hex digits)."""

    def encoded(byte: int) -> str:
        return "%" + "".join(f"[{d.upper()}{d.lower()}]" for d in f"{byte:02x}")

    return "".join(
        f"(?:{re.escape(char)}|{''.join(encoded(b) for b in char.encode())})" for char in value
    )


def mask_headers(url: str) -> str:
    """``url`` with the value of every ``+Header=value`` masked."""
    return _HEADER.sub(lambda m: m[1] + MASK if m[2] else m[0], url)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of at least ``MIN_SECRET`` characters) masked,
    the longest first so that one containing another is masked whole."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class Redactor:
    """The secrets one process knows of, and a way to mask them in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {form for secret in secrets for form in forms(secret)} - self._secrets
        if new:
            self._secrets |= new
            # one alternation, longest first: a regex scan is cheaper than a
            # replace per secret on every log line
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)
