"""The caption stage's config section (`caption:` in a run config)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cotpd.caption.registry import NONE, captioner_names, unknown_captioner_message
from cotpd.corpus.schema import ModelPathMarker, StrictModel
from pydantic import Field, field_validator, model_validator

# LAVIS 1.0.2's BLIP-2 caption models: name -> model types (its PRETRAINED_MODEL_CONFIG_DICT).
LAVIS_MODEL_TYPES = {
    "blip2_opt": ("caption_coco_opt2.7b", "caption_coco_opt6.7b", "pretrain_opt2.7b",
                  "pretrain_opt6.7b"),
    "blip2_t5": ("caption_coco_flant5xl", "pretrain_flant5xl", "pretrain_flant5xl_vitL",
                 "pretrain_flant5xxl"),
}
# The keys that point at what LAVIS would otherwise download, each a local path.
LAVIS_FILE_KEYS = ("checkpoint", "vit_weights", "llm", "bert")


class LavisConfig(StrictModel):
    """The LAVIS BLIP-2 captioner (`caption.lavis`). It runs in its own environment
    (`bash scripts/setup.sh lavis`), and every file LAVIS would download is a local path."""

    name: Literal["blip2_opt", "blip2_t5"] = Field(
        "blip2_opt", description="The LAVIS BLIP-2 model family: blip2_opt or blip2_t5.")
    model_type: str = Field(
        "caption_coco_opt2.7b",
        description="A caption model type of that family, e.g. caption_coco_opt2.7b, "
                    "pretrain_flant5xl.")
    checkpoint: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="The BLIP-2 .pth the model type loads (`finetuned` for "
                          "caption_coco_*, else `pretrained`); a local path.")
    vit_weights: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="The vision encoder's weights, eva_vit_g.pth (clip_vit_L.pth for "
                          "*_vitL); a local path.")
    llm: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="Local Hugging Face folder of the language model (opt_model / "
                          "t5_model), e.g. facebook/opt-2.7b.")
    bert: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="Local Hugging Face folder of bert-base-uncased: the Q-Former's "
                          "tokenizer, config and initial weights.")
    python: Path | None = Field(
        None, description="The LAVIS environment's interpreter; None: "
                          "<project>/.venv-lavis/bin/python.")

    @model_validator(mode="after")
    def _known_model_type(self) -> LavisConfig:
        known = LAVIS_MODEL_TYPES[self.name]
        if self.model_type not in known:
            raise ValueError(f"caption.lavis.model_type {self.model_type!r} is not a "
                             f"{self.name} caption model (known: {', '.join(known)})")
        return self


class CaptionConfig(StrictModel):
    """Which captioner turns each image into text, and how."""

    backend: str = Field(
        "none", description="A registered captioner: lavis (BLIP-2 in its own environment), "
                            "transformers (a local BLIP-2 folder), file (captions made "
                            "elsewhere); or none (no captions).")
    model: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="Backend transformers: a local Hugging Face BLIP-2 folder.")
    file: Path | None = Field(
        None, description="Backend file: captions made elsewhere, `<imgid>.jpg :caption` "
                          "lines or JSONL.")
    batch_size: int = Field(8, ge=1, description="Images per captioning batch.")
    max_new_tokens: int = Field(30, ge=1, description="Most tokens in one caption.")
    num_beams: int = Field(1, ge=1, description="Beam-search width; 1: greedy.")
    prompt: str | None = Field(
        None, description="Text the caption continues, e.g. \"a photo of\"; None: caption "
                          "from the image alone.")
    # Checked on the header before decoding, so a huge image never fills the memory.
    max_image_pixels: int = Field(
        40_000_000, ge=1, description="Images with more pixels are not captioned (counted as too "
                                  "large).")
    output: Path | None = Field(
        None, description="Where captions are written; None: <run>/captions/captions.jsonl.")
    lavis: LavisConfig = Field(LavisConfig(), description="Settings of the lavis backend.")

    @field_validator("backend")
    @classmethod
    def _backend_is_registered(cls, name: str) -> str:
        if name != NONE and name not in captioner_names():
            raise ValueError(unknown_captioner_message(name))
        return name

    @model_validator(mode="after")
    def _backend_has_its_input(self) -> CaptionConfig:
        # Fail when the config is read, not after the samples have been prepared.
        if self.backend == "transformers" and not self.model:
            raise ValueError("backend 'transformers' needs caption.model (a local BLIP-2 folder)")
        if self.backend == "file" and self.file is None:
            raise ValueError("backend 'file' needs caption.file (a captions file)")
        if self.backend == "lavis":
            unset = [f"caption.lavis.{k}" for k in LAVIS_FILE_KEYS
                     if getattr(self.lavis, k) is None]
            if unset:
                raise ValueError(f"backend 'lavis' needs {', '.join(unset)} (local paths: "
                                 "the stack never downloads)")
        return self
