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

from cotpd.corpus.progress import progress_bar
from cotpd.corpus.records import Sample
from cotpd.corpus.tasks import task_of
from cotpd.teacher.backend import GenerationRequest, GenerationResult, TeacherBackend
from cotpd.teacher.catalogue import CatalogPrompt, Style
from cotpd.teacher.store import TRUNCATED_REASON, KnowledgeStore, StoredRow

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
    skipped: int = 0  # already in the store
    shared: int = 0  # the same prompt as another sample's, asked once for both
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
    """The values a prompt is rendered with: the text, caption and knowledge of every
    sample, and what its task adds (an MRE instance's head and tail names)."""
    caption = sample.context.caption
    if teacher.image_input == "image":
        caption = "(the attached image)"
    return {"text": " ".join(sample.tokens), "caption": caption or "(no caption)",
            "knowledge": sample.context.knowledge or "", **task_of(sample).prompt_values(sample)}


CONTENT_KEY_PREFIX = "sha256:"


def _attaches_image(prompt: CatalogPrompt, teacher: Teacher) -> bool:
    return (teacher.style != "completion" and prompt.id == "multimodal"
            and teacher.image_input == "image")


def content_key(sample: Sample, prompt: CatalogPrompt, teacher: Teacher,
                values: dict[str, str] | None = None) -> str:
    """What the teacher is asked, as a store key: the rendered prompt (and the image it
    attaches), so one answer serves every sample, split or dataset that asks the same (an
    MNRE tweet with several entity pairs, a tweet in two datasets)."""
    text = prompt.render(teacher.style, **(values or sample_values(sample, teacher)))
    image = sample.image_id if _attaches_image(prompt, teacher) else None
    digest = hashlib.sha256(json.dumps([teacher.style, text, image]).encode("utf-8"))
    return CONTENT_KEY_PREFIX + digest.hexdigest()[:32]


def build_request(sample: Sample, prompt: CatalogPrompt, teacher: Teacher,
                  values: dict[str, str] | None = None, key: str | None = None
                  ) -> GenerationRequest:
    """The request for one sample, stored under `key` (the sample's id when None)."""
    values = values or sample_values(sample, teacher)
    text = prompt.render(teacher.style, **values)
    max_tokens = prompt.max_tokens(teacher.default_max_tokens)
    key = key or sample.id
    if teacher.style == "completion":
        return GenerationRequest(key, prompt=text, stop=prompt.stop("completion"),
                                 max_tokens=max_tokens)
    content: Any = text
    if _attaches_image(prompt, teacher):
        content = [{"type": "text", "text": text}, _image_part(sample, teacher.images_dir)]
    return GenerationRequest(key, messages=[{"role": "user", "content": content}],
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


def store_keys(samples: Sequence[Sample], prompt: CatalogPrompt, teacher: Teacher,
               values: dict[str, dict[str, str]] | None = None,
               by_content: bool = False) -> dict[str, str]:
    """Sample id -> the key its answer is stored under: the content key with `by_content`,
    else the sample id (keys chosen by the caller, e.g. augmentation's)."""
    if not by_content:
        return {s.id: s.id for s in samples}
    return {s.id: content_key(s, prompt, teacher, (values or {}).get(s.id)) for s in samples}


def stored_answers(samples: Sequence[Sample], prompt: CatalogPrompt, teacher: Teacher,
                   store: KnowledgeStore, values: dict[str, dict[str, str]] | None = None,
                   by_content: bool = False, truncated: bool = True) -> dict[str, str]:
    """Sample id -> stored answer (keys as `store_keys`); `truncated=False` leaves cut-off
    answers out."""
    texts = store.texts(teacher.fingerprint, prompt.id, prompt.version_hash(teacher.style),
                        truncated=truncated)
    keys = store_keys(samples, prompt, teacher, values, by_content)
    return {sample_id: texts[key] for sample_id, key in keys.items() if key in texts}


def run_prompt(samples: Sequence[Sample], prompt: CatalogPrompt, teacher: Teacher,
               store: KnowledgeStore, retry_failed: bool = False,
               values: dict[str, dict[str, str]] | None = None,
               by_content: bool = False) -> PromptCounts:
    """Ask `prompt` for every sample not yet in the store (with `retry_failed`, failed
    ones too, and truncated ones with more tokens); `values` overrides the template values
    per sample id. With `by_content` answers are stored under the content key, so samples
    that render the same prompt are asked once (`shared` counts the others)."""
    version = prompt.version_hash(teacher.style)
    answered = store.answered_keys(teacher.fingerprint, prompt.id, version)
    failed = store.failed_keys(teacher.fingerprint, prompt.id, version)
    truncated = store.truncated_keys(teacher.fingerprint, prompt.id, version) \
        if retry_failed else set()
    keys = store_keys(samples, prompt, teacher, values, by_content)
    first: dict[str, Sample] = {}
    for sample in samples:
        first.setdefault(keys[sample.id], sample)
    todo = [s for key, s in first.items() if key in truncated or
            key not in answered and (retry_failed or key not in failed)]
    asked_keys = {keys[s.id] for s in todo}
    waiting = sum(1 for s in samples if keys[s.id] in asked_keys)
    counts = PromptCounts(asked=len(todo), skipped=len(samples) - waiting,
                          shared=waiting - len(todo))
    logger.info("prompt %s (version %s): %d to ask, %d already in the store%s", prompt.id,
                version, len(todo), counts.skipped,
                f", {counts.shared} sharing another sample's prompt" if counts.shared else "")
    if by_content:
        _warn_of_id_keys(answered, prompt.id)
    if not todo:
        return counts
    check_ready = getattr(teacher.backend, "check_ready", None)
    if check_ready is not None:  # e.g. no server: one error line, before the progress bar
        check_ready()
    bar = progress_bar(total=len(todo), desc=f"teach {prompt.id}", unit="prompt",
                       dynamic_ncols=True)

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
                key = keys[sample.id]
                request = build_request(sample, prompt, teacher, (values or {}).get(sample.id),
                                        key=key)
                if key in truncated:
                    request = more_tokens(request, store.get(teacher.fingerprint, prompt.id,
                                                             version, key))
                requests.append(request)
            except OSError as error:  # a missing or unreadable image fails its row, not the run
                store_result(GenerationRequest(keys[sample.id]), GenerationResult(
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


def _warn_of_id_keys(answered: set[str], prompt_id: str) -> None:
    """Answers stored under sample ids (the store's earlier keys) are not found by content:
    say so once, rather than re-asking them in silence."""
    by_id = sum(1 for key in answered if not key.startswith(CONTENT_KEY_PREFIX))
    if by_id:
        logger.warning("prompt %s: the store holds %d answers of this teacher under sample "
                       "ids, an earlier key scheme; they are not reused (answers are now "
                       "keyed by the prompt's content)", prompt_id, by_id)


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
        "shared": sum(c.shared for c in counts.values()),
        "prompt_tokens": sum(c.prompt_tokens for c in counts.values()),
        "completion_tokens": tokens_out,
        "wall_seconds": round(seconds, 2),
        "completion_tokens_per_second": round(tokens_out / seconds, 2) if seconds else 0.0,
    }
