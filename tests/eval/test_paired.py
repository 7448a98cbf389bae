"""Paired differences over seeds (eval/paired.py) and the study table's paired section."""

import statistics

import pytest
from cotpd.eval.paired import paired_difference, t_975
from cotpd.eval.study_table import format_mean_std, format_paired, paired_against
from hypothesis import given
from hypothesis import strategies as st

scores = st.floats(0, 1, allow_nan=False)
pairs = st.lists(st.tuples(scores, scores), min_size=1, max_size=12)


@given(pairs)
def test_the_mean_is_the_mean_of_the_differences_and_inside_its_interval(rows) -> None:
    treated, reference = [t for t, _ in rows], [r for _, r in rows]
    found = paired_difference(treated, reference)
    assert found.n == len(rows)
    assert found.mean == pytest.approx(statistics.fmean(t - r for t, r in rows), abs=1e-12)
    if len(rows) == 1:
        assert found.low is None and found.high is None
    else:
        assert found.low <= found.mean <= found.high
        assert found.mean - found.low == pytest.approx(found.high - found.mean, abs=1e-12)


@given(pairs, st.floats(-1, 1))
def test_a_shift_of_both_sides_changes_nothing_and_swapping_negates(rows, shift) -> None:
    treated, reference = [t for t, _ in rows], [r for _, r in rows]
    base = paired_difference(treated, reference)
    shifted = paired_difference([t + shift for t in treated], [r + shift for r in reference])
    assert shifted.mean == pytest.approx(base.mean, abs=1e-9)
    swapped = paired_difference(reference, treated)
    assert swapped.mean == pytest.approx(-base.mean, abs=1e-12)
    if base.low is not None:
        assert swapped.high == pytest.approx(-base.low, abs=1e-9)


def test_the_interval_is_the_t_interval_of_three_seeds() -> None:
    found = paired_difference([0.82, 0.83, 0.81], [0.80, 0.80, 0.80])  # diffs .02 .03 .01
    half = 4.303 * 0.01 / 3 ** 0.5
    assert found.mean == pytest.approx(0.02) and found.low == pytest.approx(0.02 - half)
    # One constant difference: a zero-width interval.
    same = paired_difference([0.5, 0.6], [0.4, 0.5])
    assert same.low == pytest.approx(same.high) == pytest.approx(0.1)


def test_t_quantiles_fall_towards_the_normal_and_refuse_no_freedom() -> None:
    values = [t_975(d) for d in range(1, 40)]
    assert values == sorted(values, reverse=True) and values[-1] == 1.96
    with pytest.raises(ValueError):
        t_975(0)
    with pytest.raises(ValueError, match="equally many"):
        paired_difference([0.1], [])


def test_the_study_pairs_each_arm_with_the_reference_of_the_same_other_arms() -> None:
    rows = [{"cell": {"student": st_, "teacher": t}, "seed": s, "scores": {"test.f1": f}}
            for st_, t, s, f in [
                ("cot", "none", 1, 0.80), ("cot", "none", 2, 0.81),
                ("cot", "big", 1, 0.83), ("cot", "big", 2, 0.83), ("cot", "big", 3, 0.9),
                ("dist", "none", 1, 0.70), ("dist", "big", 1, 0.72),
                ("dist", "small", 2, 0.75)]]
    found = {(r["student"], r["teacher"]): r
             for r in paired_against(rows, ["student", "teacher"], "teacher", "none", "test.f1")}
    assert set(found) == {("cot", "big"), ("dist", "big"), ("dist", "small")}
    assert found[("cot", "big")]["seeds"] == [1, 2]  # seed 3 has no reference
    assert found[("cot", "big")]["difference"].mean == pytest.approx(0.025)
    assert found[("dist", "small")]["difference"] is None  # no shared seed
    text = format_paired(list(found.values()), ["student", "teacher"], "teacher", "none",
                         "test.f1")
    assert "| dist | big | 1 | +2.00 (one seed: no interval) |" in text
    assert "| dist | small |  | n/a (no shared seed) |" in text
    assert "| cot | big | 1, 2 | +2.50 [" in text


def test_in_points_gives_the_interval_and_leaves_it_out_for_one_pair() -> None:
    # diffs +4 and +6 points: mean 5, sd 1.414, t(1) = 12.706, half-width 12.706
    assert paired_difference([0.54, 0.58], [0.50, 0.52]).in_points() == "+5.00 [-7.71, +17.71]"
    assert paired_difference([0.49], [0.50]).in_points() == "-1.00"


def test_format_mean_std_in_percent_and_alone_for_one_value() -> None:
    assert format_mean_std([0.50, 0.52]) == "51.00 ± 1.41"
    assert format_mean_std([0.4973]) == "49.73"
