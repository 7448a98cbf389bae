"""Corpus statistics for `cotpd data stats`: sizes, entities or relations, lengths, problems."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cotpd.corpus.conll import ReadResult
from cotpd.corpus.tasks import count_labels, get_task

PERCENTILES = (50, 90, 95, 99)


@dataclass
class SplitStats:
    path: str
    sha256: str
    sentences: int
    tokens: int
    length_percentiles: dict[str, float]
    max_length: int
    label_counts: dict[str, int]
    problems: dict[str, int] = field(default_factory=dict)
    images: int = 0

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def length_summary(lengths: Sequence[int]) -> dict[str, float]:
    """p50, p90, p95, p99 and max of some lengths (sub-words per sample, say)."""
    values = np.array(lengths) if len(lengths) else np.zeros(1)
    return {**{f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES},
            "max": float(values.max())}


def split_stats(result: ReadResult) -> SplitStats:
    """Counts for one split. For MNER `label_counts` are entities per type; for MRE,
    instances per relation and `sentences` counts instances, as MNRE papers do."""
    samples = result.samples
    lengths = np.array([len(s.tokens) for s in samples])
    counts = count_labels(samples)
    return SplitStats(
        path=result.path,
        sha256=result.sha256,
        sentences=len(samples),
        tokens=int(lengths.sum()),
        length_percentiles={f"p{q}": float(np.percentile(lengths, q)) for q in PERCENTILES},
        max_length=int(lengths.max()),
        label_counts=dict(sorted(counts.items())),
        problems=dict(Counter(p.kind for p in result.problems)),
        images=len({s.image_id for s in samples if s.image_id}),
    )


def format_stats(name: str, task: str, stats: dict[str, SplitStats],
                 subwords: dict[str, dict[str, float]] | None = None) -> str:
    """A readable table: one column per split; `subwords` (split -> length_summary of
    sub-word lengths) adds its rows."""
    splits = list(stats)
    spec = get_task(task)
    unit = spec.count_unit
    rows: list[tuple[str, list[str]]] = [
        (unit, [str(stats[s].sentences) for s in splits]),
        ("tokens", [str(stats[s].tokens) for s in splits]),
        ("images", [str(stats[s].images) for s in splits]),
    ]
    for q in PERCENTILES:
        rows.append((f"length p{q}", [f"{stats[s].length_percentiles[f'p{q}']:g}"
                                      for s in splits]))
    rows.append(("length max", [str(stats[s].max_length) for s in splits]))
    for key in (*(f"p{q}" for q in PERCENTILES), "max") if subwords else ():
        rows.append((f"sub-words {key}", [f"{subwords[s][key]:g}" for s in splits]))
    labels = sorted({label for s in splits for label in stats[s].label_counts})
    kind = spec.label_row
    for label in labels:
        rows.append((f"{kind} {label}", [str(stats[s].label_counts.get(label, 0))
                                         for s in splits]))
    if spec.labels_total:
        rows.append((f"{kind} total", [str(sum(stats[s].label_counts.values()))
                                        for s in splits]))
    problems = sorted({p for s in splits for p in stats[s].problems})
    for problem in problems:
        rows.append((f"problem: {problem}", [str(stats[s].problems.get(problem, 0))
                                             for s in splits]))
    if not problems:
        rows.append(("label problems", ["0" for _ in splits]))
    width = max(len(r[0]) for r in rows)
    columns = [max(len(split), *(len(r[1][i]) for r in rows)) for i, split in enumerate(splits)]
    header = f"{name} ({task})".ljust(width) + "  " + "  ".join(
        split.rjust(columns[i]) for i, split in enumerate(splits))
    lines = [header, "-" * len(header)]
    for label, values in rows:
        lines.append(label.ljust(width) + "  " + "  ".join(
            v.rjust(columns[i]) for i, v in enumerate(values)))
    return "\n".join(lines)
