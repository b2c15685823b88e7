"""Story clustering: copies of one story join it, other stories stay apart.

The labelled set (tests/data/stories.yaml) is clustered the way the pipeline
will: items in the order they were seen, each joining the story ``find``
names or starting its own, then ``add``-ed under that story. "Same story"
decisions are scored pairwise: a pair of copies of one wire story (same
``story`` and ``source``) must end up together, a pair from different stories
must not; two outlets' independent write-ups of one event may go either way.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.stories import (
    DEFAULT_NUM_PERM,
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    SIGNATURE_VERSION,
    StoryIndex,
    StoryKeys,
    StorySignature,
    shingles,
    signature,
    story_keys,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "stories.yaml"
T0 = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    id: str
    story: str
    source: str
    link: str
    at: datetime
    title: str
    summary: str


def load() -> tuple[list[Labelled], set[frozenset[str]]]:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    items = [
        Labelled(
            id=item["id"],
            story=story["story"],
            source=item["source"],
            link=item["link"],
            at=item["at"],
            title=item["title"],
            summary=item["summary"],
        )
        for story in data["stories"]
        for item in story["items"]
    ]
    hard = {frozenset(pair) for pair in data["hard_negatives"]}
    return sorted(items, key=lambda item: item.at), hard


def cluster(items: list[Labelled], threshold: float) -> dict[str, str]:
    """Each item's story id, as the pipeline would assign them."""
    index = StoryIndex(threshold=threshold)
    story_of: dict[str, str] = {}
    for item in items:
        index.expire(item.at)
        sig = signature(item.title, item.summary)
        story = index.find(sig, item.link, item.at) or item.id
        index.add(story, sig, item.link, item.at)
        story_of[item.id] = story
    return story_of


@dataclass
class Scores:
    precision: float
    recall: float
    merged_hard: list[tuple[str, str]]
    missed: list[tuple[str, str]]


def score(items: list[Labelled], story_of: dict[str, str], hard: set[frozenset[str]]) -> Scores:
    true_pos = false_pos = 0
    merged_hard: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for a, b in itertools.combinations(items, 2):
        joined = story_of[a.id] == story_of[b.id]
        if a.story != b.story:
            false_pos += joined
            if joined and frozenset((a.story, b.story)) in hard:
                merged_hard.append((a.id, b.id))
        elif a.source == b.source:
            true_pos += joined
            if not joined:
                missed.append((a.id, b.id))
    found = true_pos + false_pos
    return Scores(
        precision=true_pos / found if found else 1.0,
        recall=true_pos / (true_pos + len(missed)),
        merged_hard=merged_hard,
        missed=missed,
    )


# -- the labelled set ----------------------------------------------------------------


def test_the_labelled_set_is_big_enough_and_consistent() -> None:
    items, hard = load()
    stories = {item.story for item in items}
    assert len(items) >= 40
    assert len({item.id for item in items}) == len(items)
    assert set().union(*hard) <= stories  # a typo in hard_negatives would test nothing
    copies = [
        (a, b)
        for a, b in itertools.combinations(items, 2)
        if a.story == b.story and a.source == b.source
    ]
    assert len(copies) >= 30


@pytest.mark.parametrize(
    "threshold",
    [DEFAULT_THRESHOLD - 0.05, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD + 0.05],
    ids=["default-0.05", "default", "default+0.05"],
)
def test_copies_of_a_story_join_it_and_different_stories_stay_apart(threshold: float) -> None:
    # The default and a margin either side of it: the threshold is not on a knife-edge.
    items, hard = load()
    scores = score(items, cluster(items, threshold), hard)
    assert scores.merged_hard == []
    assert scores.precision >= 0.9
    assert scores.recall >= 0.9, scores.missed


def test_hard_negatives_are_close_enough_to_matter() -> None:
    # Were the hard negatives as far apart as unrelated news, the test above would
    # prove nothing about keeping same-topic stories apart.
    items, hard = load()
    sigs = {item.id: signature(item.title, item.summary) for item in items}
    closest = max(
        sigs[a.id].jaccard(sigs[b.id])
        for a, b in itertools.combinations(items, 2)
        if frozenset((a.story, b.story)) in hard
    )
    assert DEFAULT_THRESHOLD - 0.1 < closest < DEFAULT_THRESHOLD


def test_every_pair_of_copies_close_enough_to_join_shares_a_key() -> None:
    # The lookup only compares items that share a key: a pair above the threshold
    # that shared none would be a copy missed.
    items, _ = load()
    sigs = {item.id: signature(item.title, item.summary) for item in items}
    keys = {item.id: set(story_keys(sigs[item.id], None).bands) for item in items}
    close = [
        (a.id, b.id)
        for a, b in itertools.combinations(items, 2)
        if sigs[a.id].jaccard(sigs[b.id]) >= DEFAULT_THRESHOLD
    ]
    assert len(close) >= 30
    assert [pair for pair in close if not keys[pair[0]] & keys[pair[1]]] == []


def test_unrelated_news_rarely_shares_a_key() -> None:
    # What keeps a lookup in a window of a million items to a few candidates: the
    # labelled news of four topics (closer to each other than news at large).
    stories = [
        json.loads(line)
        for name in ("dev", "frozen")
        for line in (ROOT / "tests" / "data" / "eval" / f"{name}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    sigs = [signature(s["title"], s.get("summary", "")) for s in stories]
    values = np.stack([sig.hashvalues for sig in sigs])
    filed: dict[int, set[int]] = {}
    far = sharing = 0
    for n, sig in enumerate(sigs):
        candidates = set().union(*(filed.get(key, set()) for key in story_keys(sig, None).bands))
        earlier = np.count_nonzero(values[:n] == sig.hashvalues, axis=1) / sig.num_perm
        unrelated = set(np.flatnonzero(earlier < DEFAULT_THRESHOLD / 2).tolist())
        far += len(unrelated)
        sharing += len(candidates & unrelated)
        for key in story_keys(sig, None).bands:
            filed.setdefault(key, set()).add(n)
    assert far > 500_000
    assert sharing / far < 0.01


def test_keys_are_the_same_after_an_upgrade() -> None:
    # A store filed its items under these keys: a change to how they are made must
    # come with a schema step that files the items again.
    sig = signature(
        EV_TITLE,
        "The European Commission said on Wednesday it would impose additional duties of "
        "up to 38.1% on imported Chinese electric cars from July.",
    )
    keys = story_keys(sig, "https://example.org/ev")
    assert len(keys.bands) == sig.num_perm // 2
    assert keys.bands[:4] == (348443233, 1347740541, -282058623, 1046073650)
    assert keys.link == -681639629
    assert keys.all == (*keys.bands, keys.link)


def test_an_item_without_words_or_link_has_no_keys() -> None:
    assert story_keys(signature("", ""), "") == StoryKeys((), None)
    assert story_keys(signature("The", "It was."), None).all == ()
    only_link = story_keys(signature("", ""), "https://example.org/a")
    assert only_link.bands == () and only_link.all == (only_link.link,)


# -- find: what joins and what does not ----------------------------------------------

EV_TITLE = "EU to impose duties of up to 38% on Chinese EV imports"
EV_LEDE = (
    "The European Commission said on Wednesday it would impose additional duties of up "
    "to 38.1% on imported Chinese electric cars from July, risking retaliation from "
    "Beijing, which said it would take all necessary measures to protect its interests."
)
ARTICLE_BODY = " ".join(
    [
        "The duties come on top of the standard 10% tariff on imported cars.",
        "BYD would face an additional duty of 17.4%, Geely 20% and SAIC 38.1%.",
        "Other makers that cooperated with the investigation would pay 21%, those that",
        "did not 38.1%. Tesla, which builds cars in Shanghai, could receive an",
        "individually calculated rate. The Commission began its investigation in October",
        "and has until November to decide whether to make the duties permanent. German",
        "carmakers, which sell many cars in China, had lobbied against the measures,",
        "fearing retaliation, while French officials had pushed for them. Chinese brands",
        "have been gaining share in Europe with cheaper models, and industry groups say",
        "the price gap with European-made electric cars remains wide despite the duties.",
    ]
)


@pytest.mark.parametrize(
    ("first", "second", "joins"),
    [
        pytest.param((EV_TITLE, EV_LEDE), (EV_TITLE, EV_LEDE), True, id="identical text"),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            ("EU hits Chinese electric vehicles with tariffs as high as 38%", EV_LEDE),
            True,
            id="wire copy re-headlined",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            (
                "Brussels slaps duties on Chinese EVs",
                EV_LEDE + " Shares in European carmakers with big sales in China fell.",
            ),
            True,
            id="syndicated with a sentence added",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            ("EU tariffs on Chinese cars", EV_LEDE.split(", risking")[0] + "…"),
            True,
            id="summary truncated by the feed",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            (EV_TITLE.upper(), EV_LEDE.replace("Commission", "Commissión").replace(",", "")),
            True,
            id="case accents and punctuation",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            (EV_TITLE, f"{EV_LEDE} {ARTICLE_BODY} {ARTICLE_BODY.upper()}"),
            True,
            id="whole article in the summary",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            (
                "Trump doubles tariffs on imported steel and aluminum to 50%",
                "President Donald Trump signed an order doubling tariffs on imported steel "
                "and aluminum to 50%, a move he said would protect American steelmakers.",
            ),
            False,
            id="same topic different story",
        ),
        pytest.param(
            (EV_TITLE, EV_LEDE),
            (
                "Powerful earthquake strikes central Japan",
                "A magnitude 7.6 earthquake struck Ishikawa prefecture on New Year's Day.",
            ),
            False,
            id="unrelated story",
        ),
        pytest.param(("", ""), ("", ""), False, id="empty texts"),
        pytest.param(
            ("The", "It was said that they would."),
            ("The", "It was said that they would."),
            False,
            id="only stop words",
        ),
    ],
)
def test_find(first: tuple[str, str], second: tuple[str, str], joins: bool) -> None:
    index = StoryIndex()
    index.add("first", signature(*first), "https://example.org/first", T0)
    found = index.find(signature(*second), "https://example.org/second", T0 + timedelta(hours=1))
    assert found == ("first" if joins else None)


def test_the_same_canonical_link_joins_whatever_the_text() -> None:
    index = StoryIndex()
    link = "https://www.bbc.com/news/world-asia-67858566"
    index.add("quake", signature("Japan earthquake triggers tsunami warnings", ""), link, T0)
    updated = signature("Buildings collapse and fires break out in Ishikawa", "Rescuers search.")
    assert index.find(updated, link, T0 + timedelta(hours=2)) == "quake"
    assert index.find(updated, "https://www.bbc.com/news/other", T0 + timedelta(hours=2)) is None
    assert index.find(updated, "", T0 + timedelta(hours=2)) is None  # no link is no match


def test_an_equal_link_wins_over_a_closer_text() -> None:
    index = StoryIndex()
    index.add("ev", signature(EV_TITLE, EV_LEDE), "https://example.org/ev", T0)
    index.add("page", signature("Live: markets", "Stocks rise."), "https://example.org/live", T0)
    found = index.find(signature(EV_TITLE, EV_LEDE), "https://example.org/live", T0)
    assert found == "page"


def test_the_closest_story_wins() -> None:
    index = StoryIndex()
    index.add("trimmed", signature(EV_TITLE, EV_LEDE.split(", risking")[0]), "https://a/1", T0)
    index.add("full", signature(EV_TITLE, EV_LEDE), "https://a/2", T0)
    assert index.find(signature(EV_TITLE, EV_LEDE), "https://a/3", T0) == "full"


def test_on_a_tie_the_earlier_story_wins() -> None:
    index = StoryIndex()
    sig = signature(EV_TITLE, EV_LEDE)
    index.add("earlier", sig, "https://a/1", T0)
    index.add("later", sig, "https://a/2", T0 + timedelta(minutes=5))
    assert index.find(sig, "https://a/3", T0 + timedelta(minutes=10)) == "earlier"


def test_values_must_be_equal_in_full_not_just_in_part() -> None:
    # The same low byte in every value, a different high byte.
    sig = signature(EV_TITLE, EV_LEDE)
    data = bytearray(sig.to_bytes())
    for value in range(sig.num_perm):
        data[5 + 4 * value + 3] ^= 0x80
    other = StorySignature.from_bytes(bytes(data))
    assert other.jaccard(sig) == 0.0
    index = StoryIndex()
    index.add("ev", sig, "https://a/1", T0)
    assert index.find(other, "https://a/2", T0) is None
    assert index.find(sig, "https://a/2", T0) == "ev"


def test_a_copy_joins_through_whichever_earlier_copy_it_resembles() -> None:
    index = StoryIndex()
    original = signature(EV_TITLE, EV_LEDE)
    extended = EV_LEDE + " Shares in European carmakers with big sales in China fell sharply."
    index.add("ev", original, "https://a/1", T0)
    index.add("ev", signature("EU hits Chinese EVs", extended), "https://a/2", T0)
    # Shares most of its words with the second copy, fewer with the first.
    rewrite = signature(
        "Carmakers fall as EU hits Chinese EVs",
        "Shares in European carmakers with big sales in China fell sharply after the "
        "European Commission said it would impose additional duties of up to 38.1%.",
    )
    assert original.jaccard(rewrite) < DEFAULT_THRESHOLD
    assert index.find(rewrite, "https://a/3", T0) == "ev"


# -- the window ----------------------------------------------------------------------


def test_a_story_can_be_joined_until_its_window_has_passed() -> None:
    index = StoryIndex()
    sig = signature(EV_TITLE, EV_LEDE)
    index.add("ev", sig, "https://a/1", T0)
    end = T0 + DEFAULT_WINDOW
    assert index.find(sig, "https://a/2", end - timedelta(seconds=1)) == "ev"
    # Past the window it is a new story, whether or not expire() has run.
    assert index.find(sig, "https://a/2", end) is None
    assert index.find(sig, "https://a/1", end) is None
    assert index.expire(end - timedelta(seconds=1)) == 0
    assert len(index) == 1
    assert index.expire(end) == 1
    assert len(index) == 0
    assert index.find(sig, "https://a/1", end) is None


def test_each_copy_keeps_its_story_open_for_a_window() -> None:
    index = StoryIndex(window=timedelta(hours=24))
    sig = signature(EV_TITLE, EV_LEDE)
    index.add("ev", sig, "https://a/1", T0)
    index.add("ev", sig, "https://a/2", T0 + timedelta(hours=20))
    later = T0 + timedelta(hours=30)
    index.expire(later)
    assert len(index) == 1
    assert index.find(sig, "https://a/3", later) == "ev"


def test_expiry_keeps_the_rest_of_the_index_intact() -> None:
    # Enough entries to grow and compact the index several times over.
    index = StoryIndex(window=timedelta(hours=2))

    def text(i: int) -> tuple[str, str]:
        return (f"zebra{i} walrus{i} heron{i}", f"otter{i} lynx{i} crane{i} moose{i}")

    def at(i: int) -> datetime:
        return T0 + timedelta(minutes=i)

    for i in range(600):
        index.expire(at(i))
        index.add(f"s{i}", signature(*text(i)), f"https://a/{i}", at(i))
        assert len(index) == min(i + 1, 120)
    now = at(600)
    for i in (479, 480, 555, 599):
        expected = f"s{i}" if i > 480 else None
        assert index.find(signature(*text(i)), "", now) == expected
        assert index.find(signature("nothing alike", "at all"), f"https://a/{i}", now) == expected


# -- signatures ----------------------------------------------------------------------


def test_a_signature_survives_bytes() -> None:
    sig = signature(EV_TITLE, EV_LEDE)
    data = sig.to_bytes()
    assert data[0] == SIGNATURE_VERSION
    assert len(data) == 5 + 4 * sig.num_perm
    back = StorySignature.from_bytes(data)
    assert back == sig
    assert hash(back) == hash(sig)
    assert back.jaccard(sig) == 1.0
    empty = signature("", "")
    assert StorySignature.from_bytes(empty.to_bytes()) == empty
    assert empty.empty and empty.jaccard(empty) == 0.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a story signature"),
        (bytes([SIGNATURE_VERSION, 0, 0, 0, 0]), "not a story signature"),
        (bytes([SIGNATURE_VERSION, 0, 0, 0, 0, 1, 2]), "not a story signature"),
        (bytes([SIGNATURE_VERSION + 1, 3, 0, 0, 0, 1, 2, 3, 4]), "recompute it"),
    ],
)
def test_from_bytes_rejects_what_to_bytes_did_not_write(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StorySignature.from_bytes(data)


def test_signatures_are_the_same_in_every_process() -> None:
    code = (
        "import sys\n"
        "from monitor.core.stories import signature\n"
        "print(signature(sys.argv[1], sys.argv[2]).to_bytes().hex())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, EV_TITLE, EV_LEDE],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    ).stdout.strip()
    assert StorySignature.from_bytes(bytes.fromhex(out)) == signature(EV_TITLE, EV_LEDE)


def test_signatures_are_the_same_after_an_upgrade() -> None:
    # Stored signatures must keep matching new ones: a change of hashing (in the
    # MinHash library or here) must come with a new SIGNATURE_VERSION.
    sig = signature(
        EV_TITLE,
        "The European Commission said on Wednesday it would impose additional duties of "
        "up to 38.1% on imported Chinese electric cars from July.",
    )
    assert SIGNATURE_VERSION == 1
    assert sig.size == 33
    assert sig.hashvalues[:6].tolist() == [
        32015424,
        12776762,
        87777071,
        34719180,
        456730033,
        406894568,
    ]


@settings(deadline=None)  # the first example imports datasketch
@given(st.text(max_size=80), st.text(max_size=200), st.sampled_from([16, DEFAULT_NUM_PERM]))
def test_signatures_are_datasketchs_minhash(title: str, summary: str, num_perm: int) -> None:
    # The values datasketch's MinHash makes of the same shingles, bit for bit: the
    # signatures stored before newsmon made them itself stay comparable.
    from datasketch import MinHash

    minhash = MinHash(num_perm=num_perm, seed=20240523, scheme="affine32")
    found = shingles(title, summary)
    minhash.update_batch([s.encode("utf-8") for s in found])
    sig = signature(title, summary, num_perm=num_perm)
    assert sig.size == len(found)
    assert sig.hashvalues.tolist() == minhash.hashvalues.tolist()


@given(st.text(max_size=80), st.text(max_size=200))
def test_any_text_has_a_signature_that_survives_bytes(title: str, summary: str) -> None:
    sig = signature(title, summary, num_perm=16)
    assert StorySignature.from_bytes(sig.to_bytes()) == sig
    assert sig.jaccard(sig) == (0.0 if sig.empty else 1.0)


def test_signature_values_cannot_be_changed_in_place() -> None:
    sig = signature(EV_TITLE, EV_LEDE)
    with pytest.raises(ValueError, match="read-only"):
        sig.hashvalues[0] = np.uint32(0)


# -- misuse --------------------------------------------------------------------------


def test_signatures_of_another_width_are_refused() -> None:
    index = StoryIndex(num_perm=64)
    with pytest.raises(ValueError, match="64"):
        index.add("x", signature(EV_TITLE, EV_LEDE), "", T0)
    with pytest.raises(ValueError, match="cannot compare"):
        signature("a b", "", num_perm=64).jaccard(signature("a b", ""))


def test_times_must_be_timezone_aware() -> None:
    index = StoryIndex()
    with pytest.raises(ValueError, match="timezone-aware"):
        index.add("x", signature(EV_TITLE, EV_LEDE), "", datetime(2024, 6, 12, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        index.find(signature(EV_TITLE, EV_LEDE), "", datetime(2024, 6, 12, 12, 0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"window": timedelta(0)},
        {"num_perm": 0},
    ],
    ids=["threshold 0", "threshold above 1", "empty window", "no permutations"],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StoryIndex(**kwargs)  # type: ignore[arg-type]
