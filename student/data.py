"""Encoded datasets and the collator that pads every view of a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from cotpd.corpus.records import Sample
from cotpd.student.config import View
from cotpd.student.subwords import (
    SubwordLabels,
    continuation_ids,
    spread_labels,
    spread_teacher,
    spread_view,
)
from cotpd.student.tasks import student_task_of
from cotpd.student.views import EncodedView, ViewBuilder
from torch.utils.data import Dataset


class EncodedDataset(Dataset):
    """Samples encoded once into the views a model needs, with word-level label ids."""

    def __init__(self, samples: Sequence[Sample], views: Sequence[View], builder: ViewBuilder,
                 label_to_id: dict[str, int] | None,
                 teacher_logprobs: Sequence[np.ndarray | None] | None = None,
                 unlabelled: Sequence[bool] | None = None,
                 subword_labels: SubwordLabels = "first") -> None:
        """`teacher_logprobs`: a cached (words, C) array per sample (rows of NaN where the
        teacher saw no word); `unlabelled`: samples whose labels are not gold (KL only);
        `subword_labels` "all": every sub-word of an MNER word is a labelled position
        (student.subwords), for training sets only."""
        self.samples = list(samples)
        self.views = sorted({"text" if v == "prompt" else v for v in views})
        encoded = {v: builder.encode_all(self.samples, v) for v in self.views}
        self.items: list[dict[str, Any]] = []
        continuation = continuation_ids(sorted(label_to_id or {}, key=(label_to_id or {}).get))
        for index, sample in enumerate(self.samples):
            item: dict[str, Any] = {v: encoded[v][index] for v in self.views}
            words = len(item[self.views[0]].word_starts)
            if label_to_id is not None:
                if unlabelled is not None and unlabelled[index]:
                    labels: list[int] | int = [-100] * words
                else:
                    labels = student_task_of(sample).label_ids(sample, label_to_id)
                    if isinstance(labels, list):  # words cut by text truncation get no label
                        labels = labels[:words]
                item["labels"] = labels
            if teacher_logprobs is not None and teacher_logprobs[index] is not None:
                item["teacher_logprobs"] = teacher_logprobs[index][:words]
            if subword_labels == "all" and student_task_of(sample).word_level:
                _spread(item, self.views, continuation)
            self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]

    def lengths(self) -> list[int]:
        """The longest view of each item, for length-grouped batches."""
        return [max(len(item[v].input_ids) for v in self.views) for item in self.items]


def _spread(item: dict[str, Any], views: list[str], continuation: list[int]) -> None:
    """Every text sub-word as a position, with its label and teacher row (in place)."""
    first = item[views[0]]
    if "labels" in item:
        item["labels"] = spread_labels(first, item["labels"], continuation)
    if "teacher_logprobs" in item:
        item["teacher_logprobs"] = spread_teacher(first, item["teacher_logprobs"])
    for view in views:
        item[view] = spread_view(item[view])


class ViewCollator:
    """Pads each view's ids, attention mask, word index (and MRE markers) to the batch."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        views = [key for key, value in items[0].items() if isinstance(value, EncodedView)]
        for view in views:
            encoded: list[EncodedView] = [item[view] for item in items]
            length = max(len(e.input_ids) for e in encoded)
            words = max(len(e.word_starts) for e in encoded)
            ids = torch.full((len(items), length), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(items), length), dtype=torch.long)
            word_index = torch.zeros((len(items), max(words, 1)), dtype=torch.long)
            word_mask = torch.zeros((len(items), max(words, 1)), dtype=torch.long)
            for row, e in enumerate(encoded):
                ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
                mask[row, : len(e.input_ids)] = 1
                word_index[row, : len(e.word_starts)] = torch.tensor(e.word_starts,
                                                                     dtype=torch.long)
                word_mask[row, : len(e.word_starts)] = 1
            batch[f"{view}_input_ids"] = ids
            batch[f"{view}_attention_mask"] = mask
            batch[f"{view}_word_index"] = word_index
            batch[f"{view}_word_mask"] = word_mask
            if encoded[0].markers is not None:
                batch[f"{view}_markers"] = torch.tensor([e.markers for e in encoded])
        width = batch[f"{views[0]}_word_mask"].size(1)
        if "labels" in items[0]:
            batch["labels"] = _pad_labels([item["labels"] for item in items], width)
        if any("teacher_logprobs" in item for item in items):
            per_sample = "labels" in items[0] and isinstance(items[0]["labels"], int)
            batch["teacher_logprobs"], batch["teacher_mask"] = _pad_teacher(items, width)
            if per_sample:  # MRE: one distribution per instance, (B, C) and (B,)
                batch["teacher_logprobs"] = batch["teacher_logprobs"][:, 0]
                batch["teacher_mask"] = batch["teacher_mask"][:, 0]
        return batch


def _pad_teacher(items: list[dict[str, Any]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached teacher log-probs padded to (B, W, C), and where the teacher scored a word."""
    classes = next(item["teacher_logprobs"].shape[1] for item in items
                   if "teacher_logprobs" in item)
    logprobs = torch.zeros((len(items), width, classes), dtype=torch.float32)
    mask = torch.zeros((len(items), width), dtype=torch.bool)
    for row, item in enumerate(items):
        values = item.get("teacher_logprobs")
        if values is None:
            continue
        values = torch.tensor(np.asarray(values), dtype=torch.float32)  # a copy: cached
        # arrays are read-only
        scored = ~torch.isnan(values).any(-1)
        logprobs[row, : len(values)] = torch.nan_to_num(values, nan=0.0)
        mask[row, : len(values)] = scored
    return logprobs, mask


def _pad_labels(labels: list, width: int) -> torch.Tensor:
    if isinstance(labels[0], int):
        return torch.tensor(labels, dtype=torch.long)
    out = torch.full((len(labels), width), -100, dtype=torch.long)
    for row, values in enumerate(labels):
        out[row, : len(values)] = torch.tensor(values, dtype=torch.long)
    return out
