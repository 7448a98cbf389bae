"""Sliding windows over the sub-words of a long text, so that no word goes unread.

A text longer than the encoder's budget is cut into windows of whole words, each at most
`budget` sub-words, consecutive windows sharing about `overlap` sub-words. Every word is then
labelled from one window: the one where it has the most context on its poorer side (the
text's own start and end count as unlimited context, since there is nothing more to see).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowPlan:
    spans: list[tuple[int, int]]  # [start, end) word range of each window
    owner: list[int]  # for each word, the window whose label it takes


def default_overlap(budget: int) -> int:
    """A quarter of the window: every word of an overlap keeps an eighth of a window of
    context on each side, at about a third more encoder work than no overlap."""
    return budget // 4


def plan_windows(lengths: Sequence[int], budget: int, overlap: int | None = None
                 ) -> WindowPlan:
    """Windows over words whose sub-word counts are `lengths`.

    A word longer than the whole budget gets a window of its own (its first sub-words are
    what labels it). Windows advance by at least one word, so the plan always ends.
    """
    if budget < 1:
        raise ValueError(f"window budget must be at least 1 sub-word, got {budget}")
    overlap = default_overlap(budget) if overlap is None else overlap
    if not 0 <= overlap < budget:
        raise ValueError(f"window overlap must be in [0, {budget}) sub-words, got {overlap}")
    n = len(lengths)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end = _fill(lengths, start, budget)
        if spans and end <= spans[-1][1]:
            # The overlap left no room for a new word: start after the last window instead.
            start = spans[-1][1]
            end = _fill(lengths, start, budget)
        spans.append((start, end))
        if end == n:
            break
        # The next window starts where the last `overlap` sub-words of this one begin.
        next_start, shared = end, 0
        while next_start - 1 > start and shared + lengths[next_start - 1] <= overlap:
            next_start -= 1
            shared += lengths[next_start]
        start = next_start
    return WindowPlan(spans, _owners(spans, lengths))


def _fill(lengths: Sequence[int], start: int, budget: int) -> int:
    """One past the last word of a window from `start`: as many words as fit, at least one."""
    end, used = start, 0
    while end < len(lengths) and (end == start or used + lengths[end] <= budget):
        used += lengths[end]
        end += 1
    return end


def _owners(spans: list[tuple[int, int]], lengths: Sequence[int]) -> list[int]:
    """Each word's window: the largest min(left, right) context in sub-words; ties go to
    the earlier window."""
    n = len(lengths)
    prefix = [0]
    for length in lengths:
        prefix.append(prefix[-1] + length)
    owner = [-1] * n
    best = [-1.0] * n
    for index, (start, end) in enumerate(spans):
        for word in range(start, end):
            left = float("inf") if start == 0 else prefix[word] - prefix[start]
            right = float("inf") if end == n else prefix[end] - prefix[word + 1]
            score = min(left, right)
            if score > best[word]:
                best[word], owner[word] = score, index
    return owner
