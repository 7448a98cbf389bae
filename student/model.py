"""The student: one encoder, a prompt generator and a head, and the CoTPD training loss.

Each batch carries the views the variant needs, as `<view>_input_ids`, `<view>_attention_mask`
and `<view>_word_index` (`<view>_markers` for MRE); `labels` are word-level (MNER, -100 on
padding) or one per sample (MRE). The loss is NLL on the training view plus alpha times the KL
from it to the distilled view over the text positions (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from cotpd.corpus.records import Task
from cotpd.student import losses
from cotpd.student.config import StudentConfig, View
from cotpd.student.crf import LinearChainCRF
from cotpd.student.heads import RelationHead, TokenHead
from cotpd.student.prompts import PrefixPrompt, build_prompt
from torch import nn
from transformers import PreTrainedModel


class StudentModel(nn.Module):
    def __init__(self, encoder: PreTrainedModel, config: StudentConfig, task: Task,
                 num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        # The HF Trainer and its DeepSpeed integration read sizes from `model.config`.
        self.config = encoder.config
        self.student_config = config
        self.task = task
        hidden = encoder.config.hidden_size
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        layers = _encoder_layers(encoder) if config.prompt_kind == "prefix" else None
        self.prompt = build_prompt(config.prompt_kind, hidden, config.prompt,
                                   len(layers) if layers is not None else 0)
        if isinstance(self.prompt, PrefixPrompt):
            self.prompt.attach(layers)
        if task == "mner":
            self.head: nn.Module = TokenHead(hidden, num_labels, config.head == "crf", dropout)
        else:
            self.head = RelationHead(hidden, num_labels, dropout)

    # -- encoding ---------------------------------------------------------------------------
    def _encode(self, batch: dict[str, torch.Tensor], view: View) -> tuple[torch.Tensor, int]:
        """Hidden states of a view, and the offset of text positions (N for a prompt placed
        after [CLS], 0 for one placed after the text)."""
        source = "text" if view == "prompt" else view
        ids = batch[f"{source}_input_ids"]
        mask = batch[f"{source}_attention_mask"]
        if view != "prompt":
            return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state, 0
        embed = self.encoder.get_input_embeddings()(ids)
        prompt = self.prompt(embed, mask).to(embed.dtype)
        n = prompt.size(1)
        if self.student_config.prompt.position == "after_text":
            inputs, full_mask = _insert_after_text(embed, mask, prompt)
            offset = 0
        else:
            inputs = torch.cat([embed[:, :1], prompt, embed[:, 1:]], dim=1)
            full_mask = torch.cat([mask[:, :1], mask.new_ones(mask.size(0), n), mask[:, 1:]],
                                  dim=1)
            offset = n
        prefix = isinstance(self.prompt, PrefixPrompt)
        if prefix:
            self.prompt.active = True
            start = mask.sum(1, keepdim=True) if offset == 0 else torch.ones_like(mask[:, :1])
            self.prompt.positions = start + torch.arange(n, device=mask.device)
        try:
            states = self.encoder(inputs_embeds=inputs, attention_mask=full_mask).last_hidden_state
        finally:
            if prefix:
                self.prompt.active = False
                self.prompt.positions = None
        return states, offset

    def word_states(self, batch: dict[str, torch.Tensor], view: View) -> torch.Tensor:
        """Last hidden states at each word's first sub-word (B, W, H) for MNER, at the two
        opening markers (B, 2, H) for MRE."""
        states, offset = self._encode(batch, view)
        source = "text" if view == "prompt" else view
        if self.task == "mner":
            index = batch[f"{source}_word_index"]
            index = torch.where(index > 0, index + offset, index)
        else:
            index = batch[f"{source}_markers"] + offset
        return states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.size(-1)))

    def logits(self, batch: dict[str, torch.Tensor], view: View) -> torch.Tensor:
        """Word-level emissions (B, W, C) for MNER, relation logits (B, C) for MRE."""
        return self.head(self.word_states(batch, view))

    # -- training ---------------------------------------------------------------------------
    def forward(self, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss and its parts: `nll` on the trained view, `kl` to it (or to the cached
        teacher), `prompt_nll` on the distilled view, `hidden` between the views' states."""
        config = self.student_config
        distill = config.distill
        labels = batch["labels"]
        teaches = config.distill_view is not None
        with _dropout_off(self.encoder, self.head,
                          active=teaches and not distill.knowledge_dropout):
            main_states = self.word_states(batch, config.train_view)
            main = self.head(main_states)
        other_states = self.word_states(batch, config.distill_view) if teaches else None
        other = self.head(other_states) if other_states is not None else None
        if self.task == "mre":
            return self._mre_loss(main, other, labels, batch)
        source = "text" if config.train_view == "prompt" else config.train_view
        words = batch[f"{source}_word_mask"].bool()  # every word, labelled or not
        crf = self.head.crf if isinstance(self.head, TokenHead) else None
        parts = {"nll": _token_nll(crf, main, labels, words)}
        if other is not None:
            parts["kl"] = _token_kl(crf, main, other, words, distill.temperature,
                                    distill.detach_knowledge)
            parts["prompt_nll"] = _token_nll(crf, other, labels, words)
            if distill.hidden_weight:
                parts["hidden"] = losses.hidden_mse(main_states, other_states, words)
        elif "teacher_logprobs" in batch:
            taught = words & batch["teacher_mask"].bool()
            parts["kl"] = _cached_kl(crf, batch["teacher_logprobs"], main, words, taught,
                                     distill.temperature)
        weights = {"nll": 1.0, "kl": distill.alpha, "prompt_nll": distill.prompt_nll_weight,
                   "hidden": distill.hidden_weight}
        total = sum(weights[name] * value for name, value in parts.items())
        return {"loss": total, **parts}

    def _mre_loss(self, main: torch.Tensor, other: torch.Tensor | None,
                  labels: torch.Tensor, batch: dict[str, torch.Tensor]
                  ) -> dict[str, torch.Tensor]:
        distill = self.student_config.distill
        if other is None:
            nll = losses.sequence_nll(main, labels)
            if "teacher_logprobs" not in batch:
                return {"loss": nll, "nll": nll}
            kl = losses.kl_from_logits(batch["teacher_logprobs"].to(main.dtype), main,
                                       batch["teacher_mask"].bool(), distill.temperature)
            return {"loss": nll + distill.alpha * kl, "nll": nll, "kl": kl}
        parts = losses.distillation_loss(
            main, other, labels, None, alpha=distill.alpha, temperature=distill.temperature,
            detach_teacher=distill.detach_knowledge, prompt_nll_weight=distill.prompt_nll_weight)
        return {"loss": parts.total, "nll": parts.nll, "kl": parts.kl,
                "prompt_nll": parts.prompt_nll}

    # -- inference --------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], view: View) -> torch.Tensor:
        """Label ids: (B, W) padded with -100 for MNER, (B,) for MRE."""
        logits = self.logits(batch, view)
        if self.task == "mre":
            return logits.argmax(-1)
        mask = batch[f"{'text' if view == 'prompt' else view}_word_mask"].bool()
        crf = self.head.crf if isinstance(self.head, TokenHead) else None
        if crf is None:
            return logits.argmax(-1).masked_fill(~mask, -100)
        out = torch.full(mask.shape, -100, dtype=torch.long, device=mask.device)
        for row, path in enumerate(crf.decode(logits, mask)):
            out[row, : len(path)] = torch.tensor(path, device=mask.device)
        return out


def _token_nll(crf: LinearChainCRF | None, emissions: torch.Tensor, labels: torch.Tensor,
               words: torch.Tensor) -> torch.Tensor:
    """Gold NLL over labelled words; sentences without gold labels (all -100) add nothing."""
    if crf is None:
        return losses.masked_nll(emissions, labels, words)
    labelled = labels.ne(-100).any(-1)
    if not labelled.any():
        return emissions.sum() * 0.0
    return crf.nll(emissions[labelled], labels[labelled].clamp(min=0), words[labelled])


def _token_kl(crf: LinearChainCRF | None, teacher: torch.Tensor, student: torch.Tensor,
              words: torch.Tensor, temperature: float, detach: bool) -> torch.Tensor:
    if crf is None:
        return losses.kl_from_logits(teacher, student, words, temperature, detach)
    # Marginals of the CRF with every score / T, times T**2 like the softmax KL.
    return losses.kl_from_probs(crf.marginals(teacher, words, temperature),
                                crf.marginals(student, words, temperature),
                                words, detach_teacher=detach) * temperature**2


def _cached_kl(crf: LinearChainCRF | None, teacher_logprobs: torch.Tensor,
               student: torch.Tensor, words: torch.Tensor, taught: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """KL to cached teacher log-probabilities at the words the teacher scored."""
    teacher_logprobs = teacher_logprobs.to(student.dtype)
    if crf is None:
        # softmax(log p / T) == softmax(z / T) for the teacher's logits z: caching log-probs
        # loses nothing for any temperature.
        return losses.kl_from_logits(teacher_logprobs, student, taught, temperature)
    # Cached marginals softened as softmax(log p / T), the student's CRF at the same T.
    softened = torch.softmax(teacher_logprobs / temperature, dim=-1)
    return losses.kl_from_probs(softened, crf.marginals(student, words, temperature),
                                taught) * temperature**2


def _insert_after_text(embed: torch.Tensor, mask: torch.Tensor, prompt: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] x [SEP] p [PAD]...: each row's prompt goes right after its own last real token,
    before the padding, so text positions are those of the plain text view."""
    batch, length, n = embed.size(0), embed.size(1), prompt.size(1)
    real = mask.sum(1, keepdim=True)  # (B, 1)
    position = torch.arange(length + n, device=embed.device).unsqueeze(0)
    # New position j reads: j (text), length + (j - real) (prompt), j - n (padding).
    source = torch.where(position < real, position,
                         torch.where(position < real + n, length + position - real, position - n))
    joined = torch.cat([embed, prompt], dim=1)
    joined_mask = torch.cat([mask, mask.new_ones(batch, n)], dim=1)
    inputs = joined.gather(1, source.unsqueeze(-1).expand(-1, -1, embed.size(-1)))
    return inputs, joined_mask.gather(1, source)


@contextmanager
def _dropout_off(*modules: nn.Module, active: bool = True) -> Iterator[None]:
    """Run a forward pass in eval mode (no dropout), keeping gradients."""
    if not active:
        yield
        return
    states = [(m, m.training) for module in modules for m in module.modules()]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for m, training in states:
            m.training = training


def _encoder_layers(encoder: PreTrainedModel) -> nn.ModuleList:
    """The transformer layers of a BERT-style encoder (BERT, RoBERTa, XLM-R, MiniLM)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"prefix prompts need a BERT-style encoder with encoder.layer; "
                         f"{type(encoder).__name__} has none")
    return layers
