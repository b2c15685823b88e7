"""Rule files on disk: reading, rule templates, and reloads that keep the last good rules."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from monitor.core.alerts import alerts_for
from monitor.core.items import Item
from monitor.errors import RuleError
from monitor.notify.channels import Channels
from monitor.notify.deliver import Deliverer
from monitor.rules.files import parse_rule_files, read_rules
from monitor.rules.rulebook import Rulebook

RULE = "rules:\n  - name: spice\n    match: zanzibar\n    template: spice.j2\n"


def test_a_rule_template_is_used_for_its_alerts(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE)
    (tmp_path / "spice.j2").write_text(
        "SPICE ALERT: {{ alert.title }} ({{ alert.rules | join(',') }})"
    )
    rules = read_rules(tmp_path)
    item = Item("fp", "https://f.example/x.rss", "F", "Zanzibar cloves", "", "", "https://x", None)
    fields = item.fields()
    fired = [m.fired(fields) for m in rules.match(fields)]
    [alert] = alerts_for(item, fired, Channels.console().channels)
    assert alert.template == str(tmp_path / "spice.j2")

    out = io.StringIO()
    deliverer = Deliverer(Channels.console(), console=out)
    assert asyncio.run(deliverer.deliver(alert)).ok
    assert "SPICE ALERT: Zanzibar cloves (spice)" in out.getvalue()


def test_a_missing_rule_template_names_the_rule(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE)
    with pytest.raises(RuleError) as caught:
        read_rules(tmp_path)
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "r.yaml"), 2)


def test_a_broken_rule_template_names_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE)
    (tmp_path / "spice.j2").write_text("fine\n{% if %}\n")
    with pytest.raises(RuleError) as caught:
        read_rules(tmp_path)
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "spice.j2"), 2)


def test_a_broken_reload_keeps_the_last_good_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - name: a\n    match: zanzibar\n")
    book = Rulebook(tmp_path)
    (tmp_path / "r.yaml").write_text("rules:\n  - name: a\n    match: '(zanzibar'\n")
    assert not book.reload()
    assert book.last_error is not None and book.last_error.line == 3
    assert [r.name for r in book.current.rules] == ["a"]
    (tmp_path / "r.yaml").write_text("rules:\n  - name: b\n    match: zanzibar\n")
    assert book.reload()
    assert [r.name for r in book.current.rules] == ["b"]


def test_parsing_file_by_file_reports_every_broken_file_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-broken.yaml").write_text("rules:\n  - name: a\n    match: '(kinmen'\n")
    (tmp_path / "b-good.yaml").write_text(RULE)  # its template is missing
    (tmp_path / "c-broken.yaml").write_text("rules:\n  - name: c\n  match: matsu\n")
    (tmp_path / "notes.txt").write_text("not a rule file")
    files, errors = parse_rule_files(tmp_path)
    assert [Path(f.path).name for f in files] == ["b-good.yaml"]
    assert [(Path(e.path or "").name, e.line) for e in errors] == [
        ("a-broken.yaml", 3),
        ("b-good.yaml", 2),
        ("c-broken.yaml", 3),
    ]
    files, [missing] = parse_rule_files(tmp_path / "missing")
    assert files == [] and missing.message == "rules directory not found"
