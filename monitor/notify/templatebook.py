"""The custom template files in use (channels' and rules'), each kept as its last
good text.

A file is validated (compiled, and rendered on sample alerts in every form it
is used in) when it is first loaded and whenever ``refresh`` finds it changed.
A broken or unreadable version is logged with its file and line, and the last
good text stays in use until the file is fixed. ``Rulebook.watch`` calls
``refresh`` when anything changes in the directories the templates are in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from monitor.errors import ConfigError
from monitor.notify.templates import Form, validate_template

__all__ = ["BY_NAME", "TemplateBook", "read_template"]

log = logging.getLogger("newsmon.templates")

# The form a rule's template is checked in: html for a file named *.html*, else
# text (a rule's alerts go to channels of any form; only html escapes).
BY_NAME = None


def read_template(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigError(f"cannot read template: {reason}", path) from exc


def _validate(text: str, path: str, forms: Iterable[Form | None]) -> None:
    for form in sorted(set(forms), key=str):
        validate_template(text, path, form=form)


class TemplateBook:
    """Template texts by path: what ``text`` returns is always a version that validated."""

    def __init__(self) -> None:
        self._good: dict[str, str] = {}  # the last text that validated
        self._seen: dict[str, str | None] = {}  # the text last read; None: unreadable
        self._forms: dict[str, set[Form | None]] = {}
        self.errors: dict[str, ConfigError] = {}  # why a file as it is now is not in use
        # Bumped when a template in a directory new to the book is added: the
        # watcher then starts over to watch that directory too.
        self.generation = 0
        self._dirs: set[Path] = set()

    def add(self, path: str, form: Form | None = BY_NAME) -> None:
        """Load ``path`` for use in ``form``; raises ConfigError naming its file
        and line when it is unreadable or broken (it is tracked all the same, so
        a fix is picked up). A template already loaded is checked in the new form."""
        error = self._load(path, form)
        if error is not None:
            raise error

    def text(self, path: str) -> str | None:
        """The last good text of ``path``, loading it on first use (an alert in
        the outbox whose rule is gone); None when it never validated."""
        if path not in self._forms:
            error = self._load(path, BY_NAME)
            if error is not None:
                log.error("template not usable, using the default: %s", error)
        return self._good.get(path)

    def paths(self) -> list[str]:
        return list(self._forms)

    def refresh(self) -> list[str]:
        """Re-read every template; those whose text changed are validated again
        and, if good, used from now on. Returns the paths now in use anew."""
        reloaded = []
        for path in list(self._forms):
            try:
                text: str | None = read_template(path)
            except ConfigError as exc:
                text, error = None, exc
            if text == self._seen.get(path):
                continue
            self._seen[path] = text
            if text is not None:
                try:
                    _validate(text, path, self._forms[path])
                except ConfigError as exc:
                    error = exc
                else:
                    self._good[path] = text
                    self.errors.pop(path, None)
                    reloaded.append(path)
                    log.info("template reloaded: %s", path)
                    continue
            self.errors[path] = error
            log.error("template not reloaded, keeping the last good one: %s", error)
        return reloaded

    def _load(self, path: str, form: Form | None) -> ConfigError | None:
        forms = self._forms.get(path, set()) | {form}
        folder = Path(path).parent.resolve()
        if folder not in self._dirs:
            self._dirs.add(folder)
            self.generation += 1
        self._forms[path] = forms
        try:
            text = read_template(path)
        except ConfigError as exc:
            self._seen[path] = None
            self.errors[path] = exc
            return exc
        self._seen[path] = text
        try:
            _validate(text, path, forms)
        except ConfigError as exc:
            self.errors[path] = exc
            return exc
        self._good[path] = text
        self.errors.pop(path, None)
        return None
