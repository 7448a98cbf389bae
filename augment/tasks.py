"""The task registry, augment side: per task, which entities of a sample can be replaced,
how a replacement is made and how a rewritten text is aligned back to the sample's labels.
Registered under the corpus task names (corpus/tasks.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cotpd.augment.align import Alignment, realign_mner, realign_mre
from cotpd.augment.replace import replace_mner, replace_mre
from cotpd.corpus.bio import bio_spans
from cotpd.corpus.records import MnerSample, MreSample, Sample
from cotpd.corpus.tasks import lookup

Name = tuple[str, ...]
Target = Any  # what `replace` replaces: an EntitySpan (MNER) or a role name "head"/"tail" (MRE)


@dataclass(frozen=True)
class AugmentTask:
    name: str
    # (what to replace, its type, its words) for each typed entity of a sample.
    entities: Callable[[Any], list[tuple[Target, str, Name]]]
    # A copy of the sample with each (target, name) replaced, under a new id.
    replace: Callable[[Any, Sequence[tuple[Target, Name]], str], Sample]
    # The sample re-labelled on a rewritten text, or None with why (`Alignment.dropped`).
    realign: Callable[[Any, str, str], tuple[Sample | None, Alignment]]


def mre_mention_types(sample: MreSample) -> tuple[str | None, str | None]:
    """Head and tail types read from an MNRE relation name (`/per/org/member_of`)."""
    parts = sample.relation.strip("/").split("/")
    return (parts[0], parts[1]) if len(parts) >= 3 else (None, None)


def _mner_entities(sample: MnerSample) -> list[tuple[Target, str, Name]]:
    return [(span, span.type, tuple(sample.tokens[span.start:span.end]))
            for span in bio_spans(sample.labels)]


def _mre_entities(sample: MreSample) -> list[tuple[Target, str, Name]]:
    """The head and tail whose type the relation name gives."""
    return [(role, kind, tuple(sample.tokens[mention.start:mention.end]))
            for role, kind, mention in zip(("head", "tail"), mre_mention_types(sample),
                                           (sample.head, sample.tail), strict=True) if kind]


def _mre_replace(sample: MreSample, picks: Sequence[tuple[Target, Name]],
                 new_id: str) -> Sample:
    for role, name in picks:  # the head first: the tail shifts after it
        sample = replace_mre(sample, role, name, new_id)
    return sample


AUGMENT_TASKS: dict[str, AugmentTask] = {t.name: t for t in (
    AugmentTask("mner", entities=_mner_entities, replace=replace_mner, realign=realign_mner),
    AugmentTask("mre", entities=_mre_entities, replace=_mre_replace, realign=realign_mre),
)}


def augment_task(name: str) -> AugmentTask:
    return lookup(AUGMENT_TASKS, name)


def augment_task_of(sample: Sample) -> AugmentTask:
    return augment_task(sample.task)
