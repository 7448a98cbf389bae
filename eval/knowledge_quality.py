"""Knowledge-quality figures that need no training, so a teacher can be judged before any
student is trained on its knowledge."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import Any

from cotpd.corpus.records import MnerSample, MreSample
from cotpd.eval.tasks import eval_task_of


def gold_names(sample: MnerSample | MreSample) -> list[str]:
    """The surface strings of the sample's gold entities (MNER spans, MRE head and tail)."""
    return eval_task_of(sample).gold_names(sample)


def _normalise(text: str) -> str:
    """Lower case, punctuation (and `#`/`@`) as spaces: `#NBA,` and `NBA` match."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def knowledge_quality(samples: Sequence[MnerSample | MreSample],
                      store_rows: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Share of gold entities the knowledge names (case-insensitive, punctuation ignored), the
    share of samples with knowledge, its length in words, and, from the teacher's rows of
    the store summary (`KnowledgeStore.summary`), its truncated and failure rates (answers
    cut off at max_tokens are answers, counted apart) and token cost."""
    named = total = 0
    lengths = []
    for sample in samples:
        knowledge = sample.context.knowledge
        names = gold_names(sample)
        total += len(names)
        if not knowledge:
            continue
        lengths.append(len(knowledge.split()))
        text = f" {_normalise(knowledge)} "
        named += sum(f" {_normalise(name)} " in text for name in names)
    quality: dict[str, Any] = {
        "samples": len(samples), "with_knowledge": len(lengths),
        "gold_entities": total, "gold_entities_named": named,
        "entity_coverage": named / total if total else 0.0,
        "words_mean": statistics.fmean(lengths) if lengths else 0.0,
    }
    if store_rows:
        answered = sum(row["answered"] for row in store_rows)
        truncated = sum(row.get("truncated", 0) for row in store_rows)
        failed = sum(row["failed"] for row in store_rows)
        asked = answered + truncated + failed
        quality.update(answers=answered, truncated=truncated, failures=failed,
                       truncated_rate=truncated / asked if asked else 0.0,
                       failure_rate=failed / asked if asked else 0.0,
                       tokens_in=sum(row["prompt_tokens"] for row in store_rows),
                       tokens_out=sum(row["completion_tokens"] for row in store_rows))
    return quality
