"""`newsmon check` loads every channel template and every rule template, as a
real process on a temporary workspace: each broken one as file:line, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
feeds: []
rules: ../rules
notify: apprise.yml
data_dir: ../data
channels:
  chat:
    template: templates/chat.j2
  email:
    template: templates/mail.html.j2
"""
APPRISE = """\
version: 1
urls:
  - json://127.0.0.1:9/chat:
      tag: chat
  - mailto://user:pass@127.0.0.1:9?from=newsmon@example.org&to=analyst@example.org:
      tag: email
"""
RULES = "rules:\n  - name: spice\n    match: zanzibar\n    template: spice.j2\n"


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(root / "config/monitor.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Every template good: a chat and an email channel template, and a rule's."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "spice.yaml").write_text(RULES)
    (tmp_path / "rules" / "spice.j2").write_text("SPICE {{ alert.title }}")
    (tmp_path / "config" / "templates").mkdir(parents=True)
    (tmp_path / "config" / "monitor.yaml").write_text(CONFIG)
    (tmp_path / "config" / "apprise.yml").write_text(APPRISE)
    (tmp_path / "config" / "templates" / "chat.j2").write_text("NEWS {{ alert.title }}")
    (tmp_path / "config" / "templates" / "mail.html.j2").write_text(
        "<p>{{ alert.snippet | marks }}</p>"
    )
    return tmp_path


def test_check_loads_every_template_and_says_so(workspace: Path) -> None:
    out = check(workspace)
    assert (out.returncode, out.stderr) == (0, "")
    assert "channel templates: ok, 2 files" in out.stdout.splitlines()
    assert f"{workspace}/rules: ok, 1 rules, 0 entities" in out.stdout.splitlines()


def test_check_names_every_broken_template_by_file_and_line(workspace: Path) -> None:
    templates = workspace / "config" / "templates"
    (templates / "chat.j2").write_text("NEWS {{ alert.title }}\n\n{% if alert.link %}\n")
    (templates / "mail.html.j2").write_text("<p>{{ alert.title }}</p>\n<p>{{ alert.price }}</p>\n")
    (workspace / "config" / "monitor.yaml").write_text(
        CONFIG + "  pager:\n    template: pager.j2\n"  # a tag no channel has yet
    )
    (workspace / "rules" / "spice.j2").write_text("SPICE\n{{ alert.title | nosuchfilter }}\n")
    out = check(workspace)
    assert out.returncode == 1
    config, rules = workspace / "config", workspace / "rules"
    assert out.stderr.splitlines() == [
        f"{config}/pager.j2: error: cannot read template: No such file or directory "
        "(the template of channels: pager)",
        f"{templates}/chat.j2:3: error: template syntax error: Unexpected end of template. "
        "Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. "
        "The innermost block that needs to be closed is 'if'. (the template of channels: chat)",
        f"{templates}/mail.html.j2:2: error: template failed: UndefinedError: "
        "'monitor.core.alerts.Alert object' has no attribute 'price' "
        "(the template of channels: email)",
        f"{rules}/spice.j2:2: error: template syntax error: No filter named 'nosuchfilter'.",
    ]
    assert "channel templates: 3 of 3 files broken" in out.stdout.splitlines()
    assert f"{rules}: not loaded, 1 error" in out.stdout.splitlines()
