"""The story signatures' arithmetic in Rust (``monitor._native``) against numpy's,
which it replaced in the service (numpy still does it where the native module
is not built): the same permutations as numpy's RandomState draws, the same
MinHash values, the same band keys, the same count of equal values."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import _native
from monitor.core import stories
from monitor.core.stories import StorySignature, shingles, signature, story_keys

SEED = 20240523

# news-like words, so texts share shingles as copies of a story do
WORDS = st.sampled_from(
    [
        "taiwan",
        "strait",
        "warships",
        "tariffs",
        "talks",
        "climate",
        "beijing",
        "washington",
        "envoy",
        "pledge",
        "summit",
        "trade",
        "deal",
        "exports",
        "chips",
        "coal",
        "emissions",
        "minister",
        "says",
        "on",
        "the",
        "in",
        "of",
    ]
)
TEXTS = st.lists(WORDS, max_size=30).map(" ".join) | st.text(max_size=120)


@pytest.mark.parametrize("num_perm", [1, 16, 64, 128, 256])
def test_the_permutations_are_numpys_legacy_draws(num_perm: int) -> None:
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    ours_a, ours_b = stories._permutations(num_perm)
    assert ours_a == a.astype("<u4").tobytes()
    assert ours_b == b.astype("<u4").tobytes()


def digests(title: str, summary: str) -> bytes:
    return b"".join(hashlib.sha1(s.encode()).digest()[:4] for s in shingles(title, summary))


@settings(max_examples=300, deadline=None)
@given(TEXTS, TEXTS, st.sampled_from([16, 128]))
def test_native_minhash_and_band_keys_are_numpys(title: str, summary: str, num_perm: int) -> None:
    found = digests(title, summary)
    a, b = stories._permutations(num_perm)
    if found:
        assert _native.minhash(found, a, b) == stories._numpy_minhash(found, a, b)
    sig = signature(title, summary, num_perm=num_perm)
    if not sig.empty:
        assert story_keys(sig, None).bands == tuple(stories._numpy_band_keys(sig.values))


@settings(max_examples=300, deadline=None)
@given(TEXTS, TEXTS, TEXTS, TEXTS)
def test_the_count_of_equal_values_is_the_same_every_way(
    t1: str, s1: str, t2: str, s2: str
) -> None:
    x, y = signature(t1, s1), signature(t2, s2)
    by_numpy = int(np.count_nonzero(x.hashvalues == y.hashvalues))
    assert _native.agreement(x.values, y.values) == by_numpy
    ours, theirs = memoryview(x.values).cast("I"), memoryview(y.values).cast("I")
    assert sum(p == q for p, q in zip(ours, theirs, strict=True)) == by_numpy


def test_without_the_native_module_numpy_gives_the_same_signatures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    title = "Warships gather in the Taiwan Strait"
    summary = "Chinese warships gathered in the Taiwan Strait as tariff talks resumed."
    native = signature(title, summary)
    keys = story_keys(native, "https://news.example.org/strait")
    monkeypatch.setattr(stories, "NATIVE_MINHASH", False)
    assert signature(title, summary) == native
    assert story_keys(native, "https://news.example.org/strait") == keys
    assert native.jaccard(signature(title, summary + " More ships came.")) > 0.5


def test_widths_that_differ_are_refused_natively() -> None:
    with pytest.raises(ValueError, match="cannot compare"):
        StorySignature(b"\0" * 64, 1).agreement(StorySignature(b"\0" * 32, 1))
    with pytest.raises(ValueError, match="whole 32-bit values"):
        _native.band_keys(b"\0" * 6)
