"""Tests for eval.metrics and eval.tables, cross-checked against an independent chunker."""

from __future__ import annotations

import math
import warnings

import pytest
from cotpd.eval.metrics import PRF, MnerScores, MreScores, mner_scores, mre_scores
from cotpd.eval.tables import format_scores_table
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

try:  # tests/ as a package (rootdir on sys.path) or as a plain directory (pytest prepends it)
    from tests.conlleval_reference import chunks, reference_prf
except ImportError:
    from conlleval_reference import chunks, reference_prf  # type: ignore[no-redef]

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
TOL = 1e-9


@st.composite
def gold_pred(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]]]:
    """Random gold and pred corpora of the same shape over LABELS."""
    lengths = draw(st.lists(st.integers(0, 12), min_size=1, max_size=6))
    label = st.sampled_from(LABELS)
    gold = [draw(st.lists(label, min_size=n, max_size=n)) for n in lengths]
    pred = [draw(st.lists(label, min_size=n, max_size=n)) for n in lengths]
    return gold, pred


def _assert_prf_close(prf: PRF, expected: tuple[float, float, float]) -> None:
    assert prf.precision == pytest.approx(expected[0], abs=TOL)
    assert prf.recall == pytest.approx(expected[1], abs=TOL)
    assert prf.f1 == pytest.approx(expected[2], abs=TOL)


# --- reference chunker agrees with seqeval on crafted cases -----------------------------------

CRAFTED = {
    "i_after_o": (["O", "I-PER", "I-PER", "O"], {("PER", 1, 2)}),
    "type_switch": (["B-PER", "I-LOC"], {("PER", 0, 0), ("LOC", 1, 1)}),
    "all_o": (["O", "O", "O"], set()),
    "entity_at_end": (["O", "B-LOC", "I-LOC"], {("LOC", 1, 2)}),
    "adjacent_b_b": (["B-ORG", "B-ORG", "I-ORG"], {("ORG", 0, 0), ("ORG", 1, 2)}),
    "i_after_other_type": (["B-PER", "I-PER", "I-LOC", "I-LOC"], {("PER", 0, 1), ("LOC", 2, 3)}),
    "i_at_start": (["I-MISC", "B-MISC"], {("MISC", 0, 0), ("MISC", 1, 1)}),
    "empty": ([], set()),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_reference_chunker_matches_seqeval_crafted(name: str) -> None:
    labels, expected = CRAFTED[name]
    assert chunks(labels) == expected
    assert set(get_entities(list(labels))) == expected


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_mner_scores_matches_reference_crafted(name: str) -> None:
    gold_labels, _ = CRAFTED[name]
    gold = [gold_labels, ["B-PER", "O", "B-LOC"]]
    pred = [["O"] * len(gold_labels), ["B-PER", "O", "I-LOC"]]
    _assert_prf_close(mner_scores(gold, pred).micro, reference_prf(gold, pred))
    _assert_prf_close(mner_scores(pred, gold).micro, reference_prf(pred, gold))


def test_type_switch_counts() -> None:
    scores = mner_scores([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]])
    assert (scores.micro.tp, scores.micro.n_pred, scores.micro.n_gold) == (0, 2, 1)
    assert set(scores.per_type) == {"PER", "LOC"}
    assert scores.per_type["LOC"].n_gold == 0 and scores.per_type["LOC"].recall == 0.0


@settings(max_examples=300, deadline=None)
@given(gold_pred())
def test_mner_matches_reference_and_seqeval(data: tuple[list[list[str]], list[list[str]]]) -> None:
    gold, pred = data
    scores = mner_scores(gold, pred)
    _assert_prf_close(scores.micro, reference_prf(gold, pred))
    seq = (
        precision_score(gold, pred, zero_division=0),
        recall_score(gold, pred, zero_division=0),
        f1_score(gold, pred, zero_division=0),
    )
    _assert_prf_close(scores.micro, seq)
    if scores.per_type:
        p, r, f, s = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
        for i, t in enumerate(sorted(scores.per_type)):
            _assert_prf_close(scores.per_type[t], (p[i], r[i], f[i]))
            assert scores.per_type[t].support == s[i]


# --- identities and edge cases ----------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(gold_pred())
def test_gold_against_itself_is_perfect(data: tuple[list[list[str]], list[list[str]]]) -> None:
    gold, _ = data
    scores = mner_scores(gold, gold)
    if scores.micro.n_gold == 0:
        assert scores.micro.f1 == 0.0
        return
    for prf in [scores.micro, *scores.per_type.values()]:
        assert (prf.precision, prf.recall, prf.f1) == (1.0, 1.0, 1.0)


def test_gold_against_itself_crafted() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "B-MISC"]]
    scores = mner_scores(gold, gold)
    assert set(scores.per_type) == {"PER", "LOC", "ORG", "MISC"}
    assert scores.micro.to_dict()["f1"] == 1.0 and scores.micro.support == 4


def test_all_o_is_zero_without_warnings() -> None:
    gold = [["O", "O"], ["O"], []]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = mner_scores(gold, gold)
    assert scores.micro == PRF(0.0, 0.0, 0.0, support=0, tp=0, n_pred=0, n_gold=0)
    assert scores.per_type == {}
    assert scores.to_dict() == {"micro": scores.micro.to_dict(), "per_type": {}}


def test_all_o_pred_against_entities_is_zero_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = mner_scores([["B-PER", "O"]], [["O", "O"]])
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (0.0, 0.0, 0.0)
    assert scores.micro.n_gold == 1


@settings(max_examples=200, deadline=None)
@given(gold_pred())
def test_mner_properties(data: tuple[list[list[str]], list[list[str]]]) -> None:
    gold, pred = data
    scores = mner_scores(gold, pred)
    swapped = mner_scores(pred, gold)
    for prf in [scores.micro, *scores.per_type.values()]:
        assert 0.0 <= prf.precision <= 1.0 and 0.0 <= prf.recall <= 1.0 and 0.0 <= prf.f1 <= 1.0
        p, r = prf.precision, prf.recall
        assert math.isclose(prf.f1, 2 * p * r / (p + r) if p + r else 0.0, abs_tol=TOL)
        assert prf.support == prf.n_gold
    assert swapped.micro.precision == pytest.approx(scores.micro.recall, abs=TOL)
    assert swapped.micro.recall == pytest.approx(scores.micro.precision, abs=TOL)
    assert swapped.micro.f1 == pytest.approx(scores.micro.f1, abs=TOL)
    assert set(swapped.per_type) == set(scores.per_type)
    for t, prf in scores.per_type.items():
        assert swapped.per_type[t].precision == pytest.approx(prf.recall, abs=TOL)
        assert swapped.per_type[t].recall == pytest.approx(prf.precision, abs=TOL)
    per = scores.per_type.values()
    assert sum(x.tp for x in per) == scores.micro.tp
    assert sum(x.n_pred for x in per) == scores.micro.n_pred
    assert sum(x.n_gold for x in per) == scores.micro.n_gold


# --- length checks ----------------------------------------------------------------------------


def test_sentence_count_mismatch_raises() -> None:
    with pytest.raises(ValueError, match=r"2 sentences.*1"):
        mner_scores([["O"], ["O"]], [["O"]])


def test_sentence_length_mismatch_names_index() -> None:
    with pytest.raises(ValueError, match=r"sentence 1: gold has 2 labels but pred has 3"):
        mner_scores([["O"], ["B-PER", "O"]], [["O"], ["B-PER", "O", "O"]])


def test_mre_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match=r"3 .* 2"):
        mre_scores(["a", "b", "None"], ["a", "b"])


# --- MRE --------------------------------------------------------------------------------------

RELATIONS = ["None", "per/loc", "org/loc", "per/org", "misc"]


def test_mre_all_none_predictions_is_zero() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = mre_scores(["per/loc", "None", "org/loc"], ["None", "None", "None"])
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (0.0, 0.0, 0.0)
    assert (scores.micro.tp, scores.micro.n_pred, scores.micro.n_gold) == (0, 0, 2)
    empty = mre_scores(["None"], ["None"])
    assert empty.micro.f1 == 0.0 and empty.per_relation == {}
    assert mre_scores([], []).micro.f1 == 0.0


def test_mre_perfect() -> None:
    gold = ["per/loc", "None", "org/loc", "per/loc"]
    scores = mre_scores(gold, gold)
    for prf in [scores.micro, *scores.per_relation.values()]:
        assert (prf.precision, prf.recall, prf.f1) == (1.0, 1.0, 1.0)
    assert set(scores.per_relation) == {"per/loc", "org/loc"}


def test_mre_none_prediction_lowers_recall_only() -> None:
    gold = ["per/loc", "org/loc", "per/loc", "None"]
    full = mre_scores(gold, ["per/loc", "org/loc", "per/loc", "None"])
    dropped = mre_scores(gold, ["per/loc", "org/loc", "None", "None"])
    assert dropped.micro.precision == full.micro.precision == 1.0
    assert dropped.micro.recall == pytest.approx(2 / 3)
    assert dropped.micro.n_pred == 2 and dropped.micro.n_gold == 3


def test_mre_hand_computed() -> None:
    gold = ["A", "A", "B", "None", "None", "B", "C"]
    pred = ["A", "B", "None", "A", "None", "B", "None"]
    scores = mre_scores(gold, pred)
    # tp: idx 0 (A), idx 5 (B); predicted non-None: 0,1,3,5; gold non-None: 0,1,2,5,6.
    assert (scores.micro.tp, scores.micro.n_pred, scores.micro.n_gold) == (2, 4, 5)
    assert scores.micro.precision == pytest.approx(0.5)
    assert scores.micro.recall == pytest.approx(0.4)
    assert scores.micro.f1 == pytest.approx(4 / 9)
    assert scores.per_relation["A"] == PRF(0.5, 0.5, 0.5, support=2, tp=1, n_pred=2, n_gold=2)
    assert scores.per_relation["B"] == PRF(0.5, 0.5, 0.5, support=2, tp=1, n_pred=2, n_gold=2)
    assert scores.per_relation["C"] == PRF(0.0, 0.0, 0.0, support=1, tp=0, n_pred=0, n_gold=1)
    custom = mre_scores(["x", "NA"], ["NA", "NA"], none_label="NA")
    assert (custom.micro.n_pred, custom.micro.n_gold) == (0, 1)


@st.composite
def relation_pairs(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    n = draw(st.integers(0, 30))
    rel = st.sampled_from(RELATIONS)
    return draw(st.lists(rel, min_size=n, max_size=n)), draw(st.lists(rel, min_size=n, max_size=n))


@settings(max_examples=200, deadline=None)
@given(relation_pairs())
def test_mre_properties(data: tuple[list[str], list[str]]) -> None:
    gold, pred = data
    scores = mre_scores(gold, pred)
    swapped = mre_scores(pred, gold)
    for prf in [scores.micro, *scores.per_relation.values()]:
        assert 0.0 <= prf.precision <= 1.0 and 0.0 <= prf.recall <= 1.0 and 0.0 <= prf.f1 <= 1.0
    assert swapped.micro.precision == pytest.approx(scores.micro.recall, abs=TOL)
    assert swapped.micro.recall == pytest.approx(scores.micro.precision, abs=TOL)
    assert sum(x.tp for x in scores.per_relation.values()) == scores.micro.tp
    assert "None" not in scores.per_relation


# --- tables -----------------------------------------------------------------------------------


def test_format_mner_table() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "B-LOC"]]
    scores = mner_scores(gold, pred)
    assert isinstance(scores, MnerScores)
    table = format_scores_table(scores)
    lines = table.splitlines()
    for name in ["LOC", "ORG", "PER", "micro"]:
        assert any(line.startswith(name) for line in lines)
    assert [line.split()[0] for line in lines[2:]] == ["LOC", "ORG", "PER", "micro"]
    # micro: tp=3, n_pred=4, n_gold=4 -> 75.00; LOC: P=1/1, R=1/2 -> 66.67 F1; ORG: P=1/2.
    assert lines[-1].split() == ["micro", "75.00", "75.00", "75.00", "4"]
    assert lines[2].split() == ["LOC", "100.00", "50.00", "66.67", "2"]
    assert lines[3].split() == ["ORG", "50.00", "100.00", "66.67", "1"]
    assert "precision" in lines[0] and "support" in lines[0]


def test_format_mre_table() -> None:
    scores = mre_scores(["A", "B", "None"], ["A", "None", "B"])
    assert isinstance(scores, MreScores)
    table = format_scores_table(scores)
    assert "A " in table and "B " in table and "micro" in table
    assert "None" not in table
    assert "50.00" in table
