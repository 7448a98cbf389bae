"""`student.train` and transformers' `TrainingArguments`: the fields cotpd's own keys set
(one table, read both when the config is checked and when the arguments are built), and
any other field, checked by name when the config is read (an unknown one is named with the
closest valid key). cotpd's own keys stay the documented defaults."""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import CotpdError

# A field's value from the `student.train` section and whether training runs on CUDA.
Value = Callable[[Any, bool], Any]


def _copied(key: str) -> tuple[str, Value]:
    return key, lambda train, cuda: getattr(train, key)


def _strategy(train: Any, cuda: bool) -> str:
    return "steps" if train.eval_steps else "epoch"


def _bf16(train: Any, cuda: bool) -> bool:
    if train.bf16 != "auto":
        return train.bf16
    import torch

    return cuda and torch.cuda.is_bf16_supported()


# Every TrainingArguments field a cotpd key sets: field -> (the key, its value).
COTPD_FIELDS: dict[str, tuple[str, Value]] = {
    "learning_rate": _copied("learning_rate"),
    "weight_decay": _copied("weight_decay"),
    "num_train_epochs": _copied("epochs"),
    "max_steps": _copied("max_steps"),
    "per_device_train_batch_size": _copied("batch_size"),
    "per_device_eval_batch_size": _copied("eval_batch_size"),
    "gradient_accumulation_steps": _copied("gradient_accumulation"),
    "warmup_steps": _copied("warmup_ratio"),  # a float in [0, 1) is a ratio of all steps
    "eval_strategy": ("eval_steps", _strategy),
    "save_strategy": ("eval_steps", _strategy),
    "eval_steps": _copied("eval_steps"),
    "save_steps": _copied("eval_steps"),
    "logging_steps": _copied("logging_steps"),
    "bf16": ("bf16", _bf16),
    "activation_checkpointing": (
        "gradient_checkpointing",
        lambda train, cuda: cuda if train.gradient_checkpointing == "auto"
        else train.gradient_checkpointing),
    "train_sampling_strategy": (
        "group_by_length",
        lambda train, cuda: "group_by_length" if train.group_by_length else "random"),
    "deepspeed": ("deepspeed", lambda train, cuda: str(train.deepspeed) if train.deepspeed
                  else None),
    "dataloader_num_workers": _copied("num_workers"),
}
# Fields set by a cotpd key of another name: a config sets that key instead. The trainer
# resumes as train.resume says (`resume_from_checkpoint` goes to `Trainer.train`).
COTPD_KEY = {field: key for field, (key, _) in COTPD_FIELDS.items() if field != key}
COTPD_KEY["resume_from_checkpoint"] = "resume"

# Fields the stage sets itself, and why a config may not.
FIXED = {
    "output_dir": "the run directory decides it (<run>/student/checkpoints)",
    "seed": "run.seed sets it", "data_seed": "run.seed sets it",
    "load_best_model_at_end": "the student is the best on dev F1",
    "metric_for_best_model": "the student is the best on dev F1",
    "greater_is_better": "the student is the best on dev F1",
    "remove_unused_columns": "the student's batches need every column",
    "label_names": "the student's batches name their labels",
    "push_to_hub": "the stack never reaches a model hub",
}


def cotpd_settings(train: Any, cuda: bool) -> dict[str, Any]:
    """The TrainingArguments fields cotpd's keys set, from the `student.train` section."""
    return {field: value(train, cuda) for field, (_, value) in COTPD_FIELDS.items()}


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


def training_argument_fields() -> list[str]:
    """The init fields of the installed transformers' TrainingArguments."""
    from transformers import TrainingArguments

    return [f.name for f in dataclasses.fields(TrainingArguments) if f.init]


def check_extra_keys(extra: dict[str, Any], own_keys: Iterable[str]) -> None:
    """Raise ValueError for a key that is no TrainingArguments field, that a cotpd key
    already sets, or that the stage must set itself."""
    if not extra:
        return
    fields = training_argument_fields()
    own = sorted(own_keys)
    for key in extra:
        if key in COTPD_KEY:
            raise ValueError(f"{key!r} is set by student.train.{COTPD_KEY[key]}; use that key")
        if key in FIXED or key.startswith("hub_"):
            reason = FIXED.get(key, "the stack never reaches a model hub")
            raise ValueError(f"{key!r} cannot be set: {reason}")
        if key not in fields:
            valid = [f for f in fields if f not in COTPD_KEY and f not in FIXED] + own
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown key {key!r}: neither a cotpd key nor a field of the "
                             f"installed transformers' TrainingArguments{hint}")
