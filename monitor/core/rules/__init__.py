"""The rule language and the matcher.

    parse_rule_file(text, path) -> RuleFile      one YAML rule file
    compile_ruleset(files) -> RuleSet            entities resolved across files
    load_ruleset({path: text}) -> RuleSet        both, files in sorted path order
    RuleSet.match(fields) -> [Match]             fields: title, summary, content, feed
    Match.fired(fields) -> Fired                 rule, tags, terms and a snippet
    snippet(text, spans) / highlight(text, spans)

The query language is described in :mod:`monitor.core.rules.query`, words and
folding in :mod:`monitor.core.text`, rule files in :mod:`.rulefile`, and how
matching runs in :mod:`.matcher`. Errors are :class:`monitor.errors.RuleError`
carrying the file and line.
"""

from monitor.core.rules.highlight import highlight, snippet
from monitor.core.rules.matcher import EMPTY_RULESET, Match, RuleSet, Span, compile_ruleset
from monitor.core.rules.model import Entity, Rule, RuleFile
from monitor.core.rules.query import parse_query, render
from monitor.core.rules.rulefile import load_ruleset, parse_rule_file

__all__ = [
    "EMPTY_RULESET",
    "Entity",
    "Match",
    "Rule",
    "RuleFile",
    "RuleSet",
    "Span",
    "compile_ruleset",
    "highlight",
    "load_ruleset",
    "parse_query",
    "parse_rule_file",
    "render",
    "snippet",
]
