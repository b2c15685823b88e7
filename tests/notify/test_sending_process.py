"""Apprise in a process of its own (``SendingProcess``), as the service runs it:
it reads the Apprise config (a broken one is still an error naming its file
and line), what arrives is what an in-process send delivers, a failure comes
back with Apprise's reason and without the secret, email still goes out as
newsmon composes it, and a process that dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.notify.channels import CONSOLE, Channels, load_channels
from monitor.notify.deliver import Deliverer
from monitor.notify.sending import SendingProcess
from tests.notify.test_notify_deliver import alert_for, only
from tests.servers import SmtpSink, WebhookSink, text_of

SECRET = "s3cret-Hook-Key-4242"


def config_of(tmp_path: Path, webhook: WebhookSink, smtp: SmtpSink | None = None) -> Path:
    # a header with a secret, as webhooks that want a key are configured
    url = f"{webhook.apprise_url('/alerts')}?+X-Hook-Key={SECRET}"
    path = tmp_path / "apprise.yml"
    lines = ["urls:", f"  - {url}:", "    - tag: chat"]
    if smtp is not None:
        lines += [f"  - {smtp.apprise_url()}:", "    - tag: mail"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_the_channels_are_those_the_service_would_read_itself(
    tmp_path: Path, webhook: WebhookSink, smtp: SmtpSink
) -> None:
    path = config_of(tmp_path, webhook, smtp)
    here = load_channels(path)
    async with SendingProcess(path) as sending:
        there = await sending.channels()

        assert there.channels == here.channels  # ids, tags, masked labels
        assert there.secrets == here.secrets and SECRET in there.secrets
        assert not there.targets  # Apprise's objects stay in the sending process
        chat, mail = only(there, "chat"), only(there, "mail")
        assert sending.routes[chat.id].form == "chat" and sending.routes[chat.id].titled
        assert sending.routes[mail.id].form == "html"
        assert sending.routes[mail.id].mail is not None  # newsmon sends email itself


async def test_an_alert_sent_from_the_sending_process_arrives_as_from_this_one(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    path = config_of(tmp_path, webhook)
    channels = load_channels(path)
    alert = alert_for(only(channels, "chat"))
    here = await Deliverer(channels).deliver(alert)
    async with SendingProcess(path) as sending:
        there = await Deliverer(await sending.channels(), sender=sending).deliver(alert)

    assert here.ok and there.ok
    first, second = webhook.wait_for(2)
    assert first == second  # title, message, type: the same JSON
    sent_here, sent_there = webhook.requests
    assert sent_there["path"] == "/alerts"
    assert sent_here["headers"]["X-Hook-Key"] == sent_there["headers"]["X-Hook-Key"] == SECRET


async def test_an_email_channel_gets_both_parts_through_the_sending_process(
    tmp_path: Path, webhook: WebhookSink, smtp: SmtpSink
) -> None:
    async with SendingProcess(config_of(tmp_path, webhook, smtp)) as sending:
        channels = await sending.channels()
        sent = await Deliverer(channels, sender=sending).deliver(alert_for(only(channels, "mail")))

    assert sent.ok
    [message] = smtp.wait_for(1)
    assert message.is_multipart()
    assert "Warships gather in the Taiwan Strait" in text_of(message)


async def test_a_failed_send_says_why_without_the_secret(
    tmp_path: Path, webhook: WebhookSink, capfd: pytest.CaptureFixture[str]
) -> None:
    webhook.fail_next(1, status=503)
    async with SendingProcess(config_of(tmp_path, webhook)) as sending:
        channels = await sending.channels()
        deliverer = Deliverer(channels, sender=sending)
        failed = await deliverer.deliver(alert_for(only(channels, "chat")))
        retried = await deliverer.deliver(alert_for(only(channels, "chat")))

    assert not failed.ok and failed.error is not None
    assert "503" in failed.error  # Apprise's words, as the outbox keeps them
    assert retried.ok
    assert SECRET not in failed.error
    printed = capfd.readouterr()
    assert SECRET not in printed.out + printed.err  # nor printed by the sending process


async def test_a_broken_apprise_config_is_an_error_naming_its_file_and_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "apprise.yml"
    path.write_text("urls:\n  - json://127.0.0.1:9/ok\n  - nosuchscheme://x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as in_process:
        load_channels(path)
    async with SendingProcess(path) as sending:
        with pytest.raises(ConfigError) as raised:
            await sending.channels()

    assert str(raised.value) == str(in_process.value)
    assert raised.value.path == str(path) and raised.value.line == 3


async def test_without_an_apprise_config_alerts_go_to_the_console_and_no_process_starts(
    tmp_path: Path,
) -> None:
    async with SendingProcess(tmp_path / "apprise.yml") as sending:
        channels = (await sending.channels()).or_console()

        assert channels.channels == (CONSOLE,)
        assert sending._process is None


async def test_a_sending_process_that_dies_is_replaced(
    tmp_path: Path, webhook: WebhookSink
) -> None:
    async with SendingProcess(config_of(tmp_path, webhook)) as sending:
        channels: Channels = await sending.channels()
        deliverer = Deliverer(channels, sender=sending)
        assert (await deliverer.deliver(alert_for(only(channels, "chat")))).ok
        process = sending._process
        assert process is not None and process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.join, 10)

        again = await deliverer.deliver(alert_for(only(channels, "chat"), "Second story"))

        assert again.ok
        assert sending._process is not None and sending._process.pid != process.pid
        # it sends at the service's own priority, as the first one did
        nice = os.getpriority(os.PRIO_PROCESS, sending._process.pid)
        assert nice == os.getpriority(os.PRIO_PROCESS, 0)
    assert [body["title"] for body in webhook.wait_for(2)][-1].endswith("Second story")


async def test_a_send_in_flight_when_the_process_dies_fails_for_the_outbox_to_retry(
    tmp_path: Path,
) -> None:
    # a webhook that takes the request and never answers: the send is in flight
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        path = tmp_path / "apprise.yml"
        port = silent.getsockname()[1]
        path.write_text(f"urls:\n  - json://127.0.0.1:{port}/hook:\n    - tag: chat\n")
        async with SendingProcess(path) as sending:
            channels = await sending.channels()
            deliverer = Deliverer(channels, sender=sending, timeout=30)
            in_flight = asyncio.create_task(deliverer.deliver(alert_for(only(channels, "chat"))))
            taken, _ = await asyncio.to_thread(silent.accept)
            process = sending._process
            assert process is not None and process.pid is not None
            os.kill(process.pid, signal.SIGKILL)

            failed = await asyncio.wait_for(in_flight, 10)
            taken.close()

    assert not failed.ok and failed.error == "the sending process exited"
