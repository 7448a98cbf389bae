"""One training run of a StudentModel (after HF run_ner.py): the encoder, the views, the
DistillationTrainer, best-on-dev weights loaded at the end."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.fingerprint import sha256_bytes
from cotpd.corpus.model_folder import check_model_folder
from cotpd.corpus.progress import progress_enabled
from cotpd.corpus.records import Sample
from cotpd.corpus.schema import result_settings
from cotpd.student.config import StudentConfig
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.model import StudentModel
from cotpd.student.tasks import student_task
from cotpd.student.teacher_scores import data_fingerprint
from cotpd.student.trainer import (
    DistillationTrainer,
    claim_checkpoints,
    last_complete_checkpoint,
    make_compute_metrics,
)
from cotpd.student.training_args import check_deepspeed_keeps_group_rates, cotpd_settings
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
    """cotpd's keys through the one table in training_args, the fields the stage fixes,
    then any other TrainingArguments field the config sets."""
    train = config.train
    if train.deepspeed is not None and train.new_parameters_lr_multiplier != 1.0:
        check_deepspeed_keeps_group_rates(train.deepspeed)
    cuda = torch.cuda.is_available()
    settings: dict[str, Any] = dict(
        **cotpd_settings(train, cuda),
        output_dir=str(output_dir),
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="f1",
        greater_is_better=True,
        report_to=["tensorboard"],
        seed=seed,
        data_seed=seed,
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


# How long one training runs: a run told to go on longer resumes the shorter one.
LENGTH_KEYS = ("epochs", "max_steps", "early_stopping_patience")


def made_from(config: StudentConfig, task: str, train: list[Sample], dev: list[Sample],
              labels: list[str], seed: int, teacher_logprobs: list | None = None,
              unlabelled: list[bool] | None = None) -> dict[str, Any]:
    """What a training's checkpoints belong to: the student's result settings (its length
    aside), the seed, the labels and the data it reads, so a checkpoint is resumed only by
    the training that wrote it."""
    student = result_settings(config)
    student["train"] = {k: v for k, v in student["train"].items() if k not in LENGTH_KEYS}
    scores = hashlib.sha256()
    for values in teacher_logprobs or []:
        scores.update(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return {"student": student, "task": task, "seed": seed, "labels": labels,
            "train_data": data_fingerprint(train),
            "unlabelled_flags": sha256_bytes(json.dumps(unlabelled).encode()),
            "dev_data": data_fingerprint(dev),
            "teacher_scores": scores.hexdigest() if teacher_logprobs else None}


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
    claim_checkpoints(checkpoints, made_from(config, task, train, dev, labels, seed,
                                             teacher_logprobs, unlabelled))
    set_seed(seed)
    tokenizer, encoder = load_encoder(config, task)
    label_to_id = {label: index for index, label in enumerate(labels)}
    builder = ViewBuilder.for_student(tokenizer, config)
    train_views = [config.train_view] + ([config.distill_view] if config.distill_view else [])
    train_set = EncodedDataset(train, train_views, builder, label_to_id, teacher_logprobs,
                               unlabelled, subword_labels=config.resolved_subword_labels)
    dev_set = EncodedDataset(dev, [config.resolved_infer_view], builder, label_to_id)
    weights = student_task(task).class_weights(config, train, labels)
    if weights is not None:
        logger.info("relation weights in the gold loss: %s", ", ".join(
            f"{label} {weight:.3g}" for label, weight in zip(labels, weights, strict=True)))
    model = StudentModel(encoder, config, task, len(labels), weights)
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
