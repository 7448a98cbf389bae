"""PNG plots for reports and studies (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def bar_chart(values: Mapping[str, Mapping[str, float]], path: Path, title: str,
              ylabel: str = "F1 (%)") -> Path:
    """Grouped bars: one group per x label, one bar per series.
    `values[series][x_label] = value`."""
    series = list(values)
    labels = sorted({x for points in values.values() for x in points})
    width = 0.8 / max(len(series), 1)
    figure, axes = plt.subplots(figsize=(max(4.0, 0.9 * len(labels) * max(len(series), 1)), 3.2))
    for offset, name in enumerate(series):
        xs = [i + offset * width for i in range(len(labels))]
        axes.bar(xs, [values[name].get(x, 0.0) for x in labels], width, label=name)
    crowded = len(labels) > 6
    axes.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels,
                    rotation=30 if crowded else 0, ha="right" if crowded else "center")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if len(series) > 1:
        axes.legend(fontsize="small")
    return _save(figure, path)


def line_chart(lines: Mapping[str, Sequence[tuple[float, float]]], path: Path, title: str,
               xlabel: str, ylabel: str = "F1 (%)") -> Path:
    """One line per series through its (x, y) points, in x order."""
    figure, axes = plt.subplots(figsize=(5.0, 3.4))
    for name, points in lines.items():
        ordered = sorted(points)
        axes.plot([x for x, _ in ordered], [y for _, y in ordered], marker="o", label=name)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize="small")
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
