"""The low-resource protocol (the paper's Figure 3): a seeded sample of N training
sentences x augmentation times K, a student trained per cell, dev and test F1.

Per cell: the subset is written as a CoNLL data root (<work>/subsets/n<N>/twitter2017, the
dev and test files linked from the real data root), `run_augment` writes K copies per type
per sentence (one shared teacher store, so the copies of a smaller K or N are never asked
twice: subsets are nested and copy j is the same prompt at every K), `run_train` trains
on the subset plus its augmented samples, and the test split is scored. Each finished cell is
one JSON line in the results file; cells already there are skipped (resumable run by run).

    python benchmarks/low_resource.py --sizes 50 100 --times 0 1 2 4
    python benchmarks/low_resource.py --report        # only the table and the plot
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"

RESULTS = REPO / "benchmarks" / "results" / "low_resource.jsonl"
DATASET = "twitter2017"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "low_resource" /
                        "base.yaml")
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--times", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--types", nargs="+", default=["style", "entity"],
                        choices=["style", "entity", "image"],
                        help="augmentation types, each at K copies (image only matters to "
                             "students that read captions)")
    parser.add_argument("--seed", type=int, default=0, help="subset and training seed")
    parser.add_argument("--dev-size", type=int, default=200,
                        help="dev sentences for model selection (seeded sample; 0: all); "
                             "test is always the full split")
    parser.add_argument("--work-dir", type=Path, default=REPO / "runs" / "low_resource")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="extra config override KEY=VALUE (part of each cell's key)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="only write table and plot")
    return parser.parse_args(argv)


def cell_key(size: int, times: int, args: argparse.Namespace) -> str:
    """A cell and everything that shapes its result (the config file's text included)."""
    from cotpd.pipeline.config import load_yaml_with_base

    config = json.dumps(load_yaml_with_base(args.config), sort_keys=True, default=str)
    return json.dumps({"size": size, "times": times, "types": sorted(args.types),
                       "seed": args.seed, "dev_size": args.dev_size,
                       "config": hashlib.sha256(config.encode()).hexdigest()[:12],
                       "overrides": args.overrides}, sort_keys=True)


def finished(results: Path) -> list[dict]:
    if not results.is_file():
        return []
    return [json.loads(line) for line in results.read_text().splitlines() if line.strip()]


def subset_root(size: int, args: argparse.Namespace) -> Path:
    """A data root whose training split is the first `size` sentences of one seeded
    shuffle (so every smaller subset is inside every larger one), with a seeded dev sample
    of `--dev-size` sentences (a low-resource setting has little dev data, and evaluating
    on CPU is the slow part) and the full test split."""
    from cotpd.corpus.conll import write_conll
    from cotpd.corpus.registry import get_dataset, read_split, split_path

    spec = get_dataset(DATASET)
    root = args.work_dir / "subsets" / f"seed{args.seed}_dev{args.dev_size}" / f"n{size}"
    folder = root / spec.directory
    train_file = folder / spec.splits["train"]
    if not train_file.is_file():
        train = read_split(spec, "train", args.data_root).samples
        order = list(range(len(train)))
        random.Random(args.seed).shuffle(order)
        folder.mkdir(parents=True, exist_ok=True)
        test = folder / spec.splits["test"]
        if not test.exists():
            test.symlink_to(split_path(spec, "test", args.data_root).resolve())
        dev = read_split(spec, "dev", args.data_root).samples
        if args.dev_size and args.dev_size < len(dev):
            keep = sorted(random.Random(args.seed).sample(range(len(dev)), args.dev_size))
            dev = [dev[i] for i in keep]
        write_conll(folder / spec.splits["dev"], dev)
        write_conll(train_file, [train[i] for i in sorted(order[:size])])
    return root


def run_cell(size: int, times: int, args: argparse.Namespace, teacher_cache: dict) -> dict:
    from cotpd.corpus.registry import get_dataset, read_split
    from cotpd.eval.metrics import mner_scores
    from cotpd.pipeline.config import load_run_config
    from cotpd.pipeline.sections import run_augment, run_train
    from cotpd.student.predict import StudentPredictor

    name = f"seed{args.seed}_n{size}_k{times}"
    overrides = [f"run.output_dir={args.work_dir / 'runs'}", f"run.name={name}",
                 f"run.seed={args.seed}", f"data.data_root={subset_root(size, args)}",
                 f"teacher.store={args.work_dir / 'teacher_store.sqlite'}", *args.overrides]
    if times:
        overrides += [f"augment.times.{kind}={times}" for kind in args.types]
    else:
        overrides.append("augment=null")
    run_config = load_run_config(args.config, overrides)
    run_dir = run_config.run.directory
    record: dict = {"key": cell_key(size, times, args), "size": size, "times": times,
                    "types": sorted(args.types), "seed": args.seed}
    start = time.perf_counter()
    if times:
        if "teacher" not in teacher_cache:
            from cotpd.teacher.factory import build_teacher

            teacher_cache["teacher"] = build_teacher(run_config.teacher)
        summary = run_augment(run_config, run_dir, teacher=teacher_cache["teacher"]).summary
        record["augmented"] = summary["written"]
        record["augment_types"] = summary["types"]
    record["augment_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    result = run_train(run_config, run_dir)
    record["train_seconds"] = round(time.perf_counter() - start, 1)
    test = read_split(get_dataset(DATASET), "test", args.data_root).samples
    predicted = StudentPredictor.load(result.outputs["model"], batch_size=64).predict_samples(test)
    scores = mner_scores([s.labels for s in test], predicted).micro
    record.update(dev_f1=result.summary["dev"].get("eval_f1"), test_f1=scores.f1,
                  test_precision=scores.precision, test_recall=scores.recall,
                  steps=result.summary["steps"],
                  train_samples=result.summary["context"]["train"]["samples"] + record.get(
                      "augmented", 0))
    return record


def report(rows: list[dict], results: Path) -> str:
    """The markdown table (test F1, dev F1 in brackets) and the plot next to the results."""
    sizes = sorted({r["size"] for r in rows})
    times = sorted({r["times"] for r in rows})
    cell = {(r["size"], r["times"]): r for r in rows}
    lines = ["| train sentences | " + " | ".join(f"K={t}" for t in times) + " |",
             "|---|" + "---|" * len(times)]
    for size in sizes:
        values = []
        for t in times:
            r = cell.get((size, t))
            values.append(f"{100 * r['test_f1']:.2f} ({100 * r['dev_f1']:.2f})" if r else "-")
        lines.append(f"| {size} | " + " | ".join(values) + " |")
    table = "\n".join(lines) + "\n"
    results.with_suffix(".md").write_text(
        "Test F1 (dev F1) of the text-only student, Twitter-2017, by training sentences and "
        "augmentation times K.\n\n" + table)
    _plot(rows, sizes, results.with_suffix(".png"))
    return table


def _plot(rows: list[dict], sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3.5), dpi=120)
    for size in sizes:
        points = sorted((r["times"], 100 * r["test_f1"]) for r in rows if r["size"] == size)
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                  label=f"{size} sentences")
    axis.set_xlabel("augmentation times K")
    axis.set_ylabel("test F1")
    axis.set_title("Twitter-2017, low-resource, text-only student")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.report:
        if args.data_root is None:
            sys.exit(NO_DATA_ROOT)
        import torch
        from cotpd.corpus.offline import set_offline_switches

        set_offline_switches()
        torch.set_num_threads(args.threads)
        done = {r["key"] for r in finished(args.results)}
        teacher_cache: dict = {}
        # Times-major: every size at K before any at a larger K, so all the lines grow together
        # (a larger K costs the teacher the most).
        for times in args.times:
            for size in args.sizes:
                if cell_key(size, times, args) in done:
                    continue
                began = time.perf_counter()
                record = run_cell(size, times, args, teacher_cache)
                record["wall_seconds"] = round(time.perf_counter() - began, 1)
                args.results.parent.mkdir(parents=True, exist_ok=True)
                with open(args.results, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(f"n={size} K={times}: test F1 {100 * record['test_f1']:.2f} "
                      f"({record['wall_seconds']} s)", flush=True)
    keys = {cell_key(s, t, args) for s in args.sizes for t in args.times}
    rows = [r for r in finished(args.results) if r["key"] in keys]
    if rows:
        print(report(rows, args.results))


if __name__ == "__main__":
    main()
