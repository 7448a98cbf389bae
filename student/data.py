"""Encoded datasets and the collator that pads every view of a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from corpus.records import MnerSample, Sample
from student.config import View
from student.views import EncodedView, ViewBuilder


class EncodedDataset(Dataset):
    """Samples encoded once into the views a model needs, with word-level label ids."""

    def __init__(self, samples: Sequence[Sample], views: Sequence[View], builder: ViewBuilder,
                 label_to_id: dict[str, int] | None) -> None:
        self.samples = list(samples)
        self.views = sorted({"text" if v == "prompt" else v for v in views})
        encoded = {v: builder.encode_all(self.samples, v) for v in self.views}
        self.items: list[dict[str, Any]] = []
        for index, sample in enumerate(self.samples):
            item: dict[str, Any] = {v: encoded[v][index] for v in self.views}
            if label_to_id is not None:
                labels = _label_ids(sample, label_to_id)
                if isinstance(labels, list):  # words cut by text truncation get no label
                    labels = labels[: len(item[self.views[0]].word_starts)]
                item["labels"] = labels
            self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]

    def lengths(self) -> list[int]:
        """The longest view of each item, for length-grouped batches."""
        return [max(len(item[v].input_ids) for v in self.views) for item in self.items]


def _label_ids(sample: Sample, label_to_id: dict[str, int]) -> list[int] | int:
    if isinstance(sample, MnerSample):
        return [label_to_id[label] for label in sample.labels]
    return label_to_id[sample.relation]


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
        if "labels" in items[0]:
            batch["labels"] = _pad_labels([item["labels"] for item in items],
                                          batch[f"{views[0]}_word_mask"].size(1))
        return batch


def _pad_labels(labels: list, width: int) -> torch.Tensor:
    if isinstance(labels[0], int):
        return torch.tensor(labels, dtype=torch.long)
    out = torch.full((len(labels), width), -100, dtype=torch.long)
    for row, values in enumerate(labels):
        out[row, : len(values)] = torch.tensor(values, dtype=torch.long)
    return out
