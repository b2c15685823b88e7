"""Rule files on disk: every ``*.yaml`` of the rules directory, read and checked.

Errors are ``RuleError``s naming the file and line (and, for a rule's own
template, the template's file and line when the fault is in it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from monitor.core.rules import RuleFile, RuleSet, load_ruleset, parse_rule_file
from monitor.errors import ConfigError, RuleError

RULE_SUFFIXES = (".yaml", ".yml")


def _rule_paths(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleError("rules directory not found", str(directory))
    return [
        path
        for path in sorted(directory.iterdir())
        if path.suffix in RULE_SUFFIXES and path.is_file() and not path.name.startswith(".")
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rule file: {exc}", str(path)) from exc


@dataclass(frozen=True, slots=True)
class RulesOnDisk:
    """Which rules a rule set was built from: the texts of ``directory``'s rule
    files whose digest is ``digest``. Another process builds the same rule set
    from them while they are unchanged (``monitor.rules.early``)."""

    directory: str
    digest: str


def read_rules(directory: Path) -> RuleSet:
    """Every ``*.yaml`` rule file of ``directory``; raises RuleError naming file and line."""
    return read_rules_from(directory)[0]


def read_rules_from(directory: Path) -> tuple[RuleSet, RulesOnDisk]:
    """``read_rules``, and which texts the rules were built from."""
    texts = read_rule_texts(directory)
    rules = load_ruleset(texts)
    for rule in rules.rules:
        if rule.template:
            _check_template(rule.template, rule.path, rule.line)
    return rules, RulesOnDisk(str(directory), texts_digest(texts))


def rules_on_disk(directory: Path) -> RulesOnDisk | None:
    """Which rules ``directory``'s files hold now, without building them
    (None when they cannot be read: building them will say why)."""
    try:
        return RulesOnDisk(str(directory), texts_digest(read_rule_texts(directory)))
    except RuleError:
        return None


def read_rule_texts(directory: Path) -> dict[str, str]:
    """The text of every rule file of ``directory``, by path, in order."""
    return {str(path): _read(path) for path in _rule_paths(directory)}


def texts_digest(texts: dict[str, str]) -> str:
    """A digest of rule files' paths and texts: equal texts, equal rules."""
    digest = hashlib.blake2b(digest_size=16)
    for path, text in texts.items():
        for part in (path, text):
            data = part.encode()
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


def parse_rule_files(directory: Path) -> tuple[list[RuleFile], list[RuleError]]:
    """Every rule file of ``directory`` parsed on its own, for ``newsmon check``
    to report all that is wrong at once: the files that parse, and the errors
    (one per file that does not, one per rule whose template is broken).
    Entities are not resolved across files: that is for the lints."""
    try:
        paths = _rule_paths(directory)
    except RuleError as exc:
        return [], [exc]
    files: list[RuleFile] = []
    errors: list[RuleError] = []
    for path in paths:
        try:
            parsed = parse_rule_file(_read(path), str(path))
        except RuleError as exc:
            errors.append(exc)
            continue
        files.append(parsed)
        for rule in parsed.rules:
            if rule.template:
                try:
                    _check_template(rule.template, rule.path, rule.line)
                except RuleError as exc:
                    errors.append(exc)
    return files, errors


def _check_template(template: str, path: str, line: int) -> None:
    """A rule's template must exist and render; its errors name the rule's line,
    or the template's own file and line."""
    # Imported here: monitor.notify brings in Apprise and the mailer, which
    # rules without templates (and `newsmon match`'s start-up) do without.
    from monitor.notify.templates import validate_template

    try:
        text = Path(template).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"template {template}: {exc.strerror}", path, line) from exc
    try:
        validate_template(text, template)
    except ConfigError as exc:
        raise RuleError(exc.message, exc.path, exc.line) from exc
