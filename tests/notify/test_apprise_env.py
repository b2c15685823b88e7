"""``${VAR}`` in the Apprise config: secrets from the environment, never on disk."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from monitor.errors import ConfigError
from monitor.notify.channels import load_channels
from monitor.notify.mail import MailServer

# a value goes into the URL as written: what a URL cannot hold is percent-encoded
ENV = {"MAIL_PASSWORD": "s3cr3t-p%40ss", "HOOK_TOKEN": "tok-0123456789"}
MAIL = (
    "mailto://newsmon:${MAIL_PASSWORD}@127.0.0.1:2525?from=newsmon@example.org&to=desk@example.org"
)
UNSET = MAIL.replace("MAIL_", "NO_")
HOOK = "json://127.0.0.1:8080/hook/${HOOK_TOKEN}"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("apprise.txt", f"mail = {MAIL}\nchat={HOOK}\n"),
        # URLs as keys (with their tags under them) and as plain list entries
        (
            "apprise.yml",
            f"version: 1\nurls:\n  - {MAIL}:\n      tag: mail\n  - '{HOOK}':\n      - tag: chat\n",
        ),
        ("apprise.yml", f"urls:\n  - {MAIL}:\n      tag: mail\n  - {HOOK}\n"),
    ],
)
def test_urls_take_variables_from_the_environment(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path, name, text)
    channels = load_channels(path, ENV)
    [mail] = channels.tagged("mail")
    server = MailServer.of(channels.target(mail.id))
    assert server is not None and server.password == "s3cr3t-p@ss"
    [hook] = [c for c in channels if "mail" not in c.tags]
    target = channels.target(hook.id)
    assert target is not None and str(target.url(privacy=False)).startswith(  # type: ignore[no-untyped-call]
        "json://127.0.0.1:8080/hook/tok-0123456789"
    )
    # the file on disk still names the variables: nothing expanded was written
    assert path.read_text(encoding="utf-8") == text


def test_values_from_the_environment_are_masked_in_labels(tmp_path: Path) -> None:
    """Apprise's privacy form keeps a webhook's path; a token put there from the
    environment is still never shown."""
    channels = load_channels(write(tmp_path, "apprise.txt", f"{MAIL}\n{HOOK}\n"), ENV)
    labels = " ".join(c.label for c in channels)
    assert "tok-0123456789" not in labels and "s3cr3t" not in labels
    assert "json://127.0.0.1:8080/hook/****" in labels
    assert {"tok-0123456789", "s3cr3t-p%40ss", "s3cr3t-p@ss"} <= channels.secrets


def test_a_webhook_header_is_masked_in_its_label(tmp_path: Path) -> None:
    text = "json://127.0.0.1:8080/hook?+Authorization=Bearer%20abcdef0123456789\n"
    [channel] = load_channels(write(tmp_path, "apprise.txt", text), {})
    assert "abcdef0123456789" not in channel.label
    assert "Authorization=****" in channel.label


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("apprise.txt", f"chat=json://127.0.0.1/x\nmail={MAIL.replace('MAIL_', 'NO_')}\n", 2),
        (
            "apprise.yml",
            f"version: 1\nurls:\n  - json://127.0.0.1/x\n  - {UNSET}:\n      tag: mail\n",
            4,
        ),
        (
            "apprise.yml",
            "urls:\n  - json://127.0.0.1/x:\n      tag: chat\n      to: ${NO_PASSWORD}\n",
            4,
        ),
    ],
)
def test_an_unset_variable_names_the_file_and_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match="environment variable NO_PASSWORD is not set") as err:
        load_channels(path, ENV)
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_a_literal_dollar_brace_is_written_twice(tmp_path: Path) -> None:
    [channel] = load_channels(write(tmp_path, "apprise.txt", "json://127.0.0.1/a$${b}\n"), {})
    assert "/a$%7Bb%7D" in channel.label or "/a${b}" in channel.label


def test_included_files_are_expanded_too(tmp_path: Path) -> None:
    write(tmp_path, "secrets.txt", f"mail={MAIL}\n")
    main = write(tmp_path, "apprise.yml", f"include:\n  - secrets.txt\nurls:\n  - {HOOK}\n")
    channels = load_channels(main, ENV)
    [mail] = channels.tagged("mail")
    server = MailServer.of(channels.target(mail.id))
    assert server is not None and server.password == "s3cr3t-p@ss"
    assert "s3cr3t" not in mail.label


def test_an_unset_variable_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    secrets = write(tmp_path, "secrets.txt", "# mail\nmail=mailto://a:${NOPE}@127.0.0.1?to=x@y.z\n")
    main = write(tmp_path, "apprise.txt", "include secrets.txt\n")
    with pytest.raises(ConfigError, match="NOPE is not set") as err:
        load_channels(main, ENV)
    assert (err.value.path, err.value.line) == (str(secrets), 2)


def test_an_include_may_not_include_further(tmp_path: Path) -> None:
    write(tmp_path, "deeper.txt", "json://127.0.0.1/deep\n")
    inner = write(tmp_path, "inner.txt", "include deeper.txt\njson://127.0.0.1/inner\n")
    main = write(tmp_path, "apprise.txt", "include inner.txt\n")
    with pytest.raises(ConfigError, match="may not include") as err:
        load_channels(main, {})
    assert err.value.path == str(inner)


def test_only_files_may_be_included(tmp_path: Path) -> None:
    main = write(tmp_path, "apprise.txt", "include https://example.org/apprise.txt\n")
    with pytest.raises(ConfigError, match="only files"):
        load_channels(main, {})


def test_a_value_is_masked_however_apprise_quotes_it(tmp_path: Path) -> None:
    """Apprise writes a path back with its own quoting (``'`` and ``*`` as
    they are), not as the environment gave it."""
    env = {"HOOK_TOKEN": quote("tok'*(x)!<,&-0123", safe="")}
    path = write(tmp_path, "apprise.txt", "json://127.0.0.1:8080/hook/${HOOK_TOKEN}\n")
    [channel] = load_channels(path, env)
    assert "tok" not in unquote(channel.label)
    assert channel.label.startswith("json://127.0.0.1:8080/hook/****")
