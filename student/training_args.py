"""`student.train` keys beyond cotpd's own: any field of the installed transformers'
`TrainingArguments`, checked by name when the config is read (an unknown one is named with
the closest valid key). cotpd's own keys stay the documented defaults."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from typing import Any

# TrainingArguments fields that a cotpd key already sets: use the cotpd key.
COTPD_KEY = {
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "eval_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation",
    "warmup_steps": "warmup_ratio",
    "eval_strategy": "eval_steps",
    "save_strategy": "eval_steps",
    "save_steps": "eval_steps",
    "activation_checkpointing": "gradient_checkpointing",
    "train_sampling_strategy": "group_by_length",
    "dataloader_num_workers": "num_workers",
    "resume_from_checkpoint": "resume",
}
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
