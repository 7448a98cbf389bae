"""Losses for the student: gold NLL on the knowledge view and the KL that distils it into the
prompt view (docs/architecture.md). Pure functions, batch-first, no module state.

Shapes: B batch, W word positions, C classes; `mask` is bool (B, W), True at real words.
Positions are *selected* with the mask rather than multiplied by it, so garbage (even inf or
NaN) at padded positions never reaches the value or the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from cotpd.student.crf import LinearChainCRF

IGNORE_INDEX = -100


def _select(x: Tensor, mask: Tensor | None, num_classes: int) -> Tensor:
    """Rows of x (..., C) at True mask positions, flattened to (N, C)."""
    if mask is None:
        return x.reshape(-1, num_classes)
    if mask.shape != x.shape[:-1]:
        raise ValueError(f"mask shape {tuple(mask.shape)} != logits shape {tuple(x.shape[:-1])}")
    return x[mask.bool()]


def _ce_mean(logits: Tensor, labels: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean cross-entropy over rows whose label is not IGNORE_INDEX; 0 (with grad) if none.
    With class `weight` (C,), the weighted mean: sum w[y] * ce / sum w[y]."""
    keep = labels != IGNORE_INDEX
    logits, labels = logits[keep], labels[keep]
    if labels.numel() == 0:
        return logits.sum() * 0.0  # empty sum: an exact 0 that still has a grad path
    if weight is not None:
        weight = weight.to(device=logits.device, dtype=logits.dtype)
    return F.cross_entropy(logits, labels, weight=weight)


def masked_nll(logits: Tensor, labels: Tensor, mask: Tensor | None) -> Tensor:
    """Mean token cross-entropy over real positions (mask True, label != -100)."""
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(f"want logits (B,W,C), labels (B,W); got {logits.shape}, {labels.shape}")
    c = logits.shape[-1]
    sel_labels = labels.reshape(-1) if mask is None else labels[mask.bool()]
    return _ce_mean(_select(logits, mask, c), sel_labels)


def sequence_nll(logits: Tensor, labels: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean cross-entropy for sentence-level tasks (MRE); labels -100 are ignored; `weight`
    (C,) weights the classes (the weighted mean over the batch)."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"want logits (B,C), labels (B,); got {logits.shape}, {labels.shape}")
    return _ce_mean(logits, labels, weight)


def _kl_rows(teacher_logp: Tensor, student_logp: Tensor) -> Tensor:
    """Mean over rows of KL(teacher || student), both given as log-probabilities (N, C)."""
    kl = F.kl_div(student_logp, teacher_logp, log_target=True, reduction="none").sum(-1)
    return kl.sum() if kl.numel() == 0 else kl.mean()


def _check_pair(teacher: Tensor, student: Tensor, temperature: float) -> None:
    if teacher.shape != student.shape:
        raise ValueError(f"teacher {tuple(teacher.shape)} != student {tuple(student.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def _paired_rows(teacher: Tensor, student: Tensor, mask: Tensor | None, detach_teacher: bool,
                 temperature: float = 1.0) -> tuple[Tensor, Tensor]:
    """The two sides' rows at real positions, (N, C) each; the teacher's detached if asked."""
    _check_pair(teacher, student, temperature)
    c = teacher.shape[-1]
    t = _select(teacher, mask, c)
    s = _select(student, mask, c)
    return (t.detach() if detach_teacher else t), s


def kl_from_logits(
    teacher_logits: Tensor,
    student_logits: Tensor,
    mask: Tensor | None = None,
    temperature: float = 1.0,
    detach_teacher: bool = True,
) -> Tensor:
    """KL(softmax(t/T) || softmax(s/T)) averaged over real positions, times T**2 so the
    gradient keeps its size across temperatures (Hinton et al.)."""
    t, s = _paired_rows(teacher_logits, student_logits, mask, detach_teacher, temperature)
    t_logp = F.log_softmax(t / temperature, dim=-1)
    s_logp = F.log_softmax(s / temperature, dim=-1)
    return _kl_rows(t_logp, s_logp) * temperature**2


def kl_from_probs(
    teacher_probs: Tensor,
    student_probs: Tensor,
    mask: Tensor | None = None,
    eps: float = 1e-8,
    detach_teacher: bool = True,
) -> Tensor:
    """KL(teacher || student) for given distributions (e.g. CRF marginals). Both are clamped
    at eps and renormalised, so zeros give no inf and the result stays a true KL (>= 0)."""
    t, s = _paired_rows(teacher_probs, student_probs, mask, detach_teacher)

    def log_norm(p: Tensor) -> Tensor:
        p = p.clamp_min(eps)
        return p.log() - p.sum(-1, keepdim=True).log()

    return _kl_rows(log_norm(t), log_norm(s))


def hidden_mse(teacher_states: Tensor, student_states: Tensor, mask: Tensor | None,
               detach_teacher: bool = True) -> Tensor:
    """Mean squared difference between two views' hidden states (B, W, H) at real positions,
    averaged over positions and dimensions; the teacher side is detached by default."""
    t, s = _paired_rows(teacher_states, student_states, mask, detach_teacher)
    if t.numel() == 0:
        return s.sum() * 0.0
    return F.mse_loss(s, t)


@dataclass(frozen=True)
class DistillLossParts:
    """The total loss and its parts, kept apart for logging."""

    total: Tensor
    nll: Tensor
    kl: Tensor
    prompt_nll: Tensor


def distillation_loss(
    knowledge_logits: Tensor,
    other_logits: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    alpha: float,
    temperature: float = 1.0,
    detach_teacher: bool = False,
    prompt_nll_weight: float = 0.0,
    class_weights: Tensor | None = None,
) -> DistillLossParts:
    """NLL(gold | knowledge view) + alpha * KL(knowledge || other) + w * NLL(gold | other).

    (B,W,C) logits with a (B,W) mask for MNER, or (B,C) with mask None for MRE. The teacher
    is not detached by default: both views share one encoder and the KL trains both.
    `class_weights` (C,) weight the two sequence NLLs (MRE), never the KL.
    """
    if knowledge_logits.dim() == 3:
        nll = masked_nll(knowledge_logits, labels, mask)
        prompt_nll = masked_nll(other_logits, labels, mask)
    elif knowledge_logits.dim() == 2:
        nll = sequence_nll(knowledge_logits, labels, class_weights)
        prompt_nll = sequence_nll(other_logits, labels, class_weights)
    else:
        raise ValueError(f"want (B,W,C) or (B,C) logits, got {tuple(knowledge_logits.shape)}")
    kl = kl_from_logits(knowledge_logits, other_logits, mask, temperature, detach_teacher)
    total = nll + alpha * kl + prompt_nll_weight * prompt_nll
    return DistillLossParts(total=total, nll=nll, kl=kl, prompt_nll=prompt_nll)


# -- word-level losses, through a CRF head's marginals when it has one --------------------
def token_nll(crf: LinearChainCRF | None, emissions: Tensor, labels: Tensor,
              words: Tensor) -> Tensor:
    """Gold NLL over labelled words; sentences without gold labels (all -100) add nothing."""
    if crf is None:
        return masked_nll(emissions, labels, words)
    labelled = labels.ne(-100).any(-1)
    if not labelled.any():
        return emissions.sum() * 0.0
    return crf.nll(emissions[labelled], labels[labelled].clamp(min=0), words[labelled])


def token_kl(crf: LinearChainCRF | None, teacher: Tensor, student: Tensor,
             words: Tensor, temperature: float, detach: bool) -> Tensor:
    if crf is None:
        return kl_from_logits(teacher, student, words, temperature, detach)
    # Marginals of the CRF with every score / T, times T**2 like the softmax KL.
    return kl_from_probs(crf.marginals(teacher, words, temperature),
                         crf.marginals(student, words, temperature),
                         words, detach_teacher=detach) * temperature**2


def cached_token_kl(crf: LinearChainCRF | None, teacher_logprobs: Tensor,
                    student: Tensor, words: Tensor, taught: Tensor,
                    temperature: float) -> Tensor:
    """KL to cached teacher log-probabilities at the words the teacher scored."""
    teacher_logprobs = teacher_logprobs.to(student.dtype)
    if crf is None:
        # softmax(log p / T) == softmax(z / T) for the teacher's logits z: caching log-probs
        # loses nothing for any temperature.
        return kl_from_logits(teacher_logprobs, student, taught, temperature)
    # Cached marginals softened as softmax(log p / T), the student's CRF at the same T.
    softened = F.softmax(teacher_logprobs / temperature, dim=-1)
    return kl_from_probs(softened, crf.marginals(student, words, temperature),
                         taught) * temperature**2
