"""The ``newsmon`` command line. Every command takes ``--config``; errors print
one ``file:line: message`` line and exit non-zero."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

import click

from monitor.errors import NewsmonError, RuleError

# Each command imports what it uses: the parser's worker processes import this
# module again (it is the console script's), and every import is start-up time.
if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.core.alerts import Channel
    from monitor.core.rules import Match, RuleSet
    from monitor.core.rules.explain import Explanation, Found

T = TypeVar("T")


def _fail(error: NewsmonError | str, code: int = 2) -> None:
    from monitor.logs import redact

    click.echo(redact(f"error: {error}"), err=True)
    sys.exit(code)


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except NewsmonError as exc:
        _fail(exc)
        raise  # unreachable: _fail exits


def _settings(config: str | None) -> Settings:
    from monitor.config import config_path, load_settings
    from monitor.logs import config_secrets, hide

    settings = _guard(lambda: load_settings(config_path(config)))
    hide(config_secrets(settings))
    return settings


def _rules(settings: Settings) -> RuleSet:
    from monitor.rules.files import read_rules

    return _guard(lambda: read_rules(settings.rules_dir))


config_option = click.option(
    "--config",
    "config",
    metavar="PATH",
    default=None,
    help="Config file (default: $NEWSMON_CONFIG, else config/monitor.yaml).",
)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING…")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object a line (time, level, logger, message, exception).",
)
def main(log_level: str, log_format: Literal["text", "json"]) -> None:
    """newsmon: watch news feeds, alert by email or chat when a story matches your rules."""
    from monitor import logs

    logs.setup(log_level, log_format)
    # Faust's services log their every step under our module's name.
    for noisy in ("faust", "mode", "aiokafka", "apprise", "monitor.stream.app"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@main.command()
@config_option
def run(config: str | None) -> None:
    """Run the service until SIGINT/SIGTERM, then drain and exit 0."""
    # No cyclic garbage collection while the service starts: its imports and
    # set-up make some 150,000 objects that live as long as it does, and
    # collecting among them took a sixth of the start. The service turns it
    # back on once started (monitor.service.collect_again).
    gc.disable()
    from monitor.notify.sending import SendingProcess

    settings = _settings(config)
    # Apprise's process reads the Apprise config while this one imports the rest,
    # and the parser processes start (and build the rules) meanwhile too
    sending = SendingProcess(settings.apprise_config)
    sending.start()
    from monitor.fetch.parse import FeedParser
    from monitor.rules.files import rules_on_disk

    parser = FeedParser().start(rules_on_disk(settings.rules_dir) if settings.embedded else None)
    from monitor.service import run as run_service

    try:
        asyncio.run(run_service(settings, sending=sending, parser=parser))
    except NewsmonError as exc:
        _fail(exc)


@main.command()
@config_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option(
    "--recent",
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="How far back stored items are matched to find rules that fire on too many.",
)
@click.option(
    "--max-share",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Warn about a rule that fires on more than this share of the recent items.",
)
def check(config: str | None, strict: bool, recent: str, max_share: float) -> None:
    """Validate the config, every rule file and the Apprise config; lint the rules.

    Prints every problem as path:line: error|warning: message, then a summary.
    Exit 1 on any error (and with --strict on any warning), 0 otherwise.
    """
    from datetime import UTC, timedelta

    from monitor.core.rules import compile_ruleset
    from monitor.core.rules.lint import Finding, lint, lint_notify, noisy_rules, percent
    from monitor.core.schedule import parse_duration
    from monitor.logs import hide, redact
    from monitor.notify.channels import load_channels
    from monitor.notify.deliver import check_channel_templates
    from monitor.rules.files import parse_rule_files

    try:
        window = parse_duration(recent)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--recent'") from None
    settings = _settings(config)
    files, errors = parse_rule_files(settings.rules_dir)
    parsed = {f.path for f in files}
    findings = [Finding.from_error(e, str(settings.rules_dir)) for e in errors]
    # entities of a file that did not parse are unknown: lints must not guess at them
    findings += lint(files, partial=any(e.path not in parsed for e in errors))
    rules: RuleSet | None = None
    if not any(f.severity == "error" for f in findings):
        try:
            rules = compile_ruleset(files)
        except RuleError as exc:  # the lints catch what this would; kept as a backstop
            findings.append(Finding.from_error(exc, str(settings.rules_dir)))
    rule_errors = sum(f.severity == "error" for f in findings)  # only rule findings so far
    channels = None
    try:
        channels = load_channels(settings.apprise_config).or_console()
        hide(channels.secrets)
    except NewsmonError as exc:
        findings.append(Finding.from_error(exc, str(settings.apprise_config)))
    if channels is not None:
        tags = {tag for channel in channels for tag in channel.tags}
        every_rule = [rule for f in files for rule in f.rules]
        findings += lint_notify(every_rule, tags, str(settings.apprise_config))
    # the rules' own templates were loaded with their files, above
    templates, broken = check_channel_templates(channels, settings.channels)
    findings += [Finding.from_error(e, str(settings.path)) for e in broken]
    scanned = noisy = 0
    if rules is not None and rules.rules:
        since = datetime.now(UTC) - timedelta(seconds=window)
        try:
            counts, scanned = _recent_fires(settings.storage, rules, since)
        except NewsmonError as exc:
            findings.append(
                Finding(
                    str(settings.path), None, "warning", f"{exc.message} (noisy rules unchecked)"
                )
            )
        else:
            loud = noisy_rules(rules.rules, counts, scanned, max_share, recent)
            noisy = len(loud)
            findings += loud

    for finding in sorted(findings, key=lambda f: (f.path, f.line or 0)):
        click.echo(redact(str(finding)), err=True)  # a library's message may quote a secret
    click.echo(f"{settings.path}: ok, {len(settings.feeds)} feeds")
    if rules is not None:
        click.echo(
            f"{settings.rules_dir}: ok, {len(rules.rules)} rules, {len(rules.entities)} entities"
        )
    else:
        click.echo(f"{settings.rules_dir}: not loaded, {_count(rule_errors, 'error')}")
    if channels is not None:
        click.echo(f"{settings.apprise_config}: ok, alerts go to {_labels(channels.channels)}")
    if templates:
        many = _count(templates, "file")
        state = f"{len(broken)} of {many} broken" if broken else f"ok, {many}"
        click.echo(f"channel templates: {state}")
    if scanned:
        click.echo(
            f"recent items: {scanned} stored in the last {recent}, "
            f"{_count(noisy, 'rule')} firing on more than {percent(max_share)} of them"
        )
    errors_found = any(f.severity == "error" for f in findings)
    sys.exit(1 if errors_found or (strict and findings) else 0)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _recent_fires(storage: str, rules: RuleSet, since: datetime) -> tuple[Counter[str], int]:
    """How many stored items seen since ``since`` each rule fires on, and how many
    items there were. A SQLite file that does not exist, or is empty, has none:
    it is not opened, so checking never creates a database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from monitor.store import open_store

    try:
        url = make_url(storage)
    except ArgumentError:
        return Counter(), 0  # the service would refuse it; nothing stored to read
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or not _has_data(Path(database)):
            return Counter(), 0

    async def count() -> tuple[Counter[str], int]:
        store = await open_store(storage)
        counts: Counter[str] = Counter()
        total = 0
        try:
            async for batch in store.items_since(since):
                for stored in batch:
                    total += 1
                    counts.update(m.rule.name for m in rules.match(stored.item.fields()))
        finally:
            await store.close()
        return counts, total

    return asyncio.run(count())


def _has_data(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _labels(channels: Iterable[Channel]) -> str:
    return ", ".join(channel.label for channel in channels) or "nowhere"


@main.command()
@config_option
@click.option(
    "--input", "input_file", required=True, type=click.File("r"), help="JSON lines, or -."
)
def match(config: str | None, input_file: TextIO) -> None:
    """Match JSON-lines items against the rules; one JSON line out per item in."""
    rules = _rules(_settings(config))
    name = getattr(input_file, "name", "-")
    for number, line in enumerate(input_file, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            _fail(f"{name}:{number}: invalid JSON line: {exc}", 1)
        fields = _fields(record)
        matches = rules.match(fields)
        out = {
            "id": record.get("id"),
            "rules": [m.rule.name for m in matches],
            "matches": [_describe(m, fields) for m in matches],
        }
        click.echo(json.dumps(out, ensure_ascii=False))


def _fields(record: Mapping[str, Any]) -> dict[str, str]:
    fields = {key: str(record.get(key) or "") for key in ("title", "summary", "content")}
    fields["feed"] = " ".join(str(record[k]) for k in ("feed_title", "feed") if record.get(k))
    return fields


def _describe(m: Match, fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "rule": m.rule.name,
        "terms": list(m.terms),
        "notify": list(m.rule.notify),
        "spans": [{"field": s.field, "start": s.start, "end": s.end} for s in m.spans],
        "snippet": m.fired(fields).snippet,
    }


@main.command("test-rule")
@config_option
@click.option("--query", help="An ad-hoc query in the rule language.")
@click.option("--rule", "rule_name", help="The name of a rule from the rule files.")
@click.option("--text", help="A story: its first line is the title, the rest its content.")
@click.option("--url", help="A feed URL: every item of it is tested.")
def test_rule(
    config: str | None,
    query: str | None,
    rule_name: str | None,
    text: str | None,
    url: str | None,
) -> None:
    """Show what matches and why; exit 0 if anything matched, 1 if not.

    For each story: what was found (term or @Entity, text, field, offsets) and,
    when the rule did not match, the NOT or none: that excluded it, or what is
    missing. With --url, stories that did not match are listed only when a NOT
    or none: excluded them (near misses); the others are counted.
    """
    if (query is None) == (rule_name is None):
        _fail("give exactly one of --query or --rule")
    if (text is None) == (url is None):
        _fail("give exactly one of --text or --url")
    from monitor.core.rules.explain import explain

    rules = _rules(_settings(config))
    chosen = _guard(
        lambda: rules.with_query(query) if query is not None else rules.only(rule_name or "")
    )
    [rule] = chosen.rules
    stories = (
        [_story_from_text(text)]
        if text is not None
        else _guard(lambda: _stories_from_feed(url or ""))
    )
    mark = ("\033[1;33m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    hits = near = 0
    for fields in stories:
        why = explain(chosen, rule, fields)
        hits += why.matched
        near += why.near_miss
        if why.matched or why.near_miss or url is None:
            # the explanation agrees with the matcher: only a match has spans to show
            match = chosen.match(fields)[0] if why.matched else None
            for line in _explained(why, fields, match, mark):
                click.echo(line)
    summary = f"{hits} match(es) in {len(stories)} item(s)"
    if url is not None:
        others = len(stories) - hits - near
        summary += (
            f"; {near} near miss(es) shown, excluded by NOT or none:; "
            f"{others} other(s) without what the rule requires"
        )
    click.echo(summary)
    sys.exit(0 if hits else 1)


def _explained(
    why: Explanation,
    fields: Mapping[str, str],
    match: Match | None,
    mark: tuple[str, str],
) -> Iterator[str]:
    """The lines test-rule prints for one story."""
    from monitor.core.rules import snippet
    from monitor.core.rules.query import FIELDS

    yield f"{'✔' if why.matched else '✘'} {why.rule.name}: {fields.get('title') or '(untitled)'}"
    if match is not None:
        yield f"  matched: {', '.join(match.terms)}"
        ranges = [(s.field, s.start, s.end) for s in match.spans]
    else:  # show where what was found, and what excluded it, sit in the text
        shown = [*why.found, *(hit for ex in why.excluded for hit in ex.found)]
        ranges = sorted(
            ((f.field, f.start, f.end) for f in shown), key=lambda r: (FIELDS.index(r[0]), r[1])
        )
    for field in dict.fromkeys(f for f, _, _ in ranges):
        here = [(start, end) for f, start, end in ranges if f == field]
        yield f"  {field}: {snippet(fields[field], here, mark=mark)}"
    for line in _found_lines(why.found):
        yield f"  found: {line}"
    for exclusion in why.excluded:
        found = "; ".join(_found_lines(exclusion.found, with_term=False))
        yield f"  excluded by: {exclusion.clause}" + (f" → {found}" if found else "")
    for part in why.missing:
        yield f"  missing: {part}"


def _found_lines(found: Iterable[Found], with_term: bool = True) -> list[str]:
    """One entry per term, text and field: ``@Taiwan → "Taipei" (title 0–6, 40–46)``."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for hit in found:
        grouped.setdefault((hit.term, hit.text, hit.field), []).append(f"{hit.start}–{hit.end}")
    return [
        (f"{term} → " if with_term else "") + f'"{text}" ({field} {", ".join(offsets)})'
        for (term, text, field), offsets in grouped.items()
    ]


def _story_from_text(text: str) -> dict[str, str]:
    title, _, content = text.strip().partition("\n")
    return {"title": title.strip(), "summary": "", "content": content.strip(), "feed": ""}


def _stories_from_feed(url: str) -> list[dict[str, str]]:
    from monitor.fetch.http import Fetcher
    from monitor.fetch.parse import parse_feed

    async def fetch() -> list[dict[str, str]]:
        async with Fetcher() as fetcher:
            result = await fetcher.fetch(url)
        if result.error or result.body is None:
            raise NewsmonError(f"cannot fetch feed: {result.error or result.status}", url)
        parsed = await asyncio.to_thread(parse_feed, result.body, url)
        return [item.fields() for item in parsed.items]

    return asyncio.run(fetch())


@main.command("eval")
@config_option
@click.option(
    "--input",
    "input_file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="Labelled JSON lines (id, title, summary, relevant, topics), or -.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--min-precision",
    type=click.FloatRange(0, 1),
    default=None,
    help="Exit 1 when the overall precision is below this.",
)
@click.option(
    "--min-recall",
    type=click.FloatRange(0, 1),
    default=None,
    help="Exit 1 when the overall recall is below this.",
)
def eval_(
    config: str | None,
    input_file: TextIO,
    as_json: bool,
    min_precision: float | None,
    min_recall: float | None,
) -> None:
    """Score the rules on labelled stories: precision and recall, every miss and false alarm."""
    from monitor.core.evaluation import evaluate, parse_labelled

    rules = _rules(_settings(config))
    name = getattr(input_file, "name", "-")
    items = _guard(lambda: parse_labelled(input_file, name))
    if not items:
        _fail(f"{name}: no labelled items")
    if _watched(len(items)):
        with _progress("evaluating", len(items)) as advance:
            report = evaluate(rules, items, advance)
    else:
        report = evaluate(rules, items)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        click.echo(report.render(), nl=False)
    failures = report.failures(min_precision, min_recall)
    for failure in failures:
        click.echo(f"below the bar: {failure}", err=True)
    sys.exit(1 if failures else 0)


@main.command()
@config_option
@click.option("--dead", is_flag=True, help="List the dead letters: alerts given up on.")
def outbox(config: str | None, dead: bool) -> None:
    """What the alert outbox holds: pending, waiting for a digest, dead, delivered."""
    settings = _settings(config)

    async def show() -> None:
        from monitor.store import open_store

        store = await open_store(settings.storage)
        try:
            summary = await store.outbox_summary()
            click.echo(
                f"pending {summary.pending}, in digests {summary.digest}, "
                f"dead {summary.dead}, delivered {summary.delivered}"
            )
            if dead:
                for row in await store.dead_letters():
                    when = row.dead_at.strftime("%Y-%m-%d %H:%M") if row.dead_at else "?"
                    click.echo(
                        f"{when}  {row.alert.title}  ({row.attempts} attempts): {row.last_error}"
                    )
        finally:
            await store.close()

    _guard(lambda: asyncio.run(show()))


@main.command()
@config_option
@click.option(
    "--alerts", "limit", default=15, show_default=True, help="How many recent alerts to list."
)
def status(config: str | None, limit: int) -> None:
    """Feeds (health, last success and error, next poll), the outbox and recent
    alerts, as tables; from the store, whether the service runs or not."""
    from datetime import UTC, datetime

    from rich.console import Console

    from monitor.status import read_status, render, store_missing

    settings = _settings(config)
    console = Console(highlight=False)
    missing = store_missing(settings.storage)
    if missing is not None:
        console.print(
            f"The store is empty: {missing} does not exist yet (newsmon has not run).",
            markup=False,
        )
        return
    labels = {channel.id: channel.label for channel in _channels_or_none(settings)}
    found = _guard(lambda: asyncio.run(read_status(settings, limit)))
    render(found, console, datetime.now(UTC), settings.timezone, labels)


def _channels_or_none(settings: Settings) -> list[Channel]:
    """The configured channels, to name alerts' channels by their labels; none
    when the Apprise config cannot be read here (say, its ${VAR} are set only
    in the service's environment): the channels' ids are shown instead."""
    from monitor.logs import hide
    from monitor.notify.channels import load_channels

    try:
        channels = load_channels(settings.apprise_config)
    except NewsmonError:
        return []
    hide(channels.secrets)
    return list(channels)


@main.command()
@config_option
@click.option("--hours", default=24.0, show_default=True, help="How far back to look.")
def stories(config: str | None, hours: float) -> None:
    """Recent stories that several feeds reported, with every source."""
    from datetime import UTC, datetime, timedelta

    settings = _settings(config)

    async def show() -> None:
        from monitor.store import open_store

        store = await open_store(settings.storage)
        try:
            since = datetime.now(UTC) - timedelta(hours=hours)
            shown = 0
            for story_id in await store.reported_stories(since, sources=2):
                sources = await store.story_sources(story_id)
                shown += 1
                click.echo(sources[0].title)
                for source in sources:
                    click.echo(
                        f"  {source.seen_at:%Y-%m-%d %H:%M}  {source.feed_title}  {source.link}"
                    )
            click.echo(f"{shown} stories reported by several feeds in the last {hours:g} h")
        finally:
            await store.close()

    _guard(lambda: asyncio.run(show()))


_PROGRESS_MIN = 2_000  # items to go through before a progress bar is worth showing


def _watched(items: int) -> bool:
    """Whether a progress bar is worth showing: for a person watching (standard
    error is a terminal), and when the wait is worth one."""
    return items >= _PROGRESS_MIN and sys.stderr.isatty()


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error, gone when done; yields ``advance(n)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@main.command()
@config_option
@click.option(
    "--since",
    "since_text",
    default="7d",
    show_default=True,
    metavar="WHEN",
    help="How far back: a duration (7d, 36h) or a date (2024-05-01) in the config's timezone.",
)
@click.option("--rule", "rule_name", help="Only this rule from the rule files.")
@click.option("--query", help="An ad-hoc query in the rule language, instead of the rules.")
def replay(config: str | None, since_text: str, rule_name: str | None, query: str | None) -> None:
    """Backtest: what would have alerted among the items stored since then."""
    from datetime import UTC, datetime, timedelta

    from monitor.replay import Outcome, parse_since, report
    from monitor.replay import replay as run_replay
    from monitor.store import open_store

    if rule_name is not None and query is not None:
        _fail("give at most one of --rule or --query")
    settings = _settings(config)
    tz, now = settings.timezone, datetime.now(UTC)
    try:
        since = parse_since(since_text, now, tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--since'") from None
    rules = _rules(settings)
    if query is not None:
        chosen, what = _guard(lambda: rules.with_query(query)), "the query"
    elif rule_name is not None:
        chosen, what = _guard(lambda: rules.only(rule_name)), f"rule {rule_name}"
    else:
        chosen, what = rules, f"every rule ({len(rules.rules)})"
    kept = timedelta(seconds=settings.retention.items)
    if since < now - kept:
        click.echo(
            f"note: item texts are kept for {kept.total_seconds() / 86400:g} days "
            "(retention.items); older ones are gone",
            err=True,
        )
    start = f"{since.astimezone(tz):%Y-%m-%d %H:%M}"
    click.echo(f"replaying {what} over the items seen since {start} ({tz})")

    async def run() -> Outcome:
        store = await open_store(settings.storage)
        try:
            # a bar only for a person watching, and only when the wait is worth one
            total = await store.count_items_since(since) if _watched(_PROGRESS_MIN) else 0
            if not _watched(total):
                return await run_replay(store, chosen, since, now, tz)
            with _progress("replaying", total) as advance:
                return await run_replay(store, chosen, since, now, tz, progress=advance)
        finally:
            await store.close()

    for line in report(_guard(lambda: asyncio.run(run())), tz):
        click.echo(line)


@main.command("notify-test")
@config_option
@click.option("--tag", help="Only the channels with this Apprise tag.")
def notify_test(config: str | None, tag: str | None) -> None:
    """Send a test alert to the configured channels."""
    from monitor.logs import hide
    from monitor.notify.channels import load_channels
    from monitor.notify.deliver import send_test

    settings = _settings(config)
    channels = _guard(lambda: load_channels(settings.apprise_config))
    hide(channels.secrets)
    results = asyncio.run(send_test(channels, tag))
    if not results:
        _fail(f"no channel has the tag {tag!r}" if tag else "no channel configured", 1)
    for result in results:
        click.echo(
            f"sent: {result.label}" if result.ok else f"FAILED: {result.label} — {result.error}"
        )
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.group()
def feeds() -> None:
    """The feeds polled: list them, add and remove feeds at run time, OPML in and out.

    Feeds added here are kept in the store, beside the config's, and a
    running newsmon polls them within seconds. A feed whose host is this
    machine or a private network is refused unless the config sets
    fetch: {allow_private_networks: true}.
    """


@feeds.command("list")
@config_option
def feeds_list(config: str | None) -> None:
    """Every feed polled, the config's and those added, with where each comes from."""
    from monitor.feeds.commands import listed, output, show_list

    settings = _settings(config)
    show_list(_guard(lambda: asyncio.run(listed(settings))), output())


@feeds.command("add")
@config_option
@click.argument("url")
@click.option("--name", help="What alerts call the feed (default: its own title).")
@click.option(
    "--interval", metavar="DURATION", help="Poll it this often (5m, 1h); default: learned."
)
def feeds_add(config: str | None, url: str, name: str | None, interval: str | None) -> None:
    """Add the feed at URL; a running newsmon polls it within seconds."""
    from monitor.feeds.commands import add, added_text

    settings = _settings(config)
    click.echo(added_text(_guard(lambda: asyncio.run(add(settings, url, name, interval)))))


@feeds.command("remove")
@config_option
@click.argument("url")
def feeds_remove(config: str | None, url: str) -> None:
    """Remove a feed added at run time (a config feed is removed from the config)."""
    from monitor.feeds.commands import remove

    settings = _settings(config)
    gone = _guard(lambda: asyncio.run(remove(settings, url)))
    click.echo(f"removed {gone.url}: a running newsmon stops polling it within seconds")


@feeds.command("import")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def feeds_import(config: str | None, file: Path) -> None:
    """Add every feed of an OPML file, each checked as by add; exit 1 if any was refused."""
    from rich.console import Console

    from monitor.feeds.commands import output, run_import

    settings = _settings(config)
    out, progress = output(), Console(stderr=True)
    sys.exit(_guard(lambda: run_import(settings, file, progress, out)))


@feeds.command("export")
@config_option
def feeds_export(config: str | None) -> None:
    """Every feed polled, the config's and those added, as OPML 2.0 on standard output."""
    from monitor.feeds.commands import export_text, listed

    settings = _settings(config)
    click.echo(export_text(settings, _guard(lambda: asyncio.run(listed(settings)))), nl=False)
