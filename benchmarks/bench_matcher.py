"""Matcher throughput at 10 to 10,000 rules, beside a loop of one regex per rule.

Stories are about 2 KB of news text (title, summary, content), each a distinct
mix of the sentences of the labelled stories in tests/data/eval, of one
language: four in five English (as from the shipped feeds), the rest in the
eight other languages the pack reads. Rules are written like the shipped
pack's: the pack itself (its four topics and their entities) plus generated
rules of every shape a rule file uses (keyword and phrase lists, prefixes,
``*suffix`` terms, AND, OR, NOT, NEAR, @entities, the pack's and generated
ones, field scopes, ``any:``/``all:``/``none:`` lists). Their terms are the
corpus's rarer words, phrases, stems and names, and (seven in ten) names and
words these stories never use, as most of what a large rule set names is
absent from any one day's news; each generated rule fires on about 0.2 % of
the stories (the table shows matches per story).

For each rule count: the compile time, the matcher's stories/s on one core
(CPU time of ``RuleSet.match``: the rules that fire; and with every match's
terms, spans and snippet taken, as an alert needs), the regex loop's (every
rule as one compiled Python regex, case-insensitive, matched against every
story: as many stories as a few seconds allow) and the ratio. Then the whole
command: ``newsmon match --input FILE`` over 5,000 stories with 1,000 rules,
and the regex loop over the same file, each a process timed from start to exit
(imports and compiling the rules included). The loop's time for all 5,000 is
its start-up plus its time per story on a sample (it would take most of an
hour). A few stories per rule count are checked against the reference
evaluator of the tests, so the speed is of right answers.

    .venv/bin/python benchmarks/bench_matcher.py            # about 12 minutes here
    .venv/bin/python benchmarks/bench_matcher.py --quick    # about 2 minutes, smaller samples

``main(argv)`` returns the issue's targets as (name, met, measured) for
benchmarks/run_all.py.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core.rules import Rule, RuleSet, load_ruleset, parse_rule_file  # noqa: E402
from monitor.core.rules.query import (  # noqa: E402
    DEFAULT_FIELDS,
    And,
    EntityRef,
    Field,
    Near,
    Node,
    Not,
    Or,
    Term,
)
from monitor.core.text import is_unspaced  # noqa: E402
from tests.core.reference import documents, evaluate_documents  # noqa: E402

CORPUS = [ROOT / "tests/data/eval/dev.jsonl", ROOT / "tests/data/eval/frozen.jsonl"]
PACK = ROOT / "rules"
FIELDS = ("title", "summary", "content", "feed")
FEEDS = ["BBC News - World", "NYT > World News", "The Guardian", "NPR Topics: World", "DW", "SCMP"]
ITEM_BYTES = 2000
ENGLISH = 0.8  # the share of English stories
# The share of a generated rule's terms that these stories never use.
UNSEEN = 0.7
SYLLABLES = ["ka", "ri", "to", "mu", "sen", "lo", "va", "de", "chi", "zu", "na"]  # fmt: skip
SYLLABLES += ["pe", "ro", "tal", "vik", "ost", "ber", "gan", "lin", "mar"]  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
# Words of spaced scripts, and runs of two to four Chinese or Japanese characters.
_WORD = re.compile(r"[^\W\d_\u3040-\u30ff\u3400-\u9fff]{3,}|[\u3040-\u30ff\u3400-\u9fff]{2,4}")
# Words a rule writer would not pick on their own: too common to mean anything.
STOP = set(
    """the and for that with from this have has had are was were will would been
    their they them than then there said says also after over into about more most
    other some such what when which while who whom why how its not but can could
    may might must should our out new one two three first last year years week
    month day days time times people country countries government officials
    official told being between under against since during before because
    according just only like many much very where these those each both while
    les des une dans pour par sur est qui que der die das und ein eine mit von
    den dem zu auf ist für los las del con por una para que como""".split()  # noqa: SIM905
)


# ---------------------------------------------------------------- the corpus


class Corpus:
    """Sentences and headlines of the labelled stories, and the words, phrases
    and names in them, by how many sentences hold them."""

    def __init__(self) -> None:
        # Each story is of one language, as in a feed: its headline and sentences
        # come from stories of that language.
        self.titles: dict[str, list[str]] = {}
        self.by_lang: dict[str, list[str]] = {}
        for path in CORPUS:
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                lang = record.get("lang") or "en"
                self.titles.setdefault(lang, []).append(record["title"])
                self.by_lang.setdefault(lang, []).extend(
                    s for s in _SENTENCE_END.split(record.get("summary") or "") if len(s) > 30
                )
        self.by_lang["en"].extend(
            s
            for s in _SENTENCE_END.split((ROOT / "tests/data/seed-article.txt").read_text())
            if len(s) > 30
        )
        self.langs = sorted(self.titles)
        # Four stories in five are English, as from the shipped feeds; the
        # rest in the other languages the pack reads, as the corpus has them.
        others = sum(len(self.titles[lang]) for lang in self.langs if lang != "en")
        self.weights = [
            ENGLISH if lang == "en" else (1 - ENGLISH) * len(self.titles[lang]) / others
            for lang in self.langs
        ]
        self.sentences = [s for lang in self.langs for s in self.by_lang[lang]]
        words: Counter[str] = Counter()
        pairs: Counter[str] = Counter()
        names: Counter[str] = Counter()
        for text in self.sentences + [t for ts in self.titles.values() for t in ts]:
            found = _WORD.findall(text)
            words.update({w.lower() for w in found})
            pairs.update(
                {
                    f"{a} {b}".lower()
                    for a, b in pairwise(found)
                    if f"{a} {b}" in text and a.lower() not in STOP and b.lower() not in STOP
                }
            )
            names.update({w for w in found[1:] if w[0].isupper() and not w.isupper()})
        # A rule's words name a topic: rare in news at large (the corpus is dense
        # with the pack's topics, so a word in a handful of its stories is common).
        self.vocabulary = set(words)
        self.words = sorted(w for w, n in words.items() if n <= 2 and w not in STOP)
        self.phrases = sorted(p for p, n in pairs.items() if n <= 2)
        self.names = sorted(w for w, n in names.items() if 2 <= n <= 8 and w.lower() not in STOP)
        # Stems and endings as people write them: most of a rare word (tariff*,
        # *zölle), and rare themselves.
        self.stems = _rare_parts(self.words, words, lambda w: w[:-2])
        backwards = Counter({w[::-1]: n for w, n in words.items()})
        ends = _rare_parts([w[::-1] for w in self.words], backwards, lambda w: w[:-2])
        self.endings = [e[::-1] for e in ends]

    def item(self, rng: random.Random, number: int) -> dict[str, str]:
        """A story of about ITEM_BYTES: a headline, a two-sentence summary and
        sentences of other stories as its body."""
        lang = rng.choices(self.langs, self.weights)[0]
        sentences = self.by_lang[lang]
        summary = " ".join(rng.sample(sentences, 2))
        content: list[str] = []
        size = len(summary.encode())
        while size < ITEM_BYTES - 120:
            sentence = rng.choice(sentences)
            content.append(sentence)
            size += len(sentence.encode()) + 1
        return {
            "id": f"item-{number}",
            "title": rng.choice(self.titles[lang]),
            "summary": summary,
            "content": " ".join(content),
            "feed": rng.choice(FEEDS),
        }


def _rare_parts(
    words: Sequence[str], counts: Mapping[str, int], part: Callable[[str], str]
) -> list[str]:
    """The starts (``part``) of long words that start few words of the corpus."""
    keys = sorted(counts)
    rare = []
    for word in words:
        if len(word) < 8:
            continue
        stem = part(word)
        lo, hi = bisect_left(keys, stem), bisect_left(keys, stem + "\uffff")
        if sum(counts[k] for k in keys[lo:hi]) <= 2:
            rare.append(stem)
    return rare


# ---------------------------------------------------------------- rules


class RuleWriter:
    """Rules in the shapes the shipped pack and the README use, over the
    corpus's vocabulary and the pack's entities."""

    def __init__(self, corpus: Corpus, rng: random.Random, pack_entities: Sequence[str]) -> None:
        self.c = corpus
        self.rng = rng
        self.pack_entities = list(pack_entities)
        self.entities = {
            f"Names{i}": rng.sample(corpus.names, rng.randint(3, 12)) for i in range(40)
        } | {f"Words{i}": [self.term() for _ in range(rng.randint(4, 20))] for i in range(40)}

    def word(self) -> str:
        return self.rng.choice(self.c.words)

    def unseen(self) -> str:
        """A name or word these stories never use (most of what a large rule
        set names is absent from any one day's news): syllables, as a company,
        place or surname would be, one word or two, maybe a prefix."""
        while True:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))
            if word not in self.c.vocabulary:
                break
        kind = self.rng.random()
        if kind < 0.5:
            return word.capitalize()
        if kind < 0.8:
            return f'"{word.capitalize()} {self.rng.choice(self.c.words).capitalize()}"'
        return word + "*"

    def term(self) -> str:
        kind = self.rng.random()
        if kind < UNSEEN:
            return self.unseen()
        kind = self.rng.random()
        if kind < 0.45:
            return self.word()
        if kind < 0.70:
            return f'"{self.rng.choice(self.c.phrases)}"'
        if kind < 0.90:
            return self.rng.choice(self.c.stems) + "*"
        if kind < 0.95:
            return "*" + self.rng.choice(self.c.endings)
        return self.rng.choice(self.c.names)

    def entity(self) -> str:
        if self.rng.random() < 0.3:
            return "@" + self.rng.choice(self.pack_entities)
        return "@" + self.rng.choice(list(self.entities))

    def group(self, low: int = 2, high: int = 5) -> str:
        return "(" + " OR ".join(self.term() for _ in range(self.rng.randint(low, high))) + ")"

    def rule(self, name: str) -> dict[str, object]:
        t, g, e = self.term, self.group, self.entity
        shape = self.rng.randrange(10)
        if shape == 0:
            return {"name": name, "any": [t() for _ in range(self.rng.randint(3, 8))]}
        if shape == 1:
            return {"name": name, "match": f"{e()} AND {g()}"}
        if shape == 2:
            return {
                "name": name,
                "any": [t() for _ in range(self.rng.randint(2, 5))],
                "all": [self.rng.choice([t(), e()])],
                "none": [t() for _ in range(self.rng.randint(1, 3))],
            }
        if shape == 3:
            return {"name": name, "match": f"{g()} AND {g()} AND NOT {g(1, 3)}"}
        if shape == 4:
            left = self.rng.choice([t(), e()])
            return {"name": name, "match": f"{left} NEAR/{self.rng.randint(3, 10)} {g(1, 3)}"}
        if shape == 5:
            return {"name": name, "match": f"title:{g()} AND ({t()} OR {e()})"}
        if shape == 6:
            return {"name": name, "match": f'"{self.rng.choice(self.c.phrases)}" {t()} -{t()}'}
        if shape == 7:
            return {"name": name, "match": f"{e()} AND {e()} AND {t()}", "notify": ["chat"]}
        if shape == 8:
            feed = self.rng.choice(["bbc", "nyt", "guardian", "scmp"])
            return {"name": name, "match": f"feed:{feed} AND {g()}"}
        return {"name": name, "match": f"({t()} OR {e()}) AND summary:{g(1, 3)}"}

    def files(self, n_rules: int) -> dict[str, str]:
        return {
            "bench-entities.yaml": yaml.safe_dump({"entities": self.entities}, allow_unicode=True),
            "bench-rules.yaml": yaml.safe_dump(
                {"rules": [self.rule(f"bench-{i}") for i in range(n_rules)]}, allow_unicode=True
            ),
        }


def rule_files(corpus: Corpus, n_rules: int, seed: int) -> dict[str, str]:
    """The shipped pack (four rules) and ``n_rules - 4`` generated ones."""
    pack = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in PACK.glob("*.yaml")}
    pack_rules = load_ruleset(pack)
    if n_rules <= len(pack_rules.rules):
        return pack
    writer = RuleWriter(corpus, random.Random(seed), sorted(pack_rules.entities))
    return pack | writer.files(n_rules - len(pack_rules.rules))


# ---------------------------------------------------------------- the regex loop


def _term_regex(term: Term) -> str:
    """A term as a regex on the raw text: whole words, case-insensitive (no
    accent or width folding), any non-word characters between its words;
    CJK characters with nothing between them."""
    if all(is_unspaced(w) for w in term.words):
        body = "".join(map(re.escape, term.words))
        return ("\\w*" if term.suffix else "") + body + ("\\w*" if term.prefix else "")
    body = r"\W+".join(map(re.escape, term.words))
    head = r"\w*" if term.suffix else r"\b"
    tail = r"\w*" if term.prefix else r"\b"
    return head + body + tail


def _alternatives(node: Node, entities: Mapping[str, Sequence[Term]]) -> list[str]:
    if isinstance(node, Term):
        return [_term_regex(node)]
    if isinstance(node, EntityRef):
        return [_term_regex(t) for t in entities[node.name]]
    assert isinstance(node, Or)
    return [alt for child in node.children for alt in _alternatives(child, entities)]


def rule_regex(
    node: Node, entities: Mapping[str, Sequence[Term]], scope: Sequence[str] = DEFAULT_FIELDS
) -> str:
    """One regex for a whole rule, matched at the start of an item written as
    ``\\x02field\\x03text`` for each field: every condition is a lookahead over
    the item, in the fields its scope names."""
    fields = "\x02(?:" + "|".join(scope) + ")\x03[^\x02]*?"
    if isinstance(node, Term | EntityRef):
        return f"(?=[\\s\\S]*?{fields}(?:{'|'.join(_alternatives(node, entities))}))"
    if isinstance(node, Field):
        return rule_regex(node.child, entities, (node.field,))
    if isinstance(node, And):
        return "".join(rule_regex(c, entities, scope) for c in node.children)
    if isinstance(node, Or):
        return "(?:" + "|".join(rule_regex(c, entities, scope) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"(?!{rule_regex(node.child, entities, scope)})"
    assert isinstance(node, Near)
    left = "(?:" + "|".join(_alternatives(node.left, entities)) + ")"
    right = "(?:" + "|".join(_alternatives(node.right, entities)) + ")"
    gap = f"(?:\\W+\\w+){{0,{node.distance}}}?\\W+"
    return f"(?=[\\s\\S]*?{fields}(?:{left}{gap}{right}|{right}{gap}{left}))"


def regex_document(item: Mapping[str, str]) -> str:
    return "".join(f"\x02{f}\x03{item.get(f) or ''}" for f in FIELDS)


def _entity_terms(rules_dir: Path) -> tuple[list[Rule], dict[str, tuple[Term, ...]]]:
    files = [
        parse_rule_file(p.read_text(encoding="utf-8"), str(p))
        for p in sorted(rules_dir.glob("*.yaml"))
    ]
    entities = {e.name: e.terms for f in files for e in f.entities}
    return [r for f in files for r in f.rules], entities


def regex_loop(rules_dir: Path, items_file: Path, limit: int | None) -> None:
    """The baseline, run as its own process: every rule as one compiled regex,
    tried on every item; one JSON line out per item (the rules that match)."""
    rules, entities = _entity_terms(rules_dir)
    compiled = [(r.name, re.compile(rule_regex(r.expr, entities), re.IGNORECASE)) for r in rules]
    out = sys.stdout
    with items_file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if limit is not None and number >= limit:
                break
            item = json.loads(line)
            doc = regex_document(item)
            names = [name for name, pattern in compiled if pattern.match(doc)]
            out.write(json.dumps({"id": item.get("id"), "rules": names}) + "\n")


# ---------------------------------------------------------------- measuring


def reference_names(ruleset: RuleSet, item: Mapping[str, str]) -> list[str]:
    docs = documents(item)
    return [r.name for r in ruleset.rules if evaluate_documents(r.expr, ruleset.entities, docs)]


@dataclass
class Row:
    rules: int
    compile_s: float
    items_per_s: float  # RuleSet.match, one core (CPU time)
    alerts_per_s: float  # and every match's terms, spans and snippet
    matches_per_item: float
    regex_per_s: float
    regex_items: int

    @property
    def ratio(self) -> float:
        return self.items_per_s / self.regex_per_s


def _cpu(action: Callable[[], object]) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def _regex_rate(
    ruleset: RuleSet, items: Sequence[Mapping[str, str]], budget: float
) -> tuple[float, int]:
    """Items per CPU second of the regex loop, on as many items as ``budget``
    seconds allow (at least one)."""
    entities = {name: ruleset.entity(name).terms for name in ruleset.entities}  # type: ignore[union-attr]
    compiled = [re.compile(rule_regex(r.expr, entities), re.IGNORECASE) for r in ruleset.rules]
    spent, done = 0.0, 0
    for item in items:
        doc = regex_document(item)
        spent += _cpu(lambda doc=doc: [p.match(doc) for p in compiled])  # type: ignore[misc]
        done += 1
        if spent >= budget:
            break
    return done / spent, done


def measure(
    corpus: Corpus, n_rules: int, items: Sequence[Mapping[str, str]], args: argparse.Namespace
) -> Row:
    files = rule_files(corpus, n_rules, args.seed)
    start = time.process_time()
    ruleset = load_ruleset(files)
    compile_s = time.process_time() - start

    # The speed is of right answers: items checked against the reference
    # evaluator of the tests (slow: as many as a few seconds allow).
    spent = 0.0
    for number, item in enumerate(items[: args.check]):
        start = time.process_time()
        if [m.rule.name for m in ruleset.match(item)] != reference_names(ruleset, item):
            sys.exit(f"{n_rules} rules: the matcher and the reference disagree on item {number}")
        spent += time.process_time() - start
        if spent > args.check_budget:
            break

    counts: list[int] = []
    match_s = min(
        _cpu(lambda: counts.append(sum(len(ruleset.match(item)) for item in items)))
        for _ in range(args.rounds)
    )
    alerts_s = _cpu(lambda: [[m.fired(item) for m in ruleset.match(item)] for item in items])
    regex_rate, regex_items = _regex_rate(ruleset, items, args.regex_budget)
    return Row(
        rules=len(ruleset.rules),
        compile_s=compile_s,
        items_per_s=len(items) / match_s,
        alerts_per_s=len(items) / alerts_s,
        matches_per_item=counts[0] / len(items),
        regex_per_s=regex_rate,
        regex_items=regex_items,
    )


@dataclass
class Command:
    items: int
    rules: int
    newsmon_wall: float
    newsmon_cpu: float
    regex_start_wall: float
    regex_item_wall: float  # per item, past start-up
    regex_items: int

    @property
    def regex_wall(self) -> float:
        """The regex loop over every item: start-up plus the per-item time."""
        return self.regex_start_wall + self.regex_item_wall * self.items

    @property
    def ratio(self) -> float:
        return self.regex_wall / self.newsmon_wall


def _run(argv: Sequence[str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process, start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with out.open("w") as sink:
        subprocess.run(argv, stdout=sink, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure_command(corpus: Corpus, args: argparse.Namespace) -> Command:
    """``newsmon match`` against the regex loop, each a process of its own,
    over the same JSON-lines file and rule directory."""
    with tempfile.TemporaryDirectory(prefix="bench-matcher-") as tmp:
        root = Path(tmp)
        (root / "rules").mkdir()
        for name, text in rule_files(corpus, args.command_rules, args.seed).items():
            (root / "rules" / Path(name).name).write_text(text, encoding="utf-8")
        (root / "config").mkdir()
        config = root / "config" / "monitor.yaml"
        config.write_text("feeds: []\nrules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n")
        rng = random.Random(args.seed + 1)
        items_file = root / "items.jsonl"
        with items_file.open("w", encoding="utf-8") as out:
            for number in range(args.command_items):
                out.write(json.dumps(corpus.item(rng, number), ensure_ascii=False) + "\n")

        newsmon = [sys.executable, "-m", "monitor", "--log-level", "WARNING", "match"]
        wall, cpu = _run(
            [*newsmon, "--config", str(config), "--input", str(items_file)], root / "out"
        )
        lines = (root / "out").read_text(encoding="utf-8").splitlines()
        assert len(lines) == args.command_items, "newsmon match wrote a line per item"

        loop = [sys.executable, __file__, "--regex-loop", str(root / "rules"), str(items_file)]
        start_wall, _ = _run([*loop, "--limit", "0"], root / "regex-none")
        sample_wall, _ = _run([*loop, "--limit", str(args.command_regex_items)], root / "regex")
        return Command(
            items=args.command_items,
            rules=args.command_rules,
            newsmon_wall=wall,
            newsmon_cpu=cpu,
            regex_start_wall=start_wall,
            regex_item_wall=max(sample_wall - start_wall, 0.0) / args.command_regex_items,
            regex_items=args.command_regex_items,
        )


# ---------------------------------------------------------------- the table


def report(rows: Sequence[Row], command: Command | None, items: int, item_bytes: float) -> str:
    lines = [
        f"matcher, one core (CPU time), {items:,} items of {item_bytes:,.0f} bytes on average",
        "",
        "| rules | compile | items/s | with spans, snippets | matches/item "
        "| regex loop items/s | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.rules:,} | {r.compile_s:.2f} s | {r.items_per_s:,.0f} | {r.alerts_per_s:,.0f} "
            f"| {r.matches_per_item:.1f} | {r.regex_per_s:,.2f} ({r.regex_items} items) "
            f"| {r.ratio:,.0f}x |"
        )
    if command is not None:
        c = command
        lines += [
            "",
            f"newsmon match --input FILE, {c.items:,} items, {c.rules:,} rules, "
            "process start to exit (wall clock):",
            f"  newsmon match  {c.newsmon_wall:6.2f} s  ({c.items / c.newsmon_wall:,.0f} items/s; "
            f"CPU {c.newsmon_cpu:.2f} s)",
            f"  regex loop     {c.regex_wall:6.1f} s  (start-up {c.regex_start_wall:.2f} s + "
            f"{c.regex_item_wall:.3f} s an item, measured on {c.regex_items} items)",
            f"  ratio          {c.ratio:,.0f}x",
        ]
    return "\n".join(lines)


Target = tuple[str, bool | None, str]  # name, met (None: not judged), measured


def targets(rows: Sequence[Row], command: Command | None, judged: bool) -> list[Target]:
    """The issue's targets, as benchmarks/run_all.py summarises them."""
    found: list[Target] = []
    for rules, wanted in ((1000, 10_000), (10_000, 5_000)):
        for row in rows:
            if row.rules == rules:
                found.append(
                    (
                        f"matcher alone, {rules:,} rules, one core: >= {wanted:,} items/s",
                        row.items_per_s >= wanted if judged else None,
                        f"{row.items_per_s:,.0f} items/s",
                    )
                )
    if command is not None:
        found.append(
            (
                f"newsmon match, {command.items:,} items, {command.rules:,} rules, start-up "
                "included: >= 100x the regex loop",
                command.ratio >= 100 if judged else None,
                f"{command.ratio:,.0f}x "
                f"({command.newsmon_wall:.1f} s vs {command.regex_wall:.0f} s)",
            )
        )
    return found


def main(argv: Sequence[str] | None = None) -> list[Target]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer items, shorter samples")
    parser.add_argument("--rules", default="10,100,1000,10000", help="rule counts, comma-separated")
    parser.add_argument("--items", type=int, default=None, help="items per rule count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-command", action="store_true", help="skip newsmon match")
    parser.add_argument(
        "--regex-loop", nargs=2, metavar=("RULES_DIR", "ITEMS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.regex_loop:
        regex_loop(Path(args.regex_loop[0]), Path(args.regex_loop[1]), args.limit)
        return []
    quick = args.quick
    args.items = args.items or (1000 if quick else 5000)
    args.rounds = 1 if quick else 3
    args.check = 5 if quick else 20  # items checked against the reference evaluator
    args.check_budget = 2.0 if quick else 8.0  # and CPU seconds for that, per rule count
    args.regex_budget = 2.0 if quick else 10.0  # CPU seconds of the regex loop per rule count
    args.command_items, args.command_rules = 5000, 1000
    args.command_regex_items = 10 if quick else 50

    corpus = Corpus()
    rng = random.Random(args.seed)
    items = [corpus.item(rng, number) for number in range(args.items)]
    item_bytes = sum(
        len(i["title"].encode()) + len(i["summary"].encode()) + len(i["content"].encode())
        for i in items
    ) / len(items)
    rows = []
    for n_rules in (int(n) for n in args.rules.split(",")):
        rows.append(measure(corpus, n_rules, items, args))
        print(f"  measured {rows[-1].rules:,} rules", file=sys.stderr, flush=True)
    command = None if args.no_command else measure_command(corpus, args)
    print(report(rows, command, len(items), item_bytes))
    return targets(rows, command, judged=not quick)


if __name__ == "__main__":
    main()
