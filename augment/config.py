"""The augment stage's config section (`augment:` in a run config)."""

from __future__ import annotations

from typing import Literal

from cotpd.corpus.schema import StrictModel
from pydantic import Field

AUGMENT_TYPES = ("style", "entity", "image")


class AugmentTimes(StrictModel):
    """How many augmented copies each training sample may yield, per type (0: off)."""

    style: int = Field(0, ge=0, le=16,
                       description="Copies whose text the teacher rewrites in another style.")
    entity: int = Field(0, ge=0, le=16,
                        description="Copies with entities replaced by others of their type.")
    image: int = Field(0, ge=0, le=16,
                       description="Copies whose caption the teacher rewrites.")


class AugmentConfig(StrictModel):
    """Teacher-written copies of training samples."""

    times: AugmentTimes = Field(AugmentTimes(), description="Copies per sample and type.")
    entity_source: Literal["in_domain", "zero_shot"] = Field(
        "in_domain",
        description="Where replacement entities come from: in_domain, the training set's "
                    "own entities; zero_shot, a list the teacher writes (entity_list "
                    "prompt), kept apart from training entities.")
    zero_shot_list_size: int = Field(
        400, ge=1, description="Names the teacher lists, over all entity types together.")
    entity_replace: Literal["one", "all"] = Field(
        "one", description="Entities replaced per copy: one, or all.")
    factual_check: bool = Field(
        True, description="Keep an entity copy only if the teacher answers yes to the "
                          "factual-check prompt.")
    sources: int | None = Field(
        None, ge=1, description="Augment only this many training samples (a seeded choice); "
                                "None: all.")
    seed: int = Field(0, description="Seed of the choice of sources.")
