"""Email with both parts from our templates: text/plain from the text template,
text/html from the HTML one.

Apprise's email plugin takes one body and, for HTML, makes the plain-text part
by stripping the HTML, which loses the text template's layout (and a plain-text
reader's line for each field). So newsmon sends the message itself, over the
SMTP server, credentials, sender and recipients that Apprise read from the
channel's ``mailto://`` or ``mailtos://`` URL: the Apprise config stays the one
place channels are described. What Apprise would add on top (PGP, its own
attachments) is left to Apprise: ``MailServer.of`` gives None for such a
target, and the Deliverer sends through Apprise as before.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

__all__ = ["MailServer", "compose", "send_mail"]

_SSL, _STARTTLS = "ssl", "starttls"  # Apprise's secure modes; anything else is plain SMTP


@dataclass(frozen=True, slots=True)
class MailServer:
    """Where and how an email channel's messages go, as Apprise parsed its URL."""

    host: str
    port: int
    secure_mode: str  # "ssl", "starttls" or "insecure"
    user: str | None
    password: str | None = field(repr=False)
    sender: tuple[str | None, str]  # (display name, address)
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    verify_certificate: bool = True
    timeout: float = 15.0

    @classmethod
    def of(cls, target: Any) -> MailServer | None:
        """The server of an Apprise email target; None when the target is not
        plain SMTP email or needs what only Apprise does (PGP)."""
        from apprise.plugins.email import NotifyEmail  # where the targets are

        if not isinstance(target, NotifyEmail):
            return None
        if str(getattr(target, "pgp_mode", "no")).lower() not in ("no", "none", ""):
            return None
        name, address = (str(part) if part else None for part in target.from_addr)
        if address is None:
            return None
        return cls(
            host=target.smtp_host,
            port=int(target.port or 25),
            secure_mode=str(target.secure_mode),
            user=target.user or None,
            password=target.password or None,
            sender=(name, address),
            to=tuple(addr for _, addr in target.targets),
            cc=tuple(sorted(target.cc)),
            bcc=tuple(sorted(target.bcc)),
            reply_to=tuple(sorted(target.reply_to)),
            headers=dict(target.headers),
            verify_certificate=bool(target.verify_certificate),
            timeout=float(target.socket_connect_timeout),
        )


def compose(server: MailServer, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
    """One message to ``to``: ``text`` alone, or ``text`` and ``html`` as
    alternatives (a client shows the last part it can, so HTML goes last)."""
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # one header line
    name, address = server.sender
    message["From"] = formataddr((name, address)) if name else address
    message["To"] = to
    if server.cc:
        message["Cc"] = ", ".join(server.cc)
    if server.reply_to:
        message["Reply-To"] = ", ".join(server.reply_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=Address(addr_spec=address).domain or None)
    for key, value in server.headers.items():
        message[key] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(server: MailServer, subject: str, text: str, html: str | None) -> None:
    """Send one message to each recipient, as Apprise does (recipients do not
    see each other). Blocking; raises ``smtplib.SMTPException`` or ``OSError``
    with the server's reason when a message is not accepted."""
    context = ssl.create_default_context()
    if not server.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    smtp: smtplib.SMTP
    if server.secure_mode == _SSL:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    with smtp:
        if server.secure_mode == _STARTTLS:
            smtp.starttls(context=context)
        if server.user and server.password:
            smtp.login(server.user, server.password)
        for to in server.to:
            message = compose(server, to, subject, text, html)
            envelope = [to, *server.cc, *server.bcc]
            refused = smtp.send_message(message, from_addr=server.sender[1], to_addrs=envelope)
            if refused:  # some recipients taken, others not: not delivered as asked
                raise smtplib.SMTPRecipientsRefused(refused)
