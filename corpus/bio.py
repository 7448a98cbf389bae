"""BIO label checks and chunking (conlleval rules: an I- that does not continue a chunk of
its own type starts a new one, so nothing is dropped or silently repaired)."""

from __future__ import annotations

import re

from cotpd.corpus.records import EntitySpan

LABEL_PATTERN = re.compile(r"^(O|[BI]-[A-Za-z][A-Za-z0-9_.-]*)$")


def is_bio_label(label: str) -> bool:
    return LABEL_PATTERN.match(label) is not None


def label_type(label: str) -> str | None:
    """The entity type of a B-/I- label, None for O."""
    return None if label == "O" else label[2:]


def orphan_inside_positions(labels: list[str]) -> list[int]:
    """Positions of I-X labels that follow neither B-X nor I-X (an I- with no entity before it)."""
    orphans = []
    previous = "O"
    for index, label in enumerate(labels):
        if label.startswith("I-") and (previous == "O" or previous[2:] != label[2:]):
            orphans.append(index)
        previous = label
    return orphans


def bio_spans(labels: list[str]) -> list[EntitySpan]:
    """Entity chunks of a BIO sequence, conlleval-compatible."""
    spans: list[EntitySpan] = []
    start: int | None = None
    current: str | None = None
    for index, label in enumerate([*labels, "O"]):
        kind = label_type(label)
        continues = label.startswith("I-") and kind == current
        if start is not None and not continues:
            spans.append(EntitySpan(type=current or "", start=start, end=index))
            start, current = None, None
        if kind is not None and not continues:
            start, current = index, kind
    return spans
