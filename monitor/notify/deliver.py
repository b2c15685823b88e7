"""Delivery: one message to the one target of its channel.

The deliverer renders each message in its channel's form and hands it to a
``Sender``, which holds the channels' Apprise targets: ``AppriseSender``
(``monitor.notify.targets``) in this process, for the commands and tests, or
``SendingProcess`` (``monitor.notify.sending``), which runs Apprise in a
process of its own for the service. Either way what the deliverer knows of a
target is its ``Route``; email it sends itself (``monitor.notify.mail``), the
console it prints. A failure's reason is what the target's plugin (or the mail
server) said.

Logs name a target by its masked URL (``Channel.label``), never the secret one.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TextIO

from monitor.core.alerts import ADMIN_TAG, Alert, Channel
from monitor.core.secrets import mask
from monitor.errors import ConfigError
from monitor.notify.channels import Channels
from monitor.notify.mail import MailServer, send_mail
from monitor.notify.templatebook import TemplateBook
from monitor.notify.templates import (
    Form,
    Source,
    alert_title,
    digest_title,
    render_alert,
    render_digest,
)

if TYPE_CHECKING:
    from monitor.config import ChannelOptions

log = logging.getLogger(__name__)

TEST_FINGERPRINT = "newsmon-notify-test"
PROJECT_URL = "https://github.com/newsmon/newsmon"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    error: str | None = None  # why it failed, as the target's plugin reported it
    label: str = ""  # the channel it was for: its masked URL, or "console"


@dataclass(frozen=True, slots=True)
class Route:
    """How a channel's messages go, as its Apprise target says."""

    form: Form  # html for email, chat for the others
    # a webhook, read by programs: the title in a field of its own as well (chat
    # services show a title above the body, where the chat form's linked title
    # would show twice: they get it in the body alone)
    titled: bool = False
    mail: MailServer | None = None  # an email channel newsmon sends itself


Outcome = tuple[bool, str | None]  # delivered; else why not


class Sender(Protocol):
    """Holds the channels' Apprise targets and sends to them."""

    @property
    def routes(self) -> Mapping[str, Route]:
        """The channels (by id) that have a target; the others are the console."""
        ...

    async def send(
        self, channel_id: str, title: str, body: str, form: Form, timeout: float
    ) -> Outcome:
        """One message to the channel's target, through Apprise."""
        ...


GONE = "channel is no longer in the Apprise config"


class Deliverer:
    """Sends messages (one alert, a digest, an admin notice) to the channels they name.

    Email channels get the HTML form with the text form as its plain-text part
    (sent over the SMTP server of their Apprise URL, see ``monitor.notify.mail``),
    chat and webhooks the short Markdown form, the console the plain-text form.
    ``options`` (config ``channels:``, by tag) may give a channel its own template.
    Custom templates come from ``templates``, which holds their last good texts
    (``Rulebook.watch`` keeps it up to date).
    """

    def __init__(
        self,
        channels: Channels,
        *,
        sender: Sender | None = None,
        options: Mapping[str, ChannelOptions] | None = None,
        timeout: float = 60.0,
        console: TextIO | None = None,
        templates: TemplateBook | None = None,
    ) -> None:
        """``sender``: by default Apprise in this process, with ``channels``' targets."""
        if sender is None:
            from monitor.notify.targets import AppriseSender  # imports Apprise

            sender = AppriseSender(channels)
        self.channels = channels
        self.templates = templates if templates is not None else TemplateBook()
        self._sender = sender
        self._timeout = timeout  # seconds for one delivery, retries inside Apprise included
        self._console = console  # None: sys.stdout at the time of printing
        self._templates: dict[str, str] = {}  # channel id -> its template's path
        for channel in channels:
            if channel.id not in sender.routes:
                continue
            chosen = options_for(channel, options or {})
            if chosen is not None and chosen.template:
                # raises ConfigError naming file and line: a broken template stops the start
                self.templates.add(chosen.template, self._form(channel.id))
                self._templates[channel.id] = chosen.template

    def knows(self, channel_id: str) -> bool:
        """Whether alerts for this channel can be delivered (it is still configured)."""
        return self.channels.get(channel_id) is not None

    def admin_channels(self) -> list[Channel]:
        return self.channels.tagged(ADMIN_TAG) if not self.channels.is_console else []

    async def deliver(self, alert: Alert, sources: Sequence[Source] = ()) -> DeliveryResult:
        """One alert to its channel; ``sources`` are the other feeds that carried its story."""
        channel = self.channels.get(alert.channel)
        if channel is None:
            return self._failed(alert.title, alert.channel, GONE)
        form = self._form(channel.id)
        # a rule's own template wins over the channel's
        path = alert.template or self._templates.get(channel.id)
        template = self.templates.text(path) if path else None
        try:
            body = render_alert(alert, form, template, sources=sources, path=path)
        except ConfigError as exc:
            if template is None:
                raise  # the default template is broken: a bug, not the user's file
            # good on the sample alerts, not on this one: the alert still goes out
            log.error("template failed, using the default for %r: %s", alert.title, exc)
            body = render_alert(alert, form, sources=sources)
        plain = None  # an email's plain-text part: the text template's, with the default HTML
        if form == "html" and template is None:  # (else the user's HTML, stripped)
            plain = render_alert(alert, "text", sources=sources)
        return await self._send(channel, alert_title(alert), body, form, plain)

    async def deliver_digest(
        self, channel_id: str, alerts: Sequence[Alert], sources: Mapping[str, Sequence[Source]]
    ) -> DeliveryResult:
        """One message listing every alert, to one channel."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return self._failed("digest", channel_id, GONE)
        form = self._form(channel.id)
        body = render_digest(alerts, form, sources=sources)
        plain = render_digest(alerts, "text", sources=sources) if form == "html" else None
        return await self._send(channel, digest_title(alerts), body, form, plain)

    async def deliver_admin(self, title: str, body: str) -> list[DeliveryResult]:
        """A notice about the service itself, to the channels tagged ``admin``."""
        return list(
            await asyncio.gather(
                *(self._send(c, f"[newsmon] {title}", body, "text") for c in self.admin_channels())
            )
        )

    async def _send(
        self, channel: Channel, title: str, body: str, form: Form, plain: str | None = None
    ) -> DeliveryResult:
        """``plain``: an email's plain-text part, when ``body`` is its HTML."""
        route = self._sender.routes.get(channel.id)
        if route is None:
            self._print(title, body)
            return DeliveryResult(ok=True, label=channel.label)
        if route.mail is not None:
            return await self._send_mail(channel, route.mail, title, body, form, plain)
        try:
            delivered, reason = await self._sender.send(
                channel.id,
                # the chat form opens with the title, as a link
                title="" if form == "chat" and not route.titled else title,
                body=body,
                form=form,
                timeout=self._timeout,
            )
        except Exception as exc:  # a plugin bug must not take the notifier down
            return self._failed(title, channel.label, f"{type(exc).__name__}: {exc}")
        if delivered:
            log.debug("%r delivered to %s", title, channel.label)
            return DeliveryResult(ok=True, label=channel.label)
        return self._failed(title, channel.label, reason or "delivery failed")

    async def _send_mail(
        self,
        channel: Channel,
        mail: MailServer,
        title: str,
        body: str,
        form: Form,
        plain: str | None,
    ) -> DeliveryResult:
        if form == "html":
            text, html = plain if plain is not None else _as_text(body), body
        else:
            text, html = body, None
        try:
            await asyncio.wait_for(
                asyncio.to_thread(send_mail, mail, title, text, html), self._timeout
            )
        except (smtplib.SMTPException, OSError, TimeoutError) as exc:
            return self._failed(title, channel.label, smtp_reason(exc))
        log.debug("%r delivered to %s", title, channel.label)
        return DeliveryResult(ok=True, label=channel.label)

    def _form(self, channel_id: str) -> Form:
        """The form of the channel's messages: its route's, plain text on the console."""
        route = self._sender.routes.get(channel_id)
        return route.form if route is not None else "text"

    def _print(self, title: str, body: str) -> None:
        out = self._console or sys.stdout
        print(f"{title}\n{body.strip()}\n", file=out, flush=True)

    def _failed(self, what: str, label: str, error: str) -> DeliveryResult:
        # a plugin's or a mail server's words may quote the URL with its token;
        # the reason is logged, kept in the outbox and shown: masked first
        error = mask(error, self.channels.secrets)
        log.warning("%r to %s not delivered: %s", what, label, error)
        return DeliveryResult(ok=False, error=error, label=label)


def _as_text(html: str) -> str:
    """The text of the user's own HTML template, as Apprise would make it."""
    from apprise.conversion import html_to_text  # imports Apprise: an email's text part only

    return str(html_to_text(html))  # type: ignore[no-untyped-call]


def check_channel_templates(
    channels: Channels | None, options: Mapping[str, ChannelOptions]
) -> tuple[int, list[ConfigError]]:
    """Load every channel template of the config as the service would: in the
    form of each channel that uses it, or by its file name when none does (the
    Apprise config is broken, or no channel has the tag yet). How many files
    there are, and one error per broken file, naming its file and line."""
    uses: dict[str, set[Form | None]] = {}
    tags: dict[str, str] = {}
    for tag, chosen in sorted(options.items()):
        if chosen.template:
            uses.setdefault(chosen.template, set())
            tags.setdefault(chosen.template, tag)
    if channels is not None:
        from monitor.notify.targets import form_of  # imports Apprise
    for channel in channels if channels is not None else ():
        picked = options_for(channel, options)
        # the console (no target) prints plain text, without templates
        if picked and picked.template and channels and channels.target(channel.id) is not None:
            uses[picked.template].add(form_of(channels, channel.id))
    book = TemplateBook()
    errors = []
    for path, forms in uses.items():
        try:
            for form in sorted(forms, key=str) or [None]:
                book.add(path, form)
        except ConfigError as exc:
            note = f"{exc.message} (the template of channels: {tags[path]})"
            errors.append(ConfigError(note, exc.path, exc.line))
    return len(uses), errors


def options_for(channel: Channel, options: Mapping[str, ChannelOptions]) -> ChannelOptions | None:
    """A channel's options: those of the first of its tags (in name order) that has any."""
    return next((options[tag] for tag in sorted(channel.tags) if tag in options), None)


def smtp_reason(exc: BaseException) -> str:
    """Why an email was not sent, in the mail server's words where it gave any."""
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"SMTP server answered {exc.smtp_code}: {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(exc.recipients))
        return f"SMTP server refused the recipients: {refused}"
    if isinstance(exc, TimeoutError):
        return "SMTP server did not answer in time"
    return f"SMTP: {exc}" if str(exc) else f"SMTP: {type(exc).__name__}"


def notify_test_alert(channel: Channel, now: datetime) -> Alert:
    """The alert ``newsmon notify-test`` sends: plainly a test, naming the channel."""
    return Alert(
        fingerprint=TEST_FINGERPRINT,
        channel=channel.id,
        title="newsmon test alert",
        link=PROJECT_URL,
        feed="newsmon notify-test",
        published=now,
        rules=("notify-test",),
        terms=("test",),
        snippet="If you can read this, newsmon can reach this channel. This is a **test**.",
    )


async def send_test(
    channels: Channels, tag: str | None = None, now: datetime | None = None
) -> list[DeliveryResult]:
    """Send a test alert to every channel carrying ``tag`` (all when None),
    concurrently; one result per channel, in config order. No channel
    matching gives an empty list."""
    deliverer = Deliverer(channels)
    when = now or datetime.now(UTC)
    alerts = [notify_test_alert(channel, when) for channel in channels.tagged(tag)]
    return list(await asyncio.gather(*(deliverer.deliver(a) for a in alerts)))
