"""Text-only prediction with a trained student: the Python API behind `cotpd predict`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from corpus.bio import bio_spans
from corpus.records import MnerSample, MreSample, Sample
from student.data import EncodedDataset, ViewCollator
from student.saving import LoadedStudent, load_student
from student.views import ViewBuilder


class StudentPredictor:
    """Batched inference on the student's inference view (text only for the distilled
    variants: no image, no caption, no LLM)."""

    def __init__(self, loaded: LoadedStudent, batch_size: int = 64) -> None:
        self.loaded = loaded
        self.view = loaded.config.resolved_infer_view
        self.builder = ViewBuilder(loaded.tokenizer, loaded.config.views)
        self.collator = ViewCollator(loaded.tokenizer.pad_token_id)
        self.batch_size = batch_size
        self.device = next(loaded.model.parameters()).device

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu", batch_size: int = 64
             ) -> StudentPredictor:
        return cls(load_student(directory, device), batch_size)

    @property
    def needs_context(self) -> bool:
        return self.view in ("caption", "knowledge")

    def predict_samples(self, samples: Sequence[Sample]) -> list[list[str]] | list[str]:
        """Word-level BIO labels per sentence (MNER) or one relation per instance (MRE)."""
        dataset = EncodedDataset(samples, [self.view], self.builder, label_to_id=None)
        # Batches of equal sub-word lengths waste least on padding (a quarter fewer positions
        # than sorting by word count on Twitter-2017); results go back in input order.
        lengths = dataset.lengths()
        order = sorted(range(len(samples)), key=lengths.__getitem__)
        labels = self.loaded.labels
        results: list = [None] * len(samples)
        model = self.loaded.model
        for start in range(0, len(dataset), self.batch_size):
            items = [dataset[i] for i in order[start:start + self.batch_size]]
            batch = {k: v.to(self.device) for k, v in self.collator(items).items()}
            with torch.inference_mode():
                predicted = model.predict(batch, self.view).cpu().tolist()
            for offset, row in enumerate(predicted):
                position = order[start + offset]
                sample = samples[position]
                if isinstance(sample, MnerSample):
                    tags = [labels[v] for v in row if v >= 0][: len(sample.tokens)]
                    results[position] = tags + ["O"] * (len(sample.tokens) - len(tags))
                else:
                    results[position] = labels[row]
        return results

    def predict_entities(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Entities of whitespace-tokenized sentences, as JSON-ready dicts."""
        samples = [MnerSample(id=str(i), tokens=text.split(), labels=["O"] * len(text.split()),
                              image_id=None) for i, text in enumerate(texts)]
        empty = [i for i, s in enumerate(samples) if not s.tokens]
        if empty:
            raise ValueError(f"empty input text at position(s) {empty}")
        tagged = self.predict_samples(samples)
        return [entities_json(sample.tokens, tags) for sample, tags in zip(samples, tagged,
                                                                            strict=True)]

    def predict_relations(self, samples: Sequence[MreSample]) -> list[dict[str, Any]]:
        relations = self.predict_samples(samples)
        return [{"tokens": s.tokens, "head": s.head.name, "tail": s.tail.name, "relation": r}
                for s, r in zip(samples, relations, strict=True)]


def entities_json(tokens: list[str], tags: list[str]) -> dict[str, Any]:
    return {"tokens": tokens, "labels": tags, "entities": [
        {"text": " ".join(tokens[s.start:s.end]), "type": s.type, "start": s.start, "end": s.end}
        for s in bio_spans(tags)]}
