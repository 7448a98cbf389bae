"""Paired differences over seeds: the same seed's run with and without a change, their mean
difference and its 95% t-interval (seeds are few, so a normal interval would be too narrow)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95% quantiles of Student's t by degrees of freedom (1-30); beyond, the normal's.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_975(dof: int) -> float:
    """The 97.5% quantile of Student's t with `dof` degrees of freedom (dof >= 1)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof}")
    return _T975[dof - 1] if dof <= len(_T975) else 1.960


@dataclass(frozen=True)
class PairedDifference:
    mean: float
    n: int
    low: float | None  # None with one pair: no interval
    high: float | None

    def in_points(self) -> str:
        """`+mean [low, high]` in percentage points of scores given as fractions; the mean
        alone with one pair."""
        if self.low is None or self.high is None:
            return f"{100 * self.mean:+.2f}"
        return f"{100 * self.mean:+.2f} [{100 * self.low:+.2f}, {100 * self.high:+.2f}]"


def paired_difference(treated: Sequence[float], reference: Sequence[float]) -> PairedDifference:
    """Mean of treated[i] - reference[i] and its 95% t-interval."""
    if len(treated) != len(reference) or not treated:
        raise ValueError(f"need equally many paired values, got {len(treated)} and "
                         f"{len(reference)}")
    diffs = [t - r for t, r in zip(treated, reference, strict=True)]
    mean = statistics.fmean(diffs)
    if len(diffs) == 1:
        return PairedDifference(mean, 1, None, None)
    half = t_975(len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5
    return PairedDifference(mean, len(diffs), mean - half, mean + half)
