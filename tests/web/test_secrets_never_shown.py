"""No secret of the config ever shows: not in any command's output, not in the
service's log, not in the API's answers or /metrics.

Hypothesis draws the secrets (URL-safe and awkward characters alike) and puts
them where operators put theirs: an SMTP password (from the environment, as
``${MAIL_PASSWORD}``), a webhook's password and a token in its path (from the
environment), a header on a webhook whose port refuses connections, web.token
(from the environment), and a PostgreSQL password. Then a real ``newsmon run``
delivers one alert and fails another, and every command runs on the workspace.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Service
from tests.e2e.test_service import SEED_ITEM, SEED_TITLE
from tests.feedserver import FeedServer, rss
from tests.servers import SmtpSink, WebhookSink, free_port

pytestmark = pytest.mark.e2e

# printable ASCII but whitespace: what a password or token may hold (an SMTP
# password goes over AUTH as bytes, a header as latin-1)
CHARS = string.ascii_letters + string.digits + "-._~" + "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}"


def secret(prefix: str, min_size: int = 8) -> st.SearchStrategy[str]:
    # a prefix of its own, so that no secret is a string output holds anyway
    return st.text(CHARS, min_size=min_size, max_size=24).map(lambda s: prefix + s)


@st.composite
def secrets(draw: st.DrawFn) -> dict[str, str]:
    return {
        "mail": draw(secret("Ml7")),
        "hook_password": draw(secret("Hp7")),
        "hook_token": draw(secret("Ht7")),
        "header": draw(secret("Hd7")),
        "web_token": draw(secret("Wt7", 16)),
        "database": draw(secret("Db7")),
    }


def forms(value: str) -> set[str]:
    """A secret as output could carry it: as is, URL-quoted, escaped in JSON,
    a Prometheus label or HTML (``unquote`` below finds any other quoting)."""
    return {value, quote(value, safe=""), quote(value), json.dumps(value)[1:-1], escape(value)}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These variables set for the commands and the service started meanwhile."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        return bytes(error.read())


def write_channels(service: Service, smtp: SmtpSink, drawn: dict[str, str], refused: int) -> None:
    """The SMTP sink (its password from the environment), the webhook sink
    (with a password, and a token in its path from the environment), and a
    webhook on a port that refuses, sending a secret header."""
    mail = smtp.apprise_url().replace(f":{smtp.password}@", ":${MAIL_PASSWORD}@")
    hook = service.webhook.apprise_url("/chat/${HOOK_TOKEN}").replace(
        "json://", f"json://newsmon:{quote(drawn['hook_password'], safe='')}@"
    )
    failing = f"json://127.0.0.1:{refused}/fail?+X-Token={quote(drawn['header'], safe='')}"
    urls = [{mail: {"tag": "email"}}, {hook: {"tag": "chat"}}, {failing: {"tag": "chat"}}]
    text = yaml.safe_dump({"version": 1, "urls": urls}, sort_keys=False)
    (service.root / "config" / "apprise.yml").write_text(text)


def commands(service: Service, postgres_config: Path) -> Iterator[str]:
    """Every command's stdout and stderr, run on the workspace."""
    labelled = service.root / "labelled.jsonl"
    labelled.write_text(json.dumps({"id": "1", "title": SEED_TITLE, "relevant": True}) + "\n")
    runs = [
        ("check",),
        ("notify-test",),
        ("outbox", "--dead"),
        ("outbox",),
        ("stories",),
        ("status",),
        ("replay", "--since", "1d"),
        ("test-rule", "--query", "Kerry", "--text", SEED_TITLE),
        ("eval", "--input", str(labelled)),
        ("feeds", "list"),
    ]
    for args in runs:
        result = service.newsmon(*args)
        yield f"$ newsmon {' '.join(args)}\n{result.stdout}{result.stderr}"
    matched = service.newsmon("match", "--input", "-", input=json.dumps({"title": SEED_TITLE}))
    yield matched.stdout + matched.stderr
    # the database's password, against a server that refuses it
    for args in (("status",), ("check",), ("outbox",)):
        result = subprocess.run(
            [sys.executable, "-m", "monitor", *args, "--config", str(postgres_config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        yield f"$ newsmon {' '.join(args)} (postgres)\n{result.stdout}{result.stderr}"


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=secrets())
@example(  # what Apprise writes back unquoted in a path: ' * ( ) < , &
    drawn={
        "mail": "Ml7p@ss:w/rd%",
        "hook_password": 'Hp7"quoted"\\back',
        "hook_token": "Ht7<,)&'*(x)!",
        "header": "Hd7Bearer+abc=",
        "web_token": "Wt7#{}|^`[]?@;$${x}",
        "database": "Db7p@ss/w:rd",
    }
)
def test_no_secret_ever_shows(drawn: dict[str, str]) -> None:
    env = {
        "MAIL_PASSWORD": quote(drawn["mail"], safe=""),
        "HOOK_TOKEN": quote(drawn["hook_token"], safe=""),
        "NEWSMON_TOKEN": drawn["web_token"],
        "PG_PASSWORD": quote(drawn["database"], safe=""),
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        environment(env),
        FeedServer() as feeds,
        SmtpSink(password=drawn["mail"]) as smtp,
        WebhookSink() as webhook,
    ):
        service = Service(Path(tmp), feeds, smtp, webhook, log_level="DEBUG")
        port = free_port()
        service.options["web"] = {"listen": f"127.0.0.1:{port}", "token": "${NEWSMON_TOKEN}"}
        service.write_config(["/world.rss"])
        write_channels(service, smtp, drawn, free_port())
        postgres_config = service.config.with_name("postgres.yaml")
        postgres_config.write_text(
            service.config.read_text()
            + "storage: postgresql://newsmon:${PG_PASSWORD}@127.0.0.1:5432/newsmon\n"
        )
        feeds.set_feed("/world.rss", rss([SEED_ITEM]))
        shown: list[str] = []
        try:
            service.start()
            smtp.wait_for(1, timeout=30)  # delivered, with the password
            webhook.wait_for(1, timeout=30)
            service.wait_log("not delivered")  # the refused channel failed
            base = f"http://127.0.0.1:{port}"
            paths = ["/api/alerts", "/api/stories", "/api/feeds", "/api/rules", "/api/health"]
            paths += ["/api/mutes", "/api/acks", "/api/openapi.json", "/metrics", "/"]
            paths += ["/readyz", "/healthz"]
            for path in paths:
                shown.append(f"GET {path}\n" + get(base + path, drawn["web_token"]).decode())
            alerts = json.loads(get(base + "/api/alerts", drawn["web_token"]))
            assert alerts, "the API lists the alerts"
            shown.extend(commands(service, postgres_config))
            assert service.stop() == 0
        finally:
            service.kill_all()
        shown.append(service.output())

    everything = "\n".join(shown)
    assert "newsmon running" in everything and "not delivered" in everything
    assert "FAILED: json://127.0.0.1" in everything  # notify-test's failure, reported
    unquoted = unquote(everything)  # whichever characters were quoted, and how
    for name, value in drawn.items():
        for text in (everything, unquoted):
            for form in forms(value):
                at = text.find(form)
                assert at < 0, f"{name} shows: …{text[max(0, at - 300) : at + 100]}…"
