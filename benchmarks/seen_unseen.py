"""Where the knowledge's worth goes: entities seen in training vs unseen, per student, paired
by seed, from the prediction files of finished runs.

For each seed, the text student (a), the knowledge-view student (c) and each distilled
student are scored on the test entities whose surface (case-folded) is, or is not, a gold
entity of the run's own training split (the labelled part when the run takes a subset).
The table gives each group's F1 (mean ± std over seeds), the paired differences to (a)
with 95% t-intervals, which share of the entities (c) gains over (a) (true positives) are
unseen ones, and R per group: how much of (c) − (a) the distilled student keeps, in F1 and
in correct entities.

    python benchmarks/seen_unseen.py RUNS_DIR --text "(a)=student-distilled__teacher-none" \
        --knowledge "(c)=student-cot__teacher-chatgpt" \
        --distilled "(d*)=student-distilled__teacher-chatgpt" --seeds 1,2,3

A student is `[NAME=]PREFIX`; its run for a seed is `RUNS_DIR/<PREFIX>__seed-<seed>` (a
`cotpd study` cell), holding
`data/train.jsonl`, `data/<split>.jsonl` and `eval/<split>.conll`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cotpd.corpus.conll import read_conll  # noqa: E402
from cotpd.corpus.errors import CotpdError  # noqa: E402
from cotpd.corpus.files import read_samples_jsonl  # noqa: E402
from cotpd.eval.paired import paired_difference  # noqa: E402
from cotpd.eval.seen_unseen import GROUPS, seen_surfaces, seen_unseen_scores  # noqa: E402
from cotpd.eval.study_table import format_mean_std  # noqa: E402

ALL = "all"


def run_groups(run_dir: Path, split: str) -> dict[str, dict]:
    """{"all" | "seen" | "unseen": {"micro": ..., "per_type": ...}} of one finished run."""
    train = read_samples_jsonl(run_dir / "data" / "train.jsonl")
    gold = read_samples_jsonl(run_dir / "data" / f"{split}.jsonl")
    predictions = run_dir / "eval" / f"{split}.conll"
    if not predictions.is_file():
        raise CotpdError(f"{predictions} is missing: the run has not been evaluated")
    predicted = read_conll(predictions).samples
    if [s.tokens for s in gold] != [s.tokens for s in predicted]:
        raise CotpdError(f"{predictions}: its sentences differ from {run_dir}/data/{split}.jsonl")
    tokens = [s.tokens for s in gold]
    labels, guesses = [s.labels for s in gold], [s.labels for s in predicted]
    groups = seen_unseen_scores(tokens, labels, guesses,
                                seen_surfaces((s.tokens, s.labels) for s in train))
    everything = seen_unseen_scores(tokens, labels, guesses, set())["unseen"]
    return {ALL: everything, **groups}


def _gained(runs: list[dict], base: list[dict], group: str) -> int:
    """Correct entities (true positives) over the base runs, summed over paired seeds."""
    return sum(r[group]["micro"]["tp"] - b[group]["micro"]["tp"]
               for r, b in zip(runs, base, strict=True))


def _kept_entities(gained: int, ceiling: int) -> str:
    return f"{gained:+d} ({gained / ceiling:.0%})" if ceiling > 0 else f"{gained:+d}"


def table(scores: dict[str, list[dict]], text: str, knowledge: str,
          distilled: list[str]) -> list[str]:
    """The markdown rows: one per group (all, seen, unseen)."""
    header = ["group", "gold", *(f"{name} F1" for name in scores),
              f"{knowledge} − {text}", *(f"{d} − {text}" for d in distilled),
              f"share of {knowledge}'s gained entities", *(f"R {d}" for d in distilled),
              *(f"{d}'s gained entities" for d in distilled)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    gained_all = _gained(scores[knowledge], scores[text], ALL)
    for group in (ALL, *GROUPS):
        f1 = {name: [run[group]["micro"]["f1"] for run in runs] for name, runs in scores.items()}
        gold = scores[text][0][group]["micro"]["n_gold"]
        gained = _gained(scores[knowledge], scores[text], group)
        share = f"{gained / gained_all:.0%} ({gained:+d} of {gained_all:+d})" if gained_all else "-"
        ceiling = statistics.fmean(f1[knowledge]) - statistics.fmean(f1[text])
        kept = [(statistics.fmean(f1[d]) - statistics.fmean(f1[text])) / ceiling
                if ceiling else float("nan") for d in distilled]
        row = [group, gold, *(format_mean_std(v) for v in f1.values()),
               paired_difference(f1[knowledge], f1[text]).in_points(),
               *(paired_difference(f1[d], f1[text]).in_points() for d in distilled), share,
               *(f"{r:.2f}" for r in kept),
               *(_kept_entities(_gained(scores[d], scores[text], group), gained)
                 for d in distilled)]
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return lines


def precision_recall_table(scores: dict[str, list[dict]]) -> list[str]:
    """Precision / recall per group (mean over seeds) and the predicted count (summed)."""
    names = list(scores)
    lines = ["| group | " + " | ".join(f"{n} P / R (predicted)" for n in names) + " |",
             "|" + "---|" * (1 + len(names))]
    for group in (ALL, *GROUPS):
        cells = []
        for name in names:
            runs = [run[group]["micro"] for run in scores[name]]
            precision = statistics.fmean(r["precision"] for r in runs)
            recall = statistics.fmean(r["recall"] for r in runs)
            cells.append(f"{100 * precision:.2f} / {100 * recall:.2f} "
                         f"({sum(r['n_pred'] for r in runs)})")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines


def type_table(scores: dict[str, list[dict]]) -> list[str]:
    """F1 per group and type, mean over seeds."""
    names = list(scores)
    lines = ["| group | type | gold | " + " | ".join(names) + " |",
             "|" + "---|" * (3 + len(names))]
    for group in GROUPS:
        for kind, first in scores[names[0]][0][group]["per_type"].items():
            means = [statistics.fmean(run[group]["per_type"].get(kind, {"f1": 0.0})["f1"]
                                      for run in scores[name]) for name in names]
            lines.append(f"| {group} | {kind} | {first['n_gold']} | "
                         + " | ".join(f"{100 * m:.2f}" for m in means) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the folder holding the runs (a study's runs/)")
    parser.add_argument("--text", required=True, help="run prefix of the text student (a)")
    parser.add_argument("--knowledge", required=True,
                        help="run prefix of the student that reads the knowledge at test (c)")
    parser.add_argument("--distilled", action="append", required=True,
                        help="run prefix of a distilled student (repeat for several)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", type=Path, help="also write the per-run scores here")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    scores: dict[str, list[dict]] = {}
    names = {}
    for given in (args.text, args.knowledge, *args.distilled):
        name, _, prefix = given.rpartition("=")
        names[given] = name or prefix
        scores[names[given]] = [run_groups(args.runs / f"{prefix}__seed-{seed}", args.split)
                                for seed in seeds]
    print(f"{args.split}, seeds {args.seeds}; R = (distilled − text) / (knowledge − text), "
          "mean F1 per group\n")
    print("\n".join(table(scores, names[args.text], names[args.knowledge],
                          [names[d] for d in args.distilled])))
    print("\nPrecision / recall per group (mean over seeds; predicted entities summed)\n")
    print("\n".join(precision_recall_table(scores)))
    print("\nF1 per group and type (mean over seeds)\n")
    print("\n".join(type_table(scores)))
    if args.json:
        args.json.write_text(json.dumps({"seeds": seeds, "split": args.split,
                                         "scores": scores}, indent=1) + "\n")


if __name__ == "__main__":
    main()
