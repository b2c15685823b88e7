"""The log masks every secret the process was told of, in text and in JSON,
in messages and in tracebacks, however JSON escapes it."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from monitor import logs
from monitor.core.secrets import Redactor, mask, url_secrets

SECRET = 'pa"ss\\w0rd/é'  # a quote and a backslash: JSON escapes them


def record(message: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.LogRecord("newsmon", logging.WARNING, __file__, 1, message, args, exc_info)


@pytest.fixture(autouse=True)
def hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "REDACTOR", Redactor([SECRET]))


def failure() -> BaseException:
    try:
        raise ConnectionError(f"cannot log in with {SECRET}")
    except ConnectionError as exc:
        return exc


@pytest.mark.parametrize("form", ["text", "json"])
def test_secrets_are_masked_in_messages_and_tracebacks(form: str) -> None:
    formatter = logs._json_formatter() if form == "json" else logs._Text(logs.TEXT_FORMAT)
    line = formatter.format(record("login to %s failed", f"db:{SECRET}@host", error=failure()))
    shown = json.dumps(json.loads(line), ensure_ascii=False) if form == "json" else line
    assert SECRET not in shown and json.dumps(SECRET)[1:-1] not in shown
    assert "login to db:****@host failed" in (
        json.loads(line)["message"] if form == "json" else line
    )
    assert "cannot log in with ****" in shown


def test_a_json_line_has_its_fields() -> None:
    line = logs._json_formatter().format(record("hello %s", "world", error=failure()))
    parsed = json.loads(line)
    assert {"time", "level", "logger", "message", "exception"} <= parsed.keys()
    assert (parsed["level"], parsed["logger"], parsed["message"]) == (
        "WARNING",
        "newsmon",
        "hello world",
    )
    assert parsed["time"].endswith("+00:00")
    assert "ConnectionError" in parsed["exception"]


def test_url_secrets_are_what_the_masked_form_hides() -> None:
    full = "slack://TokenAAA1/TokenBBB2/TokenCCC3/%23news?footer=yes"
    masked = "slack://T...1/T...2/T...3/%23news?footer=yes"
    assert url_secrets(full, masked) == {"TokenAAA1", "TokenBBB2", "TokenCCC3"}
    assert mask("to TokenBBB2 failed", url_secrets(full, masked)) == "to **** failed"


def test_short_values_are_left_alone() -> None:
    """The database password "newsmon" must not mask the service's own name."""
    assert Redactor(["newsmon"])("newsmon running") == "newsmon running"


def test_uncaught_errors_go_through_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logs._Text(logs.TEXT_FORMAT))
    logger = logging.getLogger("newsmon")
    logger.addHandler(handler)
    try:
        error = failure()
        logs._uncaught(type(error), error, error.__traceback__)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "CRITICAL newsmon: crashed" in err and "cannot log in with ****" in err
    assert SECRET not in err
