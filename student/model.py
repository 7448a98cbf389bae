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
from cotpd.student.config import StudentConfig, View
from cotpd.student.prompts import PrefixPrompt, build_prompt
from cotpd.student.tasks import student_task
from torch import nn
from transformers import PreTrainedModel


class StudentModel(nn.Module):
    def __init__(self, encoder: PreTrainedModel, config: StudentConfig, task: Task,
                 num_labels: int, class_weights: list[float] | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        # The HF Trainer and its DeepSpeed integration read sizes from `model.config`.
        self.config = encoder.config
        self.student_config = config
        self.task = task
        self.parts = student_task(task)
        hidden = encoder.config.hidden_size
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        layers = _encoder_layers(encoder) if config.prompt_kind == "prefix" else None
        self.prompt = build_prompt(config.prompt_kind, hidden, config.prompt,
                                   len(layers) if layers is not None else 0)
        if isinstance(self.prompt, PrefixPrompt):
            self.prompt.attach(layers)
        weights = torch.tensor(class_weights) if class_weights is not None else None
        self.head: nn.Module = self.parts.make_head(hidden, num_labels, config, dropout,
                                                    weights)

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
        """Last hidden states at each word's first sub-word (B, W, H) for MNER, at [CLS] and
        the two opening markers (B, 3, H) for MRE."""
        states, offset = self._encode(batch, view)
        source = "text" if view == "prompt" else view
        index = self.parts.positions(batch, source, offset)
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
        teaches = config.distill_view is not None
        with _dropout_off(self.encoder, self.head,
                          active=teaches and not distill.knowledge_dropout):
            main_states = self.word_states(batch, config.train_view)
            main = self.head(main_states)
        other_states = self.word_states(batch, config.distill_view) if teaches else None
        other = self.head(other_states) if other_states is not None else None
        return self.parts.loss(self.head, config, main, other, main_states, other_states,
                               batch)

    # -- inference --------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], view: View) -> torch.Tensor:
        """Label ids: (B, W) padded with -100 for MNER, (B,) for MRE."""
        logits = self.logits(batch, view)
        word_mask = batch[f"{'text' if view == 'prompt' else view}_word_mask"]
        return self.parts.decode(self.head, logits, word_mask)


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
