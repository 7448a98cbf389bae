"""The evaluate stage: the trained student predicts dev and test from its inference view,
then `<run>/metrics.json`, `<run>/report.md` and the plots are written.

Predictions go to `<run>/eval/<split>.<ext>` in the dataset's own format, so
`cotpd eval score` can re-check any figure from the files alone. The student itself comes
in through `load_predictor` (eval imports no student code), the teacher's store through
`open_store`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.prepare import OFFICIAL_DEV, prepare_dataset
from cotpd.corpus.records import Sample
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.run_files import RunFiles, attach_run_context
from cotpd.corpus.stage_result import StageResult
from cotpd.corpus.tasks import get_task
from cotpd.eval.knowledge_quality import OpenStore
from cotpd.eval.plots import bar_chart
from cotpd.eval.report import knowledge_statistics, render_report
from cotpd.eval.seen_unseen import seen_surfaces, seen_unseen_scores
from cotpd.eval.stage_costs import read_json, stage_costs
from cotpd.eval.tasks import eval_task

# Scored splits: dev (selection), the dataset's own dev when dev is held out of train, test.
EVALUATED_SPLITS = ("dev", OFFICIAL_DEV, "test")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateConfig:
    """What the evaluate stage reads of a run config (it has no section of its own): the
    run's name and seed, the student's variant, encoder and context files, and the
    fingerprint of the whole config, recorded with the metrics."""

    run_name: str
    seed: int
    variant: str
    encoder: str
    captions: Path | None
    knowledge: Sequence[Path]
    config_fingerprint: str


class Predictor(Protocol):
    """A trained student, loaded (student.predict.StudentPredictor)."""

    view: str

    def predict_samples(self, samples: list[Sample]) -> list: ...


def _seen_unseen(data_dir: Path, splits: dict[str, list], predictions: dict[str, list]
                 ) -> dict[str, Any]:
    """Scores on entities seen vs unseen among the gold entities of the training split the
    student learnt from (a labelled subset when the run takes one)."""
    train = read_samples_jsonl(data_dir / "train.jsonl")
    seen = seen_surfaces((s.tokens, s.labels) for s in train)
    return {name: seen_unseen_scores([s.tokens for s in samples], [s.labels for s in samples],
                                     predictions[name], seen)
            for name, samples in splits.items()}


def run(config: EvaluateConfig, data: DataConfig, run_dir: Path, *,
        load_predictor: Callable[[Path], Predictor], open_store: OpenStore | None = None,
        git: dict[str, Any] | None = None) -> StageResult:
    """Predict, score and report; the result's `summary` is the metrics (also
    `<run>/metrics.json`). `load_predictor` loads the student folder, `open_store` opens
    the teacher's store (for its total cost), `git` is the code's commit."""
    began = time.perf_counter()
    files = RunFiles(run_dir)
    model_dir = files.student_model
    if not (model_dir / "student.json").is_file():
        raise CotpdError(f"{model_dir}: no trained student here; run `cotpd train CONFIG` first")
    spec = get_dataset(data.dataset)
    task, scoring = get_task(spec.task), eval_task(spec.task)
    prepared = prepare_dataset(data, run_dir)
    splits = {name: read_samples_jsonl(prepared.data_dir / f"{name}.jsonl")
              for name in EVALUATED_SPLITS if name in prepared.report["splits"]}
    attach_run_context(splits, run_dir, config.captions, config.knowledge)
    predictor = load_predictor(model_dir)
    files.eval_dir.mkdir(parents=True, exist_ok=True)
    scores, predictions, written_files = {}, {}, {}
    logger.info("the %s student predicts from its %s view", config.variant, predictor.view)
    for name, samples in splits.items():
        logger.info("predicting %s: %d sentences", name, len(samples))
        predicted = predictor.predict_samples(samples)
        predictions[name] = predicted
        written_files[name] = files.predictions(name, task.suffix)
        task.write(written_files[name],
                   [task.with_target(s, p) for s, p in zip(samples, predicted, strict=True)])
        scores[name] = scoring.score_samples(samples, predicted).to_dict()
    headline_split = next(s for s in ("test", OFFICIAL_DEV, "dev") if s in splits)
    gold_samples, predicted = splits[headline_split], predictions[headline_split]
    confusion = scoring.confusion_of(gold_samples, predicted)
    worst = scoring.worst_errors(gold_samples, predicted)
    seen_unseen = (_seen_unseen(prepared.data_dir, splits, predictions)
                   if scoring.seen_unseen else None)
    teach_summary = read_json(files.teacher_summary)
    micro = scores[headline_split]["micro"]
    metrics: dict[str, Any] = {
        "run": config.run_name, "task": spec.task, "dataset": data.dataset,
        "variant": config.variant, "encoder": config.encoder,
        "infer_view": predictor.view, "seed": config.seed,
        "teacher": ({"name": teach_summary.get("teacher"),
                     "fingerprint": teach_summary.get("fingerprint"),
                     "backend": teach_summary.get("backend")} if teach_summary else None),
        "headline": {"split": headline_split, **{k: micro[k] for k in
                                                 ("precision", "recall", "f1")}},
        "splits": scores,
        **({"seen_unseen": seen_unseen} if seen_unseen else {}),
        "knowledge": {name: knowledge_statistics(samples, teach_summary)
                      for name, samples in splits.items()},
        "fingerprints": {
            "data": prepared.fingerprints,
            "config": config.config_fingerprint,
            "student_weights": sha256_file(model_dir / "model.safetensors")
            if (model_dir / "model.safetensors").is_file() else None,
            "teacher": teach_summary.get("fingerprint") if teach_summary else None},
        "git": git,
    }
    per_label_key = scoring.per_label_key
    plots = [bar_chart({split: {k: 100 * v["f1"] for k, v in s[per_label_key].items()}
                        for split, s in scores.items()},
                       files.plots_dir / "per_type_f1.png",
                       f"{data.dataset}: F1 per type")]
    metrics["stages"] = stage_costs(run_dir, open_store)
    seconds = round(time.perf_counter() - began, 2)
    metrics["stages"]["evaluate"] = {"seconds": seconds,
                                     "notes": f"{sum(len(s) for s in splits.values())} "
                                              "sentences predicted"}
    metrics["plots"] = [str(p.relative_to(run_dir)) for p in plots]
    atomic_write_text(files.metrics, json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(files.report,
                      render_report(metrics, confusion, worst, metrics["plots"]))
    logger.info("wrote %s, %s and %d plot(s)", files.metrics, files.report, len(plots))
    return StageResult("evaluate",
                       {**{f"predictions_{n}": p for n, p in written_files.items()},
                        "metrics": files.metrics, "report": files.report},
                       {name: len(samples) for name, samples in splits.items()},
                       prepared.fingerprints, seconds, metrics)

