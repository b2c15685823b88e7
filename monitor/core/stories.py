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

Finding the story a new item joins without comparing it to every item of the
window is locality-sensitive hashing. ``story_keys`` cuts a signature into
bands of two values (64 of them) and hashes each (with its band's number) to a
32-bit key, and the canonical link to one more. A store files every recorded
item under its keys; a new item's candidates are the items of the window that
share a key with it, and ``best_story`` decides among them by their stored
signatures, as above. Two signatures share a band when both values of one of
its bands are equal: for a pair that meets the threshold (39 of 128 values
equal, the positions of equal values being random), the chance that no band
has both is C(64, 39)·2³⁹ / C(128, 39), under 0.02%, and it falls fast as the
pair gets closer. Unrelated news shares a band when a common word is the
minimum of both for two values at once: in the labelled news of
tests/data/eval, four topics and so closer than news at large, one pair in
two hundred does. A store hands over at most the hundred candidates that
share the most keys, and their signatures decide.
Narrower bands would find many more unrelated candidates; wider ones would
miss copies at this low a threshold.

``StoryIndex`` is that lookup in memory, for tests, benchmarks and tools;
the service keeps its index in the store (``monitor.pipeline.stories``).
Time is a parameter: nothing here reads a clock. Signatures serialise to
bytes (``to_bytes``/``from_bytes``) so a store can persist them.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from monitor.core.text import words

try:
    # The arithmetic in Rust (native/src/minhash.rs), when built: the service
    # then never imports numpy, a tenth of a second and 6 MB of it.
    from monitor import _native

    NATIVE_MINHASH = hasattr(_native, "minhash")
except ImportError:  # not built (a checkout run in place): numpy does it
    NATIVE_MINHASH = False

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_NUM_PERM",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "SIGNATURE_VERSION",
    "SUMMARY_WORDS",
    "StoryCandidate",
    "StoryEntry",
    "StoryIndex",
    "StoryKeys",
    "StoryRow",
    "StorySignature",
    "StorySource",
    "best_story",
    "shingles",
    "signature",
    "story_keys",
]

DEFAULT_NUM_PERM = 128
DEFAULT_THRESHOLD = 0.30
DEFAULT_WINDOW = timedelta(hours=24)
SUMMARY_WORDS = 60

# Bump when anything that changes a signature changes (shingling, stop words,
# seed, hash scheme): signatures of different versions are never compared.
SIGNATURE_VERSION = 1
_SEED = 20240523
_MAX_HASH = 0xFFFFFFFF
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
    """A MinHash of a story's shingles: ``num_perm`` 32-bit values, kept as
    little-endian bytes (as the store keeps them).

    ``size`` is the number of distinct shingles; a signature of size 0 (no
    words worth comparing) is similar to nothing, not even to itself.
    """

    values: bytes
    size: int

    @property
    def hashvalues(self) -> npt.NDArray[np.uint32]:
        """The values as a read-only numpy array (for tools and tests: it imports numpy)."""
        import numpy as np

        return np.frombuffer(self.values, dtype="<u4")

    @property
    def num_perm(self) -> int:
        return len(self.values) // 4

    @property
    def empty(self) -> bool:
        return self.size == 0

    def agreement(self, other: StorySignature) -> int:
        """How many of the two signatures' values are equal, position by position."""
        if other.num_perm != self.num_perm:
            raise ValueError(f"cannot compare signatures of {self.num_perm} and {other.num_perm}")
        if NATIVE_MINHASH:
            return _native.agreement(self.values, other.values)
        # equal 4-byte values are equal in any byte order
        ours, theirs = memoryview(self.values).cast("I"), memoryview(other.values).cast("I")
        return sum(p == q for p, q in zip(ours, theirs, strict=True))

    def jaccard(self, other: StorySignature) -> float:
        """The MinHash estimate of the Jaccard similarity of the two shingle sets."""
        equal = self.agreement(other)  # (raises for signatures of different widths)
        if self.empty or other.empty:
            return 0.0
        return equal / self.num_perm

    def to_bytes(self) -> bytes:
        """Version byte, shingle count, then the values (all little-endian)."""
        return _HEADER.pack(SIGNATURE_VERSION, self.size) + self.values

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
        return cls(bytes(data[_HEADER.size :]), size)

    @classmethod
    def _of(cls, values: npt.NDArray[np.uint32], size: int) -> StorySignature:
        return cls(values.astype("<u4").tobytes(), size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return self.size == other.size and self.values == other.values

    def __hash__(self) -> int:
        return hash((self.size, self.values))

    def __repr__(self) -> str:
        return f"StorySignature(num_perm={self.num_perm}, size={self.size})"


# MurmurHash3's 32-bit finaliser: shifts and multipliers
_FMIX = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[bytes, bytes]:
    """The affine permutations ``a * h + b`` (mod 2^32, ``a`` odd) every
    signature of this width shares, as little-endian bytes: drawn as
    datasketch 2 draws them for its "affine32" scheme from the seed, by numpy's
    legacy RandomState, whose stream never changes. That is Mersenne Twister
    seeded with ``init_genrand``, each ``randint`` of a power-of-two range a
    32-bit draw masked to it: Python's own Mersenne Twister, put in that state,
    draws the same (tests/core/test_stories_native.py holds the two to each other)."""
    state = [_SEED]
    for i in range(1, 624):
        last = state[-1]
        state.append((1812433253 * (last ^ (last >> 30)) + i) & 0xFFFFFFFF)
    twister = random.Random()
    twister.setstate((3, (*state, 624), None))
    a = [((twister.getrandbits(32) & 0x7FFFFFFF) * 2 + 1) & 0xFFFFFFFF for _ in range(num_perm)]
    b = [twister.getrandbits(32) for _ in range(num_perm)]
    return struct.pack(f"<{num_perm}I", *a), struct.pack(f"<{num_perm}I", *b)


def signature(title: str, summary: str, *, num_perm: int = DEFAULT_NUM_PERM) -> StorySignature:
    """The MinHash signature of a story's title and summary.

    Deterministic: the same text gives the same signature in every process
    and after every restart (fixed seed, SHA-1 based hashing). The values are
    those of datasketch's ``MinHash(num_perm, seed, scheme="affine32")`` over the
    shingles' UTF-8 bytes (tests/core/test_stories.py holds the two to each
    other): each shingle's SHA-1, its first four bytes little-endian, mixed by
    MurmurHash3's finaliser, then through every permutation; the minimum of
    each. Made here in a few lines (of Rust, or numpy) because importing
    datasketch brings scipy, some 45 MB of a service's memory.
    """
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, not {num_perm}")
    found = shingles(title, summary)
    if not found:
        return StorySignature(_MAX_HASH.to_bytes(4, "little") * num_perm, 0)
    digests = b"".join(hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in found)  # noqa: S324
    a, b = _permutations(num_perm)
    if NATIVE_MINHASH:
        return StorySignature(_native.minhash(digests, a, b), len(found))
    return StorySignature(_numpy_minhash(digests, a, b), len(found))


def _numpy_minhash(digests: bytes, a: bytes, b: bytes) -> bytes:
    """``_native.minhash`` in numpy."""
    import numpy as np

    hv = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    s1, m1, s2, m2, s3 = (np.uint32(value) for value in _FMIX)
    hv ^= hv >> s1
    hv *= m1
    hv ^= hv >> s2
    hv *= m2
    hv ^= hv >> s3
    pa, pb = (np.frombuffer(p, dtype="<u4").astype(np.uint32) for p in (a, b))
    values: npt.NDArray[np.uint32] = (hv * pa + pb).min(axis=0)
    return values.astype("<u4").tobytes()


def _timestamp(at: datetime, name: str) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {at!r}")
    return at.timestamp()


# Keys are made of bands of two values, every value in one band (see the module
# docstring). Changing how keys are made changes the keys a store filed its
# items under: that takes a schema step that files them again.
_GOLDEN = 0x9E3779B97F4A7C15
_MIX = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class StoryKeys:
    """The keys an item is filed under, so that its copies find it.

    ``bands``: one per band of two values of its signature, none when the
    signature is empty (no words worth comparing); ``link``: its canonical
    link's key, None without a link. Keys are 32-bit signed integers; two
    different bands or links may share one, which only makes a candidate
    that ``best_story`` then turns down.
    """

    bands: tuple[int, ...]
    link: int | None

    @property
    def all(self) -> tuple[int, ...]:
        return self.bands if self.link is None else (*self.bands, self.link)


def story_keys(sig: StorySignature, link: str | None) -> StoryKeys:
    """The keys of an item with this signature and canonical link."""
    bands: tuple[int, ...] = ()
    if not sig.empty:
        bands = tuple(
            _native.band_keys(sig.values) if NATIVE_MINHASH else _numpy_band_keys(sig.values)
        )
    if not link:
        return StoryKeys(bands, None)
    digest = hashlib.blake2b(link.encode("utf-8"), digest_size=4, person=b"newsmon-link")
    return StoryKeys(bands, int.from_bytes(digest.digest(), "little", signed=True))


def _numpy_band_keys(data: bytes) -> list[int]:
    """``_native.band_keys`` in numpy."""
    import numpy as np

    golden = np.uint64(_GOLDEN)
    mix0, mix1 = (np.uint64(m) for m in _MIX)
    values = np.frombuffer(data, dtype="<u4").astype(np.uint64)
    end = len(values) // 2 * 2
    pairs = (values[0:end:2] << np.uint64(32)) | values[1:end:2]
    # the band's number in, then splitmix64's finaliser: the same pair of
    # values in two bands makes two unrelated keys
    x = pairs + np.arange(1, len(pairs) + 1, dtype=np.uint64) * golden
    x ^= x >> np.uint64(30)
    x *= mix0
    x ^= x >> np.uint64(27)
    x *= mix1
    x ^= x >> np.uint64(31)
    keys: list[int] = (x >> np.uint64(32)).astype(np.uint32).view(np.int32).tolist()
    return keys


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An item of the window that shares a key with a new one."""

    story_id: str
    signature: StorySignature
    link: str
    seen_at: datetime


def best_story(
    sig: StorySignature,
    link: str | None,
    candidates: Sequence[StoryCandidate],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> str | None:
    """The story an item joins among ``candidates`` (given oldest first), or None
    when it is a new story.

    An equal canonical link wins (the candidate seen last that carries it);
    otherwise the candidate whose estimated Jaccard similarity is highest and
    at least ``threshold`` (the earliest such on a tie). Candidates of another
    width never match.
    """
    if link:
        carrying = [c for c in candidates if c.link == link]
        if carrying:
            return max(reversed(carrying), key=lambda c: c.seen_at).story_id
    if sig.empty:
        return None
    comparable = [
        c for c in candidates if not c.signature.empty and c.signature.num_perm == sig.num_perm
    ]
    if not comparable:
        return None
    equal = [sig.agreement(c.signature) for c in comparable]
    ordered = sorted(range(len(comparable)), key=lambda i: (-int(equal[i]), comparable[i].seen_at))
    best = ordered[0]
    # equal values needed out of num_perm; the epsilon keeps 0.3 * 100 at 30
    need = max(1, math.ceil(threshold * sig.num_perm - 1e-9))
    return comparable[best].story_id if equal[best] >= need else None


class StoryIndex:
    """The stories seen within a time window, in memory: the store's lookup
    (items filed under their ``story_keys``, candidates that share a key,
    ``best_story`` among them) for tests, benchmarks and tools.

    Each ``add`` is one entry: an item and the story it belongs to. Later
    copies of a story are added under the story's id too, so a new item can
    join a story through whichever copy it resembles most. An entry can be
    joined while ``now < at + window``.
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
        self._entries: dict[int, tuple[StoryCandidate, StoryKeys]] = {}  # in order of adding
        self._by_key: dict[int, set[int]] = {}
        self._next = 0

    def __len__(self) -> int:
        """The number of entries (items) held."""
        return len(self._entries)

    def add(self, story_id: str, sig: StorySignature, link: str | None, at: datetime) -> None:
        """Record that the item with this signature and link, seen at ``at``,
        belongs to ``story_id``."""
        self._check(sig)
        _timestamp(at, "at")
        keys = story_keys(sig, link)
        self._entries[self._next] = (StoryCandidate(story_id, sig, link or "", at), keys)
        for key in keys.all:
            self._by_key.setdefault(key, set()).add(self._next)
        self._next += 1

    def find(self, sig: StorySignature, link: str | None, now: datetime) -> str | None:
        """The id of the story an item joins, or None when it is a new story
        (``best_story`` among the entries of the window that share a key)."""
        self._check(sig)
        cutoff = _timestamp(now, "now") - self.window.total_seconds()
        found: set[int] = set()
        for key in story_keys(sig, link).all:
            found |= self._by_key.get(key, set())
        candidates = [
            entry
            for number in sorted(found)
            if (entry := self._entries[number][0]).seen_at.timestamp() > cutoff
        ]
        return best_story(sig, link, candidates, threshold=self.threshold)

    def expire(self, now: datetime) -> int:
        """Drop the entries that can no longer be joined; returns how many."""
        cutoff = _timestamp(now, "now") - self.window.total_seconds()
        stale = [n for n, (c, _) in self._entries.items() if c.seen_at.timestamp() <= cutoff]
        for number in stale:
            _, keys = self._entries.pop(number)
            for key in keys.all:
                members = self._by_key[key]
                members.discard(number)
                if not members:
                    del self._by_key[key]
        return len(stale)

    def _check(self, sig: StorySignature) -> None:
        if sig.num_perm != self.num_perm:
            raise ValueError(
                f"signature has {sig.num_perm} values, this index compares {self.num_perm}"
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
