"""Stories: the same news from several outlets, recognised so it alerts once.

Wire copy travels: one AP or Reuters story is printed by dozens of papers, each
with its own headline, some trimming the text, some adding a sentence, some
rewriting it. Two items are the same *story* when

1. their canonical links are equal (two feeds carrying the very same page,
   whatever the titles say), or
2. their title and summary are near-duplicates: the Jaccard similarity of
   their shingle sets, estimated by MinHash, is at least the threshold.

Shingles are the folded words of ``monitor.core.text`` (case, accents and
possessives folded) with stop words, wire credits ("(AP)", "Reuters") and
single letters left out, taken one and two at a time; two-word shingles keep
word order, so two stories that share a topic's vocabulary but not its
sentences stay apart. Title and summary are shingled separately, and only the
first ``SUMMARY_WORDS`` words of the summary count: wire copy agrees in its
lede, while a feed that carries the whole article in its summary would
otherwise drown the lede it shares with everyone else.

``DEFAULT_THRESHOLD`` was chosen from ``tests/data/stories.yaml``: labelled
stories in every shape above, with hard negatives (different stories on the
same topic the same day). Every copy there scores at least 0.39 against the
copy closest to it (a page that changed under the same link aside), and no
two different stories score more than 0.23 (the closest: Starliner's launch
and the cargo flight delayed for it, France's EU vote result and Macron's
snap election), so any threshold from 0.24 to 0.39 clusters the set exactly;
0.30 leaves room on both sides.

Independent write-ups of one event by different wires (AP's and Reuters' own
ledes) often score below the threshold and stay separate stories: telling
them from other news on the same topic needs more than word overlap.

``StoryIndex`` holds the stories seen within a window (24 h by default) and
answers which one a new item joins. Time is a parameter: nothing here reads a
clock. Signatures serialise to bytes (``to_bytes``/``from_bytes``) so a store
can persist them and rebuild the index after a restart.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.core.text import words

__all__ = [
    "DEFAULT_NUM_PERM",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "SIGNATURE_VERSION",
    "SUMMARY_WORDS",
    "StoryEntry",
    "StoryIndex",
    "StoryRow",
    "StorySignature",
    "StorySource",
    "shingles",
    "signature",
]

DEFAULT_NUM_PERM = 128
DEFAULT_THRESHOLD = 0.30
DEFAULT_WINDOW = timedelta(hours=24)
SUMMARY_WORDS = 60

# Bump when anything that changes a signature changes (shingling, stop words,
# seed, hash scheme): signatures of different versions are never compared.
SIGNATURE_VERSION = 1
_SEED = 20240523
_MAX_HASH = np.uint32(0xFFFFFFFF)
_HEADER = struct.Struct("<BI")  # version, number of shingles

# Words that carry no story: function words, reporting verbs, and the wire
# credits of datelines ("BEIJING (AP) —"), which say who wrote a story, not
# what it is about.
_STOP_TEXT = """
    a about above after again against all also amid an and any are as at be been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there these they
    this those through to too under until up very was we were what when where which while
    who whom whose why will with would you your yours
    says said say told tells tell according
    ap afp reuters upi
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def shingles(title: str, summary: str) -> frozenset[str]:
    """The shingles a story's signature is made of (see the module docstring)."""
    found: set[str] = set()
    for text_words in (words(title), words(summary)[:SUMMARY_WORDS]):
        kept = [w for w in text_words if w not in _STOP_WORDS and (len(w) > 1 or w.isdigit())]
        found.update(kept)
        found.update(f"{a} {b}" for a, b in pairwise(kept))
    return frozenset(found)


@dataclass(frozen=True, slots=True, eq=False)
class StorySignature:
    """A MinHash of a story's shingles: ``num_perm`` 32-bit values.

    ``size`` is the number of distinct shingles; a signature of size 0 (no
    words worth comparing) is similar to nothing, not even to itself.
    """

    hashvalues: npt.NDArray[np.uint32]
    size: int

    @property
    def num_perm(self) -> int:
        return len(self.hashvalues)

    @property
    def empty(self) -> bool:
        return self.size == 0

    def jaccard(self, other: StorySignature) -> float:
        """The MinHash estimate of the Jaccard similarity of the two shingle sets."""
        if other.num_perm != self.num_perm:
            raise ValueError(f"cannot compare signatures of {self.num_perm} and {other.num_perm}")
        if self.empty or other.empty:
            return 0.0
        return int(np.count_nonzero(self.hashvalues == other.hashvalues)) / self.num_perm

    def to_bytes(self) -> bytes:
        """Version byte, shingle count, then the values (all little-endian)."""
        values = self.hashvalues.astype("<u4", copy=False).tobytes()
        return _HEADER.pack(SIGNATURE_VERSION, self.size) + values

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        """The signature ``to_bytes`` wrote; ``ValueError`` for anything else,
        including a signature of another ``SIGNATURE_VERSION``."""
        if len(data) <= _HEADER.size or (len(data) - _HEADER.size) % 4:
            raise ValueError(f"not a story signature: {len(data)} bytes")
        version, size = _HEADER.unpack_from(data)
        if version != SIGNATURE_VERSION:
            raise ValueError(
                f"story signature version {version}, expected {SIGNATURE_VERSION}: recompute it"
            )
        values = np.frombuffer(data, dtype="<u4", offset=_HEADER.size).astype(np.uint32)
        return cls._of(values, size)

    @classmethod
    def _of(cls, values: npt.NDArray[np.uint32], size: int) -> StorySignature:
        values.flags.writeable = False
        return cls(values, size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return self.size == other.size and bool(np.array_equal(self.hashvalues, other.hashvalues))

    def __hash__(self) -> int:
        return hash((self.size, self.hashvalues.tobytes()))

    def __repr__(self) -> str:
        return f"StorySignature(num_perm={self.num_perm}, size={self.size})"


@lru_cache(maxsize=8)
def _template(num_perm: int) -> Any:
    """A MinHash whose permutations every signature of this width shares.

    datasketch is imported here, on first use, rather than with this module:
    it brings scipy and its start-up cost and, through its package
    ``__init__``, its asyncio-based Redis index, none of which a command that
    never clusters stories should pay for.
    """
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=_SEED, scheme="affine32")


def signature(title: str, summary: str, *, num_perm: int = DEFAULT_NUM_PERM) -> StorySignature:
    """The MinHash signature of a story's title and summary.

    Deterministic: the same text gives the same signature in every process
    and after every restart (fixed seed, SHA-1 based hashing).
    """
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, not {num_perm}")
    found = shingles(title, summary)
    if not found:
        return StorySignature._of(np.full(num_perm, _MAX_HASH, dtype=np.uint32), 0)
    from datasketch import MinHash

    template = _template(num_perm)
    minhash = MinHash(
        num_perm=num_perm, seed=_SEED, scheme="affine32", permutations=template.permutations
    )
    minhash.update_batch([s.encode("utf-8") for s in found])
    values: npt.NDArray[np.uint32] = np.array(minhash.hashvalues, dtype=np.uint32)
    return StorySignature._of(values, len(found))


def _timestamp(at: datetime, name: str) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {at!r}")
    return at.timestamp()


class StoryIndex:
    """The stories seen within a time window, by signature and by link.

    Each ``add`` is one entry: an item and the story it belongs to. Later
    copies of a story are added under the story's id too, so a new item can
    join a story through whichever copy it resembles most. An entry can be
    joined while ``now < at + window``.

    The index compares a new signature with every entry in the window at
    once (a vectorised count of equal MinHash values) rather than through
    LSH buckets: at a Jaccard threshold this low, LSH needs many narrow bands
    to find near-duplicates reliably, which costs tens of kilobytes per entry,
    while the scan costs well under a kilobyte and about half a millisecond per
    10,000 entries (see ``benchmarks/bench_stories.py``), and it never misses a
    candidate.
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window: timedelta = DEFAULT_WINDOW,
        num_perm: int = DEFAULT_NUM_PERM,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, not {window}")
        if num_perm < 1:
            raise ValueError(f"num_perm must be positive, not {num_perm}")
        self.threshold = threshold
        self.window = window
        self.num_perm = num_perm
        # Equal values needed out of num_perm; the epsilon keeps 0.3 * 100 at 30.
        self._need = max(1, math.ceil(threshold * num_perm - 1e-9))
        self._window_s = window.total_seconds()
        capacity = 64
        self._sigs = np.empty((capacity, num_perm), dtype=np.uint32)
        # The low byte of each value, one row per permutation: counting equal
        # bytes down the columns is what numpy does fastest.
        self._low = np.empty((num_perm, capacity), dtype=np.uint8)
        self._at = np.empty(capacity, dtype=np.float64)
        self._alive = np.zeros(capacity, dtype=np.bool_)
        self._comparable = np.zeros(capacity, dtype=np.bool_)  # alive, with shingles
        self._story: list[str | None] = []
        self._link: list[str] = []
        self._by_link: dict[str, int] = {}  # link -> the row carrying it seen last
        self._rows = 0  # rows in use, alive or not
        self._live = 0

    def __len__(self) -> int:
        """The number of entries (items) held."""
        return self._live

    def add(self, story_id: str, sig: StorySignature, link: str, at: datetime) -> None:
        """Record that the item with this signature and link, seen at ``at``,
        belongs to ``story_id``."""
        self._check(sig)
        stamp = _timestamp(at, "at")
        if self._rows == len(self._at):
            self._make_room()
        row = self._rows
        self._sigs[row] = sig.hashvalues
        self._low[:, row] = sig.hashvalues.astype(np.uint8)
        self._at[row] = stamp
        self._alive[row] = True
        self._comparable[row] = not sig.empty
        self._story.append(story_id)
        self._link.append(link)
        if link:
            current = self._by_link.get(link)
            if current is None or self._at[current] <= stamp:
                self._by_link[link] = row
        self._rows += 1
        self._live += 1

    def find(self, sig: StorySignature, link: str, now: datetime) -> str | None:
        """The id of the story an item joins, or None when it is a new story.

        An equal canonical link wins; otherwise the entry whose estimated
        Jaccard similarity is highest and at least the threshold (the
        earliest such entry on a tie).
        """
        self._check(sig)
        cutoff = _timestamp(now, "now") - self._window_s
        if link:
            row = self._by_link.get(link)
            if row is not None and self._at[row] > cutoff:
                return self._story[row]
        if sig.empty or not self._rows:
            return None
        n = self._rows
        # The low bytes of equal values are equal, so counting equal low bytes
        # over every entry finds every entry that can reach the threshold while
        # reading a quarter of the memory; full values then decide.
        low_equal = self._low[:, :n] == sig.hashvalues.astype(np.uint8)[:, np.newaxis]
        near = low_equal.view(np.int8).sum(axis=0, dtype=np.int16) >= self._need
        rows = np.flatnonzero(near & self._comparable[:n] & (self._at[:n] > cutoff))
        if not len(rows):
            return None
        equal = np.count_nonzero(self._sigs[rows] == sig.hashvalues, axis=1)
        best = int(np.argmax(equal))  # the earliest of the best, rows being in order
        if equal[best] < self._need:
            return None
        return self._story[int(rows[best])]

    def expire(self, now: datetime) -> int:
        """Drop the entries that can no longer be joined; returns how many."""
        cutoff = _timestamp(now, "now") - self._window_s
        n = self._rows
        stale = np.flatnonzero(self._alive[:n] & (self._at[:n] <= cutoff))
        for row in stale.tolist():
            link = self._link[row]
            if link and self._by_link.get(link) == row:
                del self._by_link[link]
            self._story[row] = None
        self._alive[stale] = False
        self._comparable[stale] = False
        self._live -= len(stale)
        if self._rows - self._live > self._rows // 2:
            self._compact()
        return len(stale)

    def _check(self, sig: StorySignature) -> None:
        if sig.num_perm != self.num_perm:
            raise ValueError(
                f"signature has {sig.num_perm} values, this index compares {self.num_perm}"
            )

    def _make_room(self) -> None:
        if self._rows - self._live >= self._rows // 4:
            self._compact()
        if self._rows == len(self._at):
            self._resize(2 * len(self._at))

    def _compact(self) -> None:
        """Move the live entries to the front, in the order they were added."""
        keep = np.flatnonzero(self._alive[: self._rows])
        live = len(keep)
        self._sigs[:live] = self._sigs[keep]
        self._low[:, :live] = self._low[:, keep]
        self._at[:live] = self._at[keep]
        self._alive[:live] = True
        self._alive[live : self._rows] = False
        self._comparable[:live] = self._comparable[keep]
        self._comparable[live : self._rows] = False
        rows = keep.tolist()
        self._story = [self._story[row] for row in rows]
        self._link = [self._link[row] for row in rows]
        self._by_link = {}
        for row, link in enumerate(self._link):
            current = self._by_link.get(link)
            if link and (current is None or self._at[current] <= self._at[row]):
                self._by_link[link] = row
        self._rows = live

    def _resize(self, capacity: int) -> None:
        sigs = np.empty((capacity, self.num_perm), dtype=np.uint32)
        sigs[: self._rows] = self._sigs[: self._rows]
        self._sigs = sigs
        low = np.empty((self.num_perm, capacity), dtype=np.uint8)
        low[:, : self._rows] = self._low[:, : self._rows]
        self._low = low
        self._at = np.resize(self._at, capacity)
        self._alive = np.concatenate(
            [self._alive[: self._rows], np.zeros(capacity - self._rows, np.bool_)]
        )
        self._comparable = np.concatenate(
            [self._comparable[: self._rows], np.zeros(capacity - self._rows, np.bool_)]
        )


# What a store keeps of a story: a record per item, enough to put the index
# back together after a restart and to name every source of a story.


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """The story a recorded item belongs to."""

    story_id: str
    signature: bytes  # StorySignature.to_bytes() of the item


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A recorded item of a story, enough to put it back in a story index."""

    fingerprint: str
    story_id: str
    signature: bytes
    link: str
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class StorySource:
    """One copy of a story: who reported it, where and when we saw it."""

    feed_title: str
    link: str
    title: str
    seen_at: datetime
