"""Where a model goes wrong: type confusion and the sentences with the most errors.

Chunks follow the metric's rules (conlleval, through `eval.metrics`), so the counts here add
up to the scores' false positives and false negatives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from cotpd.corpus.records import MnerSample, MreSample
from seqeval.metrics.sequence_labeling import get_entities

MISSED = "(missed)"
SPURIOUS = "(spurious)"


def _spans(labels: Sequence[str]) -> dict[tuple[int, int], str]:
    """(start, end-exclusive) -> type."""
    return {(start, end + 1): kind for kind, start, end in get_entities(list(labels))}


def entity_type_confusion(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
                          ) -> dict[str, dict[str, int]]:
    """Rows are gold types (and SPURIOUS for predictions with no gold span), columns predicted
    types (and MISSED for gold spans with no predicted span). A span predicted exactly with
    the right type lands on the diagonal; with another type, off it."""
    table: dict[str, Counter] = {}
    for gold_labels, pred_labels in zip(gold, pred, strict=True):
        gold_spans, pred_spans = _spans(gold_labels), _spans(pred_labels)
        for span, kind in gold_spans.items():
            table.setdefault(kind, Counter())[pred_spans.get(span, MISSED)] += 1
        for span, kind in pred_spans.items():
            if span not in gold_spans:
                table.setdefault(SPURIOUS, Counter())[kind] += 1
    return {row: dict(sorted(counts.items())) for row, counts in sorted(table.items())}


def relation_confusion(gold: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, int]]:
    """Rows are gold relations, columns predicted relations."""
    table: dict[str, Counter] = {}
    for g, p in zip(gold, pred, strict=True):
        table.setdefault(g, Counter())[p] += 1
    return {row: dict(sorted(counts.items())) for row, counts in sorted(table.items())}


def _entities(tokens: Sequence[str], spans: dict[tuple[int, int], str]) -> list[str]:
    return [f"{' '.join(tokens[s:e])} [{kind}]" for (s, e), kind in sorted(spans.items())]


def worst_mner_errors(samples: Sequence[MnerSample], pred: Sequence[Sequence[str]],
                      limit: int = 10) -> list[dict[str, Any]]:
    """The sentences with the most wrong chunks (false positives + false negatives), with the
    knowledge the teacher wrote for them; ties keep corpus order."""
    scored = []
    for index, (sample, labels) in enumerate(zip(samples, pred, strict=True)):
        gold_set = set(_spans(sample.labels).items())
        pred_set = set(_spans(labels).items())
        errors = len(gold_set - pred_set) + len(pred_set - gold_set)
        if errors:
            scored.append((errors, index))
    scored.sort(key=lambda item: (-item[0], item[1]))
    rows = []
    for errors, index in scored[:limit]:
        sample = samples[index]
        rows.append({
            "id": sample.id, "errors": errors, "text": " ".join(sample.tokens),
            "gold": _entities(sample.tokens, _spans(sample.labels)),
            "predicted": _entities(sample.tokens, _spans(pred[index])),
            "knowledge": sample.context.knowledge, "caption": sample.context.caption,
        })
    return rows


def worst_mre_errors(samples: Sequence[MreSample], pred: Sequence[str], limit: int = 10,
                     none_label: str = "None") -> list[dict[str, Any]]:
    """Misclassified instances, those with a real gold relation first, then corpus order."""
    wrong = [i for i, (s, p) in enumerate(zip(samples, pred, strict=True)) if s.relation != p]
    wrong.sort(key=lambda i: (samples[i].relation == none_label, i))
    return [{"id": samples[i].id, "errors": 1, "text": " ".join(samples[i].tokens),
             "gold": [f"{samples[i].head.name} -> {samples[i].tail.name}: {samples[i].relation}"],
             "predicted": [pred[i]], "knowledge": samples[i].context.knowledge,
             "caption": samples[i].context.caption} for i in wrong[:limit]]
