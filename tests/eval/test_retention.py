"""Retention R (eval/retention.py) and the study table's retention section."""

import pytest
from cotpd.eval.retention import retention
from cotpd.eval.study_table import format_retention, retention_against
from hypothesis import assume, given
from hypothesis import strategies as st

scores = st.floats(0, 1, allow_nan=False)
seeds = st.lists(st.tuples(scores, scores, scores), min_size=1, max_size=8)


def split(rows):
    return [t for t, _, _ in rows], [c for _, c, _ in rows], [b for _, _, b in rows]


@given(seeds)
def test_the_target_keeps_all_of_its_own_gain_and_the_base_none(rows) -> None:
    _, target, base = split(rows)
    assume(sum(c - b for c, b in zip(target, base, strict=True)) > 1e-6)
    assert retention(target, target, base).ratio == pytest.approx(1.0)
    assert retention(base, target, base).ratio == pytest.approx(0.0, abs=1e-12)


@given(seeds, st.floats(-1, 1))
def test_a_shift_of_every_cell_of_a_seed_changes_nothing(rows, shift) -> None:
    treated, target, base = split(rows)
    assume(sum(c - b for c, b in zip(target, base, strict=True)) > 1e-3)
    moved = retention(*([v + shift for v in side] for side in (treated, target, base)))
    assert moved.ratio == pytest.approx(retention(treated, target, base).ratio, abs=1e-6)


@given(seeds)
def test_it_is_the_ratio_of_mean_gains_and_each_seed_its_own_ratio(rows) -> None:
    treated, target, base = split(rows)
    found = retention(treated, target, base)
    gain = sum(t - b for t, b in zip(treated, base, strict=True)) / len(rows)
    target_gain = sum(c - b for c, b in zip(target, base, strict=True)) / len(rows)
    if target_gain <= 0:
        assert found.ratio is None  # the target does not gain: no share to keep
    elif target_gain > 1e-6:  # nearer 0 the two ways of averaging part in rounding
        assert found.ratio == pytest.approx(gain / target_gain, rel=1e-9, abs=1e-9)
    assert len(found.per_seed) == len(rows)
    for (t, c, b), ratio in zip(rows, found.per_seed, strict=True):
        assert ratio is None if c <= b else ratio == pytest.approx((t - b) / (c - b))


def test_two_seeds_by_hand_and_refusals() -> None:
    # seed 1: gains +1 of +2 (0.5); seed 2: +3 of +2 (1.5); means +2 of +2.
    found = retention([0.81, 0.83], [0.82, 0.82], [0.80, 0.80])
    assert found.ratio == pytest.approx(1.0)
    assert found.formatted() == "1.00 (0.50, 1.50)"
    assert retention([0.9], [0.8], [0.8]).formatted() == "n/a"  # the target gains nothing
    # A target that loses on one seed: that seed has no ratio, the mean still has one.
    assert retention([0.81, 0.80], [0.79, 0.84], [0.80, 0.80]).formatted() == "0.33 (n/a, 0.00)"
    assert retention([0.70], [0.79], [0.80]).ratio is None  # not 10: both lose
    with pytest.raises(ValueError, match="equally many"):
        retention([0.1], [0.2, 0.3], [0.1])


def test_the_study_measures_each_arm_against_the_target_of_the_same_other_arms() -> None:
    rows = [{"cell": {"labelled": lab, "student": stu}, "seed": s, "scores": {"test.f1": f}}
            for lab, stu, s, f in [
                ("l25", "text", 1, 0.78), ("l25", "text", 2, 0.76),
                ("l25", "cot", 1, 0.80), ("l25", "cot", 2, 0.80),
                ("l25", "two_stage", 1, 0.79), ("l25", "two_stage", 2, 0.79),
                ("l25", "two_stage", 3, 0.99),  # no text or cot of seed 3: left out
                ("full", "text", 1, 0.80), ("full", "two_stage", 1, 0.81)]]
    found = {(r["labelled"], r["student"]): r
             for r in retention_against(rows, ["labelled", "student"], "student", "text",
                                        "cot", "test.f1")}
    assert set(found) == {("l25", "two_stage"), ("full", "two_stage")}
    # gains +1, +3 of +2, +4: R = 2 / 3
    assert found[("l25", "two_stage")]["seeds"] == [1, 2]
    assert found[("l25", "two_stage")]["retention"].ratio == pytest.approx(2 / 3)
    assert found[("full", "two_stage")]["retention"] is None  # no cot cell on full
    text = format_retention(list(found.values()), ["labelled", "student"])
    assert "| l25 | two_stage | 1, 2 | 0.67 (0.50, 0.75) |" in text
    assert "| full | two_stage |  | n/a (no seed has all three cells) |" in text
