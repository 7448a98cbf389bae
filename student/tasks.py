"""The task registry, student side: per task, the head, what a view marks in the text, the
label encoding, the loss, decoding and how predictions are read back. Registered under the
corpus task names (corpus/tasks.py); `student_task(name)` finds them.

MNER labels every word (a token head, with a CRF if configured); MRE labels an instance from
the states of the markers put before (and by default after) its head and tail, with [CLS]
too if `student.mre.pooling` asks for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import MnerSample, MreSample, Sample
from cotpd.corpus.tasks import lookup
from cotpd.eval.metrics import PRF, mner_scores, mre_scores
from cotpd.student import losses
from cotpd.student.config import MarkerStyle, StudentConfig
from cotpd.student.heads import RelationHead, TokenHead
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

MARKERS = ("<h>", "</h>", "<t>", "</t>")

Batch = dict[str, torch.Tensor]


class StudentTask:
    """What the student does differently per task. Samples passed in are the task's own."""

    name: str
    # Labels are per word, so a sub-word can carry its word's label (student.subwords).
    word_level: bool
    # Long texts are read in overlapping windows, each a sample of its own.
    windowed: bool
    # The view must keep the head/tail markers: the head reads their states.
    needs_markers: bool
    # Why such a student cannot be exported as a plain token classifier; None: it can.
    export_blocker: str | None

    def make_head(self, hidden: int, num_labels: int, config: StudentConfig,
                  dropout: float, class_weights: torch.Tensor | None = None) -> nn.Module:
        raise NotImplementedError

    def config_problems(self, config: StudentConfig) -> list[str]:
        """Student settings this task cannot use, one line each; [] when all fit."""
        return []

    def class_weights(self, config: StudentConfig, train: Sequence[Any],
                      labels: Sequence[str]) -> list[float] | None:
        """Weights of the label classes in the gold loss, from the training samples; None:
        unweighted."""
        return None

    def prepare_tokenizer(self, tokenizer: PreTrainedTokenizerBase) -> None:
        """Tokens the task adds to the tokenizer (MRE's markers)."""

    def prepare_encoder(self, tokenizer: PreTrainedTokenizerBase,
                        encoder: PreTrainedModel) -> None:
        """Changes the task needs in the tokenizer and embeddings before training."""
        self.prepare_tokenizer(tokenizer)

    def words(self, sample: Any, markers: MarkerStyle = "start_end"
              ) -> tuple[list[str], list[bool]]:
        """The words to encode and which of them are the sample's words (not markers);
        `markers` is which markers a task that marks mentions puts in."""
        raise NotImplementedError

    def positions(self, batch: Batch, source: str, offset: int) -> torch.Tensor:
        """The positions whose states the head reads, shifted by a prompt of `offset`."""
        raise NotImplementedError

    def label_ids(self, sample: Any, label_to_id: dict[str, int]) -> list[int] | int:
        raise NotImplementedError

    def loss(self, head: nn.Module, config: StudentConfig, main: torch.Tensor,
             other: torch.Tensor | None, main_states: torch.Tensor,
             other_states: torch.Tensor | None, batch: Batch) -> dict[str, torch.Tensor]:
        """The loss and its parts, from the trained view's logits (`main`) and, when the
        variant distils, the other view's (`other`)."""
        raise NotImplementedError

    def decode(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor
               ) -> torch.Tensor:
        """Label ids from a batch's logits."""
        raise NotImplementedError

    def read_prediction(self, sample: Any, row: Any, labels: Sequence[str]) -> tuple[Any, bool]:
        """One decoded row as labels, and whether every word of the sample got one."""
        raise NotImplementedError

    def window(self, sample: Any, sample_id: str, tokens: list[str]) -> Sample:
        """A window of a long sample (windowed tasks only)."""
        raise NotImplementedError(f"{self.name} samples are not read in windows")

    def knowledge_logprobs(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor,
                           word_counts: Sequence[int]) -> list[np.ndarray]:
        """A cached teacher's log-probabilities per sample of a batch, as the loss reads them
        back: (words, C), rows of NaN for words it did not see; or (1, C) per instance."""
        raise NotImplementedError

    def dev_scores(self, samples: Sequence[Any], predicted: np.ndarray,
                   id_to_label: list[str]) -> PRF:
        """Micro scores of predicted label ids against the full gold of `samples`."""
        raise NotImplementedError


def _crf(head: nn.Module) -> Any:
    return head.crf if isinstance(head, TokenHead) else None


class MnerStudent(StudentTask):
    name = "mner"
    word_level = True
    windowed = True
    needs_markers = False
    export_blocker = None

    def make_head(self, hidden: int, num_labels: int, config: StudentConfig,
                  dropout: float, class_weights: torch.Tensor | None = None) -> nn.Module:
        return TokenHead(hidden, num_labels, config.head == "crf", dropout)

    def config_problems(self, config: StudentConfig) -> list[str]:
        if config.mre.is_default:
            return []
        changed = ", ".join(f"{key}={value!r}" for key, value in
                            config.mre.model_dump(exclude_defaults=True).items())
        return [f"student.mre ({changed}) is for relation (MRE) students; this is an MNER "
                f"dataset, whose student reads no markers: remove student.mre"]

    def words(self, sample: MnerSample, markers: MarkerStyle = "start_end"
              ) -> tuple[list[str], list[bool]]:
        return list(sample.tokens), [True] * len(sample.tokens)

    def positions(self, batch: Batch, source: str, offset: int) -> torch.Tensor:
        index = batch[f"{source}_word_index"]
        return torch.where(index > 0, index + offset, index)  # 0 is padding: it stays

    def label_ids(self, sample: MnerSample, label_to_id: dict[str, int]) -> list[int]:
        return [label_to_id[label] for label in sample.labels]

    def loss(self, head: nn.Module, config: StudentConfig, main: torch.Tensor,
             other: torch.Tensor | None, main_states: torch.Tensor,
             other_states: torch.Tensor | None, batch: Batch) -> dict[str, torch.Tensor]:
        distill = config.distill
        labels = batch["labels"]
        source = "text" if config.train_view == "prompt" else config.train_view
        words = batch[f"{source}_word_mask"].bool()  # every word, labelled or not
        crf = _crf(head)
        parts = {"nll": losses.token_nll(crf, main, labels, words)}
        if other is not None:
            parts["kl"] = losses.token_kl(crf, main, other, words, distill.temperature,
                                          distill.detach_knowledge)
            parts["prompt_nll"] = losses.token_nll(crf, other, labels, words)
            if distill.hidden_weight:
                parts["hidden"] = losses.hidden_mse(main_states, other_states, words)
        elif "teacher_logprobs" in batch:
            taught = words & batch["teacher_mask"].bool()
            parts["kl"] = losses.cached_token_kl(crf, batch["teacher_logprobs"], main, words,
                                                 taught, distill.temperature)
        weights = {"nll": 1.0, "kl": distill.alpha, "prompt_nll": distill.prompt_nll_weight,
                   "hidden": distill.hidden_weight}
        total = sum(weights[name] * value for name, value in parts.items())
        return {"loss": total, **parts}

    def decode(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor
               ) -> torch.Tensor:
        """(B, W) label ids, -100 past each sentence's words."""
        mask = word_mask.bool()
        crf = _crf(head)
        if crf is None:
            return logits.argmax(-1).masked_fill(~mask, -100)
        out = torch.full(mask.shape, -100, dtype=torch.long, device=mask.device)
        for row, path in enumerate(crf.decode(logits, mask)):
            out[row, : len(path)] = torch.tensor(path, device=mask.device)
        return out

    def read_prediction(self, sample: MnerSample, row: Any, labels: Sequence[str]
                        ) -> tuple[list[str], bool]:
        tags = [labels[v] for v in row if v >= 0][: len(sample.tokens)]
        return tags, len(tags) == len(sample.tokens)

    def window(self, sample: MnerSample, sample_id: str, tokens: list[str]) -> Sample:
        return replace(sample, id=sample_id, tokens=tokens, labels=["O"] * len(tokens))

    def knowledge_logprobs(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor,
                           word_counts: Sequence[int]) -> list[np.ndarray]:
        words = word_mask.bool()
        crf = _crf(head)
        logp = (torch.log_softmax(logits, -1) if crf is None
                else crf.marginals(logits, words).clamp_min(1e-12).log())
        out = []
        for row, count in enumerate(word_counts):
            seen = int(words[row].sum())
            values = np.full((count, logits.size(-1)), np.nan, np.float32)
            values[:seen] = logp[row, :seen].cpu().numpy()
            out.append(values)
        return out

    def dev_scores(self, samples: Sequence[MnerSample], predicted: np.ndarray,
                   id_to_label: list[str]) -> PRF:
        gold = [s.labels for s in samples]
        pred = [_decode_row(predicted[i], len(s.labels), id_to_label)
                for i, s in enumerate(samples)]
        return mner_scores(gold, pred).micro


def _decode_row(row: np.ndarray, length: int, id_to_label: list[str]) -> list[str]:
    """Words cut by truncation are predicted O, never dropped from the gold."""
    labels = [id_to_label[int(v)] for v in row[:length] if v >= 0]
    return labels + ["O"] * (length - len(labels))


class MreStudent(StudentTask):
    name = "mre"
    word_level = False
    windowed = False
    needs_markers = True
    export_blocker = ("it is a relation (MRE) student: its head reads the <h>/<t> marker "
                      "states, which no standard transformers pipeline does")

    def make_head(self, hidden: int, num_labels: int, config: StudentConfig,
                  dropout: float, class_weights: torch.Tensor | None = None) -> nn.Module:
        return RelationHead(hidden, num_labels, dropout, config.mre.pooling, class_weights)

    def class_weights(self, config: StudentConfig, train: Sequence[MreSample],
                      labels: Sequence[str]) -> list[float] | None:
        """Inverse-frequency weights N / (C * n_c) over the relations seen in training (1 for
        the others), or all 1; the none relation's times none_weight. None when all are 1."""
        mre = config.mre
        if mre.class_weights == "uniform" and mre.none_weight == 1.0:
            return None
        weights = [1.0] * len(labels)
        if mre.class_weights == "inverse_frequency":
            counts = Counter(s.relation for s in train if s.relation in labels)
            seen = [label for label in labels if counts[label]]
            total = sum(counts.values())
            for index, label in enumerate(labels):
                if counts[label]:
                    weights[index] = total / (len(seen) * counts[label])
        if mre.none_weight != 1.0:
            if mre.none_label not in labels:
                raise CotpdError(f"student.mre.none_weight: the relations have no "
                                 f"{mre.none_label!r} (student.mre.none_label); they are "
                                 f"{', '.join(labels)}")
            weights[list(labels).index(mre.none_label)] *= mre.none_weight
        return weights

    def prepare_tokenizer(self, tokenizer: PreTrainedTokenizerBase) -> None:
        tokenizer.add_special_tokens({"additional_special_tokens": list(MARKERS)})

    def prepare_encoder(self, tokenizer: PreTrainedTokenizerBase,
                        encoder: PreTrainedModel) -> None:
        self.prepare_tokenizer(tokenizer)
        encoder.resize_token_embeddings(len(tokenizer))

    def words(self, sample: MreSample, markers: MarkerStyle = "start_end"
              ) -> tuple[list[str], list[bool]]:
        """The words with <h> ... </h> and <t> ... </t> around the head and tail (`start`:
        only <h> and <t> before them)."""
        inserts: dict[int, list[str]] = {}
        for mention, (open_, close) in ((sample.head, MARKERS[:2]), (sample.tail, MARKERS[2:])):
            inserts.setdefault(mention.start, []).append(open_)
            if markers == "start_end":
                inserts.setdefault(mention.end, []).insert(0, close)
        words: list[str] = []
        flags: list[bool] = []
        for index in range(len(sample.tokens) + 1):
            for marker in inserts.get(index, []):
                words.append(marker)
                flags.append(False)
            if index < len(sample.tokens):
                words.append(sample.tokens[index])
                flags.append(True)
        return words, flags

    def positions(self, batch: Batch, source: str, offset: int) -> torch.Tensor:
        """[CLS] (position 0 in every view) and the <h> and <t> markers: (B, 3); the head
        pools what `student.mre.pooling` asks for."""
        markers = batch[f"{source}_markers"] + offset
        return torch.cat([torch.zeros_like(markers[:, :1]), markers], dim=1)

    def label_ids(self, sample: MreSample, label_to_id: dict[str, int]) -> int:
        return label_to_id[sample.relation]

    def loss(self, head: nn.Module, config: StudentConfig, main: torch.Tensor,
             other: torch.Tensor | None, main_states: torch.Tensor,
             other_states: torch.Tensor | None, batch: Batch) -> dict[str, torch.Tensor]:
        distill = config.distill
        labels = batch["labels"]
        weights = getattr(head, "class_weights", None)
        if other is None:
            nll = losses.sequence_nll(main, labels, weights)
            if "teacher_logprobs" not in batch:
                return {"loss": nll, "nll": nll}
            kl = losses.kl_from_logits(batch["teacher_logprobs"].to(main.dtype), main,
                                       batch["teacher_mask"].bool(), distill.temperature)
            return {"loss": nll + distill.alpha * kl, "nll": nll, "kl": kl}
        parts = losses.distillation_loss(
            main, other, labels, None, alpha=distill.alpha, temperature=distill.temperature,
            detach_teacher=distill.detach_knowledge, prompt_nll_weight=distill.prompt_nll_weight,
            class_weights=weights)
        return {"loss": parts.total, "nll": parts.nll, "kl": parts.kl,
                "prompt_nll": parts.prompt_nll}

    def decode(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor
               ) -> torch.Tensor:
        """(B,) relation ids."""
        return logits.argmax(-1)

    def read_prediction(self, sample: MreSample, row: Any, labels: Sequence[str]
                        ) -> tuple[str, bool]:
        return labels[row], True

    def knowledge_logprobs(self, head: nn.Module, logits: torch.Tensor, word_mask: torch.Tensor,
                           word_counts: Sequence[int]) -> list[np.ndarray]:
        logp = torch.log_softmax(logits, -1).cpu().numpy()
        return [logp[row:row + 1] for row in range(len(word_counts))]

    def dev_scores(self, samples: Sequence[MreSample], predicted: np.ndarray,
                   id_to_label: list[str]) -> PRF:
        gold = [s.relation for s in samples]
        return mre_scores(gold, [id_to_label[int(p)] for p in predicted]).micro


STUDENT_TASKS: dict[str, StudentTask] = {t.name: t for t in (MnerStudent(), MreStudent())}


def student_task(name: str) -> StudentTask:
    """The student parts of the task registered as `name`."""
    return lookup(STUDENT_TASKS, name)


def student_task_of(sample: Sample) -> StudentTask:
    return student_task(sample.task)
