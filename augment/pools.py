"""Replacement names per entity type: from the training samples (in-domain) or from lists
the teacher wrote (zero-shot)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from cotpd.augment.tasks import Name, augment_task_of
from cotpd.augment.tokens import folded, tokenize
from cotpd.corpus.records import Sample

# Words the entity_list prompt uses for a label; an unknown label is asked as written.
TYPE_WORDS = {"PER": "person", "LOC": "location", "ORG": "organization",
              "MISC": "event, product or creative work", "OTHER": "event, product or creative work",
              "per": "person", "loc": "location", "org": "organization", "misc": "miscellaneous"}
MAX_NAME_TOKENS = 6
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|\(\d+\))\s*")


def name_key(name: Sequence[str]) -> str:
    """What makes two names the same name: their folded letters, spaced."""
    return " ".join(k for k in (folded(t) for t in name) if k)


def training_names(samples: Iterable[Sample]) -> dict[str, list[Name]]:
    """Each type's distinct names in the training samples, in first-seen order."""
    pools: dict[str, dict[str, Name]] = {}
    for sample in samples:
        for _, kind, name in augment_task_of(sample).entities(sample):
            pools.setdefault(kind, {}).setdefault(name_key(name), name)
    return {kind: list(names.values()) for kind, names in pools.items()}


def parse_name_list(text: str, training: set[str], seen: set[str],
                    counts: Counter[str]) -> list[Name]:
    """Names from a teacher's list (one per line, bullets and numbers stripped): none that
    is a training name (`training`, name keys) or already `seen` (updated here); every
    refusal is counted by reason."""
    names: list[Name] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip().strip(",;")
        if not line:
            continue
        name = tuple(tokenize(line))
        key = name_key(name)
        if not key:
            counts["not_a_name"] += 1
        elif len(name) > MAX_NAME_TOKENS or ":" in name:
            counts["too_long_or_sentence"] += 1
        elif key in training:
            counts["in_training_set"] += 1
        elif key in seen:
            counts["duplicate"] += 1
        else:
            names.append(name)
            seen.add(key)
    return names
