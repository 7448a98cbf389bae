"""The teach stage: every sample x explanation prompt through the teacher into the store, then
the student's knowledge file `<run>/teacher/knowledge.jsonl` assembled from the store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cotpd.corpus.config import DataConfig
from cotpd.corpus.context_files import attach_context
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.run_files import RunFiles, read_captions
from cotpd.corpus.stage_result import StageResult
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.import_backend import (
    IMPORTED_PROMPT,
    IMPORTED_VERSION,
    import_fingerprint_parts,
    import_knowledge,
)
from cotpd.teacher.knowledge import assemble_knowledge
from cotpd.teacher.runner import (
    PromptCounts,
    Teacher,
    run_prompt,
    stored_answers,
    summarize_counts,
    teacher_fingerprint,
)
from cotpd.teacher.session import open_store, stage_teacher
from cotpd.teacher.store import KnowledgeStore


def run(config: TeacherConfig, data: DataConfig, run_dir: Path, *, retry_failed: bool = False,
        teacher: Teacher | None = None, student_encoder: str | None = None,
        trust_remote_code: bool = False) -> StageResult:
    """Run the configured explanation prompts and write the knowledge file; its `summary`
    is also written to `<run>/teacher/summary.json`. `teacher` overrides the backend
    built from the config (tests, benchmarks). The knowledge budget is counted in the
    tokens of `student_encoder` (its folder's code runs only with `trust_remote_code`), in
    words when there is no student."""
    prepared = prepare_dataset(data, run_dir)
    samples = [s for split in prepared.report["splits"]
               for s in read_samples_jsonl(prepared.data_dir / f"{split}.jsonl")]
    captions = read_captions(run_dir, config.captions)
    if captions is not None:
        attach_context(samples, captions, None)
    files = RunFiles(run_dir)
    start = time.perf_counter()
    counts: dict[str, PromptCounts] = {}
    with open_store(config, run_dir) as store:
        if config.backend == "import":
            parts = import_fingerprint_parts(config.import_files)
            fingerprint = teacher_fingerprint(parts)
            store.register_teacher(fingerprint, config.name, parts)
            imported = import_knowledge(samples, config.import_files, store, fingerprint)
            answers = {IMPORTED_PROMPT: store.texts(fingerprint, IMPORTED_PROMPT,
                                                    IMPORTED_VERSION)}
            versions = {IMPORTED_PROMPT: IMPORTED_VERSION}
            order, summarize = [IMPORTED_PROMPT], None
            summary_extra: dict[str, Any] = {"import": imported}
        else:
            catalogue = load_catalogue(config.prompt_files)  # a bad prompt file fails first
            teacher = stage_teacher(config, data, store, teacher)
            fingerprint = teacher.fingerprint
            order = list(config.knowledge.prompts)
            for prompt_id in order:
                counts[prompt_id] = run_prompt(samples, catalogue[prompt_id], teacher, store,
                                               retry_failed=retry_failed, by_content=True)
            keep = config.knowledge.truncated_answers == "keep"
            answers = {p: stored_answers(samples, catalogue[p], teacher, store,
                                         by_content=True, truncated=keep)
                       for p in order}
            versions = {p: catalogue[p].version_hash(teacher.style) for p in order}
            summarize = _summarizer(samples, catalogue["summarize"], teacher, store, counts,
                                    keep) if config.knowledge.summarize else None
            summary_extra = {}
        count_tokens, truncate = _token_tools(student_encoder, trust_remote_code)
        knowledge, knowledge_counts = assemble_knowledge(
            samples, answers, order, count_tokens, config.knowledge.budget_tokens, summarize,
            truncate)
    lines = [json.dumps({"id": s.id, "img_id": s.image_id, "knowledge": knowledge[s.id]},
                        ensure_ascii=False) for s in samples if s.id in knowledge]
    atomic_write_text(files.knowledge, "".join(line + "\n" for line in lines))
    # Answers are stored by what was asked, not by sample: this file says which answer
    # each sample got from each prompt (read by the per-prompt knowledge quality).
    atomic_write_text(files.teacher_answers, "".join(
        json.dumps({"id": s.id, "prompt": p, "version": versions[p], "text": answers[p][s.id]},
                   ensure_ascii=False) + "\n"
        for p in order for s in samples if s.id in answers[p]))
    seconds = time.perf_counter() - start
    summary = {"teacher": config.name, "fingerprint": fingerprint, "backend": config.backend,
               "store": str(store.path), "samples": len(samples),
               **summarize_counts(counts, seconds),
               "knowledge": dict(knowledge_counts), **summary_extra,
               "fingerprints": prepared.fingerprints}
    atomic_write_text(files.teacher_summary, json.dumps(summary, indent=2) + "\n")
    return StageResult("teach", {"knowledge": files.knowledge, "answers": files.teacher_answers,
                                 "summary": files.teacher_summary},
                       {"samples": len(samples), "with_knowledge": len(lines)},
                       prepared.fingerprints, round(seconds, 2), summary)


def _summarizer(samples, prompt, teacher: Teacher, store: KnowledgeStore,
                counts: dict[str, PromptCounts], keep_truncated: bool):
    by_id = {s.id: s for s in samples}

    def summarize(long_texts: dict[str, str]) -> dict[str, str]:
        chosen = [by_id[key] for key in long_texts]
        values = {key: {"knowledge": text} for key, text in long_texts.items()}
        counts["summarize"] = run_prompt(chosen, prompt, teacher, store, values=values,
                                         by_content=True)
        return stored_answers(chosen, prompt, teacher, store, values=values, by_content=True,
                              truncated=keep_truncated)

    return summarize


def _token_tools(encoder: str | None, trust_remote_code: bool):
    """Count and cut tokens with the student's tokenizer (words when there is no student)."""
    if encoder is None:
        return (lambda text: len(text.split()),
                lambda text, n: " ".join(text.split()[:n]))
    from cotpd.corpus.embedded_models import resolve_model_path
    from cotpd.corpus.model_folder import load_tokenizer

    path = resolve_model_path(encoder, "student.encoder")
    tokenizer = load_tokenizer(path, trust_remote_code, None, "student.encoder")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def cut(text: str, n: int) -> str:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][:n]
        return tokenizer.decode(ids)

    return count, cut
