"""MNRE, text only, with the embedded MiniLM encoder and the entity-marker head.

Trains on the MNRE train split under the data root (no knowledge), selects on dev, and
reports dev micro F1 over relations other than None (the test split is not read).
Each finished run is one JSON line in the results file; a run already there is skipped.

    python benchmarks/mnre_text.py [--epochs 2] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results" /
                                                 "mnre_text.jsonl"))
    parser.add_argument("--work-dir", default=str(REPO / "runs" / "bench_mnre"))
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    results = Path(args.results)
    key = json.dumps({k: getattr(args, k) for k in ("epochs", "lr", "batch_size", "max_length",
                                                    "seed")}, sort_keys=True)
    rows = [json.loads(x) for x in results.read_text().splitlines() if x] \
        if results.is_file() else []
    if not args.report and key not in {r["key"] for r in rows}:
        if args.data_root is None:
            sys.exit(NO_DATA_ROOT)
        import torch
        from cotpd.pipeline.config import load_run_config
        from cotpd.pipeline.sections import run_train

        torch.set_num_threads(args.threads)
        run_config = load_run_config(REPO / "configs" / "mnre.yaml", [
            f"run.output_dir={args.work_dir}", f"run.name=seed{args.seed}",
            f"run.seed={args.seed}", f"data.data_root={args.data_root}",
            "student.encoder=embedded:minilm", "student.variant=text",
            f"student.views.max_length={args.max_length}", f"student.train.epochs={args.epochs}",
            f"student.train.learning_rate={args.lr}",
            f"student.train.batch_size={args.batch_size}", "student.train.eval_batch_size=128",
        ])
        start = time.perf_counter()
        result = run_train(run_config, run_config.run.directory)
        dev = result.summary["dev"]
        row = {"key": key, **json.loads(key), "dev_f1": dev["eval_f1"],
               "dev_precision": dev["eval_precision"], "dev_recall": dev["eval_recall"],
               "train_samples_per_second": result.summary["train_samples_per_second"],
               "steps": result.summary["steps"], "wall_seconds": time.perf_counter() - start,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        results.parent.mkdir(parents=True, exist_ok=True)
        with open(results, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        rows.append(row)
    print("| MNRE dev (MiniLM, text only, marker head) | P | R | micro F1 | epochs | "
          "train samples/s |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| seed {r['seed']}, max length {r['max_length']}, lr {r['lr']} | "
              f"{100 * r['dev_precision']:.2f} | {100 * r['dev_recall']:.2f} | "
              f"{100 * r['dev_f1']:.2f} | {r['epochs']} | {r['train_samples_per_second']:.1f} |")


if __name__ == "__main__":
    main()
