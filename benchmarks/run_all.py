"""Every benchmark, one after another, and a summary against the issue's targets.

Runs each benchmark's ``main`` in turn (its own numbers and ratios printed as
it goes), then a summary: the targets each one returned (as
``benchmarks._harness.Target``: met / NOT met), and for the others that they
ran or why they failed. One failing benchmark does not stop the others; the
exit code is 1 when one failed.

bench_pipeline's Kafka modes and bench_store's PostgreSQL half need the broker
and the database: like scripts/test, this starts them when they are not
running (scripts/kafka, scripts/postgres) and stops what it started; without
them those parts are skipped. ``--quick`` runs each benchmark at a small size,
embedded and SQLite only, as a smoke check of the benchmarks themselves (a few
minutes): its numbers mean little.

    scripts/bench                                   # the same as:
    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import ROOT, Target


@dataclass(frozen=True)
class Bench:
    """A benchmark and the runs of it: one argument list per run."""

    name: str  # its module in benchmarks/
    full: tuple[tuple[str, ...], ...] = ((),)
    quick: tuple[tuple[str, ...], ...] = ((),)
    services: tuple[str, ...] = ()  # scripts/<service> it needs for a full run
    without_services: tuple[str, ...] = ()  # added to its arguments when they are missing


BENCHES = (
    Bench("bench_matcher", quick=(("--quick",),)),
    Bench("bench_fetch", quick=(("--feeds", "20", "--items", "10", "--rounds", "1"),)),
    Bench(
        "bench_pipeline",
        quick=(("--feeds", "10", "--items", "10", "--skip-kafka"),),
        services=("kafka", "postgres"),
        without_services=("--skip-kafka",),
    ),
    Bench("bench_stories", quick=(("--stories", "1000", "--items", "200"),)),
    Bench(
        "bench_store",
        quick=(("--items", "200", "--backend", "sqlite"),),
        services=("postgres",),
        without_services=("--backend", "sqlite"),
    ),
    Bench(
        "bench_ingest",
        # the scenario, then its large warm case
        full=((), ("--feeds", "10000", "--items", "1")),
        quick=(("--feeds", "10", "--items", "5"),),
    ),
    Bench("bench_startup", quick=(("--feeds", "20", "--rounds", "1"),)),
    Bench(
        "bench_latency",
        quick=(("--feeds", "20", "--duration", "5", "--warmup", "2", "--drain", "15"),),
    ),
    Bench("bench_polling", quick=(("--feeds", "40", "--days", "1"),)),
    Bench("bench_memory", quick=(("--quick",),)),
    Bench("bench_websub", quick=(("--pushes", "5", "--polls", "3", "--interval", "1s"),)),
)


@dataclass
class Outcome:
    bench: str
    argv: tuple[str, ...]
    seconds: float
    targets: list[Target] = field(default_factory=list)
    error: str | None = None


def call_main(module: Any, argv: Sequence[str]) -> Any:
    """``module.main(argv)``; a main that takes no arguments reads sys.argv."""
    if inspect.signature(module.main).parameters:
        return module.main(list(argv))
    saved = sys.argv
    sys.argv = [str(Path(module.__file__).name), *argv]
    try:
        return module.main()
    finally:
        sys.argv = saved


def _targets(returned: Any) -> list[Target]:
    """What a main returned, as targets: Target, or (name, met, measured) tuples."""
    if not isinstance(returned, list):
        return []
    found = []
    for entry in returned:
        if isinstance(entry, Target):
            found.append(entry)
        elif isinstance(entry, tuple) and len(entry) == 3:
            found.append(Target(str(entry[0]), entry[1], str(entry[2])))
    return found


def run(bench: Bench, argv: tuple[str, ...]) -> Outcome:
    shown = " ".join(argv)
    print(f"\n{'=' * 78}\n{bench.name} {shown}\n{'=' * 78}", flush=True)
    start = time.monotonic()
    outcome = Outcome(bench.name, argv, 0.0)
    try:
        module = importlib.import_module(f"benchmarks.{bench.name}")
        outcome.targets = _targets(call_main(module, argv))
    except SystemExit as exc:
        if exc.code not in (None, 0):
            outcome.error = str(exc.code)
    except Exception as exc:  # one broken benchmark must not stop the others
        traceback.print_exc()
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.seconds = time.monotonic() - start
    sys.stdout.flush()
    return outcome


@contextlib.contextmanager
def services(names: set[str]) -> Iterator[set[str]]:
    """The services that are up: started here when they were not (and stopped
    at the end), as scripts/test does."""
    up, started = set(), []
    for name in sorted(names):
        script = str(ROOT / "scripts" / name)
        if subprocess.run([script, "status"], capture_output=True, check=False).returncode == 0:
            up.add(name)
            continue
        print(f"starting {name} (scripts/{name} start) ...", flush=True)
        if subprocess.run([script, "start"], check=False).returncode == 0:
            up.add(name)
            started.append(name)
        else:
            print(f"run_all: {name} is not available; what needs it is skipped", flush=True)
    try:
        yield up
    finally:
        for name in started:
            subprocess.run([str(ROOT / "scripts" / name), "stop"], check=False)


def summary(outcomes: list[Outcome], quick: bool) -> None:
    print(f"\n{'=' * 78}\nsummary (the machine is shared: read ratios before absolute numbers)")
    if quick:
        print("--quick: small sizes, so the verdicts below are not the issue's")
    print("=" * 78)
    for o in outcomes:
        head = f"{o.bench} {' '.join(o.argv)}".strip()
        if o.error is not None:
            print(f"{head}: FAILED ({o.seconds:.0f}s): {o.error.splitlines()[-1][:200]}")
            continue
        print(f"{head} ({o.seconds:.0f}s)" + ("" if o.targets else ": ran, numbers above"))
        for target in o.targets:
            print(f"  {target}")
    judged = [t for o in outcomes for t in o.targets if t.met is not None]
    failed = sum(o.error is not None for o in outcomes)
    print(
        f"\ntargets met: {sum(bool(t.met) for t in judged)} of {len(judged)}"
        + (f"; {failed} benchmark run(s) failed" if failed else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these benchmarks")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="all but these")
    args = parser.parse_args(argv)
    known = {b.name for b in BENCHES}
    for name in [*(args.only or []), *args.skip]:
        if name not in known:
            parser.error(f"no benchmark {name!r}; known: {', '.join(sorted(known))}")
    chosen = [
        b
        for b in BENCHES
        if (args.only is None or b.name in args.only)
        and b.name not in args.skip
        # written by others, maybe not there yet
        and (ROOT / "benchmarks" / f"{b.name}.py").exists()
    ]
    needed = set() if args.quick else {s for b in chosen for s in b.services}
    outcomes = []
    with services(needed) as up:
        for bench in chosen:
            runs = bench.quick if args.quick else bench.full
            missing = not args.quick and not set(bench.services) <= up
            for arguments in runs:
                extra = bench.without_services if missing else ()
                outcomes.append(run(bench, arguments + extra))
    summary(outcomes, args.quick)
    return 1 if any(o.error is not None for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
