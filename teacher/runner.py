"""The CoT runner: renders one prompt for every sample, skips what the store already holds,
and stores each answer the moment the backend returns it."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from corpus.records import Sample
from teacher.backend import GenerationRequest, GenerationResult, TeacherBackend
from teacher.catalogue import CatalogPrompt, Style
from teacher.store import TRUNCATED_REASON, KnowledgeStore, StoredRow

logger = logging.getLogger(__name__)

def teacher_fingerprint(parts: dict[str, Any]) -> str:
    """What identifies a teacher's answers, as 16 hex digits of a sha256."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class PromptCounts:
    asked: int = 0
    answered: int = 0
    truncated: int = 0  # answered, but cut off at max_tokens
    failed: int = 0
    skipped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Teacher:
    """A backend with the identity and the prompt style its rows are stored under."""

    backend: TeacherBackend
    fingerprint: str
    style: Style
    image_input: str = "caption"
    images_dir: Path | None = None
    default_max_tokens: int = 96


def sample_values(sample: Sample, teacher: Teacher) -> dict[str, str]:
    caption = sample.context.caption
    if teacher.image_input == "image":
        caption = "(the attached image)"
    return {"text": " ".join(sample.tokens), "caption": caption or "(no caption)",
            "knowledge": sample.context.knowledge or ""}


def build_request(sample: Sample, prompt: CatalogPrompt, teacher: Teacher,
                  values: dict[str, str] | None = None) -> GenerationRequest:
    values = values or sample_values(sample, teacher)
    text = prompt.render(teacher.style, **values)
    max_tokens = prompt.max_tokens(teacher.default_max_tokens)
    if teacher.style == "completion":
        return GenerationRequest(sample.id, prompt=text, stop=prompt.stop("completion"),
                                 max_tokens=max_tokens)
    content: Any = text
    if prompt.id == "multimodal" and teacher.image_input == "image":
        content = [{"type": "text", "text": text}, _image_part(sample, teacher.images_dir)]
    return GenerationRequest(sample.id, messages=[{"role": "user", "content": content}],
                             max_tokens=max_tokens)


def _image_part(sample: Sample, images_dir: Path | None) -> dict[str, Any]:
    name = sample.image_id or ""
    path = (images_dir or Path(".")) / (name if name.endswith(".jpg") else f"{name}.jpg")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}}


def more_tokens(request: GenerationRequest, stored: StoredRow | None) -> GenerationRequest:
    """The request again for an answer cut off at its token limit, with twice the room the
    cut-off answer had (so each retry grows)."""
    used = (stored.completion_tokens or 0) if stored is not None else 0
    return dataclasses.replace(request, max_tokens=2 * max(request.max_tokens, used))


def run_prompt(samples: Sequence[Sample], prompt: CatalogPrompt, teacher: Teacher,
               store: KnowledgeStore, retry_failed: bool = False,
               values: dict[str, dict[str, str]] | None = None) -> PromptCounts:
    """Ask `prompt` for every sample not yet in the store (with `retry_failed`, failed
    ones too, and truncated ones with more tokens); `values` overrides the template values
    per sample id."""
    version = prompt.version_hash(teacher.style)
    answered = store.answered_keys(teacher.fingerprint, prompt.id, version)
    failed = store.failed_keys(teacher.fingerprint, prompt.id, version)
    truncated = store.truncated_keys(teacher.fingerprint, prompt.id, version) \
        if retry_failed else set()
    todo = [s for s in samples if s.id in truncated or
            s.id not in answered and (retry_failed or s.id not in failed)]
    counts = PromptCounts(asked=len(todo), skipped=len(samples) - len(todo))
    logger.info("prompt %s (version %s): %d to ask, %d already in the store", prompt.id,
                version, len(todo), counts.skipped)
    if not todo:
        return counts
    check_ready = getattr(teacher.backend, "check_ready", None)
    if check_ready is not None:  # e.g. no server: one error line, before the progress bar
        check_ready()
    bar = tqdm(total=len(todo), desc=f"teach {prompt.id}", unit="prompt", dynamic_ncols=True)

    def store_result(request: GenerationRequest, result: GenerationResult) -> None:
        result = _empty_is_failure(result)
        store.put(teacher.fingerprint, prompt.id, version, request.key, result)
        counts.prompt_tokens += result.prompt_tokens or 0
        counts.completion_tokens += result.completion_tokens or 0
        if result.ok and result.finish_reason == TRUNCATED_REASON:
            counts.truncated += 1
        elif result.ok:
            counts.answered += 1
        else:
            counts.failed += 1
            reason = (result.error or "").split(":")[0][:60]
            counts.errors[reason] = counts.errors.get(reason, 0) + 1
        bar.set_postfix(failed=counts.failed, truncated=counts.truncated)
        bar.update(1)

    requests = []
    try:
        for sample in todo:
            try:
                request = build_request(sample, prompt, teacher, (values or {}).get(sample.id))
                if sample.id in truncated:
                    request = more_tokens(request, store.get(teacher.fingerprint, prompt.id,
                                                             version, sample.id))
                requests.append(request)
            except OSError as error:  # a missing or unreadable image fails its row, not the run
                store_result(GenerationRequest(sample.id), GenerationResult(
                    error=f"image unreadable: {error.strerror or error}: {error.filename}"))
        if requests:
            teacher.backend.generate(requests, store_result)
    finally:
        bar.close()
    logger.info("prompt %s: %d answered, %d truncated, %d failed%s", prompt.id, counts.answered,
                counts.truncated, counts.failed,
                f" ({', '.join(f'{n} {e}' for e, n in counts.errors.items())})"
                if counts.errors else "")
    return counts


def _empty_is_failure(result: GenerationResult) -> GenerationResult:
    """An empty answer is no knowledge: stored as a failure, so `--retry-failed` asks again
    (an empty row stored as answered would be skipped by every later run)."""
    if result.ok and not result.text.strip():
        return dataclasses.replace(
            result, error=f"empty completion (finish_reason {result.finish_reason})")
    return result


def summarize_counts(counts: dict[str, PromptCounts], seconds: float) -> dict[str, Any]:
    """The closing summary of `cotpd teach`: prompts, tokens, truncated answers, failures,
    time, tokens/s."""
    tokens_out = sum(c.completion_tokens for c in counts.values())
    return {
        "prompts": {k: c.__dict__ for k, c in counts.items()},
        "asked": sum(c.asked for c in counts.values()),
        "answered": sum(c.answered for c in counts.values()),
        "truncated": sum(c.truncated for c in counts.values()),
        "failed": sum(c.failed for c in counts.values()),
        "skipped_done": sum(c.skipped for c in counts.values()),
        "prompt_tokens": sum(c.prompt_tokens for c in counts.values()),
        "completion_tokens": tokens_out,
        "wall_seconds": round(seconds, 2),
        "completion_tokens_per_second": round(tokens_out / seconds, 2) if seconds else 0.0,
    }
