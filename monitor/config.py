"""config/monitor.yaml: one frozen Settings object, built at start and passed down.

Paths in the file are relative to the file itself. Errors name the file and line.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from monitor.core.policy import (
    DigestSchedule,
    QuietHours,
    parse_digest,
    parse_quiet,
    parse_timezone,
)
from monitor.core.schedule import parse_duration
from monitor.errors import ConfigError
from monitor.yamlsource import load_yaml, yaml_error_line

DEFAULT_CONFIG = Path("config/monitor.yaml")


def config_path(option: str | None) -> Path:
    """``--config`` if given, else ``$NEWSMON_CONFIG``, else config/monitor.yaml."""
    return Path(option or os.environ.get("NEWSMON_CONFIG") or DEFAULT_CONFIG)


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    return parse_duration(value)


def _parsed(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A validator that parses strings with ``parse`` and passes parsed values through."""
    return lambda value: parse(value) if isinstance(value, str | int | float) else value


Duration = Annotated[float, BeforeValidator(_duration)]  # "30s", "5m", "1h" or seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Feed(_Strict):
    url: str
    name: str | None = None
    interval: Duration | None = None  # None = the config's default_interval

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"feed url must start with http:// or https://, got {url!r}")
        return url


class OpmlEntry(_Strict):
    opml: str
    interval: Duration | None = None


class ChannelOptions(_Strict):
    """How the channels carrying one Apprise tag are told (config ``channels: {tag: …}``)."""

    digest: Annotated[DigestSchedule | None, BeforeValidator(_parsed(parse_digest))] = None
    quiet: Annotated[QuietHours | None, BeforeValidator(_parsed(parse_quiet))] = None
    max_per_hour: int | None = Field(default=None, ge=1)
    template: str | None = None  # a Jinja2 file, relative to the config file
    timezone: Annotated[ZoneInfo | None, BeforeValidator(_parsed(parse_timezone))] = None


class Fetch(_Strict):
    timeout: Duration = 30.0
    connect_timeout: Duration = 10.0
    max_bytes: int = 10 * 1024 * 1024
    per_host: int = 2
    concurrency: int = 32


class Alerts(_Strict):
    max_age: Duration = 24 * 3600.0  # retry a failing channel this long, then dead-letter
    story_window: Duration = 24 * 3600.0  # copies of a story within this make one alert
    # items published longer before they are first seen are recorded but never alert
    max_item_age: Duration = Field(default=48 * 3600.0, gt=0)


class Health(_Strict):
    failures: int = Field(default=5, ge=1)  # failed polls in a row before an admin alert
    silence: float = Field(default=10.0, gt=1)  # times a feed's usual gap without new items
    min_silence: Duration = 12 * 3600.0


class Retention(_Strict):
    """How long stored data is kept before the service prunes it."""

    # seen items (once their feed dropped them), their texts for newsmon replay,
    # stories
    items: Duration = 30 * 86400.0
    # delivered and dead alerts, messages sent (see monitor.core.retention)
    alerts: Duration = 90 * 86400.0


class _File(_Strict):
    """The file as written."""

    feeds: list[Feed | OpmlEntry] = Field(default_factory=list)
    rules: str = "../rules"
    notify: str = "apprise.yml"
    data_dir: str = "../data"
    storage: str | None = None
    stream: str = "memory://"
    app_id: str = "newsmon"  # prefixes Kafka topics and names the consumer group
    partitions: int = Field(default=8, ge=1)  # per topic, in Kafka mode
    replication: int = Field(default=1, ge=1)
    default_interval: Duration = 600.0
    fetch: Fetch = Field(default_factory=Fetch)
    timezone: Annotated[ZoneInfo, BeforeValidator(_parsed(parse_timezone))] = ZoneInfo("UTC")
    channels: dict[str, ChannelOptions] = Field(default_factory=dict)  # by Apprise tag
    alerts: Alerts = Field(default_factory=Alerts)
    health: Health = Field(default_factory=Health)
    retention: Retention = Field(default_factory=Retention)

    @field_validator("stream")
    @classmethod
    def _stream(cls, stream: str) -> str:
        if not stream.startswith(("memory://", "kafka://")):
            raise ValueError(f"stream must be memory:// or kafka://host:port, got {stream!r}")
        return stream


class Settings(_Strict):
    """Everything the service needs, with paths resolved."""

    path: Path
    feeds: tuple[Feed, ...]
    rules_dir: Path
    apprise_config: Path
    data_dir: Path
    storage: str
    stream: str
    app_id: str
    partitions: int
    replication: int
    fetch: Fetch
    timezone: ZoneInfo
    channels: dict[str, ChannelOptions]
    alerts: Alerts
    health: Health
    retention: Retention

    @property
    def embedded(self) -> bool:
        return self.stream.startswith("memory://")


def load_settings(path: Path) -> Settings:
    """Read and validate the config file; raises ConfigError(path, line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", str(path)) from exc
    try:
        source = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", str(path), yaml_error_line(exc)) from exc
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of settings", str(path), 1)
    try:
        raw = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not _is_union_tag(p))
        loc = [p for p in first["loc"] if not _is_union_tag(p)]
        raise ConfigError(
            f"{where}: {first['msg']}" if where else first["msg"],
            str(path),
            source.line_of(loc),
        ) from exc

    base = path.parent
    feeds: list[Feed] = []
    for index, entry in enumerate(raw.feeds):
        if isinstance(entry, Feed):
            feeds.append(
                entry.model_copy(update={"interval": entry.interval or raw.default_interval})
            )
        else:
            line = source.line_of(["feeds", index])
            feeds.extend(
                _opml_feeds(base / entry.opml, entry.interval or raw.default_interval, path, line)
            )
    _reject_duplicate_feeds(feeds, path)

    data_dir = (base / raw.data_dir).resolve()
    return Settings(
        path=path,
        feeds=tuple(feeds),
        rules_dir=(base / raw.rules).resolve(),
        apprise_config=(base / raw.notify).resolve(),
        data_dir=data_dir,
        storage=_storage_url(raw.storage, base, data_dir),
        stream=raw.stream,
        app_id=raw.app_id,
        partitions=raw.partitions,
        replication=raw.replication,
        fetch=raw.fetch,
        timezone=raw.timezone,
        alerts=raw.alerts,
        health=raw.health,
        retention=raw.retention,
        channels={
            tag.lower(): options.model_copy(
                update={"template": str((base / options.template).resolve())}
            )
            if options.template
            else options
            for tag, options in raw.channels.items()
        },
    )


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the union member it tried ("Feed", "OpmlEntry") inside the loc
    return part in {"Feed", "OpmlEntry"}


def _storage_url(storage: str | None, base: Path, data_dir: Path) -> str:
    """Resolve a relative SQLite path against the config file's folder."""
    if storage is None:
        return f"sqlite:///{data_dir / 'newsmon.db'}"
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if storage.startswith(prefix):
            file = storage[len(prefix) :]
            if file and not file.startswith("/") and file != ":memory:":
                return f"{prefix}{(base / file).resolve()}"
    return storage


def _opml_feeds(opml: Path, interval: float, config: Path, line: int | None) -> list[Feed]:
    try:
        tree = ET.parse(opml)  # noqa: S314 - the user's own file
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"cannot read OPML {opml}: {exc}", str(config), line) from exc
    feeds = []
    for outline in tree.iter("outline"):
        url = outline.get("xmlUrl")
        if url:
            name = outline.get("title") or outline.get("text")
            feeds.append(Feed(url=url, name=name, interval=interval))
    return feeds


def _reject_duplicate_feeds(feeds: list[Feed], path: Path) -> None:
    seen: set[str] = set()
    for feed in feeds:
        if feed.url in seen:
            raise ConfigError(f"feed listed twice: {feed.url}", str(path))
        seen.add(feed.url)
