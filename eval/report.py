"""A run's `report.md`: headline and per-type scores, confusion, the worst errors with their
knowledge, knowledge statistics, and time and tokens per stage. Pure text from plain dicts,
so a report can be re-rendered from `metrics.json` alone."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from cotpd.corpus.records import MnerSample, MreSample
from cotpd.eval.tasks import eval_task


def knowledge_statistics(samples: Sequence[MnerSample | MreSample],
                         teacher_summary: dict[str, Any] | None) -> dict[str, Any]:
    """Length of the knowledge each sample got (in words), how many got none, and the
    teacher's own counts (answered, failed, within budget, summarized, truncated)."""
    lengths = [len(s.context.knowledge.split()) for s in samples if s.context.knowledge]
    stats: dict[str, Any] = {
        "samples": len(samples), "with_knowledge": len(lengths),
        "without_knowledge": len(samples) - len(lengths),
        "words_mean": round(statistics.fmean(lengths), 1) if lengths else 0.0,
        "words_median": statistics.median(lengths) if lengths else 0,
        "words_max": max(lengths, default=0),
    }
    if teacher_summary:
        stats["teacher"] = {key: teacher_summary.get(key) for key in
                            ("teacher", "backend", "fingerprint", "answered", "failed",
                             "skipped_done")}
        stats["assembly"] = teacher_summary.get("knowledge", {})
    return stats


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _per_label(scores: dict[str, Any], task: str) -> dict[str, Any]:
    return scores.get(eval_task(task).per_label_key) or {}


def _cell(text: str | None, limit: int = 300) -> str:
    if not text:
        return "(none)"
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + " ..."


def _seen_unseen_section(groups: dict[str, Any] | None, split: str) -> list[str]:
    """Entities seen in training (surface, case-folded) against unseen ones, overall and
    per type."""
    if not groups:
        return []
    rows = []
    for group, scores in groups.items():
        for name, s in [("all", scores["micro"]), *scores["per_type"].items()]:
            rows.append([group, name, s["n_gold"], s["n_pred"], _pct(s["precision"]),
                         _pct(s["recall"]), _pct(s["f1"])])
    lines = ["", f"## Entities seen in training vs unseen ({split})", "",
             "An entity is seen when its surface string, case-folded, is a gold entity of "
             "the training split the student learnt from; predictions are grouped the same way.",
             ""]
    return lines + _table(["group", "type", "gold", "predicted", "precision", "recall", "F1"],
                          rows)


def render_report(metrics: dict[str, Any], confusion: dict[str, dict[str, int]],
                  worst: Sequence[dict[str, Any]], plots: Sequence[str]) -> str:
    """The markdown report of one run."""
    head = metrics["headline"]
    lines = [f"# Run {metrics['run']}: {metrics['dataset']} ({metrics['task'].upper()})", "",
             f"Student `{metrics['variant']}` on `{metrics['encoder']}`, inference view "
             f"`{metrics['infer_view']}`; teacher "
             f"{(metrics.get('teacher') or {}).get('name', '(none)')}.", "",
             f"**{head['split']} F1 {_pct(head['f1'])}** (P {_pct(head['precision'])}, "
             f"R {_pct(head['recall'])}); model selected on dev only.", "", "## Scores", ""]
    lines += _table(["split", "precision", "recall", "F1", "gold"],
                    [[split, _pct(s["micro"]["precision"]), _pct(s["micro"]["recall"]),
                      _pct(s["micro"]["f1"]), s["micro"]["n_gold"]]
                     for split, s in metrics["splits"].items()])
    per_label = _per_label(metrics["splits"][head["split"]], metrics["task"])
    lines += ["", f"## Per type ({head['split']})", ""]
    lines += _table(["type", "precision", "recall", "F1", "gold", "predicted"],
                    [[name, _pct(s["precision"]), _pct(s["recall"]), _pct(s["f1"]),
                      s["n_gold"], s["n_pred"]] for name, s in per_label.items()])
    lines += _seen_unseen_section(metrics.get("seen_unseen", {}).get(head["split"]),
                                  head["split"])
    columns = sorted({c for row in confusion.values() for c in row})
    lines += ["", f"## Confusion ({head['split']}; rows gold, columns predicted)", ""]
    lines += _table(["gold \\ predicted", *columns],
                    [[row, *(counts.get(c, 0) for c in columns)]
                     for row, counts in confusion.items()])
    lines += ["", f"## The {len(worst)} worst errors ({head['split']}), with their knowledge", ""]
    for rank, item in enumerate(worst, 1):
        lines += [f"{rank}. `{item['id']}` ({item['errors']} wrong): {_cell(item['text'])}",
                  f"   - gold: {'; '.join(item['gold']) or '(none)'}",
                  f"   - predicted: {'; '.join(item['predicted']) or '(none)'}",
                  f"   - caption: {_cell(item.get('caption'))}",
                  f"   - knowledge: {_cell(item.get('knowledge'))}"]
    lines += ["", "## Knowledge", ""]
    knowledge = metrics.get("knowledge", {})
    for split, stats in knowledge.items():
        lines.append(f"- {split}: {stats['with_knowledge']} of {stats['samples']} samples with "
                     f"knowledge; words mean {stats['words_mean']}, median "
                     f"{stats['words_median']}, max {stats['words_max']}")
    first = next(iter(knowledge.values()), {})
    if first.get("teacher"):
        t = first["teacher"]
        lines.append(f"- teacher {t['teacher']} ({t['backend']}, {t['fingerprint']}): "
                     f"{t['answered']} answered and {t['failed']} failed in the last teach run, "
                     f"{t['skipped_done']} taken from the store")
        lines.append(f"- assembly: {first.get('assembly')}")
    lines += ["", "## Time and tokens per stage", ""]
    lines += _table(["stage", "seconds", "tokens in", "tokens out", "notes"],
                    [[name, s.get("seconds", ""), s.get("tokens_in", ""), s.get("tokens_out", ""),
                      s.get("notes", "")] for name, s in metrics.get("stages", {}).items()])
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    fp = metrics.get("fingerprints", {})
    lines += ["", "## Provenance", "",
              f"- config sha256 {fp.get('config')}; student weights sha256 "
              f"{fp.get('student_weights')}; teacher {fp.get('teacher')}",
              f"- git {metrics.get('git', {}).get('commit')} (dirty: "
              f"{metrics.get('git', {}).get('dirty')})"]
    lines += [f"- data {path}: {digest}" for path, digest in fp.get("data", {}).items()]
    return "\n".join(lines) + "\n"
