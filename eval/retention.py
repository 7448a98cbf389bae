"""Retention R, paired by seed: the share of one change's gain that another keeps.

R = mean over seeds of (treated − base) / mean over seeds of (target − base). With base the
text-only student and target the student that reads the knowledge at test time, R says how
much of what the knowledge adds a text-only student keeps: 0 nothing, 1 all of it, above 1
more. A ratio of means, not a mean of ratios, so a seed where the target barely gains does
not blow it up; the per-seed ratios are kept to show the spread (with two or three seeds an
interval on a ratio says little). Where the target does not gain (mean, or that seed's gain
at or below zero) there is no share to keep, and R is undefined rather than a sign flip."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Retention:
    ratio: float | None  # None when the target's mean gain is <= 0: no share to keep
    per_seed: tuple[float | None, ...]  # None where that seed's target gain is <= 0

    def formatted(self) -> str:
        """`R (seed 1's, seed 2's, ...)`, two decimals; `n/a` where undefined."""
        def show(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"
        text = show(self.ratio)
        if len(self.per_seed) > 1:
            text += " (" + ", ".join(show(v) for v in self.per_seed) + ")"
        return text


def retention(treated: Sequence[float], target: Sequence[float],
              base: Sequence[float]) -> Retention:
    """R of `treated` against `target`, both over `base`; the three lists paired by seed."""
    if not (len(treated) == len(target) == len(base)) or not base:
        raise ValueError(f"need equally many paired values, got {len(treated)}, "
                         f"{len(target)} and {len(base)}")
    gains = [t - b for t, b in zip(treated, base, strict=True)]
    target_gains = [c - b for c, b in zip(target, base, strict=True)]
    mean_target = statistics.fmean(target_gains)
    return Retention(
        ratio=None if mean_target <= 0 else statistics.fmean(gains) / mean_target,
        per_seed=tuple(None if c <= 0 else g / c
                       for g, c in zip(gains, target_gains, strict=True)))
