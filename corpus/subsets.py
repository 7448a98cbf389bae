"""The labelled fraction of a training split, and the transfer set of unlabelled sentences.

A seeded permutation of the training split is cut at the labelled count, so with one seed a
smaller fraction is always a subset of a larger one (10% inside 25%), and the labelled part
keeps the file's order. The rest of the split can become unlabelled sentences, labels
dropped; files of unlabelled sentences join it. A sentence that is a dev or test sentence,
already labelled, or a repeat is dropped and counted, never used.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cotpd.corpus.records import Sample
from cotpd.corpus.tasks import task_of
from cotpd.corpus.unlabelled import sentence_key


def labelled_count(total: int, fraction: float | None, count: int | None) -> int:
    """How many training samples stay labelled: `count`, or `fraction` of `total` rounded
    (at least one); all of them when neither is given. A count above `total` is all."""
    if count is not None:
        return min(count, total)
    if fraction is not None:
        return min(total, max(1, round(fraction * total)))
    return total


def split_labelled(samples: Sequence[Sample], keep: int, seed: int, *,
                   whole_sentences: bool = False) -> tuple[list[Sample], list[Sample]]:
    """(labelled, rest): `keep` samples chosen by a permutation seeded with `seed`, both
    parts in the original order. With `whole_sentences` (MRE) the permutation is over
    sentences, taken until at least `keep` samples are in, so no sentence straddles the
    two parts and a smaller count with the same seed is still a subset of a larger one."""
    if not whole_sentences:
        order = list(range(len(samples)))
        random.Random(seed).shuffle(order)
        chosen = set(order[:keep])
        labelled = [s for i, s in enumerate(samples) if i in chosen]
        rest = [s for i, s in enumerate(samples) if i not in chosen]
        return labelled, rest
    return _draw_sentences(samples, keep, seed)


def _draw_sentences(samples: Sequence[Sample], target: float, seed: int, *,
                    leave_one: bool = False) -> tuple[list[Sample], list[Sample]]:
    """(drawn, rest): whole sentences in an order seeded with `seed`, drawn until at least
    `target` samples are in, both parts in the original order; with `leave_one`, the last
    sentence of that order is never drawn, so the rest keeps at least one."""
    keys = [sentence_key(s.tokens) for s in samples]
    sizes = Counter(keys)
    order = list(sizes)
    random.Random(seed).shuffle(order)
    drawn: set[str] = set()
    taken = 0
    for key in order[:-1] if leave_one else order:
        if taken >= target:
            break
        drawn.add(key)
        taken += sizes[key]
    return ([s for s, key in zip(samples, keys, strict=True) if key in drawn],
            [s for s, key in zip(samples, keys, strict=True) if key not in drawn])


def drop_labels(sample: Sample) -> Sample:
    """A copy of a sample without its gold labels (MNER: every label O), so what it shows
    the student is its words, caption and knowledge."""
    strip = task_of(sample).strip_labels
    if strip is None:
        raise TypeError(f"a {sample.task} sample has no unlabelled form")
    return strip(sample)


def hold_out_dev(samples: Sequence[Sample], fraction: float, seed: int
                 ) -> tuple[list[Sample], list[Sample]]:
    """(train, dev): about `fraction` of the samples as a dev split, whole sentences at a
    time in an order seeded with `seed` (the instances of one MNRE tweet never straddle the
    two), both parts in the original order; at least one sentence on each side."""
    dev, train = _draw_sentences(samples, fraction * len(samples), seed, leave_one=True)
    return train, dev


@dataclass
class TransferSet:
    """The unlabelled sentences kept, and how many of each kind were dropped."""

    samples: list[Sample] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=lambda: {
        "dev_or_test": 0, "labelled": 0, "repeated": 0})
    examples: list[str] = field(default_factory=list)  # a few dropped ids, for the report

    def to_dict(self) -> dict:
        return {"kept": len(self.samples), "dropped": dict(self.dropped),
                "dropped_examples": self.examples}


def transfer_set(candidates: Sequence[Sample], labelled: Sequence[Sample],
                 held_out: Sequence[Sample]) -> TransferSet:
    """Keep the candidates that are neither dev/test sentences (`held_out`) nor labelled
    training sentences, each sentence once; sentences compare by `sentence_key`."""
    held = {sentence_key(s.tokens) for s in held_out}
    known = {sentence_key(s.tokens) for s in labelled}
    result, kept = TransferSet(), set()
    for sample in candidates:
        key = sentence_key(sample.tokens)
        reason = ("dev_or_test" if key in held else "labelled" if key in known
                  else "repeated" if key in kept else None)
        if reason is None:
            kept.add(key)
            result.samples.append(sample)
            continue
        result.dropped[reason] += 1
        if len(result.examples) < 5:
            result.examples.append(f"{sample.id} ({reason})")
    return result
