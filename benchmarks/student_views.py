"""Test F1 of one trained student through each of its input views.

A distilled student (CPD, UPD, MV) is trained with NLL on the knowledge view and KL into its
inference view; scoring the same weights through every view shows how much of the knowledge
view's gain the text-only view kept (the distillation gap), and how often the two agree.
It also gives the mean per-word KL(knowledge view || inference view) on training sentences
(what the loss saw) and on test sentences (where the gap is measured).

    python benchmarks/student_views.py runs/bench_student/d_seed1   # one line per run dir

Resumable: a run dir already in the results file is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cotpd.corpus.records import Sample
    from cotpd.student.predict import StudentPredictor

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"


def score_views(run_dir: Path, data: Path) -> dict:
    """Test micro F1 of `run_dir/student/model` through every view it can read."""
    from cotpd.corpus.conll import read_conll
    from cotpd.corpus.context_files import attach_context, load_captions, load_knowledge_files
    from cotpd.eval.metrics import mner_scores
    from cotpd.student.predict import StudentPredictor

    predictor = StudentPredictor.load(run_dir / "student" / "model", batch_size=64)
    test = read_conll(data / "twitter2017" / "test.txt").samples
    captions = load_captions(data / "captions" / "BLIP2_17.txt")
    attach = attach_context(test, captions,
                            load_knowledge_files([data / "knowledge" / "twitter2017_test.jsonl"]))
    views = ["text", "caption", "knowledge"]
    if predictor.loaded.config.prompt_kind != "none":
        views.append("prompt")
    gold = [s.labels for s in test]
    record: dict = {"run_dir": str(run_dir.relative_to(REPO) if run_dir.is_relative_to(REPO)
                                   else run_dir),
                    "variant": predictor.loaded.config.variant,
                    "infer_view": predictor.loaded.config.resolved_infer_view,
                    "test_sentences": len(test), "context": attach.to_dict(), "views": {}}
    predictions: dict[str, list[list[str]]] = {}
    for view in views:
        predictor.view = view
        start = time.perf_counter()
        predictions[view] = predictor.predict_samples(test)
        micro = mner_scores(gold, predictions[view]).micro
        record["views"][view] = {"test_f1": micro.f1, "precision": micro.precision,
                                 "recall": micro.recall,
                                 "seconds": round(time.perf_counter() - start, 1)}
    infer = record["infer_view"]
    record["sentence_agreement_with_knowledge_view"] = {
        view: sum(a == b for a, b in zip(predictions[view], predictions["knowledge"],
                                         strict=True)) / len(test)
        for view in views if view != "knowledge"}
    record["infer_view_test_f1"] = record["views"][infer]["test_f1"]
    if infer != "knowledge":
        train = read_conll(data / "twitter2017" / "train.txt").samples[: len(test)]
        attach_context(train, captions,
                       load_knowledge_files([data / "knowledge" / "twitter2017_train.jsonl"]))
        record["kl_knowledge_to_infer_view_per_word"] = {
            f"train_first_{len(train)}": mean_view_kl(predictor, train, infer),
            "test": mean_view_kl(predictor, test, infer)}
    return record


def mean_view_kl(predictor: StudentPredictor, samples: list[Sample], view: str) -> float:
    """Mean per-word KL(softmax(knowledge view) || softmax(`view`)) of one model."""
    import torch
    from cotpd.student.data import EncodedDataset
    from cotpd.student.losses import kl_from_logits

    model = predictor.loaded.model
    dataset = EncodedDataset(samples, ["knowledge", view], predictor.builder, label_to_id=None)
    total, words = 0.0, 0
    for start in range(0, len(dataset), 64):
        items = [dataset[i] for i in range(start, min(start + 64, len(dataset)))]
        batch = predictor.collator(items)
        with torch.inference_mode():
            knowledge = model.logits(batch, "knowledge")
            other = model.logits(batch, view)
        mask = batch["text_word_mask"].bool() if view in ("text", "prompt") else \
            batch[f"{view}_word_mask"].bool()
        count = int(mask.sum())
        total += float(kl_from_logits(knowledge, other, mask)) * count
        words += count
    return total / max(words, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--results", type=Path,
                        default=REPO / "benchmarks" / "results" / "student_views.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.data_root is None:
        sys.exit(NO_DATA_ROOT)
    import torch

    torch.set_num_threads(args.threads)
    done = set()
    if args.results.is_file():
        done = {json.loads(line)["run_dir"] for line in args.results.read_text().splitlines()
                if line}
    for run_dir in args.run_dirs:
        run_dir = run_dir.resolve()
        key = str(run_dir.relative_to(REPO) if run_dir.is_relative_to(REPO) else run_dir)
        if key in done:
            print(f"{key}: already scored")
            continue
        if not (run_dir / "student" / "model").is_dir():
            raise SystemExit(f"{run_dir}: no trained student under student/model")
        record = score_views(run_dir, args.data_root)
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        views = ", ".join(f"{v} {100 * s['test_f1']:.2f}" for v, s in record["views"].items())
        print(f"{key} ({record['variant']}): {views}; agreement with the knowledge view "
              f"{record['sentence_agreement_with_knowledge_view']}", flush=True)


if __name__ == "__main__":
    main()
