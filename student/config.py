"""The student stage's config section: encoder, variant, views, distillation, training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cotpd.corpus.schema import ModelPathMarker, StrictModel, added_later, operational
from cotpd.student.training_args import check_extra_keys
from cotpd.student.variants import VARIANTS, PromptKind, VariantSpec, View
from pydantic import ConfigDict, Field, field_validator, model_validator


class ViewConfig(StrictModel):
    """How the knowledge view [x; caption; knowledge] is laid out."""

    context_order: list[Literal["caption", "knowledge"]] = Field(
        ["caption", "knowledge"],
        description="Context parts placed after the text, in this order, each preceded by "
                    "the separator.")
    separator: str | None = Field(
        None, description="Text between the parts of a view; None: the tokenizer's own sep "
                          "token.")
    max_length: int = Field(
        256, ge=16,
        description="Sub-words per encoder input, special tokens included; knowledge is "
                    "cut first, then the caption, and longer texts are read in windows at "
                    "prediction.")


class PromptConfig(StrictModel):
    """The prompt generator of the prompt-distilling variants (upd, prefix, cpd)."""

    num_queries: int = Field(8, ge=1, description="N, the number of prompt vectors.")
    # after_text keeps every text position the same in both views (the paper's [x; p]).
    position: Literal["after_cls", "after_text"] = Field(
        "after_cls",
        description="Where the prompt goes: after_cls, [CLS] p x [SEP] (text positions "
                    "shift by N); after_text, [CLS] x [SEP] p.")
    decoder_layers: int = Field(
        1, ge=1, description="Transformer decoder layers of the conditional generator.")
    decoder_heads: int = Field(
        4, ge=1, description="Attention heads of the conditional generator's decoder.")
    dropout: float = Field(0.1, ge=0.0, lt=1.0,
                           description="Dropout inside the prompt generator.")


class DistillConfig(StrictModel):
    """The distillation loss: weights, temperature, and the two-stage teacher."""

    alpha: float = Field(1.0, ge=0.0,
                         description="Weight of the KL term between the trained and the "
                                     "distilled view (or a two-stage teacher's cached "
                                     "scores).")
    temperature: float = Field(
        1.0, gt=0.0,
        description="Softmax temperature of the KL term; with a CRF head every CRF score "
                    "is divided by it.")
    detach_knowledge: bool = Field(
        False, description="Stop gradients through the knowledge (teacher) side of the KL.")
    prompt_nll_weight: float = Field(
        0.0, ge=0.0, description="Weight of an extra gold NLL on the distilled view.")
    hidden_weight: float = Field(
        0.0, ge=0.0,
        description="Weight of an MSE between the two views' last hidden states at the text "
                    "words (knowledge side detached); 0: off.")
    knowledge_dropout: bool = Field(
        True, description="Run the knowledge side with dropout; false: without.")
    # Cross-fitting keeps a teacher from scoring sentences it was trained on.
    teacher: Path | None = Field(
        None,
        description="Two-stage variants: a trained student folder whose inference view is "
                    "`knowledge`, used as the teacher (else set folds).")
    folds: int = Field(
        0, ge=0,
        description="Two-stage variants: teachers trained in the run; 1, one teacher on "
                    "every training sentence; K >= 2, K cross-fitted teachers.")
    cache_dir: Path | None = Field(
        None, description="Where a two-stage teacher's scores are cached; None: "
                          "<run>/student/teacher_cache.")
    unlabelled: list[Path] = Field(
        [],
        description="Files of sentences with knowledge but no gold labels, trained with the "
                    "KL term only (JSONL with tokens and knowledge, or a samples file such "
                    "as the augment stage's); never dev or test.")
    labelled_repeats: int = added_later(
        1, ge=1,
        description="With unlabelled sentences (distill.unlabelled, data.rest_as_unlabelled): "
                    "each labelled training sample is drawn this many times per epoch, so "
                    "the few labels are not crowded out by many unlabelled sentences in a "
                    "fixed number of steps; 1: once, like every other sample.")


class TrainConfig(StrictModel):
    """cotpd's training keys (the documented defaults); any other field of transformers'
    TrainingArguments may be set here too (lr_scheduler_type, max_grad_norm, optim,
    save_total_limit, ...), checked by name when the config is read."""

    model_config = ConfigDict(**{**StrictModel.model_config, "extra": "allow"})

    learning_rate: float = Field(5e-5, gt=0.0,
                                 description="Peak learning rate of the encoder.")
    # ITA and PGIM train the new parameters far faster than the encoder.
    new_parameters_lr_multiplier: float = Field(
        1.0, gt=0.0,
        description="Parameters that are not the pretrained encoder (prompt generator, "
                    "head, CRF) train at learning_rate times this.")
    weight_decay: float = Field(0.01, description="AdamW weight decay.")
    epochs: float = Field(15.0, gt=0.0, description="Training epochs (may be fractional).")
    batch_size: int = Field(32, ge=1, description="Training sentences per device and step.")
    eval_batch_size: int = Field(
        64, ge=1, description="Sentences per batch when evaluating dev, and when the evaluate "
                              "stage predicts dev and test.")
    gradient_accumulation: int = Field(
        1, ge=1, description="Steps whose gradients are summed before an update.")
    warmup_ratio: float = Field(
        0.1, ge=0.0, lt=1.0,
        description="Fraction of the steps over which the learning rate rises linearly.")
    early_stopping_patience: int | None = Field(
        3, description="Dev evaluations without an F1 gain before training stops; None: "
                       "never stops early.")
    max_steps: int = Field(-1, description="> 0: stop after this many steps (smoke tests); "
                                           "-1: train every epoch.")
    eval_steps: int | None = Field(
        None, description="Evaluate dev every this many steps; None: once per epoch.")
    logging_steps: int = operational(10, description="Log the loss every this many steps.")
    group_by_length: bool = Field(
        True, description="Batch sentences of similar length (less padding); false: "
                          "random batches.")
    # `all` lets readers that split words further than the training data (transformers'
    # token-classification pipeline on an exported student) find the student's entities.
    subword_labels: Literal["auto", "first", "all"] = Field(
        "auto",
        description="Which sub-words of a word carry a training label: first, its first "
                    "sub-word only; all, every sub-word (the later ones as the word's I- "
                    "continuation); auto: all for students that export (text inference view, "
                    "softmax head), else first.")
    bf16: bool | Literal["auto"] = Field(
        "auto", description="bfloat16 mixed precision; auto: on when CUDA supports it.")
    gradient_checkpointing: bool | Literal["auto"] = Field(
        "auto", description="Recompute activations to save memory; auto: on with CUDA.")
    deepspeed: Path | None = Field(
        None, description="A DeepSpeed ZeRO JSON config, e.g. "
                          "configs/deepspeed/zero2.json; None: no DeepSpeed.")
    # A resumed training ends at the same weights; workers only prepare the same batches.
    resume: bool = operational(
        True, description="Continue from the last complete checkpoint in the output folder; "
                          "checkpoints of another training (other student settings, seed or "
                          "data) are refused, never resumed from.")
    num_workers: int = operational(0, description="Data-loader worker processes; 0: load in "
                                                  "the training process.")

    @model_validator(mode="after")
    def _extra_keys_are_training_arguments(self) -> TrainConfig:
        check_extra_keys(self.model_extra or {}, type(self).model_fields)
        return self


MarkerStyle = Literal["start_end", "start"]


class MreConfig(StrictModel):
    """Relation (MRE) students only: the entity markers, what the head pools, and the weights
    of the relation classes in the cross-entropy. MNER students refuse values other than
    these defaults."""

    markers: MarkerStyle = Field(
        "start_end",
        description="Markers put in the text: start_end, <h> head </h> ... <t> tail </t>; "
                    "start, only <h> and <t> before the head and the tail. The head reads the "
                    "<h> and <t> states either way.")
    pooling: Literal["markers", "cls_markers"] = Field(
        "markers",
        description="What the relation head classifies: markers, the <h> and <t> states "
                    "concatenated; cls_markers, [CLS], <h> and <t> concatenated.")
    class_weights: Literal["uniform", "inverse_frequency"] = Field(
        "uniform",
        description="Weights of the relations in the gold cross-entropy: uniform, all 1; "
                    "inverse_frequency, N / (C * n_c) from the training labels (relations "
                    "absent from training: 1). The KL terms are not weighted.")
    none_weight: float = Field(
        1.0, gt=0.0,
        description="Multiplies the weight of the no-relation class (none_label) on top of "
                    "class_weights; below 1 lowers the dominant class's share of the loss.")
    none_label: str = Field("None", description="The relation that means no relation.")

    @property
    def is_default(self) -> bool:
        return self == MreConfig()


class ContextFiles(StrictModel):
    """Captions and knowledge made elsewhere, read before any teacher has run."""

    captions: Path | None = Field(
        None, description="A captions file: `<imgid>.jpg :<caption>` lines or JSONL.")
    knowledge: list[Path] = Field(
        [], description="Knowledge files, JSONL {id or img_id, knowledge}, any number.")


class StudentConfig(StrictModel):
    """The student: encoder, variant, views, prompt, distillation and training."""

    encoder: Annotated[str, ModelPathMarker()] = Field(
        "embedded:minilm",
        description="The encoder: a local Hugging Face folder, or embedded:minilm (the "
                    "bundled MiniLM).")
    head: Literal["softmax", "crf"] = Field(
        "softmax", description="MNER head: a linear softmax per word, or a linear-chain CRF.")
    variant: str = Field(
        "cpd",
        description="A registered variant, what is trained and distilled: text, caption, "
                    "cot, mv, upd, prefix, cpd (conditional prompt distillation), two_stage, "
                    "two_stage_prompt.")
    infer_view: View | Literal["auto"] = Field(
        "auto", description="The view predictions read (text, caption, knowledge, prompt); "
                            "auto: the variant's inference view.")
    views: ViewConfig = Field(ViewConfig(), description="How inputs are laid out.")
    prompt: PromptConfig = Field(PromptConfig(), description="The prompt generator.")
    distill: DistillConfig = Field(DistillConfig(), description="The distillation loss.")
    train: TrainConfig = Field(TrainConfig(), description="Optimisation and training loop.")
    context: ContextFiles = Field(ContextFiles(),
                                  description="Captions and knowledge made elsewhere.")
    mre: MreConfig = added_later(
        MreConfig(), description="Relation (MRE) students only: markers, pooling, class "
                                 "weights.")
    trust_remote_code: bool = Field(
        False, description="Run Python code the encoder folder ships (its auto_map).")

    @field_validator("variant")
    @classmethod
    def _variant_is_registered(cls, name: str) -> str:
        if name not in VARIANTS:
            raise ValueError(VARIANTS.unknown_message(name))
        return name

    @model_validator(mode="after")
    def _prompt_view_needs_a_prompt(self) -> StudentConfig:
        if self.resolved_infer_view == "prompt" and self.prompt_kind == "none":
            raise ValueError(f"infer_view 'prompt' needs a variant with a prompt generator "
                             f"(upd, prefix, cpd); variant is {self.variant!r}")
        return self

    @model_validator(mode="after")
    def _distill_settings_fit_the_variant(self) -> StudentConfig:
        distill = self.distill
        if self.two_stage:
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
        if distill.unlabelled and self.distill_view is None and not self.two_stage:
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
        if d.labelled_repeats > 1:
            terms.append(f"(labelled samples x{d.labelled_repeats} per epoch beside the "
                         "unlabelled ones)")
        return " + ".join(terms)

    @property
    def spec(self) -> VariantSpec:
        """What the variant trains on, distils into and predicts from."""
        return VARIANTS.get(self.variant)

    @property
    def two_stage(self) -> bool:
        return self.spec.two_stage

    @property
    def train_view(self) -> View:
        return self.spec.train_view

    @property
    def distill_view(self) -> View | None:
        return self.spec.distill_view

    @property
    def prompt_kind(self) -> PromptKind:
        return self.spec.prompt_kind

    @property
    def resolved_subword_labels(self) -> Literal["first", "all"]:
        if self.train.subword_labels != "auto":
            return self.train.subword_labels
        exports = self.resolved_infer_view == "text" and self.head == "softmax"
        return "all" if exports else "first"

    @property
    def resolved_infer_view(self) -> View:
        return self.spec.infer_view if self.infer_view == "auto" else self.infer_view
