"""The train stage: prepared samples + the run's context (+ augmented, unlabelled) ->
a best-on-dev student in `<run>/student/model`, with its training report."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Sample
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.run_files import RunFiles, attach_run_context, read_augmented
from cotpd.corpus.schema import config_to_yaml
from cotpd.corpus.stage_result import StageResult
from cotpd.corpus.tasks import get_task
from cotpd.corpus.unlabelled import read_unlabelled
from cotpd.student.config import StudentConfig
from cotpd.student.labels import label_list
from cotpd.student.saving import save_student
from cotpd.student.teacher_scores import TeacherScores
from cotpd.student.train import fit
from cotpd.student.two_stage import two_stage_scores
from transformers import set_seed

logger = logging.getLogger(__name__)


def require_context(config: StudentConfig, train: list) -> None:
    """A variant that reads captions or knowledge, with none for any training sample, is a
    configuration mistake, not something to train through."""
    views = {config.train_view, config.distill_view, config.resolved_infer_view}
    needs = {"caption"} if "caption" in views else set()
    if "knowledge" in views:
        needs |= set(config.views.context_order)
    for name in sorted(needs):
        if not any(getattr(s.context, name) for s in train):
            source = "captions" if name == "caption" else "knowledge"
            raise CotpdError(
                f"variant {config.variant!r} reads the {name}, but none of the {len(train)} "
                f"training samples has one: set student.context.{source} to a file (or run "
                f"`cotpd {'caption' if name == 'caption' else 'teach'} CONFIG` first)")


def run(config: StudentConfig, data: DataConfig, run_dir: Path, *, seed: int,
        augmented: bool = False, run_config_yaml: str | None = None) -> StageResult:
    """Train on the prepared splits with the run's captions and knowledge (and its augmented
    samples when `augmented`); `run_config_yaml`, the whole resolved config, is saved with
    the model (the student's section alone when None). The result's `summary` is the
    training report (`<run>/student/train_report.json`), dev metrics under `dev`."""
    began = time.perf_counter()
    set_seed(seed)
    spec = get_dataset(data.dataset)
    prepared = prepare_dataset(data, run_dir)
    data_dir = prepared.data_dir
    train = read_samples_jsonl(data_dir / "train.jsonl")
    dev = read_samples_jsonl(data_dir / "dev.jsonl")
    augmented_samples = read_augmented(run_dir, augmented)  # None: not asked for
    extra = read_unlabelled_for(config, spec.task, data_dir, dev)
    run_unlabelled, unused = unlabelled_split(config, prepared.report, data_dir)
    extra = extra + run_unlabelled
    splits = {"train": train, "dev": dev,
              **({"augment": augmented_samples} if augmented_samples else {}),
              **({"unlabelled": extra} if extra else {})}
    context_report = attach_run_context(splits, run_dir, config.context.captions,
                                        config.context.knowledge)
    if augmented_samples:  # augmented samples may have no knowledge: counted, then trained on
        context_report["augment"]["without_knowledge"] = sum(
            1 for s in augmented_samples if not s.context.knowledge)
        train = train + augmented_samples
    require_context(config, train)
    logger.info("context attached per split: %s", json.dumps(context_report))
    renames = data.label_map  # e.g. OTHER -> MISC in cross-domain runs
    registered = list(dict.fromkeys(renames.get(t, t) for t in spec.labels or []))
    labels = label_list(spec.task, registered or None, train)
    files = RunFiles(run_dir)
    scores = None
    if config.two_stage:
        scores = two_stage_scores(config, spec.task, train, dev, extra, labels, files, seed)
    repeats = config.distill.labelled_repeats if extra else 1
    taught = train * repeats + extra
    flags = [False] * (len(train) * repeats) + [True] * len(extra)
    if config.distill.labelled_repeats > 1 and not extra:
        logger.warning("student.distill.labelled_repeats = %d has no effect: the run has no "
                       "unlabelled sentences", config.distill.labelled_repeats)
    logprobs = None
    if scores:  # aligned with train + extra: the labelled rows repeat with their samples
        logprobs = list(scores.logprobs[:len(train)]) * repeats + list(
            scores.logprobs[len(train):])
    fitted = fit(config, spec.task, taught, dev, labels, files.checkpoints, seed,
                 logprobs, flags if extra else None)
    trainer = fitted.trainer
    dev_metrics = trainer.evaluate()
    model_dir = files.student_model
    report = {
        "variant": config.variant, "train_view": config.train_view,
        "distill_view": config.distill_view, "infer_view": config.resolved_infer_view,
        "recipe": recipe(config, scores), "labels": labels, "context": context_report,
        "unlabelled_sentences": len(extra), "unlabelled_unused": unused,
        "labelled_repeats": repeats, "taught_samples": len(taught),
        "view_counts": fitted.view_counts,
        "resumed_from": fitted.resumed_from, "train_seconds": fitted.seconds,
        "train_samples_per_second": fitted.samples_per_second,
        "steps": trainer.state.global_step, "best_checkpoint": trainer.state.best_model_checkpoint,
        "dev": dev_metrics, "fingerprints": prepared.fingerprints,
        "loss_log": [entry for entry in trainer.state.log_history if "loss" in entry],
    }
    # Under ZeRO-3 the weights are partitioned: gather them (every rank must take part).
    state_dict = (trainer.accelerator.get_state_dict(trainer.model_wrapped)
                  if trainer.is_deepspeed_enabled else None)
    if trainer.is_world_process_zero():
        save_student(model_dir, fitted.model, fitted.tokenizer, labels,
                     run_config_yaml or config_to_yaml(config), state_dict=state_dict,
                     recipe=report["recipe"])
        atomic_write_text(files.train_report, json.dumps(report, indent=2) + "\n")
        logger.info("saved the student (best checkpoint on dev: %s) -> %s",
                    report["best_checkpoint"], model_dir)
    return StageResult("train", {"model": model_dir, "report": files.train_report},
                       {"train_samples": len(train), "unlabelled": len(extra),
                        "steps": trainer.state.global_step},
                       prepared.fingerprints, round(time.perf_counter() - began, 2), report)


def recipe(config: StudentConfig, scores: TeacherScores | None) -> dict[str, Any]:
    """What made this student, in one place: the loss, its weights and the teacher."""
    out: dict[str, Any] = {
        "variant": config.variant, "head": config.head,
        "loss": config.loss_description(),
        "distill": config.distill.model_dump(mode="json"),
        "prompt_position": config.prompt.position if config.prompt_kind != "none" else None,
        "new_parameters_lr_multiplier": config.train.new_parameters_lr_multiplier,
    }
    if scores is not None:
        out["teacher_cache"] = {"path": str(scores.path), "reused": scores.reused,
                                "seconds": round(scores.seconds, 2), **scores.meta}
    return out


def unlabelled_split(config: StudentConfig, data_report: dict[str, Any], data_dir: Path
                     ) -> tuple[list[Sample], int]:
    """The run's unlabelled split (`data.rest_as_unlabelled`, `data.unlabelled`) when the
    student distils (KL only on those sentences), and how many sentences it left unused
    because this variant learns from gold labels alone."""
    if "unlabelled" not in data_report.get("splits", {}):
        return [], 0
    samples = read_samples_jsonl(data_dir / "unlabelled.jsonl")
    if config.distill_view is None and not config.two_stage:
        logger.warning("the run's %d unlabelled sentences are not used: the %s student has "
                       "no distillation loss to learn from them", len(samples), config.variant)
        return [], len(samples)
    return samples, 0


def read_unlabelled_for(config: StudentConfig, task: str, data_dir: Path,
                        dev: list[Sample]) -> list[Sample]:
    """`distill.unlabelled` sentences; any that is a dev or test sentence is refused, so the
    evaluation splits never teach."""
    if not config.distill.unlabelled:
        return []
    if not get_task(task).allows_unlabelled:
        raise CotpdError("student.distill.unlabelled is for MNER datasets")
    extra = read_unlabelled(config.distill.unlabelled)
    test_path = data_dir / "test.jsonl"
    held_out = dev + (read_samples_jsonl(test_path) if test_path.is_file() else [])
    seen = {tuple(s.tokens) for s in held_out}
    leaked = [s for s in extra if tuple(s.tokens) in seen]
    if leaked:
        raise CotpdError(f"student.distill.unlabelled: {len(leaked)} of {len(extra)} sentences "
                         f"are dev or test sentences (first: {leaked[0].id!r}, "
                         f"{' '.join(leaked[0].tokens)[:60]!r}); the evaluation splits "
                         "must never be used for distillation")
    return extra
