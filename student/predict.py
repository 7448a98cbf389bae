"""Text-only prediction with a trained student: the Python API behind `cotpd predict`.

Texts longer than the encoder's window are read in overlapping windows (student.windows),
so every word gets a label from a window that saw it; nothing is cut off as `O`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from cotpd.corpus.bio import bio_spans
from cotpd.corpus.predict_inputs import BadInput, BadInputError, word_problem
from cotpd.corpus.records import MnerSample, MreSample, Sample
from cotpd.corpus.words import WordStyle, split_words
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.saving import LoadedStudent, load_student
from cotpd.student.tasks import student_task
from cotpd.student.views import ViewBuilder
from cotpd.student.windows import default_overlap, plan_windows


@dataclass
class _Unit:
    """One encoder input: a whole sample, or one window of a long MNER sample."""

    sample: Sample
    source: int  # index of the sample it comes from
    start: int = 0  # first word of the window in that sample
    window: int = 0
    owner: list[int] | None = None  # per word of the sample: the window whose label it takes


class StudentPredictor:
    """Batched inference on the student's inference view (text only for the distilled
    variants: no image, no caption, no LLM).

    `stride` is the number of sub-words consecutive windows of a long text share (default a
    quarter of the window, `views.max_length` minus the two special tokens).
    """

    def __init__(self, loaded: LoadedStudent, batch_size: int = 64,
                 stride: int | None = None) -> None:
        self.loaded = loaded
        self.task = student_task(loaded.task)
        self.view = loaded.config.resolved_infer_view
        self.builder = ViewBuilder.for_student(loaded.tokenizer, loaded.config)
        self.collator = ViewCollator(loaded.tokenizer.pad_token_id)
        self.batch_size = batch_size
        self.device = next(loaded.model.parameters()).device
        self.window = loaded.config.views.max_length - 2  # sub-words between [CLS] and [SEP]
        self.stride = default_overlap(self.window) if stride is None else stride
        if not 0 <= self.stride < self.window:
            raise BadInputError(f"stride {self.stride}: expected 0 to {self.window - 1} "
                                f"sub-words (this student's window holds {self.window})")
        self.windows_read = 0  # windows beyond the first, over all long texts so far

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu", batch_size: int = 64,
             stride: int | None = None, trust_remote_code: bool = False) -> StudentPredictor:
        return cls(load_student(directory, device, trust_remote_code), batch_size, stride)

    @property
    def needs_context(self) -> bool:
        return self.view in ("caption", "knowledge")

    # -- samples ----------------------------------------------------------------------------
    def predict_samples(self, samples: Sequence[Sample]) -> list[list[str]] | list[str]:
        """Word-level BIO labels per sentence (MNER, every word labelled whatever the
        length) or one relation per instance (MRE)."""
        results: list = [None] * len(samples)
        fitted = [i for i, s in enumerate(samples)
                  if not self.task.windowed or self._surely_fits(s.tokens)]
        units = [_Unit(samples[i], i) for i in fitted]
        fitted_set = set(fitted)
        for index, sample in enumerate(samples):
            if index not in fitted_set:
                units.extend(self._windows(sample, index))
        outputs = self._run([u.sample for u in units])
        # A sample the byte bound let through whole but the encoder cut (an unusual
        # tokenizer) is read again in windows, so no word is left unread.
        again = [u.source for u, (_, complete) in zip(units, outputs, strict=True)
                 if not complete]
        if again:
            retry = [w for i in again for w in self._windows(samples[i], i, exact=True)]
            redo = set(again)
            kept = [(u, o) for u, o in zip(units, outputs, strict=True) if u.source not in redo]
            units = [u for u, _ in kept] + retry
            outputs = [o for _, o in kept] + self._run([u.sample for u in retry])
        for unit, (labels, _) in zip(units, outputs, strict=True):
            sample = samples[unit.source]
            if unit.owner is None:  # the whole sample in one input
                results[unit.source] = labels
                continue
            if results[unit.source] is None:
                results[unit.source] = ["O"] * len(sample.tokens)
            for offset, label in enumerate(labels):
                word = unit.start + offset
                if unit.owner[word] == unit.window:
                    results[unit.source][word] = label
        return results

    def _surely_fits(self, words: Sequence[str]) -> bool:
        """True when the words cannot exceed the window, without tokenizing: no standard
        tokenizer makes more sub-words of a word than its UTF-8 bytes plus one."""
        return sum(len(w.encode("utf-8")) + 1 for w in words) <= self.window

    def _windows(self, sample: Sample, index: int, exact: bool = False) -> list[_Unit]:
        """The windows of one long sample of a windowed task (MNER), each a sample of its
        own, so that the prompt generator sees the window's own text."""
        pieces = self.loaded.tokenizer(list(sample.tokens), add_special_tokens=False)["input_ids"]
        lengths = [max(1, len(p)) for p in pieces]  # an empty word is encoded as [UNK]
        if not exact and sum(lengths) <= self.window:
            return [_Unit(sample, index)]
        words = [w if n <= self.window else self._fitting_prefix(w)
                 for w, n in zip(sample.tokens, lengths, strict=True)]
        lengths = [min(n, self.window) for n in lengths]
        plan = plan_windows(lengths, self.window, self.stride)
        self.windows_read += len(plan.spans) - 1
        return [_Unit(self.task.window(sample, f"{sample.id}#w{k}", words[start:end]),
                      index, start, k, plan.owner)
                for k, (start, end) in enumerate(plan.spans)]

    def _fitting_prefix(self, word: str) -> str:
        """The longest prefix of a word with more sub-words than a whole window that fits
        one: its first sub-words, which are what label it, stay the same."""
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            ids = self.loaded.tokenizer(word[:middle], add_special_tokens=False)["input_ids"]
            low, high = (middle, high) if len(ids) <= self.window else (low, middle - 1)
        return word[:low]

    def _run(self, samples: list[Sample]) -> list[tuple[Any, bool]]:
        """Labels (MNER) or a relation (MRE) per sample, and whether every word was read."""
        if not samples:
            return []
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
                results[position] = self.task.read_prediction(samples[position], row, labels)
        return results

    # -- words and texts --------------------------------------------------------------------
    def predict_words(self, sentences: Sequence[Sequence[str]], skip_bad: bool = False,
                      where: Sequence[str] | None = None) -> list[dict[str, Any] | None]:
        """Entities of sentences given as words. A sentence with no words (or an empty word)
        is an error naming it (`where`, default "sentence N", from 1); with `skip_bad` it is
        left out, its place in the result is None, and a warning names it."""
        names = list(where) if where is not None else [f"sentence {i + 1}"
                                                       for i in range(len(sentences))]
        problems = [word_problem(words) for words in sentences]
        bad = [BadInput(names[i], p) for i, p in enumerate(problems) if p is not None]
        if bad and not skip_bad:
            raise BadInputError(f"{bad[0]}; give words, or skip such inputs (skip_bad)")
        if bad:
            warnings.warn(f"skipped {len(bad)} bad input(s): "
                          + "; ".join(str(b) for b in bad), stacklevel=2)
        keep = [i for i, p in enumerate(problems) if p is None]
        samples = [MnerSample(id=str(i), tokens=list(sentences[i]),
                              labels=["O"] * len(sentences[i]), image_id=None) for i in keep]
        tagged = self.predict_samples(samples)
        records: list[dict[str, Any] | None] = [None] * len(sentences)
        for i, sample, tags in zip(keep, samples, tagged, strict=True):
            records[i] = entities_json(sample.tokens, tags)
        return records

    def predict_entities(self, texts: Sequence[str], words: WordStyle = "tweet",
                         skip_bad: bool = False) -> list[dict[str, Any] | None]:
        """Entities of raw texts, split into words as the training data is tokenized
        (corpus.words: punctuation apart; with style "tweet" @handles, #tags and URLs stay
        whole). Empty texts: as in `predict_words`, named "text N"."""
        return self.predict_words([split_words(t, words) for t in texts], skip_bad,
                                  [f"text {i + 1}" for i in range(len(texts))])

    def predict_relations(self, samples: Sequence[MreSample]) -> list[dict[str, Any]]:
        relations = self.predict_samples(samples)
        return [{"tokens": s.tokens, "head": s.head.name, "tail": s.tail.name, "relation": r}
                for s, r in zip(samples, relations, strict=True)]


def entities_json(tokens: list[str], tags: list[str]) -> dict[str, Any]:
    return {"tokens": tokens, "labels": tags, "entities": [
        {"text": " ".join(tokens[s.start:s.end]), "type": s.type, "start": s.start, "end": s.end}
        for s in bio_spans(tags)]}
