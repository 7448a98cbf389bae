"""Entity replacement: swap labelled spans for other names of the same type.

Only the replaced spans change: the new span gets B-/I- labels of the old span's type, and
every other token keeps its label (MRE: the other mention is shifted, never re-labelled).
"""

from __future__ import annotations

from collections.abc import Sequence

from cotpd.corpus.records import EntitySpan, Mention, MnerSample, MreSample

Replacement = tuple[EntitySpan, Sequence[str]]


def replace_mner(sample: MnerSample, replacements: Sequence[Replacement],
                 new_id: str) -> MnerSample:
    """`sample` with each (span, new tokens) swapped in; spans must not overlap."""
    tokens, labels = list(sample.tokens), list(sample.labels)
    for span, name in sorted(replacements, key=lambda r: -r[0].start):  # right to left
        if not name:
            raise ValueError(f"{new_id}: an empty replacement for {span}")
        tokens[span.start:span.end] = list(name)
        labels[span.start:span.end] = [f"B-{span.type}"] + [f"I-{span.type}"] * (len(name) - 1)
    return MnerSample(id=new_id, tokens=tokens, labels=labels, image_id=None)


def replace_mre(sample: MreSample, role: str, name: Sequence[str], new_id: str) -> MreSample:
    """`sample` with its head or tail (`role`) renamed; the other mention is shifted."""
    if role not in ("head", "tail") or not name:
        raise ValueError(f"{new_id}: cannot replace {role!r} with {list(name)!r}")
    old = getattr(sample, role)
    other_role = "tail" if role == "head" else "head"
    other = getattr(sample, other_role)
    if old.start < other.end and other.start < old.end:
        raise ValueError(f"{new_id}: head and tail overlap")
    shift = len(name) - (old.end - old.start)
    tokens = sample.tokens[:old.start] + list(name) + sample.tokens[old.end:]
    new = Mention(name=" ".join(name), start=old.start, end=old.start + len(name))
    moved = other if other.start < old.start else Mention(
        name=other.name, start=other.start + shift, end=other.end + shift)
    mentions = {role: new, other_role: moved}
    return MreSample(id=new_id, tokens=tokens, head=mentions["head"], tail=mentions["tail"],
                     relation=sample.relation, image_id=None)
