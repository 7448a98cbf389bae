"""Independent conlleval-style chunker (from conlleval.pl rules) used to cross-check seqeval.

Deliberately does not import seqeval. Handles the BIO tags B, I and O; each sentence is chunked
on its own, as conlleval does with the blank line between sentences.
"""

from __future__ import annotations

from collections.abc import Sequence


def _split(label: str) -> tuple[str, str]:
    """``B-PER`` -> (``B``, ``PER``); ``O`` -> (``O``, ``""``); split at the first dash."""
    tag, sep, typ = label.partition("-")
    return (tag, typ) if sep else (label, "")


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    """conlleval.pl endOfChunk restricted to BIO."""
    if prev_tag in ("B", "I") and tag in ("B", "O"):
        return True
    return prev_tag != "O" and prev_type != typ


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    """conlleval.pl startOfChunk restricted to BIO (``I-X`` after ``O`` starts a chunk)."""
    if tag == "B":
        return True
    if prev_tag == "O" and tag == "I":
        return True
    return tag != "O" and prev_type != typ


def chunks(labels: list[str]) -> set[tuple[str, int, int]]:
    """Chunks of one sentence as (type, start, end) with inclusive ``end``."""
    out: set[tuple[str, int, int]] = set()
    prev_tag, prev_type, start = "O", "", 0
    for i, label in enumerate([*labels, "O"]):  # trailing "O" closes a chunk at sentence end
        tag, typ = _split(label)
        if _end_of_chunk(prev_tag, tag, prev_type, typ):
            out.add((prev_type, start, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, typ):
            start = i
        prev_tag, prev_type = tag, typ
    return out


def _all_chunks(seqs: Sequence[Sequence[str]]) -> set[tuple[int, str, int, int]]:
    return {(k, *c) for k, labels in enumerate(seqs) for c in chunks(list(labels))}


def reference_prf(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> tuple[float, float, float]:
    """Micro (precision, recall, F1) as fractions, 0.0 where conlleval would divide by zero."""
    g, p = _all_chunks(gold), _all_chunks(pred)
    correct = len(g & p)
    precision = correct / len(p) if p else 0.0
    recall = correct / len(g) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
