"""The `reader` library on the benchmark's feeds, in a process of its own (as
``newsmon run`` is), so both pay for their start and neither shares a GIL with
the measurement.

    python benchmarks/_reader.py DB URLS_FILE WORKERS ROUNDS

Adds every URL of URLS_FILE (one a line) to a new reader database, then for
each round waits for a line on stdin (the caller resets its counters) and runs
``update_feeds(workers=WORKERS, scheduled=False)`` (every feed, due or not:
reader's own schedule would skip feeds updated within the hour), printing one
JSON line: the round's start and end on the monotonic clock, and the entries
stored.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    db, urls_file, workers, rounds = argv[0], argv[1], int(argv[2]), int(argv[3])
    from reader import make_reader  # imported here: its import time is part of the run

    reader = make_reader(db)
    with open(urls_file, encoding="utf-8") as urls:
        for url in urls:
            if url.strip():
                reader.add_feed(url.strip())
    print(json.dumps({"ready": time.monotonic()}), flush=True)
    for _ in range(rounds):
        sys.stdin.readline()
        start = time.monotonic()
        reader.update_feeds(workers=workers, scheduled=False)
        end = time.monotonic()
        entries = reader.get_entry_counts().total
        print(json.dumps({"start": start, "end": end, "entries": entries}), flush=True)
    reader.close()


if __name__ == "__main__":
    main(sys.argv[1:])
