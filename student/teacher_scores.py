"""Two-stage distillation, first stage: a trained knowledge-view student scores sentences once
(eval mode, no dropout) and its per-word log-probabilities are cached, keyed by the teacher's
and the data's fingerprints, so every later student trains against them at the cost of a
text-only step.

A cache file `<key>.safetensors` holds `logprobs` (all words of all sentences, C) and
`offsets` (sentence i's words are rows offsets[i]:offsets[i+1]); rows of NaN are words the
teacher did not see (its text truncation). Its metadata repeats the key's parts, and a file
whose metadata does not match what the caller expects is refused, never used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_bytes
from cotpd.corpus.fingerprint import sha256_bytes, sha256_file
from cotpd.corpus.records import Sample
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.saving import LoadedStudent, load_student
from cotpd.student.tasks import student_task
from cotpd.student.views import ViewBuilder
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save

CACHE_VERSION = 1


@dataclass
class TeacherScores:
    """Per-sentence (words, C) log-probabilities, in the order of the scored samples."""

    logprobs: list[np.ndarray]
    path: Path
    reused: bool
    seconds: float  # 0 when reused
    meta: dict[str, str]


def teacher_folder_fingerprint(teacher_dir: str | Path) -> str:
    """The weights and the student.json (labels, views) of a trained student folder."""
    teacher_dir = Path(teacher_dir)
    for name in ("model.safetensors", "student.json"):
        if not (teacher_dir / name).is_file():
            raise CotpdError(f"{teacher_dir} is not a trained student (no {name}); "
                             "student.distill.teacher must be a folder written by `cotpd train`")
    return sha256_bytes((sha256_file(teacher_dir / "model.safetensors") + ":"
                         + sha256_file(teacher_dir / "student.json")).encode())


def data_fingerprint(samples: Sequence[Sample]) -> str:
    """Every sample as stored (tokens, gold, context), in order: what the teacher reads, and
    the gold that cross-fitted teachers train on."""
    rows = [s.to_dict() for s in samples]
    return sha256_bytes(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode())


def cache_key(teacher: str, data: str) -> str:
    return sha256_bytes(f"v{CACHE_VERSION}:{teacher}:{data}".encode())[:32]


def load_teacher(teacher_dir: str | Path, labels: list[str],
                 trust_remote_code: bool = False) -> LoadedStudent:
    """A teacher must read knowledge and label with the student's label list. Its folder's
    own code runs only when the user's config says so (`student.trust_remote_code`)."""
    loaded = load_student(teacher_dir, trust_remote_code=trust_remote_code)
    view = loaded.config.resolved_infer_view
    if view != "knowledge":
        raise CotpdError(f"{teacher_dir}: its inference view is {view!r}; a two-stage teacher "
                         "must be a knowledge-view student (variant cot, or infer_view "
                         "knowledge) (student.distill.teacher)")
    if loaded.labels != labels:
        raise CotpdError(f"{teacher_dir}: its labels {loaded.labels} are not the student's "
                         f"{labels} (student.distill.teacher)")
    return loaded


@torch.no_grad()
def score(loaded: LoadedStudent, samples: Sequence[Sample],
          batch_size: int = 64) -> list[np.ndarray]:
    """Per-word log-probabilities of the teacher's knowledge view (CRF: log marginals) for
    MNER, (words, C); the relation's log-probabilities for MRE, (1, C)."""
    model = loaded.model.eval()
    builder = ViewBuilder.for_student(loaded.tokenizer, loaded.config)
    dataset = EncodedDataset(samples, ["knowledge"], builder, label_to_id=None)
    collator = ViewCollator(loaded.tokenizer.pad_token_id)
    lengths = dataset.lengths()
    order = sorted(range(len(samples)), key=lengths.__getitem__)
    device = next(model.parameters()).device
    task = student_task(loaded.task)
    out: list[np.ndarray | None] = [None] * len(samples)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        batch = {k: v.to(device) for k, v in collator([dataset[i] for i in rows]).items()}
        logits = model.logits(batch, "knowledge").float()
        values = task.knowledge_logprobs(model.head, logits, batch["knowledge_word_mask"],
                                         [len(samples[index].tokens) for index in rows])
        for index, value in zip(rows, values, strict=True):
            out[index] = value
    # A teacher that read no knowledge at all would teach its text-only guesses: refuse.
    for name in loaded.config.views.context_order:
        if samples and builder.counts[f"missing_{name}"] == len(samples):
            source = "captions" if name == "caption" else "knowledge"
            raise CotpdError(f"the two-stage teacher reads the {name}, but none of the "
                             f"{len(samples)} sentences it scores has one: set "
                             f"student.context.{source} (or run `cotpd "
                             f"{'caption' if name == 'caption' else 'teach'}` first)")
    return out  # type: ignore[return-value]


def _write(path: Path, logprobs: list[np.ndarray], meta: dict[str, str]) -> None:
    offsets = np.cumsum([0] + [len(v) for v in logprobs]).astype(np.int64)
    flat = (np.concatenate(logprobs) if logprobs else np.zeros((0, 0), np.float32))
    # Atomic: a killed write never leaves a readable half file.
    atomic_write_bytes(path, save({"logprobs": flat, "offsets": offsets}, metadata=meta))


def _read(path: Path, expected: dict[str, str]) -> list[np.ndarray]:
    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
            wrong = [k for k, v in expected.items() if meta.get(k) != v]
            if not wrong:
                offsets = handle.get_tensor("offsets")
                flat = handle.get_tensor("logprobs")
    except (SafetensorError, OSError, ValueError) as error:
        raise CotpdError(f"{path}: unreadable teacher cache ({error}); delete it to rescore"
                         ) from None
    if wrong:
        raise CotpdError(f"{path}: refused, written for another {', '.join(wrong)} "
                         f"({', '.join(f'{k}={meta.get(k)!r}' for k in wrong)}); delete it")
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def cached_scores(teacher: str, samples: Sequence[Sample], labels: list[str],
                  cache_dir: Path, compute: Callable[[], list[np.ndarray]]) -> TeacherScores:
    """The cache file for (teacher fingerprint, data fingerprint): read if there, else
    `compute()` (a list of per-sentence arrays) and written."""
    data = data_fingerprint(samples)
    meta = {"cache_version": str(CACHE_VERSION), "teacher": teacher, "data": data,
            "sentences": str(len(samples)), "labels": json.dumps(labels)}
    path = cache_dir / f"{cache_key(teacher, data)}.safetensors"
    if path.is_file():
        return TeacherScores(_read(path, meta), path, True, 0.0, meta)
    start = time.perf_counter()
    logprobs = compute()
    seconds = time.perf_counter() - start
    _write(path, logprobs, meta)
    return TeacherScores(logprobs, path, False, seconds, meta)


def teacher_scores(teacher_dir: str | Path, samples: Sequence[Sample], labels: list[str],
                   cache_dir: Path, batch_size: int = 64,
                   trust_remote_code: bool = False) -> TeacherScores:
    """Scores of a trained teacher folder for `samples`, from the cache when it has them."""
    fingerprint = teacher_folder_fingerprint(teacher_dir)
    return cached_scores(fingerprint, samples, labels, cache_dir,
                         lambda: score(load_teacher(teacher_dir, labels, trust_remote_code),
                                       samples, batch_size))
