"""A study's results table: one row per grid cell without its seed, mean ± std over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from cotpd.eval.paired import PairedDifference, paired_difference


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
    """Scores as percentages, `mean ± std`; times (`*.seconds`) in seconds."""
    header = [*axes, "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in table:
        cells = [str(entry[axis]) for axis in axes] + [str(entry["n"])]
        for metric in metrics:
            value = entry[metric]
            cells.append("n/a" if value is None else _format(metric, value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _format(metric: str, value: tuple[float, float]) -> str:
    if metric.endswith(".seconds"):
        return f"{value[0]:.0f} ± {value[1]:.0f} s"
    return f"{100 * value[0]:.2f} ± {100 * value[1]:.2f}"


def paired_against(results: Sequence[dict[str, Any]], axes: Sequence[str], axis: str,
                   reference: str, metric: str) -> list[dict[str, Any]]:
    """For each group whose `axis` arm is not `reference`: its `metric` minus that of the
    cell with the same other arms and `reference`, paired by seed (seeds both have)."""
    by_cell: dict[tuple[str, ...], dict[int, float]] = {}
    for row in results:
        value = row["scores"].get(metric)
        if value is not None:
            by_cell.setdefault(tuple(row["cell"][a] for a in axes), {})[row["seed"]] = value
    position = list(axes).index(axis)
    rows = []
    for arms, values in by_cell.items():
        if arms[position] == reference:
            continue
        base = by_cell.get((*arms[:position], reference, *arms[position + 1:]), {})
        seeds = sorted(set(values) & set(base))
        rows.append({**dict(zip(axes, arms, strict=True)), "seeds": seeds,
                     "difference": paired_difference([values[s] for s in seeds],
                                                     [base[s] for s in seeds])
                     if seeds else None})
    return rows


def format_paired(rows: Sequence[dict[str, Any]], axes: Sequence[str], axis: str,
                  reference: str, metric: str) -> str:
    """Differences in percentage points, `mean [95% interval]`."""
    header = [*axes, "paired seeds", f"{metric} − {axis}={reference}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        found: PairedDifference | None = row["difference"]
        if found is None:
            text = "n/a (no shared seed)"
        elif found.low is None:
            text = f"{100 * found.mean:+.2f} (one seed: no interval)"
        else:
            text = f"{100 * found.mean:+.2f} [{100 * found.low:+.2f}, {100 * found.high:+.2f}]"
        lines.append("| " + " | ".join([*(str(row[a]) for a in axes),
                                         ", ".join(map(str, row["seeds"])), text]) + " |")
    return "\n".join(lines) + "\n"
