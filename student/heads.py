"""Output heads over word-level (MNER) or marker-level (MRE) encoder states."""

from __future__ import annotations

import torch
from cotpd.student.crf import LinearChainCRF
from torch import nn


class TokenHead(nn.Module):
    """Word-level emissions; with `crf`, a linear-chain CRF on top (marginals for the KL)."""

    def __init__(self, hidden: int, num_labels: int, crf: bool, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, num_labels)
        self.crf = LinearChainCRF(num_labels) if crf else None

    def forward(self, word_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(word_states))


class RelationHead(nn.Module):
    """A classifier over pooled marker states. The task gathers [CLS], <h> and <t> (B, 3, H);
    `markers` pooling concatenates <h> and <t>, `cls_markers` all three. `class_weights` (C,)
    weight the gold cross-entropy; they come from the training labels, so they are not saved
    with the weights (prediction does not read them)."""

    def __init__(self, hidden: int, num_labels: int, dropout: float,
                 pooling: str = "markers", class_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        parts = 3 if pooling == "cls_markers" else 2
        self.classifier = nn.Linear(parts * hidden, num_labels)
        self.register_buffer("class_weights", class_weights, persistent=False)

    def pool(self, states: torch.Tensor) -> torch.Tensor:
        """(B, 3, H) [CLS], <h>, <t> states -> (B, parts * H)."""
        chosen = states if self.pooling == "cls_markers" else states[:, 1:]
        return chosen.flatten(1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(states)))
