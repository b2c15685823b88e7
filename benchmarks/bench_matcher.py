"""Matcher throughput: a generated rule set against generated items.

Builds a few thousand rules of every shape (words, phrases, prefixes, NOT,
NEAR, entities, field scopes) over a Zipf-like vocabulary, matches generated
news items with the compiled RuleSet, and compares with the plain reference
evaluator of the tests (every rule tried on every item, words split once per
item). The reference runs on a sample, whose results must agree.

    .venv/bin/python benchmarks/bench_matcher.py [--rules 2000] [--items 5000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from itertools import accumulate
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core.rules import RuleSet, load_ruleset  # noqa: E402
from tests.core.reference import documents, evaluate_documents  # noqa: E402

SYLLABLES = ["ka", "ri", "to", "mu", "sen", "lo", "va", "de", "chi", "zu", "na", "pe", "ro"]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


class Generator:
    def __init__(self, seed: int, vocab_size: int = 20000) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocabulary(self.rng, vocab_size)
        self.rng.shuffle(self.vocab)  # rank by frequency, not by spelling
        # Prefixes are stems of rare words, as "tariff*" is in a real vocabulary.
        common = self.vocab[:1000]
        self.stems = [w for w in self.vocab[1000:5000] if not any(c.startswith(w) for c in common)]
        # Zipf-like weights: a few words are everywhere, most are rare.
        self.cum_weights = list(accumulate(1.0 / (rank + 1) for rank in range(len(self.vocab))))

    def word(self) -> str:
        return self.rng.choices(self.vocab, cum_weights=self.cum_weights)[0]

    def rare(self) -> str:
        return self.rng.choice(self.vocab[300:])

    def text(self, n: int) -> str:
        words = [self.word() for _ in range(n)]
        for i in range(0, n, self.rng.randint(8, 15)):
            words[i] = words[i].capitalize()
        return " ".join(words) + "."

    def term(self) -> str:
        kind = self.rng.random()
        if kind < 0.5:
            return self.rare()
        if kind < 0.7:
            return f'"{self.rare()} {self.word()}"'
        if kind < 0.85:
            return self.rng.choice(self.stems) + "*"
        return f"@E{self.rng.randrange(self.entities)}"

    entities = 60

    def query(self) -> str:
        shape = self.rng.randrange(6)
        t = self.term
        if shape == 0:
            return f"{t()} AND ({t()} OR {t()} OR {t()})"
        if shape == 1:
            return f"{t()} {t()} -{t()}"
        if shape == 2:
            return f"{t()} NEAR/{self.rng.randint(1, 8)} ({t()} OR {t()})"
        if shape == 3:
            return f"title:({t()} OR {t()}) AND summary:{t()}"
        if shape == 4:
            return f"({t()} OR {t()}) AND NOT {t()}"
        return f"{t()} OR {t()}"

    def rule_files(self, n_rules: int) -> dict[str, str]:
        entities = {
            f"E{i}": [self.rare() for _ in range(self.rng.randint(2, 5))]
            for i in range(self.entities)
        }
        rules = [{"name": f"rule-{i}", "match": self.query()} for i in range(n_rules)]
        return {
            "entities.yaml": yaml.safe_dump({"entities": entities}),
            "rules.yaml": yaml.safe_dump({"rules": rules}),
        }

    def item(self) -> dict[str, str]:
        return {
            "title": self.text(self.rng.randint(6, 12)),
            "summary": self.text(self.rng.randint(25, 60)),
            "content": self.text(self.rng.randint(60, 200)),
            "feed": "Example World https://example.org/world.rss",
        }


def reference_names(ruleset: RuleSet, item: dict[str, str]) -> list[str]:
    docs = documents(item)
    return [r.name for r in ruleset.rules if evaluate_documents(r.expr, ruleset.entities, docs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--reference-items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    gen = Generator(args.seed)
    files = gen.rule_files(args.rules)
    items = [gen.item() for _ in range(args.items)]

    t0 = time.perf_counter()
    ruleset = load_ruleset(files)
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = [ruleset.match(item) for item in items]
    match_s = time.perf_counter() - t0
    matched = sum(len(r) for r in results)

    sample = items[: args.reference_items]
    t0 = time.perf_counter()
    expected = [reference_names(ruleset, item) for item in sample]
    reference_s = time.perf_counter() - t0
    for item_no, (want, got) in enumerate(zip(expected, results, strict=False)):
        if want != [m.rule.name for m in got]:
            sys.exit(f"disagreement with the reference on item {item_no}")

    fast = len(items) / match_s
    slow = len(sample) / reference_s
    print(f"rules: {len(ruleset.rules)}, items: {len(items)}, seed: {args.seed}")
    print(f"compile: {compile_s * 1000:.0f} ms (parse + automaton)")
    print(f"matcher: {fast:,.0f} items/s ({matched / len(items):.2f} matches per item)")
    print(f"reference: {slow:,.1f} items/s on {len(sample)} items (agrees)")
    print(f"ratio: {fast / slow:,.0f}x")


if __name__ == "__main__":
    main()
