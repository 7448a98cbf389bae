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
    """A classifier over the states of the <h> and <t> markers, concatenated."""

    def __init__(self, hidden: int, num_labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, num_labels)

    def forward(self, marker_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(marker_states.flatten(1)))
