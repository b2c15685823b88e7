"""``newsmon feeds`` as a user runs it: a real process on a real store.

OPML goes in and comes out with the same feeds, names and intervals; a feed
on this machine is refused with its reason unless the config allows it; a
broken file is named by its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.opml import parse_opml

CONFIG = """\
feeds:
  - url: http://127.0.0.1:8000/mine.rss
    name: Mine
    interval: 2m
storage: sqlite:///newsmon.db
rules: .
"""
ALLOW = "fetch: {allow_private_networks: true}\n"

IMPORTED = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My reader's subscriptions</title></head>
  <body>
    <outline text="World">
      <outline text="Wire &amp; Co" title="Wire &amp; Co" type="rss"
               xmlUrl="http://127.0.0.1:8001/wire.rss" interval="5m"/>
      <outline text="Blog" xmlUrl="http://127.0.0.1:8002/blog.atom"/>
    </outline>
    <outline text="Mine again" xmlUrl="http://127.0.0.1:8000/mine.rss"/>
  </body>
</opml>
"""


def newsmon(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(root / "monitor.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "monitor.yaml").write_text(CONFIG + ALLOW)
    (tmp_path / "subscriptions.opml").write_text(IMPORTED)
    return tmp_path


def test_an_opml_file_imported_comes_back_out_with_its_names_and_intervals(root: Path) -> None:
    done = newsmon(root, "feeds", "import", "subscriptions.opml")
    assert done.returncode == 0, done.stderr
    assert "2 added, 1 already there, 0 refused" in done.stdout

    exported = newsmon(root, "feeds", "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">'
    )
    feeds = [(f.url, f.name, f.interval_s) for f in parse_opml(exported.stdout)]
    assert feeds == [
        ("http://127.0.0.1:8000/mine.rss", "Mine", 120),  # the config's, first
        ("http://127.0.0.1:8001/wire.rss", "Wire & Co", 300),
        ("http://127.0.0.1:8002/blog.atom", "Blog", None),
    ]

    # and the export imported elsewhere is the same feeds again
    other = root / "other"
    other.mkdir()
    (other / "monitor.yaml").write_text("storage: sqlite:///newsmon.db\nrules: .\n" + ALLOW)
    (other / "all.opml").write_text(exported.stdout)
    assert newsmon(other, "feeds", "import", "all.opml").returncode == 0
    again = [
        (f.url, f.name, f.interval_s) for f in parse_opml(newsmon(other, "feeds", "export").stdout)
    ]
    assert again == feeds


def test_the_list_shows_each_feed_and_where_it_comes_from(root: Path) -> None:
    added = newsmon(
        root, "feeds", "add", "http://127.0.0.1:8003/x.rss", "--name", "X", "--interval", "1h"
    )
    assert added.returncode == 0, added.stderr
    assert "added http://127.0.0.1:8003/x.rss (X), interval 1h" in added.stdout
    listed = newsmon(root, "feeds", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert ["http://127.0.0.1:8000/mine.rss", "Mine", "2m", f"{root / 'monitor.yaml'}:2"] in rows
    assert ["http://127.0.0.1:8003/x.rss", "X", "1h", "store"] in rows
    assert "2 feeds: 1 from the config, 1 added" in listed.stdout

    removed = newsmon(root, "feeds", "remove", "http://127.0.0.1:8003/x.rss")
    assert removed.returncode == 0, removed.stderr
    assert "http://127.0.0.1:8003/x.rss" not in newsmon(root, "feeds", "list").stdout


def test_removing_a_config_feed_names_the_line_to_edit(root: Path) -> None:
    done = newsmon(root, "feeds", "remove", "http://127.0.0.1:8000/mine.rss")
    assert done.returncode != 0
    assert (
        f"error: {root / 'monitor.yaml'}:2: http://127.0.0.1:8000/mine.rss: listed in the config"
        in done.stderr
    )


def test_without_the_allowance_loopback_feeds_are_refused_with_their_reason(root: Path) -> None:
    (root / "monitor.yaml").write_text(CONFIG)
    done = newsmon(root, "feeds", "add", "http://localhost:8001/wire.rss")
    assert done.returncode != 0
    assert "http://localhost:8001/wire.rss: localhost resolves to" in done.stderr
    assert "a loopback address" in done.stderr and "allow_private_networks" in done.stderr

    imported = newsmon(root, "feeds", "import", "subscriptions.opml")
    assert imported.returncode == 1
    assert "0 added, 1 already there, 2 refused" in imported.stdout
    assert (
        "subscriptions.opml:6: refused: http://127.0.0.1:8001/wire.rss: "
        "127.0.0.1 is a loopback address" in imported.stdout
    )
    assert "subscriptions.opml:8: refused: http://127.0.0.1:8002/blog.atom" in imported.stdout
    assert "127.0.0.1:800" not in newsmon(root, "feeds", "export").stdout.replace("8000", "")


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (
            '<opml version="2.0">\n<body>\n<outline xmlUrl="http://a.org/x">\n</body></opml>',
            4,
            "mismatched tag",
        ),
        (
            '<opml version="2.0"><body>\n\n'
            '<outline xmlUrl="http://a.org/x" interval="soon"/></body></opml>',
            3,
            "invalid duration",
        ),
        ("<rss><channel/></rss>", 1, "not OPML"),
    ],
)
def test_a_broken_opml_file_is_named_by_its_line(
    root: Path, text: str, line: int, says: str
) -> None:
    (root / "broken.opml").write_text(text)
    done = newsmon(root, "feeds", "import", "broken.opml")
    assert done.returncode != 0
    assert f"error: broken.opml:{line}: " in done.stderr and says in done.stderr
    assert "0 added" not in done.stdout
