"""Fixed-width text tables for metric results."""

from __future__ import annotations

from cotpd.eval.metrics import PRF, MnerScores, MreScores


def format_scores_table(scores: MnerScores | MreScores) -> str:
    """Rows per type/relation (sorted) then ``micro``; P/R/F1 as percentages, plus support."""
    rows: list[tuple[str, PRF]] = [*sorted(scores.per_label.items()), ("micro", scores.micro)]
    width = max(len("label"), *(len(name) for name, _ in rows))
    header = f"{'label':<{width}}  {'precision':>9}  {'recall':>9}  {'f1':>9}  {'support':>7}"
    lines = [header, "-" * len(header)]
    for name, s in rows:
        lines.append(
            f"{name:<{width}}  {100 * s.precision:>9.2f}  {100 * s.recall:>9.2f}"
            f"  {100 * s.f1:>9.2f}  {s.support:>7d}"
        )
    return "\n".join(lines)
