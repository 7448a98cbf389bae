"""The HF Trainer subclass: the CoTPD loss, length-grouped batches and dev-F1 evaluation
on the inference view (so model selection sees exactly what predict will do)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cotpd.corpus.errors import CotpdError, shorten
from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.records import Sample
from cotpd.student.config import View
from cotpd.student.data import EncodedDataset
from cotpd.student.tasks import student_task_of
from torch import nn
from torch.utils.data import SequentialSampler
from transformers import EvalPrediction, Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

LOSS_PARTS = ("nll", "kl", "prompt_nll", "hidden")
logger = logging.getLogger(__name__)


class DistillationTrainer(Trainer):
    def __init__(self, *args: Any, infer_view: View, new_parameters_lr_multiplier: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.infer_view = infer_view
        self.new_parameters_lr_multiplier = new_parameters_lr_multiplier
        self._loss_parts: dict[str, list[float]] = {}

    def compute_loss(self, model: nn.Module, inputs: dict[str, torch.Tensor],
                     return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
        outputs = model(**inputs)
        for name in LOSS_PARTS:
            if name in outputs:
                self._loss_parts.setdefault(name, []).append(float(outputs[name].detach()))
        return (outputs["loss"], outputs) if return_outputs else outputs["loss"]

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        """A checkpoint that cannot be written (a full disk, a read-only folder) stops the
        run with one line naming it; the checkpoints before it stay whole, and the torn one
        is never resumed from (`last_complete_checkpoint` removes it on the next start)."""
        try:
            super()._save_checkpoint(model, trial)
        except (OSError, RuntimeError) as error:
            folder = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
            if isinstance(error, OSError) and error.strerror:
                reason = error.strerror
            else:  # torch.save reports a failed write as a RuntimeError of its zip writer
                reason = "a write failed: " + shorten(
                    (str(error) or type(error).__name__).splitlines()[0], 100)
            raise CotpdError(f"{folder}: could not write this checkpoint ({reason}); free "
                             "space or allow writing there, then run again: training resumes "
                             "from the last whole checkpoint") from error

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """AdamW as HF builds it, with the parameters that are not the pretrained encoder
        (prompt generator, head, CRF) at `new_parameters_lr_multiplier` times the rate."""
        if self.optimizer is not None or self.new_parameters_lr_multiplier == 1.0:
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        decay = set(self.get_decay_parameter_names(opt_model))
        lr = self.args.learning_rate
        groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
        for name, param in opt_model.named_parameters():
            if param.requires_grad:
                groups.setdefault((name.startswith("encoder."), name in decay), []).append(param)
        grouped = [{"params": params, "weight_decay": self.args.weight_decay if decays else 0.0,
                    "lr": lr if encoder else lr * self.new_parameters_lr_multiplier}
                   for (encoder, decays), params in sorted(groups.items())]
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        self.optimizer = optimizer_cls(grouped, **optimizer_kwargs)
        return self.optimizer

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        # Report the loss parts beside the total, averaged since the last log.
        if "loss" in logs:
            for name, values in self._loss_parts.items():
                logs[name] = round(sum(values) / len(values), 4)
            self._loss_parts = {}
        logger.debug("step %d: %s", self.state.global_step, logs)  # the stage's log keeps them
        super().log(logs, *args, **kwargs)

    def prediction_step(self, model: nn.Module, inputs: dict[str, torch.Tensor],
                        prediction_loss_only: bool, ignore_keys: list[str] | None = None,
                        ) -> tuple[None, torch.Tensor, torch.Tensor]:
        inputs = self._prepare_inputs(inputs)
        core = self.accelerator.unwrap_model(model)
        predictions = core.predict(inputs, self.infer_view)
        return None, predictions, inputs["labels"]

    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.args.train_sampling_strategy == "group_by_length" and isinstance(
                dataset, EncodedDataset):
            return LengthGroupedSampler(
                self.args.train_batch_size * self.args.gradient_accumulation_steps,
                lengths=dataset.lengths())
        return super()._get_train_sampler(train_dataset)

    def _get_eval_sampler(self, eval_dataset: Any) -> torch.utils.data.Sampler | None:
        # Evaluation keeps the dataset order (compute_metrics scores against the samples in
        # order); with several ranks, accelerate shards batches and gathers them back in order.
        if self.args.world_size <= 1:
            return SequentialSampler(eval_dataset)
        return None


def make_compute_metrics(samples: Sequence[Sample], id_to_label: list[str]
                         ) -> Callable[[EvalPrediction], dict[str, float]]:
    """Score predictions against the full gold of `samples` (words cut by truncation are
    predicted O, never dropped from the gold)."""

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        predicted = np.asarray(prediction.predictions)
        if len(predicted) != len(samples):
            raise RuntimeError(f"{len(predicted)} predictions for {len(samples)} dev samples")
        micro = student_task_of(samples[0]).dev_scores(samples, predicted, id_to_label)
        return {"f1": micro.f1, "precision": micro.precision, "recall": micro.recall}

    return compute


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_is_complete(folder: Path, step: int) -> bool:
    """HF writes a checkpoint in place and `trainer_state.json` last (not atomically): a
    whole state file for this very step means every file before it was written."""
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("global_step") == step


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest whole `checkpoint-N` under `folder`, or None. A run killed while saving
    leaves a torn newest checkpoint: it is removed (rank 0 only), not resumed from."""
    if not folder.is_dir():
        return None
    found = sorted(((int(m.group(1)), folder / m.group(0)) for m in
                    map(_CHECKPOINT.match, os.listdir(folder)) if m), reverse=True)
    for step, path in found:
        if not path.is_dir():
            continue
        if checkpoint_is_complete(path, step):
            return str(path)
        if int(os.environ.get("RANK", "0")) == 0:
            shutil.rmtree(path, ignore_errors=True)
    return None


# Beside the checkpoints: what the training that writes them was made from.
TRAINING_RECORD = "training.json"


def claim_checkpoints(folder: Path, made_from: dict[str, Any]) -> None:
    """Make `folder` the checkpoints of the training `made_from` describes (JSON data).
    Checkpoints already there are another training's unless its record is the same: they
    are refused, never resumed from nor mixed with this one's, and nothing is deleted."""
    made_from = json.loads(json.dumps(made_from))  # as it reads back from the record
    try:
        recorded = json.loads((folder / TRAINING_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded == made_from:
        return  # this training's own checkpoints (the record is not written again)
    if folder.is_dir() and any(
            _CHECKPOINT.match(name) and (folder / name).is_dir() for name in os.listdir(folder)):
        whose = ("with no record of the training that made them" if recorded is None
                 else "of another training (it differs in "
                 f"{', '.join(_differences(recorded, made_from))})")
        raise CotpdError(
            f"{folder} holds checkpoints {whose}; resuming could continue the wrong model: "
            "train in another run directory (--set run.name=NAME or --set run.output_dir=DIR) "
            f"or remove {folder} to start this training from scratch")
    if int(os.environ.get("RANK", "0")) == 0:  # no checkpoints yet: a fresh training
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / TRAINING_RECORD, json.dumps(made_from, indent=2) + "\n")


def _differences(recorded: Any, current: dict[str, Any], shown: int = 6) -> list[str]:
    """The keys whose values differ, dotted (`student.variant`, `seed`), the first few."""
    before, after = _flat(recorded), _flat(current)
    keys = [key for key in dict.fromkeys([*after, *before]) if before.get(key) != after.get(key)]
    return keys[:shown] + ([f"{len(keys) - shown} more"] if len(keys) > shown else [])


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat
