"""Showing matches: highlighted text and short snippets around the first matches."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["highlight", "snippet"]

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


def _merged(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Valid spans, sorted, with overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _marked(
    text: str, spans: list[tuple[int, int]], start: int, end: int, mark: tuple[str, str]
) -> str:
    pieces: list[str] = []
    pos = start
    for s, e in spans:
        pieces.append(text[pos:s])
        pieces.append(mark[0] + text[s:e] + mark[1])
        pos = e
    pieces.append(text[pos:end])
    return "".join(pieces)


def highlight(
    text: str, spans: Sequence[tuple[int, int]], mark: tuple[str, str] = ("**", "**")
) -> str:
    """The whole text with each span wrapped in ``mark``."""
    return _marked(text, _merged(text, spans), 0, len(text), mark)


def snippet(
    text: str,
    spans: Sequence[tuple[int, int]],
    width: int = 280,
    mark: tuple[str, str] = ("**", "**"),
) -> str:
    """About ``width`` characters of ``text`` around its first matches, on one line.

    The window opens a little before the first span (at a word boundary), holds
    as many following spans as fit, never cuts a highlighted term and shows
    "…" where the text was cut. Whitespace runs become single spaces.
    """
    merged = _merged(text, spans)
    start, end = 0, len(text)
    if len(text) > width:
        if merged:
            first_start, first_end = merged[0]
            start = first_start - min(width // 4, first_start)
            if start > 0 and not text[start - 1].isspace():
                # do not open mid-word: skip to the next space before the match
                space = _SPACE.search(text, start, first_start)
                if space:
                    start = space.end()
            end = max(start + width, first_end)
        else:
            end = width
        end = min(end, len(text))
        # a term straddling the cut is shown whole rather than half
        for s, e in merged:
            if s < end < e:
                end = e
        ends_a_term = any(e == end for _, e in merged)
        if end < len(text) and not text[end].isspace() and not ends_a_term:
            floor = max(start + width // 2, merged[0][1] if merged else 0)
            end = _word_cut(text, merged, floor, end)
    inside = [(s, e) for s, e in merged if start <= s and e <= end]
    body = _SPACE.sub(" ", _marked(text, inside, start, end, mark)).strip()
    if start > 0:
        body = ELLIPSIS + body
    if end < len(text):
        body += ELLIPSIS
    return body


def _word_cut(text: str, merged: list[tuple[int, int]], floor: int, end: int) -> int:
    """``end`` moved back to the last whitespace after ``floor``, outside any span."""
    for cut in range(end - 1, floor, -1):
        if text[cut].isspace() and not any(s < cut < e for s, e in merged):
            return cut
    return end
