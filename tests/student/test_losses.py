"""Properties of the student losses: KL zero on identical inputs and >= 0 otherwise, padded
positions ignored, Hinton T**2 scaling, detach, and agreement with torch's cross_entropy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from cotpd.student.losses import (
    DistillLossParts,
    distillation_loss,
    hidden_mse,
    kl_from_logits,
    kl_from_probs,
    masked_nll,
    sequence_nll,
)
from hypothesis import given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=30, deadline=None)


def _data(seed: int, b: int = 3, w: int = 5, c: int = 4) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(b, w, c, generator=g) * 3
    s = torch.randn(b, w, c, generator=g) * 3
    lengths = torch.randint(1, w + 1, (b,), generator=g)
    mask = torch.arange(w)[None, :] < lengths[:, None]
    labels = torch.randint(0, c, (b, w), generator=g).masked_fill(~mask, -100)
    return a, s, labels, mask


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0, 10.0])
@pytest.mark.parametrize("use_mask", [False, True])
def test_kl_zero_on_identical_inputs(temperature: float, use_mask: bool) -> None:
    a, _, _, mask = _data(0)
    m = mask if use_mask else None
    assert kl_from_logits(a, a.clone(), m, temperature).abs() < 1e-6
    p = torch.softmax(a, -1)
    assert kl_from_probs(p, p.clone(), m).abs() < 1e-6
    assert kl_from_logits(a[:, 0], a[:, 0].clone(), None, temperature).abs() < 1e-6


@FAST
@given(
    b=st.integers(1, 4),
    w=st.integers(1, 6),
    c=st.integers(2, 7),
    seed=st.integers(0, 2**31 - 1),
    temperature=st.floats(0.25, 8.0),
)
def test_kl_nonnegative(b: int, w: int, c: int, seed: int, temperature: float) -> None:
    a, s, _, mask = _data(seed, b, w, c)
    assert kl_from_logits(a, s, mask, temperature) >= -1e-6
    assert kl_from_logits(a, s, None, temperature) >= -1e-6
    assert kl_from_probs(torch.softmax(a, -1), torch.softmax(s, -1), mask) >= -1e-6
    sparse = torch.softmax(a * 50, -1)  # near-one-hot: exercises the eps clamp
    assert kl_from_probs(sparse, torch.softmax(s, -1), mask) >= -1e-6


def test_masked_positions_ignored() -> None:
    a, s, labels, mask = _data(1)
    mask[0, 2:] = False
    labels = labels.masked_fill(~mask, -100)
    kl, nll = kl_from_logits(a, s, mask, 2.0), masked_nll(a, labels, mask)
    pkl = kl_from_probs(torch.softmax(a, -1), torch.softmax(s, -1), mask)
    a2, s2 = a.clone(), s.clone()
    a2[~mask] = torch.randn(int((~mask).sum()), a.shape[-1]) * 100
    s2[~mask] = float("nan")
    labels2 = labels.clone()
    labels2[~mask] = 0  # a label at a padded position must not count either
    assert torch.equal(kl_from_logits(a2, s2, mask, 2.0), kl)
    assert torch.equal(masked_nll(a2, labels2, mask), nll)
    assert torch.equal(kl_from_probs(torch.softmax(a2, -1), torch.softmax(s2, -1), mask), pkl)


@pytest.mark.parametrize("temperature", [0.5, 2.0, 5.0])
def test_temperature_scaling(temperature: float) -> None:
    a, s, _, mask = _data(2)
    got = kl_from_logits(a, s, mask, temperature)
    want = temperature**2 * kl_from_logits(a / temperature, s / temperature, mask, 1.0)
    torch.testing.assert_close(got, want)


def test_large_temperature_unscaled_kl_vanishes() -> None:
    a, s, _, mask = _data(3)
    unscaled = [kl_from_logits(a, s, mask, t).item() / t**2 for t in (1.0, 10.0, 100.0, 1e4)]
    assert all(x > y for x, y in zip(unscaled, unscaled[1:], strict=False))
    assert unscaled[-1] < 1e-6


@pytest.mark.parametrize("detach", [True, False])
def test_detach_teacher(detach: bool) -> None:
    a, s, _, mask = _data(4)
    a.requires_grad_(True)
    s.requires_grad_(True)
    kl_from_logits(a, s, mask, 2.0, detach_teacher=detach).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert (a.grad is None) == detach
    p, q = torch.softmax(a.detach(), -1).requires_grad_(), torch.softmax(s.detach(), -1)
    q.requires_grad_(True)
    kl_from_probs(p, q, mask, detach_teacher=detach).backward()
    assert (p.grad is None) == detach and q.grad is not None


def test_kl_hand_computed() -> None:
    t = torch.tensor([[[0.0, math.log(3.0)]]])  # p = (1/4, 3/4)
    s = torch.zeros(1, 1, 2)  # q = (1/2, 1/2)
    want = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert kl_from_logits(t, s).item() == pytest.approx(want, abs=1e-6)
    assert kl_from_logits(t, s, torch.ones(1, 1, dtype=torch.bool)).item() == pytest.approx(
        want, abs=1e-6
    )
    pt, ps = torch.tensor([[[0.25, 0.75]]]), torch.tensor([[[0.5, 0.5]]])
    assert kl_from_probs(pt, ps).item() == pytest.approx(want, abs=1e-6)
    # T = 2: p = softmax((0, log 3)/2) = (1, sqrt 3)/(1 + sqrt 3), q uniform, times 4.
    p1 = 1 / (1 + math.sqrt(3))
    want2 = 4 * (p1 * math.log(p1 / 0.5) + (1 - p1) * math.log((1 - p1) / 0.5))
    assert kl_from_logits(t, s, temperature=2.0).item() == pytest.approx(want2, abs=1e-6)


def test_masked_nll_matches_cross_entropy() -> None:
    a, _, labels, mask = _data(5)
    labels[0, 0] = -100  # ignored even where mask is True
    want = F.cross_entropy(a.reshape(-1, a.shape[-1]), labels.reshape(-1), ignore_index=-100)
    torch.testing.assert_close(masked_nll(a, labels, mask), want)
    torch.testing.assert_close(masked_nll(a, labels, None), want)


def test_zero_positions_give_zero_with_grad() -> None:
    a, _, labels, mask = _data(6)
    a.requires_grad_(True)
    for loss in (
        masked_nll(a, labels, torch.zeros_like(mask)),
        masked_nll(a, torch.full_like(labels, -100), mask),
        sequence_nll(a[:, 0], torch.full((a.shape[0],), -100)),
        kl_from_logits(a.detach() + 1, a, torch.zeros_like(mask)),
    ):
        assert loss.item() == 0.0 and not torch.isnan(loss)
        loss.backward()
        assert a.grad is not None and torch.isfinite(a.grad).all()


def test_sequence_nll_matches_cross_entropy() -> None:
    a, _, labels, _ = _data(7)
    logits, gold = a[:, 0], labels[:, 0]
    torch.testing.assert_close(sequence_nll(logits, gold), F.cross_entropy(logits, gold))
    with pytest.raises(ValueError):
        sequence_nll(a, labels)


@pytest.mark.parametrize("token_level", [True, False])
@pytest.mark.parametrize(("alpha", "weight", "temperature"), [(0.7, 0.3, 2.0), (1.0, 0.0, 1.0)])
def test_distillation_loss_parts(
    token_level: bool, alpha: float, weight: float, temperature: float
) -> None:
    a, s, labels, mask = _data(8)
    if not token_level:
        a, s, labels, mask = a[:, 0], s[:, 0], labels[:, 0], None
    parts = distillation_loss(a, s, labels, mask, alpha, temperature, prompt_nll_weight=weight)
    assert isinstance(parts, DistillLossParts)
    want_total = parts.nll + alpha * parts.kl + weight * parts.prompt_nll
    torch.testing.assert_close(parts.total, want_total)
    torch.testing.assert_close(parts.kl, kl_from_logits(a, s, mask, temperature))
    if token_level:
        want_nll, want_prompt = masked_nll(a, labels, mask), masked_nll(s, labels, mask)
    else:
        want_nll, want_prompt = sequence_nll(a, labels), sequence_nll(s, labels)
    torch.testing.assert_close(parts.nll, want_nll)
    torch.testing.assert_close(parts.prompt_nll, want_prompt)
    only_nll = distillation_loss(a, s, labels, mask, alpha=0.0)
    torch.testing.assert_close(only_nll.total, only_nll.nll)
    same = distillation_loss(a, a.clone(), labels, mask, alpha, temperature)
    assert same.kl.abs() < 1e-6


def test_distillation_trains_both_views_by_default() -> None:
    a, s, labels, mask = _data(9)
    a.requires_grad_(True)
    s.requires_grad_(True)
    distillation_loss(a, s, labels, mask, alpha=1.0).kl.backward()
    for grad in (a.grad, s.grad):  # both views learn, at real tokens only
        assert grad is not None and torch.isfinite(grad).all()
        assert (grad[mask].abs().sum(-1) > 0).all()
        assert (grad[~mask] == 0).all()


def test_shape_errors() -> None:
    a, s, labels, mask = _data(10)
    with pytest.raises(ValueError):
        kl_from_logits(a, s[:, :-1])
    with pytest.raises(ValueError):
        kl_from_logits(a, s, mask[:, :-1])
    with pytest.raises(ValueError):
        kl_from_logits(a, s, temperature=0.0)


@FAST
@given(seed=st.integers(0, 10_000), h=st.integers(1, 6))
def test_hidden_mse_is_zero_on_equal_states_and_positive_otherwise(seed: int, h: int) -> None:
    g = torch.Generator().manual_seed(seed)
    _, _, _, mask = _data(seed)
    a = torch.randn(*mask.shape, h, generator=g)
    assert hidden_mse(a, a.clone(), mask).item() == 0.0
    b = a + torch.randn(*mask.shape, h, generator=g)
    assert hidden_mse(a, b, mask).item() > 0.0


def test_hidden_mse_ignores_padding_and_detaches_the_teacher() -> None:
    _, _, _, mask = _data(3)
    teacher = torch.randn(*mask.shape, 4, requires_grad=True)
    student = torch.randn(*mask.shape, 4, requires_grad=True)
    poisoned = student.detach().clone().masked_fill(~mask.unsqueeze(-1), float("nan"))
    poisoned.requires_grad_(True)
    value = hidden_mse(teacher, poisoned, mask)
    expected = ((student[mask] - teacher[mask]) ** 2).mean()
    assert torch.allclose(value, expected)
    value.backward()
    assert teacher.grad is None  # the knowledge side only teaches
    assert torch.all(poisoned.grad[~mask] == 0) and poisoned.grad[mask].abs().sum() > 0
    empty = torch.zeros_like(mask)
    assert hidden_mse(teacher, student, empty).item() == 0.0
