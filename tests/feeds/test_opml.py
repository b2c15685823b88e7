"""OPML read and written (monitor.opml), and the config's opml: entries
reading it: names, intervals, folders, and a broken file named by its line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.opml import OpmlError, OpmlFeed, parse_opml, write_opml

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=30
).map(str.strip)
feeds = st.lists(
    st.builds(
        OpmlFeed,
        url=st.integers(0, 10_000).map(lambda n: f"https://feeds.example.org/{n}.rss?a=1&b=<2>"),
        name=names.map(lambda n: n or None),
        interval_s=st.one_of(st.none(), st.sampled_from([1.0, 30.0, 90.0, 300.0, 3600.0, 86400.0])),
    ),
    max_size=8,
    unique_by=lambda f: f.url,
)


@given(feeds)
def test_what_is_written_reads_back_as_the_same_feeds(written: list[OpmlFeed]) -> None:
    text = write_opml(written, "newsmon & co <feeds>", NOW)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    read = [(f.url, f.name, f.interval_s) for f in parse_opml(text)]
    assert read == [(f.url, f.name or f.url, f.interval_s) for f in written]


def test_feeds_in_folders_are_read_with_their_lines_and_folders_are_not_feeds() -> None:
    text = (
        '<?xml version="1.0"?>\n<opml version="1.1"><body>\n'
        '<outline text="News">\n'
        '  <outline text="A" xmlUrl="https://a.org/rss" interval="1h"/>\n'
        '  <outline title="B title" text="B" xmlUrl="https://b.org/atom"/>\n'
        "</outline>\n"
        '<outline text="No feed" htmlUrl="https://c.org/"/>\n'
        "</body></opml>"
    )
    assert parse_opml(text) == [
        OpmlFeed("https://a.org/rss", "A", 3600.0, 4),
        OpmlFeed("https://b.org/atom", "B title", None, 5),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('<opml>\n<body>\n<outline xmlUrl="x">\n</opml>', 4),
        ("<opml>\n<body>\n&bogus;\n</body></opml>", 3),
        ("", 1),
    ],
)
def test_a_malformed_file_is_named_by_its_line(text: str, line: int) -> None:
    with pytest.raises(OpmlError) as error:
        parse_opml(text, "subs.opml")
    assert (error.value.path, error.value.line) == ("subs.opml", line)


def test_the_config_pins_an_opml_feed_to_its_entry_s_interval_else_its_own(
    tmp_path: Path,
) -> None:
    (tmp_path / "own.opml").write_text(
        '<opml version="2.0"><body>'
        '<outline text="A" xmlUrl="https://a.org/rss" interval="5m"/>'
        '<outline text="B" xmlUrl="https://b.org/rss"/></body></opml>'
    )
    path = tmp_path / "monitor.yaml"
    path.write_text("feeds:\n  - opml: own.opml\ndefault_interval: 10m\n")
    got = [(f.url, f.interval, f.pinned, f.line) for f in load_settings(path).feeds]
    assert got == [("https://a.org/rss", 300, True, 2), ("https://b.org/rss", 600, False, 2)]
    path.write_text("feeds:\n  - opml: own.opml\n    interval: 1h\n")
    assert {(f.interval, f.pinned) for f in load_settings(path).feeds} == {(3600, True)}


def test_a_broken_opml_file_of_the_config_names_the_config_line_and_the_file_s(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.opml").write_text('<opml>\n<body>\n<outline xmlUrl="x">\n</opml>')
    path = tmp_path / "monitor.yaml"
    path.write_text("feeds:\n  - url: https://a.org/x\n  - opml: bad.opml\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert error.value.line == 3
    assert f"{tmp_path / 'bad.opml'}:4: malformed OPML: mismatched tag" in error.value.message
