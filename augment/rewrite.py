"""Style and image augmentation: the teacher writes, one prompt variant per copy.

Style: the rewrite becomes the new text, its labels re-aligned (augment.align). Image: the
imagined picture becomes the caption of a copy of the source sample; the copy has no image
id, since no real picture goes with the caption."""

from __future__ import annotations

import copy as copying
from collections.abc import Iterator, Sequence

from cotpd.augment.ask import ask
from cotpd.augment.counts import TypeCounts
from cotpd.augment.tasks import augment_task_of
from cotpd.augment.variants import copy_prompt
from cotpd.corpus.records import Sample
from cotpd.teacher.catalogue import CatalogPrompt
from cotpd.teacher.runner import Teacher
from cotpd.teacher.store import KnowledgeStore


def augmented_id(source: Sample, kind: str, copy: int) -> str:
    return f"{source.id}~{kind}{copy + 1}"


def text_of(sample: Sample) -> str:
    return " ".join(sample.tokens)


def example_texts(prompt: CatalogPrompt) -> set[str]:
    """The few-shot texts of a prompt variant, folded: a base model sometimes answers with
    one of them instead of writing its own."""
    return {" ".join(str(v).lower().split()) for shot in prompt.completion.get("examples", [])
            for v in shot.values()}


def _copied(answer: str, examples: set[str]) -> bool:
    return " ".join(answer.lower().split()) in examples


def _answers(sources: Sequence[Sample], times: int, prompt: CatalogPrompt, teacher: Teacher,
             store: KnowledgeStore, counts: TypeCounts
             ) -> Iterator[tuple[int, CatalogPrompt, Sample, str | None]]:
    """(copy, its prompt variant, source, answer) for every copy of every source, each one
    counted as asked; the answer is None where the teacher failed."""
    for copy in range(times):
        variant = copy_prompt(prompt, copy)
        answers, asked = ask(variant, {s.id: {"text": text_of(s)} for s in sources},
                             teacher, store)
        counts.teacher[f"{prompt.id}#{copy + 1}"] = asked
        for source in sources:
            counts.asked += 1
            yield copy, variant, source, answers.get(source.id)


def style_copies(sources: Sequence[Sample], times: int, prompt: CatalogPrompt,
                 teacher: Teacher, store: KnowledgeStore, counts: TypeCounts) -> list[Sample]:
    kept: list[Sample] = []
    seen: dict[str, set[tuple[str, ...]]] = {s.id: set() for s in sources}
    for copy, variant, source, answer in _answers(sources, times, prompt, teacher, store,
                                                  counts):
        if answer is None:
            counts.drop("teacher_failed")
            continue
        if _copied(answer, example_texts(variant)):
            counts.drop("copied_example")
            continue
        realign = augment_task_of(source).realign
        sample, alignment = realign(source, answer, augmented_id(source, "style", copy))
        if sample is None:
            counts.drop(alignment.dropped or "unaligned")
        elif tuple(sample.tokens) in seen[source.id]:
            counts.drop("duplicate")
        else:
            seen[source.id].add(tuple(sample.tokens))
            counts.matches.update(alignment.matches)
            counts.kept += 1
            kept.append(sample)
    return kept


def image_copies(sources: Sequence[Sample], times: int, prompt: CatalogPrompt,
                 teacher: Teacher, store: KnowledgeStore, counts: TypeCounts) -> list[Sample]:
    kept: list[Sample] = []
    seen: dict[str, set[str]] = {s.id: set() for s in sources}
    for copy, variant, source, answer in _answers(sources, times, prompt, teacher, store,
                                                  counts):
        caption = " ".join((answer or "").split())
        if answer is None:
            counts.drop("teacher_failed")
        elif not caption:
            counts.drop("empty")
        elif _copied(caption, example_texts(variant)):
            counts.drop("copied_example")
        elif caption.lower() in seen[source.id]:
            counts.drop("duplicate")
        else:
            seen[source.id].add(caption.lower())
            sample = copying.deepcopy(source)
            sample.id = augmented_id(source, "image", copy)
            sample.image_id = None
            sample.context.caption = caption
            sample.context.knowledge = None
            counts.kept += 1
            kept.append(sample)
    return kept
