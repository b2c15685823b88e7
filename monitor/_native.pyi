# The native module's interface (native/src/lib.rs): see monitor/core/text.py
# and monitor/core/rules/scanning.py for what uses it and how.

from collections.abc import Collection, Iterator

UNIDATA_VERSION: str

def stream(text: str) -> str | None: ...
def spans(text: str) -> list[tuple[int, int]] | None: ...

class Hits(Collection[tuple[int, int, int]]):
    def __len__(self) -> int: ...
    def __contains__(self, hit: object) -> bool: ...
    def __iter__(self) -> Iterator[tuple[int, int, int]]: ...
    def __getitem__(self, index: int) -> tuple[int, int, int]: ...

class Automaton:
    def __init__(self, keys: list[str]) -> None: ...
    def scan_text(self, text: str) -> tuple[str, Hits, set[int]] | None: ...
    def scan_stream(self, stream: str) -> tuple[Hits, set[int]]: ...

# An evaluator node: (kind, view, distance, term ids, right term ids, children).
_Node = tuple[int, int, int, list[int], list[int], list[_Node]]

class Rules:
    def __init__(
        self,
        trees: list[_Node],
        first: list[tuple[int, int, list[int]]],
        then: list[tuple[int, list[int]]],
        exact: list[bool],
        always: list[int],
        lengths: list[int],
    ) -> None: ...
    # hits: each a Hits of this module (a scan's), or None
    def fire(
        self, hits: list[Collection[tuple[int, int, int]] | None], streams: list[str | None]
    ) -> list[int]: ...
