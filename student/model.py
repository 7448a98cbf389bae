"""The student: one encoder, a prompt generator and a head, and the CoTPD training loss.

Each batch carries the views the variant needs, as `<view>_input_ids`, `<view>_attention_mask`
and `<view>_word_index` (`<view>_markers` for MRE); `labels` are word-level (MNER, -100 on
padding) or one per sample (MRE). The loss is NLL on the training view plus alpha times the KL
from it to the distilled view over the text positions (DESIGN.md section 2).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel

from corpus.records import Task
from student import losses
from student.config import StudentConfig, View
from student.heads import RelationHead, TokenHead
from student.prompts import PrefixPrompt, build_prompt


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
        """Hidden states of a view, and the offset of text positions (N for the prompt view)."""
        source = "text" if view == "prompt" else view
        ids = batch[f"{source}_input_ids"]
        mask = batch[f"{source}_attention_mask"]
        if view != "prompt":
            return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state, 0
        embed = self.encoder.get_input_embeddings()(ids)
        prompt = self.prompt(embed, mask)
        n = prompt.size(1)
        inputs = torch.cat([embed[:, :1], prompt.to(embed.dtype), embed[:, 1:]], dim=1)
        full_mask = torch.cat([mask[:, :1], mask.new_ones(mask.size(0), n), mask[:, 1:]], dim=1)
        prefix = isinstance(self.prompt, PrefixPrompt)
        if prefix:
            self.prompt.active = True
        try:
            states = self.encoder(inputs_embeds=inputs, attention_mask=full_mask).last_hidden_state
        finally:
            if prefix:
                self.prompt.active = False
        return states, n

    def logits(self, batch: dict[str, torch.Tensor], view: View) -> torch.Tensor:
        """Word-level emissions (B, W, C) for MNER, relation logits (B, C) for MRE."""
        states, offset = self._encode(batch, view)
        source = "text" if view == "prompt" else view
        if self.task == "mner":
            index = batch[f"{source}_word_index"]
            index = torch.where(index > 0, index + offset, index)
            gathered = states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.size(-1)))
            return self.head(gathered)
        markers = batch[f"{source}_markers"] + offset
        gathered = states.gather(1, markers.unsqueeze(-1).expand(-1, -1, states.size(-1)))
        return self.head(gathered)

    # -- training ---------------------------------------------------------------------------
    def forward(self, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        labels = batch["labels"]
        config = self.student_config
        main = self.logits(batch, config.train_view)
        other = self.logits(batch, config.distill_view) if config.distill_view else None
        mask = labels.ne(-100) if self.task == "mner" else None
        crf = self.head.crf if isinstance(self.head, TokenHead) else None
        if crf is None:
            if other is None:
                nll = (losses.masked_nll(main, labels, mask) if mask is not None
                       else losses.sequence_nll(main, labels))
                return {"loss": nll, "nll": nll}
            parts = losses.distillation_loss(
                main, other, labels, mask, alpha=config.distill.alpha,
                temperature=config.distill.temperature,
                detach_teacher=config.distill.detach_knowledge,
                prompt_nll_weight=config.distill.prompt_nll_weight)
            return {"loss": parts.total, "nll": parts.nll, "kl": parts.kl}
        tags = labels.clamp(min=0)
        nll = crf.nll(main, tags, mask)
        result = {"loss": nll, "nll": nll}
        if other is not None:
            kl = losses.kl_from_probs(crf.marginals(main, mask), crf.marginals(other, mask), mask,
                                      detach_teacher=config.distill.detach_knowledge)
            extra = config.distill.prompt_nll_weight * crf.nll(other, tags, mask)
            result = {"loss": nll + config.distill.alpha * kl + extra, "nll": nll, "kl": kl}
        return result

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


def _encoder_layers(encoder: PreTrainedModel) -> nn.ModuleList:
    """The transformer layers of a BERT-style encoder (BERT, RoBERTa, XLM-R, MiniLM)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"prefix prompts need a BERT-style encoder with encoder.layer; "
                         f"{type(encoder).__name__} has none")
    return layers
