"""The evaluate stage: the trained student predicts dev and test from its inference view,
then `<run>/metrics.json`, `<run>/report.md` and the plots are written.

Predictions go to `<run>/eval/<split>.<ext>` in the dataset's own format, so
`cotpd eval score` can re-check any figure from the files alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cotpd.corpus.conll import write_conll
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.mnre import write_mnre
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.run_files import RunFiles, attach_run_context
from cotpd.corpus.schema import config_to_yaml
from cotpd.eval.error_analysis import (
    entity_type_confusion,
    relation_confusion,
    worst_mner_errors,
    worst_mre_errors,
)
from cotpd.eval.metrics import mner_scores, mre_scores
from cotpd.eval.plots import bar_chart
from cotpd.eval.report import knowledge_statistics, render_report
from cotpd.eval.seen_unseen import seen_surfaces, seen_unseen_scores
from cotpd.pipeline.rundir import git_commit

if TYPE_CHECKING:
    from cotpd.pipeline.config import RunConfig

logger = logging.getLogger(__name__)


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def stage_costs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Seconds and tokens of each stage that left a summary in the run directory."""
    costs: dict[str, dict[str, Any]] = {}
    files = RunFiles(run_dir)
    caption = _read_json(files.captions_summary)
    if caption:
        costs["caption"] = {"seconds": caption.get("wall_seconds"),
                            "notes": f"{caption.get('ok')} ok, {caption.get('failed')} failed, "
                                     f"{caption.get('skipped_done')} already done"}
    teach = _read_json(files.teacher_summary)
    if teach:
        costs["teach"] = {"seconds": teach.get("wall_seconds"),
                          "tokens_in": teach.get("prompt_tokens"),
                          "tokens_out": teach.get("completion_tokens"),
                          "notes": f"{teach.get('answered')} answered, {teach.get('failed')} "
                                   f"failed, {teach.get('skipped_done')} from the store"}
        totals = _store_totals(teach)
        if totals:
            costs["teach (store total)"] = totals
    augment = _read_json(files.augment_summary)
    if augment:
        types = augment.get("types", {})
        costs["augment"] = {
            "seconds": augment.get("wall_seconds"),
            "tokens_out": sum(t.get("teacher_prompts", {}).get("completion_tokens", 0)
                              for t in types.values()),
            "notes": f"{augment.get('written', 0)} written of "
                     f"{sum(t.get('asked', 0) for t in types.values())} asked"}
    train = _read_json(files.train_report)
    if train:
        costs["train"] = {"seconds": round(train.get("train_seconds") or 0.0, 2),
                          "notes": f"{train.get('steps')} steps, "
                                   f"{train.get('train_samples_per_second')} samples/s"}
    return costs


def _store_totals(teach: dict[str, Any]) -> dict[str, Any] | None:
    """Every answer this teacher ever gave in the store (the cost of the knowledge, however
    many runs it took to write it)."""
    store_path = Path(teach.get("store") or "")
    if not store_path.is_file() or not teach.get("fingerprint"):
        return None
    from cotpd.teacher.store import KnowledgeStore

    with KnowledgeStore(store_path) as store:
        rows = store.summary(teach["fingerprint"])
    return {"tokens_in": sum(r["prompt_tokens"] for r in rows),
            "tokens_out": sum(r["completion_tokens"] for r in rows),
            "notes": f"{sum(r['answered'] for r in rows)} answers, "
                     f"{sum(r.get('truncated', 0) for r in rows)} truncated, "
                     f"{sum(r['failed'] for r in rows)} failures in the store"}


def _seen_unseen(data_dir: Path, splits: dict[str, list], predictions: dict[str, list]
                 ) -> dict[str, Any]:
    """Scores on entities seen vs unseen among the gold entities of the training split the
    student learnt from (a labelled subset when the run takes one)."""
    train = read_samples_jsonl(data_dir / "train.jsonl")
    seen = seen_surfaces((s.tokens, s.labels) for s in train)
    return {name: seen_unseen_scores([s.tokens for s in samples], [s.labels for s in samples],
                                     predictions[name], seen)
            for name, samples in splits.items()}


def evaluate_run(run_config: RunConfig, run_dir: Path, batch_size: int = 64) -> dict[str, Any]:
    """Predict, score and report; returns the metrics (also `<run>/metrics.json`)."""
    from cotpd.student.predict import StudentPredictor

    began = time.perf_counter()
    files = RunFiles(run_dir)
    model_dir = files.student_model
    if not (model_dir / "student.json").is_file():
        raise CotpdError(f"{model_dir}: no trained student here; run `cotpd train CONFIG` first")
    if run_config.student is None:
        raise CotpdError("the config has no 'student' section to evaluate")
    spec = get_dataset(run_config.data.dataset)
    prepared = prepare_dataset(run_config.data, run_dir)
    splits = {name: read_samples_jsonl(prepared.data_dir / f"{name}.jsonl")
              for name in ("dev", "test") if name in prepared.report["splits"]}
    context = run_config.student.context
    attach_run_context(splits, run_dir, context.captions, context.knowledge)
    predictor = StudentPredictor.load(model_dir, batch_size=batch_size)
    files.eval_dir.mkdir(parents=True, exist_ok=True)
    scores, predictions = {}, {}
    logger.info("the %s student predicts from its %s view", run_config.student.variant,
                predictor.view)
    for name, samples in splits.items():
        logger.info("predicting %s: %d sentences", name, len(samples))
        predicted = predictor.predict_samples(samples)
        predictions[name] = predicted
        written = [copy.copy(s) for s in samples]
        if spec.task == "mner":
            for sample, labels in zip(written, predicted, strict=True):
                sample.labels = labels
            write_conll(files.predictions(name, "conll"), written)
            scores[name] = mner_scores([s.labels for s in samples], predicted).to_dict()
        else:
            for sample, relation in zip(written, predicted, strict=True):
                sample.relation = relation
            write_mnre(files.predictions(name, "txt"), written)
            scores[name] = mre_scores([s.relation for s in samples], predicted).to_dict()
    headline_split = "test" if "test" in splits else "dev"
    gold_samples, predicted = splits[headline_split], predictions[headline_split]
    if spec.task == "mner":
        confusion = entity_type_confusion([s.labels for s in gold_samples], predicted)
        worst = worst_mner_errors(gold_samples, predicted)
    else:
        confusion = relation_confusion([s.relation for s in gold_samples], predicted)
        worst = worst_mre_errors(gold_samples, predicted)
    seen_unseen = (_seen_unseen(prepared.data_dir, splits, predictions)
                   if spec.task == "mner" else None)
    teach_summary = _read_json(files.teacher_summary)
    student = run_config.student
    micro = scores[headline_split]["micro"]
    metrics: dict[str, Any] = {
        "run": run_config.run.name, "task": spec.task, "dataset": run_config.data.dataset,
        "variant": student.variant, "encoder": student.encoder,
        "infer_view": predictor.view, "seed": run_config.run.seed,
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
            "config": hashlib.sha256(config_to_yaml(run_config).encode()).hexdigest(),
            "student_weights": sha256_file(model_dir / "model.safetensors")
            if (model_dir / "model.safetensors").is_file() else None,
            "teacher": teach_summary.get("fingerprint") if teach_summary else None},
        "git": git_commit(),
    }
    per_label_key = "per_type" if spec.task == "mner" else "per_relation"
    plots = [bar_chart({split: {k: 100 * v["f1"] for k, v in s[per_label_key].items()}
                        for split, s in scores.items()},
                       files.plots_dir / "per_type_f1.png",
                       f"{run_config.data.dataset}: F1 per type")]
    metrics["stages"] = stage_costs(run_dir)
    metrics["stages"]["evaluate"] = {"seconds": round(time.perf_counter() - began, 2),
                                     "notes": f"{sum(len(s) for s in splits.values())} "
                                              "sentences predicted"}
    metrics["plots"] = [str(p.relative_to(run_dir)) for p in plots]
    atomic_write_text(files.metrics, json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(files.report,
                      render_report(metrics, confusion, worst, metrics["plots"]))
    logger.info("wrote %s, %s and %d plot(s)", files.metrics, files.report, len(plots))
    return metrics
