"""Scores split by whether an entity was seen in training.

An entity is *seen* when its surface string, case-folded, is the surface of some gold entity
of the training split (of any type); otherwise it is *unseen*. A predicted entity is grouped
by the same rule, so a correct prediction always falls in its gold entity's group and each
group has its own precision, recall and F1. Knowledge that names the test sentence's own
entities helps most on unseen ones, which no distribution over the training sentences holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cotpd.eval.metrics import PRF, prf_from_counts
from seqeval.metrics.sequence_labeling import get_entities

GROUPS = ("seen", "unseen")


def surface(tokens: Sequence[str], start: int, end: int) -> str:
    """The case-folded surface string of the words [start, end)."""
    return " ".join(tokens[start:end]).casefold()


def _entities(tokens: Sequence[str], labels: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) with `end` exclusive, conlleval rules."""
    return [(kind, start, end + 1) for kind, start, end in get_entities(list(labels))]


def seen_surfaces(samples: Iterable[tuple[Sequence[str], Sequence[str]]]) -> set[str]:
    """The case-folded surfaces of every gold entity in (tokens, labels) pairs."""
    return {surface(tokens, start, end)
            for tokens, labels in samples for _, start, end in _entities(tokens, labels)}


def seen_unseen_scores(tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                       pred: Sequence[Sequence[str]], seen: set[str]) -> dict[str, Any]:
    """Micro and per-type P/R/F1 for the seen and the unseen group, as plain dicts:
    `{"seen": {"micro": {...}, "per_type": {...}}, "unseen": {...}}`."""
    if not len(tokens) == len(gold) == len(pred):
        raise ValueError(f"{len(tokens)} sentences of tokens, {len(gold)} gold and "
                         f"{len(pred)} predicted label sequences; expected the same count")
    # counts[group][type] = [tp, n_pred, n_gold]
    counts: dict[str, dict[str, list[int]]] = {group: {} for group in GROUPS}

    def add(group: str, kind: str, slot: int) -> None:
        counts[group].setdefault(kind, [0, 0, 0])[slot] += 1

    for index, (words, gold_labels, pred_labels) in enumerate(zip(tokens, gold, pred,
                                                                  strict=True)):
        if not len(words) == len(gold_labels) == len(pred_labels):
            raise ValueError(f"sentence {index}: {len(words)} words, {len(gold_labels)} gold "
                             f"and {len(pred_labels)} predicted labels")
        gold_chunks = set(_entities(words, gold_labels))
        pred_chunks = set(_entities(words, pred_labels))
        for chunks, slot in ((gold_chunks, 2), (pred_chunks, 1), (gold_chunks & pred_chunks, 0)):
            for kind, start, end in chunks:
                group = "seen" if surface(words, start, end) in seen else "unseen"
                add(group, kind, slot)
    return {group: _group_scores(counts[group]) for group in GROUPS}


def _group_scores(by_type: dict[str, list[int]]) -> dict[str, Any]:
    per_type: dict[str, PRF] = {kind: prf_from_counts(*c) for kind, c in sorted(by_type.items())}
    totals = [sum(c[slot] for c in by_type.values()) for slot in range(3)]
    return {"micro": prf_from_counts(*totals).to_dict(),
            "per_type": {kind: prf.to_dict() for kind, prf in per_type.items()}}
