"""Training labels on every sub-word of a word, not only on its first.

A student reads each word's label at the word's first sub-word. A reader that splits the
text into smaller words than the training data (transformers' token-classification
pipeline splits `@katie` into `@` + `katie`, `10,000` into `10` + `,` + `000`) reads labels
at sub-words inside a training word too. Scheme `all` trains those positions as the word's
continuation (B-X and I-X words: I-X after the first sub-word; O words: O), so such a reader
finds the same entity, and the first sub-word keeps the label a word-level reader reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
from cotpd.student.views import EncodedView

SubwordLabels = Literal["first", "all"]
IGNORE = -100


def continuation_ids(labels: Sequence[str]) -> list[int]:
    """Per label id, the id a word's later sub-words take: I-X for B-X and I-X, else itself."""
    index = {label: i for i, label in enumerate(labels)}
    out = []
    for i, label in enumerate(labels):
        kind = label[2:] if label[:2] in ("B-", "I-") else None
        out.append(index.get(f"I-{kind}", i) if kind is not None else i)
    return out


def subword_spans(view: EncodedView) -> list[range]:
    """The sub-word positions of each text word: from its start to the next word's start
    (the last word ends at the [SEP] after the text)."""
    ends = list(view.word_starts[1:]) + [view.text_end]
    return [range(start, end) for start, end in zip(view.word_starts, ends, strict=True)]


def spread_view(view: EncodedView) -> EncodedView:
    """The view with every text sub-word as a labelled position."""
    positions = [p for span in subword_spans(view) for p in span]
    return replace(view, word_starts=positions)


def spread_labels(view: EncodedView, labels: Sequence[int],
                  continuation: Sequence[int]) -> list[int]:
    """Word labels as sub-word labels: the word's own at its first sub-word, its
    continuation at the others (ignored words stay ignored)."""
    out: list[int] = []
    for span, label in zip(subword_spans(view), labels, strict=True):
        rest = IGNORE if label == IGNORE else continuation[label]
        out.extend([label] + [rest] * (len(span) - 1))
    return out


def spread_teacher(view: EncodedView, logprobs: np.ndarray) -> np.ndarray:
    """A teacher's word rows at first sub-words; NaN rows (no target) at the others, whose
    B/I split the teacher never scored."""
    rows = []
    # A cache may score fewer words than the view holds; the rest get no teacher row.
    for span, row in zip(subword_spans(view), logprobs, strict=False):
        rows.append(row)
        rows.extend([np.full_like(row, np.nan)] * (len(span) - 1))
    return np.stack(rows) if rows else logprobs
