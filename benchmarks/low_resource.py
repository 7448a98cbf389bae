"""The low-resource protocol (the paper's Figure 3): a seeded sample of N training
sentences x augmentation times K, a student trained per cell, dev and test F1.

The grid is a `cotpd study` (axes times x size, one seed): each cell keeps the first N
sentences of one seeded shuffle of the training split (`data.labelled_count`, so the subsets
are nested), asks the teacher for K copies per type per sentence (one shared teacher store,
so the copies of a smaller K or N are never asked twice: copy j is the same prompt at every
K), trains and scores the full test split. What the study cannot express stays here: the
seeded dev sample (a data root whose dev file is that sample, train and test linked from
the real root), and the results file, one JSON line per finished cell; cells already there
are skipped (resumable run by run).

    python benchmarks/low_resource.py --sizes 50 100 --times 0 1 2 4
    python benchmarks/low_resource.py --list          # the cells and their run folders
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
from cotpd.corpus.run_files import RunFiles  # noqa: E402
from cotpd.pipeline.study import StudySpec, cell_config, cell_id, cells, run_cell  # noqa: E402

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
    parser.add_argument("--list", action="store_true",
                        help="only list the cells, their run folders and which are done")
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


def dev_root(args: argparse.Namespace) -> Path:
    """A data root with the real train and test splits and a seeded dev sample of
    `--dev-size` sentences (a low-resource setting has little dev data, and evaluating on CPU
    is the slow part). Nothing is written until a cell runs."""
    return args.work_dir / "subsets" / f"seed{args.seed}_dev{args.dev_size}"


def write_dev_root(args: argparse.Namespace) -> None:
    from cotpd.corpus.conll import write_conll
    from cotpd.corpus.registry import get_dataset, read_split, split_path

    spec = get_dataset(DATASET)
    folder = dev_root(args) / spec.directory
    if (folder / spec.splits["dev"]).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        link = folder / spec.splits[split]
        if not link.exists():
            link.symlink_to(split_path(spec, split, args.data_root).resolve())
    dev = read_split(spec, "dev", args.data_root).samples
    if args.dev_size and args.dev_size < len(dev):
        keep = sorted(random.Random(args.seed).sample(range(len(dev)), args.dev_size))
        dev = [dev[i] for i in keep]
    write_conll(folder / spec.splits["dev"], dev)


def study_spec(args: argparse.Namespace) -> StudySpec:
    """The grid as a study: times-major (every size at K before any at a larger K), so all the
    lines grow together (a larger K costs the teacher the most)."""
    return StudySpec(
        name=f"seed{args.seed}_dev{args.dev_size}", config=args.config.resolve(),
        output_dir=args.work_dir / "studies", store=args.work_dir / "teacher_store.sqlite",
        overrides={"data.data_root": str(dev_root(args)), "data.labelled_seed": args.seed},
        axes={"times": {f"k{k}": ({f"augment.times.{kind}": k for kind in args.types} if k
                                  else {"augment": None}) for k in args.times},
              "size": {f"n{n}": {"data.labelled_count": n} for n in args.sizes}},
        seeds=[args.seed], stages=["augment", "train", "evaluate"],
        metrics=["test.f1", "dev.f1"])


def cell_record(size: int, times: int, args: argparse.Namespace, run_dir: Path) -> dict:
    """The results line of a finished cell, read from its run folder."""
    files = RunFiles(run_dir)
    test = json.loads(files.metrics.read_text())["splits"]["test"]["micro"]
    train = json.loads(files.train_report.read_text())
    seconds = json.loads(files.pipeline_times.read_text())
    record: dict = {"key": cell_key(size, times, args), "size": size, "times": times,
                    "types": sorted(args.types), "seed": args.seed}
    if times:
        summary = json.loads(files.augment_summary.read_text())
        record["augmented"] = summary["written"]
        record["augment_types"] = summary["types"]
    record.update(augment_seconds=round(seconds.get("augment", 0.0), 1),
                  train_seconds=round(seconds["train"], 1), dev_f1=train["dev"].get("eval_f1"),
                  test_f1=test["f1"], test_precision=test["precision"],
                  test_recall=test["recall"], steps=train["steps"],
                  train_samples=train["context"]["train"]["samples"] + record.get(
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
    spec = study_spec(args)
    extra = list(args.overrides)
    done = {r["key"] for r in finished(args.results)}
    if args.list or not args.report:
        if args.data_root is None and not args.list:
            sys.exit(NO_DATA_ROOT)
        for index, (cell, seed) in enumerate(cells(spec)):
            size, times = int(cell["size"][1:]), int(cell["times"][1:])
            if args.list:
                state = "done" if cell_key(size, times, args) in done else "to run"
                run_dir = cell_config(spec, cell, seed, extra).run.directory
                print(f"{cell_id(cell, seed)}  ->  {run_dir}  ({state})")
            elif cell_key(size, times, args) not in done:
                record = _run(spec, index, size, times, args)
                print(f"n={size} K={times}: test F1 {100 * record['test_f1']:.2f} "
                      f"({record['wall_seconds']} s)", flush=True)
        if args.list:
            return
    keys = {cell_key(s, t, args) for s in args.sizes for t in args.times}
    rows = [r for r in finished(args.results) if r["key"] in keys]
    if rows:
        print(report(rows, args.results))


def _run(spec: StudySpec, index: int, size: int, times: int,
         args: argparse.Namespace) -> dict:
    """Run grid cell `index` through the study and append its results line."""
    import torch
    from cotpd.corpus.offline import set_offline_switches

    set_offline_switches()
    torch.set_num_threads(args.threads)
    write_dev_root(args)
    cell, seed = cells(spec)[index]
    run_dir = cell_config(spec, cell, seed, args.overrides).run.directory
    began = time.perf_counter()
    run_cell(spec, index, args.overrides)
    record = cell_record(size, times, args, run_dir)
    record["wall_seconds"] = round(time.perf_counter() - began, 1)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    main()
