"""The caption stage's config section (`caption:` in a run config)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from corpus.schema import ModelPathMarker, StrictModel


class CaptionConfig(StrictModel):
    """Which captioner turns each image into text, and how."""

    backend: Literal["transformers", "file", "none"] = "none"
    model: Annotated[str | None, ModelPathMarker()] = None  # local HF BLIP-2 folder
    file: Path | None = None  # captions made elsewhere: `<imgid>.jpg :caption` or JSONL
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(30, ge=1)
    num_beams: int = Field(1, ge=1)
    prompt: str | None = None  # e.g. "a photo of"; None: caption from the image alone
    # Checked on the header before decoding, so a huge image never fills the memory.
    max_image_pixels: int = Field(40_000_000, ge=1)
    output: Path | None = None  # None: <run>/captions/captions.jsonl

    @model_validator(mode="after")
    def _backend_has_its_input(self) -> CaptionConfig:
        # Fail when the config is read, not after the samples have been prepared.
        if self.backend == "transformers" and not self.model:
            raise ValueError("backend 'transformers' needs caption.model (a local BLIP-2 folder)")
        if self.backend == "file" and self.file is None:
            raise ValueError("backend 'file' needs caption.file (a captions file)")
        return self
