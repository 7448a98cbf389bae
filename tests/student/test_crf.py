"""LinearChainCRF against brute-force enumeration of every tag path on tiny sizes, plus the
properties the distillation relies on (normalised, differentiable marginals)."""

from __future__ import annotations

import itertools

import pytest
import torch
from cotpd.student.crf import LinearChainCRF
from hypothesis import given, settings
from hypothesis import strategies as st

C = 3


def _crf(seed: int, scale: float = 1.0) -> LinearChainCRF:
    torch.manual_seed(seed)
    crf = LinearChainCRF(C)
    with torch.no_grad():  # larger than the init so the transitions matter in the checks
        for p in crf.parameters():
            p.mul_(10 * scale)
    return crf


def _case(seed: int, lengths: list[int], w: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    emissions = torch.randn(len(lengths), w, C, generator=g, dtype=torch.float64)
    mask = torch.arange(w)[None, :] < torch.tensor(lengths)[:, None]
    return emissions, mask


def _path_score(crf: LinearChainCRF, em: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    s = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    s = s + sum(em[t, y] for t, y in enumerate(path))
    return s + sum(crf.transitions[a, b] for a, b in itertools.pairwise(path))


def _brute(crf: LinearChainCRF, em: torch.Tensor, length: int) -> tuple:
    """log Z, marginals (length, C) and the best path of one sequence, by enumeration."""
    paths = list(itertools.product(range(C), repeat=length))
    scores = torch.stack([_path_score(crf, em, p) for p in paths])
    log_z = torch.logsumexp(scores, 0)
    probs = torch.exp(scores - log_z)
    marg = torch.zeros(length, C, dtype=em.dtype)
    for p, pr in zip(paths, probs, strict=True):
        for t, y in enumerate(p):
            marg[t, y] += pr
    return log_z, marg, list(paths[int(scores.argmax())]), scores, paths


LENGTHS = [[4, 2], [1, 3], [3, 3], [4, 1]]


@pytest.mark.parametrize("lengths", LENGTHS)
def test_against_brute_force(lengths: list[int]) -> None:
    crf = _crf(sum(lengths)).double()
    em, mask = _case(len(lengths) + 7 * lengths[0] + lengths[1], lengths)
    log_z = crf.log_partition(em, mask)
    marg = crf.marginals(em, mask)
    best = crf.decode(em, mask)
    tags = torch.randint(0, C, mask.shape).masked_fill(~mask, -100)
    ll = crf.log_likelihood(em, tags, mask)
    for b, length in enumerate(lengths):
        want_z, want_marg, want_best, scores, paths = _brute(crf, em[b], length)
        torch.testing.assert_close(log_z[b], want_z)
        torch.testing.assert_close(marg[b, :length], want_marg)
        assert best[b] == want_best
        gold = paths.index(tuple(tags[b, :length].tolist()))
        torch.testing.assert_close(ll[b], scores[gold] - want_z)


def test_empty_rows() -> None:
    crf = _crf(0)
    em, mask = _case(0, [3, 0])
    em = em.float().requires_grad_(True)
    tags = torch.zeros(mask.shape, dtype=torch.long)
    assert crf.log_partition(em, mask)[1] == 0
    assert crf.log_likelihood(em, tags, mask)[1] == 0
    assert crf.decode(em, mask)[1] == []
    assert crf.marginals(em, mask)[1].abs().sum() == 0
    only_first = crf.nll(em[:1], tags[:1], mask[:1])
    torch.testing.assert_close(crf.nll(em, tags, mask), only_first)
    none = crf.nll(em, tags, torch.zeros_like(mask))
    assert none.item() == 0.0
    none.backward()


def test_marginals_normalised_and_zero_when_padded() -> None:
    crf = _crf(1)
    em, mask = _case(1, [4, 2, 1, 3], w=6)
    em[~mask] = float("nan")  # garbage at padded positions reaches nothing
    marg = crf.marginals(em.float(), mask)
    assert torch.isfinite(marg).all()
    torch.testing.assert_close(marg.sum(-1)[mask], torch.ones(int(mask.sum())))
    assert (marg[~mask] == 0).all()


def test_gradients_flow_and_nll_nonnegative() -> None:
    crf = _crf(2)
    em, mask = _case(2, [4, 2, 3])
    em = em.float().requires_grad_(True)
    tags = torch.randint(0, C, mask.shape).masked_fill(~mask, -100)
    loss = crf.nll(em, tags, mask)
    assert loss.item() >= 0
    loss.backward()
    for p in (em, *crf.parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert (em.grad[~mask] == 0).all()
    em.grad = None
    crf.marginals(em, mask)[mask][:, 0].sum().backward()
    assert em.grad is not None and em.grad.abs().sum() > 0


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 3),
    w=st.integers(1, 6),
    c=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_zero_transitions_give_softmax(b: int, w: int, c: int, seed: int) -> None:
    crf = LinearChainCRF(c)
    for p in crf.parameters():
        torch.nn.init.zeros_(p)
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(b, w, c, generator=g) * 4
    lengths = torch.randint(0, w + 1, (b,), generator=g)
    mask = torch.arange(w)[None, :] < lengths[:, None]
    want = torch.softmax(em, -1).masked_fill(~mask.unsqueeze(-1), 0.0)
    torch.testing.assert_close(crf.marginals(em, mask), want, atol=1e-5, rtol=1e-5)


def test_decode_huge_margin_is_argmax() -> None:
    crf = LinearChainCRF(5)
    g = torch.Generator().manual_seed(3)
    gold = torch.randint(0, 5, (3, 7), generator=g)
    em = torch.randn(3, 7, 5, generator=g) + 1000 * torch.nn.functional.one_hot(gold, 5)
    mask = torch.arange(7)[None, :] < torch.tensor([7, 4, 1])[:, None]
    paths = crf.decode(em, mask)
    assert paths == [gold[0].tolist(), gold[1, :4].tolist(), gold[2, :1].tolist()]


def test_init_and_shape_errors() -> None:
    crf = LinearChainCRF(4)
    assert crf.transitions.shape == (4, 4)
    assert crf.start_transitions.shape == crf.end_transitions.shape == (4,)
    assert all(p.abs().max() <= 0.1 for p in crf.parameters())
    with pytest.raises(ValueError):
        crf.log_partition(torch.zeros(2, 3, 5), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError):
        crf.marginals(torch.zeros(2, 3, 4), torch.ones(2, 2, dtype=torch.bool))


@pytest.mark.parametrize("temperature", [0.5, 2.0, 5.0])
def test_marginals_at_a_temperature_are_the_path_distribution_softened(temperature: float
                                                                        ) -> None:
    """p_T(path) is proportional to exp(score(path) / T): enumerate and compare."""
    crf = _crf(3).double()
    em, mask = _case(11, [3, 2])
    marg = crf.marginals(em, mask, temperature)
    for b, length in enumerate([3, 2]):
        paths = list(itertools.product(range(C), repeat=length))
        scores = torch.stack([_path_score(crf, em[b], p) for p in paths]) / temperature
        probs = torch.softmax(scores, 0)
        want = torch.zeros(length, C, dtype=em.dtype)
        for p, pr in zip(paths, probs, strict=True):
            for t, y in enumerate(p):
                want[t, y] += pr
        torch.testing.assert_close(marg[b, :length], want)
    torch.testing.assert_close(crf.marginals(em, mask, 1.0), crf.marginals(em, mask))
    # Softer at a higher temperature: the marginals' entropy grows.
    def entropy(m: torch.Tensor) -> torch.Tensor:
        return -(m[mask] * m[mask].clamp_min(1e-12).log()).sum()
    assert entropy(crf.marginals(em, mask, 4.0)) > entropy(crf.marginals(em, mask, 1.0))
    with pytest.raises(ValueError, match="temperature"):
        crf.marginals(em, mask, 0.0)
