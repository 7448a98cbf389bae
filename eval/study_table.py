"""A study's results table: one row per grid cell without its seed, mean ± std over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0.0 for a single value)."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def aggregate(results: Sequence[dict[str, Any]], axes: Sequence[str],
              metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Group result rows (each with `cell: {axis: arm}`, `seed` and `scores: {metric: v}`) by
    their arms, in first-seen order; each group gets n, seeds and mean/std per metric."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in results:
        groups.setdefault(tuple(row["cell"][axis] for axis in axes), []).append(row)
    table = []
    for arms, rows in groups.items():
        entry: dict[str, Any] = {**dict(zip(axes, arms, strict=True)), "n": len(rows),
                                 "seeds": sorted(r["seed"] for r in rows)}
        for metric in metrics:
            values = [r["scores"][metric] for r in rows if r["scores"].get(metric) is not None]
            entry[metric] = mean_std(values) if values else None
        table.append(entry)
    return table


def format_markdown(table: Sequence[dict[str, Any]], axes: Sequence[str],
                    metrics: Sequence[str]) -> str:
    """Scores as percentages, `mean ± std (n)`."""
    header = [*axes, "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in table:
        cells = [str(entry[axis]) for axis in axes] + [str(entry["n"])]
        for metric in metrics:
            value = entry[metric]
            cells.append("n/a" if value is None else f"{100 * value[0]:.2f} ± {100 * value[1]:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
