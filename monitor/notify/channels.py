"""The Apprise config file as channels: one Channel per target URL, with its tags.

The file is Apprise's own TEXT or YAML format (https://github.com/caronc/apprise/wiki),
read by Apprise itself. Apprise reports problems by logging and skipping the
bad entry; a skipped entry here would be an alert silently never sent, so every
warning or error it logs while parsing becomes a ``ConfigError`` naming the file
and, when Apprise or the YAML says, the line.

A missing file, or one with no URLs, gives no channels: the service then
prints alerts on the console (``Channels.console()``).

``${VAR}`` in the file, or in a file it includes, is replaced from the
environment before Apprise parses it, in memory (so secrets can live in the
environment, never on disk); a variable that is not set is a ConfigError at
its line. The values taken from the environment, and whatever Apprise's
privacy form of a URL masks, are the channels' ``secrets``: never shown.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote

import yaml

from monitor.core.alerts import Channel
from monitor.core.secrets import forms, mask, mask_headers, spelled_in, url_secrets
from monitor.errors import ConfigError
from monitor.yamlsource import env_values, expand_env, expand_env_text, load_yaml, yaml_error_line

# Apprise is imported where the config is read: the service reads it in its
# sending process (monitor.notify.sending), and only needs Channels itself.
if TYPE_CHECKING:
    from apprise import AppriseAsset, ConfigFormat, NotifyBase

CONSOLE = Channel(id="console", tags=frozenset(), label="console")

# Apprise logs this after any file that yielded no service, including an empty one
_NOTHING_LOADED = "Failed to load Apprise configuration from"
_LINE = re.compile(r"\bline (\d+)\b")
_YAML_ENTRY = re.compile(r"\bentry #(\d+)\b")
_SCHEME = re.compile(r"([a-z0-9+.-]+)://", re.IGNORECASE)


def channel_id(url: str) -> str:
    """A stable id for a target: a hash of its full URL (secrets included, so two
    accounts on one service differ, but never shown)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Channels:
    """The channels alerts can go to, and the one Apprise target behind each.

    A URL listed twice (say, with different tags) is one channel with the union
    of the tags: one destination hears about an item once.
    """

    channels: tuple[Channel, ...] = ()
    targets: Mapping[str, NotifyBase] = field(default_factory=dict, repr=False)
    # what must never be shown: passwords, tokens, values from the environment
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def console(cls) -> Channels:
        """The fallback when nothing is configured: alerts printed to stdout."""
        return cls((CONSOLE,))

    def or_console(self) -> Channels:
        """These channels, or the console when there are none."""
        return self if self.channels else Channels.console()

    @property
    def is_console(self) -> bool:
        return self.channels == (CONSOLE,)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self.channels)

    def __len__(self) -> int:
        return len(self.channels)

    def get(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def target(self, channel_id: str) -> NotifyBase | None:
        """The Apprise service that delivers to this channel (None for the console)."""
        return self.targets.get(channel_id)

    def tagged(self, tag: str | None) -> list[Channel]:
        """Channels carrying ``tag`` (``a,b``: carrying both); all of them for None."""
        if tag is None:
            return list(self.channels)
        wanted = {t.strip().lower() for t in tag.split(",") if t.strip()}
        return [c for c in self.channels if wanted <= c.tags]


def load_channels(path: Path, environ: Mapping[str, str] | None = None) -> Channels:
    """Read the Apprise config at ``path``; raises ConfigError when it is invalid.

    ``${VAR}`` in it (in the files it includes too) is taken from ``environ``
    (default: this process's environment) before Apprise reads it, in memory:
    the expanded secrets are never written anywhere. Those values are secrets:
    masked in the channels' labels.
    """
    from apprise import AppriseAsset

    env = os.environ if environ is None else environ
    asset = AppriseAsset(secure_logging=True)
    # an included file may not include others (as Apprise's recursion=1)
    services, hidden = _read_config(path, env, asset, includes=1, included=False)
    return _channels(services, hidden)


def _read_config(
    path: Path, environ: Mapping[str, str], asset: AppriseAsset, includes: int, included: bool
) -> tuple[list[NotifyBase], set[str]]:
    """The services of one Apprise config file and those of the files it
    includes, and the values taken from the environment for them."""
    from apprise import ConfigBase, ConfigFormat, NotifyBase

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if included:
            raise ConfigError("cannot read Apprise config: no such file", str(path)) from None
        return [], set()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read Apprise config: {reason}", str(path)) from exc

    config_format = _format(text)
    yaml_source = None
    content = text
    if config_format == ConfigFormat.YAML:
        try:
            yaml_source = load_yaml(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "malformed YAML"
            raise ConfigError(f"invalid YAML: {problem}", str(path), yaml_error_line(exc)) from exc
        data = yaml_source.data
        if isinstance(data, dict) and data and not {"urls", "include"} & data.keys():
            # Apprise would load nothing and say nothing: alerts would go nowhere
            raise ConfigError("no 'urls:' list of notification URLs", str(path), 1)
        if "${" in text:  # URLs are keys as often as values
            data, unset = expand_env(data, environ, keys=True)
            if unset:
                loc, message = unset[0]
                raise ConfigError(message, str(path), yaml_source.line_of(loc))
            content = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    elif "${" in text:
        content, problems_at = expand_env_text(text, environ)
        if problems_at:
            at, message = problems_at[0]
            raise ConfigError(message, str(path), at)

    parse = (
        ConfigBase.config_parse_yaml
        if config_format == ConfigFormat.YAML
        else ConfigBase.config_parse_text
    )
    with _apprise_log() as problems:
        services, others = parse(content, asset=asset)
    if problems:
        _raise(path, problems, "invalid Apprise config", _yaml_entry_line(problems, yaml_source))
    found = [s for s in services if isinstance(s, NotifyBase)]
    hidden = env_values(text, environ)
    for other in others:
        if includes <= 0:
            raise ConfigError(
                f"include {other}: an included file may not include others", str(path)
            )
        target = _include_path(other, path.parent, path)
        if not target.is_file():
            named = next((n for n, t in enumerate(text.splitlines(), 1) if other in t), None)
            raise ConfigError(f"include {other}: no such file {target}", str(path), named)
        more, more_hidden = _read_config(target, environ, asset, includes - 1, included=True)
        found.extend(more)
        hidden |= more_hidden
    return found, hidden


def _include_path(include: str, base: Path, config: Path) -> Path:
    """The file an ``include`` names, as Apprise finds it (a path relative to the
    including file, or file://); other schemes may not be included."""
    scheme = _SCHEME.match(include)
    if scheme is None:
        return base / include
    if scheme[1].lower() != "file":
        raise ConfigError(f"include {include}: only files may be included", str(config))
    return base / unquote(include[scheme.end() :].partition("?")[0])


def target_url(service: NotifyBase, privacy: bool) -> str:
    """The target's URL; with ``privacy`` its secrets are masked (safe for logs)."""
    return str(service.url(privacy=privacy))  # type: ignore[no-untyped-call]


def _format(text: str) -> ConfigFormat:
    """TEXT or YAML, by content: Apprise's own detector, and when its strict
    first-line test is unsure (``tag = url`` with spaces), whether the file is a
    YAML mapping. Apprise itself goes by the file name, which would break TEXT
    lines kept in an ``apprise.yml``."""
    from apprise import ConfigBase, ConfigFormat

    with _apprise_log():
        detected = ConfigBase.detect_config_format(text)
    if detected is not None:
        return detected
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    return ConfigFormat.YAML if isinstance(data, dict) else ConfigFormat.TEXT


def _channels(services: Sequence[NotifyBase], hidden: set[str]) -> Channels:
    """``hidden``: values from the environment, masked wherever they show."""
    tags: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    targets: dict[str, NotifyBase] = {}
    secrets = {form for value in hidden for form in forms(value)}
    for service in services:
        full, private = target_url(service, privacy=False), target_url(service, privacy=True)
        secrets |= url_secrets(full, private) | spelled_in(full, hidden)
        cid = channel_id(full)
        if cid not in targets:
            targets[cid] = service
            labels[cid] = private
            tags[cid] = set()
        tags[cid].update(str(t).lower() for t in service.tags)
    # Apprise's privacy form keeps a webhook's headers (+X-Token=…) and its
    # path: what came from the environment, or was a header, is masked too
    channels = tuple(
        Channel(id=c, tags=frozenset(tags[c]), label=mask(mask_headers(labels[c]), secrets))
        for c in targets
    )
    return Channels(channels, targets, frozenset(secrets))


@dataclass
class _Problems:
    """What Apprise logged while reading: its warnings and errors, and every
    record (debug included) so a line number given only at debug level is found."""

    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def errors(self) -> list[logging.LogRecord]:
        return [
            r
            for r in self.records
            if logging.WARNING <= r.levelno < _DEPRECATE
            and not r.getMessage().startswith(_NOTHING_LOADED)
        ]

    def __bool__(self) -> bool:
        return bool(self.errors)

    def line(self) -> int | None:
        """The first line number Apprise mentions at or after its first complaint."""
        errors = self.errors
        start = self.records.index(errors[0]) if errors else 0
        for record in self.records[start:]:
            if match := _LINE.search(record.getMessage()):
                return int(match.group(1))
        return None


# Apprise's own level for deprecation notices, above ERROR; they are not errors
_DEPRECATE = logging.ERROR + 1


class _Collect(logging.Handler):
    def __init__(self, problems: _Problems) -> None:
        super().__init__(logging.DEBUG)
        self.problems = problems
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.problems.records.append(record)


@contextmanager
def _apprise_log() -> Iterator[_Problems]:
    """Collect what Apprise logs in this thread, instead of letting it reach the
    service's log: its complaints are reported once, as a ConfigError."""
    logger = logging.getLogger("apprise")
    problems = _Problems()
    handler = _Collect(problems)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield problems
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    _pass_on_deprecations(problems.records)


def _pass_on_deprecations(records: Sequence[logging.LogRecord]) -> None:
    log = logging.getLogger(__name__)
    for record in records:
        if record.levelno >= _DEPRECATE:
            log.warning("Apprise: %s", record.getMessage())


def _yaml_entry_line(problems: _Problems, source: Any) -> int | None:
    """Apprise names a bad YAML entry by number (``entry #2``); find its line."""
    if source is None:
        return problems.line()
    for record in problems.records:
        if match := _YAML_ENTRY.search(record.getMessage()):
            line: int | None = source.line_of(["urls", int(match.group(1)) - 1])
            return line
    return problems.line()


def _raise(path: Path, problems: _Problems, fallback: str, line: int | None = None) -> NoReturn:
    errors = problems.errors
    message = errors[0].getMessage().strip().rstrip(".") if errors else fallback
    raise ConfigError(message, str(path), line if line is not None else problems.line())
