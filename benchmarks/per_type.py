"""Students side by side, paired by seed, from the `metrics.json` of finished study cells:
micro P / R / F1 (mean ± std over seeds), the paired difference to the first student with
its 95% t-interval, R (how much of the knowledge view's gain a distilled student keeps,
from the per-seed paired differences), and F1 per entity type or relation, mean over
seeds, with its gold count.

    python benchmarks/per_type.py runs/studies/mnre_knowledge/runs --split official_dev \
        --student "(a)=student-text" --student "(c)=student-cot" \
        --student "(d*)=student-distilled" --knowledge "(c)" --seeds 1,2,3

A student is `[NAME=]PREFIX`; its run for a seed is `RUNS_DIR/<PREFIX>__seed-<seed>`. The
first student is the reference of the differences; `--knowledge NAME` names the student
whose gain R divides by (R is left out without it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cotpd.corpus.errors import CotpdError  # noqa: E402
from cotpd.eval.paired import paired_difference  # noqa: E402
from cotpd.eval.study_table import format_mean_std  # noqa: E402

PER_LABEL_KEYS = ("per_type", "per_relation")  # MNER, MRE


def split_scores(run_dir: Path, split: str) -> dict:
    """The `splits[split]` block of a run's metrics.json: micro and per-type scores."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise CotpdError(f"{path} is missing: the run has not been evaluated")
    splits = json.loads(path.read_text(encoding="utf-8"))["splits"]
    if split not in splits:
        raise CotpdError(f"{path}: no split {split!r} (it has {', '.join(sorted(splits))})")
    return splits[split]


def per_label(scores: dict) -> dict[str, dict]:
    for key in PER_LABEL_KEYS:
        if key in scores:
            return scores[key]
    raise CotpdError(f"expected one of {', '.join(PER_LABEL_KEYS)} beside micro scores")


def _students(specs: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for spec in specs:
        name, _, prefix = spec.rpartition("=")
        pairs.append((name or prefix, prefix))
    return pairs


def _ratio(gain: list[float], ceiling: list[float]) -> str:
    """R: the mean paired gain over the mean paired gain of the knowledge view, and per seed."""
    whole = statistics.fmean(ceiling)
    if whole == 0:
        return "n/a"
    seeds = ", ".join(f"{g / c:.2f}" if c else "n/a" for g, c in zip(gain, ceiling, strict=True))
    return f"{statistics.fmean(gain) / whole:.2f} (per seed {seeds})"


def tables(runs_dir: Path, students: list[tuple[str, str]], seeds: list[int], split: str,
           knowledge: str | None) -> str:
    scores = {name: [split_scores(runs_dir / f"{prefix}__seed-{seed}", split) for seed in seeds]
              for name, prefix in students}
    names = [name for name, _ in students]
    if knowledge is not None and knowledge not in scores:
        raise CotpdError(f"--knowledge {knowledge!r} is not one of the students: {names}")
    f1 = {name: [s["micro"]["f1"] for s in runs] for name, runs in scores.items()}
    reference = names[0]
    gain = {name: [v - b for v, b in zip(f1[name], f1[reference], strict=True)] for name in names}
    lines = [f"{split}, seeds {', '.join(map(str, seeds))}; differences to {reference}, "
             "paired by seed, with 95% t-intervals", "",
             f"| student | P | R | F1 | − {reference} |"
             + (f" R (kept of {knowledge}'s gain) |" if knowledge else ""),
             "|---|---|---|---|---|" + ("---|" if knowledge else "")]
    for name in names:
        runs = scores[name]
        cells = [format_mean_std([s["micro"][key] for s in runs])
                 for key in ("precision", "recall")]
        difference = (paired_difference(f1[name], f1[reference]).in_points()
                      if name != reference else "")
        kept = ""
        if knowledge is not None and name not in (reference, knowledge):
            kept = _ratio(gain[name], gain[knowledge])
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {format_mean_std(f1[name])} | "
                     f"{difference} |" + (f" {kept} |" if knowledge else ""))
    gold = {label: found["n_gold"] for runs in scores.values() for s in runs
            for label, found in per_label(s).items()}
    order = sorted(gold, key=lambda label: (-gold[label], label))
    lines += ["", f"| type | gold | {' | '.join(names)} |",
              "|---|---|" + "---|" * len(names)]
    for label in order:
        means = [statistics.fmean(per_label(s).get(label, {}).get("f1", 0.0)
                                  for s in scores[name]) for name in names]
        lines.append(f"| `{label}` | {gold[label]} | "
                     + " | ".join(f"{100 * m:.1f}" for m in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs_dir", type=Path, help="Folder holding the study's cell runs.")
    parser.add_argument("--student", action="append", required=True,
                        help="[NAME=]PREFIX of a student's runs; the first is the reference.")
    parser.add_argument("--knowledge", help="NAME of the knowledge-view student R divides by.")
    parser.add_argument("--seeds", default="1,2,3", help="Comma-separated seeds, paired.")
    parser.add_argument("--split", default="test", help="Split of metrics.json to read.")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    try:
        print(tables(args.runs_dir, _students(args.student), seeds, args.split, args.knowledge))
    except CotpdError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
