"""Knowledge-quality figures that need no training, so a teacher can be judged before any
student is trained on its knowledge."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from cotpd.corpus.context_files import attach_context, load_knowledge_files
from cotpd.corpus.files import read_samples_jsonl
from cotpd.corpus.records import MnerSample, MreSample, Sample
from cotpd.corpus.run_files import RunFiles
from cotpd.eval.tasks import eval_task_of


class AnswerStore(Protocol):
    """What eval reads of the teacher's knowledge store (teacher.store.KnowledgeStore),
    which the pipeline opens: eval imports no teacher code."""

    def summary(self, teacher: str | None = None) -> list[dict[str, Any]]: ...

    def failure_reasons(self, teacher: str, prompt_id: str,
                        prompt_hash: str) -> dict[str, int]: ...

    def texts(self, teacher: str, prompt_id: str, prompt_hash: str) -> dict[str, str]: ...


# A store's path -> the store, open for a `with` block.
OpenStore = Callable[[Path], AbstractContextManager[AnswerStore]]


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


def run_knowledge_quality(run_dir: Path, dataset: str,
                          open_store: OpenStore) -> dict[str, Any] | None:
    """Knowledge quality of the run's teacher on the run's data (all prepared splits),
    overall and per prompt; None where the run has no knowledge yet."""
    files = RunFiles(run_dir)
    summary_path, knowledge_path = files.teacher_summary, files.knowledge
    if not summary_path.is_file() or not knowledge_path.is_file():
        return None
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    samples = [s for path in sorted(files.data_dir.glob("*.jsonl"))
               for s in read_samples_jsonl(path)]
    attach_context(samples, None, load_knowledge_files([knowledge_path]))
    fingerprint = summary["fingerprint"]
    run_answers = _run_answers(files.teacher_answers)
    with open_store(Path(summary["store"])) as store:
        rows = store.summary(fingerprint)
        per_prompt = [
            {"prompt": row["prompt_id"], "version": row["prompt_hash"],
             "mean_latency_s": row["mean_latency_s"],
             "failure_reasons": store.failure_reasons(fingerprint, row["prompt_id"],
                                                      row["prompt_hash"]),
             **knowledge_quality(_with_knowledge(samples, run_answers.get(
                 (row["prompt_id"], row["prompt_hash"])) or store.texts(
                 fingerprint, row["prompt_id"], row["prompt_hash"])), [row])}
            for row in rows]
    return {"teacher": summary["teacher"], "fingerprint": fingerprint,
            "dataset": dataset, **knowledge_quality(samples, rows),
            "prompts": per_prompt}


def _run_answers(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(prompt, version) -> sample id -> answer, from the teach stage's answers file. The
    store keys answers by what was asked, so only this file ties them to samples; a run
    taught before the file existed has none, and its store is keyed by sample id."""
    answers: dict[tuple[str, str], dict[str, str]] = {}
    if not path.is_file():
        return answers
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            answers.setdefault((record["prompt"], record["version"]), {})[record["id"]] = (
                record["text"])
    return answers


def _with_knowledge(samples: list[Sample], texts: dict[str, str]) -> list[Sample]:
    """Copies of the samples whose knowledge is one prompt's answer (none where it has none)."""
    return [dataclasses.replace(s, context=dataclasses.replace(
        s.context, knowledge=texts.get(s.id))) for s in samples]
