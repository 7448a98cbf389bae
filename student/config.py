"""The student stage's config section: encoder, variant, views, distillation, training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from corpus.schema import ModelPathMarker, StrictModel
from student.training_args import check_extra_keys

Variant = Literal["text", "caption", "cot", "mv", "upd", "prefix", "cpd", "two_stage",
                  "two_stage_prompt"]
View = Literal["text", "caption", "knowledge", "prompt"]
PromptKind = Literal["none", "conditional", "unconditional", "prefix"]

# What each paper variant trains on and distils into (docs/architecture.md):
# (view trained with NLL, view distilled into with KL or None, prompt generator, inference view)
VARIANTS: dict[str, tuple[View, View | None, PromptKind, View]] = {
    "text": ("text", None, "none", "text"),              # (a) text only
    "caption": ("caption", None, "none", "caption"),     # (b) baseline [x; I]
    "cot": ("knowledge", None, "none", "knowledge"),     # (c) +CoT [x; I; c]
    "mv": ("knowledge", "text", "none", "text"),         # (e) +MV, KL to the plain text view
    "upd": ("knowledge", "prompt", "unconditional", "prompt"),  # (f) +UPD, p = q
    "prefix": ("knowledge", "prompt", "prefix", "prompt"),      # +PrefixD, every layer
    "cpd": ("knowledge", "prompt", "conditional", "prompt"),    # (d) +CPD, the method
    # Two-stage: a trained knowledge-view model scored every training sentence once; the
    # student learns from the text alone, NLL + KL to those cached distributions.
    "two_stage": ("text", None, "none", "text"),
    "two_stage_prompt": ("prompt", None, "conditional", "prompt"),
}
TWO_STAGE: frozenset[str] = frozenset({"two_stage", "two_stage_prompt"})


class ViewConfig(StrictModel):
    """How the knowledge view [x; caption; knowledge] is laid out."""

    # Context parts after the text, in order; each is preceded by the separator.
    context_order: list[Literal["caption", "knowledge"]] = ["caption", "knowledge"]
    separator: str | None = None  # None: the tokenizer's own sep token
    max_length: int = Field(256, ge=16)


class PromptConfig(StrictModel):
    num_queries: int = Field(8, ge=1)  # N, the prompt length
    # after_cls: [CLS] p x [SEP] (text positions shift by N); after_text: [CLS] x [SEP] p,
    # the paper's [x; p], so every text position is the same in both views.
    position: Literal["after_cls", "after_text"] = "after_cls"
    decoder_layers: int = Field(1, ge=1)  # conditional generator depth
    decoder_heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)


class DistillConfig(StrictModel):
    alpha: float = Field(1.0, ge=0.0)
    temperature: float = Field(1.0, gt=0.0)  # CRF head: every CRF score divided by it
    detach_knowledge: bool = False  # stop gradients through the knowledge (teacher) side
    prompt_nll_weight: float = Field(0.0, ge=0.0)  # extra NLL on the distilled view
    # MSE between the two views' last hidden states at the text words, knowledge side detached.
    hidden_weight: float = Field(0.0, ge=0.0)
    knowledge_dropout: bool = True  # False: the knowledge side runs without dropout
    # Two-stage variants: the knowledge-view student directory that teaches (its inference
    # view must be `knowledge`), or `folds` to train the teacher in the run: 1, one teacher
    # on every training sentence; K >= 2, K cross-fitted teachers (each training sentence is
    # scored by a teacher that did not train on it).
    teacher: Path | None = None
    folds: int = Field(0, ge=0)
    cache_dir: Path | None = None  # None: <run>/student/teacher_cache
    # Sentences with knowledge but no gold labels: KL only (JSONL with `tokens` and
    # `knowledge`, or a samples file such as the augment stage's output). Never dev or test.
    unlabelled: list[Path] = []


class TrainConfig(StrictModel):
    """cotpd's training keys (the documented defaults); any other field of transformers'
    TrainingArguments may be set here too (lr_scheduler_type, max_grad_norm, optim,
    save_total_limit, ...), checked by name when the config is read."""

    model_config = ConfigDict(**{**StrictModel.model_config, "extra": "allow"})

    learning_rate: float = Field(5e-5, gt=0.0)
    # Parameters that are not the pretrained encoder (prompt generator, head, CRF) train at
    # learning_rate times this (ITA and PGIM train them far faster than the encoder).
    new_parameters_lr_multiplier: float = Field(1.0, gt=0.0)
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

    @model_validator(mode="after")
    def _extra_keys_are_training_arguments(self) -> TrainConfig:
        check_extra_keys(self.model_extra or {}, type(self).model_fields)
        return self


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

    @model_validator(mode="after")
    def _distill_settings_fit_the_variant(self) -> StudentConfig:
        distill = self.distill
        if self.variant in TWO_STAGE:
            if (distill.teacher is None) == (distill.folds < 1):
                raise ValueError(f"variant {self.variant!r} needs exactly one of "
                                 "distill.teacher (a trained knowledge-view student folder) "
                                 "and distill.folds >= 1 (teachers trained in the run: 1, "
                                 "one on all training sentences; K >= 2, cross-fitted)")
            if distill.hidden_weight:
                raise ValueError("distill.hidden_weight needs the knowledge view in the same "
                                 "model; the two-stage variants only have cached outputs")
        elif distill.teacher is not None or distill.folds:
            raise ValueError(f"distill.teacher and distill.folds are for the two-stage "
                             f"variants, not {self.variant!r}")
        if distill.unlabelled and self.distill_view is None and self.variant not in TWO_STAGE:
            raise ValueError(f"distill.unlabelled needs a distilling variant (mv, upd, prefix, "
                             f"cpd, two_stage*); {self.variant!r} has no KL")
        return self

    def loss_description(self) -> str:
        """The training loss in words, as the report and student.json record it."""
        d = self.distill
        t = f"/T={d.temperature:g}" if d.temperature != 1.0 else ""
        terms = [f"NLL({self.train_view})"]
        if self.distill_view is not None:
            side = "detached " if d.detach_knowledge else ""
            terms.append(f"{d.alpha:g} * KL{t}({side}{self.train_view} || {self.distill_view})")
            if d.prompt_nll_weight:
                terms.append(f"{d.prompt_nll_weight:g} * NLL({self.distill_view})")
            if d.hidden_weight:
                terms.append(f"{d.hidden_weight:g} * MSE(hidden {self.train_view}, "
                             f"{self.distill_view})")
        elif self.two_stage:
            teacher = (f"teacher {d.teacher}" if d.teacher is not None else
                       "a teacher trained in the run" if d.folds == 1 else
                       f"{d.folds}-fold cross-fitted teachers")
            terms.append(f"{d.alpha:g} * KL{t}(cached knowledge view of {teacher} || "
                         f"{self.train_view})")
        if d.unlabelled:
            terms.append(f"(KL only on {len(d.unlabelled)} unlabelled file(s))")
        return " + ".join(terms)

    @property
    def two_stage(self) -> bool:
        return self.variant in TWO_STAGE

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
