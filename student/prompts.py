"""Prompt generators for the prompt view [x; p] (docs/architecture.md).

conditional    N learnable queries attend to the text embeddings through a transformer
               decoder: p = softmax((q Wq)(x Wk)^T / sqrt(d)) x Wv  (the paper's Eq. 1)
unconditional  p = q, the same N vectors for every input (UPD)
prefix         deep prefix tuning: N learnable states per encoder layer, so every layer's
               keys and values see a learned prefix (PrefixD)

The model inserts p right after the first ([CLS]) token, or right after each row's text
(`prompt.position: after_text`); either way text positions do not depend on batch padding.
"""

from __future__ import annotations

import torch
from cotpd.student.config import PromptConfig, PromptKind
from torch import nn


class ConditionalPrompt(nn.Module):
    def __init__(self, hidden: int, config: PromptConfig) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(config.num_queries, hidden) * 0.02)
        layer = nn.TransformerDecoderLayer(hidden, config.decoder_heads, 4 * hidden,
                                           config.dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, config.decoder_layers)

    def forward(self, text_embeddings: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        queries = self.queries.unsqueeze(0).expand(text_embeddings.size(0), -1, -1)
        return self.decoder(queries, text_embeddings, memory_key_padding_mask=~text_mask.bool())


class UnconditionalPrompt(nn.Module):
    def __init__(self, hidden: int, config: PromptConfig) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(config.num_queries, hidden) * 0.02)

    def forward(self, text_embeddings: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        return self.queries.unsqueeze(0).expand(text_embeddings.size(0), -1, -1)


class PrefixPrompt(nn.Module):
    """Per-layer prefix states, written into the prefix positions before each layer runs."""

    def __init__(self, hidden: int, config: PromptConfig, num_layers: int) -> None:
        super().__init__()
        self.states = nn.Parameter(torch.randn(num_layers, config.num_queries, hidden) * 0.02)
        self.active = False
        # (B, N) positions of the prefix in the current batch; None: 1..N, right after [CLS].
        self.positions: torch.Tensor | None = None

    def forward(self, text_embeddings: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        # Placeholders: the hooks overwrite them with the layer's states before each layer.
        batch, n = text_embeddings.size(0), self.states.size(1)
        return text_embeddings.new_zeros(batch, n, text_embeddings.size(-1))

    def attach(self, layers: nn.ModuleList) -> None:
        """Hook every encoder layer: while active, positions 1..N take the layer's prefix."""
        if len(layers) != self.states.size(0):
            raise ValueError(f"prefix has {self.states.size(0)} layers, encoder {len(layers)}")
        for index, layer in enumerate(layers):
            layer.register_forward_pre_hook(self._hook(index), with_kwargs=True)

    def _hook(self, index: int):
        def replace(module: nn.Module, args: tuple, kwargs: dict):
            if not self.active:
                return None
            hidden = args[0] if args else kwargs["hidden_states"]
            batch, n = hidden.size(0), self.states.size(1)
            prefix = self.states[index].unsqueeze(0).expand(batch, -1, -1).to(hidden.dtype)
            where = self.positions
            if where is None:
                where = torch.arange(1, n + 1, device=hidden.device).expand(batch, -1)
            where = where.unsqueeze(-1).expand(-1, -1, hidden.size(-1))
            hidden = hidden.scatter(1, where, prefix)
            if args:
                return (hidden, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": hidden}
        return replace


def build_prompt(kind: PromptKind, hidden: int, config: PromptConfig,
                 num_layers: int) -> nn.Module | None:
    if kind == "conditional":
        return ConditionalPrompt(hidden, config)
    if kind == "unconditional":
        return UnconditionalPrompt(hidden, config)
    if kind == "prefix":
        return PrefixPrompt(hidden, config, num_layers)
    return None
