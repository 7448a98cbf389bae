"""A linear-chain CRF over word positions: the MNER output layer. Besides the NLL and Viterbi
decoding it gives posterior marginals, so the distillation KL (docs/architecture.md) can be
taken between the CRF distributions of the two views (see losses.kl_from_probs).

Masks are bool (B, W) and left-aligned (True then False); a row may be all False, and then
its likelihood and partition are 0 and its marginals are zeros.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LinearChainCRF(nn.Module):
    """Transition scores `transitions[i, j]` (tag i then tag j), plus start and end scores."""

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))

    def _prepare(self, emissions: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Check shapes; zero padded emissions so garbage there reaches no value or gradient."""
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ValueError(f"want emissions (B,W,{self.num_tags}), got {emissions.shape}")
        if mask.shape != emissions.shape[:2]:
            raise ValueError(f"mask {tuple(mask.shape)} != emissions {emissions.shape[:2]}")
        mask = mask.bool()
        return emissions.masked_fill(~mask.unsqueeze(-1), 0.0), mask

    def _forward_alphas(self, em: Tensor, mask: Tensor, scale: float = 1.0) -> Tensor:
        """alpha[b, t, j]: log-sum of scores of prefixes ending in tag j at position t (every
        transition score times `scale`; `em` comes scaled already)."""
        alpha = self.start_transitions * scale + em[:, 0]
        alphas = [alpha]
        transitions = self.transitions * scale
        for t in range(1, em.shape[1]):
            step = alpha.unsqueeze(2) + transitions + em[:, t].unsqueeze(1)
            alpha = torch.where(mask[:, t, None], torch.logsumexp(step, dim=1), alpha)
            alphas.append(alpha)
        return torch.stack(alphas, dim=1)

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log Z per sequence (B,), by the forward algorithm in log space."""
        em, mask = self._prepare(emissions, mask)
        if em.shape[1] == 0:
            return em.sum((1, 2))
        last = self._forward_alphas(em, mask)[:, -1]  # carried forward past each row's end
        log_z = torch.logsumexp(last + self.end_transitions, dim=-1)
        return torch.where(mask.any(1), log_z, torch.zeros_like(log_z))

    def _gold_score(self, em: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        tags = tags.masked_fill(~mask, 0)
        fmask = mask.to(em.dtype)
        emit = (em.gather(2, tags.unsqueeze(2)).squeeze(2) * fmask).sum(1)
        trans = (self.transitions[tags[:, :-1], tags[:, 1:]] * fmask[:, 1:]).sum(1)
        last_idx = (mask.sum(1) - 1).clamp_min(0)
        last_tag = tags.gather(1, last_idx.unsqueeze(1)).squeeze(1)
        edges = self.start_transitions[tags[:, 0]] + self.end_transitions[last_tag]
        return emit + trans + edges * fmask[:, 0]

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """log p(tags | emissions) per sequence (B,); 0 for empty rows."""
        if tags.shape != emissions.shape[:2]:
            raise ValueError(f"tags {tuple(tags.shape)} != emissions {emissions.shape[:2]}")
        em, bmask = self._prepare(emissions, mask)
        if em.shape[1] == 0:
            return em.sum((1, 2))
        return self._gold_score(em, tags, bmask) - self.log_partition(emissions, mask)

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Mean negative log-likelihood over non-empty sequences (0 with grad if none)."""
        ll = self.log_likelihood(emissions, tags, mask)
        ll = ll[mask.bool().any(1)]
        return -ll.sum() if ll.numel() == 0 else -ll.mean()

    def marginals(self, emissions: Tensor, mask: Tensor, temperature: float = 1.0) -> Tensor:
        """p(y_t = c | x) as (B,W,C) by forward-backward in log space; zeros where padded. At
        `temperature` T every score (emissions and transitions) is divided by T first, the
        CRF's counterpart of softmax(z / T) for distillation."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        scale = 1.0 / temperature
        em, mask = self._prepare(emissions * scale, mask)
        w = em.shape[1]
        if w == 0:
            return em
        alphas = self._forward_alphas(em, mask, scale)
        end = (self.end_transitions * scale).expand_as(em[:, 0])
        transitions = self.transitions * scale
        beta = end
        betas = [beta]
        for t in range(w - 2, -1, -1):
            step = transitions + (em[:, t + 1] + beta).unsqueeze(1)
            beta = torch.where(mask[:, t + 1, None], torch.logsumexp(step, dim=2), end)
            betas.append(beta)
        betas = torch.stack(betas[::-1], dim=1)
        probs = torch.softmax(alphas + betas, dim=-1)  # normalising per position = / Z
        return probs.masked_fill(~mask.unsqueeze(-1), 0.0)

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> list[list[int]]:
        """Viterbi best tag path per sequence; each path has one tag per True position."""
        em, mask = self._prepare(emissions, mask)
        lengths = mask.sum(1).tolist()
        if em.shape[1] == 0:
            return [[] for _ in lengths]
        score = self.start_transitions + em[:, 0]
        history = []
        for t in range(1, em.shape[1]):
            best, idx = (score.unsqueeze(2) + self.transitions).max(dim=1)
            score = torch.where(mask[:, t, None], best + em[:, t], score)
            history.append(idx)
        last = (score + self.end_transitions).argmax(-1).tolist()
        hist = torch.stack(history, 1).tolist() if history else []
        paths = []
        for b, length in enumerate(lengths):
            if length == 0:
                paths.append([])
                continue
            path = [last[b]]
            for t in range(length - 2, -1, -1):
                path.append(hist[b][t][path[-1]])
            paths.append(path[::-1])
        return paths
