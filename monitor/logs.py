"""The log on stderr, as text or one JSON object a line, with secrets masked.

Every line goes through the process's ``Redactor``: the commands tell it the
secrets they read (``hide``: web.token, the database password, the Apprise
config's passwords and tokens), and whatever a library then puts in a message
(an Apprise complaint, a driver's error, a traceback) is masked before it is
written. The log is process-wide, so the redactor is too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from monitor.core.secrets import Redactor

if TYPE_CHECKING:
    from monitor.config import Settings

Format = Literal["text", "json"]

REDACTOR = Redactor()
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def hide(secrets: Iterable[str]) -> None:
    """Mask these in everything logged from now on (and in ``redact``)."""
    REDACTOR.add(secrets)


def redact(text: str) -> str:
    """``text`` with every secret known to this process masked."""
    return REDACTOR(text)


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _json_formatter() -> logging.Formatter:
    # imported only when asked for: the text log is the default
    from pythonjsonlogger.json import JsonFormatter

    class Json(JsonFormatter):
        """``{"time", "level", "logger", "message", "exception"?}``; the
        message and the exception are masked before they are encoded, so a
        secret JSON would escape is still found."""

        def format(self, record: logging.LogRecord) -> str:
            clean = logging.makeLogRecord(record.__dict__)
            clean.msg, clean.args = redact(record.getMessage()), None
            return super().format(clean)

        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
            # ISO 8601 in UTC, as log collectors read it
            return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

        def formatException(self, ei: Any) -> str:
            return redact(str(super().formatException(ei)))

        def formatStack(self, stack_info: str) -> str:
            return redact(str(super().formatStack(stack_info)))

    return Json(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={
            "asctime": "time",
            "levelname": "level",
            "name": "logger",
            "exc_info": "exception",
        },
        json_ensure_ascii=False,
    )


def setup(level: str, form: Format = "text") -> None:
    """Log at ``level`` and above to stderr, in ``form`` (as ``logging.basicConfig``:
    nothing changes when the root logger has handlers already)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_json_formatter() if form == "json" else _Text(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    sys.excepthook = _uncaught


def _uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """A crash's traceback through the log: masked, and in the log's format."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("newsmon").critical("crashed", exc_info=(kind, error, trace))


def config_secrets(settings: Settings) -> set[str]:
    """The secrets of monitor.yaml: web.token and the database's password."""
    found: set[str] = set()
    if settings.web is not None and settings.web.token:
        found.add(settings.web.token)
    try:
        password = urlsplit(settings.storage).password
    except ValueError:  # not a URL urllib reads: the store refuses it, masked (sql.py)
        password = None
    if password:
        found.add(password)
    return found
