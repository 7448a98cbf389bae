"""The augment stage's config section (`augment:` in a run config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from corpus.schema import StrictModel

AUGMENT_TYPES = ("style", "entity", "image")


class AugmentTimes(StrictModel):
    """How many augmented copies each training sample may yield, per type (0: off)."""

    style: int = Field(0, ge=0, le=16)
    entity: int = Field(0, ge=0, le=16)
    image: int = Field(0, ge=0, le=16)


class AugmentConfig(StrictModel):
    times: AugmentTimes = AugmentTimes()
    # in_domain: replacements come from the training set's own entities; zero_shot: from a
    # list the teacher writes (the entity_list prompt), kept apart from training entities.
    entity_source: Literal["in_domain", "zero_shot"] = "in_domain"
    zero_shot_list_size: int = Field(400, ge=1)  # names over all entity types together
    entity_replace: Literal["one", "all"] = "one"  # entities replaced per copy
    factual_check: bool = True  # keep an entity copy only if the teacher answers yes
    sources: int | None = Field(None, ge=1)  # augment only this many training samples (seeded)
    seed: int = 0
