"""Rule files on disk: every ``*.yaml`` of the rules directory, read and checked.

Errors are ``RuleError``s naming the file and line (and, for a rule's own
template, the template's file and line when the fault is in it).
"""

from __future__ import annotations

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


def read_rules(directory: Path) -> RuleSet:
    """Every ``*.yaml`` rule file of ``directory``; raises RuleError naming file and line."""
    rules = load_ruleset({str(path): _read(path) for path in _rule_paths(directory)})
    for rule in rules.rules:
        if rule.template:
            _check_template(rule.template, rule.path, rule.line)
    return rules


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
