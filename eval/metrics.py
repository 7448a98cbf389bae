"""Entity-level MNER and label-level MRE metrics (conlleval-compatible)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from seqeval.metrics.sequence_labeling import get_entities

Chunk = tuple[int, str, int, int]


@dataclass(frozen=True)
class PRF:
    """Precision, recall, F1 and the counts they come from; support equals ``n_gold``."""

    precision: float
    recall: float
    f1: float
    support: int
    tp: int
    n_pred: int
    n_gold: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict of all fields."""
        return asdict(self)


def _safe_div(num: float, den: float) -> float:
    return num / den if den else 0.0


def prf_from_counts(tp: int, n_pred: int, n_gold: int) -> PRF:
    """Build a :class:`PRF` from counts; any zero denominator gives 0.0."""
    p = _safe_div(tp, n_pred)
    r = _safe_div(tp, n_gold)
    f1 = _safe_div(2 * p * r, p + r)
    return PRF(p, r, f1, support=n_gold, tp=tp, n_pred=n_pred, n_gold=n_gold)


@dataclass(frozen=True)
class MnerScores:
    """Entity-level micro scores and scores per entity type."""

    micro: PRF
    per_type: dict[str, PRF]

    @property
    def per_label(self) -> dict[str, PRF]:
        return self.per_type

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict."""
        return {
            "micro": self.micro.to_dict(),
            "per_type": {k: v.to_dict() for k, v in sorted(self.per_type.items())},
        }


@dataclass(frozen=True)
class MreScores:
    """Micro scores over non-None relations and scores per relation label."""

    micro: PRF
    per_relation: dict[str, PRF]

    @property
    def per_label(self) -> dict[str, PRF]:
        return self.per_relation

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict."""
        return {
            "micro": self.micro.to_dict(),
            "per_relation": {k: v.to_dict() for k, v in sorted(self.per_relation.items())},
        }


def _check_lengths(gold: Sequence[Any], pred: Sequence[Any], what: str) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} {what} but pred has {len(pred)}")


def _chunks(seqs: Sequence[Sequence[str]]) -> set[Chunk]:
    """All (sentence_index, type, start, end) chunks, conlleval rules (seqeval default mode)."""
    out: set[Chunk] = set()
    for i, labels in enumerate(seqs):
        for typ, start, end in get_entities(list(labels)):
            out.add((i, typ, start, end))
    return out


def mner_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> MnerScores:
    """Entity-level micro and per-type P/R/F1 on word-level BIO label sequences."""
    _check_lengths(gold, pred, "sentences")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: gold has {len(g)} labels but pred has {len(p)}")
    gold_chunks, pred_chunks = _chunks(gold), _chunks(pred)
    hits = gold_chunks & pred_chunks
    types = sorted({c[1] for c in gold_chunks | pred_chunks})
    per_type = {
        t: prf_from_counts(
            sum(c[1] == t for c in hits),
            sum(c[1] == t for c in pred_chunks),
            sum(c[1] == t for c in gold_chunks),
        )
        for t in types
    }
    micro = prf_from_counts(len(hits), len(pred_chunks), len(gold_chunks))
    return MnerScores(micro=micro, per_type=per_type)


def mre_scores(gold: Sequence[str], pred: Sequence[str], none_label: str = "None") -> MreScores:
    """Micro and per-relation P/R/F1 ignoring ``none_label`` (a None prediction counts nowhere)."""
    _check_lengths(gold, pred, "instances")
    labels = sorted({x for x in (*gold, *pred) if x != none_label})
    tp = dict.fromkeys(labels, 0)
    n_pred = dict.fromkeys(labels, 0)
    n_gold = dict.fromkeys(labels, 0)
    for g, p in zip(gold, pred, strict=True):
        if p != none_label:
            n_pred[p] += 1
            if p == g:
                tp[p] += 1
        if g != none_label:
            n_gold[g] += 1
    per_relation = {r: prf_from_counts(tp[r], n_pred[r], n_gold[r]) for r in labels}
    micro = prf_from_counts(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    return MreScores(micro=micro, per_relation=per_relation)
