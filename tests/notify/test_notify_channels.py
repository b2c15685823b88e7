"""The Apprise config file as channels: targets, tags, and errors users can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.notify.channels import CONSOLE, Channels, load_channels

MAIL = "mailto://newsmon:hunter2-secret@127.0.0.1:2525?from=newsmon@example.org&to=desk@example.org"
CHAT = "json://127.0.0.1:8080/hook"
OPS = "json://127.0.0.1:8081/ops"

TEXT_CONFIG = f"""\
# the newsroom's channels
mail, urgent = {MAIL}
chat={CHAT}
{OPS}
"""

YAML_CONFIG = f"""\
version: 1
urls:
  - {MAIL}:
      tag: mail, urgent
  - {CHAT}:
      - tag: chat
  - {OPS}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_tags(channels: Channels) -> dict[frozenset[str], str]:
    return {c.tags: c.label for c in channels}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("apprise.txt", TEXT_CONFIG),
        ("apprise.yml", YAML_CONFIG),
        ("apprise.yml", TEXT_CONFIG),  # TEXT lines in a .yml file are still TEXT
        ("apprise.conf", YAML_CONFIG),  # and YAML content in a .conf file is YAML
    ],
)
def test_one_channel_per_url_with_its_tags(tmp_path: Path, name: str, text: str) -> None:
    channels = load_channels(write(tmp_path, name, text))
    tags = by_tags(channels)
    assert set(tags) == {frozenset({"mail", "urgent"}), frozenset({"chat"}), frozenset()}
    assert tags[frozenset({"mail", "urgent"})].startswith("mailto://newsmon:****@127.0.0.1:2525")
    assert tags[frozenset({"chat"})].startswith("json://127.0.0.1:8080/hook")
    assert all("hunter2" not in c.label for c in channels)
    assert not channels.is_console


def test_channel_ids_are_stable_and_independent_of_format(tmp_path: Path) -> None:
    text = load_channels(write(tmp_path, "a.txt", TEXT_CONFIG))
    again = load_channels(write(tmp_path, "b.txt", TEXT_CONFIG))
    yaml = load_channels(write(tmp_path, "c.yml", YAML_CONFIG))
    assert [c.id for c in text] == [c.id for c in again] == [c.id for c in yaml]
    assert len({c.id for c in text}) == 3
    assert all("hunter2" not in c.id for c in text)


def test_accounts_on_one_host_are_different_channels(tmp_path: Path) -> None:
    other = MAIL.replace("newsmon:hunter2-secret", "desk2:other-secret")
    channels = load_channels(write(tmp_path, "a.txt", f"{MAIL}\n{other}\n"))
    assert len({c.id for c in channels}) == 2


def test_a_url_listed_twice_is_one_channel_with_all_its_tags(tmp_path: Path) -> None:
    text = f"chat={CHAT}\nurgent={CHAT}\n"
    [channel] = load_channels(write(tmp_path, "a.txt", text))
    assert channel.tags == {"chat", "urgent"}


def test_tags_are_case_insensitive_and_selectable(tmp_path: Path) -> None:
    channels = load_channels(write(tmp_path, "a.txt", TEXT_CONFIG.replace("chat=", "Chat=")))
    assert [c.tags for c in channels.tagged("CHAT")] == [frozenset({"chat"})]
    assert [c.tags for c in channels.tagged("mail,urgent")] == [frozenset({"mail", "urgent"})]
    assert channels.tagged("mail,chat") == []
    assert len(channels.tagged(None)) == 3


def test_each_channel_keeps_its_own_target(tmp_path: Path) -> None:
    channels = load_channels(write(tmp_path, "a.txt", TEXT_CONFIG))
    for channel in channels:
        target = channels.target(channel.id)
        assert target is not None
        assert target.url(privacy=True) == channel.label
    assert channels.target("console") is None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("apprise.yml", "# nobody to tell yet\n\n"),
        ("apprise.txt", ""),
        ("apprise.yml", "version: 1\nurls: []\n"),
    ],
)
def test_a_config_without_urls_has_no_channels(tmp_path: Path, name: str, text: str) -> None:
    assert len(load_channels(write(tmp_path, name, text))) == 0


def test_a_missing_config_has_no_channels(tmp_path: Path) -> None:
    assert len(load_channels(tmp_path / "nowhere" / "apprise.yml")) == 0


def test_console_channel() -> None:
    console = Channels.console()
    assert console.is_console
    assert list(console) == [CONSOLE]
    assert CONSOLE.id == "console" and CONSOLE.tags == frozenset() and CONSOLE.label == "console"
    assert console.target("console") is None
    assert Channels().or_console().is_console


def test_configured_channels_are_kept_over_the_console(tmp_path: Path) -> None:
    channels = load_channels(write(tmp_path, "a.txt", TEXT_CONFIG))
    assert channels.or_console() is channels


@pytest.mark.parametrize(
    ("name", "text", "line", "says"),
    [
        ("apprise.txt", f"chat={CHAT}\nmail=nosuchservice://x/y\n", 2, "Unparseable URL"),
        ("apprise.txt", f"chat={CHAT}\nthis is not a url !!\n", 2, "on line 2"),
        ("apprise.txt", "mail=mailto://127.0.0.1:2525?to=\n", 1, "email"),
        ("apprise.yml", f"urls:\n  - {CHAT}:\n     tag: [chat\n", None, "invalid YAML"),
        ("apprise.yml", f"version: 1\nurls:\n  - {CHAT}\n  - nosuch://x/y\n", 4, "nosuch"),
        ("apprise.yml", "version: 1\nurl:\n  - json://127.0.0.1/x\n", 1, "no 'urls:'"),
        ("apprise.yml", "version: 7\nurls:\n  - json://127.0.0.1/x\n", None, "version"),
    ],
)
def test_a_broken_config_names_the_file_and_line(
    tmp_path: Path, name: str, text: str, line: int | None, says: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=says) as err:
        load_channels(path)
    assert err.value.path == str(path)
    if line is not None:
        assert err.value.line == line
        assert str(err.value).startswith(f"{path}:{line}: ")


def test_an_unreadable_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as err:
        load_channels(tmp_path)  # a directory
    assert err.value.path == str(tmp_path)


def test_apprise_chatter_does_not_leak_into_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with pytest.raises(ConfigError):
        load_channels(write(tmp_path, "a.txt", "mail=nosuchservice://x/y\n"))
    load_channels(write(tmp_path, "b.txt", TEXT_CONFIG))
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []


def test_included_files_add_their_channels(tmp_path: Path) -> None:
    # secrets often live in a second file that the main config includes
    write(tmp_path, "secrets.txt", f"mail={MAIL}\n")
    main = write(
        tmp_path, "apprise.yml", f"include:\n  - secrets.txt\nurls:\n  - {CHAT}:\n      tag: chat\n"
    )
    assert set(by_tags(load_channels(main))) == {frozenset({"mail"}), frozenset({"chat"})}


def test_a_missing_include_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path, "apprise.txt", f"include nowhere.txt\nchat={CHAT}\n")
    with pytest.raises(ConfigError, match=r"nowhere\.txt") as err:
        load_channels(main)
    assert err.value.path == str(main)
