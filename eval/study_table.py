"""A study's results table: one row per grid cell without its seed, mean ± std over seeds;
paired differences; retention; the teachers' knowledge quality; the whole table.md text."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from cotpd.eval.paired import PairedDifference, paired_difference
from cotpd.eval.retention import Retention, retention


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0.0 for a single value)."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def format_mean_std(values: Sequence[float]) -> str:
    """Scores given as fractions, in percent: `mean ± std`, the value alone for one."""
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    mean, std = mean_std(values)
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


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


def _by_cell(results: Sequence[dict[str, Any]], axes: Sequence[str],
             metric: str) -> dict[tuple[str, ...], dict[int, float]]:
    """Arms -> seed -> `metric`, for the rows that have it."""
    by_cell: dict[tuple[str, ...], dict[int, float]] = {}
    for row in results:
        value = row["scores"].get(metric)
        if value is not None:
            by_cell.setdefault(tuple(row["cell"][a] for a in axes), {})[row["seed"]] = value
    return by_cell


def _sibling(by_cell: dict[tuple[str, ...], dict[int, float]], arms: tuple[str, ...],
             position: int, arm: str) -> dict[int, float]:
    """Seed -> score of the cell with the same arms but `arm` at `position` (empty if none)."""
    return by_cell.get((*arms[:position], arm, *arms[position + 1:]), {})


def _per_group_table(rows: Sequence[dict[str, Any]], axes: Sequence[str], column: str,
                     cell_text: Callable[[dict[str, Any]], str]) -> str:
    """One line per group: its arms, its paired seeds, and `cell_text(row)` under `column`."""
    header = [*axes, "paired seeds", column]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([*(str(row[a]) for a in axes),
                                         ", ".join(map(str, row["seeds"])), cell_text(row)])
                     + " |")
    return "\n".join(lines) + "\n"


def paired_against(results: Sequence[dict[str, Any]], axes: Sequence[str], axis: str,
                   reference: str, metric: str) -> list[dict[str, Any]]:
    """For each group whose `axis` arm is not `reference`: its `metric` minus that of the
    cell with the same other arms and `reference`, paired by seed (seeds both have)."""
    by_cell = _by_cell(results, axes, metric)
    position = list(axes).index(axis)
    rows = []
    for arms, values in by_cell.items():
        if arms[position] == reference:
            continue
        base = _sibling(by_cell, arms, position, reference)
        seeds = sorted(set(values) & set(base))
        rows.append({**dict(zip(axes, arms, strict=True)), "seeds": seeds,
                     "difference": paired_difference([values[s] for s in seeds],
                                                     [base[s] for s in seeds])
                     if seeds else None})
    return rows


def format_paired(rows: Sequence[dict[str, Any]], axes: Sequence[str], axis: str,
                  reference: str, metric: str) -> str:
    """Differences in percentage points, `mean [95% interval]`."""
    def text(row: dict[str, Any]) -> str:
        found: PairedDifference | None = row["difference"]
        if found is None:
            return "n/a (no shared seed)"
        if found.low is None:
            return f"{found.in_points()} (one seed: no interval)"
        return found.in_points()
    return _per_group_table(rows, axes, f"{metric} − {axis}={reference}", text)


def retention_against(results: Sequence[dict[str, Any]], axes: Sequence[str], axis: str,
                      reference: str, target: str, metric: str) -> list[dict[str, Any]]:
    """For each group whose `axis` arm is neither `reference` nor `target`: its retention R
    of the `target` cell's gain over the `reference` cell (same other arms), on the seeds
    all three have."""
    by_cell = _by_cell(results, axes, metric)
    position = list(axes).index(axis)
    rows = []
    for arms, values in by_cell.items():
        if arms[position] in (reference, target):
            continue
        base = _sibling(by_cell, arms, position, reference)
        kept = _sibling(by_cell, arms, position, target)
        seeds = sorted(set(values) & set(base) & set(kept))
        rows.append({**dict(zip(axes, arms, strict=True)), "seeds": seeds,
                     "retention": retention([values[s] for s in seeds],
                                            [kept[s] for s in seeds],
                                            [base[s] for s in seeds]) if seeds else None})
    return rows


def format_retention(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> str:
    """R with the per-seed ratios in brackets, in the order of the seeds column."""
    def text(row: dict[str, Any]) -> str:
        found: Retention | None = row["retention"]
        return "n/a (no seed has all three cells)" if found is None else found.formatted()
    return _per_group_table(rows, axes, "R (per seed)", text)


def study_markdown(name: str, seeds: Sequence[int], axes: Sequence[str],
                   metrics: Sequence[str], compare_to: dict[str, str],
                   scored: Sequence[dict[str, Any]], table: Sequence[dict[str, Any]],
                   quality: Sequence[dict[str, Any]],
                   retention_of: dict[str, str] | None = None) -> str:
    """A study's table.md: the `aggregate` table of its scored cells, each `compare_to`
    comparison paired by seed on the first metric, each `retention_of` arm's share of gain
    kept by the other arms (over the `compare_to` arm of its axis), and the teachers'
    knowledge quality."""
    text = (f"# Study {name}\n\nMean ± std over seeds {list(seeds)}; scores in %.\n\n"
            + (format_markdown(table, axes, metrics) if table else
               "(no cell was evaluated: the study's stages stop before evaluate)\n"))
    for axis, reference in compare_to.items():
        if scored:
            text += (f"\n## Paired by seed against {axis}={reference}\n\n"
                     "Differences in points; 95% t-interval over the paired seeds.\n\n"
                     + format_paired(paired_against(scored, axes, axis, reference,
                                                    metrics[0]),
                                     axes, axis, reference, metrics[0]))
    for axis, target in (retention_of or {}).items():
        if scored:
            reference = compare_to[axis]
            text += (f"\n## Share of {axis}={target}'s gain kept (R)\n\n"
                     f"R = mean paired gain over {axis}={reference} / mean paired gain of "
                     f"{axis}={target} over it, on {metrics[0]}; 1 keeps all of it.\n\n"
                     + format_retention(retention_against(scored, axes, axis, reference,
                                                          target, metrics[0]), axes))
    if quality:
        text += "\n## Knowledge quality (no training needed)\n\n" + format_quality(quality)
        if any(q.get("prompts") for q in quality):
            text += "\n### Per prompt\n\n" + format_prompt_quality(quality)
    return text


def format_quality(quality: Sequence[dict[str, Any]]) -> str:
    header = ["teacher", "dataset", "gold entities named", "samples with knowledge",
              "words (mean)", "truncated", "failure rate", "tokens in", "tokens out"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for q in quality:
        lines.append(
            f"| {q['teacher']} ({q['fingerprint']}) | {q['dataset']} | "
            f"{100 * q['entity_coverage']:.1f}% of {q['gold_entities']} | "
            f"{q['with_knowledge']} of {q['samples']} | {q['words_mean']:.1f} | "
            f"{100 * q.get('truncated_rate', 0.0):.1f}% | "
            f"{100 * q.get('failure_rate', 0.0):.1f}% | {q.get('tokens_in', 0)} | "
            f"{q.get('tokens_out', 0)} |")
    return "\n".join(lines) + "\n"


def format_prompt_quality(quality: Sequence[dict[str, Any]]) -> str:
    """One row per teacher x dataset x prompt version: what each prompt kind adds and costs."""
    header = ["teacher", "dataset", "prompt", "gold entities named", "samples answered",
              "words (mean)", "truncated", "failures (reasons)", "tokens in", "tokens out",
              "latency s (mean)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for q in quality:
        for p in q.get("prompts", []):
            reasons = ", ".join(f"{n} {r}" for r, n in p["failure_reasons"].items())
            latency = p["mean_latency_s"]
            lines.append(
                f"| {q['teacher']} | {q['dataset']} | {p['prompt']} ({p['version']}) | "
                f"{100 * p['entity_coverage']:.1f}% | {p['with_knowledge']} of {p['samples']} | "
                f"{p['words_mean']:.1f} | {100 * p.get('truncated_rate', 0.0):.1f}% | "
                f"{p.get('failures', 0)}{f' ({reasons})' if reasons else ''} | "
                f"{p.get('tokens_in', 0)} | {p.get('tokens_out', 0)} | "
                f"{'' if latency is None else f'{latency:.2f}'} |")
    return "\n".join(lines) + "\n"
