"""The task registry, eval side: per task, how predictions are scored, where the per-label
scores sit, the confusion table and worst errors of the report, and the gold entity names
knowledge is checked against. Registered under the corpus task names (corpus/tasks.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cotpd.corpus.bio import bio_spans
from cotpd.corpus.records import MnerSample, MreSample, Sample
from cotpd.corpus.tasks import get_task, lookup
from cotpd.eval.error_analysis import (
    entity_type_confusion,
    relation_confusion,
    worst_mner_errors,
    worst_mre_errors,
)
from cotpd.eval.metrics import MnerScores, MreScores, mner_scores, mre_scores

Scores = MnerScores | MreScores


@dataclass(frozen=True)
class EvalTask:
    name: str
    # Where `Scores.to_dict()` keeps the scores per label: entity types or relations.
    per_label_key: str
    # Gold targets against predicted ones (corpus `CorpusTask.target`: labels, relations).
    score: Callable[[Sequence[Any], Sequence[Any]], Scores]
    confusion: Callable[[Sequence[Any], Sequence[Any]], dict[str, dict[str, int]]]
    # The worst-predicted samples, for the report.
    worst_errors: Callable[[Sequence[Any], Sequence[Any]], list[dict[str, Any]]]
    # The surface strings of a sample's gold entities.
    gold_names: Callable[[Any], list[str]]
    # Whether a prediction file's sample is the gold one beyond its words and image id.
    same_instance: Callable[[Any, Any], bool]
    # Entities seen in training against unseen ones is a figure of this task.
    seen_unseen: bool

    def score_samples(self, gold: Sequence[Sample], predicted: Sequence[Any]) -> Scores:
        """Scores of predicted targets against the gold samples' own."""
        target = get_task(self.name).target
        return self.score([target(s) for s in gold], predicted)

    def confusion_of(self, gold: Sequence[Sample], predicted: Sequence[Any]
                     ) -> dict[str, dict[str, int]]:
        target = get_task(self.name).target
        return self.confusion([target(s) for s in gold], predicted)


def _mner_names(sample: MnerSample) -> list[str]:
    return [" ".join(sample.tokens[s.start:s.end]) for s in bio_spans(sample.labels)]


def _mre_names(sample: MreSample) -> list[str]:
    return [sample.head.name, sample.tail.name]


def _same_pair(gold: MreSample, pred: MreSample) -> bool:
    return (gold.head, gold.tail) == (pred.head, pred.tail)


EVAL_TASKS: dict[str, EvalTask] = {t.name: t for t in (
    EvalTask("mner", per_label_key="per_type", score=mner_scores,
             confusion=entity_type_confusion, worst_errors=worst_mner_errors,
             gold_names=_mner_names, same_instance=lambda gold, pred: True, seen_unseen=True),
    EvalTask("mre", per_label_key="per_relation", score=mre_scores,
             confusion=relation_confusion, worst_errors=worst_mre_errors,
             gold_names=_mre_names, same_instance=_same_pair, seen_unseen=False),
)}


def eval_task(name: str) -> EvalTask:
    return lookup(EVAL_TASKS, name)


def eval_task_of(sample: Sample) -> EvalTask:
    return eval_task(sample.task)
