"""The one error root of newsmon.

    NewsmonError            anything newsmon reports to a user as one clear line
    ├── ConfigError         config/monitor.yaml or the Apprise config is invalid
    └── RuleError           a rule file is invalid (or a query given on the command line)

Each carries where the problem is, so the CLI and the log can print
``path:line: message`` without a traceback.
"""

from __future__ import annotations

from typing import Any


class NewsmonError(Exception):
    """Base class: an error with an optional location (file and line)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if self.path and self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # keep the file and line when the error crosses from a worker process
        return (type(self), (self.message, self.path, self.line))


class ConfigError(NewsmonError):
    """The service configuration is invalid."""


class RuleError(NewsmonError):
    """A rule file or a query is invalid."""
