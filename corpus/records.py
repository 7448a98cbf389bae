"""Typed sample records for MNER and MRE.

Context fields (caption, knowledge) live in `SampleContext`, apart from the tokens and
labels, so that adding knowledge never changes what is scored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Task = Literal["mner", "mre"]


@dataclass
class SampleContext:
    """Text that a view may add to a sample; never part of the gold annotation."""

    caption: str | None = None
    knowledge: str | None = None


@dataclass(frozen=True)
class EntitySpan:
    """A labelled span of word indices, [start, end)."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Mention:
    """An MRE head or tail: its surface name and word span [start, end)."""

    name: str
    start: int
    end: int


@dataclass
class MnerSample:
    """One sentence with word-level BIO labels."""

    id: str
    tokens: list[str]
    labels: list[str]
    image_id: str | None
    context: SampleContext = field(default_factory=SampleContext)
    task: Task = field(default="mner", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MnerSample:
        return cls(id=data["id"], tokens=list(data["tokens"]), labels=list(data["labels"]),
                   image_id=data.get("image_id"),
                   context=SampleContext(**data.get("context") or {}))


@dataclass
class MreSample:
    """One head/tail pair in a sentence and the relation between them."""

    id: str
    tokens: list[str]
    head: Mention
    tail: Mention
    relation: str
    image_id: str | None
    context: SampleContext = field(default_factory=SampleContext)
    task: Task = field(default="mre", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MreSample:
        return cls(id=data["id"], tokens=list(data["tokens"]), head=Mention(**data["head"]),
                   tail=Mention(**data["tail"]), relation=data["relation"],
                   image_id=data.get("image_id"),
                   context=SampleContext(**data.get("context") or {}))


Sample = MnerSample | MreSample


def sample_from_dict(data: dict[str, Any]) -> Sample:
    """Inverse of `to_dict`, for samples stored as JSON lines in a run directory; the record's
    `task` names its type (an unknown one is a KeyError)."""
    return _BY_TASK[data["task"]].from_dict(data)


_BY_TASK: dict[str, type[MnerSample] | type[MreSample]] = {
    kind.task: kind for kind in (MnerSample, MreSample)}  # `task` defaults to the name
