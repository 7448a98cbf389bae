"""The student stage's config section: encoder, variant, views, distillation, training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from corpus.schema import ModelPathMarker, StrictModel

Variant = Literal["text", "caption", "cot", "mv", "upd", "prefix", "cpd"]
View = Literal["text", "caption", "knowledge", "prompt"]
PromptKind = Literal["none", "conditional", "unconditional", "prefix"]

# What each paper variant trains on and distils into (DESIGN.md section 2):
# (view trained with NLL, view distilled into with KL or None, prompt generator, inference view)
VARIANTS: dict[str, tuple[View, View | None, PromptKind, View]] = {
    "text": ("text", None, "none", "text"),              # (a) text only
    "caption": ("caption", None, "none", "caption"),     # (b) baseline [x; I]
    "cot": ("knowledge", None, "none", "knowledge"),     # (c) +CoT [x; I; c]
    "mv": ("knowledge", "text", "none", "text"),         # (e) +MV, KL to the plain text view
    "upd": ("knowledge", "prompt", "unconditional", "prompt"),  # (f) +UPD, p = q
    "prefix": ("knowledge", "prompt", "prefix", "prompt"),      # +PrefixD, every layer
    "cpd": ("knowledge", "prompt", "conditional", "prompt"),    # (d) +CPD, the method
}


class ViewConfig(StrictModel):
    """How the knowledge view [x; caption; knowledge] is laid out."""

    # Context parts after the text, in order; each is preceded by the separator.
    context_order: list[Literal["caption", "knowledge"]] = ["caption", "knowledge"]
    separator: str | None = None  # None: the tokenizer's own sep token
    max_length: int = Field(256, ge=16)


class PromptConfig(StrictModel):
    num_queries: int = Field(8, ge=1)  # N, the prompt length
    decoder_layers: int = Field(1, ge=1)  # conditional generator depth
    decoder_heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)


class DistillConfig(StrictModel):
    alpha: float = Field(1.0, ge=0.0)
    temperature: float = Field(1.0, gt=0.0)
    detach_knowledge: bool = False  # stop gradients through the knowledge (teacher) side
    prompt_nll_weight: float = Field(0.0, ge=0.0)  # extra NLL on the distilled view


class TrainConfig(StrictModel):
    learning_rate: float = Field(5e-5, gt=0.0)
    weight_decay: float = 0.01
    epochs: float = Field(15.0, gt=0.0)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    early_stopping_patience: int | None = 3  # evaluations without dev F1 gain; None: off
    max_steps: int = -1  # > 0 caps training (smoke tests)
    eval_steps: int | None = None  # None: evaluate once per epoch
    logging_steps: int = 10
    group_by_length: bool = True
    bf16: bool | Literal["auto"] = "auto"  # auto: on when CUDA supports it
    gradient_checkpointing: bool | Literal["auto"] = "auto"  # auto: on with CUDA
    deepspeed: Path | None = None  # a ZeRO JSON config, e.g. configs/deepspeed/zero2.json
    resume: bool = True  # continue from the last checkpoint in the output folder
    num_workers: int = 0


class ContextFiles(StrictModel):
    """Captions and knowledge made elsewhere, read before any teacher has run."""

    captions: Path | None = None  # `<imgid>.jpg :<caption>` lines or JSONL
    knowledge: list[Path] = []  # JSONL {id or img_id, knowledge}, any number of files


class StudentConfig(StrictModel):
    encoder: Annotated[str, ModelPathMarker()] = "embedded:minilm"
    head: Literal["softmax", "crf"] = "softmax"
    variant: Variant = "cpd"
    infer_view: View | Literal["auto"] = "auto"  # auto: the variant's inference view
    views: ViewConfig = ViewConfig()
    prompt: PromptConfig = PromptConfig()
    distill: DistillConfig = DistillConfig()
    train: TrainConfig = TrainConfig()
    context: ContextFiles = ContextFiles()
    trust_remote_code: bool = False

    @model_validator(mode="after")
    def _prompt_view_needs_a_prompt(self) -> StudentConfig:
        if self.resolved_infer_view == "prompt" and self.prompt_kind == "none":
            raise ValueError(f"infer_view 'prompt' needs a variant with a prompt generator "
                             f"(upd, prefix, cpd); variant is {self.variant!r}")
        return self

    @property
    def train_view(self) -> View:
        return VARIANTS[self.variant][0]

    @property
    def distill_view(self) -> View | None:
        return VARIANTS[self.variant][1]

    @property
    def prompt_kind(self) -> PromptKind:
        return VARIANTS[self.variant][2]

    @property
    def resolved_infer_view(self) -> View:
        return VARIANTS[self.variant][3] if self.infer_view == "auto" else self.infer_view
