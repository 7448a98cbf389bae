"""The student stage, as a linear recipe (after HF run_ner.py): prepared samples + context
-> views -> StudentModel -> DistillationTrainer -> best-on-dev student directory."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from cotpd.corpus.config import DataConfig
from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.fingerprint import sha256_bytes
from cotpd.corpus.model_folder import check_model_folder
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.progress import progress_enabled
from cotpd.corpus.records import Sample
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.run_files import RunFiles, attach_run_context, read_augmented
from cotpd.corpus.schema import config_to_yaml
from cotpd.corpus.tasks import get_task
from cotpd.corpus.unlabelled import read_unlabelled
from cotpd.student.config import StudentConfig
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.labels import label_list
from cotpd.student.model import StudentModel
from cotpd.student.saving import save_student
from cotpd.student.tasks import student_task
from cotpd.student.teacher_scores import (
    TeacherScores,
    cached_scores,
    load_teacher,
    score,
    teacher_scores,
)
from cotpd.student.trainer import (
    DistillationTrainer,
    last_complete_checkpoint,
    make_compute_metrics,
)
from cotpd.student.views import ViewBuilder
from transformers import (
    AutoModel,
    EarlyStoppingCallback,
    PreTrainedTokenizerBase,
    TrainingArguments,
    set_seed,
)
from transformers.utils import logging as hf_logging

logger = logging.getLogger(__name__)

@dataclass
class TrainResult:
    model_dir: Path
    dev_metrics: dict[str, float]
    report: dict[str, Any]


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


def load_encoder(config: StudentConfig, task: str):
    """The encoder and its tokenizer, after the folder is checked (a missing tokenizer would
    otherwise train on [UNK]s); its code runs only with the config's trust_remote_code."""
    path = resolve_model_path(config.encoder, "student.encoder")
    _, tokenizer = check_model_folder(path, config.trust_remote_code)
    # transformers reports every key it did not load as a warning, the pooler this model
    # leaves out too; the report is made here instead, warning only for what matters.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        encoder, info = AutoModel.from_pretrained(
            path, add_pooling_layer=False, local_files_only=True, output_loading_info=True,
            trust_remote_code=config.trust_remote_code)
    finally:
        hf_logging.set_verbosity(verbosity)
    report_encoder_loading(path, info)
    student_task(task).prepare_encoder(tokenizer, encoder)
    return tokenizer, encoder


def report_encoder_loading(path: Path, info: dict[str, Any]) -> None:
    """Weights the folder lacks start random: a warning naming them (a wrong folder shows
    here). Weights it has that the model does not use: the pooler is expected (the student
    reads token states); others are a warning."""
    missing = sorted(info.get("missing_keys") or [])
    unused = sorted(info.get("unexpected_keys") or [])
    pooler = [key for key in unused if key.split(".")[0] == "pooler" or ".pooler." in key]
    other = [key for key in unused if key not in pooler]
    if missing:
        logger.warning("student.encoder %s lacks %d weight(s), which start random: %s",
                       path, len(missing), _first(missing))
    if other:
        logger.warning("student.encoder %s has %d weight(s) the encoder does not use: %s",
                       path, len(other), _first(other))
    if pooler:
        logger.debug("student.encoder %s: its pooler (%d weights) is not used", path, len(pooler))


def _first(keys: list[str], shown: int = 8) -> str:
    return ", ".join(keys[:shown]) + (" ..." if len(keys) > shown else "")


def training_arguments(config: StudentConfig, output_dir: Path, seed: int) -> TrainingArguments:
    train = config.train
    if train.deepspeed is not None and train.new_parameters_lr_multiplier != 1.0:
        check_deepspeed_keeps_group_rates(train.deepspeed)
    cuda = torch.cuda.is_available()
    bf16 = (cuda and torch.cuda.is_bf16_supported()) if train.bf16 == "auto" else train.bf16
    checkpointing = cuda if train.gradient_checkpointing == "auto" else train.gradient_checkpointing
    strategy = "steps" if train.eval_steps else "epoch"
    settings: dict[str, Any] = dict(
        output_dir=str(output_dir),
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation,
        warmup_steps=train.warmup_ratio,  # a float in [0, 1) is a ratio of all steps
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=train.eval_steps,
        save_steps=train.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="f1",
        greater_is_better=True,
        logging_steps=train.logging_steps,
        report_to=["tensorboard"],
        seed=seed,
        data_seed=seed,
        bf16=bf16,
        activation_checkpointing=checkpointing,
        train_sampling_strategy="group_by_length" if train.group_by_length else "random",
        deepspeed=str(train.deepspeed) if train.deepspeed else None,
        dataloader_num_workers=train.num_workers,
        remove_unused_columns=False,
        label_names=["labels"],
        disable_tqdm=not progress_enabled(),
        use_cpu=not cuda,
    )
    settings.update(train.model_extra or {})  # any other TrainingArguments field, as set
    try:
        return TrainingArguments(**settings)
    except (ValueError, TypeError) as error:  # a value TrainingArguments refuses
        raise CotpdError(f"student.train: transformers' TrainingArguments refused the "
                         f"settings: {error}") from None


@dataclass
class Fitted:
    """A trained StudentModel with its trainer and what the report needs of the run."""

    trainer: DistillationTrainer
    model: StudentModel
    tokenizer: PreTrainedTokenizerBase
    seconds: float
    samples_per_second: float | None
    resumed_from: str | None
    view_counts: dict[str, int]


def fit(config: StudentConfig, task: str, train: list[Sample], dev: list[Sample],
        labels: list[str], checkpoints: Path, seed: int,
        teacher_logprobs: list | None = None, unlabelled: list[bool] | None = None) -> Fitted:
    """One training run: views, model, trainer, best-on-dev weights loaded at the end."""
    set_seed(seed)
    tokenizer, encoder = load_encoder(config, task)
    label_to_id = {label: index for index, label in enumerate(labels)}
    builder = ViewBuilder(tokenizer, config.views)
    train_views = [config.train_view] + ([config.distill_view] if config.distill_view else [])
    train_set = EncodedDataset(train, train_views, builder, label_to_id, teacher_logprobs,
                               unlabelled, subword_labels=config.resolved_subword_labels)
    dev_set = EncodedDataset(dev, [config.resolved_infer_view], builder, label_to_id)
    model = StudentModel(encoder, config, task, len(labels))
    args = training_arguments(config, checkpoints, seed)
    callbacks = ([EarlyStoppingCallback(config.train.early_stopping_patience)]
                 if config.train.early_stopping_patience else [])
    trainer = DistillationTrainer(
        model=model, args=args, train_dataset=train_set, eval_dataset=dev_set,
        data_collator=ViewCollator(tokenizer.pad_token_id),
        compute_metrics=make_compute_metrics(dev, labels), callbacks=callbacks,
        infer_view=config.resolved_infer_view,
        new_parameters_lr_multiplier=config.train.new_parameters_lr_multiplier)
    last = last_complete_checkpoint(checkpoints) if config.train.resume else None
    if last:
        logger.info("resuming from %s", last)
    logger.info("training the %s student on %d samples (%d with a teacher's scores), "
                "selecting on %d dev sentences", config.variant, len(train),
                len(teacher_logprobs or []), len(dev))
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=last)
    return Fitted(trainer, model, tokenizer, time.perf_counter() - start,
                  output.metrics.get("train_samples_per_second"), last, dict(builder.counts))


def check_deepspeed_keeps_group_rates(path: Path) -> None:
    """DeepSpeed's own optimizer or scheduler gives every parameter one rate, which would
    silently undo train.new_parameters_lr_multiplier: refuse such a ZeRO config."""
    try:
        sections = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CotpdError(f"student.train.deepspeed: cannot read {path} ({error})") from None
    found = [key for key in ("optimizer", "scheduler") if key in sections]
    if found:
        raise CotpdError(f"{path} has a DeepSpeed {' and '.join(found)} section, which gives "
                         f"every parameter one learning rate: remove it (cotpd's AdamW and "
                         f"schedule then run under ZeRO) or set "
                         f"student.train.new_parameters_lr_multiplier=1")


def train_student(config: StudentConfig, data: DataConfig, run_dir: Path, seed: int,
                  augmented: bool = False, run_config_yaml: str | None = None) -> TrainResult:
    """Train on the prepared splits with the run's captions and knowledge (and its augmented
    samples when `augmented`); `run_config_yaml`, the whole resolved config, is saved with
    the model (the student's section alone when None)."""
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
    taught = train + extra
    flags = [False] * len(train) + [True] * len(extra)
    scores = None
    if config.two_stage:
        scores = two_stage_scores(config, spec.task, train, dev, extra, labels, files, seed)
    fitted = fit(config, spec.task, taught, dev, labels, files.checkpoints, seed,
                 scores.logprobs if scores else None, flags if extra else None)
    trainer = fitted.trainer
    dev_metrics = trainer.evaluate()
    model_dir = files.student_model
    report = {
        "variant": config.variant, "train_view": config.train_view,
        "distill_view": config.distill_view, "infer_view": config.resolved_infer_view,
        "recipe": recipe(config, scores), "labels": labels, "context": context_report,
        "unlabelled_sentences": len(extra), "unlabelled_unused": unused,
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
    return TrainResult(model_dir, dev_metrics, report)


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


def two_stage_scores(config: StudentConfig, task: str, train: list[Sample],
                     dev: list[Sample], extra: list[Sample], labels: list[str],
                     files: RunFiles, seed: int) -> TeacherScores:
    """The cached teacher distributions for train + extra: from the given teacher folder,
    or from K cross-fitted teachers trained here (each scores the fold it did not see)."""
    cache_dir = config.distill.cache_dir or files.teacher_cache
    samples = train + extra
    if config.distill.teacher is not None:
        return teacher_scores(config.distill.teacher, samples, labels, cache_dir,
                              trust_remote_code=config.trust_remote_code)
    folds = config.distill.folds
    teacher_config = fold_teacher_config(config)
    # Whatever shapes the teachers, not how this run resumes.
    shaping = teacher_config.model_dump(mode="json", exclude={"train": {"resume"}})
    key = sha256_bytes(f"folds{folds}:seed{seed}:{json.dumps(shaping, sort_keys=True)}"
                       .encode())

    def compute() -> list:
        return cross_fitted_scores(teacher_config, task, train, dev, extra, labels,
                                   cache_dir / f"folds_{key[:16]}", folds, seed)

    return cached_scores(f"in-run:{key}", samples, labels, cache_dir, compute)


def fold_teacher_config(config: StudentConfig) -> StudentConfig:
    """The student's settings as a plain +CoT (knowledge view) model."""
    data = config.model_dump()
    data.update(variant="cot", infer_view="auto", distill={})
    return StudentConfig.model_validate(data)


def cross_fitted_scores(config: StudentConfig, task: str, train: list[Sample],
                        dev: list[Sample], extra: list[Sample], labels: list[str],
                        folder: Path, folds: int, seed: int) -> list:
    """Train K knowledge-view teachers, each on all folds but one, and score the held-out
    fold with it (unlabelled sentences: the first fold's teacher); K = 1 is one teacher on
    every sentence. A fold whose teacher folder is complete is not trained again."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    fold_of = {index: position % folds for position, index in enumerate(order)}
    every = folds == 1
    scores: list = [None] * (len(train) + len(extra))
    pool = train + extra
    plan = []
    for fold in range(folds):
        model_dir = folder / f"fold{fold}" / "model"
        inside = [s for i, s in enumerate(train) if every or fold_of[i] != fold]
        if not (model_dir / "student.json").is_file():
            fitted = fit(config, task, inside, dev, labels,
                         folder / f"fold{fold}" / "checkpoints", seed + fold)
            save_student(model_dir, fitted.model, fitted.tokenizer, labels,
                         config_to_yaml(config))
        teacher = load_teacher(model_dir, labels, config.trust_remote_code)
        held = [i for i in range(len(train)) if fold_of[i] == fold]
        held += [len(train) + i for i in range(len(extra))] if fold == 0 else []
        for index, values in zip(held, score(teacher, [pool[i] for i in held]), strict=True):
            scores[index] = values
        plan.append({"fold": fold, "trained_on": len(inside), "scored": len(held)})
    atomic_write_text(folder / "folds.json", json.dumps(plan, indent=2) + "\n")
    return scores
