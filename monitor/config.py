"""config/monitor.yaml: one frozen Settings object, built at start and passed down.

Paths in the file are relative to the file itself. Errors name the file and line.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from monitor.core.policy import (
    DIGEST_FORMS,
    DigestSchedule,
    QuietHours,
    parse_digest,
    parse_quiet,
    parse_timezone,
)
from monitor.core.schedule import parse_duration
from monitor.errors import ConfigError
from monitor.yamlsource import (
    Loc,
    YamlSource,
    expand_env,
    load_yaml,
    yaml_error_line,
    yaml_problem,
)

DEFAULT_CONFIG = Path("config/monitor.yaml")


def config_path(option: str | None) -> Path:
    """``--config`` if given, else ``$NEWSMON_CONFIG``, else config/monitor.yaml."""
    return Path(option or os.environ.get("NEWSMON_CONFIG") or DEFAULT_CONFIG)


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    return parse_duration(value)


# Bounds. Every number has both: a value far outside them is a slip (a bare
# number is seconds, so `max_age: 24` is 24 seconds), or would fail much later,
# mid-run, where it is harder to trace back to the config.
SECOND, MINUTE, HOUR, DAY = 1.0, 60.0, 3600.0, 86400.0
_UNIT_NAMES = ((DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s"))


def _span(seconds: float) -> str:
    """``86400`` as ``1d``: bounds in the unit a user would write them in."""
    for size, unit in _UNIT_NAMES:
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _seconds(low: float, high: float) -> BeforeValidator:
    """A duration ("30s", "5m", "1h" or seconds) from ``low`` to ``high`` seconds."""

    def check(value: Any) -> float:
        seconds = _duration(value)
        if not low <= seconds <= high:
            raise ValueError(f"must be from {_span(low)} to {_span(high)}, got {value!r}")
        return seconds

    return BeforeValidator(check)


_WHOLE = re.compile(r"[+-]?\d+")


def _whole(low: int, high: int) -> BeforeValidator:
    """A whole number from ``low`` to ``high`` (digits in a string too: ``${VAR}``)."""

    def check(value: Any) -> int:
        whole = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
        if not whole and not (isinstance(value, str) and _WHOLE.fullmatch(value.strip())):
            raise ValueError(f"expected a whole number, got {value!r}")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}, got {number}")
        return number

    return BeforeValidator(check)


def _factor(above: float, high: float) -> BeforeValidator:
    """A number more than ``above`` and at most ``high``."""

    def check(value: Any) -> float:
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
        if not above < number <= high:
            raise ValueError(f"must be more than {above:g} and at most {high:g}, got {value!r}")
        return number

    return BeforeValidator(check)


def _timezone(value: Any) -> ZoneInfo:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA timezone name such as 'Europe/London', got {value!r}")
    return parse_timezone(value)


# Digests longer than a month are better written as weekly@… or not at all.
_MAX_DIGEST_PERIOD = timedelta(days=31)


def _digest(value: Any) -> DigestSchedule:
    if isinstance(value, DigestSchedule):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"invalid digest {value!r}: use {DIGEST_FORMS}")
    schedule = parse_digest(value)
    if schedule.every is not None and schedule.every > _MAX_DIGEST_PERIOD:
        raise ValueError(
            f"invalid digest {value!r}: a digest period must be at most 31d, "
            "or use 'weekly@mon HH:MM'"
        )
    return schedule


def _quiet(value: Any) -> QuietHours:
    return value if isinstance(value, QuietHours) else parse_quiet(value)


def _path(value: Any) -> str:
    """A file or folder name: text, not empty, no NUL (which no file system takes)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a path, got {value!r}")
    if not value.strip() or "\0" in value:
        raise ValueError(f"not a usable path: {value!r}")
    return value


def _empty_is_default(value: Any) -> Any:
    """``fetch:`` with every line under it commented out: the defaults, not an error."""
    return {} if value is None else value


def _no_feeds(value: Any) -> Any:
    return [] if value is None else value


PathText = Annotated[str, BeforeValidator(_path)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# How often a feed is polled: honoured as given, however short (tests poll
# loopback feeds twice a second); the bound only catches 0, a busy loop.
Interval = Annotated[float, _seconds(0.1 * SECOND, 30 * DAY)]


def _http_url_parts(url: str) -> SplitResult | None:
    """``url`` split, if it is an http:// or https:// URL with a host (and a
    port in range) and nothing blank or unprintable in it; else None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(c.isspace() or not c.isprintable() for c in url)
    ):
        return None
    return parts


class FeedSpec(_Strict):
    """A feed as the config file lists it."""

    url: str
    name: str | None = None
    interval: Interval | None = None  # None: learned from its publishing (Feed)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if _http_url_parts(url) is None:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
        return url


class Feed(FeedSpec):
    """A feed as the service polls it. ``interval`` is always set: the one its
    config entry gives, ``pinned``; else ``default_interval``, where learning
    its interval from its publishing starts (``monitor.core.schedule``)."""

    pinned: bool = False
    # where the config lists it (its opml: entry's line, for a feed of an OPML
    # file, ``opml`` that file): what to edit to change or remove it
    line: int | None = None
    opml: str | None = None


class OpmlEntry(_Strict):
    opml: PathText
    interval: Interval | None = None


def _feed_kind(entry: Any) -> str | None:
    if isinstance(entry, dict):
        return "opml" if "opml" in entry else "url"
    if isinstance(entry, FeedSpec | OpmlEntry):
        return "url" if isinstance(entry, FeedSpec) else "opml"
    return None


# A mapping with opml: is an OPML file, any other a feed: errors then speak of
# the one the user meant, not of both.
FeedEntry = Annotated[
    Annotated[FeedSpec, Tag("url")] | Annotated[OpmlEntry, Tag("opml")],
    Discriminator(
        _feed_kind,
        custom_error_type="feed_entry",
        custom_error_message="expected a feed (url: …) or an OPML file (opml: …)",
    ),
]


class ChannelOptions(_Strict):
    """How the channels carrying one Apprise tag are told (config ``channels: {tag: …}``)."""

    digest: Annotated[DigestSchedule, BeforeValidator(_digest)] | None = None
    quiet: Annotated[QuietHours, BeforeValidator(_quiet)] | None = None
    max_per_hour: Annotated[int, _whole(1, 3600)] | None = None  # 3600: one a second
    template: PathText | None = None  # a Jinja2 file, relative to the config file
    timezone: Annotated[ZoneInfo, BeforeValidator(_timezone)] | None = None


class Fetch(_Strict):
    timeout: Annotated[float, _seconds(SECOND, HOUR)] = 30.0
    connect_timeout: Annotated[float, _seconds(SECOND, HOUR)] = 10.0
    # a body is held in memory while parsed; no feed needs more than a gigabyte
    max_bytes: Annotated[int, _whole(1024, 1024**3)] = 10 * 1024 * 1024
    per_host: Annotated[int, _whole(1, 100)] = 2
    concurrency: Annotated[int, _whole(1, 1000)] = 32  # each an open socket
    # where a feed's learned interval may go (monitor.core.schedule); a feed's own
    # interval: is pinned, outside them if need be
    min_interval: Interval = MINUTE
    max_interval: Interval = HOUR
    # polls started a second, across all feeds: high enough for 10,000 feeds at
    # a minute (and the benchmarks' cold start), low enough to catch a slip
    max_requests_per_second: Annotated[float, _factor(0, 100_000)] = 1000.0
    # feeds added at run time (newsmon feeds add, the API) may point at this
    # machine or its private networks (monitor.core.addresses); the config's may always
    allow_private_networks: bool = False
    # how long a feed's poll is the claiming worker's: one lost with its worker is
    # made again after it (None: twice the timeout, at least 10 s)
    lease: Annotated[float, _seconds(SECOND, DAY)] | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Fetch:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"min_interval ({_span(self.min_interval)}) is more than "
                f"max_interval ({_span(self.max_interval)})"
            )
        if self.lease is not None and self.lease < self.timeout:
            raise ValueError(
                f"lease ({_span(self.lease)}) is less than timeout ({_span(self.timeout)}): "
                "a poll would be made again while its fetch may still be going"
            )
        return self


class Alerts(_Strict):
    # retry a failing channel this long, then dead-letter
    max_age: Annotated[float, _seconds(SECOND, 30 * DAY)] = 24 * 3600.0
    # copies of a story within this make one alert
    story_window: Annotated[float, _seconds(MINUTE, 30 * DAY)] = 24 * 3600.0
    # items published longer before they are first seen are recorded but never alert
    max_item_age: Annotated[float, _seconds(10 * MINUTE, 365 * DAY)] = 48 * 3600.0
    # how often the outbox is read for what came due: retries, alerts whose quiet
    # hours ended, digests
    check_every: Annotated[float, _seconds(0.1, MINUTE)] = 5.0
    # how long an alert being sent is the sending worker's: one that died holding it
    # leaves it to be sent again after this; a send gives up after half of it
    # (at most a minute), so no alert is sent twice at once
    lease: Annotated[float, _seconds(2 * SECOND, HOUR)] = 120.0


class Kafka(_Strict):
    """Distributed mode's consumer group: how soon the workers learn that one
    died, or that one joined, and share the partitions out again."""

    # a worker not heard from this long is taken for dead, and its partitions
    # go to the others (a broker takes 6 s to 30 min unless told otherwise)
    session_timeout: Annotated[float, _seconds(6 * SECOND, 30 * MINUTE)] = 10.0
    # how often a worker tells the broker it lives, and hears of a rebalance
    heartbeat: Annotated[float, _seconds(0.1, 10 * MINUTE)] = 3.0

    @model_validator(mode="after")
    def _heartbeats_within_a_session(self) -> Kafka:
        # as Kafka advises: a heartbeat or two lost must not make a worker dead
        if self.heartbeat * 3 > self.session_timeout:
            raise ValueError(
                f"heartbeat ({_span(self.heartbeat)}) is more than a third of "
                f"session_timeout ({_span(self.session_timeout)})"
            )
        return self


class Health(_Strict):
    # failed polls in a row before an admin alert
    failures: Annotated[int, _whole(1, 1000)] = 5
    # times a feed's usual gap without new items
    silence: Annotated[float, _factor(1, 1000)] = 10.0
    min_silence: Annotated[float, _seconds(SECOND, 30 * DAY)] = 12 * 3600.0


class Retention(_Strict):
    """How long stored data is kept before the service prunes it."""

    # seen items (once their feed dropped them), their texts for newsmon replay,
    # stories; under an hour is a slip (a bare 30 is seconds)
    items: Annotated[float, _seconds(HOUR, 3650 * DAY)] = 30 * 86400.0
    # delivered and dead alerts, messages sent (see monitor.core.retention)
    alerts: Annotated[float, _seconds(HOUR, 3650 * DAY)] = 90 * 86400.0


_LISTEN = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})")


class _Listening(_Strict):
    """A section that binds a server to ``listen``, host:port."""

    listen: str

    @field_validator("listen")
    @classmethod
    def _listen(cls, listen: str) -> str:
        match = _LISTEN.fullmatch(listen.strip())
        if match is None or not 1 <= int(match[1]) <= 65535:
            raise ValueError(f"expected host:port (port from 1 to 65535), got {listen!r}")
        return listen.strip()

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class WebSub(_Listening):
    """Push from the hubs feeds advertise (``monitor.core.websub``); on when
    ``callback`` is set."""

    # the URL hubs reach: it must lead to ``listen`` (directly, or through a proxy)
    callback: str | None = None
    listen: str = "127.0.0.1:8081"  # host:port the service binds
    # a feed whose hub pushes is polled this often (never more often than its own interval)
    poll_interval: Annotated[float, _seconds(MINUTE, 30 * DAY)] = 3600.0
    # the lease asked of hubs (hub.lease_seconds); a hub grants what it likes
    lease: Annotated[float, _seconds(MINUTE, 365 * DAY)] = 7 * 86400.0

    @property
    def enabled(self) -> bool:
        return self.callback is not None

    @field_validator("callback")
    @classmethod
    def _callback(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = _http_url_parts(url)
        if parts is None or parts.query or parts.fragment:
            raise ValueError(
                f"expected an http:// or https:// URL with a host and no query, got {url!r}"
            )
        return url


class Web(_Listening):
    """The service's web server (``monitor.web``): on when ``web:`` is set."""

    listen: str = "127.0.0.1:6066"  # host:port the service binds
    # every /api/ call and /metrics then need "Authorization: Bearer <token>";
    # required when listen is not a loopback address
    token: str | None = None

    @field_validator("token")
    @classmethod
    def _token(cls, token: str | None) -> str | None:
        if token is not None and len(token.strip()) < 16:
            raise ValueError("a token of at least 16 characters (say, `openssl rand -hex 32`)")
        return token.strip() if token is not None else None

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> Web:
        if self.token is None and not is_loopback(self.host):
            raise ValueError(
                f"listen {self.listen} is not a loopback address: set web.token, "
                "which every /api/ call and /metrics will then need"
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether a listen host is this machine alone (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


class _File(_Strict):
    """The file as written."""

    # `feeds:` with every entry commented out is no feeds
    feeds: Annotated[list[FeedEntry], BeforeValidator(_no_feeds)] = Field(default_factory=list)
    rules: PathText = "../rules"
    notify: PathText = "apprise.yml"
    data_dir: PathText = "../data"
    storage: str | None = None
    stream: str = "memory://"
    app_id: str = "newsmon"  # prefixes Kafka topics and names the consumer group
    partitions: Annotated[int, _whole(1, 1000)] = 8  # per topic: the most workers per stage
    replication: Annotated[int, _whole(1, 100)] = 1  # at most the brokers there are
    kafka: Annotated[Kafka, BeforeValidator(_empty_is_default)] = Field(default_factory=Kafka)
    default_interval: Interval = 600.0
    fetch: Annotated[Fetch, BeforeValidator(_empty_is_default)] = Field(default_factory=Fetch)
    timezone: Annotated[ZoneInfo, BeforeValidator(_timezone)] = ZoneInfo("UTC")
    channels: Annotated[
        dict[str, Annotated[ChannelOptions, BeforeValidator(_empty_is_default)]],
        BeforeValidator(_empty_is_default),
    ] = Field(default_factory=dict)  # by Apprise tag
    alerts: Annotated[Alerts, BeforeValidator(_empty_is_default)] = Field(default_factory=Alerts)
    health: Annotated[Health, BeforeValidator(_empty_is_default)] = Field(default_factory=Health)
    retention: Annotated[Retention, BeforeValidator(_empty_is_default)] = Field(
        default_factory=Retention
    )
    websub: Annotated[WebSub, BeforeValidator(_empty_is_default)] = Field(default_factory=WebSub)
    web: Annotated[Web | None, BeforeValidator(_empty_is_default)] = None  # off unless set

    @field_validator("stream")
    @classmethod
    def _stream(cls, stream: str) -> str:
        if stream.startswith("memory://"):
            return stream
        servers = stream.removeprefix("kafka://").split(",")
        if not stream.startswith("kafka://") or not all(map(_broker_ok, servers)):
            raise ValueError(
                f"expected memory:// or kafka://host:port[,host:port…], got {stream!r}"
            )
        return stream

    @field_validator("storage")
    @classmethod
    def _storage(cls, storage: str | None) -> str | None:
        if storage is not None and not _DATABASE.match(storage):
            # not the URL itself in the message: it may carry a password
            raise ValueError(
                "expected sqlite:///path/to/file.db or "
                "postgresql://user:password@host:port/database"
            )
        return storage

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, app_id: str) -> str:
        # it becomes Kafka topic names (249 characters at most, this alphabet)
        if not _APP_ID.fullmatch(app_id):
            raise ValueError(
                f"expected 1 to 200 letters, digits, dots, dashes or underscores, got {app_id!r}"
            )
        return app_id


_DATABASE = re.compile(r"(sqlite|postgres|postgresql)(\+\w+)?://", re.IGNORECASE)
_APP_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
_BROKER = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?")


def _broker_ok(server: str) -> bool:
    match = _BROKER.fullmatch(server.strip())
    return match is not None and (match[1] is None or 1 <= int(match[1]) <= 65535)


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
    kafka: Kafka
    fetch: Fetch
    timezone: ZoneInfo
    channels: dict[str, ChannelOptions]
    alerts: Alerts
    health: Health
    retention: Retention
    websub: WebSub
    web: Web | None = None
    default_interval: float = 600.0  # where a feed added at run time starts, like the config's

    @property
    def embedded(self) -> bool:
        return self.stream.startswith("memory://")


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config file, all of it, before anything runs.

    ``${VAR}`` in a value is taken from ``environ`` (default: this process's
    environment). Raises ConfigError naming the file, the line and the key of
    the first problem; its message lists every other problem too, one a line.
    """
    text = _read(path)
    try:
        source = load_yaml(text)
    except yaml.YAMLError as exc:
        at = yaml_error_line(exc, text) or 1
        raise ConfigError(f"invalid YAML: {yaml_problem(exc)}", str(path), at) from None
    except RecursionError:  # PyYAML composes recursively
        raise ConfigError("invalid YAML: nested too deeply", str(path), 1) from None
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of settings (key: value lines)", str(path), 1)
    problems = [
        _Problem(loc, f"given twice (first on line {first})", line)
        for loc, line, first in source.duplicate_keys()
    ]
    data, unset = expand_env(data, os.environ if environ is None else environ)
    problems += [_Problem(loc, message) for loc, message in unset]
    if problems:  # validating values still holding ${VAR} would only add noise
        raise _config_error(problems, path, source)
    try:
        raw = _File.model_validate(data)
    except ValidationError as exc:
        raise _config_error([_from_pydantic(e, data) for e in exc.errors()], path, source) from None

    base = path.parent
    feeds: list[tuple[Feed, int | None]] = []  # with the line that lists each
    for index, entry in enumerate(raw.feeds):
        line = source.line_of(["feeds", index])
        # an interval given is pinned; without one, learning starts at the default
        interval, pinned = entry.interval or raw.default_interval, entry.interval is not None
        if isinstance(entry, FeedSpec):
            feed = Feed(url=entry.url, name=entry.name, interval=interval, pinned=pinned, line=line)
            feeds.append((feed, line))
        else:
            opml = _opml_feeds(base / entry.opml, entry.interval, raw.default_interval, path, line)
            feeds.extend((feed, line) for feed in opml)
    _reject_duplicate_feeds(feeds, path)
    _reject_duplicate_channels(raw.channels, path, source)

    data_dir = (base / raw.data_dir).resolve()
    return Settings(
        path=path,
        feeds=tuple(feed for feed, _ in feeds),
        rules_dir=(base / raw.rules).resolve(),
        apprise_config=(base / raw.notify).resolve(),
        data_dir=data_dir,
        storage=_storage_url(raw.storage, base, data_dir),
        stream=raw.stream,
        app_id=raw.app_id,
        partitions=raw.partitions,
        replication=raw.replication,
        kafka=raw.kafka,
        fetch=raw.fetch,
        timezone=raw.timezone,
        alerts=raw.alerts,
        health=raw.health,
        retention=raw.retention,
        websub=raw.websub,
        web=raw.web,
        default_interval=raw.default_interval,
        channels={
            tag.lower(): options.model_copy(
                update={"template": str((base / options.template).resolve())}
            )
            if options.template
            else options
            for tag, options in raw.channels.items()
        },
    )


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", str(path)) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be read", str(path), line
        ) from None


@dataclass(frozen=True)
class _Problem:
    loc: Loc  # the key it is about, e.g. ("fetch", "per_host"); () for the whole file
    message: str
    line: int | None = None  # when known better than the line of ``loc``


def _config_error(problems: list[_Problem], path: Path, source: YamlSource) -> ConfigError:
    """One ConfigError for every problem, first by line: its own path and line are
    the first problem's, and the others follow in its message, located alike."""
    located = sorted(
        {
            (problem.line or source.line_of(problem.loc) or 1, _key(problem.loc), problem.message)
            for problem in problems
        }
    )
    lines = [f"{key}: {message}" if key else message for _, key, message in located]
    first_line = located[0][0]
    more = [f"{path}:{line}: {text}" for (line, _, _), text in zip(located, lines, strict=True)]
    return ConfigError("\n".join([lines[0], *more[1:]]), str(path), first_line)


def _key(loc: Loc) -> str:
    """``("feeds", 2, "interval")`` as ``feeds[2].interval``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


_MESSAGES = {  # pydantic's words for a wrong type, in the file's terms
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list",
    "string_type": "expected text",
    "missing": "required, but missing",
}


def _from_pydantic(error: ErrorDetails, data: dict[Any, Any]) -> _Problem:
    loc: Loc = tuple(error["loc"])
    # a feed's loc names the kind of entry it was validated as: feeds.0.url.interval
    if len(loc) > 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        loc = (*loc[:2], *loc[3:])
    if error["type"] == "extra_forbidden":
        return _Problem(loc, _unknown_key(loc, data))
    if error["type"] == "invalid_key":  # YAML allows numbers, null, … as keys
        return _Problem(loc[:-1], f"a key must be text, got {loc[-1]!r}")
    message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
    return _Problem(loc, message)


def _unknown_key(loc: Loc, data: dict[Any, Any]) -> str:
    """Name the unknown key, and what was probably meant."""
    key, known = str(loc[-1]), _keys_at(loc[:-1], data)
    homes = [section for section, model in _sections() if key in model.model_fields]
    if homes:
        return f"unknown key here (it belongs under {homes[0]})"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (known here: {', '.join(known)})"


def _sections() -> list[tuple[str, type[BaseModel]]]:
    """The mappings a key may be moved to, by how the user would find them."""
    found: list[tuple[str, type[BaseModel]]] = [("the top level", _File)]
    for name, field in _File.model_fields.items():
        model = _section_model(field.annotation)
        if model is not None:
            found.append((f"{name}:", model))
    return [*found, ("a channel's tag in channels:", ChannelOptions)]


def _keys_at(loc: Loc, data: dict[Any, Any]) -> list[str]:
    """The keys the mapping at ``loc`` may have."""
    model: type[BaseModel] | None = None
    if not loc:
        model = _File
    elif len(loc) == 2 and loc[0] == "channels":
        model = ChannelOptions
    elif len(loc) == 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        entry = data["feeds"][loc[1]]
        model = OpmlEntry if isinstance(entry, dict) and "opml" in entry else FeedSpec
    elif len(loc) == 1 and str(loc[0]) in _File.model_fields:
        model = _section_model(_File.model_fields[str(loc[0])].annotation)
    return list(model.model_fields) if model is not None else []


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a section (``Section``, or ``Section | None`` when it is off unless set)."""
    for kind in (annotation, *get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


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


def _opml_feeds(
    opml: Path, interval: float | None, default: float, config: Path, line: int | None
) -> list[Feed]:
    """The feeds of an ``opml:`` entry: pinned to the entry's interval if it has
    one, else to an outline's own (``monitor.opml``), else learned."""
    from monitor.opml import OpmlError, read_opml

    try:
        found = read_opml(opml)
    except OpmlError as exc:
        raise ConfigError(f"OPML {exc}", str(config), line) from None
    feeds = []
    for entry in found:
        given = interval or entry.interval_s
        try:
            feeds.append(
                Feed(
                    url=entry.url,
                    name=entry.name,
                    interval=given or default,
                    pinned=given is not None,
                    line=line,
                    opml=str(opml),
                )
            )
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"OPML {opml}:{entry.line}: {reason}", str(config), line) from None
    return feeds


def _reject_duplicate_feeds(feeds: list[tuple[Feed, int | None]], path: Path) -> None:
    seen: dict[str, int | None] = {}
    for feed, line in feeds:
        if feed.url in seen:
            first = seen[feed.url]
            also = f" (also on line {first})" if first is not None and first != line else ""
            raise ConfigError(f"feeds: {feed.url} listed twice{also}", str(path), line)
        seen[feed.url] = line


def _reject_duplicate_channels(
    channels: dict[str, ChannelOptions], path: Path, source: YamlSource
) -> None:
    seen: dict[str, str] = {}
    for tag in channels:
        if tag.lower() in seen:
            raise ConfigError(
                f"channels.{tag}: the same tag as {seen[tag.lower()]} (tags ignore case)",
                str(path),
                source.line_of(["channels", tag]),
            )
        seen[tag.lower()] = tag
